"""A request body into single messages: Segment's shapes and limits, gzip, receivedAt."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import orjson
import pytest

from schemas.decode import decode_touchpoints
from streams.collector.messages import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    BadRequest,
    canonical,
    decompress,
    split,
)
from tests.collector.fixtures import T0, track

STAMP = "2026-11-02T12:00:00Z"


def one(endpoint: str, doc: object) -> list[dict[str, Any]]:
    return [orjson.loads(v) for v in split(endpoint, orjson.dumps(doc), STAMP).values]


def refused(endpoint: str, body: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        split(endpoint, body, STAMP)
    return caught.value


@pytest.mark.parametrize("endpoint", ["track", "identify", "page", "screen", "group", "alias"])
def test_a_single_message_takes_its_endpoints_type_and_the_stamp(endpoint: str) -> None:
    [message] = one(endpoint, {"type": "other", "userId": "u", "messageId": "m"})
    assert message["type"] == endpoint
    assert message["receivedAt"] == STAMP


def test_a_batch_is_split_and_the_envelope_travels_with_each_item() -> None:
    envelope = {
        "batch": [
            track("m1", context={"ip": "1.2.3.4"}),
            track("m2", sentAt="2026-11-02T11:59:30Z", context=None),
        ],
        "sentAt": "2026-11-02T11:59:50Z",
        "context": {"ip": "0.0.0.0", "locale": "de-DE"},
        "writeKey": "secret",
    }
    first, second = one("batch", envelope)
    assert first["sentAt"] == "2026-11-02T11:59:50Z"
    assert first["context"]["ip"] == "1.2.3.4"  # the item's own wins
    assert first["context"]["locale"] == "de-DE"
    assert second["sentAt"] == "2026-11-02T11:59:30Z"
    assert second["context"] == {"ip": "0.0.0.0", "locale": "de-DE"}
    assert all(m["receivedAt"] == STAMP for m in (first, second))
    assert "writeKey" not in first and "writeKey" not in second


def test_an_item_alone_decodes_as_inside_its_batch() -> None:
    envelope = {
        "batch": [track("m1", timestamp=None, originalTimestamp="2026-11-02T11:00:00Z")],
        "sentAt": "2026-11-02T11:00:10Z",
    }
    whole = decode_touchpoints(orjson.dumps(envelope), received_at=T0).events
    [value] = split("batch", orjson.dumps(envelope), STAMP).values
    alone = decode_touchpoints(value, received_at=T0).events
    assert alone == whole
    # the device clock was 59 min 50 s behind: corrected by receivedAt - sentAt
    assert alone[0].event_time.isoformat() == "2026-11-02T11:59:50+00:00"


def test_the_write_key_of_the_body_is_returned_not_stored() -> None:
    body = split("batch", orjson.dumps({"batch": [track("m1")], "writeKey": "k"}), STAMP)
    assert body.write_key == "k"
    assert b"writeKey" not in body.values[0]
    assert split("track", orjson.dumps(track("m1", writeKey="k2")), STAMP).write_key == "k2"
    assert split("batch", orjson.dumps({"batch": [], "writeKey": 5}), STAMP).write_key is None
    assert canonical("b") == "batch" and canonical("track") == "track"
    assert canonical("nope") is None


def test_a_client_receivedAt_is_replaced_and_a_writeKey_dropped() -> None:
    [message] = one("track", track("m1", receivedAt="1999-01-01T00:00:00Z", writeKey="k"))
    assert message["receivedAt"] == STAMP
    assert "writeKey" not in message


def test_items_that_are_not_messages_are_passed_on_for_the_decoder() -> None:
    values = split("import", orjson.dumps({"batch": [5, "x", track("m1")]}), STAMP).values
    assert values[:2] == [b"5", b'"x"']


def test_an_integer_beyond_64_bits_keeps_its_digits() -> None:
    body = (
        b'{"batch":[{"type":"track","event":"e","userId":"u","messageId":"m",'
        b'"properties":{"n":123456789012345678901234567890}}]}'
    )
    [value] = split("batch", body, STAMP).values
    assert b"123456789012345678901234567890" in value
    [rejection] = decode_touchpoints(value, received_at=T0).rejections
    assert rejection.reason == "schema_violation"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{nope", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_body"),
        (b'{"batch": {"type": "track"}}', "invalid_body"),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, code: str) -> None:
    assert refused("batch", body).code == code


def test_a_message_over_32_kb_is_refused_with_its_index() -> None:
    big = track("m2", properties={"blob": "x" * MAX_MESSAGE_BYTES})
    error = refused("batch", orjson.dumps({"batch": [track("m1"), big]}))
    assert (error.status, error.code) == (413, "message_too_large")
    assert "batch[1]" in error.message and "32 KB" in error.message
    single = refused("track", orjson.dumps(big))
    assert single.code == "message_too_large"


def test_a_batch_over_500_kb_is_refused() -> None:
    items = [track(f"m{i}", properties={"blob": "x" * 20_000}) for i in range(30)]
    body = orjson.dumps({"batch": items})
    assert len(body) > MAX_BATCH_BYTES
    error = refused("batch", body)
    assert (error.status, error.code) == (413, "batch_too_large")
    assert "500 KB" in error.message


def test_gzip_bodies_are_inflated_within_the_limit() -> None:
    body = orjson.dumps({"batch": [track("m1")]})
    assert decompress("batch", gzip.compress(body), "gzip") == body
    assert decompress("batch", body, None) == body
    bomb = gzip.compress(b" " * (MAX_BATCH_BYTES + 10))
    assert len(bomb) < 2_000
    with pytest.raises(BadRequest) as caught:
        decompress("batch", bomb, "gzip")
    error = caught.value
    assert (error.status, error.code) == (413, "batch_too_large")
    assert "once decompressed" in error.message


@pytest.mark.parametrize(
    ("raw", "encoding", "code", "status"),
    [
        (b"not gzip at all", "gzip", "invalid_gzip", 400),
        (gzip.compress(b'{"batch": []}')[:-9], "gzip", "invalid_gzip", 400),
        (zlib.compress(b"{}"), "br", "unsupported_encoding", 415),
    ],
)
def test_bad_encodings_are_refused(raw: bytes, encoding: str, code: str, status: int) -> None:
    with pytest.raises(BadRequest) as caught:
        decompress("batch", raw, encoding)
    assert (caught.value.code, caught.value.status) == (code, status)
