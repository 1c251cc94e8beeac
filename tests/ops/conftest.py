"""Fixtures of the observability tests: fresh metrics, triggers and outcomes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.triggers import Cause, Trigger, trigger_id
from streams.ops.metrics import Metrics

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVENT_TYPES = ("signed_up", "key_action", "csat_submitted")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(known_event_types=EVENT_TYPES)


TriggerFactory = Callable[..., Trigger]


@pytest.fixture
def make_trigger() -> TriggerFactory:
    """Factory: ``make_trigger(kind, priority="marketing", cause_time=T0, **fields)``."""

    def make(
        kind: str, priority: str = "marketing", cause_time: datetime = T0, **fields: Any
    ) -> Trigger:
        cause = Cause(type="event", event_ids=[f"e-{kind}-{cause_time.isoformat()}"])
        values: dict[str, Any] = {
            "trigger_id": trigger_id("c-1", "default", 1, kind, cause.key),
            "customer_id": "c-1",
            "journey": "default",
            "journey_version": 1,
            "rule": kind.replace(".", "_"),
            "kind": kind,
            "priority": priority,
            "stage_before": "new",
            "stage_after": "welcomed",
            "cause": cause,
            "cause_time": cause_time,
            "emitted_at": cause_time,
        }
        values.update(fields)
        return Trigger(**values)

    return make


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def populated(make_trigger: TriggerFactory) -> Metrics:
    """A Metrics object on which every hook has been called, so every series exists."""
    from journeys.outcome import Outcome, Suppressed

    m = Metrics(known_event_types=EVENT_TYPES)
    m.event_consumed("signed_up", "processed")
    m.dead_lettered("invalid_json")
    trigger = make_trigger("onboarding.welcome")
    m.outcome(
        "default",
        Outcome(
            triggers=[trigger],
            deferred=[trigger],
            suppressed=[
                Suppressed(rule="r", kind=trigger.kind, reason="cooldown", trigger=trigger)
            ],
        ),
        wall_now=later(1),
    )
    m.outcome("default", measured(make_trigger), wall_now=later(1))
    m.step_duration(0.001)
    m.event_age(1.0)
    m.rebalance()
    m.set_stage_counts("default", {"new": 1})
    m.set_timers(1, 0)
    m.set_store(1, 1)
    m.build_info("0.1.0", {"default": 1})
    m.set_lag_source(lambda: {("t", 0): 1})
    m.set_standby_lag_source(lambda: {("t-changelog", 0): 1})
    return m


def measured(make_trigger: TriggerFactory) -> Any:
    """An outcome with an entry, a goal and experiment triggers (one sent, one held out)."""
    from journeys.outcome import Goal, Outcome, Suppressed

    sent = make_trigger("onboarding.welcome", experiment="copy", variant="short")
    held = make_trigger("onboarding.nudge", experiment="copy", variant="long", holdout=True)
    return Outcome(
        triggers=[sent],
        suppressed=[Suppressed(rule="nudge", kind=held.kind, reason="holdout", trigger=held)],
        goals=[Goal("activated_at", later(7200), timedelta(hours=2), "treated")],
        entered="holdout",
    )


def sample_names(m: Metrics) -> set[str]:
    """Every sample name the registry exposes."""
    return {s.name for family in m.registry.collect() for s in family.samples}
