"""Engine invariants under random event sequences of the default journey (hypothesis)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys import CustomerState, Outcome, advance, default_journey, dump_state, load_state, step
from schemas import TouchpointEvent
from tests.journeys.factories import T0, make_event

J = default_journey()
CUSTOMERS = ("c-0", "c-1")  # c-1 ... any id works; holdout is part of the determinism

KINDS: list[tuple[str, dict[str, Any]]] = [
    ("signed_up", {"trial_end": "2025-03-20"}),
    ("key_action", {}),
    ("page_viewed", {}),
    ("csat_submitted", {"score": 1}),
    ("csat_submitted", {"score": 5}),
    ("nps_submitted", {"score": 10}),
    ("delivery_failed", {}),
    ("support_ticket_opened", {}),
    ("payment_failed", {}),
    ("subscription_started", {"renewal_date": "2025-04-15", "seats": 12}),
    ("order_completed", {"amount": 400}),
    ("account_closed", {}),
    ("identify", {}),
]


@st.composite
def events(draw: st.DrawFn, max_size: int = 25) -> list[TouchpointEvent]:
    """In time order (minutes apart, ties allowed), with ids that may repeat."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    gaps = draw(st.lists(st.integers(0, 6 * 24 * 60), min_size=n, max_size=n))
    out = []
    t = T0
    customer = draw(st.sampled_from(CUSTOMERS))
    for i, gap in enumerate(gaps):
        t += timedelta(minutes=gap)
        kind, props = draw(st.sampled_from(KINDS))
        dup = draw(st.integers(0, 9)) == 0 and i > 0
        zone = draw(st.sampled_from([None, "Europe/Paris", "America/New_York"]))
        event_id = f"id{draw(st.integers(0, i - 1))}" if dup else f"id{i}"
        out.append(
            make_event(
                kind,
                t,
                customer=customer,
                event_id=event_id,
                timezone=zone,
                traits={"birthday": "1990-03-05"} if kind == "identify" else None,
                **props,
            )
        )
    return out


def run(items: Sequence[TouchpointEvent | datetime]) -> tuple[CustomerState | None, list[Outcome]]:
    state: CustomerState | None = None
    outcomes = []
    for item in items:
        if isinstance(item, TouchpointEvent):
            state, outcome = step(J, state, item)
        else:
            assert state is not None
            state, outcome = advance(J, state, item)
        outcomes.append(outcome)
    return state, outcomes


def emitted(outcomes: list[Outcome]) -> list[tuple[str, str, object, str]]:
    rows: list[tuple[str, str, object, str]] = []
    for o in outcomes:
        rows += [
            (
                t.trigger_id,
                t.emitted_at.isoformat(),
                t.deliver_after and t.deliver_after.isoformat(),
                "sent",
            )
            for t in o.triggers
        ]
        rows += [
            (s.trigger.trigger_id, s.trigger.emitted_at.isoformat(), None, s.reason)
            for s in o.suppressed
        ]
    return rows


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(events())
def test_determinism(evs: list[TouchpointEvent]) -> None:
    end = evs[-1].event_time + timedelta(days=400)
    a_state, a = run([*evs, end])
    b_state, b = run([*evs, end])
    assert a_state == b_state
    assert a == b


@SETTINGS
@given(events(), st.data())
def test_duplicates_are_idempotent(evs: list[TouchpointEvent], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(evs) - 1))
    state, _ = run(evs[: index + 1])
    assert state is not None
    again, outcome = step(J, state, evs[index])
    assert outcome.status == "duplicate"
    assert again == state and outcome.triggers == [] and outcome.suppressed == []


@SETTINGS
@given(events(max_size=12), st.lists(st.integers(0, 200 * 24 * 60), min_size=1, max_size=6))
def test_advance_in_steps_equals_one_advance(evs: list[TouchpointEvent], cuts: list[int]) -> None:
    state, _ = run(evs)
    assert state is not None
    end = evs[-1].event_time + timedelta(days=200)
    one, outcome = advance(J, state, end)
    times = sorted(evs[-1].event_time + timedelta(minutes=m) for m in cuts)
    split = state
    outcomes = []
    for t in [*times, end]:
        split, o = advance(J, split, t)
        outcomes.append(o)
    assert split == one
    assert sorted(emitted(outcomes)) == sorted(emitted([outcome]))


@SETTINGS
@given(events(max_size=15), st.data())
def test_wakeups_between_in_order_events_change_nothing(
    evs: list[TouchpointEvent], data: st.DataObject
) -> None:
    """Live (wake-ups at any time up to the next event) equals replay (no wake-ups)."""
    end = evs[-1].event_time + timedelta(days=60)
    plain_state, plain = run([*evs, end])
    items: list[TouchpointEvent | datetime] = []
    previous = evs[0].event_time
    for e in evs:
        if data.draw(st.booleans()) and e.event_time > previous:
            span = int((e.event_time - previous).total_seconds())
            items.append(previous + timedelta(seconds=data.draw(st.integers(0, span))))
        items.append(e)
        previous = max(previous, e.event_time)
    live_state, live = run([*items, end])
    assert live_state == plain_state
    assert sorted(emitted(live)) == sorted(emitted(plain))


@SETTINGS
@given(events())
def test_state_stays_bounded_and_serialisable(evs: list[TouchpointEvent]) -> None:
    state, outcomes = run([*evs, evs[-1].event_time + timedelta(days=30)])
    assert state is not None
    assert load_state(dump_state(state)) == state
    assert len(state.seen) <= J.time.dedup_capacity
    horizon = state.watermark - J.time.allowed_lateness - timedelta(days=30)
    assert all(t >= horizon for hits in state.windows.values() for t, _ in hits)
    for o in outcomes:
        for t in o.triggers:
            assert t.emitted_at <= state.clock
            assert t.deliver_after is None or t.deliver_after > t.emitted_at
            assert not t.holdout
