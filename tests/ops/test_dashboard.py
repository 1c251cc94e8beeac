"""The Grafana dashboard: valid JSON, required panels, expressions that parse and
reference only metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.conftest import TriggerFactory, populated, sample_names
from tests.ops.prom import REPO_ROOT, promtool

GRAFANA = REPO_ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "journeys.json"
# Grafana's variables, replaced by plausible values so that promtool can parse the query.
VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$instance": ".*",
}
PROMETHEUS_METRICS = {"up"}


def _dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def _exprs() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def _substitute(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, expr
    return expr


def test_dashboard_is_valid_with_unique_ids_and_no_overlaps() -> None:
    doc = _dashboard()
    assert doc["uid"] == "journeys-overview"
    panels = doc["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        own = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & own, p["title"]
        cells |= own


@pytest.mark.parametrize(
    ("needle", "metric"),
    [
        ("throughput", "journeys_events_consumed_total"),
        ("lag", "journeys_consumer_lag_messages"),
        ("latency", "histogram_quantile(0.99, sum by (le) (rate(journeys_event_to_trigger"),
        ("dead letters", "journeys_dead_letters_total"),
        ("stage", "journeys_stage_customers"),
        ("triggers by kind", "sum by (kind) (rate(journeys_triggers_emitted_total"),
        ("goals by cohort", 'journeys_goals_reached_total{instance=~"$instance",cohort="holdout"}'),
        ("entries by cohort", "journeys_journey_entries_total"),
        ("variants", "journeys_variant_assignments_total"),
    ],
)
def test_required_views_are_there(needle: str, metric: str) -> None:
    assert any(metric in expr for _, expr in _exprs()), needle


def test_every_expression_references_a_metric_that_exists(make_trigger: TriggerFactory) -> None:
    names = sample_names(populated(make_trigger)) | PROMETHEUS_METRICS
    exprs = _exprs()
    assert len(exprs) >= 20
    for title, expr in exprs:
        metrics = re.findall(r"\b(journeys_[a-z0-9_]+|up)\b(?=\s*[{\[)])", expr)
        assert metrics, (title, expr)
        for metric in metrics:
            assert metric in names, (title, metric)


def test_every_expression_parses(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:expr{i}", "expr": _substitute(expr)}
                    for i, (_, expr) in enumerate(_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lift_row_compares_the_cohorts() -> None:
    """A "Lift" row whose first panel is treated minus holdout, in rate units."""
    panels = _dashboard()["panels"]
    row = next(p for p in panels if p["type"] == "row" and p["title"] == "Lift")
    below = sorted(
        (p for p in panels if p["gridPos"]["y"] > row["gridPos"]["y"]),
        key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]),
    )
    lift = below[0]
    assert "lift" in lift["title"].lower()
    assert lift["fieldConfig"]["defaults"]["unit"] == "percentunit"
    (expr,) = [t["expr"] for t in lift["targets"]]
    treated, holdout = expr.split(") - (")
    assert 'cohort="treated"' in treated and 'cohort="holdout"' not in treated
    assert 'cohort="holdout"' in holdout and 'cohort="treated"' not in holdout


def test_provisioning_points_at_the_dashboards() -> None:
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "journeys.yml").read_text()
    )
    assert providers["providers"][0]["type"] == "file"
    sources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    assert sources["datasources"][0]["type"] == "prometheus"
