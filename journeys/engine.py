"""The engine: ``step`` applies one event, ``advance`` lets time pass. Pure functions.

Order of work in ``step(definition, state, event)`` at event time T:

1. duplicate event id (among the recent ids kept) -> status ``duplicate``, state unchanged;
2. T older than watermark - allowed_lateness -> status ``late``, only ``late_events``
   counted;
3. a state written by another version of the journey adopts this one (``migrate``:
   each move a transition of kind ``version_upgrade``, see :func:`_adopt`; ``advance``
   too);
4. timers due at or before T fire first, each at its own due time (so inserting any
   ``advance(t)`` with t <= T before the event changes nothing: live equals replay);
5. bookkeeping: id remembered, watermark, clock, time zone (from an event not older than
   the watermark), the last match time of inactivity rules (kept as a maximum);
6. an exited customer either re-enters (re-entry policy: a fresh entry, per-entry state
   reset, per-customer state kept, see :func:`_fresh_entry`) or the event's would-be
   triggers are reported suppressed (``exit``/``goal``/``reentry``) and nothing else
   changes;
7. event and window rules whose type matches, in definition order; stage filters see the
   stage the customer was in when the event arrived;
8. threshold rules, comparing attributes before and after the event;
9. exit conditions on the event; timers re-armed.

Events within the allowed lateness (older than the clock) are applied like others with
their own event time: window counts include them at their place in time, inactivity
counts from the latest matching event time, triggers carry their event time; a timer
that already fired is not undone.
"""

from __future__ import annotations

from datetime import datetime

from journeys import wire
from journeys.compiled import CompiledRule, compiled, matches_any
from journeys.definition import Journey
from journeys.guards import CustomerCap
from journeys.outcome import Outcome, Reason, Transition
from journeys.run import Run
from journeys.state import CustomerState, fresh_state
from journeys.timers import candidate, earliest_of, next_due, rearm
from journeys.timeutil import valid_zone
from schemas import Cause, TouchpointEvent

_MAX_FIRINGS = 10_000  # per call; a safety net, progress is guaranteed by positive durations


def new_state(definition: Journey, event: TouchpointEvent) -> CustomerState:
    """A customer entering the journey with ``event``, in the initial stage.

    An event that names both the customer and an anonymous id (a sign-up from a browser
    that tracked the visitor before) assigns the cohort and variants by the anonymous
    id: that is the key the person was first seen under, whose own state (if any) the
    merge that follows brings in, so the person keeps one assignment across the merge."""
    key, at = event.key, event.event_time
    state = fresh_state(key, definition.name, definition.version, definition.initial_stage, at)
    anonymous = event.anonymous_id
    if event.customer_id is not None and anonymous is not None and anonymous != key:
        state.assigned_as = str(anonymous)
    return state


def step(
    definition: Journey,
    state: CustomerState | None,
    event: TouchpointEvent,
    *,
    bounded_lateness: bool = True,
    customer: CustomerCap | None = None,
) -> tuple[CustomerState, Outcome]:
    """Apply one event. ``state`` None: the customer is new (keyed by ``event.key``).

    ``bounded_lateness`` False: never ``late`` (fan-out derived events, which reach the
    customer long after their event time and are never derived twice). ``customer``: the
    deployment's per-customer cap and the customer's other journeys' capped triggers
    (``journeys.driver`` passes it)."""
    at = event.event_time
    fresh = state is None
    if state is None:
        state = new_state(definition, event)
    else:
        _check_journey(definition, state)
    if event.event_id in state.seen:
        return state, Outcome(status="duplicate")
    c = compiled(definition)
    if bounded_lateness and at < state.watermark - c.lateness:
        late = state.copy()
        late.late_events += 1
        return late, Outcome(status="late")
    run = Run(definition, state, customer)
    if fresh:
        run.enter()
    _adopt(run)
    _fire_due(run, at)
    _remember(run, event)
    if run.state.exited_at is not None and not _reenter(run, event):
        _blocked(run, event)
    else:
        _apply(run, event)
    return run.state, run.outcome()


def _apply(run: Run, event: TouchpointEvent) -> None:
    """Steps 7 to 9: the event's rules, thresholds, exit conditions; timers re-armed."""
    c, s, at = run.compiled, run.state, event.event_time
    for crule in c.inactivity_for(event.type):
        if crule.matches(event):
            last = s.last_match.get(crule.id)
            if last is None or at > last:
                run.own_last_match()[crule.id] = at
    watched = _watched(run)
    stage = s.stage
    for crule in c.reactive_for(event.type):
        if not crule.in_stage(stage) or not crule.matches(event):
            continue
        cause = None  # the event's own
        if crule.kind == "window":
            ids = run.window_hit(crule, at, event.event_id)
            if ids is None:
                continue
            cause = wire.event_cause(ids)
        run.fire(crule, at, cause, event)
    if watched is not None:
        _thresholds(run, watched, at, None, event)
    if s.exited_at is None:
        for cond, alternatives in c.exits:
            if matches_any(alternatives, event):
                run.exit(cond.name, cond.reason, at)
                break
    rearm(run.definition, s, s.clock, run.notes)


def advance(
    definition: Journey,
    state: CustomerState,
    now: datetime,
    *,
    customer: CustomerCap | None = None,
) -> tuple[CustomerState, Outcome]:
    """Let engine time pass up to ``now``: every timer due at or before it fires, in
    due-time order (ties: definition order), each at its own due time. ``customer`` as
    for :func:`step`."""
    _check_journey(definition, state)
    due = next_due(state)
    if now <= state.clock and (due is None or due > now):
        return state, Outcome()
    run = Run(definition, state, customer)
    _adopt(run)
    _fire_due(run, now)
    if now > run.state.clock:
        run.state.clock = now
    return run.state, run.outcome()


def _fire_due(run: Run, limit: datetime) -> None:
    d, s = run.definition, run.state
    by_id = run.compiled.by_id
    for _ in range(_MAX_FIRINGS):
        crule = earliest_of(by_id, s.timers, limit) if s.timers else None
        if crule is None:
            return
        due = s.timers.pop(crule.id)
        found = candidate(d, crule, s, due)
        run.own_fired()[crule.id] = found[1] if found is not None else due
        if due > s.clock:
            s.clock = due
        watched = _watched(run)
        cause = wire.timer_cause(crule.id, due)
        run.fire(crule, due, cause, None)
        if watched is not None:
            _thresholds(run, watched, due, cause, None)
        rearm(d, s, due, run.notes)
    run.notes.append(f"stopped after {_MAX_FIRINGS} timer firings")  # pragma: no cover


def _remember(run: Run, event: TouchpointEvent) -> None:
    c, s = run.compiled, run.state
    at = event.event_time
    seen = run.own_seen()
    seen[event.event_id] = at
    capacity = c.dedup_capacity
    if len(seen) > capacity:
        # Ids older than the lateness horizon are rejected as late anyway; beyond that,
        # keep the most recent three quarters by event time.
        horizon = max(s.watermark, at) - c.lateness
        kept = sorted(((t, i) for i, t in seen.items() if t >= horizon), reverse=True)
        kept = kept[: capacity * 3 // 4]
        s.seen = {i: t for t, i in reversed(kept)}
    zone_name = event.context.timezone
    if zone_name is not None and zone_name != s.timezone and at >= s.watermark:
        if valid_zone(zone_name):
            s.timezone = zone_name
        else:
            run.notes.append(f"unknown time zone {zone_name!r} ignored")
    locale = event.context.locale
    if locale is not None and c.keeps_locale and locale != s.locale and at >= s.watermark:
        s.locale = locale
    if at > s.watermark:
        s.watermark = at
        if s.windows:
            _prune_windows(run)
    if at > s.clock:
        s.clock = at
    s.events += 1


def _prune_windows(run: Run) -> None:
    """Drop window hits no future (non-late) event can share a window with."""
    c, s = run.compiled, run.state
    by_id = c.by_id
    for rid, hits in list(s.windows.items()):
        crule = by_id.get(rid)
        window = crule.rule.when.window if crule is not None else None
        if window is None:
            del run.own_windows()[rid]
            continue
        horizon = s.watermark - c.lateness - window.within
        if hits[0][0] < horizon:
            kept = [h for h in hits if h[0] >= horizon]
            if kept:
                run.own_windows()[rid] = kept
            else:
                del run.own_windows()[rid]


def _reenter(run: Run, event: TouchpointEvent) -> bool:
    """Whether an exited customer re-enters with this event (then it is applied)."""
    d, s = run.definition, run.state
    policy = d.guard_rails.reentry
    alternatives = run.compiled.reentry
    if policy.policy == "never" or (
        alternatives is not None and not matches_any(alternatives, event)
    ):
        return False
    at = event.event_time
    if policy.after is not None and s.exited_at is not None and at - s.exited_at < policy.after:
        return False
    stage = policy.stage or d.initial_stage
    run.transitions.append(Transition("reentry", s.stage, stage, at, "reentry"))
    _fresh_entry(run, stage, at)
    return True


def _fresh_entry(run: Run, stage: str, at: datetime) -> None:
    """A re-entry starts a new entry: what belongs to the entry starts over, what belongs
    to the customer is kept (the table in journeys/README.md, "Entry and re-entry").

    Per entry, reset: stage and its clock, entry time, exit, inactivity anchors
    (``last_match``), window counts, fired time rules (``fired``; timers are re-armed
    after the event), attributes of scope ``entry`` (the rules' goals by default, each
    unset reported as a change by rule ``reentry``). Per customer, kept: attributes of
    scope ``customer``, cooldowns, both cap histories, engine time and watermark, time
    zone, recent event ids, counters (``entries`` counts this one); the holdout bucket
    depends only on the customer id and the journey.
    """
    s = run.state
    s.stage, s.stage_entered_at, s.entered_at = stage, at, at
    s.exited_at, s.exit_reason, s.exit_name = None, None, None
    s.entries += 1
    run.enter()
    s.last_match, s.windows, s.fired = {}, {}, {}
    s.timers.clear()
    for name in run.compiled.entry_attributes:
        if s.attributes.get(name) is not None:
            run.change("reentry", name, None, at)


def _blocked(run: Run, event: TouchpointEvent) -> None:
    """Report the triggers an exited customer's event would have caused."""
    d = run.definition
    policy = d.guard_rails.reentry
    alternatives = run.compiled.reentry
    reason: Reason = run.state.exit_reason or "exit"
    stage = run.state.stage
    if policy.policy != "never" and (alternatives is None or matches_any(alternatives, event)):
        # A refused re-entry: report what re-entering would have triggered.
        reason, stage = "reentry", policy.stage or d.initial_stage
    for crule in run.compiled.reactive_for(event.type):
        emits = crule.kind == "event" and crule.emit is not None
        if emits and crule.in_stage(stage) and crule.matches(event):
            run.fire(crule, event.event_time, None, event, blocked=reason)


Watched = tuple[int, list[object]] | None  # changes so far, the watched attributes' values


def _watched(run: Run) -> Watched:
    """The threshold rules' attribute values now (before what comes next), if any."""
    thresholds = run.compiled.thresholds
    if not thresholds:
        return None
    get = run.state.attributes.get
    return len(run.changes), [get(_attr(r)) for r in thresholds]


def _thresholds(
    run: Run,
    watched: Watched,
    at: datetime,
    cause: Cause | None,
    event: TouchpointEvent | None,
) -> None:
    assert watched is not None
    count, olds = watched
    if count == len(run.changes) and True not in olds and False not in olds:
        # No attribute changed, so no number crossed anything (a boolean in a number
        # attribute, only in a hand-written state, counts as no previous value: it can).
        return
    for crule, old in zip(run.compiled.thresholds, olds, strict=True):
        when = crule.rule.when.threshold
        assert when is not None
        new = run.state.attributes.get(when.attribute)
        if not crule.in_stage(run.state.stage) or not isinstance(new, int | float):
            continue
        before = old if isinstance(old, int | float) and not isinstance(old, bool) else None
        if when.crosses == "up":
            crossed = new >= when.value and (before is None or before < when.value)
        else:
            crossed = new < when.value and before is not None and before >= when.value
        if crossed:
            run.fire(crule, at, cause, event)


def crossed_since(run: Run, olds: list[object], at: datetime, cause: Cause) -> None:
    """Fire the threshold rules (``run.compiled.thresholds``, ``olds`` one earlier value each)
    whose attribute crossed from that value to the run's state now, at ``at``: the
    threshold part of a merge step (``journeys.merge.merge_step``), with ``step``'s test."""
    if run.compiled.thresholds:
        _thresholds(run, (-1, olds), at, cause, None)  # -1: compare, whatever changed


def _attr(crule: CompiledRule) -> str:
    when = crule.rule.when.threshold
    assert when is not None
    return when.attribute


def _check_journey(definition: Journey, state: CustomerState) -> None:
    if state.journey != definition.name:
        raise ValueError(f"state of journey {state.journey!r} given to {definition.name!r}")


def _adopt(run: Run) -> None:
    """A state written under another version of the definition: adopt this version.

    The customer's stage goes where ``migrate`` maps it; a stage not mapped keeps its
    name when this version still has it, else goes to the initial stage (noted). A move
    is a transition of kind ``version_upgrade`` at the state's engine time (the last
    instant the state reflects: when the customer is next seen does not matter) and a
    stage entry like any other: inactivity since stage entry counts from it, entering an
    exit stage exits. Timers of rules that no longer exist are dropped, the rest re-armed.
    """
    d, s = run.definition, run.state
    if s.journey_version == d.version:
        return
    old, s.journey_version = s.journey_version, d.version
    stage = d.migrate.get(s.stage)
    if stage is None and s.stage not in run.compiled.stages:
        stage = d.initial_stage
        run.notes.append(
            f"stage {s.stage!r} of version {old} is not in version {d.version} and has no "
            "migrate mapping: initial stage"
        )
    if stage is not None and stage != s.stage:
        run.move("version_upgrade", stage, s.clock, "version_upgrade")
    known = run.compiled.by_id
    s.timers = {k: v for k, v in s.timers.items() if k in known}
    rearm(d, s, s.clock, run.notes)
