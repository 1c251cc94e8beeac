"""The collector in process: the real aiohttp application over a recording sink.

:class:`RecordingSink` stands where the Kafka producer stands (the ``RecordSink``
seam of ``streams.collector.app``): it keeps every record and acknowledges it at once,
fails it, or holds it until the test says so. :func:`serving` serves a collector built
from the real settings and factory on a local port for aiohttp's test client; nothing of
the built application is overwritten.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaTimeoutError

from streams.collector.app import Collector, create_app
from streams.collector.routing import Outgoing
from streams.settings import Settings

KEY = "test-write-key"
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "collector_write_keys": KEY,
        "topic_prefix": "unit",
        "partitions": 2,
        "collector_produce_timeout_seconds": 2.0,
    }
    return Settings(**{**base, **overrides})


def basic(key: str = KEY) -> dict[str, str]:
    """The Authorization header the SDKs send: the key as user name, empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def gzipped(doc: Any) -> bytes:
    return gzip.compress(orjson.dumps(doc))


def track(message_id: str, user: str | None = "u-1", **fields: Any) -> dict[str, Any]:
    """A Segment track message as the SDKs build it."""
    message: dict[str, Any] = {
        "type": "track",
        "event": "Signed Up",
        "messageId": message_id,
        "timestamp": "2026-11-02T11:59:00.000Z",
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
        "properties": {"plan": "pro"},
    }
    if user is not None:
        message["userId"] = user
    return {**message, **fields}


class RecordingSink:
    """Records what the collector sends; ``mode``: ``ack``, ``fail`` or ``hold``."""

    def __init__(self, *, connected: bool = True, mode: str = "ack") -> None:
        self.connected = connected
        self.mode = mode
        self.records: list[Outgoing] = []
        self.held: list[asyncio.Future[Any]] = []
        self._grew = asyncio.Event()

    async def enqueue(self, records: Sequence[Outgoing], into: list[asyncio.Future[Any]]) -> None:
        loop = asyncio.get_running_loop()
        for record in records:
            future: asyncio.Future[Any] = loop.create_future()
            if self.mode == "ack":
                future.set_result(None)
            elif self.mode == "fail":
                future.set_exception(KafkaTimeoutError())
            else:
                self.held.append(future)
                self._grew.set()
            self.records.append(record)
            into.append(future)

    async def holding(self, count: int) -> None:
        """Return once ``count`` records are held."""
        while len(self.held) < count:
            self._grew.clear()
            await self._grew.wait()

    def release(self) -> None:
        for future in self.held:
            if not future.done():
                future.set_result(None)

    def values(self, role: str = "touchpoints") -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in self.records if r.role == role]


@asynccontextmanager
async def serving(
    sink: RecordingSink | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    **overrides: Any,
) -> AsyncIterator[tuple[TestClient[Any, Any], Collector, RecordingSink]]:
    """A collector on a local port with ``sink`` (a fresh acknowledging one by default)
    and a ``monotonic`` clock (request timing, timeouts, the refusal log's intervals)."""
    sink = sink if sink is not None else RecordingSink()
    collector = Collector(settings(**overrides), sink, wall=lambda: T0, monotonic=monotonic)
    server = TestServer(create_app(collector))
    await server.start_server(auto_decompress=False)  # as ``journeys collect`` serves
    async with TestClient(server) as client:
        yield client, collector, sink
