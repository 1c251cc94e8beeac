"""Kafka plumbing for the benchmark: topics, offsets, reading outputs, process memory."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.kafka import retry
from streams.settings import Settings


class Offsets:
    """End offsets of topics and committed offsets of a group, summed over partitions."""

    def __init__(self, settings: Settings) -> None:
        self.config = settings.kafka_python_config()
        self.admin = KafkaAdminClient(**self.config)
        self.consumer = KafkaConsumer(**self.config, enable_auto_commit=False)
        self.reader = KafkaConsumer(
            **self.config, enable_auto_commit=False, isolation_level="read_committed"
        )

    def partitions(self, topic: str) -> list[TopicPartition]:
        deadline = time.monotonic() + 30
        while True:
            found = self.consumer.partitions_for_topic(topic)
            if found or time.monotonic() > deadline:
                return [TopicPartition(topic, p) for p in sorted(found or ())]
            time.sleep(0.2)

    def ends(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        tps = [tp for t in topics for tp in self.partitions(t)]
        return dict(retry.retry(lambda: self.consumer.end_offsets(tps)))

    def committed(self, group: str) -> dict[TopicPartition, int]:
        """Committed offsets; nothing while the group coordinator is still being set up
        (a fresh broker creates and loads the offsets topic on the first request: it
        answers ``CoordinatorLoadInProgressError``, ``NotCoordinatorError``... until then;
        the caller asks again)."""
        try:
            found = self.admin.list_group_offsets(group).get(group, {})
        except Exception as exc:
            if not retry.retriable(exc):
                raise
            return {}
        return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}

    def lag(self, group: str, topics: Iterable[str], markers: bool = False) -> int:
        """Records still to process. ``markers``: the topic is written in transactions,
        whose commit markers (any number of them) and aborted records take offsets but
        are no records: count only what a ``read_committed`` reader would get."""
        committed = self.committed(group)
        total = 0
        for tp, end in self.ends(topics).items():
            start = committed.get(tp, 0)
            if end <= start:
                continue
            total += self._records_between(tp, start, end) if markers else end - start
        return total

    def _records_between(self, tp: TopicPartition, start: int, end: int) -> int:
        """Committed records in [start, end); ``end - start`` when that can't be told in
        a short, bounded read (never less than the truth)."""
        reader = self.reader
        reader.assign([tp])
        reader.seek(tp, start)
        count = 0
        deadline = time.monotonic() + 2.0
        while reader.position(tp) < end and time.monotonic() < deadline:
            for records in reader.poll(timeout_ms=200).values():
                count += sum(1 for record in records if record.offset < end)
        if reader.position(tp) < end:
            return end - start
        return count

    def close(self) -> None:
        self.admin.close()
        self.consumer.close()
        self.reader.close()


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


def peak_rss_bytes(pid: int) -> int | None:
    """The process's peak resident set size (VmHWM), or None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
