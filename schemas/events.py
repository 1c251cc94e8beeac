"""The canonical touchpoint event: what every input format is mapped to."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)

EVENT_SCHEMA_VERSION = 1

_NON_WORD = re.compile(r"[^0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_event_type(name: str) -> str:
    """One spelling for every event name: lower snake case, ASCII letters and digits.

    ``"Order Completed"``, ``"order-completed"``, ``"orderCompleted"`` and
    ``"ORDER_COMPLETED"`` all become ``"order_completed"``.
    """
    spaced = _CAMEL.sub("_", name.strip())
    return _NON_WORD.sub("_", spaced.lower()).strip("_")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class EventContext(BaseModel):
    """Where the event came from, as far as journeys care: locale and time zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locale: str | None = None
    timezone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Paris")


class TouchpointEvent(BaseModel):
    """One customer touchpoint, canonical form (schema version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    event_id: str = Field(min_length=1, max_length=200, description="Deduplication key")
    customer_id: str | None = Field(default=None, min_length=1, max_length=200)
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=120, description="Normalised event name")
    event_time: UtcDatetime = Field(description="When it happened (timezone-aware, kept as UTC)")
    received_at: UtcDatetime | None = None
    source: str = Field(default="api", max_length=120)
    channel: str | None = Field(default=None, max_length=120)
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    traits: dict[str, JsonValue] = Field(default_factory=dict)
    context: EventContext = Field(default_factory=EventContext)

    @model_validator(mode="after")
    def _identity_and_type(self) -> TouchpointEvent:
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("customer_id or anonymous_id is required")
        normalised = normalise_event_type(self.type)
        if not normalised:
            raise ValueError("type has no letters or digits")
        if normalised != self.type:
            object.__setattr__(self, "type", normalised)
        return self

    @property
    def key(self) -> str:
        """The partitioning key: the customer id, else the anonymous id."""
        return self.customer_id if self.customer_id is not None else str(self.anonymous_id)
