"""The latency phase of a benchmark run: a fixed offered load after the throughput
phase, event-to-output latency per window after a warm-up, and what explains it (the
system's CPU, the load average, how long it took to catch up, collector pauses)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from streams.bench.gcwatch import pauses
from streams.bench.outputs import cpu_seconds, percentile
from streams.bench.system import Result, System, caught_up
from streams.kafka.config import producer_config
from streams.kafka.offsets import Offsets
from streams.kafka.outputs import read_outputs
from streams.sim.output import produce
from streams.sim.population import DEFAULT_START, generate_load

LOAD_DAYS = 90.0
"""The simulated period of the throughput phase's load; the latency phase goes on from
its end at the same pace."""


async def latency(
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
    await caught_up(system, offsets, procs)
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
