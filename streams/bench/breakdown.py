"""Where the journey worker's time goes, per event: ours against faust's and aiokafka's.

Reads the cProfile stats of a benchmark run (``journeys bench --profile``: the worker's
main thread, wall-clock timer) and sorts each function's own time into a part:

* ours: ``decode`` (touchpoint JSON and validation), ``engine`` (``journeys/`` but the
  stored state), ``state codec`` (stored state to and from JSON), ``state write`` (our
  customer store and exactly-once table code), ``encode & sends`` (trigger encoding and
  our send path), ``worker`` (the rest of ``streams/``: agents, timers, links);
* theirs: ``faust`` (faust and mode), ``aiokafka``, ``RocksDB``, ``event loop``
  (asyncio), ``other``; ``idle`` (waiting in ``epoll``) is reported apart.

A function of neither side (a C builtin such as ``orjson.dumps``, pydantic, the standard
library) is charged to whoever called it, in proportion to the time each caller spent
in it, so that ``orjson.dumps`` called by the state codec counts as state codec.
Per event: the part's time over the events the worker processed (throughput and
latency phases). The compiled engine's functions (``journeys.native``) are C builtins to
the profiler, named by module: charged to engine and state codec like their sources.
"""

from __future__ import annotations

import pstats
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Func = tuple[str, int, str]  # (file, line, name), as pstats keys them

OURS = ("decode", "engine", "state codec", "state write", "encode & sends", "worker")
THEIRS = ("faust", "aiokafka", "RocksDB", "event loop", "other")
IDLE = "idle"

_STATE_CODEC = ("journeys/state.py", "streams/worker/faust_codec.py")
_STATE_WRITE = (
    "streams/worker/customers.py",
    "streams/worker/local_state.py",
    "streams/worker/eos/tables.py",
    "streams/worker/eos/store.py",
)
_SENDS = ("streams/worker/outputs.py", "streams/worker/eos/produce.py", "schemas/triggers.py")
_DECODE = ("schemas/decode.py", "schemas/events.py", "schemas/segment.py", "schemas/internal.py")


def _own(func: Func) -> str | None:
    """The part a function belongs to by its file, or None: charged to its callers."""
    path, _, name = func
    path = path.replace("\\", "/")
    if path == "~":
        if "of 'select.epoll'" in name:
            return IDLE
        if "method journeys." in name:  # the compiled engine (journeys.native)
            return "state codec" if "journeys.state." in name else "engine"
        return "RocksDB" if "Rdict" in name else None
    if "/site-packages/" in path or "/lib/python3" in path:
        return _library(path)
    if path.endswith("schemas/codec.py"):
        return "decode" if "load" in name else "encode & sends"
    if path.endswith("journeys/timers.py") and name == "stored_next_due":
        return "state codec"
    for part, paths in (
        ("state codec", _STATE_CODEC),
        ("state write", _STATE_WRITE),
        ("encode & sends", _SENDS),
        ("decode", _DECODE),
    ):
        if path.endswith(paths):
            return part
    if "/journeys/" in path:
        return "engine"
    if "/streams/" in path or "/schemas/" in path:
        return "worker"
    return None


def _library(path: str) -> str | None:
    for marker, part in (
        ("/rocksdict/", "RocksDB"),
        ("/faust/", "faust"),
        ("/mode/", "faust"),
        ("/aiokafka/", "aiokafka"),
        ("/asyncio/", "event loop"),
        ("/selectors.py", "event loop"),
    ):
        if marker in path:
            return part
    return None  # pydantic, orjson, the standard library: charged to the caller


@dataclass(frozen=True)
class Breakdown:
    """Seconds per part, the events they were spent on, and the profile's total."""

    seconds: dict[str, float]
    events: int

    def us_per_event(self, part: str) -> float:
        return self.seconds.get(part, 0.0) / max(self.events, 1) * 1e6

    @property
    def busy(self) -> float:
        return sum(s for p, s in self.seconds.items() if p != IDLE)

    def share(self, parts: tuple[str, ...]) -> float:
        busy = self.busy
        return sum(self.seconds.get(p, 0.0) for p in parts) / busy if busy else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "us_per_event": {p: round(self.us_per_event(p), 2) for p in (*OURS, *THEIRS)},
            "idle_s": round(self.seconds.get(IDLE, 0.0), 2),
            "busy_s": round(self.busy, 2),
            "ours_share": round(self.share(OURS), 4),
            "theirs_share": round(self.share(THEIRS), 4),
        }

    def table(self) -> str:
        head = f"{'part':<16} {'us/event':>9} {'share':>7}"
        lines = [f"{head}   (share of busy time; {self.events:,} events)"]
        for title, parts in (("ours", OURS), ("faust/aiokafka/...", THEIRS)):
            for part in parts:
                lines.append(
                    f"{part:<16} {self.us_per_event(part):9.1f} {self.share((part,)):7.1%}"
                )
            total = sum(self.us_per_event(p) for p in parts)
            lines.append(f"{'= ' + title:<16} {total:9.1f} {self.share(parts):7.1%}")
        lines.append(f"idle (epoll wait) {self.seconds.get(IDLE, 0.0):,.1f} s, not counted")
        return "\n".join(lines)


def breakdown(stats: pstats.Stats, events: int) -> Breakdown:
    """Sort the profile's own times into the parts (module docstring)."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table there
    memo: dict[Func, dict[str, float]] = {}
    visiting: set[Func] = set()

    def parts_of(func: Func) -> dict[str, float] | None:
        """The fractions of ``func``'s own time that go to each part (None: ``func`` is
        being resolved already, a cycle of calls: its share goes to the other callers)."""
        found = memo.get(func)
        if found is not None:
            return found
        own = _own(func)
        if own is not None:
            found = {own: 1.0}
        elif func in visiting:
            return None
        elif func not in raw or not raw[func][4]:
            found = {"other": 1.0}
        else:
            visiting.add(func)
            callers: dict[Func, tuple[Any, ...]] = raw[func][4]
            resolved = [(parts_of(caller), c[2]) for caller, c in callers.items()]
            visiting.discard(func)
            known = [(parts, t) for parts, t in resolved if parts is not None]
            total = sum(t for _, t in known)
            shares: dict[str, float] = defaultdict(float)
            for parts, t in known:
                weight = t / total if total else 1.0 / len(known)
                for part, fraction in parts.items():
                    shares[part] += weight * fraction
            found = dict(shares) or {"other": 1.0}
        memo[func] = found
        return found

    seconds: dict[str, float] = defaultdict(float)
    for func, (_, _, tottime, _, _) in raw.items():
        for part, fraction in (parts_of(func) or {"other": 1.0}).items():
            seconds[part] += tottime * fraction
    return Breakdown(dict(seconds), events)


def from_file(path: Path, events: int) -> Breakdown:
    return breakdown(pstats.Stats(str(path)), events)
