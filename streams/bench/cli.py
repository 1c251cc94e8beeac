"""``journeys bench``: the journey worker against two pass-through baselines, same input.

Systems, each on its own copy of the same topic content, on the same broker:
(a) ``journeys``: the journey worker, default journey, exactly once, event clock;
(b) ``faust``: a faust agent passing records through; (c) ``aiokafka``: a raw
consume-and-produce loop. Per system: (1) maximum throughput: ``--events`` records are
written first, then the system starts, and events/s = events / (time its group has
committed them all - time of its first output record); (2) latency at a fixed offered
load, the same for every system (half the journey worker's maximum): event-to-output
time from the moment the harness sends an event to the moment a ``read_committed``
reader gets the record it caused (a trigger for (a), the copy for (b) and (c)),
after a warm-up (``--warmup-seconds``, reported apart) over ``--latency-runs`` windows
of ``--latency-seconds`` each, every window reported, with what explains a latency:
the system's CPU over the phase, the machine's load average, how long after the last
event it caught up (a system behind the offered load queues: its latency grows window
after window), and the worker's garbage-collector pauses (``streams.bench.gcwatch``);
(3) the process's peak RSS. Writes a JSON file and prints a table. ``--profile`` runs
the worker under cProfile and splits its time per event into ours and faust's,
aiokafka's, RocksDB's and the event loop's (``streams.bench.breakdown``).

``--workers N`` runs N processes of each system in one consumer group: the throughput
is the group's, and each process's CPU over the throughput phase is reported, the
broker's beside it with ``--broker-pid`` (a broker on the same machine), as is the rate
over the middle of the drain (``streams.bench.drain``). ``--join-first`` writes the
throughput load only once all of them are in the stable group, so that neither the
start-up nor the rebalances of workers joining one by one are in the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import pstats
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from journeys import native
from streams.bench.breakdown import Breakdown, from_file
from streams.bench.run import journeys_system, measure, passthrough_system
from streams.bench.system import System
from streams.bench.table import ratios, table
from streams.settings import Settings
from streams.subcommand import Subparsers, add_command

SYSTEMS = ("journeys", "faust", "aiokafka")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=50_000, help="events per run (50000)")
    parser.add_argument(
        "--customers", type=int, default=10_000, help="population size (10000; try 100000, 1000000)"
    )
    parser.add_argument(
        "--store", choices=("memory", "rocksdb"), default="rocksdb", help="(rocksdb, the default)"
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=20.0, help="each latency window (20)"
    )
    parser.add_argument(
        "--latency-runs",
        type=int,
        default=3,
        help="latency windows back to back after the warm-up, each reported (3)",
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=10.0,
        help="latency phase's warm-up at the offered load, reported apart (10)",
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes of each system, one consumer group: throughput is the group's "
        "total, CPU reported per process (1)",
    )
    parser.add_argument(
        "--join-first",
        action="store_true",
        help="start the system and wait until all its processes are in the stable group, "
        "then write the throughput load (default: the load first, then the start: its "
        "throughput includes the start-up and, with several workers, their rebalances)",
    )
    parser.add_argument(
        "--broker-pid",
        type=int,
        default=None,
        metavar="PID",
        help="the broker's process on this machine: its CPU over the throughput phase is "
        "reported beside the workers' (deploy/kafka/kafka.sh status prints it)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--traffic",
        choices=("tidy", "realistic"),
        default="tidy",
        help="throughput load: tidy (flat, identified, in order; the default) or realistic "
        "(what web and app SDKs send: anonymous-first sign-ups, delayed app batches, retries)",
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset")
    parser.add_argument(
        "--offered-rate", type=float, default=None, help="events/s (default: half of (a)'s max)"
    )
    parser.add_argument("--output", type=Path, default=Path("bench-results/pipeline.json"))
    parser.add_argument(
        "--profile",
        type=Path,
        nargs="?",
        const=Path("bench-results/journeys-worker.prof"),
        default=None,
        metavar="FILE",
        help="run the journey worker under cProfile, write its stats to FILE "
        "(bench-results/journeys-worker.prof) and print its time per event: ours (decode, "
        "engine, state codec and write, sends) against faust's and aiokafka's",
    )


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "bench",
        main,
        help="benchmark the journey worker against faust and aiokafka pass-through",
        description=__doc__,
    )
    add_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """``journeys bench``, in steps: the systems asked for, each measured in turn on the
    same load (:func:`_measure_all`); the report (:func:`_report`), written as JSON and
    printed (:func:`_print`). Exit 0 when every system ran without error."""
    wanted, problem = _wanted(args)
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    settings = Settings()
    run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    started = time.monotonic()
    results, offered = _measure_all(args, settings, run_id, wanted)
    report = _report(args, settings, run_id, results, offered)
    report["seconds"] = round(time.monotonic() - started, 1)
    split = _profiled(args.profile, results.get("journeys"))
    if split is not None:
        report["profile"] = {"file": str(args.profile), **split.as_json()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    _print(report, args.profile, split)
    print(f"\nwritten: {args.output} in {timedelta(seconds=int(report['seconds']))}")
    return 0 if all(r["error"] is None for r in results.values()) else 1


def _wanted(args: argparse.Namespace) -> tuple[list[str], str | None]:
    """The systems to measure, in the report's order, or what is wrong with the options."""
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(wanted) - set(SYSTEMS)
    if unknown:
        return [], f"unknown systems {sorted(unknown)}"
    if args.workers < 1:
        return [], "--workers must be 1 or more"
    if args.profile is not None and args.workers > 1:
        return [], "--profile runs one worker: leave --workers out"
    return sorted(wanted, key=SYSTEMS.index), None


def _system(args: argparse.Namespace, settings: Settings, run_id: str, name: str) -> System:
    logs = args.output.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if name == "journeys":
        return journeys_system(
            settings,
            run_id,
            args.store,
            args.partitions,
            logs,
            profile=args.profile,
            workers=args.workers,
        )
    return passthrough_system(settings, run_id, name, args.partitions, logs, workers=args.workers)


def _measure_all(
    args: argparse.Namespace, settings: Settings, run_id: str, wanted: list[str]
) -> tuple[dict[str, Any], float | None]:
    """Each system measured in turn; the latency phase's offered load is ``--offered-rate``,
    else half the first system's maximum, the same for the systems after it. Returns the
    results by system and that load."""
    results: dict[str, Any] = {}
    offered = args.offered_rate
    for name in wanted:
        system = _system(args, settings, run_id, name)
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        result = asyncio.run(
            measure(
                system,
                events=args.events,
                customers=args.customers,
                seed=args.seed,
                offered_rate=offered,
                latency_seconds=args.latency_seconds,
                traffic=args.traffic,
                warmup_seconds=args.warmup_seconds,
                latency_runs=args.latency_runs,
                broker_pid=args.broker_pid,
                join_first=args.join_first,
            )
        )
        if offered is None and result.events_per_s:
            offered = round(result.events_per_s / 2, 1)
        results[name] = asdict(result)
        print(f"bench: {name}: {result.summary()}", file=sys.stderr, flush=True)
    return results, offered


def _report(
    args: argparse.Namespace,
    settings: Settings,
    run_id: str,
    results: dict[str, Any],
    offered: float | None,
) -> dict[str, Any]:
    return {
        "run": run_id,
        "parameters": {
            "events": args.events,
            "customers": args.customers,
            "store": args.store,
            "partitions": args.partitions,
            "workers": args.workers,
            "join_first": args.join_first,
            "latency_seconds": args.latency_seconds,
            "latency_runs": args.latency_runs,
            "warmup_seconds": args.warmup_seconds,
            "offered_rate": offered,
            "seed": args.seed,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "bootstrap_servers": settings.bootstrap_servers,
            # the engine the journey workers run: they decide as this process did (the
            # same tree and JOURNEYS_NATIVE), so a stale build shows here
            "engine": native.status().describe(),
        },
        "systems": results,
        "ratios": ratios(results),
    }


def _print(report: dict[str, Any], profile: Path | None, split: Breakdown | None) -> None:
    print(table(report))
    if split is not None:
        print(f"\njourney worker profile ({profile}), top 15 by own time:")
        pstats.Stats(str(profile)).sort_stats("tottime").print_stats(15)
        print(f"journey worker time per event (main thread):\n{split.table()}")


def _profiled(profile: Path | None, result: dict[str, Any] | None) -> Breakdown | None:
    """The worker's time per event by part, when it ran under the profiler."""
    if profile is None or result is None or not profile.exists():
        return None
    return from_file(profile, int(result["events"]) + int(result.get("latency_events") or 0))
