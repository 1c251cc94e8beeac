"""The reference timer computations: every time rule recomputed from the definition's
models, exactly as ``journeys.timers`` specifies them, with no flattening and no memo.

``journeys.timers`` must give the same timers and candidates;
tests/journeys/test_timers_incremental.py checks it over random event sequences and
drawn states.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from journeys.compiled import CompiledRule, compiled
from journeys.definition import DateWhen, Journey
from journeys.state import CustomerState
from journeys.timeutil import (
    LATEST_DUE,
    local_date,
    local_instant,
    off_calendar_note,
    parse_day,
    parse_instant,
    yearly_date,
    zone,
)


class OffCalendar(Exception):
    """The date rule's value gives no due time within the engine's calendar."""


def candidate(
    definition: Journey, crule: CompiledRule, state: CustomerState, at: datetime
) -> tuple[datetime, datetime] | None:
    """(raw due time, anchor) of the rule's next occurrence, or None if not armed."""
    try:
        return _candidate(definition, crule, state, at)
    except OffCalendar:
        return None


def _candidate(
    definition: Journey, crule: CompiledRule, state: CustomerState, at: datetime
) -> tuple[datetime, datetime] | None:
    """``candidate``, raising ``OffCalendar`` for a date off the calendar."""
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
    try:
        found = _date_due(definition, when.date, crule.id, state, at)
    except (OverflowError, ValueError):
        raise OffCalendar from None
    if found is not None and found[0] >= LATEST_DUE:
        raise OffCalendar
    return found


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


def rearm(
    definition: Journey, state: CustomerState, at: datetime, notes: list[str] | None = None
) -> None:
    """Recompute ``state.timers`` (the working copy's own dict) at engine time ``at``."""
    timers = state.timers
    if state.exited_at is not None:
        timers.clear()
        return
    for crule in compiled(definition).timed:
        rid = crule.id
        try:
            found = _candidate(definition, crule, state, at)
        except OffCalendar:
            found = None
            when = crule.rule.when.date
            assert when is not None
            note = off_calendar_note(rid, when.attribute, state.attributes.get(when.attribute))
            if notes is not None and note not in notes:
                notes.append(note)
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
