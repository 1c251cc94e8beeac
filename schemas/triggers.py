"""The trigger message: a decision that a customer should get a message now (or later)."""

from __future__ import annotations

import uuid
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas.events import UtcDatetime

TRIGGER_SCHEMA_VERSION: Final = 1

# Fixed namespace for trigger ids; changing it changes every id ever issued.
TRIGGER_ID_NAMESPACE = uuid.UUID("5f0c7a52-2b1e-4d8a-9a57-3f3c1f4e9b10")

Priority = Literal["service", "marketing"]

# The trigger families: a rule's ``emit.family`` names one; each has its own topic
# (schemas.topics). Part of the contract: consumers subscribe per family.
TRIGGER_FAMILIES: Final[tuple[str, ...]] = (
    "onboarding",
    "renewal",
    "engagement",
    "recovery",
    "advocacy",
    "voc",
    "moments",
    "growth",
)


def trigger_id(customer_id: str, journey: str, version: int, rule: str, cause_key: str) -> str:
    """Deterministic id of the trigger for one cause: the same inputs give the same id."""
    name = "\x1f".join((customer_id, journey, str(version), rule, cause_key))
    return str(uuid.uuid5(TRIGGER_ID_NAMESPACE, name))


class Cause(BaseModel):
    """What made the rule fire: events (by id) or a timer (by name and due time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["event", "timer"]
    event_ids: list[str] = Field(default_factory=list)
    timer: str | None = None
    due_at: UtcDatetime | None = None

    @property
    def key(self) -> str:
        if self.type == "event":
            return "event:" + ",".join(self.event_ids)
        due = self.due_at.isoformat() if self.due_at is not None else ""
        return f"timer:{self.timer}@{due}"


class Trigger(BaseModel):
    """A lifecycle trigger for marketing automation (schema version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = TRIGGER_SCHEMA_VERSION
    trigger_id: str
    customer_id: str
    journey: str
    journey_version: int
    rule: str
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$", description="family.name")
    priority: Priority
    stage_before: str
    stage_after: str
    cause: Cause
    cause_time: UtcDatetime = Field(description="Event time of the cause")
    emitted_at: UtcDatetime = Field(
        description="Engine time at which the rule fired (event time or timer due time), "
        "so replay reproduces it exactly"
    )
    deliver_after: UtcDatetime | None = Field(
        default=None, description="Quiet hours: do not deliver before this instant"
    )
    holdout: bool = False
    attributes: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Values the rule's emit.attributes copies, named by the journey author: "
        "event properties and traits, customer attributes, and the customer's context, "
        "e.g. locale (BCP 47, 'fr-FR') and timezone (IANA, 'Europe/Paris'): the event's, "
        "else the last known (a timer-fired trigger has no event). A value that is unknown "
        "is left out, never null. Context values added in v1 (issue 22)",
    )
    experiment: str | None = Field(
        default=None,
        description="The A/B experiment this message belongs to (the rule's variants), "
        "null when the rule has none. Added in v1 (issue 17)",
    )
    variant: str | None = Field(
        default=None,
        description="The customer's variant in the experiment: send that version of the "
        "message. Deterministic per customer, journey and experiment. Added in v1 (issue 17)",
    )
    cohort: Literal["treated", "holdout"] | None = Field(
        default=None,
        description="The person's group in this journey: holdout (its control group, "
        "kept from marketing messages to measure their lift; service messages still go) or "
        "treated. Assigned once per person at journey entry and kept through identity "
        "merges, like the variant: a campaign tool that also reaches customers through "
        "other channels can leave the control group out there too. Added in v1 (issue 22)",
    )

    @property
    def family(self) -> str:
        return self.kind.split(".", 1)[0]
