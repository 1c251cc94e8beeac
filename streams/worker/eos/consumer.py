"""The consumer: a changelog partition's end asked to the broker (finding 6).

:class:`StableOffsetConsumer` is installed as the transport's ``Consumer`` by
:func:`streams.worker.eos.install`; table recovery reads each changelog partition up to
the end its thread reports.
"""

from __future__ import annotations

from collections.abc import Mapping

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP


class StableOffsetConsumerThread(AIOKafkaConsumerThread):
    """faust's consumer thread, with the last stable offsets asked to the broker.

    Under exactly-once, faust takes a changelog partition's end (where table recovery
    stops) from ``AIOKafkaConsumer.last_stable_offset(tp)``: the value seen in the last
    fetch response of that partition, ``None`` before the first fetch after an
    assignment. faust turns ``None`` into -1: recovery of a newly assigned partition
    read nothing (the new owner ran on empty or stale state), and a partition with a
    persisted offset crashed the worker with ``ConsistencyError`` (offset > -1).
    ``end_offsets`` sends a ListOffsets request with the consumer's isolation level,
    which under ``read_committed`` answers the last stable offset (finding 6).
    """

    # faust private: AIOKafkaConsumerThread._highwaters answers Consumer.highwaters
    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        offsets: Mapping[TP, int] = await consumer.end_offsets(partitions)
        return offsets


class StableOffsetConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, with :class:`StableOffsetConsumerThread`."""

    # faust private: Consumer._new_consumer_thread is the only way to choose the thread
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return StableOffsetConsumerThread(self, loop=self.loop, beacon=self.beacon)
