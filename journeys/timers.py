"""Time-based rules: when each one is next due, computed from the state.

Every time rule has at most one armed due time in ``state.timers``; :func:`rearm`
recomputes them after anything that changed the state, at engine time ``at``:

- inactivity, ``since: last_event``: due = (last matching event, else stage entry) +
  ``for``; ``since: stage_entry``: due = stage entry + ``for``, disarmed once a matching
  event came at or after the stage entry. An occurrence already overdue when it becomes
  armed (a stage filter newly satisfied) is due at once (at ``at``).
- date: the attribute's date (a datetime attribute: its local date) plus
  ``offset_days`` at local ``at`` in the customer's zone. A due time already past when
  the date becomes known is stale and skipped (a renewal date set 5 days ahead does not
  fire its 30-day reminder).
- yearly: the next anniversary (years after the date's own year), at or after ``at``.

``state.fired[rule]`` holds the anchor of the last firing (inactivity: the time counted
from; date: the due time), so each occurrence fires once. Stage filters are checked when
arming; a stage change re-arms.

Two implementations give the same results: the reference (``full=True``: every rule
recomputed from the definition's models, as specified above) and the default, which
reads the rules' flattened parameters (``Compiled.timed_rules``) and memoizes the pure
date arithmetic (attribute -> local day -> due time per zone and year), so a rule whose
date inputs did not change costs a few dictionary lookups. The default runs the same
decisions in the same order; tests/journeys/test_timers_incremental.py checks, over
random event sequences, that states and outcomes are identical to the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from journeys.compiled import CompiledRule, TimedRule
from journeys.definition import DateWhen, Journey
from journeys.state import CustomerState
from journeys.timeutil import local_date, local_instant, parse_day, parse_instant, yearly_date, zone

_MEMO_LIMIT = 50_000  # entries per memo of one rule; cleared (not evicted) beyond it
V = TypeVar("V")


def candidate(
    definition: Journey,
    crule: CompiledRule,
    state: CustomerState,
    at: datetime,
    *,
    full: bool = False,
) -> tuple[datetime, datetime] | None:
    """(raw due time, anchor) of the rule's next occurrence, or None if not armed.

    ``full``: the reference computation (no flattened parameters, no memo)."""
    if not full:
        t = definition.compiled().timed_by_id.get(crule.id)
        if t is None or t.crule is not crule:
            raise ValueError(f"{crule.id!r} is not a time rule of {definition.name!r}")
        return _candidate(t, state, at)
    if not crule.in_stage(state.stage):
        return None
    when = crule.rule.when
    if when.inactivity is not None:
        last = state.last_match.get(crule.id)
        if when.inactivity.since == "stage_entry":
            if last is not None and last >= state.stage_entered_at:
                return None
            base = state.stage_entered_at
        else:
            base = last if last is not None else state.stage_entered_at
        return base + when.inactivity.for_, base
    assert when.date is not None
    return _date_due(definition, when.date, crule.id, state, at)


def _date_due(
    definition: Journey, when: DateWhen, rule: str, state: CustomerState, at: datetime
) -> tuple[datetime, datetime] | None:
    day = attribute_day(definition, state, when.attribute)
    if day is None:
        return None
    tz = zone(state.timezone)
    fired = state.fired.get(rule)
    offset = timedelta(days=when.offset_days)
    if not when.yearly:
        due = local_instant(day + offset, when.at, tz)
        return None if due == fired else (due, due)
    after = at if fired is None or fired < at else fired
    year = max(day.year + 1, local_date(after, tz).year - 1)
    for y in range(year, year + 4):
        due = local_instant(yearly_date(day, y) + offset, when.at, tz)
        if due >= at and (fired is None or due > fired):
            return due, due
    return None  # pragma: no cover - four consecutive years always hold one


def attribute_day(definition: Journey, state: CustomerState, name: str) -> date | None:
    raw = state.attributes.get(name)
    if raw is None:
        return None
    spec = definition.attributes.get(name)
    if spec is not None and spec.type == "datetime":
        moment = parse_instant(raw)
        return local_date(moment, zone(state.timezone)) if moment is not None else None
    return parse_day(raw)


def rearm(definition: Journey, state: CustomerState, at: datetime, *, full: bool = False) -> None:
    """Recompute ``state.timers`` (the working copy's own dict) at engine time ``at``.

    ``full``: the reference computation; the default gives the same timers faster."""
    if not full:
        _rearm(definition, state, at)
        return
    timers = state.timers
    if state.exited_at is not None:
        timers.clear()
        return
    for crule in definition.compiled().timed:
        rid = crule.id
        found = candidate(definition, crule, state, at)
        if found is None or state.fired.get(rid) == found[1]:
            timers.pop(rid, None)
            continue
        due = found[0]
        stored = timers.get(rid)
        if due >= at or stored == due:
            timers[rid] = due
        elif crule.kind == "inactivity":
            timers[rid] = stored if stored is not None else at
        else:
            timers.pop(rid, None)  # a date already past when it became known: stale


def _rearm(definition: Journey, state: CustomerState, at: datetime) -> None:
    """``rearm`` from the flattened rules; each decision as in the reference."""
    timers = state.timers
    if state.exited_at is not None:
        timers.clear()
        return
    fired = state.fired
    for t in definition.compiled().timed_rules:
        rid = t.id
        found = _candidate(t, state, at)
        if found is None or fired.get(rid) == found[1]:
            timers.pop(rid, None)
            continue
        due = found[0]
        stored = timers.get(rid)
        if due >= at or stored == due:
            timers[rid] = due
        elif t.inactivity:
            timers[rid] = stored if stored is not None else at
        else:
            timers.pop(rid, None)  # a date already past when it became known: stale


def _candidate(
    t: TimedRule, state: CustomerState, at: datetime
) -> tuple[datetime, datetime] | None:
    """``candidate`` from the flattened rule ``t``."""
    if t.stages is not None and state.stage not in t.stages:
        return None
    if t.inactivity:
        last = state.last_match.get(t.id)
        if t.since_entry:
            if last is not None and last >= state.stage_entered_at:
                return None
            base = state.stage_entered_at
        else:
            base = last if last is not None else state.stage_entered_at
        return base + t.for_, base
    due = _date_candidate(t, state, at)
    return None if due is None else (due, due)


def _date_candidate(t: TimedRule, state: CustomerState, at: datetime) -> datetime | None:
    """``_date_due``'s due time (its anchor is the same), memoized per raw value and zone
    when the raw value is a string (equal keys of other types can differ)."""
    raw = state.attributes.get(t.attribute)
    if raw is None:
        return None
    name = state.timezone
    memo = type(raw) is str
    day = _memo(t.days, (raw, name), memo, lambda: _day(t, raw, name))
    if day is None:
        return None

    def due_in(year: int) -> datetime:  # year 0: the one-off date
        on = yearly_date(day, year) if year else day
        return _memo(
            t.dues, (raw, name, year), memo, lambda: local_instant(on + t.offset, t.at, zone(name))
        )

    fired = state.fired.get(t.id)
    if not t.yearly:
        due = due_in(0)
        return None if due == fired else due
    after = at if fired is None or fired < at else fired
    year = max(day.year + 1, local_date(after, zone(name)).year - 1)
    for y in range(year, year + 4):
        due = due_in(y)
        if due >= at and (fired is None or due > fired):
            return due
    return None  # pragma: no cover - four consecutive years always hold one


def _memo(cache: dict[Any, V], key: object, use: bool, compute: Callable[[], V]) -> V:
    """``compute()``, kept in ``cache`` under ``key`` when ``use`` (cleared when large)."""
    if not use:
        return compute()
    if key in cache:
        return cache[key]
    if len(cache) >= _MEMO_LIMIT:
        cache.clear()
    value = cache[key] = compute()
    return value


def _day(t: TimedRule, raw: object, name: str | None) -> date | None:
    if t.datetime_attr:
        moment = parse_instant(raw)
        return local_date(moment, zone(name)) if moment is not None else None
    return parse_day(raw)


def earliest(definition: Journey, state: CustomerState, limit: datetime) -> CompiledRule | None:
    """The armed timer due first (ties: definition order), if due at or before ``limit``."""
    best: tuple[datetime, int] | None = None
    found: CompiledRule | None = None
    by_id = definition.compiled().by_id
    for rid, due in state.timers.items():
        if due > limit:
            continue
        crule = by_id.get(rid)
        if crule is None:
            continue
        key = (due, crule.index)
        if best is None or key < best:
            best, found = key, crule
    return found


def next_due(state: CustomerState) -> datetime | None:
    """When the state next needs ``advance``: the earliest armed timer, or None."""
    return min(state.timers.values(), default=None)
