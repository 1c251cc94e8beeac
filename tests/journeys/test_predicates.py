"""Compiled predicates (one function per predicate) against the model-walking reference.

``reference_holds`` is the predicate evaluation as it was written before predicates were
compiled; over random predicates (any combination of tests, explicit nulls included)
and random events (missing, null, boolean, numeric, string and nested values) both must
agree.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from journeys.predicates import _MISSING, Predicate, _lookup, _same
from schemas import TouchpointEvent
from tests.journeys.factories import make_event


def reference_holds(p: Predicate, event: TouchpointEvent) -> bool:
    """``Predicate.holds`` as it was before it was compiled."""
    if p.property is not None:
        value = _lookup(event.properties, p.property)
    else:
        value = _lookup(event.traits, str(p.trait))
    fields = p.model_fields_set
    if p.exists is not None and (value is not _MISSING and value is not None) != p.exists:
        return False
    if value is _MISSING:
        return not (fields - {"property", "trait", "exists", "ne", "not_in"})
    if "eq" in fields and not _same(value, p.eq):
        return False
    if "ne" in fields and _same(value, p.ne):
        return False
    if p.in_ is not None and not any(_same(value, v) for v in p.in_):
        return False
    if p.not_in is not None and any(_same(value, v) for v in p.not_in):
        return False
    bounds = (p.lt, p.lte, p.gt, p.gte)
    if any(b is not None for b in bounds):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        number = float(value)
        for bound, holds in (
            (p.lt, lambda b: number < b),
            (p.lte, lambda b: number <= b),
            (p.gt, lambda b: number > b),
            (p.gte, lambda b: number >= b),
        ):
            if bound is not None and not holds(bound):
                return False
    return True


scalars = st.sampled_from([None, True, False, 0, 1, 2, 2.0, 2.5, -1, "2", "a", "b", ""])
values = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.just("b"), scalars))
paths = st.sampled_from(["a", "a.b", "c"])
numbers = st.one_of(st.none(), st.sampled_from([0, 1, 2, 2.5, -1]))
options = st.one_of(st.none(), st.lists(scalars, max_size=3))


@st.composite
def predicates(draw: st.DrawFn) -> Predicate | None:
    spec: dict[str, Any] = {draw(st.sampled_from(["property", "trait"])): draw(paths)}
    for name, strategy in (
        ("eq", values),
        ("ne", values),
        ("in", options),
        ("not_in", options),
        ("lt", numbers),
        ("lte", numbers),
        ("gt", numbers),
        ("gte", numbers),
        ("exists", st.one_of(st.none(), st.booleans())),
    ):
        if draw(st.integers(0, 3)) == 0:
            spec[name] = draw(strategy)
    try:
        return Predicate.model_validate(spec)
    except ValidationError:
        return None  # no test given


@settings(max_examples=600, deadline=None)
@given(predicates(), st.dictionaries(st.sampled_from(["a", "c"]), values), st.booleans())
def test_compiled_predicate_same_as_reference(
    predicate: Predicate | None, data: dict[str, Any], as_traits: bool
) -> None:
    if predicate is None:
        return
    event = make_event("rated", traits=data) if as_traits else make_event("rated", **data)
    assert predicate.holds(event) is reference_holds(predicate, event)
