"""Runs the storefront: topics, a worker, a collector and the page, until Ctrl-C.

``journeys demo --storefront [--storefront-port 8090]`` prints the address to open. The
page's port is taken first, so a port in use is said at once, before anything starts
(``--storefront-port 0``: any free port, the one printed). The worker (live clock,
memory store) and the collector are subprocesses under a fresh topic prefix, so each run
starts from nothing; the collector's write key is a local demo key and its allowed
origins are the page's (as ``127.0.0.1`` and as ``localhost``).

Ctrl-C (SIGINT, to the whole foreground group as a terminal sends it, or to this process
alone) or SIGTERM stops it, at any moment, start-up included: the page stops, then the
worker and the collector get SIGTERM and are waited for (a second Ctrl-C kills them);
exit code 0. If the worker or the collector exits by itself, the page stops too and the
exit code is 1, naming its log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from streams.demo.storefront import DIST, Storefront, listen
from streams.ops.processes import free_port, stop_process
from streams.worker.launch import WorkerLaunch, overridden, process_env

WRITE_KEY = "storefront-demo-key"
HOST = "127.0.0.1"
EXIT_INTERRUPTED = 0  # stopped as asked: not a failure


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return True
        time.sleep(0.3)
    return False


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM stops the demo as Ctrl-C does (children stopped), not the default death."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(args: argparse.Namespace, bootstrap: str, log_dir: os.PathLike[str]) -> int:
    if not (DIST / "analytics-next.js").exists():
        print("demo: no SDK bundle; run ./run demo --storefront (it builds it)", file=sys.stderr)
        return 2
    try:
        listener = listen(HOST, args.storefront_port)
    except OSError as exc:
        print(
            f"demo: cannot serve the page on {HOST}:{args.storefront_port} ({exc.strerror}); "
            "choose another port with --storefront-port",
            file=sys.stderr,
        )
        return 2
    with listener, _sigterm_as_ctrl_c():
        try:
            return _run(bootstrap, Path(log_dir), listener)
        except KeyboardInterrupt:
            print("storefront: stopped", flush=True)
            return EXIT_INTERRUPTED


def _run(bootstrap: str, log_dir: Path, listener: socket.socket) -> int:
    from streams.kafka.admin import ensure_topics
    from streams.settings import Settings

    prefix = "shop-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    settings = Settings(
        bootstrap_servers=bootstrap, topic_prefix=prefix, app_id=prefix, partitions=2
    )
    ensure_topics(settings)
    page_port: int = listener.getsockname()[1]
    origins = [f"http://{HOST}:{page_port}", f"http://localhost:{page_port}"]
    collector_port, worker_port = free_port(), free_port()
    worker = overridden(settings, store="memory://", web_port=worker_port, standby_replicas=0)
    collector = Settings(
        bootstrap_servers=bootstrap,
        topic_prefix=prefix,
        partitions=2,
        collector_port=collector_port,
        collector_write_keys=[WRITE_KEY],
        collector_allowed_origins=origins,
    )
    commands = {
        "worker": (WorkerLaunch(worker).argv, process_env(worker)),
        "collector": ([sys.executable, "-m", "streams.collector"], process_env(collector)),
    }
    print(f"storefront: topics {prefix}.*, logs {log_dir}/{prefix}-*.log", flush=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with contextlib.ExitStack() as logs:
        try:
            for name, (command, env) in commands.items():
                log = logs.enter_context((log_dir / f"{prefix}-{name}.log").open("wb"))
                procs[name] = subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            for name, port in (("collector", collector_port), ("worker", worker_port)):
                if not _wait_ready(f"http://{HOST}:{port}/readyz", procs[name]):
                    print(f"demo: the {name} did not start; see {log_dir}/{prefix}-{name}.log")
                    return 1
            store = Storefront(settings, f"{HOST}:{collector_port}", WRITE_KEY)
            return asyncio.run(_serve(store, listener, procs, f"{log_dir}/{prefix}"))
        finally:
            _stop_all(procs)


async def _serve(
    store: Storefront, listener: socket.socket, procs: dict[str, subprocess.Popen[bytes]], logs: str
) -> int:
    """Serve the page until a signal, or until the worker or the collector exits."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    page_port = listener.getsockname()[1]
    serving = asyncio.create_task(store.serve(listener, stop))
    # the socket listens already: a browser that comes now waits in its backlog
    print(f"storefront: open http://{HOST}:{page_port}/  (Ctrl-C stops it)", flush=True)
    code = EXIT_INTERRUPTED
    while not stop.is_set() and not serving.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        for name, proc in procs.items():
            if not stop.is_set() and proc.poll() is not None:
                print(f"demo: the {name} exited with {proc.returncode}; see {logs}-{name}.log")
                code = 1
                stop.set()
    await serving  # raises what the page server failed with
    print("storefront: stopping", flush=True)
    return code


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each and wait (graceful); a second Ctrl-C kills what is left."""
    try:
        for proc in procs.values():
            stop_process(proc)
    except KeyboardInterrupt:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        raise
