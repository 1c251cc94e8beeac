"""The codec, the money rule, dead letters and trigger ids."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, TypeAdapter

from schemas import (
    Cause,
    DeadLetter,
    EventContext,
    Rejection,
    RejectReason,
    SegmentBatch,
    SegmentMessage,
    TouchpointEvent,
    Trigger,
    dead_letter,
    dumps,
    loads,
    money_minor,
    trigger_id,
)
from tests.schemas.payloads import ALIAS, CANONICAL, GROUP, IDENTIFY, PAGE, SCREEN, TRACK

T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)


def make_trigger(**changes: Any) -> Trigger:
    fields: dict[str, Any] = {
        "trigger_id": trigger_id("c-1", "default", 3, "welcome", "event:e-1"),
        "customer_id": "c-1",
        "journey": "default",
        "journey_version": 3,
        "rule": "welcome",
        "kind": "onboarding.welcome",
        "priority": "marketing",
        "stage_before": "new",
        "stage_after": "welcomed",
        "cause": Cause(type="event", event_ids=["e-1"]),
        "cause_time": T0,
        "emitted_at": T0,
        "deliver_after": T0 + timedelta(hours=9, microseconds=250_000),
        "attributes": {"revenue_minor": 5990, "currency": "EUR"},
    }
    return Trigger(**{**fields, **changes})


MODELS: list[BaseModel] = [
    TouchpointEvent.model_validate(CANONICAL),
    EventContext(locale="fr-FR", timezone="Europe/Paris"),
    make_trigger(),
    make_trigger(cause=Cause(type="timer", timer="nudge_day_3", due_at=T0), deliver_after=None),
    Cause(type="timer", timer="t", due_at=T0),
    dead_letter(
        b"\x00\xffnot json",
        Rejection(RejectReason.INVALID_JSON, "$: not valid JSON", None),
        topic="journeys.touchpoints.v1",
        partition=3,
        offset=42,
        key=b"\x01key",
        seen_at=T0,
    ),
    SegmentBatch.model_validate({"batch": [TRACK, IDENTIFY], "sentAt": "2026-01-01T00:00:00Z"}),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_model_round_trip(model: BaseModel) -> None:
    assert type(model).model_validate(loads(dumps(model))) == model


@pytest.mark.parametrize("payload", [TRACK, IDENTIFY, PAGE, SCREEN, GROUP, ALIAS])
def test_segment_message_round_trip(payload: dict[str, Any]) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(SegmentMessage)
    message = adapter.validate_python(payload)
    assert adapter.validate_python(loads(dumps(message))) == message


def test_datetimes_are_utc_with_z() -> None:
    encoded = loads(dumps(make_trigger()))
    assert encoded["cause_time"] == "2026-11-02T09:15:00Z"
    assert encoded["deliver_after"] == "2026-11-02T18:15:00.250000Z"
    paris = timezone(timedelta(hours=1))
    plain = dumps({"at": datetime(2026, 11, 2, 10, 15, tzinfo=paris), "on": date(2026, 11, 2)})
    assert plain == b'{"at":"2026-11-02T09:15:00Z","on":"2026-11-02"}'


def test_plain_naive_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match="naive datetime"):
        dumps({"at": datetime(2026, 1, 1)})


def test_decimal_is_a_string_and_models_nest() -> None:
    out = dumps({"amount": Decimal("59.90"), "ctx": EventContext(locale="fr-FR")})
    assert orjson.loads(out) == {"amount": "59.90", "ctx": {"locale": "fr-FR", "timezone": None}}


@pytest.mark.parametrize(
    ("properties", "field", "expected"),
    [
        ({"revenue": 59.9, "currency": "EUR"}, "revenue", 5990),
        ({"revenue": "59.90", "currency": "EUR"}, "revenue", 5990),
        ({"revenue": 0.1 + 0.2}, "revenue", 30),
        ({"total": "1200", "currency": "JPY"}, "total", 1200),
        ({"total": 1.2345, "currency": "kwd"}, "total", 1234),
        ({"total": "0.125", "currency": "USD"}, "total", 12),  # half-even
        ({"total": 12}, "total", 1200),
        ({"total": "abc"}, "total", None),
        ({"total": "NaN"}, "total", None),
        ({"total": "1e999999999"}, "total", None),
        ({"total": True}, "total", None),
        ({"total": None}, "total", None),
        ({}, "total", None),
    ],
)
def test_money_minor(properties: dict[str, Any], field: str, expected: int | None) -> None:
    assert money_minor(properties, field) == expected


def test_money_minor_explicit_currency() -> None:
    assert money_minor({"price": 500, "currency": "EUR"}, "price", currency="JPY") == 500


def test_dead_letter_is_lossless() -> None:
    raw = b'{"type":"track"\xff'
    letter = dead_letter(
        raw,
        Rejection(RejectReason.MISSING_EVENT_ID, "messageId: Field required", 2),
        topic="t",
        partition=0,
        offset=7,
        key="c-1",
        seen_at=T0,
    )
    back = DeadLetter.model_validate(loads(dumps(letter)))
    assert back.payload() == raw
    assert back.key() == b"c-1"
    assert back.payload_size == len(raw)
    assert back.item_index == 2
    assert loads(dumps(letter))["reason"] == "missing_event_id"


def test_dead_letter_without_key() -> None:
    letter = dead_letter(
        b"",
        Rejection(RejectReason.INVALID_JSON, "$: x"),
        topic=None,
        partition=None,
        offset=None,
        key=None,
        seen_at=T0,
    )
    assert letter.key() is None and letter.payload() == b""


def test_dead_letter_rejects_bad_base64() -> None:
    with pytest.raises(ValueError, match="not valid base64"):
        DeadLetter(
            reason=RejectReason.TOO_LARGE,
            message="$",
            payload_b64="@@",
            payload_size=1,
            seen_at=T0,
        )
    assert base64.b64decode(MODELS[5].model_dump()["payload_b64"]) == b"\x00\xffnot json"


def test_trigger_id_is_deterministic() -> None:
    args = ("c-1", "default", 3, "welcome", "event:e-1")
    assert trigger_id(*args) == trigger_id(*args)
    # pinned: a change here changes every trigger id ever issued (redelivery detection)
    assert trigger_id(*args) == "cbc0f88a-c966-52fc-91e6-c7089ecbbae3"


@pytest.mark.parametrize(
    "other",
    [
        ("c-2", "default", 3, "welcome", "event:e-1"),
        ("c-1", "other", 3, "welcome", "event:e-1"),
        ("c-1", "default", 4, "welcome", "event:e-1"),
        ("c-1", "default", 3, "nudge", "event:e-1"),
        ("c-1", "default", 3, "welcome", "event:e-2"),
        ("c-1d", "efault", 3, "welcome", "event:e-1"),
    ],
)
def test_trigger_id_differs_per_cause(other: tuple[str, str, int, str, str]) -> None:
    assert trigger_id(*other) != trigger_id("c-1", "default", 3, "welcome", "event:e-1")


def test_cause_keys() -> None:
    assert Cause(type="event", event_ids=["a", "b"]).key == "event:a,b"
    assert Cause(type="timer", timer="t", due_at=T0).key == "timer:t@2026-11-02T09:15:00+00:00"
