"""The demo ends with the default journey's measured lift (``journeys report``'s numbers)."""

from __future__ import annotations

import argparse

import pytest

from streams.demo.lift import lift_lines, measured, messages
from streams.replay.options import WorkerRules
from streams.settings import Settings


def _args(effect: str = "activation+0.10") -> argparse.Namespace:
    return argparse.Namespace(
        seed=7,
        customers=300,
        days=30.0,
        format="canonical",
        effect=effect,
        effect_journey="lifecycle",
        effect_holdout=None,
    )


def test_the_demo_ends_with_the_measured_lift(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEYS_JOURNEY_PATHS", raising=False)
    args = _args()
    sent = messages(args)
    doc = measured(args, sent, WorkerRules.of(Settings()))
    lines = list(lift_lines(doc, args.effect))
    assert lines[1].startswith("measured lift of lifecycle (journeys report over the same events")
    goal = doc["journeys"][0]["goals"][0]
    t, h = goal["cohorts"]["treated"], goal["cohorts"]["holdout"]
    assert lines[2].startswith(
        f"  goal activated_at: treated {t['rate']:.1%} ({t['reached']}/{t['customers']}), "
        f"holdout {h['rate']:.1%} ({h['reached']}/{h['customers']}): lift "
    )
    assert t["customers"] + h["customers"] == doc["journeys"][0]["customers"]["all"]
    assert lines[-1] == (
        "  (simulated: treated customers got the effect activation+0.10; try --effect none)"
    )


def test_the_effect_is_what_the_worker_gets() -> None:
    with_effect, without = messages(_args()), messages(_args("none"))
    assert len(with_effect) != len(without) or with_effect != without
    assert not list(
        lift_lines(
            {"journeys": [{"journey": "j", "goals": []}], "methods": {"confidence": 0.95}}, "none"
        )
    )[2:]
