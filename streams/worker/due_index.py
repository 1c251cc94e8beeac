"""The due index (the worker's timer index): due times per partition (a heap with lazy
invalidation) and each partition's watermark, the time that has advanced there.

Watermark of a partition: the latest event time seen there. With ``clock="live"``, a
partition idle for ``idle_grace_seconds`` (measured on the injected monotonic clock) also
follows the wall clock (minus the grace); with ``clock="event"`` (simulation, replay)
only event time moves it. Pure bookkeeping: no faust, no I/O; the tick that reads it is
in :mod:`streams.worker.timer_tick`.

Timers fire at the partition's time minus the timer grace (``timer_grace_seconds``,
:meth:`DueIndex.fire_time`): the partition's time is moved by every customer's events,
and a customer's own events may arrive later than others' (app SDKs batch and flush
minutes late); with the grace, an own event delayed less than it is applied before the
timer it would have stopped. Replay moves time the same way
(:class:`journeys.clock.PartitionClock`); both keep the due times in a
:class:`journeys.clock.DueTimes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Literal

from journeys.clock import DueTimes


class DueIndex:
    """Due times per partition (:class:`journeys.clock.DueTimes`: a heap with lazy
    invalidation), plus watermarks under the live or event clock, and the rebuild."""

    def __init__(
        self,
        *,
        clock: Literal["live", "event"],
        idle_grace_seconds: float,
        timer_grace_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.monotonic = monotonic
        self.idle_grace = timedelta(seconds=idle_grace_seconds)
        self.grace = timedelta(seconds=timer_grace_seconds)
        self._times = DueTimes()
        self._event_time: dict[int, datetime] = {}
        self._last_event_mono: dict[int, float] = {}
        self.partitions: frozenset[int] = frozenset()
        self._scheduled_live: set[str] | None = None  # while rebuilding: what the agent set

    def schedule(self, partition: int, customer: str, due: datetime | None) -> None:
        """Record ``customer``'s next due time (``None``: nothing due)."""
        if self._scheduled_live is not None:
            self._scheduled_live.add(customer)
        self._times.schedule(partition, customer, due)

    def restore(self, partition: int, customer: str, due: datetime | None) -> None:
        """The rebuild's due time of ``customer``, read from a snapshot of the table: kept
        unless the agent scheduled the customer since the rebuild began (it knows better)."""
        if self._scheduled_live is None or customer not in self._scheduled_live:
            self._times.schedule(partition, customer, due)

    def begin_rebuild(self, partitions: Iterable[int]) -> None:
        """Forget everything; ``partitions`` are now ours, their heaps being rebuilt."""
        self.reset(partitions)
        self._scheduled_live = set()

    def end_rebuild(self) -> None:
        self._scheduled_live = None

    @property
    def rebuilding(self) -> bool:
        return self._scheduled_live is not None

    def observe(self, partition: int, event_time: datetime) -> None:
        """An event with ``event_time`` was processed on ``partition``."""
        self._last_event_mono[partition] = self.monotonic()
        current = self._event_time.get(partition)
        if current is None or event_time > current:
            self._event_time[partition] = event_time

    def event_watermark(self, partition: int) -> datetime | None:
        """The latest event time seen on ``partition`` (whatever the clock)."""
        return self._event_time.get(partition)

    def event_fire_time(self, partition: int) -> datetime | None:
        """Timers due at or before this fire on ``partition`` by event time alone: its
        event watermark minus the grace."""
        watermark = self._event_time.get(partition)
        return None if watermark is None else watermark - self.grace

    def fire_time(self, partition: int, wall_now: datetime) -> datetime | None:
        """Timers due at or before this fire on ``partition``: its :meth:`watermark`
        (event time, or the wall clock when idle under the live clock) minus the grace."""
        watermark = self.watermark(partition, wall_now)
        return None if watermark is None else watermark - self.grace

    def due_of(self, customer: str) -> datetime | None:
        """``customer``'s pending due time, if any."""
        return self._times.due_of(customer)

    def watermark(self, partition: int, wall_now: datetime) -> datetime | None:
        """How far time has advanced on ``partition``."""
        event_wm = self._event_time.get(partition)
        if self.clock == "event":
            return event_wm
        last = self._last_event_mono.get(partition)
        idle = last is None or self.monotonic() - last >= self.idle_grace.total_seconds()
        if not idle:
            return event_wm
        wall_wm = wall_now - self.idle_grace
        return wall_wm if event_wm is None or wall_wm > event_wm else event_wm

    def pop_due(self, partition: int, watermark: datetime, limit: int | None = None) -> list[str]:
        """Customers of ``partition`` due at or before ``watermark``, earliest first, at
        most ``limit`` of them (removed from the index; the others stay)."""
        return self._times.pop_due(partition, watermark, limit)

    def __len__(self) -> int:
        return len(self._times)

    def overdue(self, before: datetime) -> int:
        """Pending customers whose due time is earlier than ``before`` (cost: the overdue
        count, :meth:`journeys.clock.DueTimes.overdue`)."""
        return self._times.overdue(before)

    def reset(self, partitions: Iterable[int]) -> None:
        """Forget everything; the given partitions are now ours (heaps to be rebuilt)."""
        self._times.clear()
        self.partitions = frozenset(partitions)
        self._scheduled_live = None
