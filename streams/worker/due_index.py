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
    invalidation), plus watermarks under the live or event clock, and what an assignment
    leaves to rebuild.

    At each assignment (:meth:`assign`) the partitions this worker kept keep their heaps;
    the others are forgotten, and the newly assigned ones are rebuilt from the table
    (:attr:`pending`) once their restore has completed (:meth:`recovered`). Why a kept
    partition's entries stay valid: ``streams/worker/eos/DESIGN.md``, "The timer index
    across a rebalance".
    """

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
        self.partitions: frozenset[int] = frozenset()  # active here: what the tick serves
        self.generation: int | None = None  # the consumer group generation of that assignment
        self.pending: frozenset[int] = frozenset()  # their heaps to be rebuilt from the table
        # newly assigned, no restore known to have completed for them since: rebuilt again
        # after every restore until one is known to be theirs (:meth:`recovered`)
        self.unconfirmed: frozenset[int] = frozenset()
        self.restored = False  # a restore completed since the last rebalance began
        self.epoch = 0  # moves at every assignment and restore: a rebuild begun before is stale
        self._rebuilding: frozenset[int] = frozenset()
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

    def assign(self, partitions: Iterable[int], generation: int) -> frozenset[int]:
        """``partitions`` are active here from the group ``generation`` on; returns those
        kept with their heaps: active here in the generation just before too. After a gap
        of generations (this worker left the group meanwhile, or missed an assignment)
        nothing is kept: another worker may have owned and written a partition between.
        The others' heaps are forgotten; the partitions not kept are :attr:`pending`."""
        partitions = frozenset(partitions)
        follows = self.generation is not None and generation == self.generation + 1
        kept = self.partitions & partitions if follows else frozenset()
        self._times.drop(self._times.partitions() - kept)
        self.partitions, self.generation = partitions, generation
        self.pending = (self.pending & kept) | (partitions - kept)
        self.unconfirmed = (self.unconfirmed & kept) | (partitions - kept)
        self.epoch += 1
        self._scheduled_live = None  # a rebuild under way is abandoned
        return kept

    def revoked(self) -> None:
        """A rebalance began (faust revokes every partition first): nothing is rebuilt
        until a restore completes after it."""
        self.restored = False
        self.epoch += 1

    def recovered(self, confirmed: bool) -> None:
        """A table restore completed: the partitions not known to be restored are to be
        rebuilt (again); ``confirmed``: the restore is known to be the latest
        assignment's, so they are restored now."""
        self.pending |= self.unconfirmed
        if confirmed:
            self.unconfirmed = frozenset()
        self.restored = True
        self.epoch += 1

    def to_rebuild(self) -> frozenset[int]:
        """The partitions to rebuild now: :attr:`pending`, once a restore completed."""
        return self.pending if self.restored else frozenset()

    def begin_rebuild(self, partitions: Iterable[int]) -> int:
        """Forget the heaps of ``partitions``, about to be rebuilt from a snapshot of the
        table; returns the :attr:`epoch` the rebuild belongs to."""
        self._rebuilding = frozenset(partitions)
        self._times.drop(self._rebuilding)
        self._scheduled_live = set()
        return self.epoch

    def end_rebuild(self) -> None:
        """The partitions being rebuilt are complete."""
        self.pending -= self._rebuilding
        self._rebuilding = frozenset()
        self._scheduled_live = None

    def abandon_rebuild(self) -> None:
        """The rebuild stopped half way: its partitions stay pending."""
        self._rebuilding = frozenset()
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
