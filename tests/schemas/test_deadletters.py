"""Dead letters fit in a Kafka message: large originals are kept as a flagged prefix."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from schemas import DeadLetter, Rejection, RejectReason, dead_letter, decode_touchpoints, dumps
from schemas.deadletters import (
    MAX_DEAD_LETTER_KEY_BYTES,
    MAX_DEAD_LETTER_MESSAGE_CHARS,
    MAX_DEAD_LETTER_PAYLOAD_BYTES,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
KAFKA_MESSAGE_LIMIT = 1_000_000  # the broker default max.message.bytes is 1,048,588


def letter(raw: bytes, key: bytes | str | None = b"k", message: str = "$: x") -> DeadLetter:
    return dead_letter(
        raw,
        Rejection(RejectReason.TOO_LARGE, message),
        topic="journeys.touchpoints.v1",
        partition=0,
        offset=7,
        key=key,
        seen_at=NOW,
    )


def test_a_900_kb_message_gives_a_dead_letter_that_fits_and_names_the_original() -> None:
    raw = b'{"blob": "' + b"x" * 900_000 + b'"}'
    (rejection,) = decode_touchpoints(raw, received_at=NOW).rejections
    assert rejection.reason == RejectReason.TOO_LARGE
    dl = dead_letter(raw, rejection, topic="t", partition=0, offset=1, key=b"c-1", seen_at=NOW)
    encoded = dumps(dl)
    assert len(encoded) < KAFKA_MESSAGE_LIMIT
    assert dl.payload_truncated
    assert dl.payload_size == len(raw)
    assert dl.payload_sha256 == hashlib.sha256(raw).hexdigest()
    assert dl.payload() == raw[:MAX_DEAD_LETTER_PAYLOAD_BYTES]
    assert DeadLetter.model_validate_json(encoded) == dl


def test_a_small_original_is_kept_whole_with_its_digest() -> None:
    raw = b"\x00\xffnot json"
    dl = letter(raw)
    assert not dl.payload_truncated and not dl.key_truncated
    assert dl.payload() == raw and dl.key() == b"k" and dl.key_size == 1
    assert dl.payload_sha256 == hashlib.sha256(raw).hexdigest()


def test_the_bound_is_inclusive() -> None:
    raw = b"y" * MAX_DEAD_LETTER_PAYLOAD_BYTES
    assert not letter(raw).payload_truncated
    assert letter(raw + b"y").payload_truncated


def test_the_worst_case_dead_letter_fits() -> None:
    dl = letter(
        b"\x00" * 1_048_576,
        key=b"\xff" * 1_048_576,
        message="\x01" * (MAX_DEAD_LETTER_MESSAGE_CHARS * 10),
    )
    assert dl.payload_truncated and dl.key_truncated
    assert dl.key_size == 1_048_576
    key = dl.key()
    assert key is not None and len(key) == MAX_DEAD_LETTER_KEY_BYTES
    assert len(dl.message) == MAX_DEAD_LETTER_MESSAGE_CHARS
    assert len(dumps(dl)) < 400_000


@pytest.mark.parametrize("key", ["c-1", "\ud800 lone surrogate", None])
def test_text_keys_are_kept_as_utf8(key: str | None) -> None:
    dl = letter(b"{}", key=key)
    if key is None:
        assert dl.key_b64 is None and dl.key_size is None
    else:
        assert dl.key() == key.encode("utf-8", "surrogatepass")


def test_a_dead_letter_from_before_the_new_fields_still_reads() -> None:
    old = {
        "schema_version": 1,
        "reason": "invalid_json",
        "message": "$: not valid JSON",
        "payload_b64": base64.b64encode(b"{").decode(),
        "payload_size": 1,
        "seen_at": "2026-11-02T12:00:00Z",
    }
    dl = DeadLetter.model_validate(old)
    assert dl.payload_sha256 is None and not dl.payload_truncated and dl.payload() == b"{"
