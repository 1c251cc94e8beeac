"""Attribute values: resolving a ValueSpec, coercing to the declared type, combining."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from journeys.predicates import _MISSING, lookup
from journeys.state import CustomerState, json_instant
from journeys.timeutil import parse_day, parse_instant

if TYPE_CHECKING:
    from journeys.definition import ContextField, ValueSpec
    from schemas import TouchpointEvent

_ABSENT = object()


def iso_instant(moment: datetime) -> str:
    """UTC instant in the one spelling the state uses, e.g. ``2025-01-02T03:04:05Z``."""
    return json_instant(moment if moment.tzinfo is UTC else moment.astimezone(UTC))


def source_value(
    spec: ValueSpec,
    event: TouchpointEvent | None,
    state: CustomerState,
    at: datetime,
) -> Any:
    """The raw value a spec names, or None when it is absent (no event, no property).

    ``context`` falls back to the state's last known value (kept by the engine from the
    latest event that carried one): a timer has no event, yet its message needs the
    customer's locale and time zone as much as an event's does.
    """
    if spec.event_time:
        return iso_instant(at)
    if spec.property is not None:
        return lookup(event.properties, spec.property) if event is not None else None
    if spec.trait is not None:
        return lookup(event.traits, spec.trait) if event is not None else None
    if spec.context is not None:
        return context_value(spec.context, event, state)
    if spec.attribute is not None:
        return state.attributes.get(spec.attribute)
    return spec.value


Source = Callable[["TouchpointEvent | None", CustomerState, datetime], Any]
"""``source_value`` of one spec, as a function of (event, state, time)."""


def value_source(spec: ValueSpec) -> Source:
    """``lambda event, state, at: source_value(spec, event, state, at)``, with the spec's
    branch chosen once (``journeys.compiled`` keeps one per value of a rule)."""
    if spec.event_time:
        return lambda event, state, at: iso_instant(at)
    if spec.property is not None:
        return _from_event("properties", spec.property)
    if spec.trait is not None:
        return _from_event("traits", spec.trait)
    if spec.context is not None:
        name = spec.context
        return lambda event, state, at: context_value(name, event, state)
    if spec.attribute is not None:
        attribute = spec.attribute
        return lambda event, state, at: state.attributes.get(attribute)
    value = spec.value
    return lambda event, state, at: value


def _from_event(container: str, path: str) -> Source:
    """``lookup(event.<container>, path)``, None without an event."""
    if "." in path:
        return lambda event, state, at: (
            lookup(getattr(event, container), path) if event is not None else None
        )
    missing = _MISSING

    def one(event: TouchpointEvent | None, state: CustomerState, at: datetime) -> Any:
        if event is None:
            return None
        value = getattr(event, container).get(path, missing)
        return None if value is missing else value

    return one


def context_value(
    name: ContextField, event: TouchpointEvent | None, state: CustomerState
) -> str | None:
    """The event's context field ``name``, else the customer's last known value."""
    if name == "timezone":
        own = event.context.timezone if event is not None else None
        return own if own is not None else state.timezone
    own = event.context.locale if event is not None else None
    return own if own is not None else state.locale


def coerce(value: Any, type_: str) -> JsonValue | object:
    """``value`` as the attribute type stores it, or ``_ABSENT``-like sentinel if unusable.

    number: JSON number or numeric string; string: any scalar; date: ``YYYY-MM-DD``
    (the date part of an instant as written); datetime: ISO instant, stored in UTC;
    bool: JSON boolean.
    """
    if type_ == "number":
        if isinstance(value, bool):
            return _ABSENT
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return _ABSENT
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return integral(value)
        return _ABSENT
    if type_ == "string":
        if isinstance(value, str | int | float | bool):
            return str(value) if not isinstance(value, str) else value
        return _ABSENT
    if type_ == "date":
        day = parse_day(value)
        return day.isoformat() if day is not None else _ABSENT
    if type_ == "datetime":
        moment = parse_instant(value)
        return iso_instant(moment) if moment is not None else _ABSENT
    if type_ == "bool":
        return value if isinstance(value, bool) else _ABSENT
    return _ABSENT


def unusable(value: object) -> bool:
    return value is _ABSENT


def combine(mode: str, old: JsonValue, new: JsonValue, type_: str) -> JsonValue:
    """The value to keep given ``mode`` (replace, max, min, if_unset)."""
    if old is None or mode == "replace":
        return new
    if mode == "if_unset":
        return old
    key_old, key_new = _order_key(old, type_), _order_key(new, type_)
    if key_old is None or key_new is None:
        return new
    if mode == "max":
        return new if key_new > key_old else old
    return new if key_new < key_old else old


def _order_key(value: JsonValue, type_: str) -> Any:
    if type_ == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if type_ == "datetime":
        return parse_instant(value)
    if type_ == "date":
        return parse_day(value)
    if isinstance(value, str):
        return value
    return None


def number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # the integers the JSON codec writes


def integral(value: float | int) -> float | int:
    """Whole numbers as ints (``2.0`` -> ``2``), so the stored JSON is one spelling; an
    int beyond 64 bits (a sum of huge amounts) as a float, which the codec can write."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if not _INT_MIN <= value <= _INT_MAX:
        return float(value)
    return value
