"""The local Kafka broker works for both client libraries the project uses.

kafka-python (admin, tools) and aiokafka (faust's client): produce/consume,
topic creation with configs, and transactions read back with
``read_committed``.  Every wait is bounded; every assertion is exact.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata as AioOffsetAndMetadata
from aiokafka.structs import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

DEADLINE_S = 30.0

NewTopicFactory = Callable[..., str]  # the `new_topic` fixture from tests/conftest.py

Record = tuple[int, int, bytes | None, bytes | None]  # (partition, offset, key, value)


def _read_all_sync(
    bootstrap: str, topic: str, partitions: int = 1, isolation_level: str = "read_uncommitted"
) -> tuple[list[Record], dict[int, int]]:
    """Every record of ``topic`` up to its end offsets, plus those end offsets."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
        client_id=f"test-read-{isolation_level}",
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[Record] = []
        deadline = time.monotonic() + DEADLINE_S
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"timed out reading {topic}: got {records}"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend((r.partition, r.offset, r.key, r.value) for r in batch)
        return sorted(records), {tp.partition: ends[tp] for tp in tps}
    finally:
        consumer.close()


async def _read_all_async(
    bootstrap: str, topic: str, isolation_level: str = "read_uncommitted"
) -> tuple[list[Record], int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
        client_id=f"test-aio-read-{isolation_level}",
    )
    await consumer.start()
    try:
        tp = AioTopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[Record] = []
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=500)
            for batch in batches.values():
                records.extend((r.partition, r.offset, r.key, r.value) for r in batch)
        return records, end
    finally:
        await consumer.stop()


def _run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout=DEADLINE_S * 2)

    return asyncio.run(bounded())


# --- kafka-python ---------------------------------------------------------------


def test_kafka_python_produce_consume_round_trip(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = new_topic("live-kp-roundtrip")
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", client_id="test-kp-producer"
    )
    try:
        metas = [
            producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()).get(
                timeout=DEADLINE_S
            )
            for i in range(3)
        ]
    finally:
        producer.close(timeout=10)
    assert [(m.topic, m.partition, m.offset) for m in metas] == [
        (topic, 0, 0),
        (topic, 0, 1),
        (topic, 0, 2),
    ]

    records, ends = _read_all_sync(kafka_bootstrap, topic)
    assert ends == {0: 3}
    assert records == [(0, 0, b"k0", b"v0"), (0, 1, b"k1", b"v1"), (0, 2, b"k2", b"v2")]


def test_create_topic_with_partitions_and_config(
    kafka_admin: Any, new_topic: NewTopicFactory
) -> None:
    topic = new_topic(
        "live-compact",
        partitions=3,
        configs={"cleanup.policy": "compact", "min.compaction.lag.ms": "1000"},
    )

    [desc] = kafka_admin.describe_topics([topic])
    assert desc["name"] == topic
    assert desc["error_code"] == 0
    assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1, 2]
    assert {p["leader_id"] for p in desc["partitions"]} == {1}
    assert all(p["replica_nodes"] == [1] for p in desc["partitions"])

    described = kafka_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    configs = described["topic"][topic]  # default filter: only non-default values
    assert {name: c["value"] for name, c in configs.items()} == {
        "cleanup.policy": "compact",
        "min.compaction.lag.ms": "1000",
    }
    assert configs["cleanup.policy"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"


def test_kafka_python_transactions_read_committed(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = new_topic("live-kp-txn")
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id=f"test-kp-txn-{uuid.uuid4().hex[:12]}",
        client_id="test-kp-txn",
    )
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(topic, key=b"a", value=b"aborted-1")
        producer.send(topic, key=b"a", value=b"aborted-2")
        producer.flush(timeout=DEADLINE_S)  # written to the log, then aborted
        producer.abort_transaction()

        producer.begin_transaction()
        producer.send(topic, key=b"c", value=b"committed-1")
        producer.send(topic, key=b"c", value=b"committed-2")
        producer.commit_transaction()
    finally:
        producer.close(timeout=10)

    # log: aborted-1@0 aborted-2@1 ABORT@2 committed-1@3 committed-2@4 COMMIT@5
    committed, ends = _read_all_sync(kafka_bootstrap, topic, isolation_level="read_committed")
    assert ends == {0: 6}
    assert committed == [(0, 3, b"c", b"committed-1"), (0, 4, b"c", b"committed-2")]

    everything, _ = _read_all_sync(kafka_bootstrap, topic, isolation_level="read_uncommitted")
    assert everything == [
        (0, 0, b"a", b"aborted-1"),
        (0, 1, b"a", b"aborted-2"),
        (0, 3, b"c", b"committed-1"),
        (0, 4, b"c", b"committed-2"),
    ]


# --- aiokafka (what faust uses) ---------------------------------------------------


def test_aiokafka_produce_consume_round_trip(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = new_topic("live-aio-roundtrip")

    async def scenario() -> tuple[list[tuple[int, int]], list[Record], int]:
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap, acks="all", client_id="test-aio-producer"
        )
        await producer.start()
        try:
            metas = [
                await producer.send_and_wait(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
                for i in range(3)
            ]
        finally:
            await producer.stop()
        records, end = await _read_all_async(kafka_bootstrap, topic)
        return [(m.partition, m.offset) for m in metas], records, end

    metas, records, end = _run(scenario())
    assert metas == [(0, 0), (0, 1), (0, 2)]
    assert end == 3
    assert records == [(0, 0, b"k0", b"v0"), (0, 1, b"k1", b"v1"), (0, 2, b"k2", b"v2")]


def test_aiokafka_transactions_with_offsets_read_committed(
    kafka_bootstrap: str, kafka_admin: Any, new_topic: NewTopicFactory
) -> None:
    """Consume-transform-produce shape (faust exactly_once): output records and
    the input group's offsets commit or abort together."""
    source = new_topic("live-aio-txn-in")
    sink = new_topic("live-aio-txn-out")
    group = f"test-aio-txn-group-{uuid.uuid4().hex[:12]}"
    source_tp = AioTopicPartition(source, 0)

    async def scenario() -> tuple[list[Record], int, list[Record]]:
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap,
            transactional_id=f"test-aio-txn-{uuid.uuid4().hex[:12]}",
            client_id="test-aio-txn",
        )
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(sink, key=b"c", value=b"committed-1")
                await producer.send_and_wait(sink, key=b"c", value=b"committed-2")
                await producer.send_offsets_to_transaction(
                    {source_tp: AioOffsetAndMetadata(2, "")}, group
                )

            await producer.begin_transaction()
            await producer.send_and_wait(sink, key=b"a", value=b"aborted-1")
            await producer.send_and_wait(sink, key=b"a", value=b"aborted-2")
            await producer.send_offsets_to_transaction(
                {source_tp: AioOffsetAndMetadata(5, "")}, group
            )
            await producer.abort_transaction()
        finally:
            await producer.stop()
        committed, end = await _read_all_async(
            kafka_bootstrap, sink, isolation_level="read_committed"
        )
        everything, _ = await _read_all_async(
            kafka_bootstrap, sink, isolation_level="read_uncommitted"
        )
        return committed, end, everything

    committed, end, everything = _run(scenario())
    # log: committed-1@0 committed-2@1 COMMIT@2 aborted-1@3 aborted-2@4 ABORT@5
    assert end == 6
    assert committed == [(0, 0, b"c", b"committed-1"), (0, 1, b"c", b"committed-2")]
    assert everything == [
        (0, 0, b"c", b"committed-1"),
        (0, 1, b"c", b"committed-2"),
        (0, 3, b"a", b"aborted-1"),
        (0, 4, b"a", b"aborted-2"),
    ]

    offsets = kafka_admin.list_group_offsets({group: [TopicPartition(source, 0)]})[group]
    assert {tp: om.offset for tp, om in offsets.items()} == {TopicPartition(source, 0): 2}
