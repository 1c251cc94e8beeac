"""Where a message goes is the decoder's decision: touchpoints by the key contract, or
dead letters with the reasons the worker gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from schemas import DeadLetter
from schemas.decode import decode_touchpoints
from streams.collector.routing import route
from tests.collector.fixtures import T0, track

SKEW = timedelta(hours=1)


@pytest.mark.parametrize(
    ("message", "key"),
    [
        (track("m1", user="u-1", anonymousId="a-1"), b"u-1"),
        (track("m1", user=None, anonymousId="a-1"), b"a-1"),
        ({**track("m1"), "userId": 42}, b"42"),
        ({"type": "alias", "messageId": "m", "userId": "u-9", "previousId": "a-9"}, b"u-9"),
    ],
)
def test_accepted_messages_are_keyed_by_customer_else_anonymous_id(
    message: dict[str, Any], key: bytes
) -> None:
    value = orjson.dumps(message)
    [record] = route(value, T0, SKEW)
    assert (record.role, record.key, record.value) == ("touchpoints", key, value)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (track("m1", user=None), "missing_identity"),
        (track("", user="u-1"), "missing_event_id"),
        ({"type": "track", "userId": "u-1", "messageId": "m"}, "schema_violation"),
        (track("m1", timestamp="2026-11-02T14:00:00Z"), "future_timestamp"),
        ({"type": "purchase", "messageId": "m", "userId": "u-2"}, "unsupported_segment_type"),
        (5, "not_an_object"),
    ],
)
def test_rejected_messages_become_the_workers_dead_letters(message: Any, reason: str) -> None:
    value = orjson.dumps(message)
    [record] = route(value, T0, SKEW)
    assert record.role == "deadletters" and record.reason == reason
    letter = DeadLetter.model_validate_json(record.value)
    [expected] = decode_touchpoints(value, received_at=T0, max_future_skew=SKEW).rejections
    assert (letter.reason, letter.message) == (expected.reason, expected.message)
    assert letter.payload() == value
    assert letter.topic is None and letter.seen_at == T0
    named = message.get("userId") if isinstance(message, dict) else None
    assert record.key == (named.encode() if named else None)
    assert letter.key() == record.key
