"""Writing simulated messages: to Kafka (aiokafka, batched or paced) or to JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from streams.sim import (
    DEFAULT_START,
    MALFORMED_PREFIX,
    Message,
    generate,
    generate_load,
)
from streams.sim_codec import FORMATS


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


def producer_config(settings: Any) -> dict[str, Any]:
    """aiokafka producer arguments from ``streams.settings.Settings`` (security included)."""
    config: dict[str, Any] = dict(settings.kafka_python_config())
    config.update(linger_ms=20, max_batch_size=512 * 1024, acks=1, request_timeout_ms=30_000)
    return config


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
    await producer.start()
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--customers", type=int, default=1_000, help="population size")
    parser.add_argument("--days", type=float, default=90.0, help="simulated period (days)")
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=DEFAULT_START,
        help="period start, ISO 8601 with offset (default 2026-01-05T00:00Z)",
    )
    parser.add_argument("--malformed-share", type=float, default=0.01)
    parser.add_argument("--anonymous-share", type=float, default=0.3)
    parser.add_argument("--format", choices=FORMATS, default="canonical")
    parser.add_argument(
        "--load",
        type=int,
        metavar="EVENTS",
        default=None,
        help="flat benchmark load: EVENTS events over --customers customers",
    )
    parser.add_argument("--id-prefix", default="c", help="customer id prefix")
    parser.add_argument(
        "--output",
        default="kafka",
        help="'kafka' (the touchpoints topic), a file path, or '-' for stdout",
    )
    parser.add_argument("--topic", help="topic (default: touchpoints under JOURNEYS_TOPIC_PREFIX)")
    parser.add_argument("--bootstrap-servers", help="Kafka (default: JOURNEYS_BOOTSTRAP_SERVERS)")
    parser.add_argument("--rate", type=float, default=None, help="messages/s (default: max)")


def messages_from(args: argparse.Namespace) -> Iterator[Message]:
    if args.load is not None:
        return generate_load(
            args.seed,
            args.load,
            args.customers,
            args.days,
            args.start,
            args.format,
            args.id_prefix,
        )
    return generate(
        args.seed,
        args.customers,
        args.days,
        args.start,
        args.malformed_share,
        args.format,
        anonymous_share=args.anonymous_share,
        id_prefix=args.id_prefix,
    )


def main(args: argparse.Namespace) -> int:
    messages = messages_from(args)
    if args.output == "kafka":
        from streams.settings import Settings
        from streams.topics import by_role, topic_specs

        overrides = {"bootstrap_servers": args.bootstrap_servers} if args.bootstrap_servers else {}
        settings = Settings(**overrides)
        topic = args.topic or by_role(topic_specs(settings.topic_prefix))["touchpoints"].name
        stats = asyncio.run(produce(messages, topic, producer_config(settings), args.rate))
        where = f"{topic} on {settings.bootstrap_servers}"
    elif args.output == "-":
        stats = write_lines(messages, sys.stdout.buffer)
        where = "stdout"
    else:
        with Path(args.output).open("wb") as out:
            stats = write_lines(messages, out)
        where = args.output
    rate = stats.messages / stats.seconds if stats.seconds else 0.0
    print(
        f"simulate: {stats.messages} messages ({stats.malformed} malformed) to {where} "
        f"in {stats.seconds:.1f} s ({rate:,.0f}/s)",
        file=sys.stderr,
    )
    return 0
