"""``journeys.wire`` builds the same Trigger and Cause instances as validation does.

The builder fills pydantic's instance layout directly (see the module's docstring); these
tests pin that layout, so a pydantic upgrade that changes it fails here, loudly, rather
than in a consumer decoding a trigger.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from journeys import wire
from schemas import Cause, Trigger
from schemas.codec import dumps
from schemas.triggers import trigger_id

AT = datetime(2025, 3, 3, 21, 30, 0, 250000, tzinfo=UTC)
PARIS_SUMMER = timezone(timedelta(hours=2))


def test_pydantic_instance_layout_is_the_one_the_builder_fills() -> None:
    assert BaseModel.__slots__ == (
        "__dict__",
        "__pydantic_fields_set__",
        "__pydantic_extra__",
        "__pydantic_private__",
    )
    built = wire.trigger(**_fields(wire.event_cause(["e1"])))
    assert list(built.__dict__) == list(Trigger.model_fields)
    assert list(built.cause.__dict__) == list(Cause.model_fields)
    assert list(wire.timer_cause("t", AT).__dict__) == list(Cause.model_fields)


@pytest.mark.parametrize(
    "parts",
    [
        ("c-1", "lifecycle", 1, "welcome", "event:e1"),
        ("c-é ☃", "j", 12, "r", "timer:nudge@2025-03-03T12:00:00+00:00"),
        ("", "", 0, "", ""),
        ("x" * 300, "lifecycle", 99, "window", "event:" + ",".join(f"e{i}" for i in range(50))),
    ],
)
def test_trigger_id_is_the_contract_s(parts: tuple[str, str, int, str, str]) -> None:
    assert wire.trigger_id(*parts) == trigger_id(*parts)


def _fields(cause: Cause, at: datetime = AT, deliver: datetime | None = None) -> dict:
    return {
        "trigger_id": "5f0c7a52-2b1e-4d8a-9a57-3f3c1f4e9b10",
        "customer_id": "c-1",
        "journey": "lifecycle",
        "journey_version": 3,
        "rule": "welcome",
        "kind": "onboarding.welcome",
        "priority": "marketing",
        "stage_before": "prospect",
        "stage_after": "onboarding",
        "cause": cause,
        "at": at,
        "deliver_after": deliver,
        "attributes": {"plan": "free", "n": 2, "x": 1.5, "nested": {"a": [1, None]}},
        "cohort": "treated",
    }


def _validated(fields: dict, cause: Cause) -> Trigger:
    kwargs = {k: v for k, v in fields.items() if k != "at"}
    return Trigger(
        **{**kwargs, "cause": cause, "cause_time": fields["at"], "emitted_at": fields["at"]}
    )


@pytest.mark.parametrize("holdout", [False, True])
@pytest.mark.parametrize(
    ("cause", "validated_cause"),
    [
        (wire.event_cause(["e1", "e2"]), Cause(type="event", event_ids=["e1", "e2"])),
        (wire.timer_cause("nudge", AT), Cause(type="timer", timer="nudge", due_at=AT)),
        (
            wire.timer_cause("nudge", AT.astimezone(PARIS_SUMMER)),
            Cause(type="timer", timer="nudge", due_at=AT.astimezone(PARIS_SUMMER)),
        ),
    ],
)
@pytest.mark.parametrize("at", [AT, AT.astimezone(PARIS_SUMMER)])
@pytest.mark.parametrize("deliver", [None, AT + timedelta(hours=11)])
def test_built_equals_validated(
    cause: Cause, validated_cause: Cause, at: datetime, deliver: datetime | None, holdout: bool
) -> None:
    fields = _fields(cause, at, deliver)
    built = wire.trigger(**fields, holdout=holdout)
    expected = _validated(fields, validated_cause)
    if holdout:
        expected = expected.model_copy(update={"holdout": True})
    assert cause == validated_cause
    assert cause.model_fields_set == validated_cause.model_fields_set
    assert wire.cause_key(cause) == validated_cause.key
    assert built == expected
    assert built.model_fields_set == expected.model_fields_set
    assert built.model_dump() == expected.model_dump()
    assert dumps(built) == dumps(expected)
    assert Trigger.model_validate_json(dumps(built)) == expected


ATTRIBUTE_VALUES: list[dict] = [
    {},
    {"plan": "free", "n": 2, "x": 1.5, "nested": {"a": [1, None]}},
    {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},
    {"deep": {"l": [float("nan"), 1e20, -0.0, 0.1, [True, False, None]]}},
    {"big": 2**64 - 1, "neg": -(2**63), "tiny": 5e-324, "e": 1e-7, "f": 123456789.123456789},
    {"text": 'é ☃ \u2028 "quoted" \\ \x00\x1f', "empty": "", "bool": True, "none": None},
]


@pytest.mark.parametrize("attributes", ATTRIBUTE_VALUES)
@pytest.mark.parametrize(
    "cause",
    [
        wire.event_cause(["e1", "e2"]),
        wire.event_cause([]),
        wire.timer_cause("nudge", AT),
        wire.timer_cause("nudge", AT.astimezone(PARIS_SUMMER).replace(microsecond=0)),
    ],
)
@pytest.mark.parametrize("at", [AT, AT.astimezone(PARIS_SUMMER).replace(microsecond=0)])
@pytest.mark.parametrize("deliver", [None, AT + timedelta(hours=11, microseconds=1)])
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"holdout": True, "cohort": "holdout"},
        {"experiment": "subject", "variant": "b"},
        {"holdout": True, "experiment": "subject", "variant": "a", "cohort": "holdout"},
    ],
)
def test_trigger_json_is_the_codec_s_bytes(
    attributes: dict, cause: Cause, at: datetime, deliver: datetime | None, extra: dict
) -> None:
    built = wire.trigger(**{**_fields(cause, at, deliver), "attributes": attributes, **extra})
    assert wire.trigger_json(built) == dumps(built)


def test_trigger_json_of_a_validated_or_copied_trigger() -> None:
    fields = _fields(wire.timer_cause("nudge", AT), AT.astimezone(PARIS_SUMMER))
    validated = _validated(fields, Cause(type="timer", timer="nudge", due_at=AT))
    copied = validated.model_copy(update={"holdout": True, "kind": "winback.last_call"})
    for trigger in (validated, copied):
        assert wire.trigger_json(trigger) == dumps(trigger)


def test_trigger_json_refuses_what_the_codec_refuses() -> None:
    """An integer beyond 64 bits: neither writes it (the worker dead-letters the event)."""
    built = wire.trigger(**{**_fields(wire.event_cause(["e1"])), "attributes": {"n": 2**64}})
    with pytest.raises(TypeError, match="64-bit"):
        dumps(built)
    with pytest.raises(TypeError, match="64-bit"):
        wire.trigger_json(built)
