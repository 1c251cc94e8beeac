"""The processes of a benchmarked system: started together, stopped together, and their
CPU time sampled while they run, so that a phase's CPU per process (the broker's too,
when it runs on the same machine) can be told afterwards for any stretch of it."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.bench.outputs import cpu_seconds, runqueue_seconds


@dataclass(frozen=True)
class Process:
    """One process of a system: its command line, its whole environment, its log."""

    argv: list[str]
    env: dict[str, str]
    log: Path


@contextlib.contextmanager
def running(processes: Sequence[Process], grace: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The processes started, each writing to its log; on leaving, all of them sent
    SIGTERM at once (a group's members leave together, with no rebalance between one
    stop and the next), waited for ``grace`` seconds, then killed."""
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as logs:
        try:
            for process in processes:
                log = logs.enter_context(process.log.open("wb"))
                procs.append(
                    subprocess.Popen(
                        process.argv, env=process.env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
            yield procs
        finally:
            stop_all(procs, grace)


def stop_all(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to every process still running, then wait ``grace`` seconds in all; those
    left are killed."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Sample:
    """At a wall-clock time, each process's CPU seconds and seconds waited for a CPU."""

    at: float
    cpu: list[float | None]
    waited: list[float | None]


@dataclass
class CpuSamples:
    """CPU seconds of some processes (``pids``), and how long their main threads waited,
    runnable, for a CPU, sampled at wall-clock times."""

    pids: list[int]
    samples: list[Sample] = field(default_factory=list)

    def take(self) -> None:
        cpu = [cpu_seconds(pid) for pid in self.pids]
        waited = [runqueue_seconds(pid) for pid in self.pids]
        self.samples.append(Sample(time.time(), cpu, waited))

    def busy(self, since: float, until: float) -> list[float | None]:
        """Cores each process kept busy between two wall-clock times (1.0: one core all
        the time), from the last samples taken at or before them; ``None`` where unknown."""
        return self._rates(since, until, lambda s: s.cpu)

    def starved(self, since: float, until: float) -> list[float | None]:
        """The share of the wall time each process's main thread waited for a CPU while
        it could run (other processes had the cores)."""
        return self._rates(since, until, lambda s: s.waited)

    def _rates(
        self, since: float, until: float, value: Callable[[Sample], list[float | None]]
    ) -> list[float | None]:
        start, end = self._at(since), self._at(until)
        if start is None or end is None or end.at <= start.at:
            return [None] * len(self.pids)
        wall = end.at - start.at
        return [
            round((b - a) / wall, 3) if a is not None and b is not None else None
            for a, b in zip(value(start), value(end), strict=True)
        ]

    def _at(self, moment: float) -> Sample | None:
        before = [s for s in self.samples if s.at <= moment]
        if before:
            return before[-1]
        return self.samples[0] if self.samples else None
