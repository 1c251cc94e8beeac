"""The report's numbers: funnels, goal rates by cohort and variant, lifts, triggers.

From a :class:`streams.report.tally.Tally` to one JSON-ready document (what ``--json``
prints, and what the terminal table and the HTML page show):

* ``funnel``: per stage (definition order), the customers who reached it (the initial
  stage: every customer who entered), their share of those who entered, per cohort too;
* ``goals``: per goal (each rule's ``goal`` attribute, then each exit of reason ``goal``),
  per cohort the customers, those who reached it, the rate with its interval and the time
  from entry to goal (median and mean, hours); the lift of treated over holdout;
* per goal and experiment, its arms: ``control`` (the holdout customers assigned a
  variant: they would have got it) and each variant's treated customers; each arm's
  lift over the baseline, the control arm, or the first variant when the journey has no
  control group;
* ``triggers``: per kind, sent, and suppressed per reason (``holdout`` included).

Intervals and their methods: :mod:`streams.report.stats`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from journeys import Journey
from journeys.outcome import Cohort
from schemas.codec import isoformat_utc
from streams.report.flow import flow_doc
from streams.report.stats import CONFIDENCE, METHODS, Lift, Rate, lift, median
from streams.report.tally import JourneyTally, Path, Tally
from streams.report.value import METHOD as VALUE_METHOD
from streams.report.value import REVENUE_EVENTS, REVENUE_PROPERTIES, value_doc
from streams.report.value import arms as value_arms

COHORTS: tuple[Cohort, ...] = ("treated", "holdout")
UNIT = (
    "customer: a customer (a linked anonymous key folded into its customer) counts once "
    "per goal, at the first time it reached it; cohorts from the customer id"
)

Doc = dict[str, Any]


def report(found: Tally, *, until: datetime | None = None) -> Doc:
    """The whole report as plain JSON values."""
    return {
        "input": {
            "events": found.events,
            "unreadable": found.unreadable,
            "untimed": found.untimed,
            "after_cutoff": found.after_cutoff,
            "erasures": found.erasures,
            "processing_errors": len(found.errors),
            "first_event": _iso(found.first_event),
            "last_event": _iso(found.last_event),
            "advanced_to": _iso(until),
        },
        "methods": {
            **METHODS,
            "confidence": CONFIDENCE,
            "unit": UNIT,
            "revenue_difference": VALUE_METHOD,
            "revenue": {
                "events": sorted(REVENUE_EVENTS),
                "properties": list(REVENUE_PROPERTIES),
                "since": "the customer's entry into the journey, up to the cut-off",
            },
        },
        "journeys": [journey_report(j) for j in found.journeys.values()],
    }


def journey_report(j: JourneyTally) -> Doc:
    d = j.definition
    cohorts = {key: j.cohort_of(key) for key in j.paths}
    groups = {c: [p for k, p in j.paths.items() if cohorts[k] == c] for c in COHORTS}
    holdout = d.guard_rails.holdout_percent > 0
    names = [name for name, _ in goals(d)]
    return {
        "journey": d.name,
        "version": d.version,
        "holdout_percent": d.guard_rails.holdout_percent,
        "customers": {"all": len(j.paths), **{c: len(groups[c]) for c in COHORTS}},
        "funnel": _funnel(d, list(j.paths.values()), groups),
        "goals": [
            _goal(name, kind, groups, experiments(d), holdout=holdout) for name, kind in goals(d)
        ],
        "flow": flow_doc(j, cohorts, names),
        "value": _value(groups, experiments(d), None, holdout=holdout),
        "triggers": [
            {
                "kind": kind,
                "sent": j.sent.get(kind, 0),
                "suppressed": dict(sorted(j.suppressed.get(kind, {}).items())),
            }
            for kind in sorted(set(j.sent) | set(j.suppressed))
        ],
    }


def goals(d: Journey) -> list[tuple[str, str]]:
    """(name, kind) of every goal: rules' goal attributes in rule order, then goal exits."""
    found: list[tuple[str, str]] = []
    for rule in d.rules:
        if rule.goal is not None and (rule.goal, "attribute") not in found:
            found.append((rule.goal, "attribute"))
    found += [(e.name, "exit") for e in d.exits if e.reason == "goal"]
    return found


def experiments(d: Journey) -> dict[str, list[str]]:
    """Each experiment's variants, in the order declared (first declaration wins)."""
    found: dict[str, list[str]] = {}
    for rule in d.rules:
        emit = rule.then.emit
        if emit is not None and emit.variants:
            found.setdefault(emit.experiment or rule.id, list(emit.variants))
    return found


def _funnel(d: Journey, everyone: list[Path], groups: dict[Cohort, list[Path]]) -> list[Doc]:
    rows = []
    for stage in d.stages:
        row: Doc = {"stage": stage, **_share(everyone, stage)}
        for c in COHORTS:
            row[c] = _share(groups[c], stage)
        rows.append(row)
    return rows


def _share(paths: list[Path], stage: str) -> Doc:
    n = sum(1 for p in paths if stage in p.stages)
    return {"customers": n, "share": _round(n / len(paths)) if paths else None}


def _goal(
    name: str,
    kind: str,
    groups: dict[Cohort, list[Path]],
    variants: dict[str, list[str]],
    *,
    holdout: bool,
) -> Doc:
    cohorts = {c: _arm(groups[c], name) for c in COHORTS}
    treated, control = (_rate(groups[c], name) for c in COHORTS)
    return {
        "goal": name,
        "kind": kind,
        "cohorts": cohorts,
        "lift": _lift(lift(treated, control)) if holdout else None,
        "value": _value(groups, {}, name, holdout=holdout),
        "experiments": [
            _experiment(experiment, names, groups, name, holdout=holdout)
            for experiment, names in variants.items()
        ],
    }


def _experiment(
    experiment: str,
    names: list[str],
    groups: dict[Cohort, list[Path]],
    goal: str,
    *,
    holdout: bool,
) -> Doc:
    arms = _arms(experiment, names, groups, holdout=holdout)
    base_name, _, base_paths = arms[0]
    base = _rate(base_paths, goal)
    out = []
    for arm, cohort, paths in arms:
        row = {"arm": arm, "cohort": cohort, **_arm(paths, goal)}
        row["lift"] = None if arm == base_name else _lift(lift(_rate(paths, goal), base))
        out.append(row)
    return {"experiment": experiment, "baseline": base_name, "arms": out}


def _value(
    groups: dict[Cohort, list[Path]],
    variants: dict[str, list[str]],
    goal: str | None,
    *,
    holdout: bool,
) -> Doc:
    """Revenue per customer by cohort (of those who reached ``goal``, when given) and per
    experiment's arm (:mod:`streams.report.value`)."""
    kept = {c: [p for p in groups[c] if goal is None or goal in p.goals] for c in COHORTS}
    doc = value_doc({c: [p.revenue for p in kept[c]] for c in COHORTS}, holdout=holdout)
    doc["experiments"] = [
        {
            "experiment": experiment,
            "arms": value_arms(
                (arm, cohort, [p.revenue for p in paths])
                for arm, cohort, paths in _arms(experiment, names, kept, holdout=holdout)
            ),
        }
        for experiment, names in variants.items()
    ]
    return doc


def _arms(
    experiment: str, names: list[str], groups: dict[Cohort, list[Path]], *, holdout: bool
) -> list[tuple[str, Cohort, list[Path]]]:
    """The arms of an experiment: the control group's customers assigned a variant (they
    would have got it), then each variant's treated customers."""
    assigned = [p for p in groups["holdout"] if experiment in p.variants]
    arms: list[tuple[str, Cohort, list[Path]]] = (
        [("control", "holdout", assigned)] if holdout else []
    )
    for variant in names:
        members = [p for p in groups["treated"] if p.variants.get(experiment) == variant]
        arms.append((variant, "treated", members))
    return arms


def _rate(paths: Iterable[Path], goal: str) -> Rate:
    paths = list(paths)
    return Rate(sum(1 for p in paths if goal in p.goals), len(paths))


def _arm(paths: list[Path], goal: str) -> Doc:
    rate = _rate(paths, goal)
    hours = [p.goals[goal][1].total_seconds() / 3600 for p in paths if goal in p.goals]
    interval = rate.interval
    return {
        "customers": rate.customers,
        "reached": rate.reached,
        "rate": _round(rate.rate),
        "interval": None if interval is None else [_round(v) for v in interval],
        "median_hours_to_goal": _round(median(hours)),
        "mean_hours_to_goal": _round(sum(hours) / len(hours)) if hours else None,
    }


def _lift(found: Lift | None) -> Doc | None:
    if found is None:
        return None
    relative = found.relative_interval
    return {
        "absolute": _round(found.absolute),
        "absolute_interval": [_round(v) for v in found.absolute_interval],
        "relative": _round(found.relative),
        "relative_interval": None if relative is None else [_round(v) for v in relative],
    }


def _round(value: float | None) -> Any:
    return None if value is None else round(value, 6)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat_utc(moment)
