"""The journey agent: one writer of the ``customers`` table.

It consumes the keyed touchpoints and the internal wakeups topic (co-partitioned with
the table, same key) and, per message: reads the customer's states, calls the engine
through :mod:`journeys.driver` (the same calls replay makes), writes the changed states
back (reassigning the key, which writes the changelog) and sends the triggers keyed by
customer id to the all-triggers topic and the family topic. The business rules are in
:mod:`journeys`; merges and fan-out are in :mod:`streams.links`.

Decoded states are kept in an LRU :class:`StateCache` (the table holds JSON; validating
it on every event cost more than a third of the engine step): the agent is the single
writer of its partitions' keys, so what it wrote is what the table holds, and the cache
is cleared whenever partitions are assigned or revoked.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from journeys import driver
from journeys.state import CustomerState, load_state
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

Record = dict[str, dict[str, Any]]  # journey name -> CustomerState JSON (the table's value)
States = dict[str, CustomerState]  # journey name -> decoded state
DEFAULT_CACHE_SIZE = 50_000


class StateCache:
    """Decoded states of the customers processed last (LRU), with the table value they are.

    Valid because the journey agent is the only writer of the ``customers`` keys of the
    partitions it is assigned: what it wrote is what the table holds. Cleared (by
    :func:`clear_state_cache`) whenever partitions are assigned or revoked, so a key that
    moved away and came back is read from the (recovered) table again.
    """

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[Record, States]] = OrderedDict()

    def get(self, key: str) -> tuple[Record, States] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, record: Record, states: States) -> None:
        if self.size <= 0:
            return
        self._entries[key] = (record, states)
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def state_cache(rt: Runtime) -> StateCache:
    cache = rt.extra.get("state_cache")
    if cache is None:
        size = getattr(rt.settings, "state_cache_size", DEFAULT_CACHE_SIZE)
        cache = rt.extra["state_cache"] = StateCache(size)
    return cast(StateCache, cache)


def clear_state_cache(rt: Runtime) -> None:
    """Forget every cached state (on partition assignment or revocation)."""
    state_cache(rt).clear()


def decode(rt: Runtime, record: Record) -> States:
    """The states of ``record`` for the running definitions (validated, migrated)."""
    return {d.name: load_state(record[d.name]) for d in rt.definitions if d.name in record}


def read(rt: Runtime, key: str) -> tuple[Record, States]:
    """``key``'s table value and its decoded states: from the cache, else the table."""
    cache = state_cache(rt)
    entry = cache.get(key)
    if entry is None:
        record: Record = rt.customers.get(key) or {}
        entry = (record, decode(rt, record))
        cache.put(key, *entry)
    return entry


def write(rt: Runtime, key: str, record: Record, states: States, changed: Sequence[str]) -> None:
    """Write the ``changed`` journeys of ``key`` (reassigning the key writes the changelog)."""
    if changed:
        new: Record = dict(record)
        for name in changed:
            new[name] = states[name].model_dump(mode="json")
        rt.customers[key] = new
        rt.stages.update(record, new)
        record = new
    state_cache(rt).put(key, record, states)


def forget(rt: Runtime, key: str, record: Record) -> None:
    """Delete ``key`` from the table (its states moved elsewhere)."""
    state_cache(rt).drop(key)
    if key in rt.customers:
        del rt.customers[key]
    rt.stages.update(record, {})


def next_due_of(rt: Runtime, record: Record) -> datetime | None:
    """The earliest due time over the customer's journeys (from a table value)."""
    return driver.due(decode(rt, record))


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


async def apply(rt: Runtime, key: str, partition: int, record: Record, done: driver.Driven) -> None:
    """Write the new states of ``key``, send what the engine returned, reschedule."""
    write(rt, key, record, done.states, done.changed)
    wall_now = rt.wall()
    for name, outcome in done.outcomes:
        if outcome.triggers:
            await send_triggers(rt, outcome.triggers)
        rt.metrics.outcome(name, outcome, wall_now=wall_now)
    rt.timers.schedule(partition, key, driver.due(done.states))


async def on_touchpoint(rt: Runtime, key: str, partition: int, event: TouchpointEvent) -> None:
    record, states = read(rt, key)
    with rt.metrics.time_step():
        done = driver.on_event(rt.definitions, states, event)
    await apply(rt, key, partition, record, done)
    rt.timers.observe(partition, event.event_time)
    rt.metrics.event_consumed(event.type, done.status)
    rt.metrics.event_age((rt.wall() - event.event_time).total_seconds())
    if done.status == "processed":
        await links.after_event(rt, key, event)


async def on_wakeup(rt: Runtime, key: str, partition: int, wakeup: Wakeup) -> None:
    record, states = read(rt, key)
    with rt.metrics.time_step():
        done = driver.on_time(rt.definitions, states, wakeup.at)
    await apply(rt, key, partition, record, done)


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
        await links.on_fanout_subscribe(rt, key, internal)
    elif isinstance(internal, FanoutPublish):
        await links.on_fanout_publish(rt, key, internal)


def register(rt: Runtime) -> Any:
    """Add the journey agent to the app (concurrency 1: faust issue #606)."""

    state_cache(rt)

    @rt.app.on_partitions_revoked.connect
    def on_revoked(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        clear_state_cache(rt)

    @rt.app.on_partitions_assigned.connect
    def on_assigned(app: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        clear_state_cache(rt)

    @rt.app.agent(rt.journey_input, name="journeys.journey", concurrency=1)
    async def journey(stream: Any) -> None:
        async for event in stream.events():
            async with rt.guard.lock:
                await handle(rt, event)
                rt.guard.finish(event)  # inside the lock: a commit sees whole events only

    return journey
