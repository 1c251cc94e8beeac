"""Prometheus naming conventions hold for every metric a worker exposes."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import TriggerFactory, populated

NAME = re.compile(r"^journeys_[a-z][a-z0-9_]*$")
NON_BASE_UNITS = ("_milliseconds", "_ms", "_microseconds", "_minutes", "_hours", "_kilobytes",
                  "_megabytes", "_percent")  # fmt: skip


EXPECTED = {
    "journeys_events_consumed": "counter",
    "journeys_dead_letters": "counter",
    "journeys_triggers_emitted": "counter",
    "journeys_triggers_suppressed": "counter",
    "journeys_rebalances": "counter",
    "journeys_touchpoints_rekeyed": "counter",
    "journeys_engine_notes": "counter",
    "journeys_timer_wakeups": "counter",
    "journeys_timer_grace_held": "counter",
    "journeys_events_after_timer": "counter",
    "journeys_erasures": "counter",
    "journeys_erasure_suppressed_events": "counter",
    "journeys_erasure_subscriptions_removed": "counter",
    "journeys_engine_step_duration_seconds": "histogram",
    "journeys_event_to_trigger_latency_seconds": "histogram",
    "journeys_event_age_seconds": "histogram",
    "journeys_consumer_lag_messages": "gauge",
    "journeys_restore_records": "counter",
    "journeys_restore_remaining_records": "gauge",
    "journeys_restore_rate_records_per_second": "gauge",
    "journeys_standby_lag_records": "gauge",
    "journeys_stage_customers": "gauge",
    "journeys_timers_pending": "gauge",
    "journeys_timers_overdue": "gauge",
    "journeys_state_store_keys": "gauge",
    "journeys_state_store_size_bytes": "gauge",
    "journeys_build_info": "gauge",
    "journeys_journey_definition_info": "gauge",
    "journeys_journey_entries": "counter",
    "journeys_goals_reached": "counter",
    "journeys_time_to_goal_seconds": "histogram",
    "journeys_variant_assignments": "counter",
}


def test_every_family_has_the_prefix_and_a_help_text(make_trigger: TriggerFactory) -> None:
    families = list(populated(make_trigger).registry.collect())
    assert {f.name: f.type for f in families} == EXPECTED
    for family in families:
        assert NAME.match(family.name), family.name
        assert family.documentation.strip(), family.name
        assert not family.name.endswith(NON_BASE_UNITS), family.name


def test_counters_end_in_total_in_the_exposition(make_trigger: TriggerFactory) -> None:
    text = populated(make_trigger).render().decode()
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE))
    counters = [name for name, kind in types.items() if kind == "counter"]
    assert len(counters) == sum(1 for kind in EXPECTED.values() if kind == "counter")
    assert all(name.endswith("_total") for name in counters), counters
    for name, kind in types.items():
        if kind != "counter":
            assert not name.endswith("_total"), name


def test_histograms_and_size_gauges_are_in_base_units(make_trigger: TriggerFactory) -> None:
    for family in populated(make_trigger).registry.collect():
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        if "size" in family.name:
            assert family.name.endswith("_bytes"), family.name


def test_no_customer_label_and_bounded_label_values(make_trigger: TriggerFactory) -> None:
    m = populated(make_trigger)
    m.event_consumed("c-123 purchased", "processed")
    for family in m.registry.collect():
        for s in family.samples:
            for label, value in s.labels.items():
                assert not label.lower().startswith(("customer", "anonymous", "user")), s
                assert "c-1" not in value and "c-123" not in value, s


def test_the_exposition_parses(make_trigger: TriggerFactory) -> None:
    text = populated(make_trigger).render().decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert "journeys_events_consumed" in names
