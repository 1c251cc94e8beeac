"""The benchmark's report read by a person: the table of systems, the throughput ratios,
each system's CPU per process and the broker's, latency per window and collector pauses.
Pure: it formats the report that :mod:`streams.bench.cli` writes as JSON."""

from __future__ import annotations

from typing import Any


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
        f"partitions={p['partitions']} workers={p.get('workers', 1)} "
        f"offered={_fmt(p['offered_rate'])}/s "
        f"cpus={report['machine']['cpus']}"
    )
    if "engine" in report["machine"]:
        head += f" engine={report['machine']['engine']}"
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
    lines.extend(_cpu(report))
    lines.extend(_windows(report))
    if "profile" in report:
        lines.append(
            "\n(the journey worker ran under cProfile, several times slower: its events/s, "
            "latency and the ratios are not those of an unprofiled run)"
        )
    return "\n".join(lines)


def _cpu(report: dict[str, Any]) -> list[str]:
    """Per system: its rate over the middle of the drain (:mod:`streams.bench.drain`),
    the cores each of its processes kept busy over the throughput phase, the broker's
    beside them, and the broker's share of the CPU they all used."""
    lines = []
    for name, r in report["systems"].items():
        busy = [b for b in r.get("worker_cpu_busy") or [] if b is not None]
        broker = r.get("broker_cpu_busy")
        steady = r.get("steady_events_per_s")
        if not busy and broker is None and steady is None:  # an older report
            continue
        line = f"{name}: {_fmt(steady)} events/s from 90% to 10% of the backlog"
        if r.get("joined_s") is not None:
            line += f" (written once its group was stable, {_fmt(r['joined_s'])} s after start)"
        if busy:
            line += f"; cores busy: {' + '.join(f'{b:.2f}' for b in busy)}"
        starved = [w for w in r.get("worker_cpu_starved") or [] if w is not None]
        if starved:
            line += f" (waited for a CPU: {' + '.join(f'{w:.0%}' for w in starved)})"
        if r.get("worker_cpu_us_per_event") is not None:
            line += f"; {_fmt(r['worker_cpu_us_per_event'])} us of their CPU per event"
        if broker is not None:
            share = broker / (broker + sum(busy)) if broker + sum(busy) > 0 else 0.0
            line += f", broker {broker:.2f} ({share:.0%} of their CPU)"
        lines.append(line)
    return ["", *lines] if lines else []


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
