"""What one engine call reports: status, triggers, suppressed triggers, transitions.

Plain frozen records, built once per engine call (no validation: every value comes from
the engine itself). The triggers in them are the wire contract, ``schemas.Trigger``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import JsonValue

from schemas import Trigger

Status = Literal["processed", "duplicate", "late"]
Reason = Literal["cooldown", "frequency_cap", "holdout", "exit", "goal", "reentry"]


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A trigger a rule would have emitted, and the guard rail that stopped it.

    Holdout triggers are here (reason ``holdout``, ``trigger.holdout`` true): counted,
    not delivered.
    """

    rule: str
    kind: str
    reason: Reason
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class Transition:
    """A stage change (``move``), a journey exit (``exit``, or ``goal`` for an exit
    condition whose reason is goal) or a re-entry (``reentry``)."""

    rule: str
    stage_before: str
    stage_after: str
    at: datetime
    kind: Literal["move", "exit", "goal", "reentry"] = "move"


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """An attribute set, changed or unset (``new`` None) by ``rule`` at ``at`` (engine
    time; ``reentry`` for the per-entry attributes a re-entry unsets)."""

    rule: str
    name: str
    old: JsonValue
    new: JsonValue
    at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything one ``step`` or ``advance`` did, in engine-time order.

    ``triggers`` are to be delivered (``deliver_after`` set when deferred by quiet hours;
    those are also listed in ``deferred``). ``notes`` explain values that could not be
    used (a property that is not a date, an unknown time zone).
    """

    status: Status = "processed"
    triggers: list[Trigger] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    deferred: list[Trigger] = field(default_factory=list)
    changes: list[AttributeChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
