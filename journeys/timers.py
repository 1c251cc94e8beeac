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
- a date whose due time cannot be computed within the calendar (the arithmetic leaves
  years 1 to 9999, or the due time is at or after ``timeutil.LATEST_DUE``): not armed,
  and a note (``timeutil.off_calendar_note``) is added to ``notes`` when given.

``state.fired[rule]`` holds the anchor of the last firing (inactivity: the time counted
from; date: the due time), so each occurrence fires once. Stage filters are checked when
arming; a stage change re-arms.

The implementation reads the rules' flattened parameters (``Compiled.timed_rules``) and
memoizes the pure date arithmetic (attribute -> local day -> due time per zone and
year), so a rule whose date inputs did not change costs a few dictionary lookups. A
reference implementation that recomputes every rule from the definition's models, as
specified above, lives with the tests (tests/journeys/reference_timers.py);
tests/journeys/test_timers_incremental.py checks, over random event sequences, that
states and outcomes are identical to it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from journeys.compiled import CompiledRule, TimedRule, compiled
from journeys.definition import Journey
from journeys.state import CustomerState, load_state
from journeys.stored import STATE_SCHEMA_VERSION
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

_MEMO_LIMIT = 50_000  # entries per memo of one rule; cleared (not evicted) beyond it
V = TypeVar("V")


def candidate(
    definition: Journey, crule: CompiledRule, state: CustomerState, at: datetime
) -> tuple[datetime, datetime] | None:
    """(raw due time, anchor) of the rule's next occurrence, or None if not armed."""
    t = compiled(definition).timed_by_id.get(crule.id)
    if t is None or t.crule is not crule:
        raise ValueError(f"{crule.id!r} is not a time rule of {definition.name!r}")
    return _candidate(t, state, at)


class _OffCalendar(Exception):
    """A date rule's value gives no due time within the calendar (module docstring)."""


def rearm(
    definition: Journey, state: CustomerState, at: datetime, notes: list[str] | None = None
) -> None:
    """Recompute ``state.timers`` (the working copy's own dict) at engine time ``at``.

    Every rule, every time (the decisions depend on ``at``): the rules outside the stage
    (most of them, most of the time) are only dropped, and a date rule whose attribute is
    not set has nothing to arm. Timers of the rules outside the stage go first, which
    leaves the order of the others (the stored JSON's) as rule by rule. A date rule off
    the calendar adds its note to ``notes`` (once)."""
    timers = state.timers
    if state.exited_at is not None:
        timers.clear()
        return
    outside, inside = compiled(definition).timed_in(state.stage)
    if timers:
        for rid in outside:
            if rid in timers:
                del timers[rid]
    attributes = state.attributes
    for t in inside:
        if t.inactivity:
            _arm_inactivity(t, state, at)
        elif attributes.get(t.attribute) is None:
            if t.id in timers:
                del timers[t.id]
        else:
            _arm_date(t, state, at, notes)


def _arm_inactivity(t: TimedRule, state: CustomerState, at: datetime) -> None:
    """The reference's decision for an inactivity rule in its stages."""
    rid, timers = t.id, state.timers
    last = state.last_match.get(rid)
    base = state.stage_entered_at
    if t.since_entry:
        if last is not None and last >= base:
            timers.pop(rid, None)
            return
    elif last is not None:
        base = last
    if state.fired.get(rid) == base:
        timers.pop(rid, None)
        return
    due = base + t.for_
    stored = timers.get(rid)
    if due >= at or stored == due:
        timers[rid] = due
    else:
        timers[rid] = stored if stored is not None else at


def _arm_date(t: TimedRule, state: CustomerState, at: datetime, notes: list[str] | None) -> None:
    """The reference's decision for a date rule in its stages."""
    rid, timers = t.id, state.timers
    try:
        due = _date_candidate(t, state, at)
    except _OffCalendar:
        timers.pop(rid, None)
        if notes is not None:
            note = off_calendar_note(rid, t.attribute, state.attributes.get(t.attribute))
            if note not in notes:
                notes.append(note)
        return
    if due is None or state.fired.get(rid) == due:
        timers.pop(rid, None)
    elif due >= at or timers.get(rid) == due:
        timers[rid] = due
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
    try:
        due = _date_candidate(t, state, at)
    except _OffCalendar:
        return None
    return None if due is None else (due, due)


_MISS: Any = object()


def _date_candidate(t: TimedRule, state: CustomerState, at: datetime) -> datetime | None:
    """The reference's date due time (its anchor is the same); ``_OffCalendar`` when the
    arithmetic leaves the calendar or the due time is not before ``LATEST_DUE``."""
    try:
        due = _date_due(t, state, at)
    except (OverflowError, ValueError):  # datetime's limits: years 1 to 9999
        raise _OffCalendar from None
    if due is not None and due >= LATEST_DUE:
        raise _OffCalendar
    return due


def _date_due(t: TimedRule, state: CustomerState, at: datetime) -> datetime | None:
    """The due time, memoized per raw value and zone when the raw value is a string
    (equal keys of other types can differ); may overflow."""
    raw = state.attributes.get(t.attribute)
    if raw is None:
        return None
    name = state.timezone
    memo = isinstance(raw, str)
    if isinstance(raw, str):
        key = (raw, name)
        day = t.days.get(key, _MISS)
        if day is _MISS:
            day = _remember(t.days, key, _day(t, raw, name))
    else:
        day = _day(t, raw, name)
    if day is None:
        return None
    fired = state.fired.get(t.id)
    if not t.yearly:
        due = _due(t, raw, name, day, 0, memo)
        return None if due == fired else due
    after = at if fired is None or fired < at else fired
    year = max(day.year + 1, _local_year(after, name) - 1)
    for y in range(year, year + 4):
        due = _due(t, raw, name, day, y, memo)
        if due >= at and (fired is None or due > fired):
            return due
    return None  # pragma: no cover - four consecutive years always hold one


def _due(t: TimedRule, raw: Any, name: str | None, day: date, year: int, memo: bool) -> datetime:
    """The due time of the date's occurrence in ``year`` (0: the one-off date)."""
    if memo:
        found = t.dues.get((raw, name, year))
        if found is not None:
            return found
    on = yearly_date(day, year) if year else day
    due = local_instant(on + t.offset, t.at, zone(name))
    return _remember(t.dues, (raw, name, year), due) if memo else due


def _local_year(moment: datetime, name: str | None) -> int:
    """``local_date(moment, zone(name)).year``; the zone only matters within two days of
    the turn of the year (offsets are less than a day either way)."""
    month, day = moment.month, moment.day
    if (month == 12 and day >= 30) or (month == 1 and day <= 2):
        return local_date(moment, zone(name)).year
    return moment.year


def _remember(cache: dict[Any, V], key: object, value: V) -> V:
    """``value``, kept in ``cache`` under ``key`` (the cache is cleared when large)."""
    if len(cache) >= _MEMO_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _day(t: TimedRule, raw: object, name: str | None) -> date | None:
    if t.datetime_attr:
        moment = parse_instant(raw)
        return local_date(moment, zone(name)) if moment is not None else None
    return parse_day(raw)


def earliest(definition: Journey, state: CustomerState, limit: datetime) -> CompiledRule | None:
    """The armed timer due first (ties: definition order), if due at or before ``limit``."""
    return earliest_of(compiled(definition).by_id, state.timers, limit)


def earliest_of(
    by_id: dict[str, CompiledRule], timers: dict[str, datetime], limit: datetime
) -> CompiledRule | None:
    """:func:`earliest` from the rules by id and the state's timers."""
    best: tuple[datetime, int] | None = None
    found: CompiledRule | None = None
    for rid, due in timers.items():
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


def stored_next_due(obj: dict[str, Any]) -> datetime | None:
    """:func:`next_due` of a stored state (``dump_state``'s JSON) without loading it: the
    earliest of its ``timers``, read as the current layout writes them (UTC ISO 8601).
    Any other layout is loaded (``load_state``, migrations included) to be sure."""
    timers = obj.get("timers")
    if obj.get("schema_version", 1) == STATE_SCHEMA_VERSION and isinstance(timers, dict):
        try:
            due = min(map(datetime.fromisoformat, timers.values()), default=None)
        except (TypeError, ValueError):
            due = None
        else:
            if due is None or due.tzinfo is not None:
                return due
    return next_due(load_state(obj))
