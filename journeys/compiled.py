"""Lookup tables built once per definition so that a step only looks at relevant rules,
and each rule's actions and guard rails read from flat fields instead of the models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from journeys.definition import (
    Emit,
    ExitCondition,
    FrequencyCap,
    Increment,
    Journey,
    QuietHours,
    Rule,
    ValueSpec,
)
from journeys.experiments import Cuts, cuts
from journeys.predicates import Check, EventMatch
from journeys.values import Source, value_source
from schemas import TouchpointEvent

Alternative = tuple[frozenset[str] | None, tuple[Check, ...]]  # types (None: any), where


@dataclass(frozen=True, slots=True)
class EmitPlan:
    """A rule's ``emit`` with the definition's guard rails resolved for it."""

    kind: str
    priority: Literal["service", "marketing"]
    cooldown: timedelta | None
    capped: bool  # counts for (and is stopped by) the frequency cap
    held: bool  # held out for the control group (a holdout percent and a held priority)
    quiet: bool  # deferred during quiet hours
    payload: tuple[tuple[str, ValueSpec, Source], ...]  # (name, spec, its reader)
    experiment: str | None = None  # with variants: the experiment (default: the rule id)
    variants: Cuts = ()  # each variant's bucket range (journeys.experiments)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    rule: Rule
    kind: str
    stages: frozenset[str] | None
    match: tuple[EventMatch, ...]  # alternatives (event, window, inactivity rules)
    types: frozenset[str] | None  # union of the alternatives' types; None: any type
    id: str = ""
    alternatives: tuple[Alternative, ...] = ()  # ``match`` flattened
    goal: str | None = None
    sets: tuple[tuple[str, ValueSpec, str, Source], ...] = ()  # (attribute, value, type, reader)
    increments: tuple[tuple[str, Increment], ...] = ()
    unset: tuple[str, ...] = ()
    move_to: str | None = None
    emit: EmitPlan | None = None

    def in_stage(self, stage: str) -> bool:
        return self.stages is None or stage in self.stages

    def matches(self, event: TouchpointEvent) -> bool:
        """``any(m.holds(event) for m in match)``, from the flattened alternatives."""
        return matches_any(self.alternatives, event)


def flatten(alternatives: tuple[EventMatch, ...]) -> tuple[Alternative, ...]:
    """Event matches as (types, compiled predicates) pairs."""
    return tuple((m.types, tuple(p.check for p in m.where)) for m in alternatives)


def matches_any(alternatives: tuple[Alternative, ...], event: TouchpointEvent) -> bool:
    """Whether some alternative's type and predicates hold for ``event``."""
    for types, where in alternatives:
        if types is not None and event.type not in types:
            continue
        for check in where:
            if not check(event):
                break
        else:
            return True
    return False


@dataclass(slots=True)
class TimedRule:
    """A time rule's parameters flattened for ``timers.rearm``, plus memos of its pure
    date arithmetic: (raw attribute, zone name) -> local day, and (raw attribute, zone
    name, year) -> due time (year 0: the one-off date). Memos are cleared when large."""

    crule: CompiledRule
    id: str
    stages: frozenset[str] | None
    inactivity: bool
    for_: timedelta  # inactivity
    since_entry: bool  # inactivity since: stage_entry
    attribute: str  # date rules from here on
    datetime_attr: bool
    offset: timedelta
    at: time
    yearly: bool
    days: dict[tuple[str, str | None], date | None] = field(default_factory=dict)
    dues: dict[tuple[str, str | None, int], datetime] = field(default_factory=dict)


@dataclass(slots=True)
class Compiled:
    rules: tuple[CompiledRule, ...]
    by_id: dict[str, CompiledRule]
    reactive: tuple[CompiledRule, ...]  # event and window rules, definition order
    inactivity: tuple[CompiledRule, ...]
    timed: tuple[CompiledRule, ...]  # inactivity and date rules
    thresholds: tuple[CompiledRule, ...]
    exits: tuple[tuple[ExitCondition, tuple[Alternative, ...]], ...]
    reentry: tuple[Alternative, ...] | None  # None: any event
    stages: frozenset[str]
    journey: Journey | None = None  # compiled from (a copy of a definition recompiles)
    name: str = ""
    version: int = 0
    lateness: timedelta = timedelta(0)  # time.allowed_lateness
    dedup_capacity: int = 0
    cap: FrequencyCap | None = None
    quiet: QuietHours | None = None
    holdout_percent: float = 0.0
    entry_attributes: tuple[str, ...] = ()  # unset on re-entry (scope entry)
    goal_attributes: frozenset[str] = frozenset()  # the rules' goals: reached when set
    deployment_cap: FrequencyCap | None = None  # the deployment's per-customer cap, if here
    keeps_locale: bool = False  # some value reads context: locale (the state keeps it)
    exits_on_entry: dict[str, tuple[ExitCondition, ...]] = field(default_factory=dict)
    timed_rules: tuple[TimedRule, ...] = ()  # the ``timed`` rules, flattened
    timed_by_id: dict[str, TimedRule] = field(default_factory=dict)
    _reactive_by_type: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    _inactivity_by_type: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    _timed_by_stage: dict[str, TimedInStage] = field(default_factory=dict)

    def reactive_for(self, event_type: str) -> tuple[CompiledRule, ...]:
        found = self._reactive_by_type.get(event_type)
        if found is None:
            found = _for_type(self.reactive, event_type)
            self._reactive_by_type[event_type] = found
        return found

    def inactivity_for(self, event_type: str) -> tuple[CompiledRule, ...]:
        found = self._inactivity_by_type.get(event_type)
        if found is None:
            found = _for_type(self.inactivity, event_type)
            self._inactivity_by_type[event_type] = found
        return found

    def timed_in(self, stage: str) -> TimedInStage:
        """The time rules' ids outside ``stage``, and the rules in it (definition order)."""
        found = self._timed_by_stage.get(stage)
        if found is None:
            found = self._timed_by_stage[stage] = (
                tuple(t.id for t in self.timed_rules if not _within(t.stages, stage)),
                tuple(t for t in self.timed_rules if _within(t.stages, stage)),
            )
        return found


TimedInStage = tuple[tuple[str, ...], tuple[TimedRule, ...]]


def _within(stages: frozenset[str] | None, stage: str) -> bool:
    return stages is None or stage in stages


def _for_type(rules: tuple[CompiledRule, ...], event_type: str) -> tuple[CompiledRule, ...]:
    return tuple(r for r in rules if r.types is None or event_type in r.types)


def resolve(journey: Journey, match: EventMatch | None) -> tuple[EventMatch, ...]:
    """A match's alternatives, a ``matcher`` reference replaced by its named list."""
    if match is None:
        return (EventMatch(),)
    if match.matcher is not None:
        return tuple(journey.matchers.get(match.matcher, ()))
    return (match,)


def _types(alternatives: tuple[EventMatch, ...]) -> frozenset[str] | None:
    union: set[str] = set()
    for m in alternatives:
        if m.types is None:
            return None
        union |= m.types
    return frozenset(union)


def compiled(journey: Journey) -> Compiled:
    """The lookup tables of ``journey``: built once, kept on the definition.

    Read from the private slot directly (pydantic's ``__getattr__`` costs microseconds a
    call); a ``model_copy`` carries the original's tables, so they are rebuilt when they
    were built for another instance.
    """
    private: dict[str, object] = journey.__pydantic_private__  # type: ignore[assignment]  # declared private attribute
    found = private["_compiled"]
    if not isinstance(found, Compiled) or found.journey is not journey:
        found = private["_compiled"] = compile_journey(journey)
    return found


def compile_journey(journey: Journey) -> Compiled:
    rules = []
    for index, rule in enumerate(journey.rules):
        when = rule.when
        source = when.event or (when.window.event if when.window else None)
        if when.inactivity is not None:
            source = when.inactivity.of
        alternatives = resolve(journey, source) if when.kind in _MATCHING else ()
        then = rule.then
        rules.append(
            CompiledRule(
                index=index,
                rule=rule,
                kind=when.kind,
                stages=frozenset(rule.stages) if rule.stages is not None else None,
                match=alternatives,
                types=_types(alternatives) if alternatives else frozenset(),
                id=rule.id,
                alternatives=flatten(alternatives),
                goal=rule.goal,
                sets=tuple(
                    (name, spec, journey.attributes[name].type, value_source(spec))
                    for name, spec in then.set.items()
                ),
                increments=tuple(then.increment.items()),
                unset=tuple(then.unset),
                move_to=then.move_to,
                emit=_plan(journey, then.emit, rule.id) if then.emit is not None else None,
            )
        )
    reentry = journey.guard_rails.reentry.on
    timed = tuple(_timed(journey, r) for r in rules if r.kind in ("inactivity", "date"))
    return Compiled(
        rules=tuple(rules),
        by_id={r.id: r for r in rules},
        reactive=tuple(r for r in rules if r.kind in ("event", "window")),
        inactivity=tuple(r for r in rules if r.kind == "inactivity"),
        timed=tuple(r for r in rules if r.kind in ("inactivity", "date")),
        thresholds=tuple(r for r in rules if r.kind == "threshold"),
        exits=tuple((e, flatten(resolve(journey, e.event))) for e in journey.exits if e.event),
        reentry=flatten(resolve(journey, reentry)) if reentry is not None else None,
        stages=frozenset(journey.stages),
        journey=journey,
        name=journey.name,
        version=journey.version,
        lateness=journey.time.allowed_lateness,
        dedup_capacity=journey.time.dedup_capacity,
        cap=journey.guard_rails.frequency_cap,
        quiet=journey.guard_rails.quiet_hours,
        holdout_percent=journey.guard_rails.holdout_percent,
        entry_attributes=_entry_attributes(journey),
        goal_attributes=frozenset(r.goal for r in journey.rules if r.goal is not None),
        deployment_cap=journey.deployment.frequency_cap if journey.deployment else None,
        keeps_locale=_reads_context(journey, "locale"),
        exits_on_entry={
            stage: tuple(e for e in journey.exits if e.stage == stage) for stage in journey.stages
        },
        timed_rules=timed,
        timed_by_id={t.id: t for t in timed},
    )


def _entry_attributes(journey: Journey) -> tuple[str, ...]:
    """The attributes a re-entry unsets: scope ``entry``, by default the rules' goals."""
    goals = {rule.goal for rule in journey.rules}
    return tuple(
        name
        for name, spec in journey.attributes.items()
        if spec.scope == "entry" or (spec.scope is None and name in goals)
    )


def _reads_context(journey: Journey, name: str) -> bool:
    """Whether a rule's ``set`` or ``emit.attributes`` reads context field ``name``.

    The state keeps the last known locale only then: personal data is kept only where a
    rule uses it (the time zone is kept always: quiet hours and date rules need it), and
    the states of journeys that do not read it stay as they were.
    """
    for rule in journey.rules:
        then = rule.then
        specs = [*then.set.values(), *(then.emit.attributes.values() if then.emit else ())]
        if any(spec.context == name for spec in specs):
            return True
    return False


def _plan(journey: Journey, emit: Emit, rule: str) -> EmitPlan:
    rails = journey.guard_rails
    priority = emit.resolved_priority
    cap, quiet = rails.frequency_cap, rails.quiet_hours
    applies = emit.quiet_hours
    if applies is None:
        applies = quiet is not None and priority in quiet.priorities
    return EmitPlan(
        kind=emit.kind,
        priority=priority,
        cooldown=emit.cooldown,
        capped=cap is not None and priority in cap.priorities,
        held=bool(rails.holdout_percent) and priority in rails.holdout_priorities,
        quiet=quiet is not None and applies,
        payload=tuple((name, spec, value_source(spec)) for name, spec in emit.attributes.items()),
        experiment=(emit.experiment or rule) if emit.variants else None,
        variants=cuts(emit.variants) if emit.variants else (),
    )


def _timed(journey: Journey, crule: CompiledRule) -> TimedRule:
    when = crule.rule.when
    inactivity, dated = when.inactivity, when.date
    attribute = dated.attribute if dated is not None else ""
    spec = journey.attributes.get(attribute)
    return TimedRule(
        crule=crule,
        id=crule.id,
        stages=crule.stages,
        inactivity=inactivity is not None,
        for_=inactivity.for_ if inactivity is not None else timedelta(0),
        since_entry=inactivity is not None and inactivity.since == "stage_entry",
        attribute=attribute,
        datetime_attr=spec is not None and spec.type == "datetime",
        offset=timedelta(days=dated.offset_days if dated is not None else 0),
        at=dated.at if dated is not None else time(0),
        yearly=dated is not None and dated.yearly,
    )


_MATCHING = ("event", "window", "inactivity")
