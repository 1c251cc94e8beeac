"""The Segment adapter: every call type, the event-time rule, the batch envelope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from schemas import Rejection, RejectReason, decode_touchpoints
from tests.schemas.payloads import ALIAS, GROUP, IDENTIFY, PAGE, SCREEN, TRACK, make

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def decode_one(obj: Any) -> Any:
    decoded = decode_touchpoints(orjson.dumps(obj), received_at=NOW)
    assert decoded.rejections == [], decoded.rejections
    assert len(decoded.events) == 1
    return decoded.events[0]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            TRACK,
            {
                "event_id": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
                "customer_id": "AiUGstSDIg",
                "anonymous_id": "507f191e810c19729de860ea",
                "type": "course_clicked",
                "event_time": ts("2015-12-12T19:11:01.249+00:00"),
                "received_at": ts("2015-12-12T19:11:01.266+00:00"),
                "source": "segment",
                "channel": "browser",
                "properties": {"title": "Intro to Analytics"},
                "traits": {"email": "peter@example.com", "plan": "premium"},
                "context": {"locale": "nl-NL", "timezone": "Europe/Amsterdam"},
            },
            id="track",
        ),
        pytest.param(
            IDENTIFY,
            {
                "type": "identified",
                "customer_id": "97980cfea0067",
                "properties": {},
                "traits": {
                    "plan": "premium",  # the message's traits win over context.traits
                    "name": "Peter Gibbons",
                    "email": "peter@example.com",
                    "logins": 5,
                    "address": {"street": "6th St", "city": "San Francisco", "postalCode": "94103"},
                },
                "context": {"locale": None, "timezone": None},
            },
            id="identify",
        ),
        pytest.param(
            PAGE,
            {
                "type": "page_viewed",
                "channel": "browser",
                "properties": {
                    "title": "Welcome | Initech",
                    "url": "http://www.example.com",
                    "name": "Home",
                    "category": "Docs",
                },
                "traits": {},
            },
            id="page",
        ),
        pytest.param(
            SCREEN,
            {
                "type": "screen_viewed",
                "customer_id": "97980",  # a numeric userId becomes a string
                "channel": "mobile",
                "properties": {"Feed Type": "private", "name": "Home"},
                "context": {"locale": "en-US", "timezone": "America/Los_Angeles"},
            },
            id="screen",
        ),
        pytest.param(
            GROUP,
            {
                "type": "group_joined",
                "customer_id": "97980cfea0067",
                "properties": {
                    "group_id": "0e8c78ea9d97a7b8185e8632",
                    "group_traits": {
                        "name": "Initech",
                        "industry": "Technology",
                        "employees": 329,
                        "plan": "enterprise",
                    },
                },
                "traits": {},
            },
            id="group",
        ),
        pytest.param(
            ALIAS,
            {
                "type": "aliased",
                "customer_id": "507f191e81",
                "anonymous_id": "39239-239239-239239-23923",
                "properties": {"previous_id": "39239-239239-239239-23923"},
                "channel": "server",
            },
            id="alias",
        ),
        pytest.param(
            make(TRACK, channel=..., userId=None, anonymousId=12345),
            {"customer_id": None, "anonymous_id": "12345", "channel": "analytics.js"},
            id="numeric-anonymous-id-and-library-as-channel",
        ),
        pytest.param(
            make(TRACK, userId="", event="orderCompleted"),
            {"customer_id": None, "type": "order_completed"},
            id="empty-user-id-is-absent",
        ),
        pytest.param(
            make(TRACK, context={"timezone": "Mars/Olympus_Mons", "locale": "x" * 40}),
            {"context": {"timezone": None, "locale": None}, "traits": {}},
            id="device-context-junk-is-dropped",
        ),
        pytest.param(
            make(TRACK, properties=None, context=None, writeKey="abc", _metadata={"x": 1}),
            {"properties": {}, "traits": {}, "channel": "browser"},
            id="nulls-and-unknown-fields",
        ),
    ],
)
def test_segment_call_maps_to_canonical(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    event = decode_one(payload)
    dumped = event.model_dump()
    assert {name: dumped[name] for name in expected} == expected


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        pytest.param(
            {"timestamp": "2026-01-01T10:00:00Z", "originalTimestamp": "2026-01-01T09:00:00Z"},
            "2026-01-01T10:00:00+00:00",
            id="timestamp-wins",
        ),
        pytest.param(
            {
                "originalTimestamp": "2026-01-01T10:00:00Z",
                "sentAt": "2026-01-01T10:00:05Z",
                "receivedAt": "2026-01-01T10:02:05Z",
            },
            "2026-01-01T10:02:00+00:00",
            id="original-corrected-by-skew",
        ),
        pytest.param(
            {"originalTimestamp": "2026-01-01T10:00:00Z", "sentAt": "2026-01-01T10:00:05Z"},
            (NOW - timedelta(seconds=5)).isoformat(),  # skew from the record time (issue 13)
            id="original-corrected-by-the-record-time",
        ),
        pytest.param(
            {"originalTimestamp": "2026-01-01T10:00:00Z", "receivedAt": "2026-01-01T11:00:00Z"},
            "2026-01-01T10:00:00+00:00",
            id="original-without-sent",
        ),
        pytest.param(
            {"receivedAt": "2026-01-01T11:00:00Z"}, "2026-01-01T11:00:00+00:00", id="received"
        ),
        pytest.param({}, NOW.isoformat(), id="decoder-received-at"),
        pytest.param(
            {"timestamp": "2026-01-01T10:00:00"}, "2026-01-01T10:00:00+00:00", id="no-offset-is-utc"
        ),
        pytest.param(
            {"timestamp": "2026-01-01T10:00:00+02:00"},
            "2026-01-01T08:00:00+00:00",
            id="offset-converted-to-utc",
        ),
        pytest.param({"timestamp": 1767261600}, "2026-01-01T10:00:00+00:00", id="unix-seconds"),
        pytest.param(
            {"timestamp": 1767261600000}, "2026-01-01T10:00:00+00:00", id="unix-milliseconds"
        ),
    ],
)
def test_event_time_rule(times: dict[str, Any], expected: str) -> None:
    base = make(TRACK, timestamp=..., originalTimestamp=..., sentAt=..., receivedAt=...)
    event = decode_one({**base, **times})
    assert event.event_time == datetime.fromisoformat(expected)
    assert event.event_time.tzinfo == UTC


def test_received_at_prefers_segment_received_at() -> None:
    assert decode_one(TRACK).received_at == ts("2015-12-12T19:11:01.266+00:00")
    assert decode_one(make(TRACK, receivedAt=...)).received_at == NOW


def test_batch_envelope_with_one_bad_item() -> None:
    first = make(TRACK, messageId="m-1", timestamp=..., sentAt=..., context={"locale": "de-DE"})
    bad = make(TRACK, messageId=...)
    third = make(IDENTIFY, messageId="m-3", timestamp=..., sentAt=..., originalTimestamp=...)
    envelope = {
        "batch": [first, bad, third],
        "sentAt": "2015-12-12T19:11:01.169Z",
        "context": {"library": {"name": "analytics-node", "version": "6.0.0"}, "locale": "en"},
        "writeKey": "abc",
    }
    decoded = decode_touchpoints(orjson.dumps(envelope), received_at=NOW)
    assert decoded.rejections == [
        Rejection(RejectReason.MISSING_EVENT_ID, "messageId: Field required", 1)
    ]
    assert [e.event_id for e in decoded.events] == ["m-1", "m-3"]
    one, three = decoded.events
    # envelope sentAt drives the skew correction of item 0: 01.152 + (01.266 - 01.169)
    assert one.event_time == ts("2015-12-12T19:11:01.249+00:00")
    assert one.context.locale == "de-DE"  # the item's own context wins key by key
    assert three.event_time == ts("2015-02-23T22:28:55.387+00:00")  # receivedAt
    assert three.context.locale == "en"  # the envelope's context fills in


def test_batch_item_errors_are_indexed() -> None:
    envelope = {"batch": [5, make(TRACK, type="ping"), make(TRACK, event="!!!"), TRACK]}
    decoded = decode_touchpoints(orjson.dumps(envelope), received_at=NOW)
    assert [(r.reason, r.item_index) for r in decoded.rejections] == [
        (RejectReason.NOT_AN_OBJECT, 0),
        (RejectReason.UNSUPPORTED_SEGMENT_TYPE, 1),
        (RejectReason.SCHEMA_VIOLATION, 2),
    ]
    assert decoded.rejections[2].message == "event: has no letters or digits"
    assert len(decoded.events) == 1


def test_empty_batch_gives_nothing() -> None:
    decoded = decode_touchpoints(b'{"batch": []}', received_at=NOW)
    assert decoded.events == [] and decoded.rejections == []


def test_skew_correction_is_exact() -> None:
    sent = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)
    payload = make(
        TRACK,
        timestamp=...,
        originalTimestamp="2026-01-01T10:00:00.000Z",
        sentAt=sent.isoformat(),
        receivedAt=(sent + timedelta(hours=-1, milliseconds=7)).isoformat(),
    )
    expected = datetime(2026, 1, 1, 9, 0, 0, 7000, tzinfo=UTC)
    assert decode_one(payload).event_time == expected
