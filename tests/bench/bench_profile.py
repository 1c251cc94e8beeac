"""Where the journey worker's per-event time goes, in process (no broker, no faust).

Replays the worker's per-event path for the benchmark load: decode the raw touchpoint,
encode it for the keyed topic, decode and validate it again in the journey agent, read
the customer's states (the agent's state cache; a miss validates the table value), run
the engine through ``journeys.driver`` (as the agent does), dump the changed states and
encode the table value for the changelog, encode each trigger once
(``journeys.wire.trigger_json``: the all-triggers and family topics get the same bytes),
compute the next due time. Prints microseconds of CPU per event by stage (best of
``--repeat`` runs: the machine is shared) and, with ``--cprofile``, the top functions.

    python tests/bench/bench_profile.py [--events 20000] [--customers 10000] [--repeat 3]
        [--cache-size 50000] [--cprofile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import journeys
from journeys import driver
from journeys.state import load_state
from journeys.wire import trigger_json
from schemas import codec
from schemas.decode import decode_touchpoints
from schemas.events import TouchpointEvent
from streams.sim.population import generate_load
from streams.worker.journey_agent import DEFAULT_CACHE_SIZE, StateCache

STAGES = (
    "decode (json + validate)",
    "encode keyed",
    "journey agent: loads + validate",
    "read states (cache, else validate)",
    "engine (driver.on_event)",
    "dump changed + changelog encode",
    "encode triggers x2",
    "next due",
)


def run(values: list[bytes], timings: dict[str, float] | None, cache_size: int) -> int:
    definitions = [journeys.default_journey()]
    table: dict[str, Any] = {}
    cache = StateCache(cache_size)
    received = datetime(2026, 6, 1, tzinfo=UTC)
    clock = time.process_time
    triggers = 0

    def lap(stage: str, started: float) -> float:
        now = clock()
        if timings is not None:
            timings[stage] += now - started
        return now

    for raw in values:
        t = clock()
        decoded = decode_touchpoints(raw, received_at=received)
        t = lap(STAGES[0], t)
        if not decoded.events:
            continue
        keyed = codec.dumps(decoded.events[0])
        t = lap(STAGES[1], t)
        event = TouchpointEvent.model_validate(codec.loads(keyed))
        t = lap(STAGES[2], t)
        key = event.key
        entry = cache.get(key)
        if entry is None:
            record = table.get(key) or {}
            states = {d.name: load_state(record[d.name]) for d in definitions if d.name in record}
            cache.put(key, record, states)
        else:
            record, states = entry
        t = lap(STAGES[3], t)
        done = driver.on_event(definitions, states, event)
        t = lap(STAGES[4], t)
        if done.changed:
            record = dict(record)
            for name in done.changed:
                record[name] = done.states[name].model_dump(mode="json")
            table[key] = record
            codec.dumps(record)
        cache.put(key, record, done.states)
        t = lap(STAGES[5], t)
        for _, outcome in done.outcomes:
            for trigger in outcome.triggers:
                trigger_json(trigger)  # once: the same bytes go to both topics
                triggers += 1
        t = lap(STAGES[6], t)
        driver.due(done.states)
        lap(STAGES[7], t)
    return triggers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the fastest is shown")
    parser.add_argument("--cache-size", type=int, default=DEFAULT_CACHE_SIZE, help="0: no cache")
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    values = [m.value for m in generate_load(1, args.events, args.customers)]
    best: tuple[float, dict[str, float], int] | None = None
    for _ in range(max(1, args.repeat)):
        timings: dict[str, float] = defaultdict(float)
        began = time.process_time()
        triggers = run(values, timings, args.cache_size)
        total = time.process_time() - began
        if best is None or total < best[0]:
            best = (total, timings, triggers)
    assert best is not None
    total, timings, triggers = best
    n = len(values)
    print(f"{n:,} events, {triggers:,} triggers, {total / n * 1e6:,.1f} us CPU/event in process")
    for stage in STAGES:
        share = timings[stage] / total
        print(f"  {stage:<36} {timings[stage] / n * 1e6:8.1f} us  {share:6.1%}")
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(run, values, None, args.cache_size)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
