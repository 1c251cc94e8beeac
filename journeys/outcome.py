"""What one engine call reports: status, triggers, suppressed triggers, transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas import Trigger

Status = Literal["processed", "duplicate", "late"]
Reason = Literal["cooldown", "frequency_cap", "holdout", "exit", "reentry"]


class Suppressed(BaseModel):
    """A trigger a rule would have emitted, and the guard rail that stopped it.

    Holdout triggers are here (reason ``holdout``, ``trigger.holdout`` true): counted,
    not delivered.
    """

    model_config = ConfigDict(frozen=True)

    rule: str
    kind: str
    reason: Reason
    trigger: Trigger


class Transition(BaseModel):
    """A stage change (``move``), a journey exit (``exit``) or a re-entry (``reentry``)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    stage_before: str
    stage_after: str
    at: datetime
    kind: Literal["move", "exit", "reentry"] = "move"


class AttributeChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    name: str
    old: JsonValue
    new: JsonValue


class Outcome(BaseModel):
    """Everything one ``step`` or ``advance`` did, in engine-time order.

    ``triggers`` are to be delivered (``deliver_after`` set when deferred by quiet hours;
    those are also listed in ``deferred``). ``notes`` explain values that could not be
    used (a property that is not a date, an unknown time zone).
    """

    model_config = ConfigDict(frozen=True)

    status: Status = "processed"
    triggers: list[Trigger] = Field(default_factory=list)
    suppressed: list[Suppressed] = Field(default_factory=list)
    transitions: list[Transition] = Field(default_factory=list)
    deferred: list[Trigger] = Field(default_factory=list)
    changes: list[AttributeChange] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
