"""One benchmark run of one system: prefill, maximum throughput, latency, memory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from schemas.topics import TopicSpec, by_role, topic_specs
from streams.bench.drain import steady_rate
from streams.bench.latency import LOAD_DAYS, Windows, latency
from streams.bench.outputs import peak_rss_bytes
from streams.bench.processes import CpuSamples, Process, running
from streams.bench.system import Result, System, caught_up, joined
from streams.kafka.admin import ensure_topics
from streams.kafka.config import producer_config
from streams.kafka.offsets import Offsets
from streams.kafka.outputs import read_outputs
from streams.ops.processes import free_port
from streams.settings import Settings
from streams.sim import Arrival as RealisticArrival
from streams.sim import realistic
from streams.sim.output import produce
from streams.sim.population import Message, generate_load
from streams.worker.launch import WorkerLaunch, overridden


def journeys_system(
    base: Settings,
    run_id: str,
    store: str,
    partitions: int,
    logs: Path,
    *,
    profile: Path | None = None,
    workers: int = 1,
) -> System:
    """The journey worker: ``workers`` processes of one group (each its own state
    directory, web port and log; their collector pauses in one file), exactly once,
    event clock, no standby replicas."""
    prefix = f"bench-{run_id}-journeys"
    settings = overridden(
        base,
        topic_prefix=prefix,
        app_id=prefix,
        partitions=partitions,
        store=f"{store}://",
        clock="event",
        processing_guarantee="exactly_once",
        log_level="warning",
        standby_replicas=0,
    )
    specs = by_role(topic_specs(prefix, partitions))
    gc_log = logs / f"{prefix}.gc.jsonl"
    entry = (*profiled(profile), "-m", "streams.bench.gcwatch", str(gc_log))

    def worker(index: int) -> Process:
        own = overridden(
            settings, data_dir=tempfile.mkdtemp(prefix="journeys-bench-"), web_port=free_port()
        )
        launch = WorkerLaunch(own, entry=entry)
        return Process(launch.argv, launch.env(), logs / f"{prefix}{_nth(index, workers)}.log")

    def trigger_causes(value: bytes) -> list[str]:
        ids: list[str] = orjson.loads(value)["cause"]["event_ids"]
        return ids

    def setup() -> None:
        ensure_topics(settings)

    return System(
        name="journeys",
        settings=settings,
        input_topic=specs["touchpoints"].name,
        output_topics=[specs["triggers"].name],
        group=prefix,
        progress=[(specs["touchpoints"].name, False), (specs["keyed"].name, True)],
        processes=[worker(i) for i in range(workers)],
        cause_ids=trigger_causes,
        setup=setup,
        gc_log=gc_log,
    )


def _nth(index: int, count: int) -> str:
    """A process's suffix in its log's name: none for a system of one process."""
    return "" if count == 1 else f"-{index}"


def profiled(profile: Path | None) -> list[str]:
    """Interpreter arguments that run the module under cProfile, stats to ``profile``
    (written when the worker stops gracefully)."""
    if profile is None:
        return []
    profile.parent.mkdir(parents=True, exist_ok=True)
    return ["-m", "cProfile", "-o", str(profile.resolve())]


def passthrough_specs(names: list[str], partitions: int) -> list[TopicSpec]:
    """The pass-through baselines' own topics, created by the one topic-creating function."""
    return [
        TopicSpec(
            role=name,
            name=name,
            key="as produced",
            message="benchmark record",
            description="benchmark baseline topic",
            producers=("bench",),
            consumers=("bench",),
            partitions=partitions,
        )
        for name in names
    ]


def passthrough_system(
    base: Settings, run_id: str, kind: str, partitions: int, logs: Path, *, workers: int = 1
) -> System:
    name = f"bench-{run_id}-{kind}"
    source, sink = f"{name}.in", f"{name}.out"
    argv = [sys.executable, "-m", "streams.bench.baselines", kind, source, sink, name]

    def event_id(value: bytes) -> list[str]:
        return [orjson.loads(value)["event_id"]]

    def setup() -> None:
        ensure_topics(base, passthrough_specs([source, sink], partitions))

    return System(
        name=kind,
        settings=base,
        input_topic=source,
        output_topics=[sink],
        group=name,
        progress=[(source, False)],
        processes=[
            Process(argv, dict(os.environ), logs / f"{name}{_nth(i, workers)}.log")
            for i in range(workers)
        ],
        cause_ids=event_id,
        setup=setup,
    )


def load_messages(traffic: str, seed: int, events: int, customers: int) -> list[Message]:
    """The throughput phase's messages: the flat benchmark load (``tidy``), or the first
    ``events`` messages of realistic SDK traffic (anonymous-first sign-ups, delayed app
    batches, retries: identity merges and out-of-order events cost what they cost)."""
    if traffic == "tidy":
        return list(generate_load(seed, events, customers))
    people: int = max(events // 25, 1)
    found: list[RealisticArrival] = []
    while len(found) < events:
        found = realistic(seed, people, LOAD_DAYS)
        people *= 2
    return [arrival.message for arrival in found[:events]]


async def measure(
    system: System,
    *,
    events: int,
    customers: int,
    seed: int,
    offered_rate: float | None,
    latency_seconds: float,
    traffic: str = "tidy",
    warmup_seconds: float = 0.0,
    latency_runs: int = 1,
    broker_pid: int | None = None,
    join_first: bool = False,
) -> Result:
    result = Result(events=events, workers=len(system.processes))
    system.setup()
    config = producer_config(system.settings)
    load = load_messages(traffic, seed, events, customers)
    if not join_first:
        await produce(load, system.input_topic, config)
    offsets = Offsets(system.settings)
    launched = time.time()
    with running(system.processes, grace=30.0) as procs:
        try:
            pids = [proc.pid for proc in procs]
            cpu = CpuSamples(pids if broker_pid is None else [*pids, broker_pid])
            if join_first:
                result.joined_s = await joined(system, offsets, procs, launched)
                await produce(load, system.input_topic, config)
            await _throughput(system, offsets, procs, result, launched, cpu)
            rate = offered_rate or (result.events_per_s or 0) / 2
            window = Windows(warmup_seconds, latency_seconds, max(latency_runs, 1))
            await latency(system, offsets, procs, result, rate, window, seed, customers)
            result.worker_peak_rss_bytes = [peak_rss_bytes(pid) for pid in pids]
            known = [b for b in result.worker_peak_rss_bytes if b is not None]
            result.peak_rss_bytes = sum(known) if known else None
        except Exception as exc:  # reported in the result, the other systems still run
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            offsets.close()
    return result


async def _throughput(
    system: System,
    offsets: Offsets,
    procs: Sequence[subprocess.Popen[bytes]],
    result: Result,
    launched: float,
    cpu: CpuSamples,
) -> None:
    lags: list[tuple[float, int]] = []
    done = await caught_up(system, offsets, procs, cpu, lags)
    # Read the outputs afterwards, so that the reader takes no CPU from the system.
    seen = await read_outputs(system.settings, system.output_topics, asyncio.Event(), idle_s=3.0)
    result.outputs = seen.count
    result.drain_s = round(done - launched, 2)
    first = seen.first_ms / 1000 if seen.first_ms is not None else launched
    result.events_per_s = round(result.events / max(done - first, 1e-3), 1)
    result.steady_events_per_s = steady_rate(lags)
    result.lags = [(round(at - launched, 2), lag) for at, lag in lags]
    busy = cpu.busy(first, done)
    result.worker_cpu_busy = busy[: len(procs)]
    result.worker_cpu_starved = cpu.starved(first, done)[: len(procs)]
    result.worker_cpu_us_per_event = cpu_per_event(result.worker_cpu_busy, result.events_per_s)
    result.broker_cpu_busy = busy[len(procs)] if len(busy) > len(procs) else None


def cpu_per_event(busy: Sequence[float | None], events_per_s: float | None) -> float | None:
    """Microseconds of the workers' CPU per event, from the cores they kept busy and the
    events per second over the same time; None when a worker's CPU is unknown."""
    if not busy or any(b is None for b in busy) or not events_per_s:
        return None
    return round(sum(b for b in busy if b is not None) / events_per_s * 1e6, 1)
