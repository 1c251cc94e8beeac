"""The Segment spec adapter: track, identify, page, screen, group and alias messages.

Accepts messages as Segment and RudderStack SDKs and the Segment HTTP tracking API emit
them (camelCase field names, unknown fields allowed and ignored) and maps each one to a
:class:`~schemas.events.TouchpointEvent`. Mapping rules:

* **event id** = ``messageId`` (required; Segment always sends one; a message without one is
  rejected with ``missing_event_id``).
* **identity**: ``customer_id`` = ``userId``, ``anonymous_id`` = ``anonymousId``; ids sent as
  JSON numbers are turned into strings; an empty string counts as absent. ``alias`` links
  ``previousId`` to ``userId``: ``anonymous_id`` = ``previousId``, ``customer_id`` =
  ``userId`` (both required), so the engine merges the old identity into the new one.
* **event time**, first that applies: ``timestamp``; ``originalTimestamp`` corrected by the
  device clock skew ``receivedAt - sentAt`` when ``sentAt`` is known (``receivedAt`` is the
  message's, else the decoder's ``received_at``, the Kafka record time: the time the
  message reached us); ``originalTimestamp``; ``receivedAt``; the decoder's
  ``received_at``. Segment reads a timestamp without offset as UTC, and so do we (only
  here: canonical events reject naive datetimes). JSON numbers are read as Unix seconds
  (or milliseconds), as Segment's spec allows. The resulting event time (and received
  time) must lie within the canonical range (``schemas.events``, "Time range"); one that
  is not, or a correction that leaves the calendar, is ``timestamp_out_of_range``. The
  raw Segment times themselves are not range-checked: a device clock in 1960 is what
  the correction is for.
* **type**: track -> normalised ``event``; page -> ``page_viewed``; screen ->
  ``screen_viewed``; identify -> ``identified``; group -> ``group_joined``; alias ->
  ``aliased``.
* **properties**: ``properties`` as sent; page and screen add ``name`` and ``category``;
  group puts ``groupId`` in ``group_id`` and the group's traits (the company, not the
  person) in ``group_traits``; alias puts ``previousId`` in ``previous_id``.
* **traits**: ``context.traits`` (the person's traits that SDKs attach to every call), and
  for identify the message ``traits`` merged over them.
* **source** = ``"segment"``; **channel** = Segment's ``channel`` (``browser``, ``server``,
  ``mobile``) when sent, else ``context.library.name`` (e.g. ``analytics.js``).
* **context**: ``context.timezone`` when it is a known IANA zone (others are dropped, not
  rejected: they come from devices), ``context.locale`` when at most 35 characters.
* ``integrations``, ``version``, ``writeKey`` and other fields are accepted and ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from schemas.events import TouchpointEvent, is_time_zone

SEGMENT_SOURCE = "segment"
SEGMENT_TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})
TYPE_NAMES = {
    "page": "page_viewed",
    "screen": "screen_viewed",
    "identify": "identified",
    "group": "group_joined",
    "alias": "aliased",
}
"""Canonical event type of every Segment type but track (track uses its ``event``)."""


def _coerce_id(value: object) -> object:
    if isinstance(value, bool):
        return value  # let validation reject it
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _coerce_optional_id(value: object) -> object:
    return None if value == "" else _coerce_id(value)


def _assume_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise PydanticCustomError(
            "timestamp_out_of_range",
            "{value} is beyond the calendar once in UTC",
            {"value": value.isoformat()},
        ) from None


_ID_SCHEMA = {"type": ["string", "integer"], "minLength": 1, "maxLength": 200}
_TIME_SCHEMA = {
    "type": ["string", "number"],
    "description": "ISO-8601 (read as UTC without offset) or Unix time",
}
SegmentId = Annotated[
    str, BeforeValidator(_coerce_id), Field(max_length=200), WithJsonSchema(_ID_SCHEMA)
]
OptionalId = Annotated[
    Annotated[str, Field(max_length=200)] | None,
    BeforeValidator(_coerce_optional_id),
    WithJsonSchema({"anyOf": [_ID_SCHEMA, {"type": "null"}]}),
]
SegmentTime = Annotated[datetime, AfterValidator(_assume_utc), WithJsonSchema(_TIME_SCHEMA)]
JsonObject = dict[str, JsonValue]


class SegmentLibrary(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str | None = None
    version: str | None = None


class SegmentContext(BaseModel):
    """The parts of Segment's ``context`` that journeys read; the rest is allowed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    timezone: str | None = None
    locale: str | None = None
    traits: JsonObject | None = None
    library: SegmentLibrary | None = None


class _SegmentCommon(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    messageId: SegmentId = Field(min_length=1)
    userId: OptionalId = None
    anonymousId: OptionalId = None
    context: SegmentContext | None = None
    integrations: JsonObject | None = None
    timestamp: SegmentTime | None = None
    originalTimestamp: SegmentTime | None = None
    sentAt: SegmentTime | None = None
    receivedAt: SegmentTime | None = None
    channel: str | None = None


class SegmentTrack(_SegmentCommon):
    type: Literal["track"]
    event: str = Field(min_length=1, max_length=200)
    properties: JsonObject | None = None


class SegmentPage(_SegmentCommon):
    type: Literal["page"]
    name: str | None = None
    category: str | None = None
    properties: JsonObject | None = None


class SegmentScreen(_SegmentCommon):
    type: Literal["screen"]
    name: str | None = None
    category: str | None = None
    properties: JsonObject | None = None


class SegmentIdentify(_SegmentCommon):
    type: Literal["identify"]
    traits: JsonObject | None = None


class SegmentGroup(_SegmentCommon):
    type: Literal["group"]
    groupId: SegmentId = Field(min_length=1)
    traits: JsonObject | None = None


class SegmentAlias(_SegmentCommon):
    type: Literal["alias"]
    previousId: SegmentId = Field(min_length=1)
    userId: SegmentId = Field(min_length=1)  # required for alias


AnySegment = (
    SegmentTrack | SegmentPage | SegmentScreen | SegmentIdentify | SegmentGroup | SegmentAlias
)
SegmentMessage = Annotated[AnySegment, Field(discriminator="type")]
"""One Segment message; the published schema of a single message."""

MODELS: dict[str, type[AnySegment]] = {
    "track": SegmentTrack,
    "page": SegmentPage,
    "screen": SegmentScreen,
    "identify": SegmentIdentify,
    "group": SegmentGroup,
    "alias": SegmentAlias,
}


class SegmentBatch(BaseModel):
    """The HTTP tracking API ``/v1/batch`` envelope.

    ``sentAt`` applies to every message that has none; the envelope ``context`` is merged
    under each message's own ``context`` (the message wins, key by key).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    batch: list[SegmentMessage]
    sentAt: SegmentTime | None = None
    context: JsonObject | None = None
    integrations: JsonObject | None = None


def event_time(message: AnySegment, received_at: datetime) -> datetime:
    """The event time of ``message`` by the rule in the module docstring.

    Raises ``OverflowError`` when the clock-skew correction leaves the calendar (the
    decoder rejects the message as ``timestamp_out_of_range``)."""
    if message.timestamp is not None:
        return message.timestamp
    original = message.originalTimestamp
    if original is not None:
        if message.sentAt is not None:
            return original + ((message.receivedAt or received_at) - message.sentAt)
        return original
    if message.receivedAt is not None:
        return message.receivedAt
    return received_at


def _properties(message: AnySegment) -> dict[str, Any]:
    if isinstance(message, SegmentTrack):
        return dict(message.properties or {})
    if isinstance(message, SegmentPage | SegmentScreen):
        props: dict[str, Any] = dict(message.properties or {})
        if message.name is not None:
            props["name"] = message.name
        if message.category is not None:
            props["category"] = message.category
        return props
    if isinstance(message, SegmentGroup):
        return {"group_id": message.groupId, "group_traits": dict(message.traits or {})}
    if isinstance(message, SegmentAlias):
        return {"previous_id": message.previousId}
    return {}


def canonical_fields(message: AnySegment, *, received_at: datetime) -> dict[str, Any]:
    """The fields of the canonical event for ``message``, to validate as TouchpointEvent
    (``OverflowError`` as :func:`event_time`)."""
    ctx = message.context or SegmentContext()
    traits: dict[str, Any] = dict(ctx.traits or {})
    if isinstance(message, SegmentIdentify):
        traits.update(message.traits or {})
    anonymous = message.previousId if isinstance(message, SegmentAlias) else message.anonymousId
    zone = ctx.timezone if ctx.timezone is not None and is_time_zone(ctx.timezone) else None
    locale = ctx.locale if ctx.locale is not None and len(ctx.locale) <= 35 else None
    library = ctx.library.name if ctx.library is not None else None
    type_ = message.event if isinstance(message, SegmentTrack) else TYPE_NAMES[message.type]
    return {
        "event_id": message.messageId,
        "customer_id": message.userId,
        "anonymous_id": anonymous,
        "type": type_,
        "event_time": event_time(message, received_at),
        "received_at": message.receivedAt or received_at,
        "source": SEGMENT_SOURCE,
        "channel": message.channel or library,
        "properties": _properties(message),
        "traits": traits,
        "context": {"timezone": zone, "locale": locale},
    }


def to_touchpoint(message: AnySegment, *, received_at: datetime) -> TouchpointEvent:
    """The canonical event for one validated Segment message (may raise ValidationError)."""
    return TouchpointEvent.model_validate(canonical_fields(message, received_at=received_at))


CANONICAL_TO_SEGMENT = {
    "event_id": "messageId",
    "customer_id": "userId",
    "anonymous_id": "anonymousId",
    "type": "event",
}
"""Field paths of canonical validation errors, in the terms of the Segment message."""

__all__ = [
    "SEGMENT_TYPES",
    "SegmentAlias",
    "SegmentBatch",
    "SegmentContext",
    "SegmentGroup",
    "SegmentIdentify",
    "SegmentMessage",
    "SegmentPage",
    "SegmentScreen",
    "SegmentTrack",
    "canonical_fields",
    "event_time",
    "to_touchpoint",
]
