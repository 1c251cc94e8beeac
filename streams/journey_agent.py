"""The journey agent: one writer of the ``customers`` table.

It consumes the keyed touchpoints and the internal wakeups topic (co-partitioned with
the table, same key) and, per message: reads the customer's state, calls the engine,
writes the state back (reassigning the key, which writes the changelog) and sends the
triggers keyed by customer id to the all-triggers topic and the family topic. The
business rules are in :mod:`journeys`; merges and fan-out are in :mod:`streams.links`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

import journeys
from journeys.state import load_state
from schemas import codec
from schemas.deadletters import Rejection, RejectReason
from schemas.events import TouchpointEvent
from schemas.internal import (
    FanoutPublish,
    FanoutSubscribe,
    MergeRequest,
    MergeState,
    Wakeup,
    parse_internal,
)
from schemas.triggers import Trigger
from streams import links
from streams.decode_agent import send_dead_letter

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger(__name__)

Record = dict[str, dict[str, Any]]  # journey name -> CustomerState JSON


def next_due_of(rt: Runtime, record: Record) -> datetime | None:
    """The earliest due time over the customer's journeys."""
    dues = [
        due
        for d in rt.definitions
        if d.name in record and (due := journeys.next_due(load_state(record[d.name]))) is not None
    ]
    return min(dues) if dues else None


def state_of(record: Record, definition: Any) -> Any:
    obj = record.get(definition.name)
    return None if obj is None else load_state(obj)


async def send_triggers(rt: Runtime, triggers: Sequence[Trigger]) -> None:
    """Each trigger to the all-triggers topic and to its family's topic, keyed by customer."""
    for trigger in triggers:
        if trigger.holdout:  # the engine lists holdouts as suppressed; never deliver one
            continue
        await rt.triggers.send(key=trigger.customer_id, value=trigger)
        family = rt.families.get(trigger.family)
        if family is not None:
            await family.send(key=trigger.customer_id, value=trigger)
        else:
            log.warning("trigger kind %s has no family topic", trigger.kind)


async def apply(rt: Runtime, key: str, partition: int, results: list[tuple[str, Any, Any]]) -> None:
    """Write the new states of ``key`` and send what the engine returned.

    ``results`` holds ``(journey name, new state or None, outcome or None)``.
    """
    record: Record = rt.customers.get(key) or {}
    new: Record = dict(record)
    for name, state, _ in results:
        if state is not None:
            new[name] = state.model_dump(mode="json")
    if new != record:
        rt.customers[key] = new  # reassign: only a new value writes the changelog
        rt.stages.update(record, new)
    wall_now = rt.wall()
    for name, _, outcome in results:
        if outcome is not None:
            await send_triggers(rt, outcome.triggers)
            rt.metrics.outcome(name, outcome, wall_now=wall_now)
    rt.timers.schedule(partition, key, next_due_of(rt, new))


async def on_touchpoint(rt: Runtime, key: str, partition: int, event: TouchpointEvent) -> None:
    record: Record = rt.customers.get(key) or {}
    results: list[tuple[str, Any, Any]] = []
    status = "duplicate"
    for definition in rt.definitions:
        with rt.metrics.time_step():
            state, outcome = journeys.step(definition, state_of(record, definition), event)
        results.append((definition.name, state, outcome))
        if outcome.status != "duplicate":
            status = outcome.status if status == "duplicate" else status
    await apply(rt, key, partition, results)
    rt.timers.observe(partition, event.event_time)
    rt.metrics.event_consumed(event.type, status)
    rt.metrics.event_age((rt.wall() - event.event_time).total_seconds())
    if status == "processed":
        await links.after_event(rt, key, event)


async def on_wakeup(rt: Runtime, key: str, partition: int, wakeup: Wakeup) -> None:
    record: Record = rt.customers.get(key) or {}
    results: list[tuple[str, Any, Any]] = []
    for definition in rt.definitions:
        state = state_of(record, definition)
        due = None if state is None else journeys.next_due(state)
        if state is None or due is None or due > wakeup.at:
            continue
        with rt.metrics.time_step():
            state, outcome = journeys.advance(definition, state, wakeup.at)
        results.append((definition.name, state, outcome))
    if results:
        await apply(rt, key, partition, results)
    else:
        rt.timers.schedule(partition, key, next_due_of(rt, record))


async def handle(rt: Runtime, event: Any) -> None:
    """Process one message of the journey agent's input."""
    message = event.message
    raw: bytes = event.value if event.value is not None else b""
    key = event.key
    try:
        if key is None:
            raise ValueError("internal message without a key")
        obj = codec.loads(raw)
        if message.topic != rt.specs["wakeups"].name:  # the keyed touchpoints
            await on_touchpoint(rt, key, message.partition, TouchpointEvent.model_validate(obj))
            return
        internal = parse_internal(obj)
    except (ValueError, ValidationError) as exc:  # orjson errors are ValueErrors
        reason = RejectReason.SCHEMA_VIOLATION
        await send_dead_letter(rt, message, raw, Rejection(reason, f"$: {exc}"[:500]))
        return
    if isinstance(internal, Wakeup):
        await on_wakeup(rt, key, message.partition, internal)
    elif isinstance(internal, MergeRequest):
        await links.on_merge_request(rt, key, internal)
    elif isinstance(internal, MergeState):
        await links.on_merge_state(rt, key, message.partition, internal)
    elif isinstance(internal, FanoutSubscribe):
        links.on_fanout_subscribe(rt, key, internal)
    elif isinstance(internal, FanoutPublish):
        await links.on_fanout_publish(rt, key, internal)


def register(rt: Runtime) -> Any:
    """Add the journey agent to the app (concurrency 1: faust issue #606)."""

    @rt.app.agent(rt.journey_input, name="journeys.journey", concurrency=1)
    async def journey(stream: Any) -> None:
        async for event in stream.events():
            async with rt.guard.lock:
                await handle(rt, event)
                event.ack()  # inside the lock: a commit sees whole events only

    return journey
