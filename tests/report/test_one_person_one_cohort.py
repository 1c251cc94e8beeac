"""One person, one cohort, one variant, on what browsers really send (issue 22).

Realistic traffic (``streams.sim.realistic``): sign-ups tracked anonymously before
identify, on a second device too, delayed app batches, retries. The cohort and the
variant are assigned once per person, at entry (their first key), and kept through the
merges, so every trigger a person gets, under any key, carries one cohort and one variant
per experiment; and the lift the report measures holds the known effect.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from journeys import Journey, load_definition
from journeys.clock import PartitionClock
from schemas.triggers import Trigger
from streams.kafka.keys import partition_for
from streams.replay.inputs import decode_file
from streams.replay.timeline import Arrival, Replayer
from streams.report.measure import report
from streams.report.tally import tally
from streams.sim import Realistic, realistic
from streams.sim.effect import Effect
from streams.sim.population import DEFAULT_START
from tests.report.conftest import HOLDOUT, SAMPLE, half_held_out

SEED, PEOPLE, DAYS = 4, 1500, 30.0
END = DEFAULT_START + timedelta(days=DAYS)
EFFECT = 0.15
TRAFFIC = Realistic(anonymous_first=0.7)


@functools.cache
def _data(lift: float) -> bytes:
    effect = Effect("activation", lift, "lifecycle", HOLDOUT) if lift else None
    arrivals = realistic(SEED, PEOPLE, DAYS, traffic=TRAFFIC, effect=effect)
    return b"".join(a.message.value + b"\n" for a in arrivals)


def _clock() -> PartitionClock:
    return PartitionClock(functools.partial(partition_for, partitions=8), timedelta(minutes=10))


def _triggers(
    definition: Journey, data: bytes
) -> tuple[Replayer, list[Trigger], dict[str, datetime]]:
    """Every trigger, sent or held out, of replaying ``data``, and when each customer's
    last merge was."""
    replayer = Replayer([definition], clock=_clock())
    found: list[Trigger] = []
    merged: dict[str, datetime] = {}
    for item in decode_file(data, "sim.jsonl", judged_at=END):
        if isinstance(item, Arrival):
            for done in replayer.event(item.event):
                if done.kind == "merge":
                    merged[done.customer] = done.event.event_time
                for _, outcome in done.outcomes:
                    found += outcome.triggers
                    found += [s.trigger for s in outcome.suppressed]
    return replayer, found, merged


def test_every_trigger_of_a_person_carries_one_cohort_and_one_variant() -> None:
    definition = load_definition(SAMPLE)
    replayer, triggers, merged = _triggers(definition, _data(0.0))
    cohorts: dict[str, set[Any]] = defaultdict(set)
    variants: dict[tuple[str, str], set[Any]] = defaultdict(set)
    after_merge: dict[str, set[Any]] = defaultdict(set)
    keys: dict[str, set[str]] = defaultdict(set)
    for t in triggers:
        person = replayer.customer_of(t.customer_id)
        keys[person].add(t.customer_id)
        cohorts[person].add(t.cohort)
        if t.experiment is not None:
            variants[(person, t.experiment)].add(t.variant)
            if t.emitted_at >= merged.get(person, t.emitted_at):
                after_merge[person].add((t.cohort, t.variant))
    assert len(cohorts) > PEOPLE * 0.9
    assert sum(len(k) > 1 for k in keys.values()) > PEOPLE * 0.2  # triggers under 2+ keys
    # once merged, a person's triggers carry the assignment of their first entry
    assert {p: v for p, v in after_merge.items() if len(v) != 1} == {}
    # two of a person's devices that each got a message before they were linked can
    # only have been assigned apart (the link was unknown then): rare, never the rule
    split = {p for p, c in cohorts.items() if len(c) != 1}
    split |= {p for (p, _), v in variants.items() if len(v) != 1}
    assert len(split) < PEOPLE * 0.005, sorted(split)
    held = [t for t in triggers if t.holdout]
    assert held and all(t.cohort == "holdout" for t in held)


def test_the_measured_lift_holds_the_known_effect() -> None:
    definition = half_held_out()
    found = tally([definition], decode_file(_data(EFFECT), "sim.jsonl", judged_at=END), until=END)
    journey = report(found, until=END)["journeys"][0]
    goal = next(g for g in journey["goals"] if g["goal"] == "activated_at")
    lo, hi = goal["lift"]["absolute_interval"]
    assert lo < EFFECT < hi
    assert lo > 0
    baseline = tally([definition], decode_file(_data(0.0), "sim.jsonl", judged_at=END), until=END)
    base_goal = next(
        g
        for g in report(baseline, until=END)["journeys"][0]["goals"]
        if g["goal"] == "activated_at"
    )
    assert base_goal["cohorts"]["holdout"] == goal["cohorts"]["holdout"]  # untouched
    print(
        f"known effect +{EFFECT}: measured {goal['lift']['absolute']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
    )
