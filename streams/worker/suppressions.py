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

import heapq
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

from schemas.codec import isoformat_utc


class Suppressions:
    """The suppressed ids of this worker's partitions, with a per-partition expiry heap."""

    def __init__(self, table: MutableMapping[str, Any], partition_of: Callable[[str], int]):
        self.table = table
        self.partition_of = partition_of
        self._until: dict[int, dict[str, datetime]] = {}  # loaded partitions only
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}

    def _partition(self, partition: int) -> dict[str, datetime]:
        """The suppressed ids of ``partition``, read from the table at the first look."""
        found = self._until.get(partition)
        if found is None:
            found = self._until[partition] = {}
            heap = self._heaps[partition] = []
            for key, value in list(self.table.items()):
                if isinstance(value, dict) and self.partition_of(key) == partition:
                    until = datetime.fromisoformat(str(value["until"]))
                    found[key] = until
                    heapq.heappush(heap, (until, key))
        return found

    def until(self, partition: int, key: str) -> datetime | None:
        """The end of ``key``'s suppression, or None when it is not suppressed."""
        return self._partition(partition).get(key)

    def suppressed(self, partition: int, key: str, at: datetime | None) -> bool:
        """Whether what happened to ``key`` at ``at`` (None: unknown) is to be dropped."""
        until = self.until(partition, key)
        return until is not None and (at is None or at < until)

    def mark(
        self, partition: int, key: str, until: datetime, request_id: str, requested_at: datetime
    ) -> None:
        """Suppress ``key``'s events older than ``until`` (its erasure ``request_id``)."""
        known = self._partition(partition)
        if known.get(key) == until:
            return
        known[key] = until
        heapq.heappush(self._heaps[partition], (until, key))
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
        known = self._partition(partition)
        heap = self._heaps[partition]
        expired = 0
        while heap and heap[0][0] <= now:
            until, key = heapq.heappop(heap)
            if known.get(key) == until:  # else superseded by a later mark
                del known[key]
                if key in self.table:
                    del self.table[key]
                expired += 1
        return expired

    def reset(self) -> None:
        """Partitions were assigned or revoked: load each again at its next look."""
        self._until.clear()
        self._heaps.clear()
