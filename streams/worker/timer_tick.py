"""Time-based rules: the timer that wakes customers whose due time has come on idle partitions.

The journey agent tells the index each customer's ``next_due`` after every write, and
wakes the customers due by each event's time itself (inline timers). The timer pops,
per assigned partition, the customers whose due time the partition's watermark has
passed and sends them a ``Wakeup`` through the wakeups topic, which the journey agent
consumes (faust timers cannot write tables): that is for a watermark the wall clock
moved (an idle partition, live clock), and for customers found due when the index is
rebuilt. Nothing scans all customers on a tick; the heap of a partition is rebuilt from
the table only when the partition is newly assigned here (restored first): a partition
kept across a rebalance keeps its heap, its watermark and its stage counts
(:meth:`~streams.worker.due_index.DueIndex.assign`; why that is valid under exactly-once:
``streams/worker/eos/DESIGN.md``, "The timer index across a rebalance").

Watermark of a partition: the latest event time seen there. With ``clock="live"``, a
partition idle for ``idle_grace_seconds`` also follows the wall clock (minus the grace);
with ``clock="event"`` (simulation, replay) only event time moves it. Timers fire at the
watermark minus the timer grace (``timer_grace_seconds``: :mod:`~streams.worker.due_index`).

Gauges, set at every tick: ``journeys_timers_pending`` counts the customers with a
scheduled due time not fired yet; ``journeys_timers_overdue`` counts those of them whose
due time is earlier than the reference time minus a slack of ``idle_grace_seconds``, the
timer grace and two timer intervals. The reference is the wall clock (``clock="live"``)
or the highest watermark of the assigned partitions (``clock="event"``: an idle partition lags the
others). A healthy live worker fires a timer at most ``idle_grace`` plus one interval
after its due time, so a non-zero value means timers are late: the worker is behind
(its partitions' event time trails the wall clock) or the timer does not run. It counts
up to ``journeys.clock.OVERDUE_LIMIT`` (10,000): a worker catching up on a long backlog
has them all overdue, and counting every one on each tick would cost a walk of them all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from faust.types import TableT

from schemas.internal import Wakeup
from streams.kafka.keys import partition_for
from streams.worker.probes import state_recovered
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)


def _assigned_partitions(rt: Runtime) -> frozenset[int]:
    name = rt.specs["keyed"].name
    actives = rt.app.assignor.assigned_actives()
    return frozenset(tp.partition for tp in actives if tp.topic == name)


def _recovered(rt: Runtime) -> bool:
    return state_recovered(rt.app)


REBUILD_CHUNK = 1_000  # customers read per turn of the event loop: 10-25 ms
# customers one tick wakes per partition, at most (the rest at the next ticks): the
# wake-ups of a time jump go through the topic a tick's worth at a time
TICK_WAKES = 2_000


async def rebuild(rt: Runtime, partitions: frozenset[int]) -> bool:
    """Rebuild the index and the stage counts of ``partitions`` (newly assigned, restored)
    from the local table; ``False`` when an assignment or a restore came meanwhile (the
    next tick starts again).

    The table is read from a snapshot taken under the agents' lock when the rebuild
    begins (no batch half written), then a chunk of :data:`REBUILD_CHUNK` customers per
    turn of the event loop, **without** the lock: a chunk is synchronous, so it never
    runs inside one index or count update of the agent, and the agents, the commit and
    the broker I/O go on between chunks (the commit holds the lock for its broker round
    trips, so a chunk holding it too waited for each commit, and each commit for a
    chunk). What a chunk writes commutes with what the agent writes meanwhile: a
    customer the agent schedules after the rebuild began keeps the agent's due time
    (``DueIndex.restore``), and the stage counts stay exact, because each agent write
    counts the change from the value it replaces, which for a customer not written since
    the snapshot is the value the snapshot holds. Due times are read from the stored
    JSON, without loading the states (``CustomerStore.due``). The partitions kept across
    the assignment are not read.
    """
    index, store = rt.due_index, rt.customers
    n = rt.partitions
    began, count = time.monotonic(), 0
    async with rt.guard.lock:
        epoch = index.begin_rebuild(partitions)
        store.stages.reset(partitions)
        records = store.snapshot(partitions, lambda key: partition_for(key, n))
    restore, due_of, count_stages = index.restore, store.due, store.stages.update
    while True:
        if index.epoch != epoch or _assigned_partitions(rt) != index.partitions:
            log.info("timer index rebuild interrupted by a rebalance or a restore")
            index.abandon_rebuild()
            return False
        read = 0
        for partition, key, record in islice(records, REBUILD_CHUNK):
            read += 1
            try:
                due = due_of(record)
            except Exception:  # a stored value this version cannot read: no timer
                log.warning("customer %s: stored state unreadable, no timer", key)
                due = None
            restore(partition, key, due)
            count_stages(partition, _NONE, record)
        count += read
        if read < REBUILD_CHUNK:
            index.end_rebuild()
            break
        await asyncio.sleep(0)
    log.info(
        "timer index rebuilt for partitions %s: %d customers in %.1f s",
        sorted(partitions),
        count,
        time.monotonic() - began,
    )
    return True


_NONE: dict[str, Any] = {}  # no value before: the rebuild only adds


def on_assigned(rt: Runtime) -> None:
    """A new assignment: the index keeps what this worker kept (``DueIndex.assign``), the
    stage counts too; the newly assigned partitions wait for their restore."""
    index = rt.due_index
    generation = int(getattr(rt.app, "consumer_generation_id", 0) or 0)
    kept = index.assign(_assigned_partitions(rt), generation)
    rt.customers.stages.keep_only(kept)
    log.info(
        "timer index: generation %d, partitions %s, kept %s, to rebuild %s",
        generation,
        sorted(index.partitions),
        sorted(kept),
        sorted(index.pending),
    )


def on_recovered(rt: Runtime) -> None:
    """A table restore completed (faust's ``on_recover``): the newly assigned partitions
    may be rebuilt. It is known to be the latest assignment's restore when no restore is
    running or signalled and the group generation is the one the index was assigned in:
    a restore that completes late, after the next assignment began, runs while that
    assignment's restore is signalled (only the recovery task, busy completing this one,
    clears the signal)."""
    tables: Any = rt.app.tables  # faust's TableManager: TableManagerT declares no recovery
    recovery = tables.recovery
    confirmed = (
        not recovery.in_recovery
        and not recovery.signal_recovery_start.is_set()
        and getattr(rt.app, "consumer_generation_id", None) == rt.due_index.generation
    )
    rt.due_index.recovered(confirmed)


async def tick(rt: Runtime) -> int:
    """One timer tick: wake the due customers of every assigned partition.

    Under the agents' lock, so that it never runs in the middle of an event: the journey
    agent wakes the customers due by each event's time inline (see
    :mod:`streams.worker.journey_agent`); what is left for the tick is the wall clock
    moving an idle partition's time on (live clock), and the customers already due when
    the index is rebuilt after an assignment.
    """
    if not rt.app.consumer or not _recovered(rt):
        return 0
    partitions = _assigned_partitions(rt)
    if partitions != rt.due_index.partitions:
        return 0  # an assignment not taken into the index yet
    pending = rt.due_index.to_rebuild()
    if pending and not await rebuild(rt, pending):
        return 0
    async with rt.guard.lock:
        if _assigned_partitions(rt) != rt.due_index.partitions:
            return 0  # a rebalance since the rebuild: the next tick rebuilds
        wall_now = rt.wall()
        sent = 0
        watermarks: list[datetime] = []
        for partition in sorted(partitions):
            watermark = rt.due_index.watermark(partition, wall_now)
            fire_time = rt.due_index.fire_time(partition, wall_now)
            if watermark is None or fire_time is None:
                continue
            watermarks.append(watermark)
            for customer in rt.due_index.pop_due(partition, fire_time, limit=TICK_WAKES):
                wakeup = Wakeup(customer_id=customer, at=fire_time)
                await rt.out.wakeups.send(key=customer, value=wakeup, partition=partition)
                sent += 1
        await rt.out.flush()
    rt.metrics.woken("topic", sent)
    publish_timers(rt, wall_now, watermarks)
    for journey, counts in rt.customers.stages.current().items():
        rt.metrics.set_stage_counts(journey, counts)
    return sent


def overdue_before(rt: Runtime, wall_now: datetime, watermarks: list[datetime]) -> datetime | None:
    """Due times earlier than this are overdue (see the module's docstring)."""
    reference = wall_now if rt.due_index.clock == "live" else max(watermarks, default=None)
    if reference is None:
        return None
    interval = timedelta(seconds=rt.settings.timer_interval_seconds)
    slack = rt.due_index.idle_grace + rt.due_index.grace + 2 * interval
    return reference - slack


def publish_timers(rt: Runtime, wall_now: datetime, watermarks: list[datetime]) -> None:
    """Set the pending and overdue timer gauges after a tick."""
    before = overdue_before(rt, wall_now, watermarks)
    overdue = 0 if before is None else rt.due_index.overdue(before)
    rt.metrics.set_timers(pending=len(rt.due_index), overdue=overdue)


def register(rt: Runtime, customers: TableT[str, Any]) -> None:
    """Add the timer (one per worker) to the app; ``customers`` is the journey table."""

    # faust types timer() as returning an untyped callable
    @rt.app.timer(  # type: ignore[untyped-decorator]
        interval=rt.settings.timer_interval_seconds, name="journeys.wakeups"
    )
    async def wake_due_customers() -> None:
        await tick(rt)

    rt.registered.wakeup_timer = wake_due_customers

    # the index keeps the partitions kept at a rebalance; the tick rebuilds the others
    # once restored (faust's ``on_partitions_assigned`` is sent after the tables' rebalance)
    @rt.app.on_partitions_revoked.connect
    def index_revoked(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        rt.due_index.revoked()

    @rt.app.on_partitions_assigned.connect
    def index_assigned(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        on_assigned(rt)

    @customers.on_recover
    async def rebuild_after_recovery() -> None:
        on_recovered(rt)
