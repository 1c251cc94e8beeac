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
and the rebuild after a rebalance to the same rule; both keep the due times in a
:class:`DueTimes`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

__all__ = ["OVERDUE_LIMIT", "DueTimes", "PartitionClock"]

OVERDUE_LIMIT = 10_000  # overdue keys counted at most (the timers_overdue gauge's cap)


class DueTimes:
    """Each key's next due time, and per partition a heap of them with lazy invalidation:
    a key scheduled again leaves its old entry in the heap, skipped when it comes up."""

    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}
        self._due: dict[str, datetime] = {}

    def schedule(self, partition: int, key: str, due: datetime | None) -> None:
        """``key``'s next due time on ``partition`` (``None``: nothing due)."""
        if due is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == due:
            return
        self._due[key] = due
        heapq.heappush(self._heaps.setdefault(partition, []), (due, key))

    def due_of(self, key: str) -> datetime | None:
        """``key``'s pending due time, if any."""
        return self._due.get(key)

    def pop_due(self, partition: int, until: datetime, limit: int | None = None) -> list[str]:
        """The keys of ``partition`` due at or before ``until``, earliest first, at most
        ``limit`` of them (removed: they are scheduled again once woken; the others stay)."""
        heap = self._heaps.get(partition)
        woken: list[str] = []
        while heap and heap[0][0] <= until and (limit is None or len(woken) < limit):
            due, key = heapq.heappop(heap)
            if self._due.get(key) == due:  # else superseded by a later schedule
                del self._due[key]
                woken.append(key)
        return woken

    def overdue(self, before: datetime, limit: int = OVERDUE_LIMIT) -> int:
        """Pending keys whose due time is earlier than ``before``, counted up to ``limit``
        (a worker catching up on a long backlog has them all overdue: counting every
        one on each tick would cost a walk of them all, every second).

        Walks only the heap entries earlier than ``before`` (a heap's subtree under an
        entry holds later times only), so the cost follows the overdue count, not the
        number of keys, and stops at ``limit`` of them.
        """
        counted: set[str] = set()
        for heap in self._heaps.values():
            stack = [0] if heap else []
            while stack:
                i = stack.pop()
                due, key = heap[i]
                if due >= before:
                    continue
                if self._due.get(key) == due:  # else superseded
                    counted.add(key)
                    if len(counted) >= limit:
                        return limit
                stack.extend(child for child in (2 * i + 1, 2 * i + 2) if child < len(heap))
        return len(counted)

    def __len__(self) -> int:
        return len(self._due)

    def partitions(self) -> frozenset[int]:
        """The partitions holding heap entries (pending or superseded)."""
        return frozenset(self._heaps)

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget ``partitions``: their heaps and the due times of their keys.

        A key is scheduled in one partition only (its own), so its pending due time is an
        entry of that partition's heap; a superseded entry of it there is skipped, as
        :meth:`pop_due` skips it."""
        due = self._due
        for partition in partitions:
            for when, key in self._heaps.pop(partition, ()):
                if due.get(key) == when:
                    del due[key]

    def clear(self) -> None:
        self._heaps.clear()
        self._due.clear()


class PartitionClock:
    """Watermarks per partition and the customers' due times, woken at watermark - grace."""

    def __init__(self, partition_of: Callable[[str], int], grace: timedelta) -> None:
        self.partition_of = partition_of
        self.grace = grace
        self._watermarks: dict[int, datetime] = {}
        self._times = DueTimes()

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
        self._times.schedule(self.partition_of(key), key, due)

    def due_of(self, key: str) -> datetime | None:
        return self._times.due_of(key)

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
        if fire_time is None:
            return fire_time, []
        return fire_time, self._times.pop_due(partition, fire_time)
