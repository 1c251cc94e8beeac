"""Driving every journey of one customer at once: the one loop the worker and replay share.

A customer key has one state per journey definition. The stream worker's journey agent
(``streams.worker.journey_agent``) and replay (``streams.replay.timeline.Replayer``) both call these
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
* :func:`absorb`: the anonymous states of a key merged into the identified customer's
  (``merge``; a journey only the anonymous side has is taken over, re-keyed).
* :func:`link_of`: the anonymous key a processed event asks to merge, if any.
* :func:`due`: the earliest ``next_due`` over the customer's journeys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from journeys.definition import Journey
from journeys.engine import advance, step
from journeys.fanout import is_derived
from journeys.merge import merge
from journeys.outcome import Outcome, Status
from journeys.state import CustomerState
from journeys.timers import next_due
from schemas import TouchpointEvent

States = Mapping[str, CustomerState]  # journey name -> state


@dataclass(frozen=True, slots=True)
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
    status: Status = "processed"


def on_event(definitions: Sequence[Journey], states: States, event: TouchpointEvent) -> Driven:
    """Apply ``event`` to every journey of its key, in definition order."""
    new = dict(states)
    changed: list[str] = []
    outcomes: list[tuple[str, Outcome]] = []
    status: Status = "duplicate"
    for definition in definitions:
        name = definition.name
        before = new.get(name)
        after, outcome = step(
            definition, before, event, bounded_lateness=not _derived(definition, event)
        )
        if after is not before:
            new[name] = after
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
    for definition in definitions:
        name = definition.name
        state = new.get(name)
        if state is None:
            continue
        due_at = next_due(state)
        while due_at is not None and due_at <= now:
            state, outcome = advance(definition, state, now)
            new[name] = state
            if name not in changed:
                changed.append(name)
            outcomes.append((name, outcome))
            after = next_due(state)
            if after == due_at:  # no progress: never loop forever
                break
            due_at = after
    return Driven(new, tuple(changed), outcomes)


def absorb(
    definitions: Sequence[Journey], customer_id: str, into: States, other: States
) -> dict[str, CustomerState]:
    """``into`` (the customer's states) after absorbing ``other`` (an anonymous key's)."""
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
    copy = state.copy()
    copy.customer_id = customer_id
    return copy


def link_of(event: TouchpointEvent) -> str | None:
    """The anonymous key whose states a processed ``event`` merges into its customer's."""
    anonymous = event.anonymous_id
    if event.customer_id is None or anonymous is None or anonymous == event.customer_id:
        return None
    return str(anonymous)


def due(states: States) -> datetime | None:
    """The earliest due time over the customer's journeys, or None."""
    found: datetime | None = None
    for state in states.values():
        at = next_due(state)
        if at is not None and (found is None or at < found):
            found = at
    return found
