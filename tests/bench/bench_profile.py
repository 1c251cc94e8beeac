"""Where the journey worker's per-event time goes, in process (no broker, no faust).

Replays the worker's per-event path for the benchmark load: decode the raw touchpoint,
encode it for the keyed topic, decode and validate it again in the journey agent, load
the customer's state, run the engine, dump the state and encode it for the changelog,
encode each trigger twice (all-triggers and family topics), compute the next due time.
Prints microseconds per event by stage and, with ``--cprofile``, the top functions.

    python tests/bench/bench_profile.py [--events 20000] [--customers 10000] [--cprofile]
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
from journeys.state import load_state
from schemas import codec
from schemas.decode import decode_touchpoints
from schemas.events import TouchpointEvent
from streams.sim import generate_load

STAGES = (
    "decode (json + validate)",
    "encode keyed",
    "journey agent: loads + validate",
    "load state",
    "engine step",
    "dump state + changelog encode",
    "encode triggers x2",
    "next due",
)


def run(values: list[bytes], timings: dict[str, float] | None) -> int:
    definition = journeys.default_journey()
    table: dict[str, Any] = {}
    received = datetime(2026, 6, 1, tzinfo=UTC)
    clock = time.perf_counter
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
        record = table.get(event.key) or {}
        state = load_state(record[definition.name]) if definition.name in record else None
        t = lap(STAGES[3], t)
        new_state, outcome = journeys.step(definition, state, event)
        t = lap(STAGES[4], t)
        new = {**record, definition.name: new_state.model_dump(mode="json")}
        table[event.key] = new
        codec.dumps(new)
        t = lap(STAGES[5], t)
        for trigger in outcome.triggers:
            codec.dumps(trigger)
            codec.dumps(trigger)
            triggers += 1
        t = lap(STAGES[6], t)
        journeys.next_due(new_state)
        lap(STAGES[7], t)
    return triggers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    values = [m.value for m in generate_load(1, args.events, args.customers)]
    timings: dict[str, float] = defaultdict(float)
    began = time.perf_counter()
    triggers = run(values, timings)
    total = time.perf_counter() - began
    n = len(values)
    print(f"{n:,} events, {triggers:,} triggers, {total / n * 1e6:,.1f} us/event in process")
    for stage in STAGES:
        share = timings[stage] / total
        print(f"  {stage:<34} {timings[stage] / n * 1e6:8.1f} us  {share:6.1%}")
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(run, values, None)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
