"""What the map of a journey shows, read from its definition alone.

A marketer reads a journey as stages and the paths between them. From the definition:

* a **node** per stage, in definition order: the initial stage is where customers enter;
  a stage named by an exit condition is an exit stage (a *goal* stage when its reason is
  ``goal``); the rules that fire *in* the stage without moving anyone (a day-3 nudge)
  are listed in it;
* an **edge** per stage a rule moves customers out of (``stages``, or every other stage
  when the rule names none) to its ``move_to``, labelled with the rule, the kind of its
  condition (``event``, ``timer`` for inactivity, ``window``, ``threshold``, ``date``) and
  the condition in words, and the trigger it sends;
* rules that fire in **every stage** without moving anyone (renewal reminders, service
  recovery) are not drawn as loops on each stage, which would bury the paths: they are
  one list beside the map; rules that only write attributes are named there too;
* exits on an event (from any stage) and the re-entry policy, likewise beside the map.

A trigger is shown with its family, its priority (``service`` or ``marketing``),
whether quiet hours hold it back (the same rule as :mod:`journeys.compiled`: the emit's
own ``quiet_hours``, else whether the journey's quiet hours cover its priority), its
cooldown and its A/B variants. Pure: no layout, no drawing, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from journeys.definition import Emit, Journey, Rule
from journeys.predicates import EventMatch, Predicate
from journeys.timeutil import format_duration

WhenKind = Literal["event", "timer", "window", "threshold", "date"]
_KINDS: dict[str, WhenKind] = {
    "event": "event",
    "inactivity": "timer",
    "window": "window",
    "threshold": "threshold",
    "date": "date",
}
_OPS = (("eq", "="), ("ne", "≠"), ("lt", "<"), ("lte", "≤"), ("gt", ">"), ("gte", "≥"))


@dataclass(frozen=True, slots=True)
class Send:
    """The trigger a rule sends."""

    kind: str
    family: str
    priority: str
    quiet: bool  # held back during quiet hours
    cooldown: timedelta | None
    variants: tuple[str, ...]

    def text(self) -> str:
        extra = [self.priority]
        if self.quiet:
            extra.append("quiet hours")
        if self.cooldown is not None:
            extra.append(f"cooldown {format_duration(self.cooldown)}")
        if self.variants:
            extra.append("A/B " + "/".join(self.variants))
        return f"sends {self.kind} ({', '.join(extra)})"


@dataclass(frozen=True, slots=True)
class Card:
    """One rule as the map tells it: when it fires and what it sends."""

    rule: str
    when: WhenKind
    condition: str
    send: Send | None
    goal: str | None  # the goal attribute the rule works towards, or sets

    def text(self) -> str:
        return f"{self.rule} [{self.when}] {self.condition}"


@dataclass(frozen=True, slots=True)
class Node:
    stage: str
    initial: bool
    exit: str | None  # the exit condition entering this stage fires
    goal: bool  # that exit's reason is goal
    actions: tuple[Card, ...]  # rules firing in this stage without moving


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    card: Card

    @property
    def key(self) -> tuple[str, str, str]:
        """(rule, from, to): how a measured transition names it."""
        return (self.card.rule, self.source, self.target)


@dataclass(frozen=True, slots=True)
class JourneyMap:
    journey: str
    version: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    everywhere: tuple[Card, ...]  # rules of every stage that send without moving
    updates: tuple[str, ...]  # rules that only write attributes
    exits: tuple[tuple[str, str, str], ...]  # (name, event condition, reason) from any stage
    notes: tuple[str, ...]  # guard rails and re-entry, in words


def journey_map(journey: Journey) -> JourneyMap:
    """The map of ``journey``: its stages, the moves between them, the rest beside."""
    actions: dict[str, list[Card]] = {stage: [] for stage in journey.stages}
    edges: list[Edge] = []
    everywhere: list[Card] = []
    updates: list[str] = []
    for rule in journey.rules:
        card = _card(journey, rule)
        target = rule.then.move_to
        stages = journey.stages if rule.stages is None else rule.stages
        if target is not None:
            edges += [Edge(s, target, card) for s in stages if s != target]
        elif rule.then.emit is None:
            updates.append(rule.id)
        elif rule.stages is None:
            everywhere.append(card)
        else:
            for stage in stages:
                actions[stage].append(card)
    exits = {e.stage: e for e in journey.exits if e.stage is not None}
    nodes = tuple(
        Node(
            stage,
            stage == journey.initial_stage,
            exits[stage].name if stage in exits else None,
            stage in exits and exits[stage].reason == "goal",
            tuple(actions[stage]),
        )
        for stage in journey.stages
    )
    on_event = tuple(
        (e.name, match_text(e.event), e.reason) for e in journey.exits if e.event is not None
    )
    return JourneyMap(
        journey.name,
        journey.version,
        nodes,
        tuple(edges),
        tuple(everywhere),
        tuple(updates),
        on_event,
        _notes(journey),
    )


def _card(journey: Journey, rule: Rule) -> Card:
    when = rule.when
    send = _send(journey, rule.then.emit) if rule.then.emit is not None else None
    goal = rule.goal or next((a for a in rule.then.set if a in _goal_attributes(journey)), None)
    return Card(rule.id, _KINDS[when.kind], condition_text(rule), send, goal)


def _goal_attributes(journey: Journey) -> set[str]:
    return {rule.goal for rule in journey.rules if rule.goal is not None}


def _send(journey: Journey, emit: Emit) -> Send:
    rails = journey.guard_rails
    priority = emit.resolved_priority
    quiet = emit.quiet_hours
    if quiet is None:
        quiet = rails.quiet_hours is not None and priority in rails.quiet_hours.priorities
    return Send(
        emit.kind,
        emit.family,
        priority,
        rails.quiet_hours is not None and quiet,
        emit.cooldown,
        tuple(emit.variants or ()),
    )


def condition_text(rule: Rule) -> str:
    """The rule's condition in a few words: ``signed_up``, ``no activity for 14d``..."""
    when = rule.when
    if when.event is not None:
        return match_text(when.event)
    if when.inactivity is not None:
        of = "any event" if when.inactivity.of is None else match_text(when.inactivity.of)
        since = " since entering the stage" if when.inactivity.since == "stage_entry" else ""
        return f"no {of} for {format_duration(when.inactivity.for_)}{since}"
    if when.window is not None:
        w = when.window
        return f"{w.count} x {match_text(w.event)} within {format_duration(w.within)}"
    if when.threshold is not None:
        t = when.threshold
        return f"{t.attribute} {'≥' if t.crosses == 'up' else '<'} {t.value:g}"
    assert when.date is not None  # validated: one condition is set
    d = when.date
    offset = f" {d.offset_days:+d}d" if d.offset_days else ""
    yearly = " yearly" if d.yearly else ""
    return f"{d.attribute}{offset}{yearly} at {d.at.strftime('%H:%M')}"


def match_text(match: EventMatch) -> str:
    if match.matcher is not None:
        return match.matcher
    names = "any event" if match.type is None else _names(match.type)
    tests = [_predicate_text(p) for p in match.where]
    return ", ".join([names, *tests])


def _names(value: str | list[str]) -> str:
    return value if isinstance(value, str) else " or ".join(value)


def _predicate_text(p: Predicate) -> str:
    name = p.property if p.property is not None else f"trait {p.trait}"
    given = p.model_fields_set
    parts = [f"{name} {sign} {_value(getattr(p, op))}" for op, sign in _OPS if op in given]
    if p.in_ is not None:
        parts.append(f"{name} in {', '.join(map(_value, p.in_))}")
    if p.not_in is not None:
        parts.append(f"{name} not in {', '.join(map(_value, p.not_in))}")
    if p.exists is not None:
        parts.append(f"{name} {'set' if p.exists else 'unset'}")
    return ", ".join(parts) or name


def _value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _notes(journey: Journey) -> tuple[str, ...]:
    rails = journey.guard_rails
    notes = []
    if rails.quiet_hours is not None:
        q = rails.quiet_hours
        notes.append(
            f"quiet hours {q.start.strftime('%H:%M')}-{q.end.strftime('%H:%M')} "
            f"(customer's time) for {' and '.join(q.priorities)}"
        )
    if rails.frequency_cap is not None:
        cap = rails.frequency_cap
        notes.append(
            f"at most {cap.max} {' and '.join(cap.priorities)} triggers "
            f"per {format_duration(cap.within)}"
        )
    if rails.holdout_percent:
        notes.append(
            f"{rails.holdout_percent:g}% held out of {' and '.join(rails.holdout_priorities)}"
        )
    r = rails.reentry
    if r.policy != "never":
        after = f" after {format_duration(r.after)}" if r.after is not None else ""
        on = f" on {match_text(r.on)}" if r.on is not None else ""
        notes.append(f"re-entry{after}{on}, into {r.stage or journey.initial_stage}")
    return tuple(notes)
