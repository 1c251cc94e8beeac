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
from faust.types.transports import TPorTopicSet

from streams.worker.eos.guard import guard_of


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
    """faust's aiokafka consumer, with :class:`StableOffsetConsumerThread`, that commits
    nothing once a batch has failed."""

    async def commit(
        self, topics: TPorTopicSet | None = None, start_new_transaction: bool = True
    ) -> bool:
        """faust's commit, refused after a batch failed (``Guard.fail``; the worker is
        stopping). faust's ``take_events`` acks a batch's events when the agent leaves
        it, even by an exception: under at-least-once, where faust commits the acked
        offsets itself, its next commit (or the one at shutdown) would have moved past a
        batch whose state or output was never written. Under exactly-once the
        transaction manager refuses too (commit step 0)."""
        if guard_of(self.app).failed is not None:
            return False
        return bool(await super().commit(topics, start_new_transaction))

    # faust private: Consumer._new_consumer_thread is the only way to choose the thread
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return StableOffsetConsumerThread(self, loop=self.loop, beacon=self.beacon)
