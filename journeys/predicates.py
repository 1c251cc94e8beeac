"""Event matching: an event type (or types) and predicates on properties and traits.

A predicate names one value (``property: score`` or ``trait: plan``; dots walk into
nested objects) and one or more tests, all of which must hold:
``eq``, ``ne``, ``in``, ``not_in``, ``lt``, ``lte``, ``gt``, ``gte``, ``exists``.
Numeric tests hold only for numbers (JSON numbers, not booleans, not numeric strings);
``eq``/``in`` compare JSON values exactly (``1 == 1.0``, ``true != 1``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PrivateAttr, model_validator

from schemas import TouchpointEvent, normalise_event_type

_MISSING = object()
_OPS = ("eq", "ne", "in_", "not_in", "lt", "lte", "gt", "gte", "exists")


class Predicate(BaseModel):
    """One test on an event property or trait."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    property: str | None = Field(default=None, description="Property path, e.g. order.total")
    trait: str | None = Field(default=None, description="Trait path, e.g. plan")
    eq: JsonValue = None
    ne: JsonValue = None
    in_: list[JsonValue] | None = Field(default=None, alias="in")
    not_in: list[JsonValue] | None = None
    lt: float | None = None
    lte: float | None = None
    gt: float | None = None
    gte: float | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _shape(self) -> Predicate:
        if (self.property is None) == (self.trait is None):
            raise ValueError("exactly one of 'property' or 'trait' is required")
        if not any(name in self.model_fields_set for name in _OPS):
            raise ValueError(
                "needs at least one test: eq, ne, in, not_in, lt, lte, gt, gte, exists"
            )
        return self

    def holds(self, event: TouchpointEvent) -> bool:
        if self.property is not None:
            value = _lookup(event.properties, self.property)
        else:
            value = _lookup(event.traits, str(self.trait))
        fields = self.model_fields_set
        if self.exists is not None and (value is not _MISSING and value is not None) != (
            self.exists
        ):
            return False
        if value is _MISSING:
            return not (fields - {"property", "trait", "exists", "ne", "not_in"})
        if "eq" in fields and not _same(value, self.eq):
            return False
        if "ne" in fields and _same(value, self.ne):
            return False
        if self.in_ is not None and not any(_same(value, v) for v in self.in_):
            return False
        if self.not_in is not None and any(_same(value, v) for v in self.not_in):
            return False
        bounds = (self.lt, self.lte, self.gt, self.gte)
        if any(b is not None for b in bounds):
            if not _is_number(value):
                return False
            number = float(value)
            if self.lt is not None and not number < self.lt:
                return False
            if self.lte is not None and not number <= self.lte:
                return False
            if self.gt is not None and not number > self.gt:
                return False
            if self.gte is not None and not number >= self.gte:
                return False
        return True


class EventMatch(BaseModel):
    """Events of the given type(s) (any type when omitted) whose predicates all hold.

    ``matcher: NAME`` instead refers to a named list of alternatives declared in the
    definition's ``matchers`` section (any alternative matching is a match).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str | list[str] | None = Field(default=None, description="Event type(s), snake_case")
    where: list[Predicate] = Field(default_factory=list)
    matcher: str | None = Field(default=None, description="Name of a shared matcher")
    _types: frozenset[str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _shape(self) -> EventMatch:
        if self.matcher is not None and (self.type is not None or self.where):
            raise ValueError("'matcher' cannot be combined with 'type' or 'where'")
        if self.type is not None:
            names = [self.type] if isinstance(self.type, str) else self.type
            self._types = frozenset(normalise_event_type(n) for n in names)
        return self

    @property
    def types(self) -> frozenset[str] | None:
        """Normalised event types, or None for any type."""
        return self._types

    def holds(self, event: TouchpointEvent) -> bool:
        """Type and predicates (a ``matcher`` reference must be resolved by the caller)."""
        types: frozenset[str] | None = self.__pydantic_private__["_types"]  # type: ignore[index]  # declared private attribute; direct read is fast
        if types is not None and event.type not in types:
            return False
        return all(p.holds(event) for p in self.where)


def matches_any(alternatives: tuple[EventMatch, ...], event: TouchpointEvent) -> bool:
    return any(m.holds(event) for m in alternatives)


def _lookup(container: dict[str, JsonValue], path: str) -> Any:
    value: Any = container
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def lookup(container: dict[str, JsonValue], path: str) -> Any:
    """Value at a dotted path, or None when absent."""
    value = _lookup(container, path)
    return None if value is _MISSING else value
