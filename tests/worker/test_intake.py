"""How the journey agent sorts an input message (no faust): the key contract, the trust
boundary between sources and the worker's own topics, rejections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas import codec
from schemas.deadletters import RejectReason
from schemas.events import TouchpointEvent
from schemas.internal import MergeRequest, Wakeup
from streams.kafka.keys import key_text
from streams.worker.intake import from_internal, from_source

RECEIVED = datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC)
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def canonical(event_id: str, **identity: str) -> bytes:
    return json.dumps(
        {"event_id": event_id, "type": "Page Viewed", "event_time": "2026-11-01T10:00:00Z"}
        | identity
    ).encode()


def test_a_touchpoint_keyed_by_its_identity_is_processed_where_it_is_read() -> None:
    intake = from_source(b"cust-1", canonical("e1", customer_id="cust-1"), RECEIVED)
    [event] = intake.here
    assert (event.key, event.type, intake.rekey, intake.rejections) == (
        "cust-1", "page_viewed", [], [],
    )  # fmt: skip
    anonymous = from_source(b"anon-1", canonical("e2", anonymous_id="anon-1"), RECEIVED)
    assert [e.key for e in anonymous.here] == ["anon-1"] and anonymous.rekey == []


def test_a_touchpoint_under_another_key_or_none_takes_the_rekey_hop() -> None:
    for key in (b"anon-1", None, b"\xff\xfe", "cust-2"):
        intake = from_source(
            key, canonical("e1", customer_id="cust-1", anonymous_id="anon-1"), RECEIVED
        )
        assert intake.here == [] and [e.key for e in intake.rekey] == ["cust-1"], key


def test_a_segment_batch_is_split_by_identity() -> None:
    batch = {
        "batch": [
            {"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1",
             "timestamp": "2026-11-01T09:59:00Z"},
            {"type": "track", "event": "Signed Up", "userId": "u2", "messageId": "m2",
             "timestamp": "2026-11-01T09:59:00Z"},
            {"type": "track", "event": "Signed Up", "messageId": "m3"},
        ]
    }  # fmt: skip
    intake = from_source(b"u1", json.dumps(batch).encode(), RECEIVED)
    assert [e.event_id for e in intake.here] == ["m1"]
    assert [e.event_id for e in intake.rekey] == ["m2"]
    assert [r.reason for r in intake.rejections] == [RejectReason.MISSING_IDENTITY]


def test_bad_bytes_from_a_source_are_rejected_with_their_reason() -> None:
    assert [r.reason for r in from_source(b"k", b"\xff not json", RECEIVED).rejections] == [
        RejectReason.INVALID_ENCODING  # not UTF-8 (issue 13)
    ]
    assert [r.reason for r in from_source(b"k", b"{not json", RECEIVED).rejections] == [
        RejectReason.INVALID_JSON
    ]
    assert [r.reason for r in from_source(None, b"", RECEIVED).rejections] == [
        RejectReason.INVALID_JSON
    ]


def test_an_internal_kind_is_trusted_from_the_workers_topics_only() -> None:
    wakeup = codec.dumps(Wakeup(customer_id="cust-1", at=T0))
    assert from_internal(b"cust-1", wakeup).internal == Wakeup(customer_id="cust-1", at=T0)
    forged = from_source(b"cust-1", wakeup, RECEIVED)
    assert forged.internal is None and forged.here == [] and forged.rekey == []
    assert [r.reason for r in forged.rejections] == [RejectReason.MISSING_EVENT_ID]


def test_the_workers_topics_carry_canonical_events_or_internal_messages() -> None:
    event = TouchpointEvent(event_id="e1", customer_id="c1", type="signed_up", event_time=T0)
    assert from_internal(b"c1", codec.dumps(event)).here == [event]
    request = MergeRequest(anonymous_id="a1", customer_id="c1", event_id="e1")
    assert from_internal(b"a1", codec.dumps(request)).internal == request
    for key, raw in (
        (b"c1", b"{not json"),
        (None, codec.dumps(event)),
        (b"c1", b'{"kind": "wakeup"}'),
    ):
        [rejection] = from_internal(key, raw).rejections
        assert rejection.reason == RejectReason.SCHEMA_VIOLATION, raw


def test_keys_are_read_as_utf8_text() -> None:
    assert [key_text(k) for k in (b"c1", "c1", None, b"\xff")] == ["c1", "c1", None, None]


def test_a_touchpoint_far_ahead_of_its_record_time_is_rejected_and_moves_no_clock() -> None:
    ahead = from_source(
        b"cust-1", canonical("e9", customer_id="cust-1"), RECEIVED - timedelta(days=1)
    )
    assert ahead.here == [] and [r.reason for r in ahead.rejections] == [
        RejectReason.FUTURE_TIMESTAMP
    ]
    within = from_source(
        b"cust-1", canonical("e9", customer_id="cust-1"), RECEIVED - timedelta(minutes=59)
    )
    assert [e.event_id for e in within.here] == ["e9"]
