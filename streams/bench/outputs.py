"""A process's CPU time and peak memory, and percentiles, for the benchmarks (the Kafka
offsets and output reader they use are :mod:`streams.kafka.offsets` and
:mod:`streams.kafka.outputs`)."""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["cpu_seconds", "peak_rss_bytes", "percentile", "runqueue_seconds"]


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system), or None when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def runqueue_seconds(pid: int) -> float | None:
    """How long the process's main thread (a worker's event loop) has waited, runnable,
    for a CPU so far (the kernel's schedstat), or None when unknown. Beside its CPU time
    it tells a process starved of CPU by others from one idle, waiting for I/O."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def peak_rss_bytes(pid: int) -> int | None:
    """The process's peak resident set size (VmHWM), or None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
