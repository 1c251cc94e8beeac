"""The canonical touchpoint event: what every input format is mapped to.

Policies (binding for every producer of canonical events):

* **Time.** ``event_time`` and ``received_at`` are ISO 8601 / RFC 3339 date-time strings
  with an offset (``2026-11-02T09:15:00Z``, ``2026-11-02T11:15:00+02:00``); a naive
  datetime is rejected with ``event_time: Input should have timezone info`` (dead-letter
  reason ``naive_timestamp``). A JSON number (or a numeric string) is **not** read as Unix
  time: it is rejected as ``invalid_timestamp``. Values are kept in UTC. Only the Segment
  adapter (``schemas.segment``) reads a timestamp without offset as UTC and numbers as Unix
  time, because that is what Segment's own spec does.
* **Time range.** Both instants must lie in [:data:`EARLIEST_INSTANT`,
  :data:`LATEST_INSTANT`), 1970-01-01T00:00:00Z (inclusive) to 2200-01-01T00:00:00Z
  (exclusive); others are rejected as ``timestamp_out_of_range``. No real touchpoint lies
  outside it, Kafka record times start at the Unix epoch, and it leaves thousands of years
  of headroom to ``datetime``'s limits (years 1 to 9999) for the engine's arithmetic
  (durations, offsets, anniversaries, time zones), which therefore never overflows.
* **Numbers.** A JSON integer must fit in 64 bits (-2**63 to 2**64 - 1); a larger one
  would be rounded to a float by the parser, so the message is rejected as
  ``schema_violation`` instead (send such values as strings).
* **Names.** ``type`` is normalised by :func:`normalise_event_type` (lower snake case).
* **Size.** A raw Kafka message is at most :data:`MAX_MESSAGE_BYTES`; one event (one item of
  a Segment batch) at most :data:`MAX_EVENT_BYTES` once encoded; ``properties`` and ``traits``
  nest at most :data:`MAX_JSON_DEPTH` levels and hold at most
  :data:`MAX_JSON_KEYS` keys, counted at every level. The decoder rejects larger input with
  reason ``too_large``; the model enforces the depth and key limits too.
* **Time zone.** ``context.timezone`` must be an IANA name known to ``zoneinfo``.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

EVENT_SCHEMA_VERSION: Final = 1

MAX_MESSAGE_BYTES = 512 * 1024
"""Largest raw Kafka message accepted (Segment's HTTP API allows 500 KB per batch)."""
MAX_EVENT_BYTES = 64 * 1024
"""Largest single event, as sent or re-encoded from a batch item."""
MAX_BATCH_ITEMS = 2_500
MAX_JSON_DEPTH = 8
"""Nesting levels inside ``properties``, ``traits`` or ``context`` (a flat mapping is 1)."""
MAX_JSON_KEYS = 1_000
"""Keys inside one of ``properties``, ``traits`` or ``context``, counted at every level."""
EARLIEST_INSTANT: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest ``event_time`` or ``received_at`` accepted (the Unix epoch, inclusive)."""
LATEST_INSTANT: Final = datetime(2200, 1, 1, tzinfo=UTC)
"""The first ``event_time`` or ``received_at`` refused (exclusive upper bound)."""

_NON_WORD = re.compile(r"[^0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_event_type(name: str) -> str:
    """One spelling for every event name: lower snake case, ASCII letters and digits.

    ``"Order Completed"``, ``"order-completed"``, ``"orderCompleted"`` and
    ``"ORDER_COMPLETED"`` all become ``"order_completed"``.
    """
    spaced = _CAMEL.sub("_", name.strip())
    return _NON_WORD.sub("_", spaced.lower()).strip("_")


def json_limit_violation(value: object) -> str | None:
    """Why ``value`` breaks the depth or key limits, or None when it is within them."""
    keys = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            depth += 1
            keys += len(node)
            children: list[object] = list(node.values())
        elif isinstance(node, list):
            children = list(node)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH} levels"
        if keys > MAX_JSON_KEYS:
            return f"more than {MAX_JSON_KEYS} keys"
        stack.extend((child, depth) for child in children)
    return None


def _bounded(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    problem = json_limit_violation(value)
    if problem is not None:
        raise PydanticCustomError("too_large", "{problem}", {"problem": problem})
    return value


BoundedJson = Annotated[dict[str, JsonValue], AfterValidator(_bounded)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

_ISO_DATE_TIME = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _iso_text_only(value: object) -> object:
    """Only ISO 8601 text (or a datetime, from Python) reaches the datetime parser: a
    number or a numeric string would otherwise be read as Unix time."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE_TIME.match(value)):
        return value
    raise PydanticCustomError(
        "iso_date_time",
        "Input should be an ISO 8601 date-time string with an offset, e.g. 2026-11-02T09:15:00Z",
    )


def _in_range(value: datetime) -> datetime:
    """``value`` in UTC when within the contract's time range (checked before converting,
    which could overflow at the limits of ``datetime``)."""
    if not EARLIEST_INSTANT <= value < LATEST_INSTANT:
        raise PydanticCustomError(
            "timestamp_out_of_range",
            "{value} is outside the accepted range 1970-01-01T00:00:00Z (inclusive) to "
            "2200-01-01T00:00:00Z (exclusive)",
            {"value": value.isoformat()},
        )
    return value.astimezone(UTC)


EventInstant = Annotated[AwareDatetime, BeforeValidator(_iso_text_only), AfterValidator(_in_range)]
"""An instant of a touchpoint: ISO 8601 text with an offset, within the contract's range."""


@lru_cache(maxsize=1024)
def is_time_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone that ``zoneinfo`` can load."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


class EventContext(BaseModel):
    """Where the event came from, as far as journeys care: locale and time zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locale: str | None = Field(default=None, max_length=35, description="BCP 47, e.g. fr-FR")
    timezone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Paris")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_time_zone(value):
            raise PydanticCustomError(
                "unknown_time_zone", "unknown IANA time zone '{zone}'", {"zone": value[:64]}
            )
        return value


class TouchpointEvent(BaseModel):
    """One customer touchpoint, canonical form (schema version 1)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "schema_version": 1,
                    "event_id": "0b6f2a1e-9f43-4a53-8d7e-3c2a1c0f5e11",
                    "customer_id": "c-1042",
                    "type": "order_completed",
                    "event_time": "2026-11-02T09:15:00Z",
                    "source": "shop",
                    "properties": {"order_id": "o-77", "revenue": "59.90", "currency": "EUR"},
                    "context": {"locale": "fr-FR", "timezone": "Europe/Paris"},
                }
            ]
        },
    )

    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    event_id: str = Field(min_length=1, max_length=200, description="Deduplication key")
    customer_id: str | None = Field(default=None, min_length=1, max_length=200)
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=120, description="Normalised event name")
    event_time: EventInstant = Field(
        description="When it happened: an ISO 8601 date-time string with an offset (a number "
        "is not read as Unix time), from 1970-01-01T00:00:00Z (inclusive) to "
        "2200-01-01T00:00:00Z (exclusive); kept as UTC"
    )
    received_at: EventInstant | None = Field(
        default=None,
        description="When the processor (or the collector) received it; same format and "
        "range as event_time",
    )
    source: str = Field(default="api", max_length=120, description="Producing system")
    channel: str | None = Field(default=None, max_length=120)
    properties: BoundedJson = Field(default_factory=dict)
    traits: BoundedJson = Field(
        default_factory=dict, description="Customer attributes carried by the event"
    )
    context: EventContext = Field(default_factory=EventContext)

    @model_validator(mode="after")
    def _identity_and_type(self) -> TouchpointEvent:
        if self.customer_id is None and self.anonymous_id is None:
            raise PydanticCustomError("missing_identity", "customer_id or anonymous_id is required")
        normalised = normalise_event_type(self.type)
        if not normalised:
            raise PydanticCustomError("invalid_type", "type has no letters or digits")
        if normalised != self.type:
            object.__setattr__(self, "type", normalised)
        return self

    @property
    def key(self) -> str:
        """The partitioning key: the customer id, else the anonymous id."""
        return self.customer_id if self.customer_id is not None else str(self.anonymous_id)
