"""A benchmarked system and what a run of it found, and waiting for its consumer group:
until all its processes have joined, until it has caught up."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.bench.processes import CpuSamples, Process
from streams.kafka.offsets import Offsets
from streams.settings import Settings

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

    def check_running(self, procs: Sequence[subprocess.Popen[bytes]]) -> None:
        """Raise when one of its processes (``procs``, started from ``processes``) has
        exited: the benchmark of this system cannot go on."""
        for process, proc in zip(self.processes, procs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {proc.returncode}, see {process.log}")


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
    # their CPU time over that phase, per event of it (us): what an event costs, which a
    # busy machine moves less than the rate (a worker waiting on a commit or a CPU costs
    # no CPU, only time)
    worker_cpu_us_per_event: float | None = None
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


async def caught_up(
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
        system.check_running(procs)
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


async def joined(
    system: System,
    offsets: Offsets,
    procs: Sequence[subprocess.Popen[bytes]],
    launched: float,
) -> float:
    """Wait until every process is a member of the stable group, and a little more (the
    last assignment's start-up: producers, tables); returns the seconds it took."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        system.check_running(procs)
        members = await asyncio.to_thread(offsets.stable_members, system.group)
        if members == len(procs):
            joined = time.time() - launched
            await asyncio.sleep(JOIN_SETTLE_S)
            return round(joined, 2)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{system.name}: {len(procs)} members not joined in {DRAIN_TIMEOUT_S} s")
