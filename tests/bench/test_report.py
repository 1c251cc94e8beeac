"""The benchmark's pure parts: percentiles, ratios and the printed table."""

from __future__ import annotations

import cProfile
import pstats
from datetime import UTC, datetime

import orjson
import pytest

from journeys.state import dump_state, fresh_state
from streams.bench.outputs import percentile
from streams.bench.run import cpu_per_event
from streams.bench.table import ratios, table


def test_nearest_rank_percentile():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def _result(rate, p50):
    return {
        "events_per_s": rate,
        "latency_ms": {"p50": p50, "p95": p50, "p99": p50},
        "outputs": 10,
        "peak_rss_bytes": 2**20 * 100,
        "error": None,
    }


def test_ratios_and_table():
    systems = {
        "journeys": _result(500.0, 900.0),
        "faust": _result(2500.0, 12.0),
        "aiokafka": _result(50000.0, 9.0),
    }
    assert ratios(systems) == {"a/b": 0.2, "a/c": 0.01}
    assert ratios({"journeys": _result(500.0, 1.0)}) == {"a/b": None, "a/c": None}
    report = {
        "parameters": {
            "events": 1000,
            "customers": 100,
            "store": "memory",
            "partitions": 8,
            "offered_rate": 250.0,
        },
        "machine": {"cpus": 2},
        "systems": systems,
        "ratios": ratios(systems),
    }
    text = table(report)
    assert "events=1,000 customers=100 store=memory" in text
    assert "journeys       500     900" in text
    assert "a/b (journeys/faust) = 0.2, a/c (journeys/aiokafka) = 0.01" in text
    assert "engine=" not in text  # a report written before the engine was recorded
    report["machine"]["engine"] = "pure Python (wire.py changed since the build)"
    assert (
        text.splitlines()[0] + " engine=pure Python (wire.py changed since the build)"
        == (table(report).splitlines()[0])
    )


def test_latency_windows_after_the_warm_up():
    from streams.bench.latency import Windows

    windows = Windows(warmup_s=5.0, seconds=10.0, runs=3)
    assert windows.total_s == 35.0
    began = 100.0
    sent = [(100.0, 1.0), (104.9, 2.0), (105.0, 3.0), (114.9, 4.0), (115.0, 5.0), (140.0, 6.0)]
    # the warm-up, then each window; a cause sent after the last window counts in it
    assert windows.split(sent, began) == [[1.0, 2.0], [3.0, 4.0], [5.0], [6.0]]


def test_profile_breakdown_charges_library_time_to_its_caller():
    from streams.bench.breakdown import OURS, THEIRS, breakdown

    state = fresh_state("c", "j", 1, "s", datetime(2026, 1, 1, tzinfo=UTC))
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [orjson.dumps(dump_state(state)) for _ in range(200)])
    split = breakdown(pstats.Stats(profiler), events=200)
    # orjson.dumps is a builtin: charged to its caller (this test: "other")
    assert split.seconds["state codec"] > 0
    assert split.share(OURS) + split.share(THEIRS) == pytest.approx(1.0)
    assert split.us_per_event("state codec") > 0
    assert "state codec" in split.table()


def test_collector_pauses_are_logged_and_counted_per_window(tmp_path):
    import gc

    from streams.bench import gcwatch

    log = tmp_path / "gc.jsonl"
    with log.open("ab") as out:
        watch = gcwatch.Watch(out)
        watch("start", {"generation": 2})
        watch.started -= 0.5  # a collection that took half a second
        watch("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
        watch("start", {"generation": 0})
        watch("stop", {"generation": 0, "collected": 0, "uncollectable": 0})  # too short
    assert gc.callbacks.count(watch) == 0
    found = gcwatch.pauses(log, 0.0, 2e9)
    assert found["count"] == 1 and found["max_ms"] >= 500.0
    assert gcwatch.pauses(log, 0.0, 1.0)["count"] == 0


def test_cores_busy_per_process_between_two_moments():
    from streams.bench.processes import CpuSamples, Sample

    cpu = CpuSamples(pids=[1, 2, 3])
    cpu.samples = [
        Sample(10.0, [1.0, 2.0, None], [0.0, 0.0, None]),
        Sample(12.0, [2.0, 2.5, None], [1.0, 0.0, None]),
        Sample(14.0, [4.0, 3.0, 9.0], [2.0, 0.0, 1.0]),
    ]
    # from the sample at or before each moment: [10, 14) -> 4 s of wall time
    assert cpu.busy(11.0, 14.5) == [0.75, 0.25, None]
    assert cpu.starved(11.0, 14.5) == [0.5, 0.0, None]
    assert cpu.busy(5.0, 12.0) == [0.5, 0.25, None]  # before the first: the first
    assert cpu.busy(14.0, 15.0) == [None, None, None]  # no time between them


def test_the_table_shows_each_workers_cpu_and_the_brokers_share():
    r = _result(1000.0, 10.0) | {"worker_cpu_busy": [0.8, 0.7], "broker_cpu_busy": 0.5}
    r["worker_cpu_starved"] = [0.25, 0.5]
    r["steady_events_per_s"] = 1234.0
    r["worker_cpu_us_per_event"] = cpu_per_event([0.8, 0.7], 5000.0)
    report = {
        "parameters": {
            "events": 1000,
            "customers": 100,
            "store": "rocksdb",
            "partitions": 8,
            "workers": 2,
            "offered_rate": 500.0,
        },
        "machine": {"cpus": 2},
        "systems": {"journeys": r},
        "ratios": ratios({"journeys": r}),
    }
    text = table(report)
    assert "partitions=8 workers=2" in text
    assert "journeys: 1,234 events/s from 90% to 10% of the backlog" in text
    assert "cores busy: 0.80 + 0.70 (waited for a CPU: 25% + 50%)" in text
    assert "; 300 us of their CPU per event" in text  # 1.5 cores at 5,000 events/s
    assert "broker 0.50 (25% of their CPU)" in text


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--systems", "journeys,flink"], "unknown systems ['flink']"),
        (["--workers", "0"], "--workers must be 1 or more"),
        (["--workers", "2", "--profile"], "--profile runs one worker"),
    ],
)
def test_options_that_cannot_run_are_refused(argv, problem):
    import argparse

    from streams.bench.cli import _wanted, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    wanted, found = _wanted(parser.parse_args(argv))
    assert wanted == [] and found is not None and found.startswith(problem)
    ok, none = _wanted(parser.parse_args(["--systems", "aiokafka,journeys", "--workers", "2"]))
    assert (ok, none) == (["journeys", "aiokafka"], None)


def test_the_steady_rate_is_the_middle_of_the_drain():
    from streams.bench.drain import steady_rate

    # a slow start (a rebalance), then 100 events/s, then a tail
    lags = [(0.0, 1000), (5.0, 1000), (6.0, 900), (14.0, 100), (15.0, 50), (20.0, 0)]
    assert steady_rate(lags) == 100.0
    # the load written while the group runs: counted from the peak
    assert steady_rate([(0.0, 0), (1.0, 500), *lags]) == 100.0
    assert steady_rate([(0.0, 1000), (1.0, 0)]) is None  # one look: too quick
    assert steady_rate([]) is None


def test_profile_breakdown_charges_the_compiled_engine_to_engine_and_state_codec():
    from streams.bench.breakdown import _own

    assert _own(("~", 0, "<built-in method journeys.driver.on_time>")) == "engine"
    assert _own(("~", 0, "<built-in method journeys.state.dump_state>")) == "state codec"
    assert _own(("~", 0, "<built-in method orjson.dumps>")) is None  # charged to its caller


def test_cpu_per_event_is_the_workers_cpu_over_the_rate_and_unknown_with_a_worker_unknown():
    assert cpu_per_event([0.9], 3000.0) == 300.0
    assert cpu_per_event([0.5, 0.25], 2500.0) == 300.0
    assert cpu_per_event([0.9, None], 3000.0) is None
    assert cpu_per_event([], 3000.0) is None
    assert cpu_per_event([0.9], None) is None
    assert cpu_per_event([0.9], 0.0) is None
