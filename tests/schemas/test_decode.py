"""The decoder: canonical events, every reject reason, and never raising."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import (
    MAX_MESSAGE_BYTES,
    RejectReason,
    TouchpointEvent,
    decode_touchpoints,
    dumps,
)
from schemas.events import MAX_JSON_DEPTH, MAX_JSON_KEYS
from tests.schemas.payloads import CANONICAL, IDENTIFY, TRACK, make

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        node = {"n": node}
    return node


def test_canonical_event_is_accepted_and_normalised() -> None:
    decoded = decode_touchpoints(orjson.dumps(CANONICAL), received_at=NOW)
    assert decoded.rejections == []
    (event,) = decoded.events
    assert event.type == "order_completed"
    assert event.event_time == datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
    assert event.received_at == NOW  # filled in when the producer sent none
    assert event.key == "c-1042"


def test_canonical_received_at_is_kept() -> None:
    raw = orjson.dumps(make(CANONICAL, received_at="2026-11-02T09:16:00Z"))
    (event,) = decode_touchpoints(raw, received_at=NOW).events
    assert event.received_at == datetime(2026, 11, 2, 9, 16, tzinfo=UTC)


R = RejectReason
REJECTIONS = [
    (b"{not json", R.INVALID_JSON, "$: not valid JSON"),
    (b"\xff\xfe", R.INVALID_JSON, "$: not valid JSON"),
    (b"", R.INVALID_JSON, "$: not valid JSON"),
    (b"[1, 2]", R.NOT_AN_OBJECT, "$: expected an object, got an array"),
    (b'"track"', R.NOT_AN_OBJECT, "$: expected an object, got a string"),
    (b" " * (MAX_MESSAGE_BYTES + 1), R.TOO_LARGE, f"the limit is {MAX_MESSAGE_BYTES}"),
    (make(TRACK, properties={"blob": "x" * 70_000}), R.TOO_LARGE, "$: event is larger than"),
    (
        make(TRACK, properties=nested(MAX_JSON_DEPTH + 1)),
        R.TOO_LARGE,
        f"properties: nested deeper than {MAX_JSON_DEPTH} levels",
    ),
    (
        make(CANONICAL, traits={f"k{i}": i for i in range(MAX_JSON_KEYS + 1)}),
        R.TOO_LARGE,
        f"traits: more than {MAX_JSON_KEYS} keys",
    ),
    ({"foo": 1}, R.UNKNOWN_FORMAT, "$: neither a canonical event"),
    ({"type": "purchase", "userId": "u"}, R.UNKNOWN_FORMAT, "$: neither"),
    (make(TRACK, type="ping"), R.UNSUPPORTED_SEGMENT_TYPE, "type: 'ping' is not one of"),
    (make(TRACK, messageId=...), R.MISSING_EVENT_ID, "messageId: Field required"),
    (make(TRACK, messageId=""), R.MISSING_EVENT_ID, "messageId: String should have at least"),
    (make(CANONICAL, event_id=...), R.MISSING_EVENT_ID, "event_id: Field required"),
    (
        make(TRACK, userId=None, anonymousId=...),
        R.MISSING_IDENTITY,
        "userId/anonymousId: customer_id or anonymous_id is required",
    ),
    (
        make(CANONICAL, customer_id=...),
        R.MISSING_IDENTITY,
        "customer_id/anonymous_id: customer_id or anonymous_id is required",
    ),
    (
        {"type": "alias", "messageId": "m", "userId": "u"},
        R.MISSING_IDENTITY,
        "previousId: Field required",
    ),
    (make(TRACK, timestamp="yesterday"), R.INVALID_TIMESTAMP, "timestamp: Input should be"),
    (make(TRACK, sentAt=[1]), R.INVALID_TIMESTAMP, "sentAt: "),
    (make(CANONICAL, event_time="nope"), R.INVALID_TIMESTAMP, "event_time: Input should be"),
    (
        {"batch": [TRACK], "sentAt": "not a time"},
        R.INVALID_TIMESTAMP,
        "sentAt: Input should be",
    ),
    (
        make(CANONICAL, event_time="2026-11-02T09:15:00"),
        R.NAIVE_TIMESTAMP,
        "event_time: Input should have timezone info",
    ),
    (
        make(CANONICAL, received_at="2026-11-02T09:15:00"),
        R.NAIVE_TIMESTAMP,
        "received_at: Input should have timezone info",
    ),
    (make(TRACK, event=...), R.SCHEMA_VIOLATION, "event: Field required"),
    (make(TRACK, event=42), R.SCHEMA_VIOLATION, "event: Input should be a valid string"),
    (make(TRACK, userId=True), R.SCHEMA_VIOLATION, "userId: "),
    (make(TRACK, properties=[1]), R.SCHEMA_VIOLATION, "properties: Input should be"),
    (make(TRACK, context={"timezone": 3}), R.SCHEMA_VIOLATION, "context.timezone: "),
    (make(IDENTIFY, traits="x"), R.SCHEMA_VIOLATION, "traits: Input should be a valid dict"),
    (make(CANONICAL, colour="red"), R.SCHEMA_VIOLATION, "colour: Extra inputs are not permitted"),
    (make(CANONICAL, type="!!"), R.SCHEMA_VIOLATION, "type: type has no letters or digits"),
    (
        make(CANONICAL, context={"timezone": "Mars/Base"}),
        R.SCHEMA_VIOLATION,
        "context.timezone: unknown IANA time zone 'Mars/Base'",
    ),
    (make(CANONICAL, schema_version=True), R.SCHEMA_VIOLATION, "schema_version: Input should"),
    ({"batch": {"a": 1}}, R.SCHEMA_VIOLATION, "batch: Input should be a valid list"),
    (
        make(CANONICAL, schema_version=2),
        R.UNSUPPORTED_SCHEMA_VERSION,
        "schema_version: 2 is not supported (supported: 1)",
    ),
]


@pytest.mark.parametrize(("payload", "reason", "message"), REJECTIONS)
def test_reject_reason(payload: Any, reason: RejectReason, message: str) -> None:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    decoded = decode_touchpoints(raw, received_at=NOW)
    assert decoded.events == []
    (rejection,) = decoded.rejections
    assert rejection.reason == reason
    assert message in rejection.message, rejection.message
    assert rejection.item_index is None


def test_every_reason_is_exercised() -> None:
    # processing_error is the worker's, for valid input it failed on (tests/worker)
    decoder = set(RejectReason) - {RejectReason.PROCESSING_ERROR}
    assert {reason for _, reason, _ in REJECTIONS} == decoder


def test_all_errors_are_listed_most_specific_first() -> None:
    payload = make(CANONICAL, event_time="2026-11-02T09:15:00", colour="red", event_id=...)
    (rejection,) = decode_touchpoints(orjson.dumps(payload), received_at=NOW).rejections
    assert rejection.reason == RejectReason.MISSING_EVENT_ID
    assert rejection.message == (
        "event_id: Field required; event_time: Input should have timezone info; "
        "colour: Extra inputs are not permitted"
    )


def test_naive_datetime_is_rejected_by_the_model() -> None:
    with pytest.raises(ValidationError, match="Input should have timezone info"):
        TouchpointEvent(
            event_id="e",
            customer_id="c",
            type="x",
            event_time=datetime(2026, 1, 1),
        )


def test_naive_received_at_argument_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decode_touchpoints(b"{}", received_at=datetime(2026, 1, 1))


def _assert_sane(raw: bytes) -> None:
    decoded = decode_touchpoints(raw, received_at=NOW)
    assert decoded.events or decoded.rejections or raw.strip().startswith(b"{")
    for rejection in decoded.rejections:
        assert "internal error" not in rejection.message, rejection.message
        assert ": " in rejection.message
    for event in decoded.events:
        assert TouchpointEvent.model_validate(orjson.loads(dumps(event))) == event


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ids = st.none() | st.text(max_size=5) | st.integers() | st.booleans() | st.floats()
times = st.none() | st.text(max_size=30) | st.integers() | st.datetimes().map(str) | json_values
segment_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias", "x"])},
    optional={
        "messageId": ids,
        "userId": ids,
        "anonymousId": ids,
        "previousId": ids,
        "groupId": ids,
        "event": st.text(max_size=10) | json_values,
        "name": json_values,
        "properties": json_values,
        "traits": json_values,
        "context": st.fixed_dictionaries(
            {}, optional={"timezone": json_values, "locale": json_values, "traits": json_values}
        )
        | json_values,
        "timestamp": times,
        "originalTimestamp": times,
        "sentAt": times,
        "receivedAt": times,
    },
)
canonical_like = st.fixed_dictionaries(
    {"event_id": ids},
    optional={
        "schema_version": json_values,
        "customer_id": ids,
        "anonymous_id": ids,
        "type": st.text(max_size=10),
        "event_time": times,
        "received_at": times,
        "properties": json_values,
        "context": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decode_never_raises_on_bytes(raw: bytes) -> None:
    _assert_sane(raw)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decode_never_raises_on_json(value: Any) -> None:
    _assert_sane(json.dumps(value).encode())


@settings(max_examples=500, deadline=None)
@given(
    segment_like
    | canonical_like
    | st.fixed_dictionaries(
        {"batch": st.lists(segment_like | json_values, max_size=4)},
        optional={"sentAt": times, "context": json_values},
    )
)
def test_decode_never_raises_on_near_misses(value: Any) -> None:
    _assert_sane(json.dumps(value).encode())


def test_a_type_that_is_not_text_is_an_unknown_format_not_an_internal_error() -> None:
    for value in ([], {}, 3, None):
        [rejection] = decode_touchpoints(
            orjson.dumps({"type": value}), received_at=datetime(2026, 1, 1, tzinfo=UTC)
        ).rejections
        assert rejection.reason == RejectReason.UNKNOWN_FORMAT, value
