"""Writing simulated messages: to Kafka (aiokafka, batched or paced) or to JSON lines."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from streams.kafka import retry
from streams.sim.population import (
    MALFORMED_PREFIX,
    Message,
)


@dataclass
class WriteStats:
    """What was written: counts by kind (event type or ``malformed:<reason>``)."""

    messages: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, message: Message) -> None:
        self.messages += 1
        self.by_kind[message.kind] += 1

    @property
    def malformed(self) -> int:
        return sum(n for k, n in self.by_kind.items() if k.startswith(MALFORMED_PREFIX))


async def produce(
    messages: Iterable[Message],
    topic: str,
    config: dict[str, Any],
    rate: float | None = None,
    on_sent: Callable[[Message], None] | None = None,
) -> WriteStats:
    """Send every message to ``topic``, as fast as possible or at ``rate`` messages/s."""
    from aiokafka import AIOKafkaProducer

    stats = WriteStats()
    producer = AIOKafkaProducer(**config)
    await retry.start(producer)  # a fresh broker may not answer at once
    began = time.monotonic()
    try:
        pending: list[asyncio.Future[Any]] = []
        for message in messages:
            pending.append(await producer.send(topic, message.value, key=message.key))
            stats.add(message)
            if on_sent is not None:
                on_sent(message)
            if len(pending) >= 5_000:
                await asyncio.gather(*pending)
                pending.clear()
            if rate and stats.messages % 50 == 0:
                ahead = began + stats.messages / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            elif stats.messages % 1_000 == 0:
                await asyncio.sleep(0)  # let other tasks (a display, a consumer) run
        await producer.flush()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    stats.seconds = time.monotonic() - began
    return stats


def write_lines(messages: Iterable[Message], out: IO[bytes]) -> WriteStats:
    """One message value per line (JSON lines; malformed values stay on one line)."""
    stats = WriteStats()
    began = time.monotonic()
    for message in messages:
        out.write(message.value.replace(b"\n", b" ") + b"\n")
        stats.add(message)
    stats.seconds = time.monotonic() - began
    return stats
