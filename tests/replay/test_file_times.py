"""File replay takes a message's receive time from the file alone (never the wall
clock), so two replays of a file agree; future skew is judged against ``--until``/now; in
a file that states no time, each untimed message is reported, never placed at 1970."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from streams.replay.inputs import EPOCH, UNTIMED, UNTIMED_MESSAGE, decode_file
from streams.replay.timeline import Arrival, Unreadable
from tests.replay.conftest import CliRunner

T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def track(message_id: str, **fields: str) -> bytes:
    return orjson.dumps(
        {"type": "track", "event": "Page Viewed", "userId": "u-1", "messageId": message_id} | fields
    )


def times(data: bytes, judged_at: datetime = NOW) -> list[datetime]:
    return [
        i.event.event_time
        for i in decode_file(data, "f", judged_at=judged_at)
        if isinstance(i, Arrival)
    ]


def test_an_untimed_message_is_received_when_the_one_before_it_was() -> None:
    data = b"\n".join([track("m1", timestamp="2026-03-02T09:00:00Z"), track("m2")])
    assert times(data) == [T1, T1]
    assert times(data, judged_at=NOW + timedelta(days=300)) == [T1, T1]  # not the clock


def test_untimed_messages_before_the_first_stated_time_take_it() -> None:
    data = b"\n".join([track("m1"), track("m2", receivedAt="2026-03-02T10:00:00Z")])
    assert times(data) == [T2, T2]


def test_in_a_file_that_states_no_time_each_untimed_message_is_reported() -> None:
    """Before: received, and so placed, at the Unix epoch, silently."""
    data = b"\n".join([track("m1"), b"{not json", track("m2", userId="u-2")])
    items = list(decode_file(data, "f", judged_at=NOW))
    assert [(type(i), i.origin, i.reason, i.key) for i in items if isinstance(i, Unreadable)] == [
        (Unreadable, "f:1", UNTIMED, "u-1"),
        (Unreadable, "f:2", "invalid_json", None),
        (Unreadable, "f:3", UNTIMED, "u-2"),
    ]
    assert not any(isinstance(i, Arrival) for i in items)
    assert items[0].message == UNTIMED_MESSAGE  # type: ignore[union-attr]
    assert items[0].raw == track("m1")  # type: ignore[union-attr]
    assert times(track("m1")) == [] and EPOCH not in times(data)


def test_each_event_of_an_untimed_batch_is_reported() -> None:
    batch = orjson.dumps(
        {
            "batch": [
                {"type": "track", "event": "A", "userId": "u-1", "messageId": "b1"},
                {"type": "identify", "userId": "u-2", "messageId": "b2"},
            ]
        }
    )
    items = list(decode_file(batch, "f", judged_at=NOW))
    assert [(i.reason, i.key) for i in items if isinstance(i, Unreadable)] == [
        (UNTIMED, "u-1"),
        (UNTIMED, "u-2"),
    ]


def test_an_event_time_alone_is_a_stated_time() -> None:
    """A message with an event time and no receive time is timed (received at its own
    time): untimed is only what no message of the file gives a time to."""
    canonical = orjson.dumps(
        {"event_id": "e1", "customer_id": "c-1", "type": "x", "event_time": T1.isoformat()}
    )
    items = list(decode_file(b"\n".join([canonical, track("m2")]), "f", judged_at=NOW))
    assert [(i.event.event_id, i.event.received_at) for i in items if isinstance(i, Arrival)] == [
        ("e1", T1),
        ("m2", T1),
    ]


def test_segment_times_without_offset_or_as_numbers_are_stated_times() -> None:
    """As Segment's adapter reads them (UTC, Unix time): before, such a file stated no
    time, and the message after one was placed at the epoch."""
    naive = b"\n".join([track("m1", timestamp="2026-03-02T09:00:00"), track("m2")])
    assert times(naive) == [T1, T1]
    unix = orjson.dumps({**orjson.loads(track("m1")), "timestamp": T2.timestamp()})
    assert times(b"\n".join([unix, track("m2")])) == [T2, T2]


def test_a_sent_time_without_a_receive_time_means_no_clock_skew_correction() -> None:
    data = track("m1", timestamp="2026-03-02T09:00:00Z", sentAt="2026-03-02T09:00:05Z")
    assert times(data) == [T1]  # before: shifted by (now - sentAt), to the wall clock


def test_future_skew_is_judged_against_the_replay_reference_not_the_file() -> None:
    ahead = track("m1", timestamp="2031-03-02T09:00:00Z", receivedAt="2031-03-02T09:00:00Z")
    items = list(decode_file(ahead, "f", judged_at=NOW))
    assert [(type(i), getattr(i, "reason", None)) for i in items] == [
        (Unreadable, "future_timestamp")
    ]
    assert times(ahead, judged_at=datetime(2031, 3, 2, 9, tzinfo=UTC)) == [
        datetime(2031, 3, 2, 9, tzinfo=UTC)
    ]


def test_replay_shows_the_untimed_messages_and_sends_nothing_for_them(
    journeys_cli: CliRunner, tmp_path: Path
) -> None:
    """The case of issue 22: sign-ups with no time, replayed up to 2026, sent one
    anniversary trigger per year since 1970."""
    path = tmp_path / "untimed.jsonl"
    path.write_bytes(track("m1", event="Signed Up") + b"\n" + track("m2"))
    result = journeys_cli(
        "replay", "u-1", "--file", str(path), "--advance-to", "2026-03-02T00:00:00Z", "--json"
    )
    assert result.code == 0, result.err
    records = [orjson.loads(line) for line in result.out.splitlines()]
    assert [(r["type"], r["origin"], r["reason"]) for r in records] == [
        ("deadletter", "untimed.jsonl:1", UNTIMED),
        ("deadletter", "untimed.jsonl:2", UNTIMED),
    ]
