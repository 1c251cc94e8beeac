"""Time values of definitions (durations, local times of day) and time-zone arithmetic.

Pure functions of their arguments: nothing here reads the clock.

The engine's calendar: event times lie in the contract's range (``schemas.events``,
1970 to 2200), date rules are armed only before :data:`LATEST_DUE`, its end, and
inactivity timers are an event time plus a definition's duration, so every instant the
engine computes with stays thousands of years from ``datetime``'s limits.
Attribute values are free-form, though: a date such as ``0001-01-02`` (minus an offset)
or ``9999-12-31`` (next anniversary) gives no due time in that calendar; the rule is then
not armed and the outcome says why (:func:`off_calendar_note`), never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from schemas.events import LATEST_INSTANT

LATEST_DUE = LATEST_INSTANT
"""Date rules are armed only before this instant (no event time reaches it)."""

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DURATION_PATTERN = r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
_UNITS = (7 * 86400, 86400, 3600, 60, 1)


def parse_duration(value: Any) -> timedelta:
    """``"30d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"2w"``, ``"45s"`` to a positive timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and value and (m := _DURATION.match(value.strip())):
        seconds = sum(int(g) * u for g, u in zip(m.groups(), _UNITS, strict=True) if g)
    else:
        raise ValueError(f"bad duration {value!r}: expected e.g. 30d, 12h, 1d12h, 15m, 2w")
    if seconds <= 0:
        raise ValueError(f"bad duration {value!r}: must be positive")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, name in zip((86400, 3600, 60, 1), "dhms", strict=True):
        count, seconds = divmod(seconds, unit)
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["30d", "12h"]}),
]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_local_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (m := _CLOCK.match(value.strip())):
        return time(int(m.group(1)), int(m.group(2)))
    raise ValueError(f"bad time of day {value!r}: expected HH:MM, e.g. 09:00")


def format_local_time(value: time) -> str:
    return value.strftime("%H:%M")


LocalTime = Annotated[
    time,
    BeforeValidator(parse_local_time),
    PlainSerializer(format_local_time, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _CLOCK.pattern, "examples": ["09:00"]}),
]


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``, UTC when unknown or missing."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def valid_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def off_calendar_note(rule: str, attribute: str, raw: object) -> str:
    """The note of a date rule whose attribute value gives no computable due time."""
    return (
        f"{rule}: {attribute}: {raw!r} gives no due time within the engine's calendar "
        f"(before {LATEST_DUE:%Y-%m-%d}), not armed"
    )


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz``.

    A wall time skipped by a DST jump resolves forward (zoneinfo's fold=0 rule); a
    repeated wall time resolves to its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def yearly_date(anchor: date, year: int) -> date:
    """``anchor``'s month and day in ``year``; 29 February becomes 28 February."""
    try:
        return anchor.replace(year=year)
    except ValueError:
        return anchor.replace(year=year, day=28)


def quiet_end(moment: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """If ``moment`` falls in the quiet hours [start, end) local, the instant they end."""
    local = moment.astimezone(tz)
    clock = local.time()  # naive (``timetz`` would keep the zone)
    if start == end:
        return None
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # wraps midnight, e.g. 21:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return local_instant(end_day, end, tz)


_INSTANTS: dict[str, datetime | None] = {}
_MEMO_LIMIT = 50_000  # entries; cleared (not evicted) beyond it


def parse_instant(value: Any) -> datetime | None:
    """An ISO-8601 instant as UTC (naive means UTC); a bare date is midnight UTC; None when
    it is not one or is beyond the calendar once in UTC.

    Texts are memoized: attributes such as ``last_seen_at`` are parsed at every event."""
    if isinstance(value, str):
        if value in _INSTANTS:
            return _INSTANTS[value]
        if len(_INSTANTS) >= _MEMO_LIMIT:
            _INSTANTS.clear()
        parsed = _INSTANTS[value] = _parse_instant(value)
        return parsed
    return _parse_instant(value)


def _parse_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00: in year 10000 in UTC
        return None


def parse_day(value: Any) -> date | None:
    """A calendar date from ``YYYY-MM-DD`` or the date part of an ISO instant as written."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None
