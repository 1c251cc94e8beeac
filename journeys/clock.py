"""Partition time, as the worker moves it: when each customer's timers fire.

The worker keeps each customer's state in one partition (the key contract's
partitioner) and moves that partition's time with every event processed there, whoever
it belongs to: its watermark is the latest event time seen. Timers of the partition's
customers fire once the watermark has passed their due time by the **timer grace**, so
that a customer's own events delayed less than the grace (app SDKs batch and flush
minutes late) are applied before the timer they would have stopped; the engine fires
each timer at its own due time, whenever the customer is woken.

:class:`PartitionClock` is that bookkeeping, pure (no clock, no I/O), for replay, diff
and the report: they read everyone's events in the worker's order, so they wake the same
customers at the same times as the worker and give the same triggers, also for an event
delayed longer than the grace (the worker's timer then fired first, and so does replay's).
The worker's own index (``streams.worker.due_index.DueIndex``) adds the live clock
and the rebuild after a rebalance to the same rule.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = ["PartitionClock"]


class PartitionClock:
    """Watermarks per partition and the customers' due times, woken at watermark - grace."""

    def __init__(self, partition_of: Callable[[str], int], grace: timedelta) -> None:
        self.partition_of = partition_of
        self.grace = grace
        self._watermarks: dict[int, datetime] = {}
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}
        self._due: dict[str, datetime] = {}

    def observe(self, key: str, event_time: datetime) -> int:
        """An event of ``key`` was processed: its partition's time moves; returns the
        partition."""
        partition = self.partition_of(key)
        self.tick(partition, event_time)
        return partition

    def tick(self, partition: int, event_time: datetime) -> None:
        """An event was processed on ``partition`` (any key's)."""
        current = self._watermarks.get(partition)
        if current is None or event_time > current:
            self._watermarks[partition] = event_time

    def schedule(self, key: str, due: datetime | None) -> None:
        """``key``'s next due time (``None``: nothing due)."""
        if due is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == due:
            return
        self._due[key] = due
        heapq.heappush(self._heaps.setdefault(self.partition_of(key), []), (due, key))

    def due_of(self, key: str) -> datetime | None:
        return self._due.get(key)

    def watermark(self, partition: int) -> datetime | None:
        return self._watermarks.get(partition)

    def fire_time(self, partition: int) -> datetime | None:
        """Timers due at or before this fire on ``partition``: its watermark less the grace."""
        watermark = self._watermarks.get(partition)
        return None if watermark is None else watermark - self.grace

    def pop_due(self, partition: int) -> tuple[datetime | None, list[str]]:
        """The partition's fire time and its customers due by then, earliest first
        (removed: they are rescheduled once woken)."""
        fire_time = self.fire_time(partition)
        heap = self._heaps.get(partition)
        woken: list[str] = []
        if fire_time is None or not heap:
            return fire_time, woken
        while heap and heap[0][0] <= fire_time:
            due, key = heapq.heappop(heap)
            if self._due.get(key) == due:  # else superseded by a later schedule
                del self._due[key]
                woken.append(key)
        return fire_time, woken
