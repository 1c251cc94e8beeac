"""Benchmark of ``journeys replay`` and ``journeys diff`` against the real broker.

    python tests/bench/bench_replay.py                                  # quick
    python tests/bench/bench_replay.py --events 1000000 --customer-events 10000   # full

1. produces ``--events`` small canonical events to a fresh topic (``--partitions``), of
   which ``--customer-events`` belong to one customer, spread evenly through the topic;
2. times the replay of that customer (in-process, best of ``--repeat``, and once as a
   ``journeys replay`` process, interpreter start included); aim: < 2 s at full size;
3. produces ``--diff-events`` events to a second topic and times ``journeys diff`` of
   the default journey against a copy with a nudge moved (events/s).

Prints a table and writes JSON to ``bench-results/replay.json``. Needs a running broker
(``deploy/kafka/kafka.sh start``; ``--bootstrap`` or JOURNEYS_BOOTSTRAP_SERVERS).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from kafka import KafkaAdminClient, KafkaProducer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402

from streams.cli import main as journeys  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.sim.population import generate_load  # noqa: E402

TARGET = "target-customer"


def produce(bootstrap: str, topic: str, events: int, customer_events: int, seed: int) -> float:
    """``events`` events, ``customer_events`` of them TARGET's; returns events/s produced."""
    others = generate_load(seed, max(events - customer_events, 0), customers=max(events // 100, 1))
    mine = generate_load(seed + 1, customer_events, customers=1, id_prefix="t", tag="T")
    every = events // customer_events if customer_events else events + 1
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=512 * 1024
    )
    started = time.perf_counter()
    try:
        for i in range(events):
            if customer_events and i % every == every - 1:
                message = next(mine, None)
                if message is not None:
                    value = message.value.replace(b'"t0000000"', f'"{TARGET}"'.encode())
                    producer.send(topic, key=TARGET.encode(), value=value)
                    continue
            message = next(others)
            producer.send(topic, key=message.key, value=message.value)
        for message in mine:  # rounding left-overs
            value = message.value.replace(b'"t0000000"', f'"{TARGET}"'.encode())
            producer.send(topic, key=TARGET.encode(), value=value)
        producer.flush(timeout=600)
    finally:
        producer.close()
    return events / (time.perf_counter() - started)


def in_process(*argv: str) -> tuple[int, float, str, str]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = journeys(list(argv))
    return code, time.perf_counter() - started, out.getvalue(), err.getvalue()


def moved_nudge(tmp: Path) -> Path:
    """The default journey with its day-3 nudge moved to day 4 (text edit: PyYAML would
    read the definition's ``on:`` keys as booleans)."""
    text = (REPO / "journeys" / "definitions" / "lifecycle.yaml").read_text()
    head, rest = text.split("id: nudge_day_3", 1)
    assert "for: 3d" in rest.split("- id:", 1)[0]
    target = tmp / "lifecycle-nudge-day-4.yaml"
    target.write_text(head + "id: nudge_day_3" + rest.replace("for: 3d", "for: 4d", 1))
    return target


def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = args.bootstrap or Settings().bootstrap_servers
    run_id = uuid.uuid4().hex[:8]
    # Named like the worker's keyed topic, so that replay reads them as it reads that one.
    topic = f"bench-replay-{run_id}.touchpoints-keyed.v1"
    diff_topic = f"bench-diff-{run_id}.touchpoints-keyed.v1"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            [NewTopic(topic, args.partitions, 1), NewTopic(diff_topic, args.partitions, 1)]
        )
    finally:
        admin.close()
    common = ("--bootstrap", bootstrap, "--no-progress", "--advance-to", "2026-06-01T00:00:00Z")

    print(f"producing {args.events} events to {topic} ...", file=sys.stderr)
    produce_rate = produce(bootstrap, topic, args.events, args.customer_events, args.seed)
    replay_argv = ("replay", TARGET, "--topic", topic, "--json", *common)
    timings = []
    for _ in range(args.repeat):
        code, seconds, out, err = in_process(*replay_argv)
        assert code == 0, err
        timings.append(seconds)
    records = [json.loads(line) for line in out.splitlines()]
    steps, events_seen = len(records), sum(r["type"] == "event" for r in records)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *replay_argv],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    process_seconds = time.perf_counter() - started
    assert done.stdout.count(b"\n") == steps

    print(f"producing {args.diff_events} events to {diff_topic} ...", file=sys.stderr)
    produce(bootstrap, diff_topic, args.diff_events, 0, args.seed + 7)
    tmp = REPO / "bench-results"
    tmp.mkdir(exist_ok=True)
    new = moved_nudge(tmp)
    diff_argv = ("diff", "--definition", str(new), "--topic", diff_topic, "--json", *common)
    code, diff_seconds, out, err = in_process(*diff_argv)
    assert code in (0, 1), err
    report = json.loads(out)
    return {
        "benchmark": "replay",
        "host": platform.node(),
        "python": platform.python_version(),
        "topic_events": args.events,
        "partitions": args.partitions,
        "produce_events_per_s": round(produce_rate),
        "customer_events": args.customer_events,
        "replay_events_seen": events_seen,
        "replay_records": steps,
        "replay_seconds_best": round(min(timings), 3),
        "replay_seconds_all": [round(t, 3) for t in timings],
        "replay_process_seconds": round(process_seconds, 3),
        "replay_goal_seconds": 2.0,
        "diff_events": report["events"],
        "diff_customers": report["customers"],
        "diff_changed": report["changed"],
        "diff_rules_changed": report["rules"],
        "diff_engine_seconds": report["seconds"],
        "diff_engine_events_per_s": report["events_per_s"],
        "diff_total_seconds": round(diff_seconds, 3),
        "diff_total_events_per_s": round(report["events"] / diff_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench_replay.py", description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", help="default: JOURNEYS_BOOTSTRAP_SERVERS")
    parser.add_argument("--events", type=int, default=100_000, help="topic size (100000)")
    parser.add_argument("--customer-events", type=int, default=1_000, help="one customer's")
    parser.add_argument("--diff-events", type=int, default=100_000, help="diff input (100000)")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "replay.json")
    args = parser.parse_args()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
