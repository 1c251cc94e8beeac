"""promtool checks of the scrape config and alert rules, and the rules' unit tests."""

from __future__ import annotations

import re

import yaml

from tests.ops.conftest import TriggerFactory, populated, sample_names
from tests.ops.prom import PROMETHEUS_DIR, promtool

EXPECTED_ALERTS = {
    "JourneysWorkerDown",
    "JourneysConsumerLagGrowing",
    "JourneysDeadLetterRateHigh",
    "JourneysNoEvents",
    "JourneysTriggersStalled",
    "JourneysTimersOverdue",
}


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in result.stdout


def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def _alerts() -> list[dict[str, object]]:
    doc = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_required_alert_is_there_with_severity_and_summary() -> None:
    rules = _alerts()
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "warning"}, rule  # type: ignore[index]
        assert rule["annotations"]["summary"], rule  # type: ignore[index]


def test_every_alert_tested(make_trigger: TriggerFactory) -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for t in tests for case in t.get("alert_rule_test", [])}
    assert tested == EXPECTED_ALERTS


def test_rules_reference_only_metrics_that_exist(make_trigger: TriggerFactory) -> None:
    names = sample_names(populated(make_trigger))
    for rule in _alerts():
        for metric in re.findall(r"\bjourneys_[a-z0-9_]+", str(rule["expr"])):
            assert metric in names, (rule["alert"], metric)
