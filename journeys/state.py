"""Per-customer journey state: what the stream layer stores, one value per customer.

Versioned: ``schema_version`` says which layout a stored value has; :func:`load_state`
runs :func:`migrate` first, so a value written by version N loads in version N+1.
Treat a state as immutable: the engine never mutates the state it is given, it returns
a new one (sharing unchanged containers with the old one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas.events import UtcDatetime

STATE_SCHEMA_VERSION: Literal[1] = 1


class CustomerState(BaseModel):
    """One customer's position in one journey (schema version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = STATE_SCHEMA_VERSION
    customer_id: str
    journey: str
    journey_version: int
    stage: str
    stage_entered_at: UtcDatetime
    entered_at: UtcDatetime = Field(description="Journey entry (first event or re-entry)")
    entries: int = 1
    exited_at: UtcDatetime | None = None
    exit_reason: Literal["goal", "exit"] | None = None
    exit_name: str | None = None
    clock: UtcDatetime = Field(description="Engine time: latest event time or advance time")
    watermark: UtcDatetime = Field(description="Latest event time seen (lateness reference)")
    timezone: str | None = Field(default=None, description="Last valid context.timezone")
    attributes: dict[str, JsonValue] = Field(default_factory=dict)
    last_match: dict[str, UtcDatetime] = Field(
        default_factory=dict, description="Inactivity rule -> latest matching event time"
    )
    windows: dict[str, list[tuple[UtcDatetime, str]]] = Field(
        default_factory=dict, description="Window rule -> (event time, event id), sorted"
    )
    cooldowns: dict[str, UtcDatetime] = Field(
        default_factory=dict, description="Rule -> emitted_at of its last trigger"
    )
    cap_history: list[UtcDatetime] = Field(
        default_factory=list, description="emitted_at of capped triggers within the cap window"
    )
    timers: dict[str, UtcDatetime] = Field(
        default_factory=dict, description="Time rule -> armed due time"
    )
    fired: dict[str, UtcDatetime] = Field(
        default_factory=dict,
        description="Time rule -> anchor of its last firing (inactivity: the time counted "
        "from; date: the due time), so one occurrence fires once",
    )
    seen: dict[str, UtcDatetime] = Field(
        default_factory=dict, description="Recent event ids -> event time (deduplication)"
    )
    events: int = Field(default=0, description="Events applied")
    late_events: int = Field(default=0, description="Events rejected as late")

    @property
    def exited(self) -> bool:
        return self.exited_at is not None


def migrate(obj: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored state (any known schema version) to the current layout.

    Version 1 is the first layout; a value without ``schema_version`` is version 1.
    When version 2 arrives, add ``if version == 1: ...; version = 2`` steps here.
    """
    version = obj.get("schema_version", 1)
    if version == STATE_SCHEMA_VERSION:
        return obj if "schema_version" in obj else {**obj, "schema_version": version}
    raise ValueError(f"unknown CustomerState schema_version {version!r}")


def load_state(obj: dict[str, Any]) -> CustomerState:
    """Validate a stored state (as written by ``model_dump(mode='json')``), migrating it."""
    return CustomerState.model_validate(migrate(obj))


def fresh_state(
    customer_id: str, journey: str, version: int, stage: str, at: datetime
) -> CustomerState:
    return CustomerState.model_construct(
        schema_version=STATE_SCHEMA_VERSION,
        customer_id=customer_id,
        journey=journey,
        journey_version=version,
        stage=stage,
        stage_entered_at=at,
        entered_at=at,
        entries=1,
        exited_at=None,
        exit_reason=None,
        exit_name=None,
        clock=at,
        watermark=at,
        timezone=None,
        attributes={},
        last_match={},
        windows={},
        cooldowns={},
        cap_history=[],
        timers={},
        fired={},
        seen={},
        events=0,
        late_events=0,
    )


def dump_state(state: CustomerState) -> dict[str, Any]:
    """The stored (table) JSON of a state: the one way the stream layer writes a state."""
    return state.model_dump(mode="json")
