"""Where table recovery stops under exactly-once (``eos.consumer.after_last_committed``):
the offset after a partition's last committed record, read back from its last stable
offset past transaction markers and aborted records."""

from __future__ import annotations

import asyncio
import uuid

import aiokafka
from faust.types import TP
from kafka.admin import KafkaAdminClient, NewTopic

from streams.worker.eos.consumer import after_last_committed


async def _write(bootstrap: str, topic: str) -> None:
    producer = aiokafka.AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"ends-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()

    async def transaction(partition: int, n: int, *, commit: bool) -> None:
        await producer.begin_transaction()
        for i in range(n):
            await producer.send_and_wait(topic, b"v%d" % i, key=b"k", partition=partition)
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()

    try:
        # 0: 3 committed, 2 aborted, 1 committed -> data at 0-2 and 7 (markers at 3, 6, 8)
        await transaction(0, 3, commit=True)
        await transaction(0, 2, commit=False)
        await transaction(0, 1, commit=True)
        # 1: nothing; 2: only aborted records
        await transaction(2, 2, commit=False)
        # 3: one committed record, then an aborted tail longer than the first window
        await transaction(3, 1, commit=True)
        await transaction(3, 100, commit=False)
    finally:
        await producer.stop()


async def _ends(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    reader = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await reader.start()
    try:
        tps = [TP(topic, p) for p in range(4)]
        ends = await reader.end_offsets(tps)
        starts = await reader.beginning_offsets(tps)
        found = await after_last_committed(reader, ends, starts)
        return {tp.partition: (ends[tp], found[tp]) for tp in tps}
    finally:
        await reader.stop()


def test_recovery_stops_after_the_last_committed_record(kafka_bootstrap: str) -> None:
    topic = f"ends-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 4, 1)])
    finally:
        admin.close()
    asyncio.run(_write(kafka_bootstrap, topic))
    assert asyncio.run(_ends(kafka_bootstrap, topic)) == {
        0: (9, 8),  # (last stable offset, after the last committed record)
        1: (0, 0),
        2: (3, 0),
        3: (103, 1),
    }
