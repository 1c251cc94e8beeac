"""Revenue per customer: what counts, Welch's interval against scipy and statsmodels on
the report's own numbers, and a known effect on spend measured within it."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
import pytest
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from journeys import load_definition
from schemas import TouchpointEvent
from streams.report.means import Sample, t_quantile, welch
from streams.report.measure import report
from streams.report.tally import Tally, tally
from streams.report.value import revenue
from streams.sim.effect import Effect
from streams.sim.population import generate
from tests.report.conftest import (
    CUSTOMERS,
    DAYS,
    END,
    HOLDOUT,
    SAMPLE,
    SEED,
    half_held_out,
    items,
)

SAMPLE_EVENTS = SAMPLE.parent / "ab.jsonl"

SPEND = 0.2


@cache
def _tally(spend: float) -> Tally:
    effect = Effect("spend", spend, "lifecycle", HOLDOUT) if spend else None
    messages = generate(SEED, CUSTOMERS, DAYS, malformed_share=0, effect=effect)
    data = b"".join(m.value + b"\n" for m in messages)
    return tally([half_held_out()], items(data), until=END)


def _value(spend: float) -> dict[str, Any]:
    doc = report(_tally(spend), until=END)
    value: dict[str, Any] = doc["journeys"][0]["value"]
    return value


def _revenues(spend: float) -> dict[str, list[float]]:
    j = _tally(spend).journeys["lifecycle"]
    out: dict[str, list[float]] = {"treated": [], "holdout": []}
    for key, path in j.paths.items():
        out[j.cohort_of(key)].append(path.revenue)
    return out


def _event(type_: str, **properties: Any) -> TouchpointEvent:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    return TouchpointEvent(
        event_id="e1", customer_id="c1", type=type_, event_time=at, properties=properties
    )


@pytest.mark.parametrize(
    ("event", "want"),
    [
        (_event("order_completed", amount=35.5), 35.5),
        (_event("order_completed", revenue="59.90", amount=70), 59.9),  # revenue first
        (_event("order_completed", revenue="n/a", amount=12), 12.0),
        (_event("order_completed", amount=True), None),
        (_event("order_completed"), None),
        (_event("payment_failed", amount=29.0), None),  # not revenue: the type decides
        (_event("refund_issued", amount=10.0), None),
    ],
)
def test_what_counts_as_revenue(event: TouchpointEvent, want: float | None) -> None:
    assert revenue(event) == want


@pytest.mark.parametrize("df", [1.0, 2.5, 7.3, 30.0, 123.4, 1194.587265])
def test_t_quantile_matches_scipy(df: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-12)


def test_welch_matches_scipy_and_statsmodels_on_the_reports_numbers() -> None:
    groups = _revenues(SPEND)
    treated, holdout = groups["treated"], groups["holdout"]
    value = _value(SPEND)
    ours = welch(Sample.of(treated), Sample.of(holdout))
    assert ours is not None
    scipy_ci = stats.ttest_ind(treated, holdout, equal_var=False).confidence_interval(0.95)
    sm = CompareMeans(DescrStatsW(treated), DescrStatsW(holdout))
    sm_ci = sm.tconfint_diff(alpha=0.05, usevar="unequal")
    for lo, hi in ((scipy_ci.low, scipy_ci.high), sm_ci):
        assert ours.interval == pytest.approx((lo, hi), abs=1e-9)
    assert value["difference"]["interval"] == pytest.approx(list(ours.interval), abs=1e-6)
    assert value["difference"]["absolute"] == pytest.approx(
        sum(treated) / len(treated) - sum(holdout) / len(holdout), abs=1e-6
    )


def test_a_known_spend_effect_lies_within_the_interval() -> None:
    """Every order of a treated customer is 20% larger, nothing else changes: the
    expected difference per customer is 20% of what a customer spends without it."""
    before, after = _revenues(0.0), _revenues(SPEND)
    assert after["holdout"] == before["holdout"]
    assert sum(after["treated"]) == pytest.approx(sum(before["treated"]) * (1 + SPEND), rel=1e-4)
    everyone = before["treated"] + before["holdout"]
    truth = SPEND * sum(everyone) / len(everyone)
    value = _value(SPEND)
    lo, hi = value["difference"]["interval"]
    assert lo < truth < hi
    assert value["cohorts"]["treated"]["customers"] == 591
    assert value["cohorts"]["holdout"]["customers"] == 609
    assert (round(truth, 2), round(lo, 2), round(hi, 2)) == (4.75, 3.01, 19.49)


def test_value_per_goal_counts_who_reached_it() -> None:
    doc = report(_tally(SPEND), until=END)["journeys"][0]
    goal = next(g for g in doc["goals"] if g["goal"] == "activated_at")
    for c in ("treated", "holdout"):
        assert goal["value"]["cohorts"][c]["customers"] == goal["cohorts"][c]["reached"]


def test_value_per_variant_against_the_first_arm() -> None:
    """The A/B sample with an order for every customer of the sample: c-N spends N."""
    lines = SAMPLE_EVENTS.read_bytes().splitlines()
    customers = sorted({orjson.loads(line)["customer_id"] for line in lines})
    orders = [
        orjson.dumps(
            {
                "event_id": f"{c}-o",
                "customer_id": c,
                "type": "order_completed",
                "event_time": "2026-03-05T12:00:00Z",
                "properties": {"amount": int(c.split("-")[1]), "currency": "EUR"},
            }
        )
        for c in customers
    ]
    data = b"\n".join([*lines, *orders]) + b"\n"
    until = datetime(2026, 3, 9, tzinfo=UTC)
    found = tally([load_definition(SAMPLE)], items(data, until), until=until)
    j = report(found, until=until)["journeys"][0]
    arms = j["value"]["experiments"][0]["arms"]
    assert [a["arm"] for a in arms] == ["control", "short", "long"]
    for a in arms:
        assert a["total"] == pytest.approx(sum(_arm(found, a["arm"])))
    assert sum(a["total"] for a in arms) == sum(int(c.split("-")[1]) for c in customers)
    assert arms[0]["difference"] is None
    short = arms[1]
    ours = welch(Sample.of(_arm(found, "short")), Sample.of(_arm(found, "control")))
    assert ours is not None
    assert short["difference"]["interval"] == pytest.approx(list(ours.interval), abs=1e-6)
    ci = stats.ttest_ind(_arm(found, "short"), _arm(found, "control"), equal_var=False)
    assert ours.interval == pytest.approx(tuple(ci.confidence_interval(0.95)), abs=1e-9)


def _arm(found: Tally, arm: str) -> list[float]:
    j = found.journeys["welcome_ab"]
    want = "holdout" if arm == "control" else "treated"
    return [
        p.revenue
        for k, p in j.paths.items()
        if j.cohort_of(k) == want
        and (arm == "control" or p.variants.get("welcome_copy") == arm)
        and "welcome_copy" in p.variants
    ]
