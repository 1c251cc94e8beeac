"""What one engine call reports: status, triggers, suppressed triggers, transitions.

Plain frozen records, built once per engine call (no validation: every value comes from
the engine itself). The triggers in them are the wire contract, ``schemas.Trigger``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import JsonValue

from schemas import Trigger

Status = Literal["processed", "duplicate", "late"]
Reason = Literal["cooldown", "frequency_cap", "holdout", "exit", "goal", "reentry"]
TransitionKind = Literal["move", "exit", "goal", "reentry", "version_upgrade"]
Cohort = Literal["treated", "holdout"]  # the journey's control group is ``holdout``


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
    condition whose reason is goal), a re-entry (``reentry``) or the move of a customer
    whose state was written by another version of the journey (``version_upgrade``)."""

    rule: str
    stage_before: str
    stage_after: str
    at: datetime
    kind: TransitionKind = "move"


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
class Goal:
    """A goal reached, for measuring the journey: a rule's ``goal`` attribute set while it
    was unset (``name``: the attribute), or an exit condition of reason ``goal``
    (``name``: the condition's). ``since_entry``: time from the start of the customer's
    current entry; ``cohort``: the customer's group in the journey (``holdout`` when in
    the control group, whatever the trigger priorities held out)."""

    name: str
    at: datetime
    since_entry: timedelta
    cohort: Cohort


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything one ``step`` or ``advance`` did, in engine-time order.

    ``triggers`` are to be delivered (``deliver_after`` set when deferred by quiet hours;
    those are also listed in ``deferred``). ``notes`` explain values that could not be
    used (a property that is not a date, an unknown time zone). ``goals``: the goals
    reached (:class:`Goal`); ``entered``: the customer's cohort when the call started an
    entry (the first event of a customer, or a re-entry), else None.
    """

    status: Status = "processed"
    triggers: list[Trigger] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    deferred: list[Trigger] = field(default_factory=list)
    changes: list[AttributeChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    entered: Cohort | None = None
