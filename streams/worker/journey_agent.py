"""The journey agent: the one writer of the ``customers`` table.

It consumes the keyed touchpoints and the internal wakeups topic (co-partitioned with
the table, same key) and, per message: reads the customer's states, calls the engine
(:class:`~streams.worker.runtime.Engine`, the same calls replay makes), writes the
changed states back through the :class:`~streams.worker.customers.CustomerStore` and
sends the triggers keyed by customer id to the all-triggers topic and the family topic.
The business rules are in :mod:`journeys`; merges and fan-out are in
:mod:`streams.worker.links`.

A message is told apart by its type, not by the topic it came from: an object whose
``kind`` names an internal message (:mod:`schemas.internal`) is one; anything else must
be a canonical touchpoint.
"""

from __future__ import annotations

from typing import Any

from faust.types import AgentT, EventT, StreamT
from pydantic import ValidationError

from journeys import driver
from schemas import codec
from schemas.deadletters import Rejection, RejectReason
from schemas.events import TouchpointEvent
from schemas.internal import (
    INTERNAL_KINDS,
    FanoutPublish,
    FanoutSubscribe,
    InternalMessage,
    MergeRequest,
    MergeState,
    Wakeup,
    parse_internal,
)
from streams.worker import links
from streams.worker.customers import Record
from streams.worker.decode_agent import dead_letter
from streams.worker.runtime import Runtime


async def apply(rt: Runtime, key: str, partition: int, record: Record, done: driver.Driven) -> None:
    """Write the new states of ``key``, send what the engine returned, reschedule."""
    rt.customers.write(key, record, done.states, done.changed)
    wall_now = rt.wall()
    for name, outcome in done.outcomes:
        if outcome.triggers:
            await rt.out.send_triggers(outcome.triggers)
        rt.metrics.outcome(name, outcome, wall_now=wall_now)
    rt.timers.schedule(partition, key, rt.engine.due(done.states))


async def on_touchpoint(rt: Runtime, key: str, partition: int, event: TouchpointEvent) -> None:
    record, states = rt.customers.read(key)
    with rt.metrics.time_step():
        done = rt.engine.on_event(rt.definitions, states, event)
    await apply(rt, key, partition, record, done)
    rt.timers.observe(partition, event.event_time)
    rt.metrics.event_consumed(event.type, done.status)
    rt.metrics.event_age((rt.wall() - event.event_time).total_seconds())
    if done.status == "processed":
        await links.after_event(rt, key, event)


async def on_wakeup(rt: Runtime, key: str, partition: int, wakeup: Wakeup) -> None:
    record, states = rt.customers.read(key)
    with rt.metrics.time_step():
        done = rt.engine.on_time(rt.definitions, states, wakeup.at)
    await apply(rt, key, partition, record, done)


def parse(obj: Any) -> TouchpointEvent | InternalMessage:
    """The message in a decoded JSON value, by its type (raises when it is neither)."""
    if isinstance(obj, dict) and obj.get("kind") in INTERNAL_KINDS:
        return parse_internal(obj)
    return TouchpointEvent.model_validate(obj)


async def dispatch(
    rt: Runtime, key: str, partition: int, msg: TouchpointEvent | InternalMessage
) -> None:
    """Hand one parsed message to its handler."""
    if isinstance(msg, TouchpointEvent):
        await on_touchpoint(rt, key, partition, msg)
    elif isinstance(msg, Wakeup):
        await on_wakeup(rt, key, partition, msg)
    elif isinstance(msg, MergeRequest):
        await links.on_merge_request(rt, key, msg)
    elif isinstance(msg, MergeState):
        await links.on_merge_state(rt, key, partition, msg)
    elif isinstance(msg, FanoutSubscribe):
        await links.on_fanout_subscribe(rt, key, msg)
    elif isinstance(msg, FanoutPublish):
        await links.on_fanout_publish(rt, key, msg)


async def handle(rt: Runtime, event: EventT[Any]) -> None:
    """Process one message of the journey agent's input."""
    message = event.message
    raw: bytes = event.value if event.value is not None else b""
    key = event.key
    try:
        if key is None:
            raise ValueError("message without a key")
        msg = parse(codec.loads(raw))
    except (ValueError, ValidationError) as exc:  # orjson errors are ValueErrors
        reason = RejectReason.SCHEMA_VIOLATION
        await dead_letter(rt, message, raw, Rejection(reason, f"$: {exc}"[:500]))
        return
    await dispatch(rt, str(key), message.partition, msg)


def register(rt: Runtime) -> AgentT[Any]:
    """Add the journey agent to the app (concurrency 1: faust issue #606)."""

    @rt.app.on_partitions_revoked.connect
    def on_revoked(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        rt.customers.reset()

    @rt.app.on_partitions_assigned.connect
    def on_assigned(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        rt.customers.reset()

    async def journey(stream: StreamT[Any]) -> None:
        event: EventT[Any]
        async for event in stream.events():
            async with rt.guard.lock:
                await handle(rt, event)
                rt.guard.finish(event)  # inside the lock: a commit sees whole events only

    return rt.app.agent(rt.journey_input, name="journeys.journey", concurrency=1)(journey)
