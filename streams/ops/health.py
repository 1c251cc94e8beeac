"""Health, readiness and metrics endpoints, framework-neutral.

``/healthz``: the process is alive and its event loop answers (always 200).
``/readyz``: 200 when every readiness check passes, else 503; the body is JSON
``{"ready": bool, "checks": {name: bool}}``. :class:`Readiness` holds named checks;
the worker's checks and the views that serve all three endpoints on its web port are
in :mod:`streams.worker.probes`. ``/metrics``: the worker's
:class:`~streams.ops.metrics.Metrics` in Prometheus' text format; when
``JOURNEYS_METRICS_PORT`` is set, :func:`serve_metrics` also serves it from
prometheus-client's own HTTP server on that port (handy when the web port is not exposed
to Prometheus).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from streams.ops.metrics import Metrics

__all__ = [
    "Check",
    "Readiness",
    "broker_reachable",
    "dir_size_bytes",
    "serve_metrics",
]

log = logging.getLogger(__name__)

Check = Callable[[], bool | Awaitable[bool]]
"""One readiness check: a plain or async callable returning whether it passes."""


class Readiness:
    """Named readiness checks; ready when every one passes."""

    def __init__(self, checks: Mapping[str, Check] | None = None) -> None:
        self._checks: dict[str, Check] = dict(checks or {})

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def evaluate(self) -> dict[str, bool]:
        """Run every check; a check that raises counts as failed."""
        results: dict[str, bool] = {}
        for name, check in self._checks.items():
            try:
                value = check()
                if inspect.isawaitable(value):
                    value = await value
                results[name] = bool(value)
            except Exception:
                log.warning("readiness check %s failed", name, exc_info=True)
                results[name] = False
        return results

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, body)`` for ``/readyz``."""
        checks = await self.evaluate()
        ready = bool(checks) and all(checks.values())
        return ready, {"ready": ready, "checks": checks}


async def broker_reachable(bootstrap: Sequence[str], connect_timeout: float = 1.0) -> bool:
    """Whether a TCP connection to one of the ``host:port`` bootstrap servers opens."""
    for server in bootstrap:
        host, _, port = server.rpartition(":")
        try:
            async with asyncio.timeout(connect_timeout):
                _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except (OSError, ValueError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


def dir_size_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (0 when it does not exist); blocking."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # RocksDB deletes files while we walk
                st = os.lstat(os.path.join(root, name))
                total += st.st_size
    return total


def serve_metrics(metrics: Metrics, host: str, port: int) -> Any:
    """Serve ``/metrics`` on ``host:port`` from a prometheus-client HTTP server thread.

    Returns the server: ``server.server_port`` is the bound port (``port=0`` picks a
    free one), ``server.shutdown()`` stops it.
    """
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    log.info("metrics server listening", extra={"host": host, "port": server.server_port})
    return server
