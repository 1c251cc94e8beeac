"""``journeys report`` measures a known lift: the simulator gives treated customers a
known effect on activation, and the report's interval holds it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from journeys import in_holdout, load_definition
from streams.cli import main
from streams.replay.timeline import Arrival
from streams.report.measure import report
from streams.report.tally import tally
from tests.report.conftest import END, SAMPLE, half_held_out, items, population

EFFECT = 0.15


@cache
def _measure(lift: float) -> dict[str, Any]:
    doc = report(tally([half_held_out()], items(population(lift)), until=END), until=END)
    journey: dict[str, Any] = doc["journeys"][0]
    return journey


def _goal(journey: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in journey["goals"] if g["goal"] == name)
    return found


def test_the_report_finds_the_known_lift_within_its_interval() -> None:
    treated = _goal(_measure(EFFECT), "activated_at")
    baseline = _goal(_measure(0.0), "activated_at")
    lift = treated["lift"]
    lo, hi = lift["absolute_interval"]
    # the effect the simulator gave, and the one it realised in this sample: the same
    # treated customers with and without it (their random draws are the same)
    realised = treated["cohorts"]["treated"]["rate"] - baseline["cohorts"]["treated"]["rate"]
    assert lo < realised < hi
    assert lo < EFFECT < hi
    assert lo > 0, "an effect this size is detected"
    assert abs(lift["absolute"] - EFFECT) < 0.03
    assert treated["cohorts"]["holdout"] == baseline["cohorts"]["holdout"]  # untouched
    rel_lo, rel_hi = lift["relative_interval"]
    assert rel_lo < lift["relative"] < rel_hi
    print(
        f"known effect +{EFFECT:.3f}, realised {realised:+.4f}: measured "
        f"{lift['absolute']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
    )


def test_no_effect_no_lift() -> None:
    lift = _goal(_measure(0.0), "activated_at")["lift"]
    lo, hi = lift["absolute_interval"]
    assert lo < 0 < hi


def test_cohorts_funnel_and_triggers_add_up() -> None:
    journey = _measure(EFFECT)
    c = journey["customers"]
    assert c["all"] == c["treated"] + c["holdout"]
    assert abs(c["holdout"] / c["all"] - 0.5) < 0.05
    first = journey["funnel"][0]
    assert (first["stage"], first["customers"], first["share"]) == ("prospect", c["all"], 1.0)
    activated = _goal(journey, "activated_at")
    active = next(r for r in journey["funnel"] if r["stage"] == "active")
    reached = sum(activated["cohorts"][k]["reached"] for k in ("treated", "holdout"))
    assert active["customers"] >= reached * 0.95  # activation moves to active, mostly
    kinds = {t["kind"]: t for t in journey["triggers"]}
    welcome = kinds["onboarding.welcome"]
    assert welcome["suppressed"]["holdout"] == pytest.approx(c["holdout"], abs=2)
    hours = activated["cohorts"]["treated"]["median_hours_to_goal"]
    assert 0 < hours < 20 * 24


def _entry_keys(data: bytes) -> dict[str, str]:
    """Each customer's entry key: the anonymous id linked to it when that id's first
    event is earlier than the customer's own first (a visitor who browsed first)."""
    first: dict[str, Any] = {}
    links: dict[str, str] = {}
    for item in items(data):
        if isinstance(item, Arrival):
            e = item.event
            first[e.key] = min(first.get(e.key, e.event_time), e.event_time)
            if e.customer_id and e.anonymous_id:
                links.setdefault(e.customer_id, e.anonymous_id)
    return {c: a for c, a in links.items() if a in first and first[a] < first[c]}


def _activated(data: bytes) -> dict[str, bool]:
    """The truth, from the raw events: which customer made a key action."""
    found: dict[str, bool] = defaultdict(bool)
    for item in items(data):
        if isinstance(item, Arrival) and item.event.customer_id:
            found[item.event.customer_id] |= item.event.type == "key_action"
    return found


def test_variants_split_the_treated_and_the_control_group_is_assigned_too() -> None:
    definition = load_definition(SAMPLE)
    data = population(0.0)
    doc = report(tally([definition], items(data), until=END), until=END)
    journey = doc["journeys"][0]
    goal = _goal(journey, "activated_at")
    (experiment,) = goal["experiments"]
    assert experiment["experiment"] == "welcome_copy"
    assert experiment["baseline"] == "control"
    arms = {a["arm"]: a for a in experiment["arms"]}
    assert list(arms) == ["control", "short", "long"]
    assert arms["control"]["cohort"] == "holdout" and arms["control"]["lift"] is None
    treated = arms["short"]["customers"] + arms["long"]["customers"]
    assert treated <= journey["customers"]["treated"]
    assert abs(arms["short"]["customers"] / treated - 0.5) < 0.05
    assert arms["control"]["customers"] <= journey["customers"]["holdout"]
    for name in ("short", "long"):
        lo, hi = arms[name]["lift"]["absolute_interval"]
        assert lo < arms[name]["lift"]["absolute"] < hi
    # the counts are the raw data's: every customer welcomed, activated iff a key action
    truth = _activated(data)
    entry = _entry_keys(data)  # the cohort follows the key the person entered under
    held = [c for c in truth if in_holdout(entry.get(c, c), "welcome_ab", 20)]
    assert arms["control"]["customers"] == len(held)
    assert arms["control"]["reached"] == sum(truth[c] for c in held)
    cohorts = goal["cohorts"]
    assert cohorts["treated"]["reached"] == sum(truth.values()) - arms["control"]["reached"]
    assert arms["short"]["reached"] + arms["long"]["reached"] == cohorts["treated"]["reached"]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["report", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_prints_a_table_json_and_a_page(
    population_file: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOURNEYS_JOURNEY_PATHS", raising=False)
    path = population_file(0.1, customers=200, days=20)
    common = ["--file", str(path), "--advance-to", END.isoformat(), "--definition"]
    code, out, err = _cli(capsys, *common, str(SAMPLE), "--json")
    assert code == 0, err
    doc = orjson.loads(out)
    assert doc["methods"]["absolute_lift"].startswith("Newcombe hybrid score interval")
    assert doc["input"]["events"] > 1000 and doc["input"]["processing_errors"] == 0
    page = tmp_path / "report.html"
    code, out, err = _cli(capsys, *common, str(SAMPLE), "--html", str(page))
    assert code == 0, err
    assert "welcome_ab v1:" in out
    assert "lift treated vs holdout:" in out
    assert "experiment welcome_copy (baseline: control)" in out
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert f"wrote {page}" in err


def test_unreadable_input_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "--file", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read" in err


def test_untimed_messages_are_counted_not_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that states no time: its events are untimed (not placed at 1970, where
    they made decades of anniversary triggers) and the report says how many."""
    monkeypatch.delenv("JOURNEYS_JOURNEY_PATHS", raising=False)
    path = tmp_path / "untimed.jsonl"
    signups = [
        {"type": "track", "event": "Signed Up", "userId": f"u-{i}", "messageId": f"m{i}"}
        for i in range(3)
    ]
    path.write_bytes(b"\n".join([*map(orjson.dumps, signups), b"{not json"]))
    common = ["--file", str(path), "--advance-to", "2026-03-02T00:00:00Z"]
    code, out, err = _cli(capsys, *common, "--json")
    assert code == 0, err
    doc = orjson.loads(out)
    assert {k: doc["input"][k] for k in ("events", "unreadable", "untimed")} == {
        "events": 0,
        "unreadable": 1,
        "untimed": 3,
    }
    assert [(j["customers"]["all"], j["triggers"]) for j in doc["journeys"]] == [(0, [])]
    code, out, err = _cli(capsys, *common)
    assert out.splitlines()[0].startswith(
        "journeys report: 0 events (1 unreadable, 3 untimed (no time stated, not replayed), "
        "0 processing errors)"
    )
