"""Graph checks of one valid definition, for ``journeys lint``: what can never happen.

Small named checks in the spirit of python-statemachine's ``factory._check_*``, each
decidable from the definition alone (plus, with ``--previous``, the stages customers of
the deployed version are in). Two severities:

* ``error`` (lint exits 1): a match that can never hold (``type: []``, or tests on one
  value that contradict: ``gte: 9`` with ``lte: 6``, ``eq: a`` with ``eq: b``, ``in: []``,
  ``exists: false`` with ``gt: 1``), so its rule never fires; a rule with ``stages: []``.
* ``warning`` (printed, exit 0): an unreachable stage (legitimate while a stage is phased
  out and still holds in-flight customers, which ``--previous`` knows), a stage with no
  way out (no rule moves out of it, it is not an exit stage, no exit condition is on an
  event), a rule that runs only in unreachable stages, a threshold or date rule on an
  attribute no rule writes, a ``migrate`` into a goal stage (its customers exit, never
  counted as reaching the goal).

Loading (the worker, replay) runs none of these: a definition that loads runs, exactly
as the engine defines it; lint is the gate before deploying.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import JsonValue

from journeys.definition import Journey, Rule
from journeys.predicates import EventMatch, Predicate
from schemas import TouchpointEvent

Severity = Literal["error", "warning"]
_FIELDS = ("eq", "ne", "in_", "not_in", "lt", "lte", "gt", "gte", "exists")
_MISSING = object()
_PROBE = TouchpointEvent(
    event_id="lint", customer_id="lint", type="lint", event_time=datetime(2000, 1, 1, tzinfo=UTC)
)


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    path: str
    message: str


def findings(journey: Journey, kept: Collection[str] = ()) -> list[Finding]:
    """Every graph finding, check by check. ``kept``: stages that customers of the
    previous version are in and keep (they count as reachable)."""
    graph = _Graph(journey, frozenset(kept))
    return [f for check in _CHECKS for f in check(graph)]


class _Graph:
    """The definition with what every check needs computed once."""

    def __init__(self, journey: Journey, kept: frozenset[str]) -> None:
        self.j = journey
        self.dead = {name: _dead_matcher(alts) for name, alts in journey.matchers.items()}
        self.firing = [not self._never_fires(rule) for rule in journey.rules]
        self.reachable = self._reach(kept)

    def _never_fires(self, rule: Rule) -> bool:
        when = rule.when
        match = when.event or (when.window.event if when.window is not None else None)
        return rule.stages == [] or (match is not None and self.never_matches(match))

    def never_matches(self, match: EventMatch) -> bool:
        if match.matcher is not None:
            return self.dead.get(match.matcher, False)
        return why_never(match) is not None

    def moves(self) -> Iterator[tuple[str, str]]:
        """(from, to) per stage change a rule that can fire makes."""
        for rule, firing in zip(self.j.rules, self.firing, strict=True):
            target = rule.then.move_to
            if firing and target is not None:
                for stage in rule.stages if rule.stages is not None else self.j.stages:
                    if stage != target:
                        yield stage, target

    def _reach(self, kept: frozenset[str]) -> frozenset[str]:
        j = self.j
        seen = {j.initial_stage, *kept, *j.migrate.values()}
        reentry = j.guard_rails.reentry
        if reentry.stage is not None and reentry.policy != "never":
            seen.add(reentry.stage)
        edges = list(self.moves())
        grew = True
        while grew:
            grew = False
            for source, target in edges:
                if source in seen and target not in seen:
                    seen.add(target)
                    grew = True
        return frozenset(seen)


# -- errors: matches that can never hold, rules that never fire ---------------------------


def _matches(g: _Graph) -> Iterator[Finding]:
    j = g.j
    for name, alternatives in j.matchers.items():
        for k, alt in enumerate(alternatives):
            yield from _dead_match(alt, f"matchers.{name}[{k}]", "")
    for i, rule in enumerate(j.rules):
        when, at = rule.when, f"rules[{i}].when"
        fires = ": the rule never fires"
        yield from _dead_match(when.event, f"{at}.event", fires)
        if when.window is not None:
            yield from _dead_match(when.window.event, f"{at}.window.event", fires)
        if when.inactivity is not None:
            counts = ": inactivity always counts from the stage entry"
            yield from _dead_match(when.inactivity.of, f"{at}.inactivity.of", counts)
        named = when.event or (when.window.event if when.window is not None else None)
        if named is not None and named.matcher is not None and g.dead.get(named.matcher):
            yield _error(at, f"matcher '{named.matcher}' can never match: the rule never fires")
    for i, cond in enumerate(j.exits):
        yield from _dead_match(cond.event, f"exits[{i}].event", ": nobody exits this way")
    yield from _dead_match(j.guard_rails.reentry.on, "guard_rails.reentry.on", ": nobody re-enters")
    for i, fan in enumerate(j.fanout):
        yield from _dead_match(fan.subscribe.event, f"fanout[{i}].subscribe.event", "")
        yield from _dead_match(fan.publish.event, f"fanout[{i}].publish.event", "")


def _empty_stages(g: _Graph) -> Iterator[Finding]:
    for i, rule in enumerate(g.j.rules):
        if rule.stages == []:
            yield _error(
                f"rules[{i}].stages", "empty: the rule never fires (omit it for every stage)"
            )


def _dead_match(match: EventMatch | None, at: str, consequence: str) -> Iterator[Finding]:
    why = why_never(match) if match is not None else None
    if why is not None:
        yield _error(at, f"can never match: {why}{consequence}")


def _error(path: str, message: str) -> Finding:
    return Finding("error", path, message)


# -- warnings: the stage graph and what no rule writes ------------------------------------


def _unreachable(g: _Graph) -> Iterator[Finding]:
    j = g.j
    for k, stage in enumerate(j.stages):
        if stage not in g.reachable:
            yield _warning(
                f"stages[{k}]",
                f"stage '{stage}' is unreachable: no rule moves a customer into it from "
                f"the initial stage '{j.initial_stage}'",
            )
    for i, rule in enumerate(j.rules):
        if rule.stages and not g.reachable.intersection(rule.stages):
            yield _warning(f"rules[{i}].stages", "every stage is unreachable: the rule never fires")


def _no_way_out(g: _Graph) -> Iterator[Finding]:
    j = g.j
    for cond in j.exits:
        if cond.event is not None and not g.never_matches(cond.event):
            return  # an exit condition on an event leaves the journey from every stage
    leave = {source for source, _ in g.moves()}
    leave |= {cond.stage for cond in j.exits if cond.stage is not None}
    for k, stage in enumerate(j.stages):
        if stage in g.reachable and stage not in leave:
            yield _warning(
                f"stages[{k}]",
                f"stage '{stage}' has no way out: no rule moves a customer out of it, it is "
                "not an exit stage and no exit condition is on an event",
            )


def _unwritten(g: _Graph) -> Iterator[Finding]:
    j = g.j
    written = {name for rule in j.rules for name in (*rule.then.set, *rule.then.increment)}
    for i, rule in enumerate(j.rules):
        when = rule.when.threshold or rule.when.date
        kind = "threshold" if rule.when.threshold is not None else "date"
        if when is not None and when.attribute not in written:
            yield _warning(
                f"rules[{i}].when.{kind}.attribute",
                f"no rule sets '{when.attribute}': the rule fires only on a value written "
                "by another version",
            )


def _migrate_into_goal(g: _Graph) -> Iterator[Finding]:
    """A ``migrate`` target that is a goal stage (an exit stage of reason ``goal``): the
    engine exits the customers moved there without counting a goal (they did not reach
    it), which is rarely what the author meant by the mapping."""
    goals = {cond.stage: cond.name for cond in g.j.exits if cond.stage and cond.reason == "goal"}
    for old, new in g.j.migrate.items():
        if new in goals:
            yield _warning(
                f"migrate.{old}",
                f"stage '{new}' is a goal stage (exit '{goals[new]}'): customers of another "
                f"version moved there from '{old}' leave the journey without reaching the "
                "goal (an exit, never counted as converted)",
            )


def _warning(path: str, message: str) -> Finding:
    return Finding("warning", path, message)


_CHECKS: tuple[Callable[[_Graph], Iterator[Finding]], ...] = (
    _matches,
    _empty_stages,
    _unreachable,
    _no_way_out,
    _unwritten,
    _migrate_into_goal,
)


# -- matches that can never hold -----------------------------------------------------------


def why_never(match: EventMatch) -> str | None:
    """Why ``match`` (a ``type``/``where`` match, not a matcher reference) can never hold,
    or None when some event matches it."""
    if match.types is not None and not match.types:
        return "'type' is an empty list"
    by_value: dict[tuple[str, str], list[Predicate]] = {}
    for p in match.where:
        where = ("property", p.property) if p.property is not None else ("trait", str(p.trait))
        by_value.setdefault(where, []).append(p)
    for (container, path), tests in by_value.items():
        if not any(_holds(tests, container, path, v) for v in _candidates(tests)):
            shown = ", ".join(_test_text(p) for p in tests)
            return f"no value of {container} '{path}' passes {shown}"
    return None


def _dead_matcher(alternatives: list[EventMatch]) -> bool:
    """A named matcher every alternative of which can never hold (none: never, too)."""
    return all(why_never(alt) is not None for alt in alternatives)


def _candidates(tests: list[Predicate]) -> list[Any]:
    """Values standing for every class of values the tests tell apart: each constant
    named, each interval between the numbers named, null, absent, and a value equal to
    none of them. Some value passes every test iff one of these does."""
    constants: list[JsonValue] = []
    numbers: set[float] = set()
    for p in tests:
        for op in ("eq", "ne"):
            if op in p.model_fields_set:
                constants.append(getattr(p, op))
        for values in (p.in_, p.not_in):
            constants.extend(values or ())
        numbers.update(v for v in (p.lt, p.lte, p.gt, p.gte) if v is not None)
    numbers.update(c for c in constants if isinstance(c, int | float) and not isinstance(c, bool))
    points = sorted(numbers)
    between = [(a + b) / 2 for a, b in itertools.pairwise(points)]
    ends = [points[0] - 1, points[-1] + 1] if points else [0]
    fresh = "\x00" + "".join(c for c in constants if isinstance(c, str))
    return [*constants, *points, *between, *ends, fresh, True, False, None, _MISSING]


def _holds(tests: list[Predicate], container: str, path: str, value: Any) -> bool:
    data: dict[str, Any] = {}
    if value is not _MISSING:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    key = "properties" if container == "property" else "traits"
    event = _PROBE.model_copy(update={key: data})  # no validation: any JSON value
    return all(p.check(event) for p in tests)


def _test_text(p: Predicate) -> str:
    given = [op for op in _FIELDS if op in p.model_fields_set]
    return ", ".join(f"{op.rstrip('_')}: {_json(getattr(p, op))}" for op in given)


def _json(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value)
