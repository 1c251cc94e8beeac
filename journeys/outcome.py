"""What one engine call reports: status, triggers, suppressed triggers, transitions.

Plain records, built once per engine call (no validation: every value comes from the
engine itself), and read-only by convention: nothing changes one after the engine returns
it. The triggers in them are the wire contract, ``schemas.Trigger``.

Each record spells out its ``__init__`` (``dataclass(init=False)``): the compiled engine
(:mod:`journeys.native`) makes a native constructor of it, where the one ``dataclass``
generates stays interpreted Python (about ten times slower to call). The dataclass still
gives equality and ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import JsonValue

from schemas import Trigger

Status = Literal["processed", "duplicate", "late"]
Reason = Literal["cooldown", "frequency_cap", "holdout", "exit", "goal", "reentry"]
TransitionKind = Literal["move", "exit", "goal", "reentry", "version_upgrade"]
Cohort = Literal["treated", "holdout"]  # the journey's control group is ``holdout``


@dataclass(init=False, slots=True)
class Suppressed:
    """A trigger a rule would have emitted, and the guard rail that stopped it.

    Holdout triggers are here (reason ``holdout``, ``trigger.holdout`` true): counted,
    not delivered.
    """

    rule: str
    kind: str
    reason: Reason
    trigger: Trigger

    def __init__(self, rule: str, kind: str, reason: Reason, trigger: Trigger) -> None:
        self.rule = rule
        self.kind = kind
        self.reason = reason
        self.trigger = trigger


@dataclass(init=False, slots=True)
class Transition:
    """A stage change (``move``), a journey exit (``exit``, or ``goal`` for an exit
    condition whose reason is goal), a re-entry (``reentry``) or the move of a customer
    whose state was written by another version of the journey (``version_upgrade``)."""

    rule: str
    stage_before: str
    stage_after: str
    at: datetime
    kind: TransitionKind

    def __init__(
        self,
        rule: str,
        stage_before: str,
        stage_after: str,
        at: datetime,
        kind: TransitionKind = "move",
    ) -> None:
        self.rule = rule
        self.stage_before = stage_before
        self.stage_after = stage_after
        self.at = at
        self.kind = kind


@dataclass(init=False, slots=True)
class AttributeChange:
    """An attribute set, changed or unset (``new`` None) by ``rule`` at ``at`` (engine
    time; ``reentry`` for the per-entry attributes a re-entry unsets)."""

    rule: str
    name: str
    old: JsonValue
    new: JsonValue
    at: datetime

    def __init__(self, rule: str, name: str, old: JsonValue, new: JsonValue, at: datetime) -> None:
        self.rule = rule
        self.name = name
        self.old = old
        self.new = new
        self.at = at


@dataclass(init=False, slots=True)
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

    def __init__(self, name: str, at: datetime, since_entry: timedelta, cohort: Cohort) -> None:
        self.name = name
        self.at = at
        self.since_entry = since_entry
        self.cohort = cohort


@dataclass(init=False, slots=True)
class Outcome:
    """Everything one ``step`` or ``advance`` did, in engine-time order.

    ``triggers`` are to be delivered (``deliver_after`` set when deferred by quiet hours;
    those are also listed in ``deferred``). ``notes`` explain values that could not be
    used (a property that is not a date, an unknown time zone). ``goals``: the goals
    reached (:class:`Goal`); ``entered``: the customer's cohort when the call started an
    entry (the first event of a customer, or a re-entry), else None.
    """

    status: Status
    triggers: list[Trigger]
    suppressed: list[Suppressed]
    transitions: list[Transition]
    deferred: list[Trigger]
    changes: list[AttributeChange]
    notes: list[str]
    goals: list[Goal]
    entered: Cohort | None

    def __init__(
        self,
        status: Status = "processed",
        triggers: list[Trigger] | None = None,
        suppressed: list[Suppressed] | None = None,
        transitions: list[Transition] | None = None,
        deferred: list[Trigger] | None = None,
        changes: list[AttributeChange] | None = None,
        notes: list[str] | None = None,
        goals: list[Goal] | None = None,
        entered: Cohort | None = None,
    ) -> None:
        self.status = status
        self.triggers = [] if triggers is None else triggers
        self.suppressed = [] if suppressed is None else suppressed
        self.transitions = [] if transitions is None else transitions
        self.deferred = [] if deferred is None else deferred
        self.changes = [] if changes is None else changes
        self.notes = [] if notes is None else notes
        self.goals = [] if goals is None else goals
        self.entered = entered
