"""The map: what it reads from a definition, its layout, ``journeys lint --map`` on every
shipped definition, and its measured flow equal to the report's JSON and the replay."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from journeys import default_journey
from journeys.drawing import journey_map
from journeys.drawing.layout import Box, Link, layout
from journeys.drawing.svg import draw
from journeys.lint import main as lint_main
from streams.replay.timeline import Arrival, Replayer
from streams.report.measure import report
from streams.report.tally import tally
from tests.report.conftest import END, REPO, items, population

SHIPPED = sorted(
    [
        *(REPO / "journeys" / "definitions").glob("*.yaml"),
        *(REPO / "journeys" / "samples").rglob("*.yaml"),
    ]
)


def test_the_default_journey_drawn() -> None:
    m = journey_map(default_journey())
    assert [(n.stage, n.initial, [a.rule for a in n.actions]) for n in m.nodes] == [
        ("prospect", True, []),
        ("onboarding", False, ["nudge_day_1", "nudge_day_3", "nudge_day_7"]),
        ("active", False, []),
        ("at_risk", False, []),
        ("lapsed", False, []),
    ]
    assert [(e.source, e.target, e.card.rule, e.card.when) for e in m.edges] == [
        ("prospect", "onboarding", "welcome", "event"),
        ("onboarding", "active", "activated", "event"),
        ("prospect", "active", "active_without_signup", "event"),
        ("active", "at_risk", "at_risk", "timer"),
        ("onboarding", "lapsed", "lapsed", "timer"),
        ("active", "lapsed", "lapsed", "timer"),
        ("at_risk", "lapsed", "lapsed", "timer"),
        ("at_risk", "active", "welcome_back", "event"),
        ("lapsed", "active", "welcome_back", "event"),
    ]
    assert len(m.everywhere) == 18 and len(m.updates) == 7
    assert len(m.everywhere) + len(m.updates) + 3 + 6 == len(default_journey().rules)
    back = next(e for e in m.edges if e.card.rule == "welcome_back").card
    assert back.condition == "activity"
    assert back.send is not None and back.send.text() == (
        "sends engagement.welcome_back (marketing, quiet hours, cooldown 30d)"
    )
    kinds = {c.rule: (c.when, c.condition) for c in m.everywhere}
    assert kinds["repeated_tickets"] == ("window", "3 x support_ticket_opened within 14d")
    assert kinds["vip"] == ("threshold", "lifetime_spend ≥ 1000")
    assert kinds["trial_ending"] == ("date", "trial_end -3d at 10:00")
    assert kinds["low_csat"] == ("event", "csat_submitted, score ≤ 2")
    dunning = next(c for c in m.everywhere if c.rule == "dunning").send
    assert dunning is not None and (dunning.priority, dunning.quiet) == ("service", False)
    assert m.exits == (("account_closed", "account_closed", "exit"),)
    assert m.notes[0] == "quiet hours 21:00-08:00 (customer's time) for marketing"


def test_the_layout_keeps_boxes_apart_and_layers_in_order() -> None:
    boxes = [Box(s, 100, 40) for s in ("a", "b", "c", "d")]
    links = [
        Link(("a",), "b", Box("ab", 80, 30)),
        Link(("b",), "c", Box("bc", 80, 30)),
        Link(("a", "c"), "d", Box("to_d", 80, 30)),
        Link(("d",), "b", Box("back", 80, 30)),  # a cycle: drawn upwards
    ]
    placed = layout(boxes, links)
    ys = {b: placed.boxes[b][1] for b in "abcd"}
    assert ys["a"] < ys["b"] < ys["c"] < ys["d"]
    centres = [(placed.boxes[b.id], b) for b in boxes]
    centres += [(p, link.label) for link in links for p in placed.labels[link.label.id]]
    for i, ((x1, y1), b1) in enumerate(centres):
        for (x2, y2), b2 in centres[i + 1 :]:
            apart_x = abs(x1 - x2) >= (b1.width + b2.width) / 2
            apart_y = abs(y1 - y2) >= (b1.height + b2.height) / 2
            assert apart_x or apart_y, (b1.id, b2.id)
    route = placed.routes[("back", "d")]
    assert route[0][1] < ys["d"] and route[-1][1] > ys["b"]  # from d's top up to b's bottom


def test_the_default_journeys_map_is_compact() -> None:
    svg = draw(journey_map(default_journey()))
    assert svg.count('class="stage"') == 5 and svg.count('class="path"') == 6
    assert svg.count('class="arrow"') == 9
    width = float(svg.split('width="')[1].split('"')[0])
    height = float(svg.split('height="')[1].split('"')[0])
    assert width <= 1000 and height <= 900


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_lint_draws_every_shipped_definition(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "map.html"
    status = lint_main([str(path), "--map", str(target)])
    assert status in (0, 1)  # some samples show lint's errors on purpose
    html = target.read_text()
    assert html.count("<svg") == 1 and "<script" not in html
    name = path.read_text().split("\nname: ")[1].split()[0]
    assert f'id="jm-{name}"' in html


def test_lint_marks_its_warnings_on_the_map(tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    lint_main([str(REPO / "journeys/samples/lint/checks.yaml"), "--map", str(target)])
    html = target.read_text()
    assert "⚠ is unreachable" in html and "⚠ has no way out" in html
    assert html.count('fill="#fff4e5"') == 2  # churned and trial


@cache
def _flow_case() -> tuple[dict[str, Any], dict[tuple[str, str, str], set[str]]]:
    data = population(0.1, 400, 60.0)
    definitions = [default_journey()]
    doc = report(tally(definitions, items(data), until=END), until=END)["journeys"][0]
    replayer = Replayer(definitions)
    took: dict[tuple[str, str, str], set[str]] = defaultdict(set)

    def note(key: str, outcomes: Any) -> None:
        for _, outcome in outcomes:
            for t in outcome.transitions:
                took[(t.rule, t.stage_before, t.stage_after)].add(key)

    for item in items(data):
        if isinstance(item, Arrival) and item.event.event_time <= END:  # the cut-off
            for done in replayer.event(item.event):
                note(done.customer, done.outcomes)
    for key, name, outcome in replayer.advance(END):
        note(key, [(name, outcome)])
    folded = {k: {replayer.customer_of(c) for c in v} for k, v in took.items()}
    return doc, folded


def test_the_flow_equals_the_funnel_and_the_replay() -> None:
    doc, replayed = _flow_case()
    flow = doc["flow"]
    assert flow["cohorts"] == ["all", "treated", "holdout"]
    for stage, row in zip(flow["stages"], doc["funnel"], strict=True):
        assert stage["customers"]["all"] == row["customers"]
        assert stage["customers"]["treated"] + stage["customers"]["holdout"] == row["customers"]
    for t in flow["transitions"]:
        assert t["customers"]["all"] == len(replayed.get((t["rule"], t["from"], t["to"]), ()))
    took = {(t["rule"], t["from"]): t["customers"]["all"] for t in flow["transitions"]}
    assert took[("welcome", "prospect")] == 190
    assert took[("activated", "onboarding")] == 115
    welcome = next(r for r in flow["rules"] if r["rule"] == "welcome")
    assert welcome["sent"]["all"] + welcome["held_out"]["all"] == 190
    assert welcome["held_out"]["treated"] == 0


def test_the_drawn_counts_are_the_jsons() -> None:
    doc, _ = _flow_case()
    svg = draw(journey_map(default_journey()), doc["flow"])
    for t in doc["flow"]["transitions"]:
        if t["drawn"] and t["rule"] in ("welcome", "activated", "at_risk"):
            c = t["customers"]
            assert f"took it: {c['all']:,} (T {c['treated']:,} · H {c['holdout']:,})" in svg
    for s in doc["flow"]["stages"]:
        c = s["customers"]
        assert f"reached: {c['all']:,} (T {c['treated']:,} · H {c['holdout']:,})" in svg
