"""Replay and diff honour the erasure requests in their input, as the worker does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from journeys import default_journey
from schemas.erasure import ErasureRequest
from streams.replay.diff import compare, replay_triggers
from streams.replay.erasure import Erasure
from streams.replay.inputs import decode_file
from streams.replay.timeline import Arrival, Item, Replayer, timeline
from tests.replay.conftest import CliRunner

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
J = default_journey()


def event(event_id: str, hours: float, type_: str, **fields: Any) -> dict[str, Any]:
    when = (T0 + timedelta(hours=hours)).isoformat()
    return {"event_id": event_id, "type": type_, "event_time": when, **fields}


def erasure(request_id: str, customer: str, hours: float) -> dict[str, Any]:
    at = T0 + timedelta(hours=hours)
    return ErasureRequest(request_id=request_id, customer_id=customer, requested_at=at).model_dump(
        mode="json"
    )


LINES = [
    event("a1", 0, "page_viewed", anonymous_id="anon-1"),
    event("s1", 1, "signed_up", customer_id="c-1"),
    event("i1", 2, "identify", customer_id="c-1", anonymous_id="anon-1"),
    erasure("r1", "c-1", 3),
    event("s2", 4, "signed_up", customer_id="c-1"),  # afresh: welcomed again
    event("a2", 5, "page_viewed", anonymous_id="anon-1"),  # no longer linked
]


def items_of(lines: list[dict[str, Any]]) -> list[Item]:
    data = b"\n".join(orjson.dumps(line) for line in lines)
    return list(decode_file(data, "story.jsonl", judged_at=T0 + timedelta(days=1)))


def test_a_line_that_is_an_erasure_request_erases_there_and_states_start_afresh() -> None:
    items = items_of(LINES)
    assert isinstance(items[3], Erasure) and items[3].origin == "story.jsonl:4"
    records = list(timeline([J], items, until=None))
    (record,) = [r for r in records if r["type"] == "erasure"]
    assert record == {
        "type": "erasure",
        "time": "2026-03-02T15:00:00Z",
        "customer_id": "c-1",
        "request_id": "r1",
        "journeys": ["lifecycle"],
        "linked_ids": ["anon-1"],
        "suppressed_until": None,
        "origin": "story.jsonl:4",
    }
    welcomes = [r for r in records if r["type"] == "trigger" and r["trigger"]["rule"] == "welcome"]
    assert [w["trigger"]["cause"]["event_ids"] for w in welcomes] == [["s1"], ["s2"]]
    replayer = Replayer([J])
    for item in items:
        if isinstance(item, Erasure):
            replayer.erasures.apply(replayer, item.request)
        elif isinstance(item, Arrival):
            replayer.event(item.event)
    assert replayer.states["c-1"]["lifecycle"].events == 1
    assert replayer.states["anon-1"]["lifecycle"].events == 1
    assert replayer.links == {}


def test_an_erasure_naming_the_anonymous_id_lists_the_journeys_its_identity_held() -> None:
    """anon-1's state was merged into c-1's: erasing anon-1 erased it (before: [])."""
    lines = [*LINES[:3], erasure("r1", "anon-1", 3)]
    records = list(timeline([J], items_of(lines), until=None))
    (record,) = [r for r in records if r["type"] == "erasure"]
    assert (record["customer_id"], record["journeys"], record["linked_ids"]) == (
        "anon-1",
        ["lifecycle"],
        ["c-1"],
    )


def test_with_a_suppression_period_the_erased_ids_events_are_dropped() -> None:
    records = list(timeline([J], items_of(LINES), until=None, suppress_days=1))
    statuses = {r["event_id"]: r["status"] for r in records if r["type"] == "event"}
    assert (statuses["s2"], statuses["a2"]) == ("erased", "erased")
    (record,) = [r for r in records if r["type"] == "erasure"]
    assert record["suppressed_until"] == "2026-03-03T15:00:00Z"


def test_an_invalid_erasure_line_is_a_dead_letter() -> None:
    bad = {"kind": "erasure_request", "customer_id": "c-1"}
    (item,) = items_of([bad])
    assert not isinstance(item, Erasure | Arrival)
    assert item.reason == "schema_violation"


def test_diff_replays_the_erasures_too() -> None:
    items = items_of(LINES)
    with_erasure = replay_triggers(J, items, None)
    without = replay_triggers(J, [i for i in items if not isinstance(i, Erasure)], None)
    assert [t.rule for t in with_erasure].count("welcome") == 2
    assert [t.rule for t in without].count("welcome") == 1
    report = compare(J, J, items, until=None)
    assert (report.events, report.deadletters, report.changed) == (5, 0, False)


def test_the_replay_command_shows_the_erasure(journeys_cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in LINES))
    result = journeys_cli("replay", "c-1", "--file", str(path), "--no-timers")
    assert result.code == 0, result.err
    (row,) = [line for line in result.out.splitlines() if " erasure " in line]
    assert "c-1 erased (r1) with anon-1" in row
