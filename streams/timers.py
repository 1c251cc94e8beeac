"""Time-based rules: a per-partition index of due times, and the timer that wakes customers.

The journey agent tells the index each customer's ``next_due`` after every write; the
timer pops, per assigned partition, the customers whose due time the partition's
watermark has passed and sends them a ``Wakeup`` through the wakeups topic, which the
journey agent consumes (faust timers cannot write tables). Nothing scans all customers
on a tick; the heap of a partition is rebuilt from the table only on assignment.

Watermark of a partition: the latest event time seen there. With ``clock="live"``, a
partition idle for ``idle_grace_seconds`` also follows the wall clock (minus the grace);
with ``clock="event"`` (simulation, replay) only event time moves it.

Gauges, set at every tick: ``journeys_timers_pending`` counts the customers with a
scheduled due time not fired yet; ``journeys_timers_overdue`` counts those of them whose
due time is earlier than the reference time minus a slack of ``idle_grace_seconds`` plus
two timer intervals. The reference is the wall clock (``clock="live"``) or the highest
watermark of the assigned partitions (``clock="event"``: an idle partition lags the
others). A healthy live worker fires a timer at most ``idle_grace`` plus one interval
after its due time, so a non-zero value means timers are late: the worker is behind
(its partitions' event time trails the wall clock) or the timer does not run.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from schemas.internal import Wakeup
from streams.health import state_recovered

if TYPE_CHECKING:
    from streams.app import Runtime
    from streams.metrics import Metrics

log = logging.getLogger(__name__)


class TimerIndex:
    """Due times per partition: a heap with lazy invalidation, plus watermarks."""

    def __init__(self, *, clock: Literal["live", "event"], idle_grace_seconds: float) -> None:
        self.clock = clock
        self.idle_grace = timedelta(seconds=idle_grace_seconds)
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}
        self._due: dict[str, datetime] = {}
        self._event_time: dict[int, datetime] = {}
        self._last_event_mono: dict[int, float] = {}
        self.partitions: frozenset[int] = frozenset()

    def schedule(self, partition: int, customer: str, due: datetime | None) -> None:
        """Record ``customer``'s next due time (``None``: nothing due)."""
        if due is None:
            self._due.pop(customer, None)
            return
        if self._due.get(customer) == due:
            return
        self._due[customer] = due
        heapq.heappush(self._heaps.setdefault(partition, []), (due, customer))

    def observe(self, partition: int, event_time: datetime) -> None:
        """An event with ``event_time`` was processed on ``partition``."""
        self._last_event_mono[partition] = time.monotonic()
        current = self._event_time.get(partition)
        if current is None or event_time > current:
            self._event_time[partition] = event_time

    def watermark(self, partition: int, wall_now: datetime) -> datetime | None:
        """How far time has advanced on ``partition``."""
        event_wm = self._event_time.get(partition)
        if self.clock == "event":
            return event_wm
        last = self._last_event_mono.get(partition)
        idle = last is None or time.monotonic() - last >= self.idle_grace.total_seconds()
        if not idle:
            return event_wm
        wall_wm = wall_now - self.idle_grace
        return wall_wm if event_wm is None or wall_wm > event_wm else event_wm

    def pop_due(self, partition: int, watermark: datetime) -> list[str]:
        """Customers of ``partition`` due at or before ``watermark`` (removed from the index)."""
        heap = self._heaps.get(partition)
        woken: list[str] = []
        while heap and heap[0][0] <= watermark:
            due, customer = heapq.heappop(heap)
            if self._due.get(customer) == due:  # else superseded by a later schedule
                del self._due[customer]
                woken.append(customer)
        return woken

    def __len__(self) -> int:
        return len(self._due)

    def overdue(self, before: datetime) -> int:
        """Pending customers whose due time is earlier than ``before``.

        Walks only the heap entries earlier than ``before`` (a heap's subtree under an
        entry holds later times only), so the cost follows the overdue count, not the
        number of customers.
        """
        counted: set[str] = set()
        for heap in self._heaps.values():
            stack = [0] if heap else []
            while stack:
                i = stack.pop()
                due, customer = heap[i]
                if due >= before:
                    continue
                if self._due.get(customer) == due:  # else superseded
                    counted.add(customer)
                stack.extend(child for child in (2 * i + 1, 2 * i + 2) if child < len(heap))
        return len(counted)

    def reset(self, partitions: Iterable[int]) -> None:
        """Forget everything; the given partitions are now ours (heaps to be rebuilt)."""
        self._heaps.clear()
        self._due.clear()
        self.partitions = frozenset(partitions)


class StageCounts:
    """Customers per (journey, stage) on this worker: rebuilt on assignment, then kept
    up to date by every write, so the gauge never needs a scan."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def reset(self) -> None:
        self.counts.clear()

    def update(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for journey, state in old.items():
            self.counts.setdefault(journey, Counter())[state.get("stage", "?")] -= 1
        for journey, state in new.items():
            self.counts.setdefault(journey, Counter())[state.get("stage", "?")] += 1

    def publish(self, metrics: Metrics) -> None:
        for journey, stages in self.counts.items():
            metrics.set_stage_counts(journey, {s: n for s, n in stages.items() if n > 0})


def _assigned_partitions(rt: Runtime) -> frozenset[int]:
    name = rt.specs["keyed"].name
    actives = rt.app.assignor.assigned_actives()
    return frozenset(tp.partition for tp in actives if tp.topic == name)


def _recovered(rt: Runtime) -> bool:
    return state_recovered(rt.app)


def rebuild(rt: Runtime, partitions: frozenset[int]) -> None:
    """Rebuild the index from the local table (on assignment only)."""
    from streams.journey_agent import next_due_of
    from streams.kafka_read import partition_for

    index = rt.timers
    index.reset(partitions)
    rt.stages.reset()
    n = rt.settings.partitions
    for key, record in rt.customers.items():
        if record:
            partition = partition_for(key, n)
            if partition in partitions:
                index.schedule(partition, key, next_due_of(rt, record))
                rt.stages.update({}, record)
    log.info("timer index rebuilt for partitions %s", sorted(partitions))


async def tick(rt: Runtime) -> int:
    """One timer tick: wake the due customers of every assigned partition."""
    if not rt.app.consumer or not _recovered(rt):
        return 0
    partitions = _assigned_partitions(rt)
    if partitions != rt.timers.partitions:
        rebuild(rt, partitions)
    wall_now = rt.wall()
    sent = 0
    watermarks: list[datetime] = []
    for partition in sorted(partitions):
        watermark = rt.timers.watermark(partition, wall_now)
        if watermark is None:
            continue
        watermarks.append(watermark)
        for customer in rt.timers.pop_due(partition, watermark):
            wakeup = Wakeup(customer_id=customer, at=watermark)
            await rt.wakeups.send(key=customer, value=wakeup, partition=partition)
            sent += 1
    publish_timers(rt, wall_now, watermarks)
    rt.stages.publish(rt.metrics)
    return sent


def overdue_before(rt: Runtime, wall_now: datetime, watermarks: list[datetime]) -> datetime | None:
    """Due times earlier than this are overdue (see the module's docstring)."""
    reference = wall_now if rt.timers.clock == "live" else max(watermarks, default=None)
    if reference is None:
        return None
    slack = rt.timers.idle_grace + 2 * timedelta(seconds=rt.settings.timer_interval_seconds)
    return reference - slack


def publish_timers(rt: Runtime, wall_now: datetime, watermarks: list[datetime]) -> None:
    """Set the pending and overdue timer gauges after a tick."""
    before = overdue_before(rt, wall_now, watermarks)
    overdue = 0 if before is None else rt.timers.overdue(before)
    rt.metrics.set_timers(pending=len(rt.timers), overdue=overdue)


def register(rt: Runtime) -> None:
    """Add the timer (one per worker) to the app."""

    @rt.app.timer(interval=rt.settings.timer_interval_seconds, name="journeys.wakeups")
    async def wake_due_customers() -> None:
        await tick(rt)

    rt.extra["timer"] = wake_due_customers  # the index is rebuilt by the tick after a rebalance

    @rt.customers.on_recover
    async def rebuild_after_recovery() -> None:
        # faust sets recovery "completed" once and never clears it, so the first tick after
        # an assignment may rebuild the index from a table still being restored: forget the
        # index after every restore so that the next tick rebuilds it from restored state.
        rt.timers.reset(())
