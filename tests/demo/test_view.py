"""The demo's display and summary, from hand-made trigger and dead-letter records."""

from __future__ import annotations

import orjson

from streams.demo.view import DemoState, dead_letters_match, summary
from streams.sim.population import Message


def _trigger(customer: str, kind: str, before: str, after: str) -> bytes:
    return orjson.dumps(
        {
            "trigger_id": f"{customer}-{kind}",
            "customer_id": customer,
            "kind": kind,
            "stage_before": before,
            "stage_after": after,
        }
    )


def _state() -> DemoState:
    state = DemoState(started=100.0)
    for kind in ("signed_up", "login", "malformed:invalid_json", "malformed:naive_timestamp"):
        state.on_produced(Message(b"c1", b"{}", kind, 0.0))
    state.on_output(_trigger("c1", "onboarding.welcome", "prospect", "onboarding"))
    state.on_output(_trigger("c2", "onboarding.welcome", "prospect", "onboarding"))
    state.on_output(_trigger("c1", "onboarding.activated", "onboarding", "active"))
    state.on_output(orjson.dumps({"reason": "invalid_json", "payload_b64": ""}))
    state.on_output(b"not json")  # ignored
    return state


def test_counts_triggers_stages_and_dead_letters():
    state = _state()
    assert state.produced == 4
    assert state.triggers == {"onboarding.welcome": 2, "onboarding.activated": 1}
    assert state.stages() == {"onboarding": 1, "active": 1}
    assert dict(state.expected_dead) == {"invalid_json": 1, "naive_timestamp": 1}
    assert not dead_letters_match(state)
    state.on_output(orjson.dumps({"reason": "naive_timestamp"}))
    assert dead_letters_match(state)


def test_rate_and_progress_lines():
    state = _state()
    state.tick(101.0, 100)
    state.tick(103.0, 700)
    assert state.rate == 300.0
    lines = state.progress(103.0, 10)
    assert lines[0].startswith("[    3s] produced 4/10  processed 700 (300 events/s)  triggers 3")
    assert "onboarding.welcome 2" in lines[1]
    assert lines[2] == "  stages: onboarding 1  active 1"
    state.live_stages = {"prospect": 5}
    assert "prospect 5" in state.progress(104.0, 10)[2]


def test_summary_funnel_and_mismatch_mark():
    text = "\n".join(summary(_state(), 2, "http://127.0.0.1:1/metrics", 12.0))
    assert "prospect          2  100.0%" in text
    assert "onboarding        2  100.0%" in text
    assert "active            1   50.0%" in text
    assert "onboarding.welcome                     2       2" in text
    assert "invalid_json                 1 / 1     ok" in text
    assert "naive_timestamp              0 / 1     MISMATCH" in text
    assert text.endswith("metrics were at http://127.0.0.1:1/metrics")


def test_the_demo_finds_the_repository_and_its_broker_script() -> None:
    from streams.demo import cli

    assert (cli.REPO_ROOT / "pyproject.toml").is_file()
    assert cli.KAFKA_SH.is_file()
