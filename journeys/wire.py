"""The messages the engine emits (``schemas.Trigger`` and its ``Cause``), built cheaply.

The engine makes every value of a trigger itself (ids, instants in UTC, JSON values), so
validating it again costs time and proves nothing: validation was a third of the cost of
an engine call. :func:`trigger` and :func:`cause` fill a model instance the way pydantic's
own ``model_construct`` does, minus its per-field bookkeeping. That reaches into
pydantic's instance layout (``__dict__`` in field order, fields set, no extra, no private
attributes); tests/journeys/test_wire.py pins the layout and checks that a built
instance equals, and dumps exactly like, a validated one, so an upgrade that changes it
fails loudly.

:func:`trigger_id` is ``schemas.triggers.trigger_id`` (uuid5 in the fixed namespace)
without building a ``uuid.UUID``; the same test checks they agree.

:func:`trigger_json` writes a trigger's wire bytes without pydantic's serializer (about
6 us a trigger there): byte for byte ``schemas.codec.dumps(trigger)``, which the same
test checks over every kind of value a trigger carries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha1
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, JsonValue

from journeys.state import json_attributes, known_instant
from schemas import Cause, Trigger
from schemas.triggers import TRIGGER_ID_NAMESPACE, TRIGGER_SCHEMA_VERSION

_NAMESPACE: Final = TRIGGER_ID_NAMESPACE.bytes
_new = object.__new__
_set = object.__setattr__  # pydantic models refuse plain assignment when frozen

# The fields a validated construction sets (the engine's keyword arguments): kept equal
# so ``model_fields_set`` and ``exclude_unset`` dumps are unchanged.
TRIGGER_FIELDS_SET: Final = frozenset(
    (
        "trigger_id",
        "customer_id",
        "journey",
        "journey_version",
        "rule",
        "kind",
        "priority",
        "stage_before",
        "stage_after",
        "cause",
        "cause_time",
        "emitted_at",
        "deliver_after",
        "attributes",
    )
)
COHORT_FIELDS_SET: Final = TRIGGER_FIELDS_SET | {"cohort"}
HOLDOUT_FIELDS_SET: Final = COHORT_FIELDS_SET | {"holdout"}
VARIANT_FIELDS_SET: Final = COHORT_FIELDS_SET | {"experiment", "variant"}
HOLDOUT_VARIANT_FIELDS_SET: Final = HOLDOUT_FIELDS_SET | VARIANT_FIELDS_SET
EVENT_CAUSE_FIELDS_SET: Final = frozenset(("type", "event_ids"))
TIMER_CAUSE_FIELDS_SET: Final = frozenset(("type", "timer", "due_at"))


def trigger_id(customer_id: str, journey: str, version: int, rule: str, cause_key: str) -> str:
    """``schemas.triggers.trigger_id``: uuid5 of the joined parts in the fixed namespace."""
    name = "\x1f".join((customer_id, journey, str(version), rule, cause_key))
    raw = bytearray(sha1(_NAMESPACE + name.encode(), usedforsecurity=False).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _built(cls: type[BaseModel], fields_set: frozenset[str], values: dict[str, Any]) -> Any:
    """An instance of ``cls`` holding ``values`` (every field, in declaration order)."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(fields_set))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def utc(moment: datetime) -> datetime:
    """What ``UtcDatetime`` validation makes of an aware instant."""
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def event_cause(event_ids: list[str]) -> Cause:
    """``Cause(type="event", event_ids=event_ids)``."""
    values = {"type": "event", "event_ids": event_ids, "timer": None, "due_at": None}
    cause: Cause = _built(Cause, EVENT_CAUSE_FIELDS_SET, values)
    return cause


def timer_cause(timer: str, due_at: datetime) -> Cause:
    """``Cause(type="timer", timer=timer, due_at=due_at)``."""
    values = {"type": "timer", "event_ids": [], "timer": timer, "due_at": utc(due_at)}
    cause: Cause = _built(Cause, TIMER_CAUSE_FIELDS_SET, values)
    return cause


def cause_key(cause: Cause) -> str:
    """``cause.key``, read from the instance's values."""
    if cause.type == "event":
        return "event:" + ",".join(cause.event_ids)
    due = cause.due_at.isoformat() if cause.due_at is not None else ""
    return f"timer:{cause.timer}@{due}"


def trigger(
    *,
    trigger_id: str,
    customer_id: str,
    journey: str,
    journey_version: int,
    rule: str,
    kind: str,
    priority: Literal["service", "marketing"],
    stage_before: str,
    stage_after: str,
    cause: Cause,
    at: datetime,
    deliver_after: datetime | None,
    attributes: dict[str, JsonValue],
    holdout: bool = False,
    experiment: str | None = None,
    variant: str | None = None,
    cohort: Literal["treated", "holdout"] = "treated",
) -> Trigger:
    """``Trigger(...)`` as the engine validated it before (``cause_time`` and
    ``emitted_at`` both ``at``); ``holdout`` as ``model_copy(update={"holdout": True})``;
    ``experiment`` and ``variant`` (given together) as passed to the constructor."""
    at = utc(at)
    values = {
        "schema_version": TRIGGER_SCHEMA_VERSION,
        "trigger_id": trigger_id,
        "customer_id": customer_id,
        "journey": journey,
        "journey_version": journey_version,
        "rule": rule,
        "kind": kind,
        "priority": priority,
        "stage_before": stage_before,
        "stage_after": stage_after,
        "cause": cause,
        "cause_time": at,
        "emitted_at": at,
        "deliver_after": None if deliver_after is None else utc(deliver_after),
        "holdout": holdout,
        "attributes": attributes,
        "experiment": experiment,
        "variant": variant,
        "cohort": cohort,
    }
    if experiment is None:
        fields_set = HOLDOUT_FIELDS_SET if holdout else COHORT_FIELDS_SET
    else:
        fields_set = HOLDOUT_VARIANT_FIELDS_SET if holdout else VARIANT_FIELDS_SET
    built: Trigger = _built(Trigger, fields_set, values)
    return built


def trigger_json(trigger: Trigger) -> bytes:
    """``schemas.codec.dumps(trigger)``: every field in declaration order, instants as
    RFC 3339 UTC with ``Z``, attributes as pydantic writes JSON values. Refuses what
    the codec refuses (``TypeError``: an integer beyond 64 bits)."""
    cause = trigger.cause
    due = cause.due_at
    after = trigger.deliver_after
    attributes = trigger.attributes
    values = {
        "schema_version": trigger.schema_version,
        "trigger_id": trigger.trigger_id,
        "customer_id": trigger.customer_id,
        "journey": trigger.journey,
        "journey_version": trigger.journey_version,
        "rule": trigger.rule,
        "kind": trigger.kind,
        "priority": trigger.priority,
        "stage_before": trigger.stage_before,
        "stage_after": trigger.stage_after,
        "cause": {
            "type": cause.type,
            "event_ids": cause.event_ids,
            "timer": cause.timer,
            "due_at": None if due is None else known_instant(utc(due)),
        },
        "cause_time": known_instant(utc(trigger.cause_time)),
        "emitted_at": known_instant(utc(trigger.emitted_at)),
        "deliver_after": None if after is None else known_instant(utc(after)),
        "holdout": trigger.holdout,
        "attributes": json_attributes(attributes) if attributes else {},
        "experiment": trigger.experiment,
        "variant": trigger.variant,
        "cohort": trigger.cohort,
    }
    return orjson.dumps(values)
