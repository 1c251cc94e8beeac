"""Benchmark of one ``journeys collect`` process on the real broker.

    python tests/collector/bench_collector.py                      # 8 clients, 20 s
    python tests/collector/bench_collector.py --clients 16 --seconds 60 --gzip

1. starts one collector (a subprocess, as deployed) with a fresh topic prefix;
2. ``--clients`` concurrent clients, each on its own keep-alive connection, post
   ``--batch`` Segment messages per request to ``/v1/batch`` (SDK-like track, page and
   identify calls of about 450 bytes, pre-built so the clients cost little CPU), for
   ``--warmup`` then ``--seconds`` seconds; only the measured window counts;
3. reports the events/s accepted (answered 200, i.e. acknowledged by the broker), the
   p50/p99 request latency, the collector's CPU use and peak memory, and checks that the touchpoints
   topic holds at least what was acknowledged;
4. compares with the worker's engine figure (``bench-results/engine.json``, written by
   ``tests/bench/bench_engine.py``) to say how many workers one collector can feed.

Aim: >= 10,000 events/s. Prints a table and writes JSON to ``bench-results/collector.json``.
Needs a running broker (``deploy/kafka/kafka.sh start``; ``--bootstrap``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402

from streams.bench.outputs import peak_rss_bytes, percentile  # noqa: E402
from tests.collector.harness import CollectorProcess  # noqa: E402

KEY = "bench-write-key"
AIM = 10_000
EVENTS = ("Signed Up", "Order Completed", "Product Viewed", "key_action", "Feature Used")


def message(rng: random.Random, n: int, at: datetime) -> dict[str, Any]:
    """An SDK-like message (~450 bytes)."""
    common: dict[str, Any] = {
        "messageId": f"bench-{n}-{uuid.UUID(int=rng.getrandbits(128))}",
        "userId": f"user-{rng.randrange(200_000)}",
        "anonymousId": f"anon-{rng.randrange(10**9)}",
        "timestamp": (at - timedelta(seconds=rng.randrange(600))).isoformat(),
        "context": {
            "library": {"name": "analytics-python", "version": "2.4.0"},
            "ip": "203.0.113.7",
            "locale": "en-US",
            "timezone": "Europe/Berlin",
        },
        "integrations": {},
    }
    draw = rng.random()
    if draw < 0.7:
        props = {"plan": "pro", "amount": 59.9, "currency": "EUR", "order_id": f"o-{n}"}
        return {**common, "type": "track", "event": rng.choice(EVENTS), "properties": props}
    if draw < 0.85:
        props = {"path": "/pricing", "referrer": "https://example.com/", "title": "Pricing"}
        return {**common, "type": "page", "name": "Pricing", "properties": props}
    traits = {"email": f"user{n}@example.com", "plan": "pro", "seats": 5}
    return {**common, "type": "identify", "traits": traits}


def bodies(count: int, batch: int, use_gzip: bool, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    at = datetime.now(UTC)
    out = []
    for b in range(count):
        doc = {
            "batch": [message(rng, b * batch + i, at) for i in range(batch)],
            "sentAt": at.isoformat(),
        }
        data = orjson.dumps(doc)
        out.append(gzip.compress(data) if use_gzip else data)
    return out


async def load(
    url: str, payloads: list[bytes], clients: int, warmup: float, seconds: float, use_gzip: bool
) -> dict[str, Any]:
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode(),
        "Content-Type": "application/json",
    }
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    began = time.monotonic()
    start, end = began + warmup, began + warmup + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client(number: int, session: aiohttp.ClientSession) -> None:
        i = number
        while (now := time.monotonic()) < end:
            async with session.post(url, data=payloads[i % len(payloads)], headers=headers) as r:
                await r.read()
                done = time.monotonic()
            i += clients
            if now >= start:  # sent within the window
                latencies.append(done - now)
                statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 503:
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))

    connector = aiohttp.TCPConnector(limit=clients)  # one keep-alive connection each
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(n, session) for n in range(clients)))
    return {"latencies": latencies, "statuses": statuses, "window_s": seconds}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return int(sum(ends.values()))
    finally:
        consumer.close()


def worker_events_per_s() -> float | None:
    path = REPO / "bench-results" / "engine.json"
    try:
        return float(json.loads(path.read_text())["events_per_s"])
    except (OSError, ValueError, KeyError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("JOURNEYS_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--gzip", action="store_true", help="gzip request bodies")
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "collector.json")
    args = parser.parse_args()

    payloads = bodies(200, args.batch, args.gzip)
    raw_size = sum(len(p) for p in payloads) / len(payloads)
    collector = CollectorProcess(
        args.bootstrap,
        Path(tempfile.mkdtemp(prefix="journeys-bench-collector-")),
        keys=(KEY,),
        prefix=f"bench-{uuid.uuid4().hex[:8]}-collector",
        partitions=args.partitions,
        env={"JOURNEYS_LOG_LEVEL": "warning"},
    )
    collector.start()
    try:
        assert collector.proc is not None
        cpu_before, wall_before = cpu_seconds(collector.proc.pid), time.monotonic()
        result = asyncio.run(
            load(
                collector.url + "/v1/batch",
                payloads,
                args.clients,
                args.warmup,
                args.seconds,
                args.gzip,
            )
        )
        cpu = (cpu_seconds(collector.proc.pid) - cpu_before) / (time.monotonic() - wall_before)
        peak_rss = peak_rss_bytes(collector.proc.pid)
        in_topic = stored(args.bootstrap, collector.topics["touchpoints"])
    finally:
        exit_code = collector.stop()
    ok = result["statuses"].get(200, 0)
    events_per_s = ok * args.batch / args.seconds
    latencies = [s * 1000 for s in result["latencies"]]
    worker = worker_events_per_s()
    report = {
        "parameters": {
            "clients": args.clients,
            "batch": args.batch,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "partitions": args.partitions,
            "gzip": args.gzip,
            "request_bytes": round(raw_size),
        },
        "events_per_s": round(events_per_s),
        "requests_per_s": round(ok / args.seconds, 1),
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": max(latencies, default=None),
        },
        "statuses": {str(k): v for k, v in sorted(result["statuses"].items())},
        "collector_cpu": round(cpu, 2),
        "collector_peak_rss_bytes": peak_rss,
        "stored_messages": in_topic,
        "acknowledged_stored": in_topic >= ok * args.batch,
        "collector_exit_code": exit_code,
        "worker_engine_events_per_s": worker,
        "workers_per_collector": round(events_per_s / worker, 1) if worker else None,
        "aim_events_per_s": AIM,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (broker on the same machine)",
        "python": platform.python_version(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.output}")
    return 0 if report["acknowledged_stored"] and exit_code == 0 else 1


def table(report: dict[str, Any]) -> str:
    p = report["parameters"]
    lat = report["latency_ms"]
    lines = [
        f"one collector, {p['clients']} clients x keep-alive, {p['batch']} events/request "
        f"({p['request_bytes']:,} bytes{', gzip' if p['gzip'] else ''}), {p['seconds']:.0f} s",
        f"  accepted      {report['events_per_s']:>10,} events/s  "
        f"({report['requests_per_s']} requests/s; aim {report['aim_events_per_s']:,})",
        f"  latency       p50 {lat['p50'] or 0:,.1f} ms   p99 {lat['p99'] or 0:,.1f} ms   "
        f"max {lat['max'] or 0:,.1f} ms",
        f"  statuses      {report['statuses']}",
        f"  collector CPU {report['collector_cpu']:.2f} cores, peak RSS "
        f"{(report['collector_peak_rss_bytes'] or 0) / 2**20:,.0f} MiB",
        f"  in the topic  {report['stored_messages']:,} messages "
        f"({'>= acknowledged' if report['acknowledged_stored'] else 'FEWER than acknowledged'})",
    ]
    if report["workers_per_collector"]:
        lines.append(
            f"  one collector feeds ~{report['workers_per_collector']} workers "
            f"(engine: {report['worker_engine_events_per_s']:,.0f} events/s per worker)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
