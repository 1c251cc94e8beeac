"""Exact metric values after the hooks are called with real engine outcomes."""

from __future__ import annotations

import pytest

from journeys.outcome import Outcome, Suppressed
from streams.ops.metrics import Metrics
from tests.ops.conftest import T0, TriggerFactory, later, sample


def test_consumed_events_by_bounded_type_and_outcome(metrics: Metrics) -> None:
    for _ in range(3):
        metrics.event_consumed("signed_up", "processed")
    metrics.event_consumed("signed_up", "duplicate")
    metrics.event_consumed("key_action", "late")
    metrics.event_consumed("Customer 42 did a thing", "processed")
    metrics.event_consumed(None, "processed")

    def consumed(event_type: str, outcome: str) -> float | None:
        return sample(
            metrics, "journeys_events_consumed_total", event_type=event_type, outcome=outcome
        )

    assert consumed("signed_up", "processed") == 3
    assert consumed("signed_up", "duplicate") == 1
    assert consumed("key_action", "late") == 1
    assert consumed("other", "processed") == 2
    # known types start at zero, so rates and alerts see them before the first event
    assert consumed("csat_submitted", "processed") == 0
    assert consumed("csat_submitted", "dead_lettered") == 0
    assert consumed("Customer 42 did a thing", "processed") is None


def test_unknown_consumed_outcome_is_refused(metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="dead_lettered"):
        metrics.event_consumed("signed_up", "dead_lettered")
    with pytest.raises(ValueError, match="unknown consumed outcome"):
        metrics.event_consumed("signed_up", "exploded")


def test_dead_letters_by_reason_count_as_consumed(metrics: Metrics) -> None:
    metrics.dead_lettered("invalid_json")
    metrics.dead_lettered("invalid_json")
    metrics.dead_lettered("schema_violation", event_type="signed_up")
    metrics.dead_lettered("Expecting value: line 1 column 1 (char 0)")

    assert sample(metrics, "journeys_dead_letters_total", reason="invalid_json") == 2
    assert sample(metrics, "journeys_dead_letters_total", reason="schema_violation") == 1
    assert sample(metrics, "journeys_dead_letters_total", reason="other") == 1
    assert (
        sample(
            metrics, "journeys_events_consumed_total", event_type="other", outcome="dead_lettered"
        )
        == 3
    )
    assert (
        sample(
            metrics,
            "journeys_events_consumed_total",
            event_type="signed_up",
            outcome="dead_lettered",
        )
        == 1
    )


def test_outcome_counts_emitted_suppressed_deferred_and_latency(
    metrics: Metrics, make_trigger: TriggerFactory
) -> None:
    welcome = make_trigger("onboarding.welcome")
    recovery = make_trigger("recovery.bad_experience", priority="service")
    deferred = make_trigger("onboarding.nudge", deliver_after=later(8 * 3600))
    outcome = Outcome(
        triggers=[welcome, recovery, deferred],
        deferred=[deferred],
        suppressed=[
            Suppressed(rule="nudge", kind="onboarding.nudge", reason="cooldown",
                       trigger=make_trigger("onboarding.nudge")),
            Suppressed(rule="nudge", kind="onboarding.nudge", reason="frequency_cap",
                       trigger=make_trigger("onboarding.nudge")),
            Suppressed(rule="ask", kind="advocacy.review_ask", reason="holdout",
                       trigger=make_trigger("advocacy.review_ask", holdout=True)),
            Suppressed(rule="winback", kind="engagement.win_back", reason="exit",
                       trigger=make_trigger("engagement.win_back")),
        ],
    )  # fmt: skip
    metrics.outcome("default", outcome, wall_now=later(2.0))

    def emitted(kind: str, priority: str) -> float | None:
        return sample(
            metrics, "journeys_triggers_emitted_total",
            journey="default", kind=kind, priority=priority,
        )  # fmt: skip

    def suppressed(kind: str, reason: str) -> float | None:
        return sample(
            metrics, "journeys_triggers_suppressed_total",
            journey="default", kind=kind, reason=reason,
        )  # fmt: skip

    assert emitted("onboarding.welcome", "marketing") == 1
    assert emitted("recovery.bad_experience", "service") == 1
    assert emitted("onboarding.nudge", "marketing") == 1
    assert suppressed("onboarding.nudge", "quiet_hours") == 1
    assert suppressed("onboarding.nudge", "cooldown") == 1
    assert suppressed("onboarding.nudge", "frequency_cap") == 1
    assert suppressed("advocacy.review_ask", "holdout") == 1
    assert suppressed("engagement.win_back", "exit") == 1

    latency = "journeys_event_to_trigger_latency_seconds"
    assert sample(metrics, latency + "_count", journey="default") == 3
    assert sample(metrics, latency + "_sum", journey="default") == 6.0
    assert sample(metrics, latency + "_bucket", journey="default", le="1.0") == 0
    assert sample(metrics, latency + "_bucket", journey="default", le="2.5") == 3


def test_latency_of_an_event_from_the_future_is_zero(
    metrics: Metrics, make_trigger: TriggerFactory
) -> None:
    metrics.outcome("default", Outcome(triggers=[make_trigger("onboarding.welcome")]),
                    wall_now=later(-30))  # fmt: skip
    name = "journeys_event_to_trigger_latency_seconds"
    assert sample(metrics, name + "_sum", journey="default") == 0.0
    assert sample(metrics, name + "_count", journey="default") == 1


def test_an_empty_outcome_counts_nothing(metrics: Metrics) -> None:
    metrics.outcome("default", Outcome(status="duplicate"), wall_now=T0)
    assert sample(metrics, "journeys_triggers_emitted_total") is None
    assert sample(metrics, "journeys_event_to_trigger_latency_seconds_count",
                  journey="default") is None  # fmt: skip


def test_step_duration_event_age_and_rebalances(metrics: Metrics) -> None:
    metrics.step_duration(0.0003)
    with metrics.time_step():
        pass
    metrics.event_age(12.5)
    metrics.event_age(-1.0)
    metrics.rebalance()
    metrics.rebalance()

    step = "journeys_engine_step_duration_seconds"
    assert sample(metrics, step + "_count") == 2
    assert sample(metrics, step + "_bucket", le="0.0005") == 2
    assert sample(metrics, "journeys_event_age_seconds_count") == 2
    assert sample(metrics, "journeys_event_age_seconds_sum") == 12.5
    assert sample(metrics, "journeys_event_age_seconds_bucket", le="10.0") == 1
    assert sample(metrics, "journeys_rebalances_total") == 2


def test_gauges_stage_counts_timers_store(metrics: Metrics) -> None:
    metrics.set_stage_counts("default", {"new": 3, "activated": 5})
    metrics.set_stage_counts("default", {"activated": 6, "churned": 1})
    metrics.set_timers(pending=42, overdue=2)
    metrics.set_store(keys=1000, size_bytes=65536)

    assert sample(metrics, "journeys_stage_customers", journey="default", stage="activated") == 6
    assert sample(metrics, "journeys_stage_customers", journey="default", stage="churned") == 1
    assert sample(metrics, "journeys_stage_customers", journey="default", stage="new") is None
    assert sample(metrics, "journeys_timers_pending") == 42
    assert sample(metrics, "journeys_timers_overdue") == 2
    assert sample(metrics, "journeys_state_store_keys") == 1000
    assert sample(metrics, "journeys_state_store_size_bytes") == 65536


def test_consumer_lag_is_computed_at_scrape_time(metrics: Metrics) -> None:
    lags = {("j.keyed", 0): 5, ("j.keyed", 1): 0, ("j.touchpoints", 0): -3}
    metrics.set_lag_source(lambda: lags)
    name = "journeys_consumer_lag_messages"
    assert sample(metrics, name, topic="j.keyed", partition="0") == 5
    assert sample(metrics, name, topic="j.touchpoints", partition="0") == 0
    lags[("j.keyed", 0)] = 7
    assert sample(metrics, name, topic="j.keyed", partition="0") == 7


def test_a_failing_lag_source_does_not_break_the_scrape(metrics: Metrics) -> None:
    def broken() -> dict[tuple[str, int], int]:
        raise RuntimeError("consumer busy")

    metrics.set_lag_source(broken)
    text = metrics.render().decode()
    assert "# TYPE journeys_consumer_lag_messages gauge" in text
    assert "journeys_consumer_lag_messages{" not in text


def test_build_info_and_definitions(metrics: Metrics) -> None:
    metrics.build_info("0.1.0", {"default": 3, "trial": 1})
    metrics.build_info("0.1.1", {"default": 4})
    assert sample(metrics, "journeys_build_info", version="0.1.1", engine="python") == 1
    metrics.build_info("0.1.1", {"default": 4}, engine="compiled")
    assert sample(metrics, "journeys_build_info", version="0.1.1", engine="compiled") == 1
    assert sample(metrics, "journeys_build_info", version="0.1.1", engine="python") is None
    assert sample(metrics, "journeys_build_info", version="0.1.0") is None
    assert sample(metrics, "journeys_journey_definition_info", journey="default", version="4") == 1
    assert sample(metrics, "journeys_journey_definition_info", journey="trial", version="1") is None


def test_each_metrics_object_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.rebalance()
    assert sample(a, "journeys_rebalances_total") == 1
    assert sample(b, "journeys_rebalances_total") == 0


def test_render_is_the_text_exposition(metrics: Metrics) -> None:
    metrics.event_consumed("signed_up", "processed")
    text = metrics.render().decode()
    assert 'journeys_events_consumed_total{event_type="signed_up",outcome="processed"} 1.0' in text
