"""Replay shows why: attribute changes, engine notes, goals apart from exits, and an
engine failure on one customer's event as a dead letter while the others go on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from journeys import driver, parse_definition
from schemas.codec import dumps
from schemas.events import TouchpointEvent
from streams.replay import diff
from streams.replay.cli import table_row
from streams.replay.timeline import Arrival, timeline
from tests.replay.conftest import CliRunner

WHY = parse_definition(
    {
        "name": "why",
        "version": 1,
        "stages": ["trial", "paid"],
        "initial_stage": "trial",
        "attributes": {
            "trial_end": {"type": "date"},
            "paid_at": {"type": "datetime"},
        },
        "rules": [
            {
                "id": "trial",
                "when": {"event": {"type": "trial_started"}},
                "then": {"set": {"trial_end": {"property": "trial_end"}}},
            },
            {
                "id": "paid",
                "when": {"event": {"type": "paid"}},
                "then": {"set": {"paid_at": {"event_time": True}}, "move_to": "paid"},
            },
            {
                "id": "ask",
                "goal": "paid_at",
                "when": {"event": {"type": "visit"}},
                "then": {"emit": {"kind": "onboarding.ask"}},
            },
        ],
        "exits": [{"name": "closed", "event": {"type": "closed"}}],
    }
)


def t(day: int) -> datetime:
    return datetime(2026, 3, day, 9, tzinfo=UTC)


def event(event_id: str, type_: str, day: int, customer: str = "c-1", **props: Any) -> Arrival:
    touchpoint = TouchpointEvent(
        event_id=event_id, customer_id=customer, type=type_, event_time=t(day), properties=props
    )
    return Arrival(touchpoint, f"in.jsonl:{event_id}")


def records(*items: Arrival, until: datetime | None = None) -> list[dict[str, Any]]:
    return list(timeline([WHY], items, until=until))


def test_changes_and_notes_are_records() -> None:
    found = records(
        event("e1", "trial_started", 1, trial_end="next tuesday"),
        event("e2", "trial_started", 2, trial_end="2026-03-20"),
    )
    assert [r["type"] for r in found] == ["event", "note", "event", "change"]
    head = {"customer_id": "c-1", "journey": "why"}
    assert found[1] == {
        "type": "note",
        "time": "2026-03-01T09:00:00Z",
        **head,
        "note": "trial: trial_end: 'next tuesday' is not a date, ignored",
    }
    assert found[3] == {
        "type": "change",
        "time": "2026-03-02T09:00:00Z",
        **head,
        "rule": "trial",
        "attribute": "trial_end",
        "old": None,
        "new": "2026-03-20",
    }
    assert table_row(found[3]).split(None, 2)[2] == 'trial: trial_end unset -> "2026-03-20"'
    assert table_row(found[1]).endswith(
        "why: trial: trial_end: 'next tuesday' is not a date, ignored"
    )


def test_a_reached_goal_is_not_an_exit() -> None:
    found = records(
        event("e1", "visit", 1),
        event("e2", "paid", 2),
        event("e3", "visit", 3),
        event("e4", "closed", 4),
        event("e5", "visit", 5),
    )
    reasons = [(r["rule"], r["reason"], r["time"]) for r in found if r["type"] == "suppressed"]
    assert reasons == [
        ("ask", "goal", "2026-03-03T09:00:00Z"),
        ("ask", "exit", "2026-03-05T09:00:00Z"),
    ]
    assert [r["trigger"]["rule"] for r in found if r["type"] == "trigger"] == ["ask"]


def test_an_engine_failure_is_a_dead_letter_and_replay_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = driver.on_event

    def failing(definitions: Any, states: Any, touchpoint: TouchpointEvent) -> Any:
        if touchpoint.customer_id == "c-bad":
            raise RuntimeError("boom " + "x" * 1000)
        return real(definitions, states, touchpoint)

    monkeypatch.setattr(driver, "on_event", failing)
    found = records(
        event("e1", "visit", 1, customer="c-bad"),
        event("e2", "visit", 2, customer="c-1"),
        event("e3", "paid", 3, customer="c-bad"),
    )
    assert [r["type"] for r in found] == ["deadletter", "event", "trigger", "deadletter"]
    dead = found[0]
    assert {k: dead[k] for k in ("type", "time", "origin", "reason")} == {
        "type": "deadletter",
        "time": "2026-03-01T09:00:00Z",
        "origin": "in.jsonl:e1",
        "reason": "processing_error",
    }
    assert dead["message"].startswith("RuntimeError: boom xxx") and len(dead["message"]) == 500
    assert dead["size"] == len(dumps(event("e1", "visit", 1, customer="c-bad").event))
    # the failed customer's state is as before the event: c-bad has no state at all
    report = diff.compare(WHY, WHY, [event("e1", "visit", 1, customer="c-bad")], until=None)
    assert report.errors["base"][0].startswith("in.jsonl:e1: RuntimeError: boom")
    assert report.as_json()["processing_errors"] == {"base": 1, "definition": 1}


def test_wake_up_failures_are_dead_letters_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_: Any) -> Any:
        raise ValueError("no")

    monkeypatch.setattr(driver, "on_time", failing)
    found = records(event("e1", "visit", 1), until=t(9))
    assert found[-1] == {
        "type": "deadletter",
        "time": "2026-03-09T09:00:00Z",
        "origin": "wake-up of c-1 at 2026-03-09T09:00:00Z",
        "reason": "processing_error",
        "message": "ValueError: no",
        "size": 0,
    }


def test_the_cli_table_shows_the_why(journeys_cli: CliRunner, tmp_path: Path) -> None:
    definition = tmp_path / "why.yaml"
    definition.write_text(
        orjson.dumps(WHY.model_dump(mode="json", by_alias=True, exclude_none=True)).decode()
    )
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b"\n".join(
            orjson.dumps(e.event.model_dump(mode="json"))
            for e in (event("e1", "trial_started", 1, trial_end="soon"), event("e2", "paid", 2))
        )
    )
    result = journeys_cli("replay", "c-1", "--file", str(events), "--definition", str(definition))
    assert result.code == 0, result.err
    assert "why: trial: trial_end: 'soon' is not a date, ignored" in result.out
    assert 'paid: paid_at unset -> "2026-03-02T09:00:00Z"' in result.out
