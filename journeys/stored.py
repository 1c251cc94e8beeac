"""The stored layout of a journey state (schema version 1), as a pydantic model.

:func:`journeys.state.load_state` validates what it reads with :class:`StoredState`;
:func:`journeys.state.dump_state` writes exactly what its ``model_dump(mode="json")``
gives. Kept apart from :mod:`journeys.state` because that module is compiled with the
engine (:mod:`journeys.native`) and pydantic models are not.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas.events import UtcDatetime

STATE_SCHEMA_VERSION: Literal[1] = 1


class StoredState(BaseModel):
    """The stored layout of a state (schema version 1): validates what :func:`load_state`
    reads; :func:`dump_state` writes exactly what ``model_dump(mode="json")`` gives."""

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
    customer_cap_history: list[UtcDatetime] = Field(
        default_factory=list,
        exclude_if=lambda value: not value,
        description="emitted_at of this journey's triggers counted by the deployment's "
        "per-customer frequency cap, within its window (the driver adds up every journey's); "
        "left out when empty, so states of deployments without that cap are unchanged",
    )
    locale: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Last context.locale (BCP 47), what an emit attribute of source "
        "context: locale reads when no event carries it (a timer); left out when unknown, "
        "so states written before it, or of customers without one, are unchanged",
    )
    assigned_as: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The id the holdout cohort and experiment variants are decided by, "
        "when it is not customer_id: the key of the earliest entry among merged identities "
        "(an anonymous id tracked before identify), so one person stays in one cohort and "
        "variant; left out when it is customer_id",
    )
