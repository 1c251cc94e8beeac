"""Per-customer journey state: what the stream layer stores, one value per customer.

Two forms, converted only at the edge:

* the stored form, JSON (schema version 1, laid out and validated by
  :class:`StoredState`): read with :func:`load_state`, written with :func:`dump_state`,
  the one way the stream layer turns a state into its table value;
* :class:`CustomerState`, what the engine works on: a plain slotted record holding the
  same fields as Python values (datetimes, tuples), no validation on the hot path.

The stored layout's model lives in :mod:`journeys.stored` (pydantic, never compiled);
this module is on the engine's compiled path (:mod:`journeys.native`).

Versioned: ``schema_version`` says which layout a stored value has; :func:`load_state`
runs :func:`migrate` first, so a value written by version N loads in version N+1.
Treat a state as immutable: the engine never mutates the state it is given, it returns
a new one (sharing unchanged containers with the old one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import JsonValue

from journeys.stored import STATE_SCHEMA_VERSION, StoredState

Window = list[tuple[datetime, str]]  # (event time, event id), sorted


@dataclass(init=False, slots=True)
class CustomerState:
    """One customer's position in one journey; the fields are :class:`StoredState`'s.

    ``__init__`` and :meth:`copy` are spelled out: the compiled engine makes native code
    of them, where the ``__init__`` ``dataclass`` generates stays interpreted Python."""

    schema_version: Literal[1]
    customer_id: str
    journey: str
    journey_version: int
    stage: str
    stage_entered_at: datetime
    entered_at: datetime
    entries: int
    exited_at: datetime | None
    exit_reason: Literal["goal", "exit"] | None
    exit_name: str | None
    clock: datetime
    watermark: datetime
    timezone: str | None
    attributes: dict[str, JsonValue]
    last_match: dict[str, datetime]
    windows: dict[str, Window]
    cooldowns: dict[str, datetime]
    cap_history: list[datetime]
    timers: dict[str, datetime]
    fired: dict[str, datetime]
    seen: dict[str, datetime]
    events: int
    late_events: int
    customer_cap_history: list[datetime]
    locale: str | None
    assigned_as: str | None

    def __init__(
        self,
        schema_version: Literal[1],
        customer_id: str,
        journey: str,
        journey_version: int,
        stage: str,
        stage_entered_at: datetime,
        entered_at: datetime,
        entries: int,
        exited_at: datetime | None,
        exit_reason: Literal["goal", "exit"] | None,
        exit_name: str | None,
        clock: datetime,
        watermark: datetime,
        timezone: str | None,
        attributes: dict[str, JsonValue],
        last_match: dict[str, datetime],
        windows: dict[str, Window],
        cooldowns: dict[str, datetime],
        cap_history: list[datetime],
        timers: dict[str, datetime],
        fired: dict[str, datetime],
        seen: dict[str, datetime],
        events: int,
        late_events: int,
        customer_cap_history: list[datetime],
        locale: str | None = None,
        assigned_as: str | None = None,
    ) -> None:
        self.schema_version = schema_version
        self.customer_id = customer_id
        self.journey = journey
        self.journey_version = journey_version
        self.stage = stage
        self.stage_entered_at = stage_entered_at
        self.entered_at = entered_at
        self.entries = entries
        self.exited_at = exited_at
        self.exit_reason = exit_reason
        self.exit_name = exit_name
        self.clock = clock
        self.watermark = watermark
        self.timezone = timezone
        self.attributes = attributes
        self.last_match = last_match
        self.windows = windows
        self.cooldowns = cooldowns
        self.cap_history = cap_history
        self.timers = timers
        self.fired = fired
        self.seen = seen
        self.events = events
        self.late_events = late_events
        self.customer_cap_history = customer_cap_history
        self.locale = locale
        self.assigned_as = assigned_as

    @property
    def assignment_id(self) -> str:
        """The id the customer's holdout cohort and experiment variants are decided by:
        the key the person entered the journey under (an anonymous id, when they were
        tracked before they identified), kept through merges; its own id by default."""
        return self.customer_id if self.assigned_as is None else self.assigned_as

    @property
    def exited(self) -> bool:
        return self.exited_at is not None

    def copy(self) -> CustomerState:
        """A shallow copy (containers shared: replace a container before changing it)."""
        return CustomerState(
            self.schema_version,
            self.customer_id,
            self.journey,
            self.journey_version,
            self.stage,
            self.stage_entered_at,
            self.entered_at,
            self.entries,
            self.exited_at,
            self.exit_reason,
            self.exit_name,
            self.clock,
            self.watermark,
            self.timezone,
            self.attributes,
            self.last_match,
            self.windows,
            self.cooldowns,
            self.cap_history,
            self.timers,
            self.fired,
            self.seen,
            self.events,
            self.late_events,
            self.customer_cap_history,
            self.locale,
            self.assigned_as,
        )

    def model_dump(self, *, mode: Literal["json"] = "json") -> dict[str, Any]:
        """The stored JSON, as the pydantic model gave it: kept for callers written before
        :func:`dump_state` (prefer that)."""
        if mode != "json":
            raise ValueError("a CustomerState dumps to its stored JSON only (mode='json')")
        return dump_state(self)


def migrate(obj: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored state (any known schema version) to the current layout.

    Version 1 is the first layout; a value without ``schema_version`` is version 1.
    When version 2 arrives, add ``if version == 1: ...; version = 2`` steps here.
    """
    version = obj.get("schema_version", 1)
    if version == STATE_SCHEMA_VERSION:
        return obj if "schema_version" in obj else {**obj, "schema_version": version}
    raise ValueError(f"unknown CustomerState schema_version {version!r}")


def load_state(obj: dict[str, Any]) -> CustomerState:
    """Validate a stored state (as written by :func:`dump_state`), migrating it.

    A value in the current layout exactly as :func:`dump_state` writes it (exact types,
    instants as it writes them) is read directly, about four times faster; any other
    value goes through :class:`StoredState`'s validation, which accepts what pydantic
    accepts and says what is wrong with the rest. Both give equal states
    (tests/journeys/test_state_load.py)."""
    written = _load_written(obj)
    if written is not None:
        return written
    stored = StoredState.model_validate(migrate(obj))
    return CustomerState(**{name: getattr(stored, name) for name in _NAMES})


_NAMES = tuple(CustomerState.__dataclass_fields__)


class _NotWritten(Exception):
    """A stored value is not exactly as :func:`dump_state` writes it."""


_ALWAYS: frozenset[str] = frozenset(
    (
        "schema_version",
        "customer_id",
        "journey",
        "journey_version",
        "stage",
        "stage_entered_at",
        "entered_at",
        "entries",
        "exited_at",
        "exit_reason",
        "exit_name",
        "clock",
        "watermark",
        "timezone",
        "attributes",
        "last_match",
        "windows",
        "cooldowns",
        "cap_history",
        "timers",
        "fired",
        "seen",
        "events",
        "late_events",
    )
)
_SOMETIMES: frozenset[str] = frozenset(("customer_cap_history", "locale", "assigned_as"))


def _load_written(obj: dict[str, Any]) -> CustomerState | None:
    """The state of a value exactly as :func:`dump_state` writes it, else None."""
    version = obj.get("schema_version")
    if type(version) is not int or version != STATE_SCHEMA_VERSION:
        return None
    extra = len(obj) - len(_ALWAYS)
    if extra < 0 or extra > len(_SOMETIMES):
        return None
    for key in obj:
        if key not in _ALWAYS and key not in _SOMETIMES:
            return None
    try:
        exited = obj["exited_at"]
        reason = obj["exit_reason"]
        if reason is not None and reason != "goal" and reason != "exit":
            return None
        return CustomerState(
            STATE_SCHEMA_VERSION,
            _text(obj["customer_id"]),
            _text(obj["journey"]),
            _int(obj["journey_version"]),
            _text(obj["stage"]),
            _instant(obj["stage_entered_at"]),
            _instant(obj["entered_at"]),
            _int(obj["entries"]),
            None if exited is None else _instant(exited),
            reason,
            _maybe_text(obj["exit_name"]),
            _instant(obj["clock"]),
            _instant(obj["watermark"]),
            _maybe_text(obj["timezone"]),
            _json_object(obj["attributes"]),
            _instant_map(obj["last_match"]),
            _window_map(obj["windows"]),
            _instant_map(obj["cooldowns"]),
            _instant_list(obj["cap_history"]),
            _instant_map(obj["timers"]),
            _instant_map(obj["fired"]),
            _instant_map(obj["seen"]),
            _int(obj["events"]),
            _int(obj["late_events"]),
            _instant_list(obj.get("customer_cap_history", [])),
            _maybe_text(obj.get("locale")),
            _maybe_text(obj.get("assigned_as")),
        )
    except (_NotWritten, KeyError, ValueError):
        return None


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _NotWritten
    return str(value)


def _maybe_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _NotWritten
    return int(value)


def _instant(value: Any) -> datetime:
    """An instant as :func:`json_instant` writes a UTC one: ``YYYY-MM-DDTHH:MM:SSZ`` or
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ASCII."""
    if type(value) is not str:
        raise _NotWritten
    text = str(value)
    size = len(text)
    if not (size == 20 or (size == 27 and text[19] == ".")):
        raise _NotWritten
    if not (text[10] == "T" and text[-1] == "Z" and text.isascii()):
        raise _NotWritten
    if text[4] != "-" or text[7] != "-" or text[13] != ":" or text[16] != ":":
        raise _NotWritten
    moment = datetime.fromisoformat(text)  # a ValueError: not a date (the caller's)
    if moment.tzinfo is not UTC:
        raise _NotWritten
    return moment


def _instant_map(value: Any) -> dict[str, datetime]:
    if type(value) is not dict:
        raise _NotWritten
    found: dict[str, datetime] = {}
    for key, moment in value.items():
        found[_text(key)] = _instant(moment)
    return found


def _instant_list(value: Any) -> list[datetime]:
    if type(value) is not list:
        raise _NotWritten
    return [_instant(moment) for moment in value]


def _window_map(value: Any) -> dict[str, Window]:
    if type(value) is not dict:
        raise _NotWritten
    found: dict[str, Window] = {}
    for key, hits in value.items():
        if type(hits) is not list:
            raise _NotWritten
        window: Window = []
        for hit in hits:
            if type(hit) is not list or len(hit) != 2:
                raise _NotWritten
            window.append((_instant(hit[0]), _text(hit[1])))
        found[_text(key)] = window
    return found


def _json_object(value: Any) -> dict[str, JsonValue]:
    if type(value) is not dict:
        raise _NotWritten
    return {_text(key): _json(item) for key, item in value.items()}


def _json(value: Any) -> JsonValue:
    """A copy of a JSON value (as JSON decodes: exact types only)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value  # type: ignore[no-any-return]  # one of JsonValue's scalars
    if kind is list:
        return [_json(item) for item in value]
    if kind is dict:
        return _json_object(value)
    raise _NotWritten


def dump_state(state: CustomerState) -> dict[str, Any]:
    """The stored (table) JSON of a state: fields in :class:`StoredState`'s order, instants
    as RFC 3339 UTC with ``Z``, byte for byte what the pydantic model writes."""
    iso = json_instant
    exited = state.exited_at
    stored: dict[str, Any] = {
        "schema_version": state.schema_version,
        "customer_id": state.customer_id,
        "journey": state.journey,
        "journey_version": state.journey_version,
        "stage": state.stage,
        "stage_entered_at": iso(state.stage_entered_at),
        "entered_at": iso(state.entered_at),
        "entries": state.entries,
        "exited_at": None if exited is None else iso(exited),
        "exit_reason": state.exit_reason,
        "exit_name": state.exit_name,
        "clock": iso(state.clock),
        "watermark": iso(state.watermark),
        "timezone": state.timezone,
        "attributes": json_attributes(state.attributes) if state.attributes else {},
        "last_match": _instants(state.last_match) if state.last_match else {},
        "windows": _windows(state.windows) if state.windows else {},
        "cooldowns": _instants(state.cooldowns) if state.cooldowns else {},
        "cap_history": [iso(t) for t in state.cap_history] if state.cap_history else [],
        "timers": _instants(state.timers) if state.timers else {},
        "fired": _instants(state.fired) if state.fired else {},
        "seen": _instants(state.seen) if state.seen else {},
        "events": state.events,
        "late_events": state.late_events,
    }
    if state.customer_cap_history:
        stored["customer_cap_history"] = [iso(t) for t in state.customer_cap_history]
    if state.locale is not None:
        stored["locale"] = state.locale
    if state.assigned_as is not None:
        stored["assigned_as"] = state.assigned_as
    return stored


def json_attributes(values: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Attribute values as pydantic writes them in JSON mode (a state's, a trigger's)."""
    plain = _PLAIN
    return {k: v if type(v) in plain else json_value(v) for k, v in values.items()}


def _instants(moments: dict[str, datetime]) -> dict[str, str]:
    iso = json_instant
    return {k: iso(v) for k, v in moments.items()}


def _windows(windows: dict[str, Window]) -> dict[str, list[list[str]]]:
    iso = json_instant
    return {k: [[iso(t), i] for t, i in v] for k, v in windows.items()}


_PLAIN = frozenset((str, int, bool, type(None)))  # written as they are (exact types)
_ISO: dict[datetime, str] = {}
_ISO_LIMIT = 100_000  # entries; cleared (not evicted) beyond it


def json_instant(moment: datetime) -> str:
    """``moment`` as pydantic writes a datetime in JSON mode (UTC as ``Z``). Memoized for
    UTC instants, as one instant is written many times (watermark, clock, seen ids);
    an equal instant in another zone is written with its own offset, never memoized."""
    if moment.tzinfo is not UTC:
        return _isoformat(moment)
    text = _ISO.get(moment)
    if text is None:
        if len(_ISO) >= _ISO_LIMIT:
            _ISO.clear()
        text = _ISO[moment] = _isoformat(moment)
    return text


def known_instant(moment: datetime) -> str:
    """:func:`json_instant` without remembering a new instant: for the instants of
    triggers, which are mostly the states' own (remembered when the state is written);
    remembering the others as well would fill the memo with instants written once."""
    if moment.tzinfo is UTC:
        text = _ISO.get(moment)
        if text is not None:
            return text
    return _isoformat(moment)


def _isoformat(moment: datetime) -> str:
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_SCALARS = (str, int, bool, type(None))


def json_value(value: JsonValue) -> JsonValue:
    """A JSON value as pydantic writes it in JSON mode: containers copied, non-finite
    floats as null."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def fresh_state(
    customer_id: str, journey: str, version: int, stage: str, at: datetime
) -> CustomerState:
    return CustomerState(
        STATE_SCHEMA_VERSION,  # schema_version
        customer_id,
        journey,
        version,  # journey_version
        stage,
        at,  # stage_entered_at
        at,  # entered_at
        1,  # entries
        None,  # exited_at
        None,  # exit_reason
        None,  # exit_name
        at,  # clock
        at,  # watermark
        None,  # timezone
        {},  # attributes
        {},  # last_match
        {},  # windows
        {},  # cooldowns
        [],  # cap_history
        {},  # timers
        {},  # fired
        {},  # seen
        0,  # events
        0,  # late_events
        [],  # customer_cap_history
        None,  # locale
        None,  # assigned_as
    )
