"""Retention of personal data: each topic's retention class, from the settings, at creation."""

from __future__ import annotations

from schemas.topics import DAY_MS, DEFAULT_RETENTION_DAYS, by_role, topic_specs
from streams.kafka.admin import new_topic
from streams.settings import Settings


def test_every_topic_has_a_retention_class_with_a_documented_default() -> None:
    specs = by_role(topic_specs("p", 4))
    classes = {role: spec.retention for role, spec in specs.items()}
    assert classes["deadletters"] == "deadletters" and classes["audit"] == "audit"
    assert classes["touchpoints"] == classes["erasures"] == classes["wakeups"] == "inputs"
    assert {classes[r] for r in specs if r.startswith("triggers")} == {"triggers"}
    assert specs["deadletters"].retention_ms == 7 * DAY_MS
    assert specs["audit"].retention_ms == DEFAULT_RETENTION_DAYS["audit"] * DAY_MS
    assert specs["erasures"].partitions == specs["keyed"].partitions == 4  # co-partitioned


def test_the_settings_retention_is_applied_when_a_topic_is_created() -> None:
    settings = Settings(retention_deadletters_days=2, retention_triggers_days=0.5)
    specs = by_role(topic_specs("p", 4))
    retention = settings.retention_days()
    letters = new_topic(specs["deadletters"], 1, retention)
    assert letters.topic_configs == {"cleanup.policy": "delete", "retention.ms": str(2 * DAY_MS)}
    family = new_topic(specs["triggers.onboarding"], 1, retention)
    assert family.topic_configs["retention.ms"] == str(DAY_MS // 2)
    assert new_topic(specs["audit"], 3).topic_configs["retention.ms"] == str(1095 * DAY_MS)


def test_changelogs_keep_tombstones_a_day_and_compact_erased_values_within_a_week() -> None:
    assert Settings().changelog_configs() == {
        "min.insync.replicas": "1",
        "delete.retention.ms": str(DAY_MS),
        "max.compaction.lag.ms": str(7 * DAY_MS),
    }
