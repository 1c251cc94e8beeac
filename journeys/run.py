"""One engine call's working state: a private copy of the customer state plus the outcome
being collected, and what a rule does when it fires (actions, trigger, guard rails)."""

from __future__ import annotations

from bisect import insort
from datetime import datetime

from pydantic import JsonValue

from journeys.compiled import CompiledRule
from journeys.definition import Emit, Journey
from journeys.guards import deliver_after, guard, record
from journeys.outcome import AttributeChange, Outcome, Reason, Status, Suppressed, Transition
from journeys.predicates import lookup
from journeys.state import CustomerState
from journeys.values import coerce, combine, integral, number, source_value, unusable
from schemas import Cause, TouchpointEvent, Trigger, trigger_id


class Run:
    """Mutable for the length of one ``step`` or ``advance``; never escapes it."""

    __slots__ = ("changes", "d", "deferred", "notes", "s", "suppressed", "transitions", "triggers")

    def __init__(self, definition: Journey, state: CustomerState) -> None:
        self.d = definition
        # A shallow copy whose mutable containers are this run's own; nested window lists
        # are replaced, never mutated, so the caller's state is left untouched.
        self.s = state.model_copy(
            update={
                "attributes": dict(state.attributes),
                "last_match": dict(state.last_match),
                "windows": dict(state.windows),
                "cooldowns": dict(state.cooldowns),
                "cap_history": list(state.cap_history),
                "timers": dict(state.timers),
                "fired": dict(state.fired),
                "seen": dict(state.seen),
            }
        )
        self.triggers: list[Trigger] = []
        self.suppressed: list[Suppressed] = []
        self.transitions: list[Transition] = []
        self.deferred: list[Trigger] = []
        self.changes: list[AttributeChange] = []
        self.notes: list[str] = []

    def outcome(self, status: Status = "processed") -> Outcome:
        return Outcome(
            status=status,
            triggers=self.triggers,
            suppressed=self.suppressed,
            transitions=self.transitions,
            deferred=self.deferred,
            changes=self.changes,
            notes=self.notes,
        )

    # -- firing a rule -----------------------------------------------------------------

    def fire(
        self,
        crule: CompiledRule,
        at: datetime,
        cause: Cause,
        event: TouchpointEvent | None,
        blocked: Reason | None = None,
    ) -> None:
        """Apply the rule's actions and emit its trigger through the guard rails.

        ``blocked`` (exit or reentry): the customer is out of the journey; nothing changes
        and the would-be trigger is reported as suppressed. A rule whose goal attribute is
        set is blocked with reason ``exit`` likewise.
        """
        rule, s = crule.rule, self.s
        if blocked is None and s.exited_at is not None:
            blocked = "exit"
        if blocked is None and rule.goal is not None and s.attributes.get(rule.goal) is not None:
            blocked = "exit"
        before = s.stage
        if blocked is None:
            self._actions(crule, at, event)
        emit = rule.then.emit
        if emit is None:
            return
        trigger = self._trigger(crule, emit, before, at, cause, event)
        reason = blocked or guard(self.d, s, rule.id, emit, at)
        if reason is None or reason == "holdout":
            record(self.d, s, rule.id, emit, at)
        if reason is not None:
            if reason == "holdout":
                trigger = trigger.model_copy(update={"holdout": True})
            self.suppressed.append(
                Suppressed(rule=rule.id, kind=emit.kind, reason=reason, trigger=trigger)
            )
            return
        self.triggers.append(trigger)
        if trigger.deliver_after is not None:
            self.deferred.append(trigger)

    def _trigger(
        self,
        crule: CompiledRule,
        emit: Emit,
        before: str,
        at: datetime,
        cause: Cause,
        event: TouchpointEvent | None,
    ) -> Trigger:
        s, d = self.s, self.d
        payload: dict[str, JsonValue] = {}
        for name, spec in emit.attributes.items():
            value = source_value(spec, event, s.attributes, at)
            if value is not None:
                payload[name] = value
        return Trigger(
            trigger_id=trigger_id(s.customer_id, d.name, d.version, crule.id, cause.key),
            customer_id=s.customer_id,
            journey=d.name,
            journey_version=d.version,
            rule=crule.id,
            kind=emit.kind,
            priority=emit.resolved_priority,
            stage_before=before,
            stage_after=s.stage,
            cause=cause,
            cause_time=at,
            emitted_at=at,
            deliver_after=deliver_after(d, s, emit, at),
            attributes=payload,
        )

    def _actions(self, crule: CompiledRule, at: datetime, event: TouchpointEvent | None) -> None:
        then, s, rid = crule.rule.then, self.s, crule.id
        attrs = s.attributes
        for name, spec in then.set.items():
            type_ = self.d.attributes[name].type
            raw = source_value(spec, event, attrs, at)
            if raw is None:
                continue
            value = coerce(raw, type_)
            if unusable(value):
                self.notes.append(f"{rid}: {name}: {raw!r} is not a {type_}, ignored")
                continue
            self.change(rid, name, combine(spec.mode, attrs.get(name), value, type_))  # type: ignore[arg-type]  # unusable() excluded the sentinel
        for name, inc in then.increment.items():
            by: float | int | None = inc.by
            if inc.property is not None:
                raw = lookup(event.properties, inc.property) if event is not None else None
                by = number(coerce(raw, "number")) if raw is not None else None
                if raw is not None and by is None:
                    self.notes.append(f"{rid}: {name}: {raw!r} is not a number, ignored")
            if by is not None:
                self.change(rid, name, integral((number(attrs.get(name)) or 0) + by))
        for name in then.unset:
            self.change(rid, name, None)
        if then.move_to is not None and then.move_to != s.stage:
            self.move(rid, then.move_to, at)

    def change(self, rule: str, name: str, value: JsonValue) -> None:
        attrs = self.s.attributes
        old = attrs.get(name)
        if old == value and type(old) is type(value):
            return
        if value is None:
            attrs.pop(name, None)
        else:
            attrs[name] = value
        self.changes.append(AttributeChange(rule=rule, name=name, old=old, new=value))

    def move(self, rule: str, stage: str, at: datetime) -> None:
        s = self.s
        self.transitions.append(
            Transition(rule=rule, stage_before=s.stage, stage_after=stage, at=at, kind="move")
        )
        s.stage, s.stage_entered_at = stage, at
        for cond in self.d.exits:
            if cond.stage == stage and s.exited_at is None:
                self.exit(cond.name, cond.reason, at)

    def exit(self, name: str, reason: str, at: datetime) -> None:
        s = self.s
        s.exited_at, s.exit_reason, s.exit_name = at, reason, name  # type: ignore[assignment]  # reason is the definition's literal
        self.transitions.append(
            Transition(
                rule=f"exit:{name}", stage_before=s.stage, stage_after=s.stage, at=at, kind="exit"
            )
        )

    def window_hit(self, crule: CompiledRule, at: datetime, event_id: str) -> list[str] | None:
        """Count the event in the rule's window; the event ids of a full window, if any."""
        window = crule.rule.when.window
        assert window is not None
        hits = list(self.s.windows.get(crule.id, ()))
        insort(hits, (at, event_id))
        horizon = self.s.watermark - self.d.time.allowed_lateness - window.within
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
            self.s.windows[crule.id] = hits
        else:
            self.s.windows.pop(crule.id, None)
        return found
