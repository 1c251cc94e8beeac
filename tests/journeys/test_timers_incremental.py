"""The fast timer re-arm (flattened rules, memoized date arithmetic) against the reference.

``reference_timers.rearm`` and ``reference_timers.candidate`` are the reference
computations: every time rule recomputed from the definition's models. Over random event
sequences (out of order within the lateness, duplicates, time zones, exits and re-entries,
odd attribute values, wake-ups, merges) the engine run with the default implementation
must give exactly the same states and outcomes as the engine run with the reference.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys import CustomerState, Journey, Outcome, advance, default_journey, merge, step, timers
from journeys import engine as engine_module
from journeys.compiled import compiled
from schemas import TouchpointEvent
from tests.journeys import reference_timers
from tests.journeys.factories import (
    DATES,
    DEFAULT_KINDS,
    ODD,
    ODD_KINDS,
    T0,
    ZONES,
    make_event,
)

merge_module = importlib.import_module("journeys.merge")  # the package exports the function

DEFAULT = default_journey()


@st.composite
def stories(
    draw: st.DrawFn, kinds: list[tuple[str, dict[str, Any]]], max_size: int = 30
) -> list[TouchpointEvent | datetime]:
    """Events mostly in time order (some late, within or beyond the lateness), duplicate
    ids, zone changes, odd attribute values; wake-ups (times) between them."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    out: list[TouchpointEvent | datetime] = []
    t = T0
    for i in range(n):
        t += timedelta(minutes=draw(st.integers(0, 9 * 24 * 60)))
        when = t - timedelta(hours=draw(st.sampled_from([0, 0, 0, 5, 30, 60])))
        if i > 0 and draw(st.integers(0, 5)) == 0:
            out.append(when - timedelta(minutes=draw(st.integers(0, 3 * 24 * 60))))
        kind, props = draw(st.sampled_from(kinds))
        props = dict(props)
        if kind in ("go", "t"):
            props[kind[0]] = draw(st.sampled_from(DATES))
        for name in ("trial_end", "renewal_date"):
            if name in props and draw(st.booleans()):
                props[name] = draw(st.sampled_from(DATES))
        dup = i > 0 and draw(st.integers(0, 9)) == 0
        traits = {"birthday": draw(st.sampled_from(DATES))} if kind == "identify" else None
        out.append(
            make_event(
                kind,
                when,
                customer="c-0",
                event_id=f"id{draw(st.integers(0, i - 1))}" if dup else f"id{i}",
                timezone=draw(st.sampled_from(ZONES)),
                traits=traits,
                **props,
            )
        )
    return out


@contextmanager
def reference() -> Iterator[None]:
    """The engine with the reference (full) timer computations."""
    with (
        mock.patch.object(engine_module, "rearm", reference_timers.rearm),
        mock.patch.object(engine_module, "candidate", reference_timers.candidate),
        mock.patch.object(merge_module, "rearm", reference_timers.rearm),
    ):
        yield


def play(
    journey: Journey, items: Sequence[TouchpointEvent | datetime]
) -> tuple[list[CustomerState | None], list[dict[str, Any]]]:
    state: CustomerState | None = None
    states: list[CustomerState | None] = []
    outcomes: list[dict[str, Any]] = []
    for item in items:
        outcome: Outcome
        if isinstance(item, TouchpointEvent):
            state, outcome = step(journey, state, item)
        elif state is None:
            continue
        else:
            state, outcome = advance(journey, state, item)
        states.append(state)
        outcomes.append(asdict(outcome))
    return states, outcomes


def both(
    journey: Journey, items: Sequence[TouchpointEvent | datetime], days: int | None = None
) -> None:
    """The same states and outcomes from both implementations; with ``days``, time then
    advances that many days past the last item."""
    if days is not None:
        last = max(i.event_time if isinstance(i, TouchpointEvent) else i for i in items)
        items = [*items, last + timedelta(days=days)]
    fast = play(journey, items)
    with reference():
        ref = play(journey, items)
    assert fast[0] == ref[0]
    assert fast[1] == ref[1]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(stories(DEFAULT_KINDS), st.integers(0, 800))
def test_default_journey_same_as_reference(
    items: list[TouchpointEvent | datetime], days: int
) -> None:
    both(DEFAULT, items, days)


@SETTINGS
@given(stories(ODD_KINDS), st.integers(0, 1200))
def test_odd_definition_same_as_reference(
    items: list[TouchpointEvent | datetime], days: int
) -> None:
    both(ODD, items, days)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories(DEFAULT_KINDS, max_size=12), stories(DEFAULT_KINDS, max_size=12))
def test_merge_same_as_reference(
    a: list[TouchpointEvent | datetime], b: list[TouchpointEvent | datetime]
) -> None:
    def merged() -> tuple[CustomerState, list[CustomerState | None], list[dict[str, Any]]]:
        into, _ = play(DEFAULT, a)
        other, _ = play(DEFAULT, b)
        first, second = into[-1] if into else None, other[-1] if other else None
        if first is None or second is None:
            first = second = first or second
        assert first is not None and second is not None
        joined = merge(DEFAULT, first, second)
        state = joined
        seq: list[CustomerState | None] = []
        rows: list[dict[str, Any]] = []
        for days in (3, 40, 400):
            state, outcome = advance(DEFAULT, state, joined.clock + timedelta(days=days))
            seq.append(state)
            rows.append(asdict(outcome))
        return joined, seq, rows

    fast = merged()
    with reference():
        ref = merged()
    assert fast == ref


def test_candidate_rejects_rules_of_another_definition() -> None:
    crule = compiled(ODD).timed[0]
    state = step(DEFAULT, None, make_event("page_viewed", T0))[0]
    with pytest.raises(ValueError, match="not a time rule"):
        timers.candidate(DEFAULT, crule, state, T0)


# -- the re-arm decision itself, on states drawn from a coarse time grid -------------------
# Times on whole hours of a few days make the boundary cases (a due time equal to the
# engine time, to the stored timer or to the last firing) frequent.
GRID = [
    datetime(year, month, day, hour, tzinfo=T0.tzinfo)
    for year in (2025, 2026, 2027)
    for month, day in ((1, 1), (1, 2), (3, 2), (3, 5), (3, 17), (12, 31))
    for hour in (0, 9, 10)
]
times = st.sampled_from(GRID)


@st.composite
def states(draw: st.DrawFn, journey: Journey) -> tuple[CustomerState, datetime]:
    """A state and an engine time; timers, firings and the time are often exactly the
    rules' own due times (found with the reference) or the stage entry."""
    c = compiled(journey)
    ids = [r.id for r in c.timed]
    attrs = [n for n, spec in journey.attributes.items() if spec.type in ("date", "datetime")]
    grid_dates = [g.date().isoformat() for g in GRID[::3]] + [g.isoformat() for g in GRID[::5]]
    state = step(journey, None, make_event("nothing", draw(times), customer="c-0"))[0]
    entered = draw(times)
    state = replace(
        state,
        stage=draw(st.sampled_from(journey.stages)),
        stage_entered_at=entered,
        exited_at=draw(times) if draw(st.integers(0, 9)) == 0 else None,
        timezone=draw(st.sampled_from(ZONES)),
        attributes=draw(
            st.dictionaries(st.sampled_from(attrs), st.sampled_from(DATES + grid_dates))
        ),
        last_match=draw(
            st.dictionaries(st.sampled_from(ids), st.sampled_from([*GRID[:6], entered]))
        ),
    )
    pool = {*GRID, entered}
    for at in (draw(times), draw(times)):
        for crule in c.timed:
            found = reference_timers.candidate(journey, crule, state, at)
            if found is not None:
                pool |= {found[0], found[1]}
    values = st.sampled_from(sorted(pool))
    state = replace(
        state,
        timers=draw(st.dictionaries(st.sampled_from(ids), values)),
        fired=draw(st.dictionaries(st.sampled_from(ids), values)),
    )
    return state, draw(values)


def _decisions(journey: Journey, state: CustomerState, at: datetime) -> None:
    fast = replace(state, timers=dict(state.timers))
    ref = replace(state, timers=dict(state.timers))
    timers.rearm(journey, fast, at)
    reference_timers.rearm(journey, ref, at)
    assert fast.timers == ref.timers
    for crule in compiled(journey).timed:
        assert timers.candidate(journey, crule, state, at) == reference_timers.candidate(
            journey, crule, state, at
        )


@settings(max_examples=500, deadline=None)
@given(states(DEFAULT))
def test_rearm_decisions_default_journey(drawn: tuple[CustomerState, datetime]) -> None:
    _decisions(DEFAULT, *drawn)


@settings(max_examples=500, deadline=None)
@given(states(ODD))
def test_rearm_decisions_odd_definition(drawn: tuple[CustomerState, datetime]) -> None:
    _decisions(ODD, *drawn)
