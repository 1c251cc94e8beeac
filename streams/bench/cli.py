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

from streams.bench.breakdown import Breakdown, from_file
from streams.bench.run import System, journeys_system, measure, passthrough_system
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
    settings = Settings()
    run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(wanted) - set(SYSTEMS)
    if unknown:
        print(f"bench: unknown systems {sorted(unknown)}", file=sys.stderr)
        return 2
    logs = args.output.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {}
    offered = args.offered_rate
    for name in sorted(wanted, key=SYSTEMS.index):
        system: System
        if name == "journeys":
            system = journeys_system(
                settings, run_id, args.store, args.partitions, logs, profile=args.profile
            )
        else:
            system = passthrough_system(settings, run_id, name, args.partitions, logs)
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
            )
        )
        if offered is None and result.events_per_s:
            offered = round(result.events_per_s / 2, 1)
        results[name] = asdict(result)
        print(f"bench: {name}: {result.summary()}", file=sys.stderr, flush=True)
    report: dict[str, Any] = {
        "run": run_id,
        "parameters": {
            "events": args.events,
            "customers": args.customers,
            "store": args.store,
            "partitions": args.partitions,
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
        },
        "systems": results,
        "ratios": ratios(results),
        "seconds": round(time.monotonic() - started, 1),
    }
    split = _profiled(args.profile, results.get("journeys"))
    if split is not None:
        report["profile"] = {"file": str(args.profile), **split.as_json()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    import orjson

    args.output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(table(report))
    if split is not None:
        print(f"\njourney worker profile ({args.profile}), top 15 by own time:")
        pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(15)
        print(f"journey worker time per event (main thread):\n{split.table()}")
    print(f"\nwritten: {args.output} in {timedelta(seconds=int(report['seconds']))}")
    return 0 if all(r["error"] is None for r in results.values()) else 1


def _profiled(profile: Path | None, result: dict[str, Any] | None) -> Breakdown | None:
    """The worker's time per event by part, when it ran under the profiler."""
    if profile is None or result is None or not profile.exists():
        return None
    return from_file(profile, int(result["events"]) + int(result.get("latency_events") or 0))


def ratios(results: dict[str, Any]) -> dict[str, float | None]:
    a = results.get("journeys", {}).get("events_per_s")
    out: dict[str, float | None] = {}
    for label, other in (("a/b", "faust"), ("a/c", "aiokafka")):
        b = results.get(other, {}).get("events_per_s")
        out[label] = round(a / b, 4) if a and b else None
    return out


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value:,}{unit}"


def table(report: dict[str, Any]) -> str:
    p = report["parameters"]
    head = (
        f"events={p['events']:,} customers={p['customers']:,} store={p['store']} "
        f"partitions={p['partitions']} offered={_fmt(p['offered_rate'])}/s "
        f"cpus={report['machine']['cpus']}"
    )
    cols = ("system", "events/s", "p50 ms", "p95 ms", "p99 ms", "outputs", "peak RSS MiB")
    rows = [cols]
    for name, r in report["systems"].items():
        mib = r["peak_rss_bytes"] / 2**20 if r["peak_rss_bytes"] else None
        rows.append(
            (
                name,
                _fmt(r["events_per_s"]),
                _fmt(r["latency_ms"].get("p50")),
                _fmt(r["latency_ms"].get("p95")),
                _fmt(r["latency_ms"].get("p99")),
                _fmt(r["outputs"]),
                _fmt(mib),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(cols))]
    lines = [head, ""]
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    r = report["ratios"]
    ab, ac = (f"{x:.3g}" if x is not None else "-" for x in (r.get("a/b"), r.get("a/c")))
    lines.append(f"\nthroughput ratio a/b (journeys/faust) = {ab}, a/c (journeys/aiokafka) = {ac}")
    lines.extend(_windows(report))
    if "profile" in report:
        lines.append(
            "\n(the journey worker ran under cProfile, several times slower: its events/s, "
            "latency and the ratios are not those of an unprofiled run)"
        )
    return "\n".join(lines)


def _windows(report: dict[str, Any]) -> list[str]:
    """Latency per window after the warm-up, and the warm-up's own, per system."""
    p = report["parameters"]
    lines = []
    for name, r in report["systems"].items():
        runs = r.get("latency_runs_ms") or []
        if not runs:
            continue
        p99s = " / ".join(_fmt(w.get("p99")) for w in runs)
        warm = r.get("warmup_latency_ms") or {}
        busy = r.get("latency_cpu_busy")
        loads = " -> ".join(f"{x:.1f}" for x in r.get("load_average") or [])
        lines.append(
            f"{name}: p99 ms per {_fmt(p.get('latency_seconds'))} s window after a "
            f"{_fmt(p.get('warmup_seconds'))} s warm-up: {p99s} (warm-up p99 "
            f"{_fmt(warm.get('p99'))}, max {_fmt(warm.get('max'))}); its CPU "
            f"{'-' if busy is None else f'{busy:.0%}'} of a core, load average {loads or '-'}, "
            f"caught up {_fmt(r.get('latency_behind_s'))} s after the last event sent"
        )
        gcs = r.get("gc_pauses") or []
        if gcs:
            lines.append(
                f"{name}: collector pauses >= 20 ms (warm-up, windows): "
                + " / ".join(f"{g['count']} x, longest {_fmt(g['max_ms'])} ms" for g in gcs)
            )
    return ["", *lines] if lines else []
