"""The journey engine's cost per event, in process: no decoding, no broker, no faust.

The benchmark load (the simulator's ``generate_load`` mix, default journey) is decoded
once up front; then, timed, each event goes through what the journey agent does around
the engine: wake-ups of the keys due at or before the event (``driver.on_time`` at each
key's own due time, as the timer index would send them), ``driver.on_event``, the changed
states dumped to their table JSON (``journeys.state.dump_state``), every delivered
trigger encoded as the worker encodes it (``journeys.wire.trigger_json``, once: the
worker sends the same bytes to two topics), and the key's next due time
(``driver.due``). Prints microseconds of CPU per input event and
events per second (best of ``--repeat`` runs: the machine is shared), a second run's
split by stage (the split's own clock reads cost a little), and with ``--cprofile`` the
top functions, and the cyclic garbage collector's pauses during the split run (count,
total and longest per generation: a full collection walks every live state, so it
grows with the customers held). The collector is tuned as the worker tunes it
(``streams.worker.main.tune_gc``: what exists after loading frozen, a young collection
every 20,000 allocations); ``--gc default`` keeps Python's defaults. Last, the state
codec's cost per stored state of the run's table (read, as a cache miss reads it; the
stored model's validation alone; written again). Results go to
``bench-results/engine.json`` (``--out``).

    python tests/bench/bench_engine.py [--events 20000] [--customers 10000] [--repeat 5]
        [--gc worker|default] [--cprofile] [--out bench-results/engine.json] [--label NAME]

The engine runs compiled when ``build/native`` holds a current build (``journeys native
build``); ``JOURNEYS_NATIVE=off`` runs it as pure Python (the first line says which).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import heapq
import json
import platform
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import journeys  # noqa: E402
from journeys import Journey, driver  # noqa: E402
from journeys.state import CustomerState, dump_state, load_state  # noqa: E402
from journeys.stored import StoredState  # noqa: E402
from journeys.wire import trigger_json  # noqa: E402
from schemas.decode import decode_touchpoints  # noqa: E402
from schemas.events import TouchpointEvent  # noqa: E402

STAGES = ("engine: on_time", "engine: on_event", "dump changed states", "encode triggers", "due")


def load_events(events: int, customers: int) -> list[TouchpointEvent]:
    """The benchmark mix, decoded as the worker decodes it (not timed)."""
    try:
        from streams.sim.population import generate_load
    except ImportError:  # the layout before streams/ was split into sub-packages
        from streams.sim import generate_load  # type: ignore[no-redef,attr-defined]
    received = datetime(2026, 6, 1, tzinfo=UTC)
    out: list[TouchpointEvent] = []
    for message in generate_load(1, events, customers):
        out.extend(decode_touchpoints(message.value, received_at=received).events)
    return out


class Agent:
    """The journey agent's path around the engine, for one run over the load."""

    def __init__(self, definitions: Sequence[Journey], timings: dict[str, float] | None) -> None:
        self.definitions = definitions
        self.timings = timings
        self.states: dict[str, dict[str, CustomerState]] = {}
        self.table: dict[str, dict[str, Any]] = {}
        self.heap: list[tuple[datetime, str]] = []
        self.triggers = 0
        self.wakeups = 0

    def now(self) -> float:
        return time.process_time() if self.timings is not None else 0.0

    def lap(self, stage: str, started: float) -> float:
        if self.timings is None:
            return started
        t = time.process_time()
        self.timings[stage] += t - started
        return t

    def event(self, event: TouchpointEvent) -> None:
        """Wake the keys due at or before the event (each at its due time), then step it."""
        heap = self.heap
        while heap and heap[0][0] <= event.event_time:
            t = self.now()
            due, key = heapq.heappop(heap)
            mine = self.states[key]
            if driver.due(mine) != due:
                self.lap(STAGES[0], t)
                continue  # stale: the key was rescheduled since
            woken = driver.on_time(self.definitions, mine, due)
            self.wakeups += 1
            self.keep(key, woken, self.lap(STAGES[0], t))
        t = self.now()
        key = event.key
        done = driver.on_event(self.definitions, self.states.get(key, {}), event)
        self.keep(key, done, self.lap(STAGES[1], t))

    def keep(self, key: str, done: driver.Driven, t: float) -> None:
        """Write the changed states' JSON, encode the delivered triggers, schedule."""
        self.states[key] = done.states
        if done.changed:
            record = dict(self.table.get(key, {}))
            for name in done.changed:
                record[name] = dump_state(done.states[name])
            self.table[key] = record
        t = self.lap(STAGES[2], t)
        for _, outcome in done.outcomes:
            for trigger in outcome.triggers:
                if not trigger.holdout:
                    trigger_json(trigger)
                    self.triggers += 1
        t = self.lap(STAGES[3], t)
        due = driver.due(done.states)
        if due is not None:
            heapq.heappush(self.heap, (due, key))
        self.lap(STAGES[4], t)


class Pauses:
    """The garbage collector's pauses while installed (``gc.callbacks``), per generation."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: dict[int, list[float]] = defaultdict(list)

    def __enter__(self) -> Pauses:
        gc.callbacks.append(self.on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self.on_gc)

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self.started)

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            f"gen{g}": {
                "count": len(p),
                "total_ms": round(sum(p) * 1000, 1),
                "max_ms": round(max(p) * 1000, 2),
            }
            for g, p in sorted(self.pauses.items())
        }


def run(
    definitions: Sequence[Journey],
    events: Sequence[TouchpointEvent],
    timings: dict[str, float] | None = None,
) -> Agent:
    """Drive every event (and the wake-ups due before it) through the agent's path."""
    agent = Agent(definitions, timings)
    for event in events:
        agent.event(event)
    return agent


def state_codec(stored: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU per state of reading the stored values (``load_state``: as a cache miss of the
    worker reads them), of the stored model's validation alone (what ``load_state`` did
    before it read written values directly), and of writing them again (best of 3)."""
    states = [load_state(value) for value in stored]

    def best(call: Any, items: list[Any]) -> float:
        times = []
        for _ in range(3):
            began = time.process_time()
            for item in items:
                call(item)
            times.append(time.process_time() - began)
        return round(min(times) / max(1, len(items)) * 1e6, 2)

    return {
        "states": len(stored),
        "load_us": best(load_state, stored),
        "validate_us": best(StoredState.model_validate, stored),
        "dump_us": best(dump_state, states),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs; the fastest is shown")
    parser.add_argument("--cprofile", action="store_true", help="also print the top 15")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "engine.json")
    parser.add_argument("--label", default="", help="kept in the results file")
    parser.add_argument(
        "--gc", choices=("worker", "default"), default="worker", help="collector settings"
    )
    args = parser.parse_args()
    definitions = [journeys.default_journey()]
    events = load_events(args.events, args.customers)
    n = len(events)
    run(definitions, events[: min(n, 2_000)])  # warm the memo caches and imports
    if args.gc == "worker":
        from streams.worker.main import tune_gc

        tune_gc()
    best: float | None = None
    counts = Agent(definitions, None)
    for _ in range(max(1, args.repeat)):
        began = time.process_time()
        counts = run(definitions, events)
        total = time.process_time() - began
        best = total if best is None or total < best else best
    assert best is not None
    timings: dict[str, float] = defaultdict(float)
    with Pauses() as pauses:
        run(definitions, events, timings)
    split_total = sum(timings.values())
    engine = journeys.native.status().describe()
    per_event = best / n * 1e6
    print(
        f"{n:,} events, {counts.wakeups:,} wake-ups, {counts.triggers:,} triggers: "
        f"{per_event:,.1f} us CPU/event, {n / best:,.0f} events/s "
        f"(best of {max(1, args.repeat)}, gc {args.gc}, engine {engine})"
    )
    for stage in STAGES:
        share = timings[stage] / split_total if split_total else 0.0
        print(f"  {stage:<22} {timings[stage] / n * 1e6:8.1f} us  {share:6.1%}")
    collected = pauses.summary()
    print(
        "  gc pauses (split run): "
        + ", ".join(
            f"{g}: {p['count']:.0f} x, {p['total_ms']:.0f} ms, longest {p['max_ms']:.1f} ms"
            for g, p in collected.items()
        )
    )
    codec = state_codec([value for record in counts.table.values() for value in record.values()])
    print(
        f"  state codec, per stored state ({codec['states']:,}): load {codec['load_us']} us "
        f"(the stored model's validation: {codec['validate_us']} us), "
        f"dump {codec['dump_us']} us"
    )
    results = {
        "label": args.label,
        "events": n,
        "customers": args.customers,
        "wakeups": counts.wakeups,
        "triggers": counts.triggers,
        "repeats": max(1, args.repeat),
        "us_per_event": round(per_event, 2),
        "events_per_s": round(n / best),
        "stages_us_per_event": {s: round(timings[s] / n * 1e6, 2) for s in STAGES},
        "gc": args.gc,
        "engine": engine,
        "gc_pauses": collected,
        "state_codec": codec,
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out}")
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(run, definitions, events)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
