"""File replay of the default journey: anonymous activity merged in, fan-out, holdout."""

from __future__ import annotations

from pathlib import Path

import orjson

from journeys import in_holdout
from tests.replay.conftest import CliRunner

EVENTS = [
    {"event_id": "a1", "anonymous_id": "anon-1", "type": "page_viewed",
     "event_time": "2026-01-05T09:00:00Z", "properties": {"path": "/pricing"}},
    {"event_id": "s1", "customer_id": "cust-3", "anonymous_id": "anon-1", "type": "signed_up",
     "event_time": "2026-01-05T10:00:00Z", "properties": {"plan": "pro"}},
    {"event_id": "r1", "customer_id": "cust-3", "type": "feature_requested",
     "event_time": "2026-01-06T10:00:00Z", "properties": {"feature_id": "dark-mode"}},
    {"event_id": "other", "customer_id": "cust-2", "type": "signed_up",
     "event_time": "2026-01-06T11:00:00Z"},
    {"event_id": "rel1", "customer_id": "product-team", "type": "feature_released",
     "event_time": "2026-01-20T10:00:00Z",
     "properties": {"feature_id": "dark-mode", "name": "Dark mode"}},
]  # fmt: skip


LIFECYCLE = Path(__file__).parents[2] / "journeys" / "definitions" / "lifecycle.yaml"


def _replay(cli: CliRunner, customer: str, path: Path):
    return cli(
        "replay", customer, "--file", str(path), "--no-timers", "--json",
        "--definition", str(LIFECYCLE),
    )  # fmt: skip


def test_anonymous_history_and_fanout(journeys_cli: CliRunner, tmp_path: Path) -> None:
    assert not in_holdout("cust-3", "lifecycle", 5)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    result = _replay(journeys_cli, "cust-3", path)
    assert result.code == 0, result.err
    records = result.records()
    events = [(r["event_id"], r["origin"]) for r in records if r["type"] == "event"]
    assert events == [
        ("a1", "events.jsonl:1"),  # the anonymous id linked to cust-3 by s1
        ("s1", "events.jsonl:2"),
        ("r1", "events.jsonl:3"),
        ("rel1/feature_requests/cust-3", "events.jsonl:5 (fan-out)"),
    ]
    kinds = [r["trigger"]["kind"] for r in records if r["type"] == "trigger"]
    # Nudges fire on the way (timers due before each event), then the fan-out trigger.
    assert kinds[0] == "onboarding.welcome" and kinds[-1] == "voc.you_asked_we_built"
    built = next(r["trigger"] for r in records if r["type"] == "trigger" and "voc" in str(r))
    assert built["customer_id"] == "cust-3"
    assert built["attributes"] == {"feature_id": "dark-mode", "feature_name": "Dark mode"}
    assert all(r.get("customer_id") != "cust-2" for r in records)


def test_holdout_is_suppressed_never_a_trigger(journeys_cli: CliRunner, tmp_path: Path) -> None:
    assert in_holdout("cust-1", "lifecycle", 5)
    path = tmp_path / "events.jsonl"
    # a server-side sign-up (no anonymous id): the cohort is cust-1's own, the holdout
    signup = {k: v for k, v in EVENTS[1].items() if k != "anonymous_id"}
    path.write_bytes(orjson.dumps({**signup, "customer_id": "cust-1"}))
    records = _replay(journeys_cli, "cust-1", path).records()
    assert [r["type"] for r in records] == ["event", "transition", "change", "change", "suppressed"]
    assert [(r["rule"], r["attribute"]) for r in records[2:4]] == [
        ("welcome", "signup_at"),
        ("welcome", "plan"),
    ]
    assert records[4]["reason"] == "holdout"
    assert records[4]["trigger"]["holdout"] is True
