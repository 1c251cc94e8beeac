"""Prometheus metrics of a worker, counted at the adapter edges.

One :class:`Metrics` object per worker process owns its own
``prometheus_client.CollectorRegistry`` (tests create fresh ones). The stream layer
calls the hook methods below with what the engine returned; the engine itself knows
nothing of metrics. Naming follows Prometheus' conventions: one prefix
(``journeys_``), base units (seconds, bytes), ``_total`` on counters, and only
bounded label values (event types from the loaded definitions, others as
``other``; never a customer id).

Hooks, and who calls them:
* decode/journey agents: :meth:`Metrics.event_consumed` once per input event that
  reached the engine (``processed``, ``duplicate`` or ``late``);
  :meth:`Metrics.dead_lettered` once per rejected message (it also counts the message
  as consumed with outcome ``dead_lettered``, so do not call both).
* journey agent: :meth:`Metrics.outcome` per (journey, engine Outcome) of ``step`` or
  ``advance`` (triggers, suppressions, notes, and the measures: entries and goals by
  cohort, time to goal, experiment variants); :meth:`Metrics.time_step` (or
  :meth:`Metrics.step_duration`) around the engine call; :meth:`Metrics.event_age` with
  ``wall_now - event.event_time``.
* erasures (``streams.worker.erasure``): :meth:`Metrics.erased` per id erased,
  :meth:`Metrics.erasure_suppressed` per event of a suppressed id dropped,
  :meth:`Metrics.erased_subscriptions` with the fan-out entries removed.
* periodic task (every few seconds): :meth:`Metrics.set_stage_counts`,
  :meth:`Metrics.set_timers`, :meth:`Metrics.set_store`.
* app start: :meth:`Metrics.describe_definitions` (or :meth:`Metrics.build_info` and
  :meth:`Metrics.set_known_event_types`), :meth:`Metrics.set_lag_source`,
  :meth:`Metrics.set_restore_source`, :meth:`Metrics.set_standby_lag_source`; on
  partitions assigned: :meth:`Metrics.rebalance`.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from journeys import native
from streams.ops import labels as ml

if TYPE_CHECKING:
    from schemas.triggers import Trigger

__all__ = ["LagSource", "Metrics", "OutcomeLike", "RestoreSource", "StandbyLagSource"]

log = logging.getLogger(__name__)

PREFIX = "journeys"
STEP_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
    3600.0,
)  # fmt: skip
AGE_BUCKETS = (*LATENCY_BUCKETS, 21600.0, 86400.0)
_HOUR, _DAY = 3600.0, 86400.0
GOAL_BUCKETS = (
    _HOUR, 6 * _HOUR, 12 * _HOUR, _DAY, 2 * _DAY, 3 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY,
    60 * _DAY, 90 * _DAY, 180 * _DAY, 365 * _DAY,
)  # fmt: skip

ERASURE_STEPS = ("request", "linked")

LagSource = Callable[[], Mapping[tuple[str, int], int]]
"""Returns ``{(topic, partition): end offset - position}`` for the assigned partitions."""

RestoreSource = Callable[[], tuple[int, int, float]]
"""Returns ``(records restored since the start, records left now, records per second of
the last restore)`` of the worker's local state stores."""

StandbyLagSource = Callable[[], Mapping[tuple[str, int], int]]
"""Returns ``{(changelog topic, partition): records}`` for the standby partitions held
here: how many records each standby copy is behind the end of its changelog."""


class _Goal(Protocol):
    """What :meth:`Metrics.outcome` reads of an engine ``Goal``."""

    @property
    def name(self) -> str: ...
    @property
    def since_entry(self) -> timedelta: ...
    @property
    def cohort(self) -> str: ...


class _Suppressed(Protocol):
    """What :meth:`Metrics.outcome` reads of an engine ``Suppressed``."""

    @property
    def reason(self) -> str: ...
    @property
    def trigger(self) -> Trigger: ...


class OutcomeLike(Protocol):
    """What :meth:`Metrics.outcome` reads of an engine ``Outcome`` (``journeys.Outcome``)."""

    @property
    def triggers(self) -> Sequence[Trigger]: ...
    @property
    def suppressed(self) -> Sequence[_Suppressed]: ...
    @property
    def deferred(self) -> Sequence[Trigger]: ...
    @property
    def notes(self) -> Sequence[str]: ...
    @property
    def goals(self) -> Sequence[_Goal]: ...
    @property
    def entered(self) -> str | None: ...


class _ScrapeCollector(Collector):
    """Gauges computed at scrape time: consumer lag, and customers per stage."""

    def __init__(self) -> None:
        self.lag_source: LagSource | None = None
        self.restore_source: RestoreSource | None = None
        self.standby_lag_source: StandbyLagSource | None = None
        self.stage_counts: dict[str, dict[str, int]] = {}

    def collect(self) -> Iterable[Metric]:
        yield _per_partition(
            f"{PREFIX}_consumer_lag_messages",
            "Consumer lag: end offset minus position, per assigned topic partition.",
            self.lag_source,
            "lag source",
        )
        stages = GaugeMetricFamily(
            f"{PREFIX}_stage_customers",
            "Customers currently in each stage of each journey, over this worker's partitions.",
            labels=["journey", "stage"],
        )
        for journey, counts in sorted(self.stage_counts.items()):
            for stage, n in sorted(counts.items()):
                stages.add_metric([journey, stage], float(n))
        yield stages
        yield from self._restore()
        yield _per_partition(
            f"{PREFIX}_standby_lag_records",
            "Records a standby copy of a table partition held here is behind the end of its "
            "changelog (what a takeover would still read), per changelog topic partition.",
            self.standby_lag_source,
            "standby lag source",
        )

    def _restore(self) -> Iterator[Metric]:
        restored, left, rate = 0, 0, 0.0
        if self.restore_source is not None:
            try:
                restored, left, rate = self.restore_source()
            except Exception:  # a scrape must never fail because recovery is busy
                log.warning("restore source failed", exc_info=True)
        yield CounterMetricFamily(
            f"{PREFIX}_restore_records",
            "Changelog records written to this worker's local state stores by restores.",
            value=float(restored),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_restore_remaining_records",
            "Changelog records (offsets) left to restore before this worker's active "
            "partitions are ready; 0 when no restore runs.",
            value=float(max(left, 0)),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_restore_rate_records_per_second",
            "Records per second of the last (or current) bulk restore.",
            value=float(rate),
        )


class Metrics:
    """Every metric of one worker, on a registry of its own."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        known_event_types: Iterable[str] = (),
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._event_types: frozenset[str] = frozenset()
        r = self.registry

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, labels, registry=r)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(f"{PREFIX}_{name}", doc, labels, registry=r)

        def histogram(name: str, doc: str, buckets: Sequence[float], *labels: str) -> Histogram:
            return Histogram(f"{PREFIX}_{name}", doc, labels, registry=r, buckets=buckets)

        self.events_consumed = counter(
            "events_consumed", "Input events consumed, by event type and outcome.",
            "event_type", "outcome",
        )  # fmt: skip
        self.dead_letters = counter(
            "dead_letters", "Messages sent to the dead-letter topic, by reason code.", "reason"
        )
        self.triggers_emitted = counter(
            "triggers_emitted", "Triggers emitted, by journey, kind and priority.",
            "journey", "kind", "priority",
        )  # fmt: skip
        self.triggers_suppressed = counter(
            "triggers_suppressed",
            "Triggers suppressed or deferred by a guard rail, by journey, kind and reason "
            "(quiet_hours: deferred, still emitted with deliver_after).",
            "journey", "kind", "reason",
        )  # fmt: skip
        self.step_seconds = histogram(
            "engine_step_duration_seconds", "Duration of one engine step or advance.",
            STEP_BUCKETS,
        )  # fmt: skip
        self.trigger_latency = histogram(
            "event_to_trigger_latency_seconds",
            "Wall-clock time from the cause's event time to the emission of the trigger.",
            LATENCY_BUCKETS, "journey",
        )  # fmt: skip
        self.event_age_seconds = histogram(
            "event_age_seconds", "Age of an event (wall clock minus event time) when processed.",
            AGE_BUCKETS,
        )  # fmt: skip
        self.rebalances = counter("rebalances", "Partition assignments received (rebalances).")
        self.entries = counter(
            "journey_entries",
            "Customers entering a journey (their first event, or a re-entry), by journey and "
            "cohort (treated, or holdout: the control group). The denominator of goal rates.",
            "journey", "cohort",
        )  # fmt: skip
        self.goals_reached = counter(
            "goals_reached",
            "Goals reached (a rule's goal attribute set, a goal exit), by journey, goal and "
            "cohort: the treated rate against the holdout rate is the journey's lift.",
            "journey", "goal", "cohort",
        )  # fmt: skip
        self.time_to_goal = histogram(
            "time_to_goal_seconds",
            "Time from the start of the customer's entry to a goal, by journey, goal and cohort.",
            GOAL_BUCKETS, "journey", "goal", "cohort",
        )  # fmt: skip
        self.variant_assignments = counter(
            "variant_assignments",
            "Triggers of an A/B experiment, by the variant they carry: sent (cohort treated) "
            "or held out for the control group (cohort holdout).",
            "journey", "experiment", "variant", "cohort",
        )  # fmt: skip
        self.engine_notes = counter(
            "engine_notes",
            "Notes the engine made, by journey: input it could not use (a date it cannot "
            "compute with, an unknown time zone...); replay shows each note with its cause.",
            "journey",
        )
        self.rekeyed = counter(
            "touchpoints_rekeyed",
            "Touchpoints whose message key was not their customer (else anonymous) id: "
            "sent through the keyed topic to the worker that owns the customer (one more hop).",
        )
        self.wakeups = counter(
            "timer_wakeups",
            "Customers woken for their time-based rules, by path: inline (by the event that "
            "moved the partition's event time) or topic (by the timer, on an idle partition).",
            "path",
        )
        for path in ("inline", "topic"):
            self.wakeups.labels(path)
        self.erasures = counter(
            "erasures",
            "Erasures done, by step: request (an id erased on request, confirmed on the audit "
            "topic) or linked (a key linked with an erased id, erased with it).",
            "step",
        )
        for step in ERASURE_STEPS:
            self.erasures.labels(step)
        self.erasure_suppressed_events = counter(
            "erasure_suppressed_events",
            "Events and merges of erased ids dropped during their suppression period "
            "(JOURNEYS_ERASURE_SUPPRESS_DAYS); never dead-lettered: dead letters keep the "
            "original bytes, personal data.",
        )
        self.erasure_subscriptions_removed = counter(
            "erasure_subscriptions_removed",
            "Fan-out index entries of erased ids removed (waiting or served subscriptions, "
            "their publications).",
        )
        self.timers_pending = gauge(
            "timers_pending", "Timers scheduled and not fired yet (overdue ones included)."
        )
        self.timers_overdue = gauge(
            "timers_overdue",
            "Pending timers whose due time is past by more than the idle grace, the timer "
            "grace and two timer intervals (counted up to 10,000).",
        )
        self.timer_grace_held = counter(
            "timer_grace_held",
            "Events of a customer whose timer was due by its partition's time but held by "
            "the timer grace (JOURNEYS_TIMER_GRACE_SECONDS), and whose own event time is "
            "earlier than that due time: without the grace the timer would have fired first.",
        )
        self.events_after_timer = counter(
            "events_after_timer",
            "Events older than the time a wake-up had already moved their customer to (a "
            "timer fired meanwhile): delayed longer than the timer grace. They are applied "
            "at their own time, but the timer's trigger was already sent.",
        )
        self.store_keys = gauge("state_store_keys", "Keys in this worker's state store.")
        self.store_bytes = gauge(
            "state_store_size_bytes", "Size on disk of the worker's data dir (state stores)."
        )
        self.build = gauge(
            "build_info",
            "Build information: 1, labelled with the version and how the journey engine "
            "runs (compiled: journeys.native's mypyc build; python: the pure modules).",
            "version", "engine",
        )  # fmt: skip
        self.definitions = gauge(
            "journey_definition_info",
            "Loaded journey definitions: 1, labelled with journey and version.",
            "journey", "version",
        )  # fmt: skip
        self._scrape = _ScrapeCollector()
        r.register(self._scrape)
        # labelled children by (metric, labels): ``labels()`` validates and locks on every
        # call, a few microseconds an event; the label sets are bounded (PREFIX docs)
        self._children: dict[tuple[Any, ...], Any] = {}
        # within batch(): counts and observations of the hot per-event calls, kept here
        # and written to their metrics once, when the batch ends
        self._counts: dict[tuple[Any, ...], float] | None = None
        self._observed: dict[tuple[Any, ...], list[float]] | None = None
        self.set_known_event_types(known_event_types)

    def set_known_event_types(self, event_types: Iterable[str]) -> None:
        """The bounded set of event type labels (from the loaded definitions).

        Their consumed counters (and those of ``other``) are created at zero, so that
        rates and alerts see a series before the first event of a type arrives.
        """
        self._event_types = frozenset(event_types)
        for event_type in (*sorted(self._event_types), ml.OTHER):
            for outcome in ml.CONSUMED_OUTCOMES:
                self.events_consumed.labels(event_type, outcome)

    def set_lag_source(self, source: LagSource | None) -> None:
        """Give the callable that returns ``{(topic, partition): lag}`` at scrape time."""
        self._scrape.lag_source = source

    def set_restore_source(self, source: RestoreSource | None) -> None:
        """Give the callable that returns the restore figures at scrape time."""
        self._scrape.restore_source = source

    def set_standby_lag_source(self, source: StandbyLagSource | None) -> None:
        """Give the callable that returns ``{(changelog topic, partition): records behind}``
        of the standby partitions at scrape time."""
        self._scrape.standby_lag_source = source

    def describe_definitions(self, definitions: Iterable[Any], version: str | None = None) -> None:
        """Known event types and build info from the loaded ``journeys.Journey`` objects.

        ``version`` defaults to the installed package's.
        """
        definitions = list(definitions)
        self.set_known_event_types(set().union(*map(ml.event_types_of, definitions)))
        self.set_measured(definitions)
        self.build_info(version or ml.package_version(), {d.name: d.version for d in definitions})

    def set_measured(self, definitions: Iterable[Any]) -> None:
        """Create the entry, goal and variant series of the loaded definitions at zero, so
        that rates and the lift panels see every cohort before its first customer."""
        for d in definitions:
            for cohort in ml.COHORTS:
                self.entries.labels(d.name, cohort)
                for goal in ml.goals_of(d):
                    self.goals_reached.labels(d.name, goal, cohort)
                for experiment, variant in ml.variants_of(d):
                    self.variant_assignments.labels(d.name, experiment, variant, cohort)

    def build_info(
        self, version: str, definitions: Mapping[str, int | str], engine: str | None = None
    ) -> None:
        """Publish the build version, how the engine runs (default: this process's
        ``journeys.native`` status) and the loaded journey definitions with versions."""
        if engine is None:
            engine = "compiled" if native.status().active else "python"
        self.build.clear()
        self.build.labels(version=version, engine=engine).set(1)
        self.definitions.clear()
        for journey, v in definitions.items():
            self.definitions.labels(journey=journey, version=str(v)).set(1)

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels) if labels else metric
        return child

    @contextmanager
    def batch(self) -> Iterator[None]:
        """``with metrics.batch():`` the per-event counts and observations inside (events
        consumed, triggers, notes, goals, entries, step durations, event ages, wake-ups)
        are kept in plain dicts and written to their metrics once, when the block ends
        (however it ends): a batch's events cost a dict update each rather than a
        prometheus call each (validation, a lock, a bucket scan). The values a scrape
        sees after the block are the same as without it; during it, they lag by the
        batch. Nested blocks write at the outer one's end."""
        if self._counts is not None:
            yield
            return
        self._counts, self._observed = {}, {}
        try:
            yield
        finally:
            counts, observed = self._counts, self._observed
            self._counts = self._observed = None
            for (metric, *labels), n in counts.items():
                self._child(metric, *labels).inc(n)
            for (metric, *labels), values in observed.items():
                observe_all(self._child(metric, *labels), values)

    def _inc(self, metric: Counter, *labels: str, n: float = 1) -> None:
        counts = self._counts
        if counts is None:
            self._child(metric, *labels).inc(n)
        else:
            key = (metric, *labels)
            counts[key] = counts.get(key, 0) + n

    def _observe(self, metric: Histogram, value: float, *labels: str) -> None:
        observed = self._observed
        if observed is None:
            self._child(metric, *labels).observe(value)
        else:
            key = (metric, *labels)
            values = observed.get(key)
            if values is None:
                observed[key] = [value]
            else:
                values.append(value)

    def event_type_label(self, event_type: str | None) -> str:
        """The label for an event type: itself when known, else ``other``."""
        return event_type if event_type in self._event_types else ml.OTHER

    def event_consumed(self, event_type: str | None, outcome: str) -> None:
        """Count one consumed input event; ``outcome`` is processed, duplicate or late."""
        if outcome not in ml.CONSUMED_OUTCOMES or outcome == "dead_lettered":
            raise ValueError(f"unknown consumed outcome {outcome!r}; use dead_lettered()")
        self._inc(self.events_consumed, self.event_type_label(event_type), outcome)

    def dead_lettered(
        self, reason: str, event_type: str | None = None, *, consumed: bool = True
    ) -> None:
        """Count one message sent to the dead-letter topic with its reason code.

        Also counts it in ``journeys_events_consumed_total{outcome="dead_lettered"}``,
        unless ``consumed`` is false (a late event, already counted as ``late``).
        ``reason`` must be a short code (``invalid_json``), never an error message:
        anything that does not look like a code is counted as ``other``.
        """
        self.dead_letters.labels(ml.reason_code(reason)).inc()
        if consumed:  # else the event was counted with its outcome (a late one)
            self.events_consumed.labels(self.event_type_label(event_type), "dead_lettered").inc()

    def outcome(self, journey: str, outcome: OutcomeLike, *, wall_now: datetime) -> None:
        """Count what one engine call returned for ``journey``.

        Every trigger in ``outcome.triggers`` counts as emitted (by kind and priority)
        and observes the latency ``wall_now - trigger.cause_time``. Every suppressed
        trigger counts by its reason (holdout included); every deferred trigger counts
        as suppressed with reason ``quiet_hours`` (it is emitted too, with
        ``deliver_after``). Call it once the triggers are sent.
        """
        for trigger in outcome.triggers:
            self._inc(self.triggers_emitted, journey, trigger.kind, trigger.priority)
            latency = (wall_now - trigger.cause_time).total_seconds()
            self._observe(self.trigger_latency, max(latency, 0.0), journey)
        for suppressed in outcome.suppressed:
            reason = suppressed.reason if suppressed.reason in ml.SUPPRESSION_REASONS else ml.OTHER
            self._inc(self.triggers_suppressed, journey, suppressed.trigger.kind, reason)
        for deferred in outcome.deferred:
            self._inc(self.triggers_suppressed, journey, deferred.kind, "quiet_hours")
        if outcome.notes:
            self._inc(self.engine_notes, journey, n=len(outcome.notes))
        self._measure(journey, outcome)

    def _measure(self, journey: str, outcome: OutcomeLike) -> None:
        """Entries and goals by cohort, and the variants of experiment triggers."""
        if outcome.entered is not None:
            self._inc(self.entries, journey, outcome.entered)
        for goal in outcome.goals:
            self._inc(self.goals_reached, journey, goal.name, goal.cohort)
            seconds = goal.since_entry.total_seconds()
            self._observe(self.time_to_goal, seconds, journey, goal.name, goal.cohort)
        for trigger in outcome.triggers:
            if trigger.experiment is not None and trigger.variant is not None:
                labels = (journey, trigger.experiment, trigger.variant, "treated")
                self._inc(self.variant_assignments, *labels)
        for suppressed in outcome.suppressed:
            held = suppressed.trigger
            if suppressed.reason == "holdout" and held.experiment is not None:
                labels = (journey, held.experiment, held.variant or ml.OTHER, "holdout")
                self._inc(self.variant_assignments, *labels)

    def step_duration(self, seconds: float) -> None:
        """Observe the duration of one engine ``step`` or ``advance``."""
        self._observe(self.step_seconds, seconds)

    @contextmanager
    def time_step(self) -> Iterator[None]:
        """``with metrics.time_step(): step(...)`` observes the engine step duration."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.step_duration(time.perf_counter() - start)

    def event_age(self, seconds: float) -> None:
        """Observe an event's age when processed: wall clock minus event time."""
        self._observe(self.event_age_seconds, max(seconds, 0.0))

    def rekeyed_touchpoint(self) -> None:
        """Count one touchpoint re-keyed through the keyed topic."""
        self.rekeyed.inc()

    def woken(self, path: str, n: int = 1) -> None:
        """Count ``n`` customers woken by ``path`` (``inline`` or ``topic``)."""
        if n:
            self._inc(self.wakeups, path, n=n)

    def rebalance(self) -> None:
        """Count one rebalance (a new partition assignment)."""
        self.rebalances.inc()

    def erased(self, step: str) -> None:
        """Count one erasure ``step``: ``request`` or ``linked``."""
        self.erasures.labels(step if step in ERASURE_STEPS else ml.OTHER).inc()

    def erasure_suppressed(self) -> None:
        """Count one event (or merge) of an erased id dropped while it is suppressed."""
        self.erasure_suppressed_events.inc()

    def erased_subscriptions(self, n: int) -> None:
        """Count ``n`` fan-out index entries of erased ids removed."""
        if n:
            self.erasure_subscriptions_removed.inc(n)

    def set_stage_counts(self, journey: str, counts: Mapping[str, int]) -> None:
        """Replace the customers-per-stage counts of ``journey`` on this worker."""
        self._scrape.stage_counts[journey] = dict(counts)

    def grace_held(self) -> None:
        """Count an event the timer grace kept ahead of its customer's timer."""
        self.timer_grace_held.inc()

    def event_after_timer(self) -> None:
        """Count an event that came after a wake-up had moved its customer past it."""
        self.events_after_timer.inc()

    def set_timers(self, pending: int, overdue: int) -> None:
        """Set the number of pending (not fired yet) timers and of the overdue ones among them."""
        self.timers_pending.set(pending)
        self.timers_overdue.set(overdue)

    def set_store(self, keys: int, size_bytes: int) -> None:
        """Set the state store's key count and the size of the worker's data dir in bytes."""
        self.store_keys.set(keys)
        self.store_bytes.set(size_bytes)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)


def observe_all(histogram: Any, values: Sequence[float]) -> None:
    """``histogram.observe(v)`` for each of ``values`` in order, for a prometheus
    ``Histogram`` (or a labelled child of one): the same buckets counted and the same
    sum, added value by value in the same order, but each bucket incremented once and
    found by bisection rather than a scan per value (prometheus_client's private
    ``_upper_bounds``, ``_buckets`` and ``_sum``, as its ``observe`` uses them; pinned
    in tests/worker/test_faust_fingerprints.py). Anything else is observed value by value."""
    # private: prometheus_client's Histogram internals, as its observe() uses them
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)  # private: as above
    total = getattr(histogram, "_sum", None)  # private: as above
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            histogram.observe(value)
        return
    counts = [0] * len(bounds)
    for value in values:
        total.inc(value)
        if value == value:  # NaN falls in no bucket (observe's ``amount <= bound``)
            counts[bisect_left(bounds, value)] += 1
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)


def _per_partition(
    name: str, documentation: str, source: LagSource | None, what: str
) -> GaugeMetricFamily:
    """A gauge per topic partition of what ``source`` reads (none without a source, or
    when it fails: a scrape must never fail because the consumer or recovery is busy)."""
    gauge = GaugeMetricFamily(name, documentation, labels=["topic", "partition"])
    lags: dict[tuple[str, int], int] = {}
    if source is not None:
        try:
            lags = dict(source())
        except Exception:  # logged, and the scrape goes on
            log.warning("%s failed", what, exc_info=True)
    for (topic, partition), n in sorted(lags.items()):
        gauge.add_metric([topic, str(partition)], float(max(n, 0)))
    return gauge
