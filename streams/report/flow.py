"""The measured flow through a journey's map: who reached each stage, who took each path.

From the same tally as the rest of the report (same input, same cut-off, same customers
and cohorts), per journey:

* ``stages``: per stage (definition order) the customers who reached it, per cohort (the
  funnel's numbers), and per goal the share of them who reached it;
* ``transitions``: per transition (rule, from, to, kind) the customers who took it at
  least once: every path the map draws (zero when nobody took it), then the measured
  ones the definition does not draw (a merge, a re-entry, an exit, a version upgrade);
* ``rules``: per rule that sent or held out a trigger, the triggers sent and held out
  (the control group's), per cohort of the customer.

``cohorts`` lists the cohorts to show: ``all``, with ``treated`` and ``holdout`` where
the journey has a control group. :func:`journeys.drawing.svg.draw` draws this document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from journeys.definition import Rule
from journeys.drawing import journey_map
from journeys.outcome import Cohort
from streams.report.tally import JourneyTally, Path

Doc = dict[str, object]
COHORTS: tuple[Cohort, ...] = ("treated", "holdout")


def flow_doc(j: JourneyTally, cohorts: dict[str, Cohort], goals: list[str]) -> Doc:
    holdout = j.definition.guard_rails.holdout_percent > 0
    paths = list(j.paths.items())

    def by_cohort(count: Callable[[Path], int]) -> dict[str, int]:
        out = {"all": sum(count(p) for _, p in paths)}
        for c in COHORTS:
            out[c] = sum(count(p) for k, p in paths if cohorts[k] == c)
        return out

    stages = []
    for stage in j.definition.stages:
        reached = by_cohort(_reached(stage))
        rows = []
        for goal in goals:
            both = by_cohort(_reached(stage, goal))
            rate = {c: _share(both[c], reached[c]) for c in reached}
            rows.append({"goal": goal, "reached": both, "rate": rate})
        stages.append({"stage": stage, "customers": reached, "goals": rows})
    drawn = [(*e.key, "move") for e in journey_map(j.definition).edges]
    measured = sorted({m for _, p in paths for m in p.moves} - set(drawn))
    transitions = [
        {
            "rule": rule,
            "from": source,
            "to": target,
            "kind": kind,
            "drawn": (rule, source, target, kind) in drawn,
            "customers": by_cohort(_took((rule, source, target, kind))),
        }
        for rule, source, target, kind in [*drawn, *measured]
    ]
    rules = _rules(j.definition.rules, paths, by_cohort)
    return {
        "cohorts": ["all", *COHORTS] if holdout else ["all"],
        "stages": stages,
        "transitions": transitions,
        "rules": rules,
    }


def _rules(
    rules: Iterable[Rule], paths: list[tuple[str, Path]], by_cohort: Callable[..., dict[str, int]]
) -> list[Doc]:
    fired = {r for _, p in paths for r in (*p.sent, *p.held)}
    ids = [rule.id for rule in rules]
    return [
        {
            "rule": rule,
            "sent": by_cohort(_counted(rule, held=False)),
            "held_out": by_cohort(_counted(rule, held=True)),
        }
        for rule in [*ids, *sorted(fired - set(ids))]
        if rule in fired
    ]


def _reached(stage: str, goal: str | None = None) -> Callable[[Path], int]:
    def count(p: Path) -> int:
        return int(stage in p.stages and (goal is None or goal in p.goals))

    return count


def _took(move: tuple[str, str, str, str]) -> Callable[[Path], int]:
    def count(p: Path) -> int:
        return int(move in p.moves)

    return count


def _counted(rule: str, *, held: bool) -> Callable[[Path], int]:
    def count(p: Path) -> int:
        return (p.held if held else p.sent).get(rule, 0)

    return count


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None
