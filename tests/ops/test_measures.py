"""The measures of a journey as metrics: entries and goals by cohort, time to goal, and
the variants experiment triggers carry; bounded labels, created at zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from journeys import Journey, step
from schemas import TouchpointEvent
from streams.ops.metrics import Metrics
from tests.ops.conftest import TriggerFactory, measured, sample

DEFINITION = """
name: ab
version: 1
stages: [new, welcomed, active]
initial_stage: new
attributes:
  activated_at: {type: datetime}
rules:
  - id: welcome
    stages: [new]
    when: {event: {type: signed_up}}
    then:
      move_to: welcomed
      emit: {kind: onboarding.welcome, experiment: copy, variants: {short: 50, long: 50}}
  - id: nudge
    goal: activated_at
    when: {inactivity: {for: 1d}}
    then: {emit: {kind: onboarding.nudge}}
  - id: activated
    when: {event: {type: key_action}}
    then:
      set: {activated_at: {event_time: true}}
      move_to: active
exits:
  - {name: subscribed, event: {type: subscription_started}, reason: goal}
guard_rails: {holdout_percent: 50}
"""
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _journey() -> Journey:
    return Journey.model_validate(yaml.safe_load(DEFINITION))


def _event(customer: str, type_: str, at: datetime) -> TouchpointEvent:
    return TouchpointEvent(
        event_id=f"{customer}-{type_}", customer_id=customer, type=type_, event_time=at
    )


def test_series_of_the_definitions_exist_at_zero() -> None:
    m = Metrics()
    m.describe_definitions([_journey()], version="1")
    for cohort in ("treated", "holdout"):
        assert sample(m, "journeys_journey_entries_total", journey="ab", cohort=cohort) == 0
        for goal in ("activated_at", "subscribed"):
            labels = {"journey": "ab", "goal": goal, "cohort": cohort}
            assert sample(m, "journeys_goals_reached_total", **labels) == 0
        for variant in ("short", "long"):
            labels = {"journey": "ab", "experiment": "copy", "variant": variant, "cohort": cohort}
            assert sample(m, "journeys_variant_assignments_total", **labels) == 0


def test_an_outcome_counts_entry_goal_time_and_variants(make_trigger: TriggerFactory) -> None:
    m = Metrics()
    m.outcome("default", measured(make_trigger), wall_now=T0)
    assert sample(m, "journeys_journey_entries_total", journey="default", cohort="holdout") == 1
    goal = {"journey": "default", "goal": "activated_at", "cohort": "treated"}
    assert sample(m, "journeys_goals_reached_total", **goal) == 1
    assert sample(m, "journeys_time_to_goal_seconds_sum", **goal) == 7200
    assert sample(m, "journeys_time_to_goal_seconds_bucket", **goal, le="21600.0") == 1
    assert sample(m, "journeys_time_to_goal_seconds_bucket", **goal, le="3600.0") == 0
    variants = "journeys_variant_assignments_total"
    sent = {"journey": "default", "experiment": "copy", "variant": "short", "cohort": "treated"}
    held = {"journey": "default", "experiment": "copy", "variant": "long", "cohort": "holdout"}
    assert sample(m, variants, **sent) == 1
    assert sample(m, variants, **held) == 1


def test_what_the_engine_returns_is_counted_by_cohort() -> None:
    """Engine outcomes of customers on both sides of the holdout, end to end."""
    journey = _journey()
    m = Metrics()
    m.describe_definitions([journey], version="1")
    cohorts = {"treated": 0, "holdout": 0}
    for i in range(40):
        customer = f"c-{i}"
        state, outcome = step(journey, None, _event(customer, "signed_up", T0))
        assert outcome.entered is not None
        cohorts[outcome.entered] += 1
        m.outcome("ab", outcome, wall_now=T0)
        later = T0 + timedelta(hours=i + 1)
        state, outcome = step(journey, state, _event(customer, "key_action", later))
        assert [(g.name, g.since_entry, g.cohort) for g in outcome.goals] == [
            ("activated_at", timedelta(hours=i + 1), outcome.goals[0].cohort)
        ]
        m.outcome("ab", outcome, wall_now=later)
    assert cohorts["treated"] and cohorts["holdout"]
    for cohort, n in cohorts.items():
        assert sample(m, "journeys_journey_entries_total", journey="ab", cohort=cohort) == n
        labels = {"journey": "ab", "goal": "activated_at", "cohort": cohort}
        assert sample(m, "journeys_goals_reached_total", **labels) == n
    variants = [
        sample(
            m,
            "journeys_variant_assignments_total",
            journey="ab",
            experiment="copy",
            variant=v,
            cohort=c,
        )
        for v in ("short", "long")
        for c in ("treated", "holdout")
    ]
    assert sum(v or 0 for v in variants) == 40
