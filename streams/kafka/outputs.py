"""Following a worker's output topics as a downstream consumer would: ``read_committed``,
from the start or the end, a callback per record, until told to stop or idle.

Used by the demo (its display and the storefront's trigger list) and the benchmark
(output counts, timestamps and event-to-output latency).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.kafka import retry
from streams.settings import Settings

__all__ = ["Collected", "read_outputs"]


@dataclass
class Collected:
    """What a reader of an output topic saw."""

    count: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    latencies: list[float] = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)


async def read_outputs(
    settings: Settings,
    topics: list[str],
    stop: asyncio.Event,
    on_value: Callable[[bytes, float], None] | None = None,
    from_end: bool = False,
    idle_s: float | None = None,
) -> Collected:
    """Read ``topics`` (read_committed) until ``stop`` is set (or nothing came for
    ``idle_s`` seconds); counts, timestamps and a callback per record."""
    from aiokafka import AIOKafkaConsumer

    out = Collected()
    consumer = AIOKafkaConsumer(
        *topics,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="latest" if from_end else "earliest",
        group_id=None,
        **settings.kafka_python_config(),
    )
    await retry.start(consumer)
    try:
        if from_end:
            await consumer.seek_to_end()
            for tp in consumer.assignment():
                await consumer.position(tp)  # resolve now, before anything is produced
        out.last_seen = time.monotonic()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=5_000)
            now = time.monotonic()
            if idle_s is not None and not batches and now - out.last_seen > idle_s:
                break
            for records in batches.values():
                for record in records:
                    out.count += 1
                    out.last_seen = now
                    ts = record.timestamp
                    out.first_ms = ts if out.first_ms is None else min(out.first_ms, ts)
                    out.last_ms = ts if out.last_ms is None else max(out.last_ms, ts)
                    if on_value is not None:
                        on_value(record.value, now)
    finally:
        await _stop_quietly(consumer)
    return out


async def _stop_quietly(consumer: Any) -> None:
    """Stop a consumer; aiokafka's fetcher can leak a CancelledError of its own task."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
