"""The ``erasures`` table: ids erased under the suppress policy, and until when.

With ``JOURNEYS_ERASURE_SUPPRESS_DAYS`` > 0 an erasure keeps, per erased id, the end of
its suppression period (the request's time plus the period): the journey agent drops
the id's events (and merges) with an earlier event time, counted, never dead-lettered
(dead letters hold the original bytes). With the default (0) nothing is kept: later
events of the id start afresh.

The table is small (ids erased within one period), so the index of each partition is
loaded from it at the first look after an assignment. An entry is deleted (a tombstone)
once the partition's event time passes its end, while an event of that partition is
processed (in its transaction), so the table holds an id no longer than its period plus
the partition's idleness.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

from journeys.clock import DueTimes
from schemas.codec import isoformat_utc


class Suppressions:
    """The suppressed ids of this worker's partitions, with a per-partition expiry heap
    (:class:`journeys.clock.DueTimes`: an id's end of suppression is its due time)."""

    def __init__(self, table: MutableMapping[str, Any], partition_of: Callable[[str], int]):
        self.table = table
        self.partition_of = partition_of
        self._loaded: set[int] = set()
        self._until = DueTimes()

    def _load(self, partition: int) -> None:
        """The suppressed ids of ``partition``, read from the table at the first look."""
        if partition in self._loaded:
            return
        self._loaded.add(partition)
        for key, value in list(self.table.items()):
            if isinstance(value, dict) and self.partition_of(key) == partition:
                self._until.schedule(partition, key, datetime.fromisoformat(str(value["until"])))

    def until(self, partition: int, key: str) -> datetime | None:
        """The end of ``key``'s suppression, or None when it is not suppressed."""
        self._load(partition)
        return self._until.due_of(key)

    def suppressed(self, partition: int, key: str, at: datetime | None) -> bool:
        """Whether what happened to ``key`` at ``at`` (None: unknown) is to be dropped."""
        until = self.until(partition, key)
        return until is not None and (at is None or at < until)

    def mark(
        self, partition: int, key: str, until: datetime, request_id: str, requested_at: datetime
    ) -> None:
        """Suppress ``key``'s events older than ``until`` (its erasure ``request_id``)."""
        if self.until(partition, key) == until:
            return
        self._until.schedule(partition, key, until)
        self.table[key] = {
            "until": isoformat_utc(until),
            "request_id": request_id,
            "requested_at": isoformat_utc(requested_at),
        }

    def erasure_of(self, key: str) -> tuple[str, datetime] | None:
        """The request id and time of the erasure that suppressed ``key``, if it is."""
        value = self.table.get(key)
        if not isinstance(value, dict):
            return None
        return str(value["request_id"]), datetime.fromisoformat(str(value["requested_at"]))

    def expire(self, partition: int, now: datetime | None) -> int:
        """Delete the entries of ``partition`` that end at or before ``now`` (its event
        time); returns how many. Call while an event of ``partition`` is processed."""
        if now is None:
            return 0
        self._load(partition)
        expired = self._until.pop_due(partition, now)
        for key in expired:
            if key in self.table:
                del self.table[key]
        return len(expired)

    def reset(self) -> None:
        """Partitions were assigned or revoked: load each again at its next look."""
        self._loaded.clear()
        self._until.clear()
