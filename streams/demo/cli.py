"""``journeys demo``: a simulated population streamed through a real worker, shown live.

Starts the local broker when ``JOURNEYS_BOOTSTRAP_SERVERS`` is unset, creates topics under
a fresh prefix, starts ``journeys worker`` (event clock, memory store) as a subprocess,
writes a simulated population to the touchpoints topic, shows progress every second and
ends with a summary: the stage funnel, triggers per kind, dead letters per reason, where
the metrics were, and the default journey's measured lift (``journeys report`` over the
same events: goal rates of treated customers against the control group, with 95%
intervals; the simulated population gives treated customers a known ``--effect``). It
stops the worker and ends by itself (``--max-seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from streams.demo.lift import lift_lines, measured, messages
from streams.demo.view import DemoState, dead_letters_match, summary
from streams.ops.processes import free_port, stop_process
from streams.replay.options import WorkerRules
from streams.settings import Settings
from streams.sim.cli import add_effect_arguments
from streams.sim.population import Message
from streams.sim.traffic import add_traffic_arguments
from streams.subcommand import Subparsers, add_command
from streams.worker.launch import WorkerLaunch, overridden

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "deploy" / "kafka" / "kafka.sh"
DEMO_EFFECT = "activation+0.10"  # treated customers: 10 points more likely to activate
_STAGE = re.compile(r'^journeys_stage_customers\{[^}]*stage="([^"]+)"[^}]*\}\s+(\S+)', re.M)


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "demo",
        main,
        help="stream a simulated population through a worker and show what happens",
        description=__doc__,
    )
    parser.add_argument("--customers", type=int, default=1_000, help="population (1000)")
    parser.add_argument("--days", type=float, default=90.0, help="simulated period (90)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("canonical", "segment"), default="canonical")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="hard stop (300)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--stop-broker", action="store_true", help="stop a broker we started")
    parser.add_argument(
        "--storefront",
        action="store_true",
        help="instead: a shop page to click in a browser, its analytics.js calls through a "
        "collector and a worker, the customer's triggers shown as they arrive",
    )
    parser.add_argument("--storefront-port", type=int, default=8090, help="its port (8090)")
    add_effect_arguments(parser, default=DEMO_EFFECT)
    add_traffic_arguments(parser, default="realistic")  # what real clients send
    parser.set_defaults(anonymous_share=0.3)


def _kafka_sh(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_SH), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def ensure_broker() -> tuple[str, bool]:
    """(bootstrap servers, whether this demo started the local broker)."""
    configured = os.environ.get("JOURNEYS_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        return configured, False
    running = _kafka_sh("status").returncode == 0
    if not running:
        print("demo: starting the local broker (deploy/kafka/kafka.sh start) ...", flush=True)
        started = _kafka_sh("start")
        if started.returncode != 0:
            raise RuntimeError(f"kafka.sh start failed:\n{started.stdout}{started.stderr}")
    return _kafka_sh("bootstrap").stdout.strip() or "127.0.0.1:9092", not running


def _storefront(args: argparse.Namespace) -> int:
    from streams.demo.shop import main as shop

    try:
        bootstrap, _started = ensure_broker()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"demo: no broker: {exc}", file=sys.stderr)
        return 1
    log_dir = REPO_ROOT / "var" / "demo"
    log_dir.mkdir(parents=True, exist_ok=True)
    return shop(args, bootstrap, log_dir)


def _scrape_stages(url: str) -> dict[str, int]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return {}
    stages: dict[str, int] = {}
    for stage, value in _STAGE.findall(text):
        stages[stage] = stages.get(stage, 0) + int(float(value))
    return stages


def main(args: argparse.Namespace) -> int:
    """``journeys demo``, in steps: the population; a broker; the demo's own topics and a
    worker on them, the population sent and the worker watched until done
    (:func:`_stream`); what happened and the measured lift; the broker left running or
    stopped. Exit 0 when every message was sent, triggers came out and the dead letters
    are the ones expected."""
    if args.storefront:
        return _storefront(args)
    try:
        population = messages(args)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    try:
        bootstrap, started_broker = ensure_broker()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"demo: no broker: {exc}", file=sys.stderr)
        return 1
    state, settings, metrics_url = _stream(args, bootstrap, population)
    elapsed = time.monotonic() - state.started
    for line in summary(state, args.customers, metrics_url, elapsed):
        print(line)
    for line in lift_lines(measured(args, population, WorkerRules.of(settings)), args.effect):
        print(line)
    _leave_broker(stop=started_broker and args.stop_broker)
    ok = state.produced_done and dead_letters_match(state) and sum(state.triggers.values()) > 0
    return 0 if ok else 1


def _stream(
    args: argparse.Namespace, bootstrap: str, population: list[Message]
) -> tuple[DemoState, Settings, str]:
    """Topics of the demo's own (``demo-<time>.*``), a worker on them, the population
    sent and the worker watched (:func:`streams.demo.session.run`), the worker stopped:
    what was seen, the demo's settings and the worker's metrics address."""
    from streams.demo.session import run
    from streams.kafka.admin import ensure_topics

    prefix = "demo-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    port = free_port()
    settings = Settings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, app_id=prefix, partitions=args.partitions
    )
    ensure_topics(settings)
    log_path = REPO_ROOT / "var" / "demo" / f"{prefix}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    print(f"demo: topics {prefix}.*, worker log {log_path}, metrics {metrics_url}", flush=True)
    with log_path.open("wb") as log:
        worker = demo_worker(settings, port).start(log)
        try:
            state = asyncio.run(
                run(args, settings, worker, metrics_url, _scrape_stages, population)
            )
        finally:
            stop_process(worker)
    return state, settings, metrics_url


def demo_worker(settings: Settings, port: int) -> WorkerLaunch:
    """The demo's worker: its own topics and group (``settings``), state in memory, event
    time, metrics on ``port``."""
    worker = overridden(
        settings,
        store="memory://",
        clock="event",
        standby_replicas=0,
        web_port=port,
        log_level="warning",
    )
    return WorkerLaunch(worker)


def _leave_broker(*, stop: bool) -> None:
    """Stop the local broker (one this demo started, with ``--stop-broker``), or say it runs."""
    if stop:
        _kafka_sh("stop", timeout=60)
        print("the local broker was stopped (--stop-broker).")
    else:
        print("the broker keeps running: stop it with deploy/kafka/kafka.sh stop")
