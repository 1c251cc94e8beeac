"""``journeys replay --file``: exact records of a hand-written story, bad lines, no customer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.triggers import Cause, Trigger, trigger_id
from tests.replay.conftest import CliRunner

UNTIL = "2026-01-20T00:00:00Z"


def _trigger(
    rule: str,
    kind: str,
    before: str,
    after: str,
    at: str,
    cause: Cause,
    priority: str = "marketing",
) -> dict[str, Any]:
    when = datetime.fromisoformat(at)
    return Trigger(
        trigger_id=trigger_id("c-1", "story", 1, rule, cause.key),
        customer_id="c-1",
        journey="story",
        journey_version=1,
        rule=rule,
        kind=kind,
        priority=priority,  # type: ignore[arg-type]
        stage_before=before,
        stage_after=after,
        cause=cause,
        cause_time=when,
        emitted_at=when,
        cohort="treated",
    ).model_dump(mode="json")


def _event(event_id: str, event_type: str, at: str, line: int, status: str = "processed"):
    return {
        "type": "event",
        "time": at,
        "customer_id": "c-1",
        "anonymous_id": None,
        "event_id": event_id,
        "event_type": event_type,
        "source": "api",
        "status": status,
        "origin": f"story.jsonl:{line}",
    }


def _transition(rule: str, before: str, after: str, at: str) -> dict[str, Any]:
    return {
        "type": "transition",
        "time": at,
        "customer_id": "c-1",
        "journey": "story",
        "rule": rule,
        "kind": "move",
        "stage_before": before,
        "stage_after": after,
    }


def test_story_gives_exact_records(
    journeys_cli: CliRunner, story_definition: Path, story_events: Path
) -> None:
    result = journeys_cli(
        "replay",
        "c-1",
        "--file",
        str(story_events),
        "--definition",
        str(story_definition),
        "--until",
        UNTIL,
        "--json",
    )
    assert result.code == 0, result.err
    welcome = _trigger(
        "welcome",
        "onboarding.welcome",
        "visitor",
        "new",
        "2026-01-05T10:00:00Z",
        Cause(type="event", event_ids=["e1"]),
    )
    due = datetime(2026, 1, 7, 10, tzinfo=UTC)
    nudge = _trigger(
        "nudge",
        "onboarding.nudge",
        "new",
        "new",
        "2026-01-07T10:00:00Z",
        Cause(type="timer", timer="nudge", due_at=due),
    )
    activated = _trigger(
        "activated",
        "onboarding.activated",
        "new",
        "active",
        "2026-01-08T09:00:00Z",
        Cause(type="event", event_ids=["e2"]),
    )
    recovery = _trigger(
        "recovery",
        "recovery.service_recovery",
        "active",
        "active",
        "2026-01-09T12:00:00Z",
        Cause(type="event", event_ids=["s1"]),
        priority="service",
    )
    suppressed = _trigger(
        "recovery",
        "recovery.service_recovery",
        "active",
        "active",
        "2026-01-10T12:00:00Z",
        Cause(type="event", event_ids=["e4"]),
        priority="service",
    )
    expected = [
        _event("e1", "signed_up", "2026-01-05T10:00:00Z", 1),
        _transition("welcome", "visitor", "new", "2026-01-05T10:00:00Z"),
        {"type": "trigger", "time": "2026-01-05T10:00:00Z", "trigger": welcome},
        {"type": "trigger", "time": "2026-01-07T10:00:00Z", "trigger": nudge},
        _event("e2", "project_created", "2026-01-08T09:00:00Z", 2),
        _transition("activated", "new", "active", "2026-01-08T09:00:00Z"),
        {"type": "trigger", "time": "2026-01-08T09:00:00Z", "trigger": activated},
        _event("e2", "project_created", "2026-01-08T09:00:00Z", 4, status="duplicate"),
        {**_event("s1", "csat_submitted", "2026-01-09T12:00:00Z", 6), "source": "segment"},
        {"type": "trigger", "time": "2026-01-09T12:00:00Z", "trigger": recovery},
        _event("e4", "csat_submitted", "2026-01-10T12:00:00Z", 7),
        {
            "type": "suppressed",
            "time": "2026-01-10T12:00:00Z",
            "customer_id": "c-1",
            "rule": "recovery",
            "kind": "recovery.service_recovery",
            "reason": "cooldown",
            "trigger": suppressed,
        },
    ]
    # the file's bad lines (not JSON; no identity) are no one's: not in c-1's replay
    assert result.records() == expected


def test_a_customers_replay_shows_its_own_dead_letters_and_no_one_elses(
    journeys_cli: CliRunner, tmp_path: Path
) -> None:
    lines = [
        b'{"type": "track", "messageId": "m1", "userId": "c-1", "event": "Login", '
        b'"timestamp": "2026-01-05T10:00:00Z"}',
        b'{"type": "track", "messageId": "m2", "userId": "c-1", '
        b'"timestamp": "2026-01-05T11:00:00Z"}',
        b'{"type": "track", "messageId": "m3", "userId": "c-2", '
        b'"timestamp": "2026-01-05T12:00:00Z"}',
        b"not json at all",
        b'{"event_id": "x", "customer_id": "c-3", "type": "login", "event_time": "soon"}',
    ]
    events = tmp_path / "bad.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    result = journeys_cli("replay", "c-1", "--file", str(events), "--json", "--no-timers")
    assert result.code == 0, result.err
    dead = [(r["origin"], r["reason"]) for r in result.records() if r["type"] == "deadletter"]
    assert dead == [("bad.jsonl:2", "schema_violation")]
    only_rejected = journeys_cli("replay", "c-3", "--file", str(events), "--json", "--no-timers")
    assert only_rejected.code == 0, only_rejected.err
    assert [(r["type"], r["origin"], r["reason"]) for r in only_rejected.records()] == [
        ("deadletter", "bad.jsonl:5", "invalid_timestamp")
    ]
    nobody = journeys_cli("replay", "c-9", "--file", str(events), "--json", "--no-timers")
    assert (nobody.out, nobody.err) == (
        "",
        "journeys replay: no events for customer 'c-9' in " + str(events) + "\n",
    )


def test_table_shows_steps_without_properties(
    journeys_cli: CliRunner, story_definition: Path, story_events: Path
) -> None:
    result = journeys_cli(
        "replay",
        "c-1",
        "--file",
        str(story_events),
        "--definition",
        str(story_definition),
        "--until",
        UNTIL,
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["time", "type", "detail"]
    assert "welcome: visitor -> new" in result.out
    assert "onboarding.nudge by nudge id=" in result.out
    assert "recovery.service_recovery by recovery: cooldown" in result.out
    assert "[duplicate]" in result.out
    assert "zebra" not in result.out  # properties only with --show-properties
    shown = journeys_cli(
        "replay",
        "c-1",
        "--file",
        str(story_events),
        "--definition",
        str(story_definition),
        "--until",
        UNTIL,
        "--show-properties",
    )
    assert '"plan":"zebra"' in shown.out


def test_unknown_customer_is_empty_with_a_message(
    journeys_cli: CliRunner, story_definition: Path, story_events: Path
) -> None:
    result = journeys_cli(
        "replay",
        "nobody",
        "--file",
        str(story_events),
        "--definition",
        str(story_definition),
        "--json",
    )
    assert result.code == 0
    assert result.out == ""
    assert "no events for customer 'nobody'" in result.err


def test_missing_file_is_a_clear_error(
    journeys_cli: CliRunner, story_definition: Path, tmp_path: Path
) -> None:
    missing = str(tmp_path / "absent.jsonl")
    result = journeys_cli("replay", "c-1", "--file", missing, "--definition", str(story_definition))
    assert result.code == 2
    assert "cannot read" in result.err and "absent.jsonl" in result.err


def test_segment_batch_export(
    journeys_cli: CliRunner, story_definition: Path, tmp_path: Path
) -> None:
    batch = tmp_path / "export.json"
    batch.write_text(
        """{
  "batch": [
    {"type": "track", "messageId": "b1", "userId": "c-9", "event": "Signed Up",
     "timestamp": "2026-02-01T08:00:00Z"},
    {"type": "track", "userId": "c-9", "event": "no id"},
    {"type": "track", "messageId": "b2", "userId": "c-9", "event": "Project Created",
     "timestamp": "2026-02-01T09:00:00Z"}
  ],
  "sentAt": "2026-02-01T09:00:01Z"
}
"""
    )
    result = journeys_cli(
        "replay",
        "c-9",
        "--file",
        str(batch),
        "--definition",
        str(story_definition),
        "--until",
        "2026-02-02T00:00:00Z",
        "--json",
    )
    assert result.code == 0, result.err
    types = [
        (r["type"], r.get("rule") or r.get("event_type") or r.get("origin"))
        for r in result.records()
    ]
    assert types == [
        ("event", "signed_up"),
        ("transition", "welcome"),
        ("trigger", None),
        ("event", "project_created"),
        ("transition", "activated"),
        ("trigger", None),
        ("deadletter", "export.json:1#1"),
    ]
