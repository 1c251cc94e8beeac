"""Cross-reference checks a schema cannot express, as (path, message) issues."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from journeys.definition import Actions, Emit, Journey, Rule, ValueSpec, When
from journeys.predicates import EventMatch
from schemas.triggers import TRIGGER_FAMILIES

Issue = tuple[str, str]
_KIND = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")


def check(journey: Journey) -> list[Issue]:
    """Every semantic problem of a structurally valid definition, in file order."""
    return list(_check(journey))


def _check(j: Journey) -> Iterator[Issue]:
    for check in _CHECKS:
        yield from check(j)


def _stages(j: Journey) -> Iterator[Issue]:
    seen: set[str] = set()
    for i, stage in enumerate(j.stages):
        if stage in seen:
            yield f"stages[{i}]", f"duplicate stage '{stage}'"
        seen.add(stage)
    if j.initial_stage not in j.stages:
        yield "initial_stage", f"unknown stage '{j.initial_stage}'"


def _migrate(j: Journey) -> Iterator[Issue]:
    for old, new in j.migrate.items():
        if new not in j.stages:
            yield f"migrate.{old}", f"unknown stage '{new}'"


def _matchers(j: Journey) -> Iterator[Issue]:
    for name, alternatives in j.matchers.items():
        if not alternatives:
            yield f"matchers.{name}", "needs at least one alternative"
        for k, alt in enumerate(alternatives):
            if alt.matcher is not None:
                yield f"matchers.{name}[{k}].matcher", "a shared matcher cannot refer to another"


def _rules(j: Journey) -> Iterator[Issue]:
    ids: set[str] = set()
    for i, rule in enumerate(j.rules):
        at = f"rules[{i}]"
        if rule.id in ids:
            yield f"{at}.id", f"duplicate rule id '{rule.id}'"
        ids.add(rule.id)
        yield from _rule(j, rule, at)


def _rule(j: Journey, rule: Rule, at: str) -> Iterator[Issue]:
    for k, stage in enumerate(rule.stages or ()):
        if stage not in j.stages:
            yield f"{at}.stages[{k}]", f"unknown stage '{stage}'"
    if rule.goal is not None and rule.goal not in j.attributes:
        yield f"{at}.goal", f"unknown attribute '{rule.goal}'"
    yield from _when(j, rule.when, f"{at}.when")
    yield from _then(j, rule, f"{at}.then")


def _exits(j: Journey) -> Iterator[Issue]:
    for i, cond in enumerate(j.exits):
        if cond.stage is not None and cond.stage not in j.stages:
            yield f"exits[{i}].stage", f"unknown stage '{cond.stage}'"
        yield from _match(j, cond.event, f"exits[{i}].event")


def _reentry(j: Journey) -> Iterator[Issue]:
    reentry = j.guard_rails.reentry
    if reentry.stage is not None and reentry.stage not in j.stages:
        yield "guard_rails.reentry.stage", f"unknown stage '{reentry.stage}'"
    yield from _match(j, reentry.on, "guard_rails.reentry.on")


def _fanout(j: Journey) -> Iterator[Issue]:
    for i, fan in enumerate(j.fanout):
        yield from _match(j, fan.subscribe.event, f"fanout[{i}].subscribe.event")
        yield from _match(j, fan.publish.event, f"fanout[{i}].publish.event")


def _when(j: Journey, when: When, at: str) -> Iterator[Issue]:
    yield from _match(j, when.event, f"{at}.event")
    if when.window is not None:
        yield from _match(j, when.window.event, f"{at}.window.event")
    if when.inactivity is not None:
        yield from _match(j, when.inactivity.of, f"{at}.inactivity.of")
    if when.date is not None:
        yield from _attribute(j, when.date.attribute, ("date", "datetime"), f"{at}.date.attribute")
    if when.threshold is not None:
        yield from _attribute(j, when.threshold.attribute, ("number",), f"{at}.threshold.attribute")


def _then(j: Journey, rule: Rule, at: str) -> Iterator[Issue]:
    then = rule.then
    yield from _changes(j, then, at)
    if then.move_to is not None and then.move_to not in j.stages:
        yield f"{at}.move_to", f"unknown stage '{then.move_to}'"
    if then.emit is not None:
        yield from _emit(j, then.emit, f"{at}.emit")
    elif then.move_to is None and not (then.set or then.increment or then.unset):
        yield at, "does nothing: give at least one of set, increment, unset, move_to, emit"


def _changes(j: Journey, then: Actions, at: str) -> Iterator[Issue]:
    """The attributes a rule sets, increments and unsets."""
    for name, spec in then.set.items():
        yield from _attribute(j, name, None, f"{at}.set.{name}")
        yield from _value(j, spec, f"{at}.set.{name}")
    for name in then.increment:
        yield from _attribute(j, name, ("number",), f"{at}.increment.{name}")
    for k, name in enumerate(then.unset):
        yield from _attribute(j, name, None, f"{at}.unset[{k}]")


def _emit(j: Journey, emit: Emit, at: str) -> Iterator[Issue]:
    if not _KIND.match(emit.kind):
        yield f"{at}.kind", f"bad trigger kind '{emit.kind}': expected family.name"
    elif emit.family not in TRIGGER_FAMILIES:
        families = ", ".join(TRIGGER_FAMILIES)
        yield f"{at}.kind", f"unknown trigger family '{emit.family}' (one of: {families})"
    for name, spec in emit.attributes.items():
        yield from _value(j, spec, f"{at}.attributes.{name}")


def _experiments(j: Journey) -> Iterator[Issue]:
    """Variants: percents adding up to 100, at least two, one set per experiment."""
    declared: dict[str, tuple[int, dict[str, int]]] = {}  # experiment -> (rule index, weights)
    for i, rule in enumerate(j.rules):
        emit, at = rule.then.emit, f"rules[{i}].then.emit"
        if emit is None:
            continue
        if emit.variants is None:
            if emit.experiment is not None:
                yield f"{at}.experiment", "an experiment needs variants (variants: {a: 50, b: 50})"
            continue
        if len(emit.variants) < 2:
            yield f"{at}.variants", "needs at least two variants"
        total = sum(emit.variants.values())
        if total != 100:
            yield (
                f"{at}.variants",
                f"weights add up to {total}: they are percents of customers, make them add "
                "up to 100",
            )
        name = emit.experiment or rule.id
        first = declared.setdefault(name, (i, emit.variants))
        if first[0] != i and list(first[1].items()) != list(emit.variants.items()):
            yield (
                f"{at}.variants",
                f"experiment '{name}' has other variants in rules[{first[0]}] "
                f"('{j.rules[first[0]].id}'): rules sharing an experiment need the same "
                "variants and weights, in the same order",
            )


def _value(j: Journey, spec: ValueSpec, at: str) -> Iterator[Issue]:
    if spec.attribute is not None and spec.attribute not in j.attributes:
        yield f"{at}.attribute", f"unknown attribute '{spec.attribute}'"


def _attribute(j: Journey, name: str, types: tuple[str, ...] | None, at: str) -> Iterator[Issue]:
    spec = j.attributes.get(name)
    if spec is None:
        yield at, f"unknown attribute '{name}' (declare it under 'attributes')"
    elif types is not None and spec.type not in types:
        yield at, f"attribute '{name}' is a {spec.type}, expected {' or '.join(types)}"


def _match(j: Journey, match: EventMatch | None, at: str) -> Iterator[Issue]:
    if match is not None and match.matcher is not None and match.matcher not in j.matchers:
        yield f"{at}.matcher", f"unknown matcher '{match.matcher}'"


_CHECKS: tuple[Callable[[Journey], Iterator[Issue]], ...] = (
    _stages,
    _matchers,
    _rules,
    _exits,
    _reentry,
    _fanout,
    _migrate,
    _experiments,
)  # in file order
