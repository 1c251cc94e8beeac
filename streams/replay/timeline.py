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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from journeys import CustomerState, Journey, Outcome, driver, fanout, fanout_keys
from journeys.clock import PartitionClock
from journeys.fanout import FanoutIndex
from schemas.codec import dumps, isoformat_utc
from schemas.deadletters import RejectReason
from schemas.events import TouchpointEvent
from schemas.triggers import Trigger
from streams.replay.erasure import Erasure, Erasures, erasure_record

Record = dict[str, Any]
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
MESSAGE_LIMIT = 500  # characters of an exception's message, as the worker's dead letters
PROCESSING_ERROR = str(RejectReason.PROCESSING_ERROR)


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


@dataclass(frozen=True, slots=True)
class Tick:
    """Another key's event read from the partition of ``key`` (the key replayed): it
    moves that partition's time (and wakes who is due), as it did in the worker, without
    being replayed itself (a one-customer replay from Kafka)."""

    key: str
    event: TouchpointEvent


Item = Arrival | Unreadable | Erasure | Tick


def iso(moment: datetime | None) -> str | None:
    """UTC instant as the codec writes it (``...Z``), or None."""
    return None if moment is None else isoformat_utc(moment)


@dataclass(frozen=True, slots=True)
class Step:
    """One event through every definition: its combined status and each journey's outcome.

    ``error``: the engine raised (status ``processing_error``, no outcomes): the exception
    class and its bounded message. ``forwarded``: the key the event was read for, linked
    to the event's customer (the event as that customer processes it,
    ``driver.forwarded``).

    Two more kinds of step follow an event that links a key to its customer (``event``
    is that linking event): ``kind="wake"``, the linked key's timers due by then
    (``key``: the linked key), and ``kind="merge"``, the merge step (``key``: the
    customer; ``merged``: the linked key). A ``wake`` step also follows an event that
    moved its partition's time (``event``: that event, any key's; ``key``: the key
    woken; ``at``: the time it was woken at)."""

    event: TouchpointEvent
    status: str
    outcomes: list[tuple[str, Outcome]]
    derived: bool = False
    error: str | None = None
    kind: Literal["event", "wake", "merge"] = "event"
    key: str | None = None
    merged: str | None = None
    forwarded: str | None = None
    at: datetime | None = None

    @property
    def customer(self) -> str:
        """The key whose states the step changed."""
        return self.event.key if self.key is None else self.key


def failure(exc: Exception) -> str:
    """An exception as a dead letter's message: its class, then its text, bounded."""
    return f"{type(exc).__name__}: {exc}"[:MESSAGE_LIMIT]


class Replayer:
    """Per-key journey states, driven by the same :mod:`journeys.driver` calls as the
    worker's journey agent.

    * each event goes through every definition (``driver.on_event``); the combined status
      is the first one that is not ``duplicate``;
    * identity links (the worker's link table, :mod:`streams.worker.links`): after a
      processed event that links a key to its customer (``driver.link_of``: an anonymous
      id, an alias's previous id), that key is linked to the customer at once, its
      timers due by the event's time fire (a ``wake`` step), and its states are merged
      into the customer's (``driver.on_merge``, a ``merge`` step). A key is linked once
      (the first link wins). An event read later for a linked key is the customer's
      (``driver.forwarded``), following chains (a customer aliased to another) to the
      final customer. The worker does the same through its ``MergeRequest`` and
      ``MergeState`` messages, so it lands later there: see ``journeys/README.md``
      ("Replay and live") for exactly where the two can differ;
    * with ``fanout`` (input not read from the keyed topic, where the worker already wrote
      the derived events), subscribing and publishing events go through the same
      ``journeys.fanout.subscribe``/``publish`` as in the worker (event-time rule:
      subscribers since at or before a publication get it, whichever comes first in the
      input); the events they derive are stepped right after the event;
    * with ``clock`` (:class:`journeys.clock.PartitionClock`), time moves as in the
      worker: every event moves its key's partition's watermark, and the partition's keys
      due by the watermark less the timer grace are woken right after it (``wake``
      steps), so a timer fires before a customer's own event delayed longer than the
      grace exactly as it did live; without it, a key's timers fire only before its own
      next event and at ``advance``;
    * ``advance`` wakes every key whose ``next_due`` is at or before the time given
      (``driver.on_time``);
    * an engine call that raises leaves the key's states as they were: a step of status
      ``processing_error`` (events) or an entry in ``errors`` (wake-ups), and replay goes
      on with the next event or key.
    """

    def __init__(
        self,
        definitions: Sequence[Journey],
        *,
        fanout: bool = True,
        suppress_days: float = 0.0,
        clock: PartitionClock | None = None,
    ) -> None:
        self.definitions = list(definitions)
        self.fanout = fanout
        self.clock = clock
        self.erasures = Erasures(suppress_days)  # erasures in the input, as the worker's
        self.states: dict[str, dict[str, CustomerState]] = {}
        self.index: dict[str, FanoutIndex] = {}
        self.links: dict[str, str] = {}  # linked key -> the customer it was linked to
        self.errors: list[tuple[str, str]] = []  # (key, failure) of wake-ups that raised

    def event(self, event: TouchpointEvent) -> list[Step]:
        if self.erasures.drops(event):  # an erased id's, within its suppression period
            return [Step(event, "erased", [])]
        read_for = event.key
        key = self.customer_of(read_for)
        if key != read_for:
            event = driver.forwarded(event, key)
        forwarded = read_for if key != read_for else None
        try:
            done = driver.on_event(self.definitions, self.states.get(key, {}), event)
        except Exception as exc:  # a defect: dead-lettered as the worker does, replay goes on
            return [Step(event, PROCESSING_ERROR, [], error=failure(exc), forwarded=forwarded)]
        self.states[key] = done.states
        steps = [Step(event, done.status, done.outcomes, forwarded=forwarded)]
        if done.status == "processed":
            try:
                steps.extend(self._link(key, event))
            except Exception as exc:  # the event itself was applied; its merge was not
                steps.append(Step(event, PROCESSING_ERROR, [], error=failure(exc)))
            if self.fanout:
                steps.extend(self._fanout(event))
        if self.clock is not None:
            self.clock.schedule(key, driver.due(self.states[key]))
            steps.extend(self._wake(self.clock.observe(key, event.event_time), event))
        return steps

    def tick(self, tick: Tick) -> list[Step]:
        """Another key's event moved the time of ``tick.key``'s partition: wake who is
        due there."""
        if self.clock is None:
            return []
        partition = self.clock.partition_of(tick.key)
        self.clock.tick(partition, tick.event.event_time)
        return self._wake(partition, tick.event)

    def _wake(self, partition: int, cause: TouchpointEvent) -> list[Step]:
        """Wake the keys of ``partition`` due by its fire time (the worker's inline timers)."""
        assert self.clock is not None
        at, woken = self.clock.pop_due(partition)
        steps: list[Step] = []
        for key in woken:
            states = self.states.get(key)
            if not states or at is None:
                continue
            try:
                done = driver.on_time(self.definitions, states, at)
            except Exception as exc:  # a defect: reported, the other keys go on
                self.errors.append((key, failure(exc)))
                continue
            self.states[key] = done.states
            self.clock.schedule(key, driver.due(done.states))
            if done.outcomes:
                steps.append(Step(cause, "processed", done.outcomes, kind="wake", key=key, at=at))
        return steps

    def customer_of(self, key: str) -> str:
        """The final customer of ``key``: along its links (itself when not linked)."""
        seen = {key}
        while (target := self.links.get(key)) is not None and target not in seen:
            seen.add(target)
            key = target
        return key

    def _link(self, key: str, event: TouchpointEvent) -> list[Step]:
        """Link the key ``event`` names to ``key`` (its customer, final) and merge it."""
        linked = driver.link_of(event)
        if linked is None or linked in self.links:
            return []  # no link, or linked already (the first link wins)
        self.links[linked] = key
        others = self.states.pop(linked, None)
        if self.clock is not None:
            self.clock.schedule(linked, None)
        if not others:
            return []
        at = event.event_time
        woken = driver.on_time(self.definitions, others, at)
        steps = [Step(event, "processed", woken.outcomes, kind="wake", key=linked)]
        merged = driver.on_merge(
            self.definitions, key, self.states[key], woken.states, at, event.event_id
        )
        self.states[key] = merged.states
        steps.append(
            Step(event, "processed", merged.outcomes, kind="merge", key=key, merged=linked)
        )
        return steps

    def _fanout(self, event: TouchpointEvent) -> list[Step]:
        steps: list[Step] = []
        for definition in self.definitions:
            for action in fanout_keys(definition, event):
                index_key = f"{action.index}:{action.key}"
                index = self.index.get(index_key) or FanoutIndex()
                if action.action == "publish":
                    index, derived = fanout.publish(index, action, event)
                elif action.customer_id is not None:
                    index, derived = fanout.subscribe(index, action.customer_id, event.event_time)
                else:
                    continue
                self.index[index_key] = index
                for one in derived:
                    steps.extend(replace(s, derived=True) for s in self.event(one))
        return steps

    def advance(
        self, until: datetime, keys: Iterable[str] | None = None
    ) -> Iterator[tuple[str, str, Outcome]]:
        """Fire what is due at or before ``until`` (for ``keys``, default all), keys sorted.

        Yields ``(key, journey, outcome)``; a key whose wake-up raised is left as it was
        and listed in ``errors``.
        """
        for key in sorted(self.states if keys is None else set(keys) & self.states.keys()):
            try:
                done = driver.on_time(self.definitions, self.states[key], until)
            except Exception as exc:  # a defect: reported, the other keys go on
                self.errors.append((key, failure(exc)))
                continue
            self.states[key] = done.states
            for name, outcome in done.outcomes:
                yield key, name, outcome


def event_record(
    event: TouchpointEvent, status: str, origin: str, *, show_properties: bool = False
) -> Record:
    record: Record = {
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


def deadletter_record(item: Unreadable, *, show_properties: bool = False) -> Record:
    record: Record = {
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


def error_record(step: Step, origin: str, *, show_properties: bool = False) -> Record:
    """The dead letter of an event the engine raised on (``processing_error``)."""
    raw = dumps(step.event)
    item = Unreadable(origin, PROCESSING_ERROR, step.error or "", raw)
    return deadletter_record(item, show_properties=show_properties) | {
        "time": iso(step.event.event_time)
    }


def wakeup_error_record(key: str, until: datetime | None, message: str) -> Record:
    """The dead letter of a wake-up the engine raised on (``processing_error``)."""
    origin = f"wake-up of {key}" if until is None else f"wake-up of {key} at {iso(until)}"
    return deadletter_record(Unreadable(origin, PROCESSING_ERROR, message, b"")) | {
        "time": iso(until)
    }


def delivered(outcome: Outcome) -> list[Trigger]:
    """The triggers the worker sends: holdouts never are (the engine lists them suppressed)."""
    return [t for t in outcome.triggers if not t.holdout]


def outcome_records(outcome: Outcome, customer_id: str, journey: str, at: datetime) -> list[Record]:
    """Transitions, attribute changes, triggers, suppressed triggers and notes, in
    engine-time order (stable); ``at``: the time of the call (its notes' time)."""
    return [record for _, record in _timed(outcome, customer_id, journey, at)]


def _timed(
    outcome: Outcome, customer_id: str, journey: str, at: datetime
) -> list[tuple[datetime, Record]]:
    """At one instant: transitions (a re-entry first), the attribute changes, triggers,
    suppressed triggers, then the call's notes."""
    timed: list[tuple[datetime, int, Record]] = []
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
) -> Iterator[Record]:
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
) -> Iterator[Record]:
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


def merge_record(done: Step, origin: str) -> Record:
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


def step_records(done: Step, origin: str, *, show_properties: bool = False) -> Iterator[Record]:
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
