"""The collector's one Kafka producer: idempotent, connected in the background.

The collector starts serving at once and connects meanwhile (until then every tracking
request is answered 503 with ``Retry-After``, and ``/readyz`` says not ready), so a
broker that is down at start, or a collector started before it, costs retries, not a
crash loop. Connecting is: one preflight connection that names the cause of a failure
(:mod:`streams.kafka.preflight`: wrong credentials or certificates are fatal, refused
connections are retried), the two topics it writes created when missing (from the
registry, with the worker's partitions: whoever starts first creates them alike), then
the producer.

The producer is idempotent (``enable_idempotence``, ``acks=all``): the broker drops what
a retry inside the producer would duplicate, and it never gives up on a retriable error,
so a message it has taken is eventually stored. Its arguments are the project's
(``streams.kafka.config.producer_config``: servers and security from the settings) with
the worker's ``JOURNEYS_PRODUCER_LINGER_MS`` and ``JOURNEYS_PRODUCER_MAX_BATCH_SIZE``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.topics import by_role, topic_specs
from streams.collector.routing import Outgoing
from streams.kafka.admin import ensure_topics
from streams.kafka.config import producer_config
from streams.kafka.preflight import KafkaUnavailable, attempt, describe, servers_text
from streams.settings import Settings

__all__ = ["Producer", "RecordSink", "collector_producer_config"]

log = logging.getLogger(__name__)

_PROBE_TIMEOUT_S = 3.0
_TOPICS_TIMEOUT_S = 15.0
_MAX_PAUSE_S = 2.0
ROLES = ("touchpoints", "deadletters")


class RecordSink(Protocol):
    """What the tracking API needs of a producer (tests use a recording one)."""

    @property
    def connected(self) -> bool: ...

    async def enqueue(self, records: Sequence[Outgoing], into: list[asyncio.Future[Any]]) -> None:
        """Hand ``records`` over; append each one's acknowledgement future to ``into``."""
        ...


def collector_producer_config(settings: Settings) -> dict[str, Any]:
    """aiokafka producer arguments: the project's, made idempotent."""
    config = producer_config(settings)
    config.update(
        client_id=f"{settings.app_id}-collector",
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.producer_linger_ms,
        max_batch_size=settings.producer_max_batch_size,
    )
    return config


class Producer:
    """Connects, then sends records to the touchpoints and dead-letter topics."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        specs = by_role(topic_specs(settings.topic_prefix, settings.partitions))
        self._specs = [specs[role] for role in ROLES]
        self.topics = {role: specs[role].name for role in ROLES}
        self.config = collector_producer_config(settings)
        self._producer: AIOKafkaProducer | None = None

    @property
    def connected(self) -> bool:
        return self._producer is not None

    @property
    def servers(self) -> str:
        return servers_text(self.config)

    async def connect(self) -> None:
        """Return once connected; raise :class:`KafkaUnavailable` for a cause that
        retrying cannot fix (credentials, certificates, protocol)."""
        pause, last = 0.25, None
        while True:
            error = await self._try_connect()
            if error is None:
                if last is not None:
                    log.info("reached Kafka at %s", self.servers)
                return
            if error.permanent:
                raise error
            if error.cause != last:  # one line per change of state, not per attempt
                log.warning("%s; retrying until it answers", error)
                last = error.cause
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE_S)

    async def _try_connect(self) -> KafkaUnavailable | None:
        error = await attempt(self.config, timeout_s=_PROBE_TIMEOUT_S)
        if error is not None:
            return error
        producer = AIOKafkaProducer(**self.config)
        try:
            await asyncio.to_thread(ensure_topics, self._settings, self._specs, _TOPICS_TIMEOUT_S)
            await producer.start()
        except KafkaUnavailable as exc:
            await producer.stop()
            return exc
        except (KafkaError, OSError) as exc:
            await producer.stop()
            return KafkaUnavailable(self.servers, describe(exc), permanent=False)
        self._producer = producer
        log.info("producing to %s", ", ".join(self.topics.values()))
        return None

    async def enqueue(self, records: Sequence[Outgoing], into: list[asyncio.Future[Any]]) -> None:
        """Hand every record to the producer, appending the future of its acknowledgement
        to ``into`` as it goes (so a caller that times out knows what is still pending)."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable(self.servers, "not connected yet", permanent=False)
        for record in records:
            topic = self.topics[record.role]
            into.append(await producer.send(topic, value=record.value, key=record.key))

    async def stop(self) -> None:
        """Send what the producer holds, wait for the acknowledgements, disconnect."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()  # flushes first
