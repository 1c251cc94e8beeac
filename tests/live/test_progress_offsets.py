"""How far a consumer group is behind on a transactional topic (the demo's and the
benchmark's end condition): commit markers and aborted records are not records."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from streams.kafka.offsets import Offsets
from streams.settings import Settings


def _commit(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1)})
    finally:
        consumer.close()


def test_trailing_markers_and_aborted_records_are_not_lag(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("progress")
    tp = TopicPartition(topic, 0)
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"progress-{uuid.uuid4().hex}"
    )
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(topic, key=b"c", value=b"data")  # offset 0
        producer.commit_transaction()  # marker at 1
        for _ in range(2):  # two more transactions that end with markers only
            producer.begin_transaction()
            producer.send(topic, key=b"a", value=b"aborted")  # offsets 2, 4
            producer.flush(timeout=10)
            producer.abort_transaction()  # markers at 3, 5
    finally:
        producer.close(timeout=10)

    group = f"progress-{uuid.uuid4().hex[:8]}"
    offsets = Offsets(Settings(bootstrap_servers=kafka_bootstrap))
    try:
        assert offsets.ends([topic]) == {tp: 6}
        _commit(kafka_bootstrap, group, tp, 0)
        assert offsets.lag(group, [topic], markers=True) == 1  # the one committed record
        assert offsets.lag(group, [topic]) == 6
        _commit(kafka_bootstrap, group, tp, 1)
        assert offsets.lag(group, [topic], markers=True) == 0  # five offsets, no records
        assert offsets.lag(group, [topic]) == 5
    finally:
        offsets.close()
