"""The timer grace in the worker: a customer's own delayed event against a timer that
another customer's event made due on the same partition (issue 22), with the counters
that tell how often the grace held a timer back and how often an event came too late
for it. The same cases in replay: ``tests/replay/test_timer_grace.py``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from journeys import default_journey, in_holdout
from schemas import codec
from schemas.events import TouchpointEvent
from schemas.triggers import Trigger
from streams.worker.due_index import DueIndex
from tests.worker.fixtures import close, processed, runtime

SIGNUP = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DUE = SIGNUP + timedelta(days=1)  # nudge_day_1


def _event(eid: str, customer: str, kind: str, at: datetime) -> bytes:
    props = {"plan": "pro"} if kind == "signed_up" else {}
    return codec.dumps(
        TouchpointEvent(
            event_id=eid, customer_id=customer, type=kind, event_time=at, properties=props
        )
    )


async def _race(grace_seconds: float, other_at: datetime) -> tuple[list[str], dict[str, float]]:
    """A signs up, B (same partition) moves the time to ``other_at``, then A's key action
    dated 2 minutes before A's nudge arrives: A's trigger kinds and the two counters."""
    rt = runtime([default_journey()], timer_grace_seconds=grace_seconds)
    a_key, b_key = [f"c{i}" for i in range(100) if not in_holdout(f"c{i}", "lifecycle", 5)][:2]
    agent = rt.registered.journey_agent
    async with agent.test_context() as a:
        for value, key in (
            (_event("a-1", a_key, "signed_up", SIGNUP), a_key),
            (_event("b-1", b_key, "login", other_at), b_key),
            (_event("a-2", a_key, "key_action", DUE - timedelta(minutes=2)), a_key),
        ):
            await a.put(value, key=key)
            await processed(rt, a)
    close(rt)
    kinds = [
        t.kind
        for t in (Trigger.model_validate_json(v) for _, v in rt.out.triggers.messages)
        if t.customer_id == a_key
    ]
    get = rt.metrics.registry.get_sample_value
    counts = {
        name: get(f"journeys_{name}_total") or 0.0
        for name in ("timer_grace_held", "events_after_timer")
    }
    return kinds, counts


def test_an_own_event_delayed_less_than_the_grace_stops_the_nudge() -> None:
    kinds, counts = asyncio.run(_race(600, DUE + timedelta(minutes=2)))
    assert kinds == ["onboarding.welcome", "onboarding.activated"]
    assert counts == {"timer_grace_held": 1.0, "events_after_timer": 0.0}


def test_without_a_grace_the_other_customers_event_fires_the_nudge_first() -> None:
    kinds, counts = asyncio.run(_race(0, DUE + timedelta(minutes=2)))
    assert kinds == ["onboarding.welcome", "onboarding.nudge_day_1", "onboarding.activated"]
    assert counts == {"timer_grace_held": 0.0, "events_after_timer": 1.0}


def test_a_delay_beyond_the_grace_is_counted() -> None:
    kinds, counts = asyncio.run(_race(600, DUE + timedelta(hours=2)))
    assert kinds == ["onboarding.welcome", "onboarding.nudge_day_1", "onboarding.activated"]
    assert counts == {"timer_grace_held": 0.0, "events_after_timer": 1.0}


def test_fire_times_trail_the_watermarks_by_the_grace() -> None:
    now = [0.0]
    index = DueIndex(
        clock="live", idle_grace_seconds=5, timer_grace_seconds=600, monotonic=lambda: now[0]
    )
    assert index.event_fire_time(0) is None
    index.observe(0, DUE)
    assert index.event_fire_time(0) == DUE - timedelta(minutes=10)
    assert index.fire_time(0, DUE) == DUE - timedelta(minutes=10)
    now[0] = 10.0  # idle: the wall clock less the idle grace, less the timer grace
    wall = DUE + timedelta(hours=1)
    assert index.fire_time(0, wall) == wall - timedelta(seconds=5) - timedelta(minutes=10)
