"""What a replay did, per journey and customer: the counts ``journeys report`` reads.

Drives :class:`journeys.replayer.Replayer` (the worker's own engine calls, no side
effects) over a file's or a topic range's items and keeps, per journey and final
customer (a key linked to its customer, an anonymous visitor who signed up, is folded
into that customer):

* whether and when the customer entered, and every stage it reached (the initial stage
  on entry, then each transition's stage);
* the first time each goal was reached (``Outcome.goals``: a rule's goal attribute set, a
  goal exit) and how long after the start of the entry;
* the variant of each experiment the customer was assigned, from the triggers that
  carry one, sent or held out (a held-out customer is assigned too: that is the control
  group of the experiment);
* per trigger kind, how many were sent and why the others were not.

The unit is the customer: a goal reached twice (after a re-entry) counts once, at its
first time. The cohort is the person's assignment, as the engine decides the holdout and
the variants: by the id of their earliest entry among the identities merged into the
customer (``CustomerState.assignment_id``: an anonymous visitor who signed up before
identifying keeps the cohort of that sign-up), read from the final states.

The replay is the worker's: time moves per partition with the timer grace
(:class:`journeys.clock.PartitionClock`), erasure requests in the input erase as the
worker does, events later than the cut-off (``until``) are counted as such and not
replayed, and a key whose only events are fan-out publications (a product team
announcing a release) is a publisher, not a customer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from journeys import Journey, Outcome, fanout_keys
from journeys.clock import PartitionClock
from journeys.compiled import compiled
from journeys.guards import cohort
from journeys.outcome import Cohort
from schemas import TouchpointEvent
from streams.replay.erasure import Erasure
from streams.replay.inputs import UNTIMED
from streams.replay.timeline import Arrival, Item, Replayer, Step, Tick, Unreadable
from streams.report.value import revenue


@dataclass
class Path:
    """One key's way through one journey."""

    entered_at: datetime | None = None
    stages: set[str] = field(default_factory=set)
    goals: dict[str, tuple[datetime, timedelta]] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)  # experiment -> variant
    moves: set[tuple[str, str, str, str]] = field(default_factory=set)  # rule, from, to, kind
    sent: Counter[str] = field(default_factory=Counter)  # rule -> triggers sent
    held: Counter[str] = field(default_factory=Counter)  # rule -> triggers held out
    revenue: float = 0.0  # from revenue events since the entry (streams.report.value)

    def absorb(self, other: Path) -> None:
        """Fold a linked key's path into this one (earliest entry, first goals)."""
        if other.entered_at is not None and (
            self.entered_at is None or other.entered_at < self.entered_at
        ):
            self.entered_at = other.entered_at
        self.stages |= other.stages
        for name, reached in other.goals.items():
            if name not in self.goals or reached[0] < self.goals[name][0]:
                self.goals[name] = reached
        for experiment, variant in other.variants.items():
            self.variants.setdefault(experiment, variant)
        self.moves |= other.moves
        self.sent.update(other.sent)
        self.held.update(other.held)
        self.revenue += other.revenue


@dataclass
class JourneyTally:
    """Every customer's path through one journey, and its triggers per kind."""

    definition: Journey
    paths: dict[str, Path] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    suppressed: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    assigned: dict[str, str] = field(default_factory=dict)  # customer -> assignment id

    def cohort_of(self, customer_id: str) -> Cohort:
        """The customer's cohort: by their assignment id (the earliest entry's key)."""
        return cohort(compiled(self.definition), self.assigned.get(customer_id, customer_id))

    def add(self, key: str, outcome: Outcome) -> None:
        path = self.paths.get(key)
        if path is None:
            path = self.paths[key] = Path()
        if outcome.entered is not None:
            path.stages.add(self.definition.initial_stage)
        for transition in outcome.transitions:
            path.stages.add(transition.stage_after)
            move = (transition.rule, transition.stage_before, transition.stage_after)
            path.moves.add((*move, transition.kind))
        for goal in outcome.goals:
            path.goals.setdefault(goal.name, (goal.at, goal.since_entry))
        for trigger in outcome.triggers:
            self.sent[trigger.kind] += 1
            path.sent[trigger.rule] += 1
            if trigger.experiment is not None and trigger.variant is not None:
                path.variants.setdefault(trigger.experiment, trigger.variant)
        for s in outcome.suppressed:
            self.suppressed[s.kind][s.reason] += 1
            if s.reason == "holdout":
                path.held[s.rule] += 1
            t = s.trigger
            if s.reason == "holdout" and t.experiment is not None and t.variant is not None:
                path.variants.setdefault(t.experiment, t.variant)

    def entered(self, key: str, at: datetime) -> None:
        path = self.paths.setdefault(key, Path())
        if path.entered_at is None or at < path.entered_at:
            path.entered_at = at
        path.stages.add(self.definition.initial_stage)


@dataclass
class Tally:
    """The whole replay: per journey (definition order) its tally, plus input counts."""

    journeys: dict[str, JourneyTally]
    events: int = 0
    unreadable: int = 0
    untimed: int = 0  # events of a file that states no time (not replayed, not unreadable)
    after_cutoff: int = 0  # events later than the cut-off (not replayed)
    erasures: int = 0  # erasure requests applied
    errors: list[str] = field(default_factory=list)
    first_event: datetime | None = None
    last_event: datetime | None = None
    earned: dict[str, set[str]] = field(default_factory=dict, repr=False)  # revenue event ids


def tally(
    definitions: Sequence[Journey],
    items: Iterable[Item],
    *,
    until: datetime | None,
    fanout: bool = True,
    clock: PartitionClock | None = None,
    suppress_days: float = 0.0,
) -> Tally:
    """Replay ``items`` under ``definitions``, time up to ``until``, and count."""
    replayer = Replayer(definitions, fanout=fanout, suppress_days=suppress_days, clock=clock)
    out = Tally({d.name: JourneyTally(d) for d in definitions})
    publishers: set[str] = set()
    customers: set[str] = set()
    for item in items:
        if isinstance(item, Unreadable) and item.reason == UNTIMED:
            out.untimed += 1
        elif isinstance(item, Erasure):
            replayer.erasures.apply(replayer, item.request)
            out.erasures += 1
        elif isinstance(item, Tick):
            _steps(out, replayer.tick(item), f"partition of {item.key}")
        elif not isinstance(item, Arrival):
            out.unreadable += 1
        elif until is not None and item.event.event_time > until:
            out.after_cutoff += 1
        else:
            _count(out, item)
            (publishers if _publishes(definitions, item) else customers).add(item.event.key)
            done = replayer.event(item.event)
            _steps(out, done, item.origin)
            if done and done[0].status != "erased":
                _earn(out, replayer, item.event)
    if until is not None:
        for key, name, outcome in replayer.advance(until):
            _add(out, key, name, outcome, until)
    out.errors.extend(f"wake-up of {key}: {message}" for key, message in replayer.errors)
    for journey in out.journeys.values():
        _fold(journey, replayer, publishers - customers)
    return out


def _count(out: Tally, item: Arrival) -> None:
    out.events += 1
    at = item.event.event_time
    out.first_event = at if out.first_event is None else min(out.first_event, at)
    out.last_event = at if out.last_event is None else max(out.last_event, at)


def _steps(out: Tally, steps: Iterable[Step], origin: str) -> None:
    for done in steps:
        if done.error is not None:
            out.errors.append(f"{origin}: {done.error}")
        at = done.event.event_time if done.at is None else done.at
        for name, outcome in done.outcomes:
            _add(out, done.customer, name, outcome, at)


def _earn(out: Tally, replayer: Replayer, event: TouchpointEvent) -> None:
    """Add the event's revenue to its customer's path in every journey entered by then
    (a duplicate the engine dropped is not counted twice: only a first delivery)."""
    amount = revenue(event)
    if amount is None:
        return
    key = replayer.customer_of(event.key)
    if event.event_id in out.earned.setdefault(key, set()):
        return
    out.earned[key].add(event.event_id)
    for journey in out.journeys.values():
        path = journey.paths.get(key)
        if path is not None and path.entered_at is not None and path.entered_at <= event.event_time:
            path.revenue += amount


def _publishes(definitions: Sequence[Journey], item: Arrival) -> bool:
    """Whether the event is a fan-out publication and nothing else of its key's."""
    actions = [a for d in definitions for a in fanout_keys(d, item.event)]
    return bool(actions) and all(a.action == "publish" for a in actions)


def _add(out: Tally, key: str, journey: str, outcome: Outcome, at: datetime) -> None:
    found = out.journeys.get(journey)
    if found is None:
        return
    if outcome.entered is not None:
        found.entered(key, at)
    found.add(key, outcome)


def _fold(journey: JourneyTally, replayer: Replayer, publishers: set[str]) -> None:
    """Paths of linked keys into their final customer's; publishers left out; each
    customer's assignment read from its final state."""
    targets = {key: replayer.customer_of(key) for key in journey.paths}
    folded = {key: path for key, path in journey.paths.items() if targets[key] == key}
    for key in sorted(k for k, target in targets.items() if target != k):
        folded.setdefault(targets[key], Path()).absorb(journey.paths[key])
    journey.paths = {
        k: p for k, p in folded.items() if p.entered_at is not None and k not in publishers
    }
    for key in journey.paths:
        state = replayer.states.get(key, {}).get(journey.definition.name)
        if state is not None:
            journey.assigned[key] = state.assignment_id
