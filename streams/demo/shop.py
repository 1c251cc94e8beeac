"""Runs the storefront: broker, topics, a worker, a collector and the page, until Ctrl-C.

``journeys demo --storefront [--storefront-port 8090]`` prints the address to open. The
worker (live clock, memory store) and the collector are subprocesses under a fresh topic
prefix, so each run starts from nothing; the collector's write key is a local demo key
and its only allowed origin is the page's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

from streams.demo.storefront import DIST, Storefront
from streams.ops.processes import free_port, stop_process

WRITE_KEY = "storefront-demo-key"


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return True
        time.sleep(0.3)
    return False


def main(args: argparse.Namespace, bootstrap: str, log_dir: os.PathLike[str]) -> int:
    from streams.kafka.admin import ensure_topics
    from streams.settings import Settings

    if not (DIST / "analytics-next.js").exists():
        print("demo: no SDK bundle; run ./run demo --storefront (it builds it)", file=sys.stderr)
        return 2
    prefix = "shop-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    settings = Settings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, app_id=prefix, partitions=2
    )
    ensure_topics(settings)
    page_port, collector_port, worker_port = (
        args.storefront_port, free_port(), free_port()
    )  # fmt: skip
    origin = f"http://127.0.0.1:{page_port}"
    base = {**os.environ, "JOURNEYS_BOOTSTRAP_SERVERS": bootstrap}
    base |= {"JOURNEYS_TOPIC_PREFIX": prefix, "JOURNEYS_PARTITIONS": "2"}
    worker_env = {**base, "JOURNEYS_APP_ID": prefix, "JOURNEYS_STORE": "memory://"}
    worker_env |= {"JOURNEYS_WEB_PORT": str(worker_port), "JOURNEYS_STANDBY_REPLICAS": "0"}
    collector_env = {**base, "JOURNEYS_COLLECTOR_PORT": str(collector_port)}
    collector_env |= {"JOURNEYS_COLLECTOR_WRITE_KEYS": WRITE_KEY}
    collector_env |= {"JOURNEYS_COLLECTOR_ALLOWED_ORIGINS": origin}
    logs = {
        name: open(os.path.join(log_dir, f"{prefix}-{name}.log"), "wb")  # noqa: SIM115  closed in finally
        for name in ("worker", "collector")
    }
    procs = [
        subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=worker_env,
                         stdout=logs["worker"], stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, "-m", "streams.collector"], env=collector_env,
                         stdout=logs["collector"], stderr=subprocess.STDOUT),
    ]  # fmt: skip
    try:
        ok = _wait_ready(f"http://127.0.0.1:{collector_port}/readyz", procs[1])
        ok = ok and _wait_ready(f"http://127.0.0.1:{worker_port}/readyz", procs[0])
        if not ok:
            print(f"demo: the worker or the collector did not start; logs in {log_dir}")
            return 1
        print(f"storefront: open {origin}/  (Ctrl-C stops it; logs in {log_dir})", flush=True)
        store = Storefront(settings, f"127.0.0.1:{collector_port}", WRITE_KEY)
        asyncio.run(_serve(store, page_port))
        return 0
    finally:
        for proc in procs:
            stop_process(proc)
        for log in logs.values():
            log.close()


async def _serve(store: Storefront, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await store.serve("127.0.0.1", port, stop)
