"""One benchmark run of one system: prefill, maximum throughput, latency, memory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from schemas.topics import TopicSpec, by_role, topic_specs
from streams.bench.drain import steady_rate
from streams.bench.gcwatch import pauses
from streams.bench.outputs import cpu_seconds, peak_rss_bytes, percentile
from streams.bench.processes import CpuSamples, Process, running
from streams.kafka.admin import ensure_topics
from streams.kafka.config import producer_config
from streams.kafka.offsets import Offsets
from streams.kafka.outputs import read_outputs
from streams.ops.processes import free_port
from streams.settings import Settings
from streams.sim import Arrival as RealisticArrival
from streams.sim import realistic
from streams.sim.output import produce
from streams.sim.population import DEFAULT_START, Message, generate_load
from streams.worker.launch import WorkerLaunch, overridden

LOAD_DAYS = 90.0
DRAIN_TIMEOUT_S = 600.0
JOIN_SETTLE_S = 2.0


@dataclass
class System:
    """How to start a system (one process, or several of one consumer group) and where
    to look at its progress and its output."""

    name: str
    settings: Settings
    input_topic: str
    output_topics: list[str]
    group: str
    progress: list[tuple[str, bool]]  # (topic the group consumes, written transactionally)
    processes: list[Process]
    cause_ids: Callable[[bytes], list[str]]
    setup: Callable[[], None]
    gc_log: Path | None = None  # the workers' collector pauses (streams.bench.gcwatch)


@dataclass
class Result:
    events: int
    events_per_s: float | None = None
    steady_events_per_s: float | None = None  # the middle of the drain (streams.bench.drain)
    lags: list[tuple[float, int]] = field(default_factory=list)  # (s after start, lag)
    drain_s: float | None = None
    outputs: int | None = None
    offered_rate: float | None = None
    latency_events: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    warmup_s: float = 0.0
    warmup_latency_ms: dict[str, float | None] = field(default_factory=dict)
    latency_runs_ms: list[dict[str, float | None]] = field(default_factory=list)
    # Why a latency is what it is: the system's CPU over the latency phase's wall time
    # (1.0: one core busy throughout, then it is behind the offered load), and the
    # machine's load average (1 min) as the phase began and ended.
    latency_cpu_busy: float | None = None
    # Seconds from the last event sent to the system caught up: more than a commit
    # interval or two, and it was behind the offered load (latency then grows with time).
    latency_behind_s: float | None = None
    load_average: list[float] = field(default_factory=list)
    # The collector's pauses of 20 ms or more: [warm-up, window 1, ...] (journeys only).
    gc_pauses: list[dict[str, float | int]] = field(default_factory=list)
    peak_rss_bytes: int | None = None  # all its processes together
    # Several processes of one group (``--workers``): each one's peak RSS, and the cores
    # each kept busy over the throughput phase (from its first output to the last commit),
    # the broker's too when its pid is known (``--broker-pid``, the same machine).
    workers: int = 1
    worker_peak_rss_bytes: list[int | None] = field(default_factory=list)
    worker_cpu_busy: list[float | None] = field(default_factory=list)
    # the share of that time each one's main thread waited, runnable, for a CPU
    worker_cpu_starved: list[float | None] = field(default_factory=list)
    broker_cpu_busy: float | None = None
    # ``--join-first``: seconds from the start to a stable group of all its processes,
    # after which the load was written (else the load is written first)
    joined_s: float | None = None
    error: str | None = None

    def summary(self) -> str:
        if self.error:
            return f"error: {self.error}"
        return (
            f"{self.events_per_s or 0:,.0f} events/s, latency {self.latency_ms}, "
            f"peak RSS {(self.peak_rss_bytes or 0) / 2**20:,.0f} MiB"
        )


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


async def _caught_up(
    system: System,
    offsets: Offsets,
    procs: Sequence[subprocess.Popen[bytes]],
    cpu: CpuSamples | None = None,
    lags: list[tuple[float, int]] | None = None,
) -> float:
    """Wait until the group has committed everything; returns that wall-clock time.
    ``cpu``: sampled at every look at the group's progress; ``lags``: each look's
    (wall-clock time, lag) appended."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        for process, proc in zip(system.processes, procs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{system.name} exited with {proc.returncode}, see {process.log}"
                )
        if cpu is not None:
            cpu.take()
        lag = 0
        for topic, markers in system.progress:
            lag += await asyncio.to_thread(offsets.lag, system.group, [topic], markers)
        if lags is not None:
            lags.append((time.time(), lag))
        if lag == 0:
            done = time.time()
            if cpu is not None:
                cpu.take()
            return done
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{system.name} did not catch up in {DRAIN_TIMEOUT_S:.0f} s")


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
                result.joined_s = await _joined(system, offsets, procs, launched)
                await produce(load, system.input_topic, config)
            await _throughput(system, offsets, procs, result, launched, cpu)
            rate = offered_rate or (result.events_per_s or 0) / 2
            window = Windows(warmup_seconds, latency_seconds, max(latency_runs, 1))
            await _latency(system, offsets, procs, result, rate, window, seed, customers)
            result.worker_peak_rss_bytes = [peak_rss_bytes(pid) for pid in pids]
            known = [b for b in result.worker_peak_rss_bytes if b is not None]
            result.peak_rss_bytes = sum(known) if known else None
        except Exception as exc:  # reported in the result, the other systems still run
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            offsets.close()
    return result


async def _joined(
    system: System,
    offsets: Offsets,
    procs: Sequence[subprocess.Popen[bytes]],
    launched: float,
) -> float:
    """Wait until every process is a member of the stable group, and a little more (the
    last assignment's start-up: producers, tables); returns the seconds it took."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        for process, proc in zip(system.processes, procs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{system.name} exited with {proc.returncode}, see {process.log}"
                )
        members = await asyncio.to_thread(offsets.stable_members, system.group)
        if members == len(procs):
            joined = time.time() - launched
            await asyncio.sleep(JOIN_SETTLE_S)
            return round(joined, 2)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{system.name}: {len(procs)} members not joined in {DRAIN_TIMEOUT_S} s")


async def _throughput(
    system: System,
    offsets: Offsets,
    procs: Sequence[subprocess.Popen[bytes]],
    result: Result,
    launched: float,
    cpu: CpuSamples,
) -> None:
    lags: list[tuple[float, int]] = []
    done = await _caught_up(system, offsets, procs, cpu, lags)
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
    result.broker_cpu_busy = busy[len(procs)] if len(busy) > len(procs) else None


async def _latency(
    system: System,
    offsets: Offsets,
    procs: Sequence[subprocess.Popen[bytes]],
    result: Result,
    rate: float,
    windows: Windows,
    seed: int,
    customers: int,
) -> None:
    """Event-to-output latency at ``rate``: a warm-up, then ``windows.runs`` windows
    back to back, each reported on its own (a trigger counts in the window its cause was
    sent in), and all of them pooled."""
    count = max(1, int(rate * windows.total_s))
    result.offered_rate = round(rate, 1)
    result.latency_events = count
    sent: dict[str, float] = {}
    latencies: list[tuple[float, float]] = []  # (cause sent, latency ms)

    def on_value(value: bytes, now: float) -> None:
        times = [sent[i] for i in system.cause_ids(value) if i in sent]
        if times:
            latest = max(times)
            latencies.append((latest, (now - latest) * 1000))

    def on_sent(message: Any) -> None:
        sent[orjson.loads(message.value)["event_id"]] = time.monotonic()

    stop = asyncio.Event()
    reader = asyncio.create_task(
        read_outputs(system.settings, system.output_topics, stop, on_value, from_end=True)
    )
    await asyncio.sleep(3.0)  # the reader is positioned at the end before anything is sent
    # Event time goes on where the prefill ended, at the prefill's pace (so timers fire
    # at the same rate per event as in the throughput phase).
    start = DEFAULT_START + timedelta(days=LOAD_DAYS)
    days = LOAD_DAYS * count / max(result.events, 1)
    load = generate_load(seed + 1, count, customers, days, start=start, tag="P", signed_up=True)
    began, cpu_began, wall = time.monotonic(), _cpu_seconds(procs), time.time()
    result.load_average = [round(os.getloadavg()[0], 2)]
    await produce(load, system.input_topic, {**config_low_latency(system)}, rate, on_sent)
    all_sent = time.monotonic()
    await _caught_up(system, offsets, procs)
    result.latency_behind_s = round(time.monotonic() - all_sent, 2)
    cpu_ended = _cpu_seconds(procs)
    if cpu_began is not None and cpu_ended is not None:
        result.latency_cpu_busy = round((cpu_ended - cpu_began) / (time.monotonic() - began), 3)
    result.load_average.append(round(os.getloadavg()[0], 2))
    await asyncio.sleep(2.0)
    stop.set()
    await reader
    split = windows.split(latencies, began)
    result.warmup_s = windows.warmup_s
    result.warmup_latency_ms = _percentiles(split[0])
    result.latency_runs_ms = [_percentiles(w) for w in split[1:]]
    result.latency_ms = _percentiles([v for w in split[1:] for v in w])
    if system.gc_log is not None:
        starts = (windows.warmup_s + i * windows.seconds for i in range(windows.runs))
        edges = [wall, *(wall + start for start in starts)]
        ends = [*edges[1:], time.time()]
        result.gc_pauses = [pauses(system.gc_log, a, b) for a, b in zip(edges, ends, strict=True)]


def _cpu_seconds(procs: Sequence[subprocess.Popen[bytes]]) -> float | None:
    """The processes' CPU time so far, all together; None when one is unknown."""
    found = [cpu_seconds(proc.pid) for proc in procs]
    return None if any(s is None for s in found) else sum(s for s in found if s is not None)


@dataclass(frozen=True)
class Windows:
    """The latency phase's time line: a warm-up (not reported in ``latency_ms``), then
    ``runs`` windows of ``seconds`` each."""

    warmup_s: float
    seconds: float
    runs: int

    @property
    def total_s(self) -> float:
        return self.warmup_s + self.seconds * self.runs

    def split(self, latencies: list[tuple[float, float]], began: float) -> list[list[float]]:
        """Latencies by the window their cause was sent in: [warm-up, run 1, ...]."""
        out: list[list[float]] = [[] for _ in range(self.runs + 1)]
        for sent, ms in latencies:
            after = sent - began - self.warmup_s
            index = 0 if after < 0 else 1 + min(int(after // self.seconds), self.runs - 1)
            out[index].append(ms)
        return out


def _percentiles(latencies: list[float]) -> dict[str, float | None]:
    found: dict[str, float | None] = {
        f"p{q}": round(v, 1) if (v := percentile(latencies, q)) is not None else None
        for q in (50, 95, 99)
    }
    found["max"] = round(max(latencies), 1) if latencies else None
    found["samples"] = float(len(latencies))
    return found


def config_low_latency(system: System) -> dict[str, Any]:
    return {**producer_config(system.settings), "linger_ms": 1}
