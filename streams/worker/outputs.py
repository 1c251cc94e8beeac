"""Where the worker's agents write: one :class:`Sink` per output topic, by registry role.

In the worker each sink is a :class:`BatchedSink`: encoded bytes kept in the app's
:class:`~streams.worker.eos.produce.BatchedOutput` and sent, one record batch per
partition, at the end of the agent batch, in the transaction of the event they were
produced for (faust's ``Topic.send`` would add a pending message, a future, sensor calls
and a callback per record). A trigger is encoded once (``journeys.wire.trigger_json``:
``schemas.codec.dumps``'s bytes without pydantic's serializer) and the same bytes go to
the all-triggers topic and to its family's.

Tests build the worker with recording sinks in their place (the ``sinks`` argument of
:func:`streams.worker.app.create_app`) and read what each topic would have received.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias

from pydantic import BaseModel

from journeys.wire import trigger_json
from schemas import codec
from schemas.deadletters import Rejection, dead_letter
from schemas.triggers import Trigger
from streams.kafka.keys import partition_for
from streams.worker.eos.produce import BatchedOutput

log = logging.getLogger(__name__)


Key: TypeAlias = str | bytes | None  # a str key goes out as UTF-8
Value: TypeAlias = BaseModel | bytes | None  # a model goes out as its JSON; None: a tombstone


class Sink(Protocol):
    """An output topic: faust's ``Topic.send`` signature, as far as the agents use it."""

    async def send(
        self, *, key: Key = None, value: Value = None, partition: int | None = None
    ) -> None: ...


class RecordingSink:
    """A sink that keeps what it was sent, as (key, value) pairs, for tests (and the
    partition each was sent to, when one was given, in ``partitions``)."""

    def __init__(self) -> None:
        self.messages: list[tuple[Key, Value]] = []
        self.partitions: list[int | None] = []

    async def send(
        self, *, key: Key = None, value: Value = None, partition: int | None = None
    ) -> None:
        self.messages.append((key, value))
        self.partitions.append(partition)


class BatchedSink:
    """A topic whose records wait in the app's :class:`BatchedOutput` until the end of
    the agent batch (:meth:`Outputs.flush`): str keys as UTF-8, values as JSON bytes,
    partitioned like Kafka's default partitioner unless given."""

    def __init__(self, batched: BatchedOutput, topic: str, partitions: int) -> None:
        self.batched = batched
        self.topic = topic
        self.partitions = partitions

    async def send(
        self, *, key: Key = None, value: Value = None, partition: int | None = None
    ) -> None:
        data = value if isinstance(value, bytes) or value is None else codec.dumps(value)
        raw_key = key.encode() if isinstance(key, str) else key
        if partition is None:
            partition = partition_for(raw_key or b"", self.partitions)
        self.batched.add(self.topic, partition, raw_key, data)


@dataclass(frozen=True)
class Origin:
    """Where a rejected input came from (a dead letter says so)."""

    topic: str
    partition: int
    offset: int
    key: bytes | str | None


@dataclass(frozen=True)
class Outputs:
    """Every topic the agents write, by what it is for."""

    keyed: Sink  # canonical touchpoints keyed by customer (decode -> journey agent)
    wakeups: Sink  # internal messages of the journey agent (timers, merges, fan-out)
    triggers: Sink  # every trigger
    families: Mapping[str, Sink]  # one trigger topic per family
    deadletters: Sink
    audit: Sink  # erasure confirmations
    batched: BatchedOutput | None = None  # where the sinks' records wait, if they do

    async def flush(self) -> None:
        """Send what the sinks kept back (the end of an agent batch or a timer tick)."""
        if self.batched is not None:
            await self.batched.flush()

    async def send_triggers(self, triggers: Sequence[Trigger]) -> None:
        """Each trigger to the all-triggers topic and to its family's, keyed by customer."""
        for trigger in triggers:
            if trigger.holdout:  # the engine lists holdouts as suppressed; never deliver one
                continue
            data = trigger_json(trigger)
            await self.triggers.send(key=trigger.customer_id, value=data)
            family = self.families.get(trigger.family)
            if family is not None:
                await family.send(key=trigger.customer_id, value=data)
            else:
                log.warning("trigger kind %s has no family topic", trigger.kind)

    async def send_dead_letter(
        self, origin: Origin, raw: bytes, rejection: Rejection, seen_at: datetime
    ) -> None:
        """One dead letter for ``raw``, keyed like the input it came from."""
        letter = dead_letter(
            raw,
            rejection,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            key=origin.key,
            seen_at=seen_at,
        )
        await self.deadletters.send(key=origin.key, value=letter)
