"""The journey agent: the one reader of the input and the one writer of the ``customers`` table.

It consumes the touchpoints topic itself (co-partitioned with the table: a well-keyed
touchpoint is processed where it is read, in one pass), the keyed topic (touchpoints
re-keyed to their identity, fan-out derived events), the internal wakeups topic and the
erasures topic; how a message is decoded is in :mod:`streams.worker.intake`. Per event:
read the customer's states, call the engine (:class:`~streams.worker.runtime.Engine`,
the same calls replay makes), write the changed states back through the
:class:`~streams.worker.customers.CustomerStore`, send the triggers. The business rules
are in :mod:`journeys`; merges and fan-out are in :mod:`streams.worker.links`, erasures
in :mod:`streams.worker.erasure`.

Time-based rules fire inline: once an event moved its partition's event time, the
customers of that partition due by then are woken right there (as Kafka Streams runs
stream-time punctuations in the stream thread), in the same transaction. The timer
(:mod:`streams.worker.timer_tick`) only wakes the customers of idle partitions, through
the wakeups topic, when the live clock moves their time on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any, Protocol, cast

import faust
from faust.types import AgentT, EventT, StreamT

from journeys import driver
from schemas import codec
from schemas.codec import isoformat_utc
from schemas.deadletters import Rejection, RejectReason, bounded, failure
from schemas.events import TouchpointEvent
from schemas.internal import (
    EraseLinked,
    EraseSubscriptions,
    FanoutPublish,
    FanoutSubscribe,
    InternalMessage,
    MergeRequest,
    MergeState,
    Wakeup,
)
from streams.kafka.keys import key_text
from streams.worker import erasure, links
from streams.worker.eos.current import acting_for
from streams.worker.intake import Intake, from_erasures, from_internal, from_source
from streams.worker.outputs import Origin
from streams.worker.runtime import Runtime, WallClock

log = logging.getLogger(__name__)


class Message(Protocol):
    """What the agent reads of an input record: faust's ``Message``
    (``faust.types.tuples.Message``, ``EventT.message``), as far as it is used here."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | str | None: ...

    @property
    def timestamp(self) -> float | None: ...


def origin_of(message: Message) -> Origin:
    """Where ``message`` was read (what its dead letters say)."""
    return Origin(message.topic, message.partition, message.offset, message.key)


def record_time(message: Message, wall: WallClock) -> datetime:
    """The Kafka record timestamp of ``message`` (deterministic on replay); the wall
    clock for a record without one."""
    timestamp = message.timestamp
    if timestamp is None or timestamp <= 0:
        return wall()
    return datetime.fromtimestamp(float(timestamp), UTC)


async def dead_letter(rt: Runtime, message: Message, raw: bytes, rejection: Rejection) -> None:
    """Write one dead letter for ``raw`` read from ``message`` and count it."""
    await rt.out.send_dead_letter(origin_of(message), raw, rejection, rt.wall())
    rt.metrics.dead_lettered(str(rejection.reason))


async def apply(
    rt: Runtime, key: str, partition: int, done: driver.Driven, wall_now: datetime | None = None
) -> None:
    """Keep the new states of ``key``, send what the engine returned, reschedule;
    ``wall_now``, the wall clock its triggers' latency is measured at (read here when
    not given)."""
    rt.customers.write(key, done.states, done.changed)
    if wall_now is None:
        wall_now = rt.wall()
    for name, outcome in done.outcomes:
        if outcome.triggers:
            await rt.out.send_triggers(outcome.triggers)
        rt.metrics.outcome(name, outcome, wall_now=wall_now)
    rt.due_index.schedule(partition, key, rt.engine.due(done.states))


async def on_touchpoint(rt: Runtime, key: str, partition: int, event: TouchpointEvent) -> str:
    """Step the customer's journeys with ``event``; returns the combined status
    (``forwarded``: ``key`` is linked to a customer, the event was re-keyed there;
    ``erased``: ``key`` was erased and its events older than its suppression's end are
    dropped, counted, never dead-lettered)."""
    states = rt.customers.states(key)
    if not states:
        if rt.suppressions.suppressed(partition, key, event.event_time):
            rt.metrics.erasure_suppressed()
            return "erased"
        if await links.forward(rt, key, event):
            return "forwarded"
    count_timer_race(rt, key, partition, event, states)
    started = perf_counter()  # not metrics.time_step(): a generator per call costs more
    done = rt.engine.on_event(rt.definitions, states, event)
    rt.metrics.step_duration(perf_counter() - started)
    wall_now = rt.wall()  # one read an event: its triggers' latency and its age
    await apply(rt, key, partition, done, wall_now)
    rt.due_index.observe(partition, event.event_time)
    rt.metrics.event_consumed(event.type, done.status)
    rt.metrics.event_age((wall_now - event.event_time).total_seconds())
    if done.status == "processed":
        await links.after_event(rt, key, event)
    return done.status


def count_timer_race(
    rt: Runtime, key: str, partition: int, event: TouchpointEvent, states: driver.States
) -> None:
    """Count an event the timer grace kept ahead of its customer's timer (due by the
    partition's time, later than the event), and one that came after a wake-up had moved
    its customer past it (delayed longer than the grace)."""
    due, watermark = rt.due_index.due_of(key), rt.due_index.event_watermark(partition)
    if due is not None and watermark is not None and event.event_time < due <= watermark:
        rt.metrics.grace_held()
    if rt.engine.overtaken(states, event.event_time):
        rt.metrics.event_after_timer()


async def on_wakeup(rt: Runtime, key: str, partition: int, at: datetime) -> None:
    states = rt.customers.states(key)
    started = perf_counter()
    done = rt.engine.on_time(rt.definitions, states, at)
    rt.metrics.step_duration(perf_counter() - started)
    await apply(rt, key, partition, done)


INLINE_WAKES_PER_BATCH = 1_000


class WakeBudget:
    """How many more customers a batch may wake inline: a jump of the partition's time
    (a backlog, a restart after downtime) makes many customers due at once, and one
    batch waking them all would hold every one's state and output in memory until it
    ends. The rest stay in the index for the next events and the timer's ticks; the
    engine fires a customer's due timers in due order whenever it is woken, so the
    triggers are the same."""

    __slots__ = ("left",)

    def __init__(self, left: int = INLINE_WAKES_PER_BATCH) -> None:
        self.left = left


async def wake_due(rt: Runtime, partition: int, budget: WakeBudget) -> None:
    """Wake the customers of ``partition`` due by its event time, less the timer grace
    (inline timers)."""
    fire_time = rt.due_index.event_fire_time(partition)
    if fire_time is None or budget.left <= 0:
        return
    woken = rt.due_index.pop_due(partition, fire_time, limit=budget.left)
    budget.left -= len(woken)
    for customer in woken:
        await on_wakeup(rt, customer, partition, fire_time)
    rt.metrics.woken("inline", len(woken))


async def dispatch(rt: Runtime, key: str, partition: int, msg: InternalMessage) -> None:
    """Hand one internal message to its handler."""
    if isinstance(msg, Wakeup):
        await on_wakeup(rt, key, partition, msg.at)
    elif isinstance(msg, MergeRequest):
        if msg.at is not None:  # the linked key's timers due by the link fire as its own
            await on_wakeup(rt, key, partition, msg.at)
        await links.on_merge_request(rt, key, msg)
    elif isinstance(msg, MergeState):
        if await erasure.refuses_merge(rt, key, partition, msg):
            return
        merged = await links.on_merge_state(rt, key, msg)
        if merged is not None:
            await apply(rt, key, partition, merged)
    elif isinstance(msg, FanoutSubscribe):
        await links.on_fanout_subscribe(rt, key, msg)
    elif isinstance(msg, FanoutPublish):
        await links.on_fanout_publish(rt, key, msg)
    elif isinstance(msg, EraseLinked):
        await erasure.on_erase_linked(rt, key, partition, msg)
    elif isinstance(msg, EraseSubscriptions):
        await erasure.on_erase_subscriptions(rt, partition, msg)


async def too_late(
    rt: Runtime, message: Message, raw: bytes, event: TouchpointEvent, *, alone: bool
) -> None:
    """An event older than its journeys' allowed lateness changed nothing: it goes to the
    dead-letter topic (``too_late``), as the original bytes when it was the message's
    only event, else as its canonical JSON. Counted as consumed ``late`` already."""
    payload = raw if alone else codec.dumps(event)
    text = f"event {event.event_id}: event_time {isoformat_utc(event.event_time)} is older "
    text += "than its journeys' allowed lateness"
    rejection = Rejection(RejectReason.TOO_LATE, bounded(text))
    await rt.out.send_dead_letter(origin_of(message), payload, rejection, rt.wall())
    rt.metrics.dead_lettered(str(RejectReason.TOO_LATE), consumed=False)


def decode(rt: Runtime, message: Message, raw: bytes) -> Intake:
    """What ``message`` (its bytes ``raw``) asks for, decoded by :mod:`streams.worker.intake`
    by the topic it comes from."""
    if message.topic == rt.specs["touchpoints"].name:
        skew = timedelta(seconds=rt.settings.max_future_skew_seconds)
        return from_source(message.key, raw, record_time(message, rt.clocks.wall), skew)
    if message.topic == rt.specs["erasures"].name:
        return from_erasures(message.key, raw)
    return from_internal(message.key, raw)


async def handle(rt: Runtime, event: EventT[Any], budget: WakeBudget) -> None:
    """Process one message of the journey agent's input, then wake who is due."""
    message: Message = event.message
    raw: bytes = event.value if event.value is not None else b""
    partition = message.partition
    intake = decode(rt, message, raw)
    for rejection in intake.rejections:
        await dead_letter(rt, message, raw, rejection)
    for moved in intake.rekey:
        await rt.out.keyed.send(key=moved.key, value=moved)
        rt.metrics.rekeyed_touchpoint()
    key = key_text(message.key)
    if key is not None:
        for touchpoint in intake.here:
            if await on_touchpoint(rt, key, partition, touchpoint) == "late":
                await too_late(rt, message, raw, touchpoint, alone=len(intake.here) == 1)
        if intake.internal is not None:
            await dispatch(rt, key, partition, intake.internal)
        if intake.erasure is not None:
            await erasure.on_request(rt, key, partition, intake.erasure)
    await wake_due(rt, partition, budget)
    erasure.expire(rt, partition)


async def process(rt: Runtime, batch: Sequence[EventT[Any]]) -> None:
    """One batch: each event acting for itself, then the state writes, once per key, and
    everything the batch produced, one record batch per partition.

    Call under the agents' lock; the caller records the batch finished after this."""
    budget = WakeBudget()
    with rt.metrics.batch():  # the batch's per-event counts written once, at its end
        for event in batch:
            with acting_for(event):
                await contained(rt, event, budget)
    rt.customers.flush(acting_for)
    await rt.out.flush()


async def contained(rt: Runtime, event: EventT[Any], budget: WakeBudget) -> None:
    """:func:`handle`, with any unexpected error turned into a dead letter: one event
    never stops the others, and never vanishes."""
    try:
        await handle(rt, event, budget)
    except Exception as exc:  # a defect or an input the contracts let through
        message: Message = event.message
        log.exception(
            "event %s[%s]@%s failed; dead-lettered",
            message.topic, message.partition, message.offset,
        )  # fmt: skip
        raw = event.value if isinstance(event.value, bytes) else b""
        reason = Rejection(RejectReason.PROCESSING_ERROR, failure(exc))
        await dead_letter(rt, message, raw, reason)


async def failed(rt: Runtime, exc: Exception) -> None:
    """A batch failed outside any one event (writing its state, sending its output): part
    of its output may be in the open transactions. Nothing commits any more and the worker
    stops; the next one aborts those transactions and processes the batch again from the
    committed offsets (exactly once), rather than this one going on past the batch."""
    rt.guard.fail(exc)
    log.error("a batch failed while writing its state or output; stopping: %r", exc)
    await rt.app.crash(exc)


def register(rt: Runtime) -> AgentT[Any]:
    """Add the journey agent to the app (concurrency 1: faust issue #606).

    It takes the events a batch at a time (``Stream.take_events``: up to
    ``batch_max_events``, or what arrived within ``batch_window_seconds``), so that the
    agents' lock is taken, the offsets booked and each key's state written once per
    batch rather than once per event."""
    settings = rt.settings

    @rt.app.on_partitions_revoked.connect
    def on_revoked(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        rt.customers.reset()
        rt.fanout.reset()
        rt.suppressions.reset()

    @rt.app.on_partitions_assigned.connect
    def on_assigned(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        rt.customers.reset()
        rt.fanout.reset()
        rt.suppressions.reset()

    async def journey(stream: StreamT[Any]) -> None:
        # faust types agents' streams as StreamT, which does not declare take_events
        batches = cast(faust.Stream[Any], stream).take_events(
            settings.batch_max_events, settings.batch_window_seconds
        )
        async for batch in batches:
            async with rt.guard.lock:
                try:
                    await process(rt, batch)
                except Exception as exc:  # beyond one event: the state flush, the sends
                    await failed(rt, exc)
                    raise
                rt.guard.finish_batch(batch)  # inside the lock: a commit sees whole batches

    return rt.app.agent(rt.journey_input, name="journeys.journey", concurrency=1)(journey)
