"""Event matching: an event type (or types) and predicates on properties and traits.

A predicate names one value (``property: score`` or ``trait: plan``; dots walk into
nested objects) and one or more tests, all of which must hold:
``eq``, ``ne``, ``in``, ``not_in``, ``lt``, ``lte``, ``gt``, ``gte``, ``exists``.
Numeric tests hold only for numbers (JSON numbers, not booleans, not numeric strings);
``eq``/``in`` compare JSON values exactly (``1 == 1.0``, ``true != 1``).
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PrivateAttr, model_validator

from schemas import TouchpointEvent, normalise_event_type

_MISSING = object()
_OPS = ("eq", "ne", "in_", "not_in", "lt", "lte", "gt", "gte", "exists")
# The tests that a missing value passes (besides ``exists: false``): every other test
# given, even as null, fails it.
_PASS_WHEN_MISSING = frozenset(("property", "trait", "exists", "ne", "not_in"))

Check = Callable[[TouchpointEvent], bool]  # a compiled predicate
Test = Callable[[Any], bool]  # one test on a present value


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
    _check: Check | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _shape(self) -> Predicate:
        if (self.property is None) == (self.trait is None):
            raise ValueError("exactly one of 'property' or 'trait' is required")
        if not any(name in self.model_fields_set for name in _OPS):
            raise ValueError(
                "needs at least one test: eq, ne, in, not_in, lt, lte, gt, gte, exists"
            )
        self._check = compile_predicate(self)
        return self

    @builtins.property  # ``property`` is a field here
    def check(self) -> Check:
        """The predicate as a plain function of the event (compiled once)."""
        check: Check = self.__pydantic_private__["_check"]  # type: ignore[index]  # declared private attribute; direct read is fast
        return check

    def holds(self, event: TouchpointEvent) -> bool:
        return self.check(event)


def compile_predicate(p: Predicate) -> Check:
    """``p`` as one function: look the value up, then run the tests given."""
    get = _getter("properties" if p.property is not None else "traits", p.property or p.trait)
    exists = p.exists
    missing_ok = not (p.model_fields_set - _PASS_WHEN_MISSING)
    tests = _tests(p)

    def check(event: TouchpointEvent) -> bool:
        value = get(event)
        if exists is not None and (value is not _MISSING and value is not None) != exists:
            return False
        if value is _MISSING:
            return missing_ok
        for test in tests:  # noqa: SIM110  a loop: no generator per call (hot path)
            if not test(value):
                return False
        return True

    return check


def _getter(container: str, path: str | None) -> Callable[[TouchpointEvent], Any]:
    """The value at a dotted path of the event's properties or traits, or ``_MISSING``."""
    parts = str(path).split(".")
    if len(parts) == 1:
        (name,) = parts
        return lambda event: getattr(event, container).get(name, _MISSING)
    return lambda event: _walk(getattr(event, container), parts)


def _tests(p: Predicate) -> tuple[Test, ...]:
    """The tests given, each as a function of a present value."""
    fields = p.model_fields_set
    tests = [_EQUALITY[op](getattr(p, op)) for op in ("eq", "ne") if op in fields]
    tests += [_MEMBERSHIP[op](v) for op in ("in_", "not_in") if (v := getattr(p, op)) is not None]
    tests += [_bound(op, v) for op in _BOUNDS if (v := getattr(p, op)) is not None]
    return tuple(tests)


def _eq(expected: Any) -> Test:
    return lambda value: _same(value, expected)


def _ne(expected: Any) -> Test:
    return lambda value: not _same(value, expected)


def _in(options: list[JsonValue]) -> Test:
    return lambda value: any(_same(value, v) for v in options)


def _not_in(options: list[JsonValue]) -> Test:
    return lambda value: not any(_same(value, v) for v in options)


def _bound(op: str, limit: float) -> Test:
    """A numeric test: it holds only for numbers (JSON numbers, not booleans)."""
    compare = _BOUNDS[op]
    return lambda value: _is_number(value) and compare(float(value), limit)


_EQUALITY: dict[str, Callable[[Any], Test]] = {"eq": _eq, "ne": _ne}
_MEMBERSHIP: dict[str, Callable[[list[JsonValue]], Test]] = {"in_": _in, "not_in": _not_in}
_BOUNDS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


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
    return _walk(container, path.split("."))


def _walk(container: dict[str, JsonValue], parts: list[str]) -> Any:
    value: Any = container
    for part in parts:
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
