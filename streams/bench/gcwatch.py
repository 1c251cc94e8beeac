"""Run the journey worker with its garbage collections timed: ``python -m
streams.bench.gcwatch FILE worker [ARGS...]`` runs ``journeys worker [ARGS...]`` and
appends one line per collection that paused the worker ``MIN_PAUSE_MS`` or more to FILE
(JSON: the wall-clock time it ended, its generation, milliseconds), so the benchmark can
line the pauses up with its latency windows. Nothing else changes: the collector keeps
the worker's own settings (``streams.worker.main.tune_gc``).
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import IO

import orjson

MIN_PAUSE_MS = 20.0


class Watch:
    """A ``gc.callbacks`` entry timing each collection."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        ms = (time.perf_counter() - self.started) * 1000
        if ms >= MIN_PAUSE_MS:
            line = {"at": time.time(), "generation": info["generation"], "ms": round(ms, 1)}
            self.out.write(orjson.dumps(line) + b"\n")
            self.out.flush()


def main(argv: list[str]) -> int:
    path, rest = Path(argv[0]), argv[1:]
    from streams.cli import main as cli_main

    with path.open("ab") as out:
        gc.callbacks.append(Watch(out))
        return cli_main(rest)


def pauses(path: Path, since: float, until: float) -> dict[str, float | int]:
    """The pauses logged between ``since`` and ``until`` (wall clock): how many, their
    total and the longest, in milliseconds."""
    found = []
    if path.exists():
        for line in path.read_bytes().splitlines():
            entry = orjson.loads(line)
            if since <= entry["at"] <= until:
                found.append(float(entry["ms"]))
    return {
        "count": len(found),
        "total_ms": round(sum(found), 1),
        "max_ms": round(max(found, default=0.0), 1),
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
