"""The decoder: canonical events, every reject reason, and never raising."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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
from schemas.decode import DEFAULT_MAX_FUTURE_SKEW
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
ISO_ONLY = "event_time: Input should be an ISO 8601 date-time string with an offset"
OUT_OF_RANGE = "is outside the accepted range 1970-01-01T00:00:00Z (inclusive) to 2200-01-01"
REJECTIONS = [
    (b"{not json", R.INVALID_JSON, "$: not valid JSON"),
    (b"\xff\xfe", R.INVALID_ENCODING, "$: not valid UTF-8 (byte 0xff at offset 0)"),
    (b'{"a": "\xed\xa0\x80"}', R.INVALID_ENCODING, "$: not valid UTF-8 (byte 0xed at offset 7)"),
    (b'"\\ud800"', R.INVALID_JSON, "$: not valid JSON"),  # UTF-8, but a lone surrogate
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
    (make(CANONICAL, event_id=None), R.MISSING_EVENT_ID, "event_id: Input should be"),
    (make(CANONICAL, event_id=""), R.MISSING_EVENT_ID, "event_id: String should have at least"),
    (make(CANONICAL, event_id=5), R.SCHEMA_VIOLATION, "event_id: Input should be a valid string"),
    (make(TRACK, messageId={"id": 1}), R.SCHEMA_VIOLATION, "messageId: Input should be a valid"),
    (make(TRACK, messageId=1.5), R.SCHEMA_VIOLATION, "messageId: Input should be a valid"),
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
    (make(CANONICAL, event_time=1762074900), R.INVALID_TIMESTAMP, ISO_ONLY),
    (make(CANONICAL, event_time=1762074900.5), R.INVALID_TIMESTAMP, ISO_ONLY),
    (make(CANONICAL, event_time="1762074900"), R.INVALID_TIMESTAMP, ISO_ONLY),
    (make(CANONICAL, received_at=1762074900), R.INVALID_TIMESTAMP, "received_at: Input should"),
    (make(CANONICAL, event_time="9999-12-31T23:59:59Z"), R.TIMESTAMP_OUT_OF_RANGE, OUT_OF_RANGE),
    (make(CANONICAL, event_time="0001-01-01T00:00:00Z"), R.TIMESTAMP_OUT_OF_RANGE, OUT_OF_RANGE),
    (
        make(CANONICAL, event_time="9999-12-31T23:59:59-05:00"),  # year 10000 in UTC
        R.TIMESTAMP_OUT_OF_RANGE,
        "event_time: 9999-12-31T23:59:59-05:00 is outside the accepted range",
    ),
    (
        make(CANONICAL, event_time="2200-01-01T00:00:00Z"),  # the bound is exclusive
        R.TIMESTAMP_OUT_OF_RANGE,
        OUT_OF_RANGE,
    ),
    (
        make(CANONICAL, received_at="1969-12-31T23:59:59Z"),
        R.TIMESTAMP_OUT_OF_RANGE,
        "received_at: 1969-12-31T23:59:59+00:00 is outside",
    ),
    (make(TRACK, timestamp="9999-12-31T00:00:00Z"), R.TIMESTAMP_OUT_OF_RANGE, OUT_OF_RANGE),
    (make(TRACK, timestamp="0001-01-01T00:00:00Z"), R.TIMESTAMP_OUT_OF_RANGE, OUT_OF_RANGE),
    (
        make(TRACK, timestamp="9999-12-31T23:59:59-05:00"),
        R.TIMESTAMP_OUT_OF_RANGE,
        "timestamp: 9999-12-31T23:59:59-05:00 is beyond the calendar once in UTC",
    ),
    (
        make(
            TRACK,
            timestamp=...,
            originalTimestamp="9999-12-31T00:00:00Z",
            sentAt="0001-01-01T00:00:00Z",
            receivedAt="2026-01-01T00:00:00Z",
        ),
        R.TIMESTAMP_OUT_OF_RANGE,
        "originalTimestamp: corrected by the clock skew (receivedAt - sentAt), it is beyond",
    ),
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
        b'{"event_id": "e", "customer_id": "c", "type": "t", "event_time": '
        b'"2026-01-01T00:00:00Z", "properties": {"n": 123456789012345678901234567890}}',
        R.SCHEMA_VIOLATION,
        "$: the integer 123456789012345678901234567890 does not fit in 64 bits",
    ),
    (
        b'{"batch": [], "n": -9223372036854775809}',  # one below -2**63
        R.SCHEMA_VIOLATION,
        "$: the integer -9223372036854775809 does not fit in 64 bits",
    ),
    (
        json.dumps(make(TRACK, messageId=2**64)).encode(),  # an id orjson would round
        R.SCHEMA_VIOLATION,
        "$: the integer 18446744073709551616 does not fit in 64 bits",
    ),
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
    # the worker's: processing_error (valid input it failed on) and too_late (tests/worker);
    # future_timestamp needs a skew (test_an_event_beyond_the_allowed_skew_...)
    worker = {RejectReason.PROCESSING_ERROR, RejectReason.TOO_LATE, RejectReason.FUTURE_TIMESTAMP}
    decoder = set(RejectReason) - worker
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


def test_integers_within_64_bits_are_kept_exactly() -> None:
    raw = (
        b'{"event_id": "e", "customer_id": "c", "type": "t", "event_time": '
        b'"2026-01-01T00:00:00Z", "properties": {"big": 18446744073709551615, '
        b'"low": -9223372036854775808, "text": "123456789012345678901234567890", '
        b'"float": 12345678901234567890.5, "exp": 1e30}}'
    )
    decoded = decode_touchpoints(raw, received_at=NOW)
    assert decoded.rejections == []
    (event,) = decoded.events
    assert event.properties == {
        "big": 2**64 - 1,
        "low": -(2**63),
        "text": "123456789012345678901234567890",  # digits in a string are only text
        "float": 12345678901234567890.5,  # written as a float: read as one
        "exp": 1e30,
    }
    assert type(event.properties["big"]) is int


@pytest.mark.parametrize(
    "when", ["1970-01-01T00:00:00Z", "2199-12-31T23:59:59.999999Z", "2200-01-01T01:00:00+02:00"]
)
def test_the_ends_of_the_time_range_are_accepted(when: str) -> None:
    decoded = decode_touchpoints(orjson.dumps(make(CANONICAL, event_time=when)), received_at=NOW)
    assert decoded.rejections == []
    assert decoded.events[0].event_time == datetime.fromisoformat(when)


def test_a_model_built_in_python_is_held_to_the_time_range() -> None:
    for when in (datetime(9999, 12, 31, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)):
        with pytest.raises(ValidationError, match="timestamp_out_of_range"):
            TouchpointEvent(event_id="e", customer_id="c", type="x", event_time=when)
    with pytest.raises(ValidationError, match="iso_date_time"):
        TouchpointEvent(event_id="e", customer_id="c", type="x", event_time=1762074900)  # type: ignore[arg-type]  # the point of the test


def test_an_event_beyond_the_allowed_skew_is_rejected_and_the_rest_of_its_batch_kept() -> None:
    received = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    skew = DEFAULT_MAX_FUTURE_SKEW
    assert skew == timedelta(hours=1)

    def track(message_id: str, timestamp: str) -> dict[str, Any]:
        return {"type": "track", "event": "Clicked", "userId": "u1", "messageId": message_id,
                "timestamp": timestamp, "receivedAt": "2026-11-01T12:00:00Z",
                "sentAt": "2026-11-01T12:00:00Z"}  # fmt: skip

    batch = {"batch": [track("ok", "2026-11-01T12:59:59Z"), track("ahead", "2031-11-01T12:00:00Z")]}
    decoded = decode_touchpoints(orjson.dumps(batch), received_at=received, max_future_skew=skew)
    assert [e.event_id for e in decoded.events] == ["ok"]
    [rejection] = decoded.rejections
    assert rejection.reason == RejectReason.FUTURE_TIMESTAMP
    assert rejection.message == (
        "event_time: 2031-11-01T12:00:00Z is 1825 days, 23:00:00 later than the receive "
        "time plus the allowed skew (2026-11-01T13:00:00Z)"
    )
    unbounded = decode_touchpoints(orjson.dumps(batch), received_at=received)
    assert [e.event_id for e in unbounded.events] == ["ok", "ahead"]
