"""Driving every journey of one customer at once: the one loop the worker and replay share.

A customer key has one state per journey definition. The stream worker's journey agent
(``streams.worker.journey_agent``) and replay (``journeys.replayer.Replayer``) both call these
functions, so "every definition, in order; combined status; wake what is due" is written
once. Pure like the rest of :mod:`journeys`: no I/O, no clock.

* :func:`on_event`: ``step`` for every definition, in definition order; the combined
  status is the first one that is not ``duplicate``. An event derived by a fan-out
  publication (``journeys.fanout.is_derived``) is never ``late``: it carries the
  publication's event time but reaches its customer through the index (two hops in the
  worker, possibly long after the customer's own later events), so ``allowed_lateness``
  would drop it live and not in replay. The fan-out index derives each (publication,
  customer) pair at most once, so the duplicate-id window is not needed for it.
* :func:`on_time`: ``advance`` for every definition whose ``next_due`` is at or before
  ``now`` (again while a call made progress and something is still due).
* both enforce the deployment's per-customer frequency cap (:func:`customer_cap`: the
  ``deployment.frequency_cap`` of the definitions), over the triggers of every journey:
  each journey's engine call is given the capped triggers the customer's other journeys
  sent (their ``customer_cap_history``, as they are at that point of the loop). Within
  one call, the journeys' timers due by then fire first, in due-time order across the
  journeys, so which trigger takes the last place in a window does not depend on when
  the key was woken (live) or not (replay); triggers of one instant go in definition
  order. The worker and replay both come through here, so they enforce it identically.
* :func:`on_merge`: the states of a linked key (anonymous, or a customer aliased to
  another) merged into the customer's as an engine step of its own
  (``journeys.merge.merge_step``: thresholds crossed and windows completed by the merge
  fire, with their transition, change and trigger records; a journey only the linked
  side has is taken over, re-keyed). :func:`absorb` is its data part alone (the states).
* :func:`link_of`: the key a processed event links to its customer (its anonymous id,
  or a Segment ``alias``'s ``previousId``), if any.
* :func:`forwarded`: an event read for a linked key, as the final customer processes it.
* :func:`due`: the earliest ``next_due`` over the customer's journeys.
* :func:`overtaken`: whether a wake-up already moved the customer past an event's time
  (the stream layer counts such events).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from journeys.compiled import compiled
from journeys.definition import FrequencyCap, Journey
from journeys.engine import advance, step
from journeys.fanout import for_customer, is_derived
from journeys.guards import CustomerCap
from journeys.merge import merge, merge_step
from journeys.outcome import Outcome, Status
from journeys.state import CustomerState
from journeys.timers import next_due
from journeys.wire import event_cause
from schemas import TouchpointEvent

States = Mapping[str, CustomerState]  # journey name -> state


@dataclass(init=False, slots=True)
class Driven:
    """What one event or one wake-up did to a customer's journeys.

    ``states``: every journey's state afterwards (journeys not touched keep their state
    object); ``changed``: the names whose state object is new; ``outcomes``: one entry per
    engine call, in call order (``on_time`` may call ``advance`` more than once per
    journey); ``status``: the combined status of an event (``processed`` for time).
    """

    states: dict[str, CustomerState]
    changed: tuple[str, ...]
    outcomes: list[tuple[str, Outcome]]
    status: Status

    def __init__(
        self,
        states: dict[str, CustomerState],
        changed: tuple[str, ...],
        outcomes: list[tuple[str, Outcome]],
        status: Status = "processed",
    ) -> None:  # spelled out for the compiled engine (see journeys.outcome)
        self.states = states
        self.changed = changed
        self.outcomes = outcomes
        self.status = status


def on_event(definitions: Sequence[Journey], states: States, event: TouchpointEvent) -> Driven:
    """Apply ``event`` to every journey of its key, in definition order (with the
    deployment's cap and several journeys, their timers due by the event's time first,
    across journeys in due-time order: :func:`_in_due_order`)."""
    new = dict(states)
    changed: list[str] = []
    outcomes: list[tuple[str, Outcome]] = []
    status: Status = "duplicate"
    cap = customer_cap(definitions)
    if cap is not None and len(definitions) > 1:
        _in_due_order(definitions, new, event.event_time, cap, changed, outcomes)
    for definition in definitions:
        name = definition.name
        before = new.get(name)
        after, outcome = step(
            definition,
            before,
            event,
            bounded_lateness=not _derived(definition, event),
            customer=None if cap is None else _sent_elsewhere(cap, new, name),
        )
        if after is not before:
            new[name] = after
            if name not in changed:
                changed.append(name)
        outcomes.append((name, outcome))
        if status == "duplicate" and outcome.status != "duplicate":
            status = outcome.status
    return Driven(new, tuple(changed), outcomes, status)


def _derived(definition: Journey, event: TouchpointEvent) -> bool:
    """Whether ``event`` is a fan-out derived event (stepped with no lateness bound)."""
    return "fanout_index" in event.properties and is_derived(definition, event)


def on_time(definitions: Sequence[Journey], states: States, now: datetime) -> Driven:
    """Fire every timer due at or before ``now``; journeys with nothing due are left alone."""
    new = dict(states)
    changed: list[str] = []
    outcomes: list[tuple[str, Outcome]] = []
    cap = customer_cap(definitions)
    if cap is not None and len(definitions) > 1:
        return _on_time_in_due_order(definitions, new, now, cap)
    for definition in definitions:
        name = definition.name
        state = new.get(name)
        if state is None:
            continue
        due_at = next_due(state)
        while due_at is not None and due_at <= now:
            others = None if cap is None else _sent_elsewhere(cap, new, name)
            state, outcome = advance(definition, state, now, customer=others)
            new[name] = state
            if name not in changed:
                changed.append(name)
            outcomes.append((name, outcome))
            after = next_due(state)
            if after == due_at:  # no progress: never loop forever
                break
            due_at = after
    return Driven(new, tuple(changed), outcomes)


_NOTHING = Outcome()


def _on_time_in_due_order(
    definitions: Sequence[Journey], new: dict[str, CustomerState], now: datetime, cap: FrequencyCap
) -> Driven:
    """``on_time`` with the deployment's cap over several journeys: timers in due-time
    order across them, then each journey woken brought to ``now`` (as ``advance(now)``
    leaves it)."""
    changed: list[str] = []
    outcomes: list[tuple[str, Outcome]] = []
    for name in _in_due_order(definitions, new, now, cap, changed, outcomes):
        definition = next(d for d in definitions if d.name == name)
        shared = _sent_elsewhere(cap, new, name)
        new[name], outcome = advance(definition, new[name], now, customer=shared)
        if outcome != _NOTHING:  # normally only the clock moved to ``now``
            outcomes.append((name, outcome))
    return Driven(new, tuple(changed), outcomes)


def _in_due_order(
    definitions: Sequence[Journey],
    new: dict[str, CustomerState],
    limit: datetime,
    cap: FrequencyCap,
    changed: list[str],
    outcomes: list[tuple[str, Outcome]],
) -> list[str]:
    """Fire every journey's timers due at or before ``limit``, earliest first across the
    journeys (ties: definition order), each journey advanced to its own next due time;
    returns the journeys woken. ``new``, ``changed`` and ``outcomes`` are updated.

    With a per-customer cap, the journey whose trigger takes the last place in a window
    must not depend on when the stream layer woke the key: the worker wakes it at
    partition watermarks, replay from a file at the next event only. In due-time order
    the result is the same however the wake-ups fall (one journey alone already is:
    ``step`` fires its own timers in due-time order first).
    """
    woken: list[str] = []
    stuck: set[str] = set()
    while (found := _earliest(definitions, new, limit, stuck)) is not None:
        due_at, definition = found
        name = definition.name
        shared = _sent_elsewhere(cap, new, name)
        state, outcome = advance(definition, new[name], due_at, customer=shared)
        new[name] = state
        for names in (changed, woken):
            if name not in names:
                names.append(name)
        outcomes.append((name, outcome))
        if next_due(state) == due_at:  # no progress: never loop forever
            stuck.add(name)
    return woken


def _earliest(
    definitions: Sequence[Journey], states: States, limit: datetime, skip: set[str]
) -> tuple[datetime, Journey] | None:
    """The journey due first at or before ``limit`` (ties: definition order), and when."""
    found: tuple[datetime, Journey] | None = None
    for definition in definitions:
        state = states.get(definition.name)
        if state is None or definition.name in skip:
            continue
        due_at = next_due(state)
        if due_at is not None and due_at <= limit and (found is None or due_at < found[0]):
            found = (due_at, definition)
    return found


def customer_cap(definitions: Sequence[Journey]) -> FrequencyCap | None:
    """The deployment's per-customer cap: the first ``deployment.frequency_cap`` among
    ``definitions`` (``journeys.loader.load_definitions`` refuses two different ones)."""
    for definition in definitions:
        cap = compiled(definition).deployment_cap
        if cap is not None:
            return cap
    return None


def _sent_elsewhere(cap: FrequencyCap, states: States, name: str) -> CustomerCap:
    """``cap`` with the capped triggers of the customer's journeys other than ``name``
    (journeys no longer deployed included: what they sent was sent)."""
    others = tuple(
        moment
        for journey, state in states.items()
        if journey != name
        for moment in state.customer_cap_history
    )
    return CustomerCap(cap, others)


def on_merge(
    definitions: Sequence[Journey],
    customer_id: str,
    into: States,
    other: States,
    at: datetime,
    event_id: str,
) -> Driven:
    """``into`` (the customer's states) absorbing ``other`` (a linked key's) as one engine
    step per journey at ``at``, the time of the linking event ``event_id`` (the cause of
    what the merge sets off); with the deployment's cap, each journey's step is given
    the capped triggers of the others (as they are at that point of the loop)."""
    new = dict(into)
    changed: list[str] = []
    outcomes: list[tuple[str, Outcome]] = []
    cap = customer_cap(definitions)
    cause = event_cause([event_id])
    for definition in definitions:
        name = definition.name
        theirs = other.get(name)
        if theirs is None:
            continue
        mine = new.get(name)
        if mine is None:
            new[name] = _rekeyed(theirs, customer_id)
        else:
            shared = None if cap is None else _sent_elsewhere(cap, new, name)
            new[name], outcome = merge_step(definition, mine, theirs, at, cause, customer=shared)
            outcomes.append((name, outcome))
        changed.append(name)
    return Driven(new, tuple(changed), outcomes)


def absorb(
    definitions: Sequence[Journey], customer_id: str, into: States, other: States
) -> dict[str, CustomerState]:
    """``into`` (the customer's states) after absorbing ``other`` (an anonymous key's):
    the data part of :func:`on_merge` alone (no rule is evaluated)."""
    new = dict(into)
    for definition in definitions:
        theirs = other.get(definition.name)
        if theirs is None:
            continue
        mine = new.get(definition.name)
        new[definition.name] = (
            _rekeyed(theirs, customer_id) if mine is None else merge(definition, mine, theirs)
        )
    return new


def _rekeyed(state: CustomerState, customer_id: str) -> CustomerState:
    """``state`` taken over by ``customer_id``, keeping the cohort and variants it was
    assigned under its own key."""
    copy = state.copy()
    assignment = state.assignment_id
    copy.customer_id = customer_id
    copy.assigned_as = None if assignment == customer_id else assignment
    return copy


def link_of(event: TouchpointEvent) -> str | None:
    """The key a processed ``event`` links to its customer: its anonymous id (Segment
    ``identify``, any event carrying both ids) or an ``alias``'s ``previousId`` (mapped to
    ``anonymous_id``: a user id linked to another user id). That key's states are merged
    into the customer's, and its later events are the customer's (:func:`forwarded`)."""
    anonymous = event.anonymous_id
    if event.customer_id is None or anonymous is None or anonymous == event.customer_id:
        return None
    return str(anonymous)


def forwarded(event: TouchpointEvent, customer_id: str) -> TouchpointEvent:
    """``event``, read for a key linked to ``customer_id``, as that customer processes it.

    Its key becomes the customer id. An event with no customer id (anonymous) loses its
    anonymous id: that link is known, the event states no new one; an event with one
    (``{customer: C, anonymous: A}`` where C is linked on to D) keeps the link it states,
    now from D. An event a fan-out publication derived for the linked key becomes the
    event it derives for the customer (``journeys.fanout.for_customer``), so that a
    subscription made anonymously reaches the customer once."""
    derived = for_customer(event, customer_id)
    if derived is not None:
        return derived
    if event.customer_id is None:
        return event.model_copy(update={"customer_id": customer_id, "anonymous_id": None})
    return event.model_copy(update={"customer_id": customer_id})


def overtaken(states: States, event_time: datetime) -> bool:
    """Whether a wake-up already moved the customer's time past ``event_time``: some
    journey's engine time (``clock``) is later than both the event and the latest event
    it applied (``watermark``), so a timer fired in between (the event was delayed longer
    than the stream layer's timer grace). The event is still applied at its own time."""
    return any(s.clock > s.watermark and s.clock > event_time for s in states.values())


def due(states: States) -> datetime | None:
    """The earliest due time over the customer's journeys, or None."""
    found: datetime | None = None
    for state in states.values():
        at = next_due(state)
        if at is not None and (found is None or at < found):
            found = at
    return found
