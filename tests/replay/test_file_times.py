"""File replay takes a message's receive time from the file alone (never the wall
clock), so two replays of a file agree; future skew is judged against ``--until``/now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from streams.replay.inputs import EPOCH, decode_file
from streams.replay.timeline import Arrival, Unreadable

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


def test_a_file_that_states_no_time_is_received_at_the_epoch() -> None:
    assert times(track("m1")) == [EPOCH]


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
