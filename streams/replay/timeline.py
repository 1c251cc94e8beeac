"""Run the journey engine over a sequence of events and describe what happened, step by step.

Pure: no Kafka, no clock, no I/O. ``Replayer`` keeps one state per key and calls the
engine the way the worker does (``step`` per event in topic order, ``advance`` for time);
``timeline`` turns the outcomes into JSON-ready records, one per step, each with a
``type``: ``event`` (``origin`` ends ``(linked KEY)`` for an event read for a key
linked to its customer), ``merge`` (a linked key's states merged into its customer's:
``merged_id``, ``customer_id``, the linking ``event_id``; the merge's own transition,
change and trigger records follow, rule ``merge`` or the rule it set off),
``transition``, ``change`` (an attribute set, changed or unset, and the rule that did
it), ``note`` (what the engine could not use: "'next tuesday' is not a date, ignored"),
``trigger``, ``suppressed`` (with its reason: ``goal`` for a reached goal, ``exit`` for a
customer who left), ``deadletter`` or ``erasure`` (an erasure request in the input:
:mod:`streams.replay.erasure`; the ids' states start afresh after it). A trigger record
carries the Trigger message exactly as the worker emits it.

An engine call that raises (a defect) is what the worker dead-letters with reason
``processing_error``: here too it becomes a ``deadletter`` record (the exception class
and a bounded message), that key's state is left as it was, and replay goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys import Journey, Outcome
from journeys.clock import PartitionClock
from journeys.replayer import PROCESSING_ERROR, Replayer, Step, Tick
from schemas.codec import dumps, isoformat_utc
from schemas.deadletters import MESSAGE_LIMIT, failure
from schemas.events import TouchpointEvent
from schemas.triggers import Trigger
from streams.replay.erasure import Erasure, erasure_record

__all__ = [
    "MESSAGE_LIMIT",
    "PROCESSING_ERROR",
    "Arrival",
    "Item",
    "Replayer",
    "Step",
    "Tick",
    "TimelineRecord",
    "Unreadable",
    "delivered",
    "failure",
    "step_records",
    "timeline",
]

TimelineRecord = dict[str, Any]  # one line of a replay timeline (its JSON), typed by "type"
RECORD_TYPES = (
    "event",
    "merge",
    "transition",
    "change",
    "note",
    "trigger",
    "suppressed",
    "deadletter",
    "erasure",
)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A readable event and where it was read (``file:LINE`` or ``topic[p]@offset``)."""

    event: TouchpointEvent
    origin: str


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Input that did not decode: it becomes a dead-letter record, replay goes on.
    ``key``: the identity the input names (``schemas.decode.named_identity``), which a
    one-customer replay shows it for; None when it names none."""

    origin: str
    reason: str
    message: str
    raw: bytes
    key: str | None = None


Item = Arrival | Unreadable | Erasure | Tick


def iso(moment: datetime | None) -> str | None:
    """UTC instant as the codec writes it (``...Z``), or None."""
    return None if moment is None else isoformat_utc(moment)


def event_record(
    event: TouchpointEvent, status: str, origin: str, *, show_properties: bool = False
) -> TimelineRecord:
    record: TimelineRecord = {
        "type": "event",
        "time": iso(event.event_time),
        "customer_id": event.customer_id,
        "anonymous_id": event.anonymous_id,
        "event_id": event.event_id,
        "event_type": event.type,
        "source": event.source,
        "status": status,
        "origin": origin,
    }
    if show_properties:
        record["properties"] = event.properties
        record["traits"] = event.traits
    return record


def deadletter_record(item: Unreadable, *, show_properties: bool = False) -> TimelineRecord:
    record: TimelineRecord = {
        "type": "deadletter",
        "time": None,
        "origin": item.origin,
        "reason": item.reason,
        "message": item.message,
        "size": len(item.raw),
    }
    if show_properties:
        record["raw"] = item.raw.decode("utf-8", errors="replace")
    return record


def error_record(step: Step, origin: str, *, show_properties: bool = False) -> TimelineRecord:
    """The dead letter of an event the engine raised on (``processing_error``)."""
    raw = dumps(step.event)
    item = Unreadable(origin, PROCESSING_ERROR, step.error or "", raw)
    return deadletter_record(item, show_properties=show_properties) | {
        "time": iso(step.event.event_time)
    }


def wakeup_error_record(key: str, until: datetime | None, message: str) -> TimelineRecord:
    """The dead letter of a wake-up the engine raised on (``processing_error``)."""
    origin = f"wake-up of {key}" if until is None else f"wake-up of {key} at {iso(until)}"
    return deadletter_record(Unreadable(origin, PROCESSING_ERROR, message, b"")) | {
        "time": iso(until)
    }


def delivered(outcome: Outcome) -> list[Trigger]:
    """The triggers the worker sends: holdouts never are (the engine lists them suppressed)."""
    return [t for t in outcome.triggers if not t.holdout]


def outcome_records(
    outcome: Outcome, customer_id: str, journey: str, at: datetime
) -> list[TimelineRecord]:
    """Transitions, attribute changes, triggers, suppressed triggers and notes, in
    engine-time order (stable); ``at``: the time of the call (its notes' time)."""
    return [record for _, record in _timed(outcome, customer_id, journey, at)]


def _timed(
    outcome: Outcome, customer_id: str, journey: str, at: datetime
) -> list[tuple[datetime, TimelineRecord]]:
    """At one instant: transitions (a re-entry first), the attribute changes, triggers,
    suppressed triggers, then the call's notes."""
    timed: list[tuple[datetime, int, TimelineRecord]] = []
    head = {"customer_id": customer_id, "journey": journey}
    for t in outcome.transitions:
        record = {"type": "transition", "time": iso(t.at), **head, "rule": t.rule}
        record |= {"kind": t.kind, "stage_before": t.stage_before, "stage_after": t.stage_after}
        timed.append((t.at, 0, record))
    for c in outcome.changes:
        record = {"type": "change", "time": iso(c.at), **head, "rule": c.rule}
        timed.append((c.at, 1, record | {"attribute": c.name, "old": c.old, "new": c.new}))
    for trigger in delivered(outcome):
        record = {"type": "trigger", "time": iso(trigger.emitted_at)}
        timed.append((trigger.emitted_at, 2, record | {"trigger": trigger.model_dump(mode="json")}))
    for s in outcome.suppressed:
        when = s.trigger.emitted_at
        record = {"type": "suppressed", "time": iso(when), "customer_id": s.trigger.customer_id}
        record |= {"rule": s.rule, "kind": s.kind, "reason": s.reason}
        timed.append((when, 3, record | {"trigger": s.trigger.model_dump(mode="json")}))
    for note in outcome.notes:
        timed.append((at, 4, {"type": "note", "time": iso(at), **head, "note": note}))
    timed.sort(key=lambda entry: (entry[0], entry[1]))
    return [(moment, record) for moment, _, record in timed]


def timeline(
    definitions: Sequence[Journey],
    items: Iterable[Item],
    *,
    until: datetime | None,
    fanout: bool = True,
    show_properties: bool = False,
    keep: Callable[[str], bool] | None = None,
    suppress_days: float = 0.0,
    clock: PartitionClock | None = None,
) -> Iterator[TimelineRecord]:
    """Every step of replaying ``items`` under ``definitions``, then time up to ``until``.

    Records that an event caused earlier in engine time (timers that fell due before it)
    come first, then the event, then the rest. ``keep(key)`` selects the keys whose
    records are shown (all by default); every event is still applied.
    """
    replayer = Replayer(definitions, fanout=fanout, suppress_days=suppress_days, clock=clock)
    shown: Callable[[str | None], bool] = (
        (lambda _: True) if keep is None else (lambda key: key is not None and keep(key))
    )
    for item in items:
        yield from _item_records(replayer, item, shown, show_properties)
    if until is not None:
        for key, name, outcome in replayer.advance(until):
            if shown(key):
                yield from outcome_records(outcome, key, name, until)
    for key, message in replayer.errors:
        if shown(key):
            yield wakeup_error_record(key, until, message)


def _item_records(
    replayer: Replayer, item: Item, shown: Callable[[str | None], bool], show_properties: bool
) -> Iterator[TimelineRecord]:
    """The records of one input item whose key is ``shown``."""
    if isinstance(item, Tick):
        for done in replayer.tick(item):
            if shown(done.customer):
                yield from step_records(done, "partition time")
    elif isinstance(item, Unreadable):
        if shown(item.key):
            yield deadletter_record(item, show_properties=show_properties)
    elif isinstance(item, Erasure):
        erased = replayer.erasures.apply(replayer, item.request)
        if shown(item.request.customer_id):
            yield erasure_record(item, erased)
    else:
        for done in replayer.event(item.event):
            if shown(done.customer):
                yield from step_records(done, item.origin, show_properties=show_properties)


def merge_record(done: Step, origin: str) -> TimelineRecord:
    """The merge of a linked key's states into its customer's, at the linking event."""
    event = done.event
    return {
        "type": "merge",
        "time": iso(event.event_time),
        "customer_id": done.customer,
        "merged_id": done.merged,
        "event_id": event.event_id,
        "origin": origin,
    }


def step_records(
    done: Step, origin: str, *, show_properties: bool = False
) -> Iterator[TimelineRecord]:
    """One step's records: what fell due before the event, the event, then the rest (a
    ``wake`` step: its records; a ``merge`` step: a ``merge`` record, then its own)."""
    event = done.event
    origin = f"{origin} (fan-out)" if done.derived else origin
    if done.forwarded is not None:
        origin = f"{origin} (linked {done.forwarded})"
    if done.error is not None:
        yield error_record(done, origin, show_properties=show_properties)
        return
    at = event.event_time if done.at is None else done.at
    timed = [r for name, o in done.outcomes for r in _timed(o, done.customer, name, at)]
    timed.sort(key=lambda entry: entry[0])
    if done.kind != "event":
        if done.kind == "merge":
            yield merge_record(done, origin)
        yield from (record for _, record in timed)
        return
    before = sum(1 for moment, _ in timed if moment < at)
    yield from (record for _, record in timed[:before])
    yield event_record(event, done.status, origin, show_properties=show_properties)
    yield from (record for _, record in timed[before:])
