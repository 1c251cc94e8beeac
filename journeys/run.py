"""One engine call's working state: a private copy of the customer state plus the outcome
being collected, and what a rule does when it fires (actions, trigger, guard rails)."""

from __future__ import annotations

import math
from bisect import insort
from datetime import datetime, timedelta
from typing import Literal

from pydantic import JsonValue

from journeys import wire
from journeys.compiled import Compiled, CompiledRule, EmitPlan, compiled
from journeys.definition import Journey
from journeys.experiments import variant_of
from journeys.guards import CustomerCap, cohort, deliver_after, guard, record
from journeys.outcome import (
    AttributeChange,
    Cohort,
    Goal,
    Outcome,
    Reason,
    Status,
    Suppressed,
    Transition,
    TransitionKind,
)
from journeys.predicates import lookup
from journeys.state import CustomerState, Window
from journeys.values import coerce, combine, integral, number, unusable
from schemas import Cause, TouchpointEvent, Trigger


class Run:
    """Mutable for the length of one ``step`` or ``advance``; never escapes it."""

    __slots__ = (
        "base",
        "changes",
        "compiled",
        "customer",
        "deferred",
        "definition",
        "entered",
        "event_cause",
        "goals",
        "notes",
        "state",
        "suppressed",
        "transitions",
        "triggers",
    )

    def __init__(
        self, definition: Journey, state: CustomerState, customer: CustomerCap | None = None
    ) -> None:
        self.definition = definition
        self.compiled: Compiled = compiled(definition)
        self.customer = customer  # the deployment's per-customer cap, if any
        # A shallow copy sharing the caller's containers until it writes one: writers
        # take their own copy first (``own_*``, ``guards.record``), nested window lists
        # are replaced, never mutated, so the caller's state is left untouched and an
        # unchanged container keeps its identity (``dump_state`` reuses its JSON). The
        # timers are the run's own from the start: ``rearm`` changes them in place.
        self.base = state
        s = self.state = state.copy()
        s.timers = dict(s.timers)
        self.triggers: list[Trigger] = []
        self.suppressed: list[Suppressed] = []
        self.transitions: list[Transition] = []
        self.deferred: list[Trigger] = []
        self.changes: list[AttributeChange] = []
        self.notes: list[str] = []
        self.goals: list[Goal] = []
        self.entered: Cohort | None = None
        self.event_cause: Cause | None = None  # the event's own cause, once needed

    # -- copy on write -----------------------------------------------------------------

    def own_attributes(self) -> dict[str, JsonValue]:
        s = self.state
        if s.attributes is self.base.attributes:
            s.attributes = dict(s.attributes)
        return s.attributes

    def own_last_match(self) -> dict[str, datetime]:
        s = self.state
        if s.last_match is self.base.last_match:
            s.last_match = dict(s.last_match)
        return s.last_match

    def own_windows(self) -> dict[str, Window]:
        s = self.state
        if s.windows is self.base.windows:
            s.windows = dict(s.windows)
        return s.windows

    def own_fired(self) -> dict[str, datetime]:
        s = self.state
        if s.fired is self.base.fired:
            s.fired = dict(s.fired)
        return s.fired

    def own_seen(self) -> dict[str, datetime]:
        s = self.state
        if s.seen is self.base.seen:
            s.seen = dict(s.seen)
        return s.seen

    def outcome(self, status: Status = "processed") -> Outcome:
        return Outcome(
            status,
            self.triggers,
            self.suppressed,
            self.transitions,
            self.deferred,
            self.changes,
            self.notes,
            self.goals,
            self.entered,
        )

    # -- firing a rule -----------------------------------------------------------------

    def fire(
        self,
        crule: CompiledRule,
        at: datetime,
        cause: Cause | None,
        event: TouchpointEvent | None,
        blocked: Reason | None = None,
    ) -> None:
        """Apply the rule's actions and emit its trigger through the guard rails.

        ``cause`` None: the event's own (``event_ids=[event.event_id]``). ``blocked``
        (exit or reentry): the customer is out of the journey; nothing changes and the
        would-be trigger is reported as suppressed (reason ``goal`` when the customer left
        through a goal exit). A rule whose goal attribute is set is blocked with reason
        ``goal`` likewise.
        """
        s = self.state
        if blocked is None and s.exited_at is not None:
            blocked = s.exit_reason or "exit"
        goal = crule.goal
        if blocked is None and goal is not None and s.attributes.get(goal) is not None:
            blocked = "goal"
        before = s.stage
        if blocked is None:
            self._actions(crule, at, event)
        plan = crule.emit
        if plan is None:
            return
        if cause is None:
            cause = self.event_cause
            if cause is None:
                assert event is not None, "a timer firing names its cause"
                cause = self.event_cause = wire.event_cause([event.event_id])
        c = self.compiled
        reason = blocked or guard(c, s, crule.id, plan, at, self.customer)
        if reason is None or reason == "holdout":
            record(c, s, crule.id, plan, at, self.customer)
        trigger = self._trigger(crule, plan, before, at, cause, event, reason == "holdout")
        if reason is not None:
            self.suppressed.append(Suppressed(crule.id, plan.kind, reason, trigger))
            return
        self.triggers.append(trigger)
        if trigger.deliver_after is not None:
            self.deferred.append(trigger)

    def _trigger(
        self,
        crule: CompiledRule,
        plan: EmitPlan,
        before: str,
        at: datetime,
        cause: Cause,
        event: TouchpointEvent | None,
        holdout: bool,
    ) -> Trigger:
        s, c = self.state, self.compiled
        payload: dict[str, JsonValue] = {}
        for name, _, source in plan.payload:
            value = source(event, s, at)
            if value is not None:
                payload[name] = value
        customer = s.customer_id
        experiment = plan.experiment
        variant = None
        if experiment is not None:
            variant = variant_of(plan.variants, s.assignment_id, c.name, experiment)
        return wire.trigger(
            trigger_id=wire.trigger_id(
                customer, c.name, c.version, crule.id, wire.cause_key(cause)
            ),
            customer_id=customer,
            journey=c.name,
            journey_version=c.version,
            rule=crule.id,
            kind=plan.kind,
            priority=plan.priority,
            stage_before=before,
            stage_after=s.stage,
            cause=cause,
            at=at,
            deliver_after=deliver_after(c, s, plan, at),
            attributes=payload,
            holdout=holdout,
            experiment=experiment,
            variant=variant,
            cohort=cohort(c, s.assignment_id),
        )

    def _actions(self, crule: CompiledRule, at: datetime, event: TouchpointEvent | None) -> None:
        s, rid = self.state, crule.id
        for name, spec, type_, source in crule.sets:
            raw = source(event, s, at)
            if raw is None:
                continue
            value = coerce(raw, type_)
            if unusable(value):
                self.notes.append(f"{rid}: {name}: {raw!r} is not a {type_}, ignored")
                continue
            self.change(rid, name, combine(spec.mode, s.attributes.get(name), value, type_), at)  # type: ignore[arg-type]  # unusable() excluded the sentinel
        for name, inc in crule.increments:
            by: float | int | None = inc.by
            if inc.property is not None:
                raw = lookup(event.properties, inc.property) if event is not None else None
                by = number(coerce(raw, "number")) if raw is not None else None
                if raw is not None and by is None:
                    self.notes.append(f"{rid}: {name}: {raw!r} is not a number, ignored")
            if by is not None:
                total = integral((number(s.attributes.get(name)) or 0) + by)
                if isinstance(total, float) and not math.isfinite(total):
                    self.notes.append(f"{rid}: {name}: adding {by!r} overflows, ignored")
                    continue
                self.change(rid, name, total, at)
        for name in crule.unset:
            self.change(rid, name, None, at)
        move_to = crule.move_to
        if move_to is not None and move_to != s.stage:
            self.move(rid, move_to, at)

    def change(self, rule: str, name: str, value: JsonValue, at: datetime) -> None:
        attrs = self.state.attributes
        old = attrs.get(name)
        if old == value and type(old) is type(value):
            return
        attrs = self.own_attributes()
        if value is None:
            attrs.pop(name, None)
        else:
            attrs[name] = value
        self.changes.append(AttributeChange(rule, name, old, value, at))
        if old is None and name in self.compiled.goal_attributes:
            self.goal(name, at)

    def goal(self, name: str, at: datetime) -> None:
        """Report a goal reached (an unset goal attribute set, or a goal exit)."""
        s = self.state
        since = max(at - s.entered_at, timedelta(0))
        self.goals.append(Goal(name, at, since, cohort(self.compiled, s.assignment_id)))

    def enter(self) -> None:
        """Report that this call started an entry (a new customer, or a re-entry)."""
        self.entered = cohort(self.compiled, self.state.assignment_id)

    def move(self, rule: str, stage: str, at: datetime, kind: TransitionKind = "move") -> None:
        """Enter ``stage``; an exit stage exits. A version upgrade into a goal stage is an
        exit of reason ``exit``, not a goal: the customer was moved there by ``migrate``,
        not by reaching it, and counting it would report in-flight customers converted."""
        s = self.state
        self.transitions.append(Transition(rule, s.stage, stage, at, kind))
        s.stage, s.stage_entered_at = stage, at
        for cond in self.compiled.exits_on_entry.get(stage, ()):
            if s.exited_at is None:
                reason = cond.reason
                if kind == "version_upgrade" and reason == "goal":
                    reason = "exit"
                    self.notes.append(
                        f"version_upgrade into goal stage {stage!r}: exit {cond.name!r} "
                        "counted as an exit, not a goal (migrate moved the customer there)"
                    )
                self.exit(cond.name, reason, at)

    def exit(self, name: str, reason: str, at: datetime) -> None:
        s = self.state
        s.exited_at, s.exit_reason, s.exit_name = at, reason, name  # type: ignore[assignment]  # reason is the definition's literal
        kind: Literal["goal", "exit"] = "goal" if reason == "goal" else "exit"
        self.transitions.append(Transition(f"exit:{name}", s.stage, s.stage, at, kind))
        if kind == "goal":
            self.goal(name, at)

    def window_hit(self, crule: CompiledRule, at: datetime, event_id: str) -> list[str] | None:
        """Count the event in the rule's window; the event ids of a full window, if any."""
        window = crule.rule.when.window
        assert window is not None
        hits = list(self.state.windows.get(crule.id, ()))
        insort(hits, (at, event_id))
        horizon = self.state.watermark - self.compiled.lateness - window.within
        hits = [h for h in hits if h[0] >= horizon]
        found: list[str] | None = None
        k = window.count
        i = hits.index((at, event_id))
        for start in range(max(0, i - k + 1), i + 1):
            stop = start + k - 1
            if stop < len(hits) and hits[stop][0] - hits[start][0] <= window.within:
                found = [h[1] for h in hits[start : stop + 1]]
                break
        if found is not None and window.reset:
            hits = []
        if hits:
            self.own_windows()[crule.id] = hits
        elif crule.id in self.state.windows:
            del self.own_windows()[crule.id]
        return found
