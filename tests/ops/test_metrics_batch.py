"""Metrics.batch(): a batch's per-event counts and observations, written once at its end,
give exactly the values the calls give one by one."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Histogram

from journeys.outcome import Outcome, Suppressed
from streams.ops.metrics import Metrics, observe_all
from tests.ops.conftest import EVENT_TYPES, TriggerFactory, later, measured, sample


def calls(m: Metrics, make_trigger: TriggerFactory) -> None:
    """The per-event calls of a batch of the journey agent, twice over."""
    welcome = make_trigger("onboarding.welcome")
    nudge = make_trigger("onboarding.nudge", deliver_after=later(3600))
    for round_ in range(2):
        m.event_consumed("signed_up", "processed")
        m.event_consumed("key_action", "duplicate")
        m.event_consumed("no such type", "late")
        m.outcome(
            "default",
            Outcome(
                triggers=[welcome, nudge],
                deferred=[nudge],
                suppressed=[
                    Suppressed(rule="r", kind=welcome.kind, reason="cooldown", trigger=welcome)
                ],
                notes=["a note"],
            ),
            wall_now=later(0.7 + round_),
        )
        m.outcome("default", measured(make_trigger), wall_now=later(2.5))
        m.step_duration(0.0003)
        m.step_duration(0.004)
        m.event_age(0.25)
        m.event_age(-3.0)
        m.woken("inline", 3)


def samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the creation times."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in m.registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_a_batch_gives_the_values_of_the_calls_one_by_one(
    make_trigger: TriggerFactory,
) -> None:
    direct, batched = Metrics(known_event_types=EVENT_TYPES), Metrics(known_event_types=EVENT_TYPES)
    calls(direct, make_trigger)
    with batched.batch():
        calls(batched, make_trigger)
        # written at the end of the batch, not before
        assert sample(batched, "journeys_events_consumed_total",
                      event_type="signed_up", outcome="processed") == 0  # fmt: skip
        assert sample(batched, "journeys_engine_step_duration_seconds_count") == 0

    assert samples(batched) == samples(direct)
    assert sample(batched, "journeys_events_consumed_total",
                  event_type="signed_up", outcome="processed") == 2  # fmt: skip
    latency = "journeys_event_to_trigger_latency_seconds"
    assert sample(batched, latency + "_count", journey="default") == 6
    assert sample(batched, latency + "_sum", journey="default") == 0.7 * 2 + 1.7 * 2 + 2.5 * 2
    assert sample(batched, latency + "_bucket", journey="default", le="1.0") == 2
    assert sample(batched, "journeys_engine_step_duration_seconds_count") == 4
    assert sample(batched, "journeys_event_age_seconds_sum") == 0.5
    assert sample(batched, "journeys_timer_wakeups_total", path="inline") == 6


def test_a_batch_that_raises_still_writes_what_it_counted(make_trigger: TriggerFactory) -> None:
    m = Metrics(known_event_types=EVENT_TYPES)
    with pytest.raises(RuntimeError), m.batch():
        m.event_consumed("signed_up", "processed")
        m.step_duration(0.01)
        raise RuntimeError("the batch failed")
    assert sample(m, "journeys_events_consumed_total",
                  event_type="signed_up", outcome="processed") == 1  # fmt: skip
    assert sample(m, "journeys_engine_step_duration_seconds_count") == 1
    # and the next calls, outside a batch, are written at once
    m.event_consumed("signed_up", "processed")
    assert sample(m, "journeys_events_consumed_total",
                  event_type="signed_up", outcome="processed") == 2  # fmt: skip


def test_a_timed_step_in_a_batch_is_written_at_its_end() -> None:
    m = Metrics(known_event_types=EVENT_TYPES)
    with m.batch():
        with m.time_step():
            pass
        assert sample(m, "journeys_engine_step_duration_seconds_count") == 0
    assert sample(m, "journeys_engine_step_duration_seconds_count") == 1


def test_a_nested_batch_writes_at_the_end_of_the_outer_one() -> None:
    m = Metrics(known_event_types=EVENT_TYPES)
    with m.batch():
        with m.batch():
            m.event_consumed("signed_up", "processed")
        assert sample(m, "journeys_events_consumed_total",
                      event_type="signed_up", outcome="processed") == 0  # fmt: skip
    assert sample(m, "journeys_events_consumed_total",
                  event_type="signed_up", outcome="processed") == 1  # fmt: skip


EDGES = [0.0, 0.005, 0.0050000001, 0.1, 1.0, 2.5, 2.4999999, 10.0, 1e9, -1.0, -1e9,
         math.inf, 0.3, 0.3, 7.0]  # fmt: skip


def histogram_samples(h: Histogram) -> dict[str, float]:
    return {
        f"{s.name}{sorted(s.labels.items())}": s.value
        for family in h.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


@pytest.mark.parametrize("labelled", [False, True])
def test_observe_all_counts_as_observe_does(labelled: bool) -> None:
    def make() -> tuple[Histogram, Histogram]:
        buckets = (0.005, 0.1, 1.0, 2.5, 10.0)
        if labelled:
            h = Histogram("h", "h", ["j"], registry=CollectorRegistry(), buckets=buckets)
            return h, h.labels("x")
        h = Histogram("h", "h", registry=CollectorRegistry(), buckets=buckets)
        return h, h

    one_by_one, one_child = make()
    at_once, at_once_child = make()
    for value in EDGES:
        one_child.observe(value)
    observe_all(at_once_child, EDGES)
    assert histogram_samples(at_once) == histogram_samples(one_by_one)
    labels = {"le": "0.005", **({"j": "x"} if labelled else {})}
    assert histogram_samples(one_by_one)[f"h_bucket{sorted(labels.items())}"] == 4  # <= 0.005


def test_observe_all_of_nan_counts_in_no_bucket_and_makes_the_sum_nan() -> None:
    one_by_one = Histogram("h", "h", registry=CollectorRegistry(), buckets=(1.0,))
    at_once = Histogram("h", "h", registry=CollectorRegistry(), buckets=(1.0,))
    for value in (0.5, math.nan, 2.0):
        one_by_one.observe(value)
    observe_all(at_once, [0.5, math.nan, 2.0])
    a, b = histogram_samples(at_once), histogram_samples(one_by_one)
    assert math.isnan(a["h_sum[]"]) and math.isnan(b["h_sum[]"])
    del a["h_sum[]"], b["h_sum[]"]
    assert a == b
    assert a["h_count[]"] == 2


def test_observe_all_observes_anything_else_one_by_one() -> None:
    seen: list[float] = []

    class Summary:
        def observe(self, value: float) -> None:
            seen.append(value)

    observe_all(Summary(), [3.0, 1.0])
    assert seen == [3.0, 1.0]
