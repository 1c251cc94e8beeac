"""Merging two states of one journey: anonymous activity into the identified customer.

Two layers:

* :func:`merge`, the data: ``into`` (the identified customer's state) absorbing
  ``other`` (its anonymous past, or an aliased customer's), attribute by attribute by
  their declared policy, every history a union;
* :func:`merge_step`, the merge as an engine step of its own, at the time of the event
  that linked the two keys: the rules see the merged state as they see an event's
  result, and the step reports what it did like ``step`` does (an ``Outcome``):

  - a stage taken from ``other`` (the customer was still in the initial stage) is a
    transition of rule ``merge``; entering a stage that exits the journey exits it;
  - every attribute the merge set or changed is a change of rule ``merge``;
  - **threshold** rules compare the merged value with both sides' values: a rule fires
    when the merged value crossed it and neither side was past it already (anonymous
    spend 600 merged into a customer's 500 crosses a 1,000 threshold at the merge; a
    side that had crossed it fired there). Cause: the linking event, emitted at its time;
  - **window** rules: a full window made of hits of both sides (neither side had it)
    fires at the merge (cause: the window's events, as for a window completed by an
    event); ``reset`` forgets the hits;
  - time rules are re-armed from the merged state (inactivity counts from the latest
    matching event of either side; date rules from the merged dates, an occurrence
    already past skipped as for any date that becomes known late) and fire when due;
    event rules see the merged stage, attributes, cooldowns and caps from the next event.

  Triggers go through the guard rails like any other (cooldowns and cap histories of
  both sides count). The holdout cohort and the experiment variants stay those of the
  side that entered first (``CustomerState.assigned_as``: one person, one cohort, one
  variant, whichever key they were tracked under first); a change is noted.
"""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import JsonValue

from journeys import wire
from journeys.compiled import CompiledRule
from journeys.definition import Journey
from journeys.engine import crossed_since
from journeys.guards import CustomerCap
from journeys.outcome import AttributeChange, Outcome, Transition
from journeys.run import Run
from journeys.state import CustomerState
from journeys.timers import rearm
from journeys.values import combine, integral
from schemas import Cause

MERGE_RULE = "merge"  # the rule name of the merge's own transitions and changes


def _assignment(into: CustomerState, other: CustomerState) -> str | None:
    """The merged state's ``assigned_as``: the assignment of the side that entered first
    (ties: ``into``'s), so a person keeps the cohort and variants of their first entry,
    whichever key it was under; None when that is ``into``'s own id."""
    first = other if other.entered_at < into.entered_at else into
    chosen = first.assignment_id
    return None if chosen == into.customer_id else chosen


def merge_step(
    definition: Journey,
    into: CustomerState,
    other: CustomerState,
    at: datetime,
    cause: Cause,
    *,
    customer: CustomerCap | None = None,
) -> tuple[CustomerState, Outcome]:
    """``into`` absorbing ``other`` as one engine step at ``at`` (the linking event's
    time), the rules it sets off caused by ``cause`` (the linking event). ``customer``:
    the deployment's per-customer cap, as for ``step``. See the module docstring."""
    merged = merge(definition, into, other)
    run = Run(definition, merged, customer)
    s = run.state
    if s.assignment_id != into.assignment_id:
        run.notes.append(
            f"cohort and variants: assigned as {s.assignment_id!r} (its entry was the "
            f"earliest of the merged identities), no longer as {into.assignment_id!r}"
        )
    if s.stage != into.stage:
        run.transitions.append(Transition(MERGE_RULE, into.stage, s.stage, at))
        for cond in run.compiled.exits_on_entry.get(s.stage, ()):
            if s.exited_at is None:
                run.exit(cond.name, cond.reason, at)
    for name, new in s.attributes.items():
        old = into.attributes.get(name)
        if old != new or type(old) is not type(new):
            run.changes.append(AttributeChange(MERGE_RULE, name, old, new, at))
    for crule in run.compiled.reactive:
        if crule.kind == "window" and crule.in_stage(s.stage):
            _window(run, crule, into, other, at)
    crossed_since(run, [_before(r, into, other) for r in run.compiled.thresholds], at, cause)
    rearm(definition, s, s.clock, run.notes)
    return s, run.outcome()


def _before(crule: CompiledRule, into: CustomerState, other: CustomerState) -> object:
    """The value a threshold is compared from at a merge: the side nearest to crossing it
    (up: the larger number, down: the smaller), so that a side already past it stops it."""
    when = crule.rule.when.threshold
    assert when is not None
    values = [
        v
        for v in (into.attributes.get(when.attribute), other.attributes.get(when.attribute))
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if not values:
        return None
    return max(values) if when.crosses == "up" else min(values)


def _window(
    run: Run, crule: CompiledRule, into: CustomerState, other: CustomerState, at: datetime
) -> None:
    """Fire ``crule`` for the latest full window of the merged hits that holds hits of
    both sides (a window one side had alone was counted there)."""
    window = crule.rule.when.window
    hits = run.state.windows.get(crule.id)
    if window is None or not hits or len(hits) < window.count:
        return
    mine = {i for _, i in into.windows.get(crule.id, ())}
    theirs = {i for _, i in other.windows.get(crule.id, ())}
    found: list[str] | None = None
    for start in range(len(hits) - window.count + 1):
        part = hits[start : start + window.count]
        ids = [i for _, i in part]
        mixed = any(i not in mine for i in ids) and any(i not in theirs for i in ids)
        if mixed and part[-1][0] - part[0][0] <= window.within:
            found = ids
    if found is None:
        return
    if window.reset:
        del run.own_windows()[crule.id]
    run.fire(crule, at, wire.event_cause(found), None)


def merge(definition: Journey, into: CustomerState, other: CustomerState) -> CustomerState:
    """``into`` (the identified customer) absorbing ``other`` (its anonymous past).

    Identity, exit and stage are ``into``'s, except that a customer still in the initial
    stage takes ``other``'s stage. Attributes merge by their declared policy (keep: into's
    value, else other's; sum, max, min). Event ids, windows, cooldowns, cap histories and
    match times are unions (latest times win); timers are re-armed.
    """
    for s in (into, other):
        if s.journey != definition.name:
            raise ValueError(f"state of journey {s.journey!r} given to {definition.name!r}")
    attrs: dict[str, JsonValue] = dict(into.attributes)
    for name, value in other.attributes.items():
        spec = definition.attributes.get(name)
        mine = attrs.get(name)
        if mine is None or spec is None:
            attrs.setdefault(name, value)
        elif (
            spec.merge == "sum" and isinstance(mine, int | float) and isinstance(value, int | float)
        ):
            total = integral(mine + value)
            if not (isinstance(total, float) and math.isinf(total)):  # else keep into's
                attrs[name] = total
        elif spec.merge in ("max", "min"):
            attrs[name] = combine(spec.merge, mine, value, spec.type)
    take_other = into.stage == definition.initial_stage and other.stage != into.stage
    merged = into.copy()
    merged.stage = other.stage if take_other else into.stage
    merged.stage_entered_at = other.stage_entered_at if take_other else into.stage_entered_at
    merged.entered_at = min(into.entered_at, other.entered_at)
    merged.clock = max(into.clock, other.clock)
    merged.watermark = max(into.watermark, other.watermark)
    merged.timezone = into.timezone or other.timezone
    merged.locale = into.locale or other.locale
    merged.assigned_as = _assignment(into, other)
    merged.attributes = attrs
    merged.last_match = _latest(into.last_match, other.last_match)
    merged.windows = {
        k: sorted({*into.windows.get(k, ()), *other.windows.get(k, ())})
        for k in sorted(into.windows.keys() | other.windows.keys())
    }
    merged.cooldowns = _latest(into.cooldowns, other.cooldowns)
    merged.cap_history = sorted([*into.cap_history, *other.cap_history])
    merged.customer_cap_history = sorted([*into.customer_cap_history, *other.customer_cap_history])
    merged.fired = _latest(into.fired, other.fired)
    merged.seen = {**other.seen, **into.seen}
    merged.timers = {}
    merged.events = into.events + other.events
    merged.late_events = into.late_events + other.late_events
    rearm(definition, merged, merged.clock)
    return merged


def _latest(a: dict[str, datetime], b: dict[str, datetime]) -> dict[str, datetime]:
    out = dict(a)
    for k, v in b.items():
        if k not in out or v > out[k]:
            out[k] = v
    return out
