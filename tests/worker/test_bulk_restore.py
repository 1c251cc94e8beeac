"""Bulk restore (``eos.restore``) on the real broker: a changelog read in large fetches
into RocksDB write batches, committed records only, the offset reached in each batch."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import aiokafka
import pytest
import rocksdict
from faust.types import TP
from kafka.admin import KafkaAdminClient, NewTopic

from streams.worker.eos.consumer import _stop
from streams.worker.eos.restore import RestoreProgress, restore

pytestmark = pytest.mark.live

OFFSET_KEY = b"__faust\x00offset__"


class Target:
    """What the restore writes to, as faust's RocksDB store: one DB per partition."""

    offset_key = OFFSET_KEY

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dbs: dict[int, Any] = {}
        self.times: list[tuple[int, float]] = []  # (partition, seconds) noted, in order

    def note_current_at(self, partition: int, seconds: float) -> None:
        self.times.append((partition, seconds))

    def _db_for_partition(self, partition: int) -> Any:
        if partition not in self.dbs:
            path = str(self.root / f"p{partition}")
            self.dbs[partition] = rocksdict.Rdict(path, options=rocksdict.Options(raw_mode=True))
        return self.dbs[partition]

    def items(self, partition: int) -> dict[bytes, bytes]:
        return dict(self._db_for_partition(partition).items())


async def _write(bootstrap: str, topic: str) -> None:
    """Partition 0: k1, k2 committed (0, 1; marker 2), k1 aborted (3; marker 4), a
    tombstone of k2 and k3 committed (5, 6; marker 7). Partition 1: nothing."""
    producer = aiokafka.AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"restore-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()

    async def transaction(records: list[tuple[bytes, bytes | None]], *, commit: bool) -> None:
        await producer.begin_transaction()
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key, partition=0)
        await (producer.commit_transaction() if commit else producer.abort_transaction())

    try:
        await transaction([(b"k1", b"v1"), (b"k2", b"v2")], commit=True)
        await transaction([(b"k1", b"aborted")], commit=False)
        await transaction([(b"k2", None), (b"k3", b"v3")], commit=True)
    finally:
        await producer.stop()


def _topic(bootstrap: str) -> str:
    topic = f"restore-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        admin.close()
    asyncio.run(_write(bootstrap, topic))
    return topic


async def _restore(
    bootstrap: str,
    ranges: dict[TP, tuple[int, int]],
    target: Target,
    progress: RestoreProgress,
    deadline_s: float = 30.0,
) -> dict[TP, int]:
    reader = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await reader.start()
    try:
        targets = dict.fromkeys(ranges, target)
        deadline = progress.clock() + deadline_s
        return await restore(reader, ranges, targets, progress, deadline)
    finally:
        await _stop(reader)  # aiokafka 0.14 may raise its own task's CancelledError


def test_restores_committed_records_with_the_offset_reached(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    written_after = time.time()
    topic = _topic(kafka_bootstrap)
    p0, p1 = TP(topic, 0), TP(topic, 1)
    target, progress = Target(tmp_path), RestoreProgress(wall_clock=lambda: 1_234.5)
    reached = asyncio.run(_restore(kafka_bootstrap, {p0: (0, 8), p1: (0, 0)}, target, progress))
    assert reached == {p0: 6}
    assert target.items(0) == {b"k1": b"v1", b"k3": b"v3", OFFSET_KEY: b"6"}
    assert 1 not in target.dbs  # nothing to read: never opened
    assert (progress.restored_total, progress.remaining, progress.running) == (4, 0, False)
    # the store's age: the time of the last record written, then (read to the end) the
    # time the restore began, after its end was asked for
    (batch_partition, record_time), last = target.times[0], target.times[-1]
    assert batch_partition == 0 and written_after - 1 <= record_time <= time.time()
    assert last == (0, 1_234.5)


def test_restores_from_the_persisted_offset_on(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = _topic(kafka_bootstrap)
    p0 = TP(topic, 0)
    target, progress = Target(tmp_path), RestoreProgress()
    db = target._db_for_partition(0)
    db[b"k2"], db[b"stale"], db[OFFSET_KEY] = b"v2", b"kept", b"1"
    reached = asyncio.run(_restore(kafka_bootstrap, {p0: (2, 8)}, target, progress))
    assert reached == {p0: 6}
    assert target.items(0) == {b"stale": b"kept", b"k3": b"v3", OFFSET_KEY: b"6"}
    assert progress.restored_total == 2


def test_stops_at_the_end_it_was_given(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = _topic(kafka_bootstrap)
    p0 = TP(topic, 0)
    target, progress = Target(tmp_path), RestoreProgress()
    reached = asyncio.run(_restore(kafka_bootstrap, {p0: (0, 2)}, target, progress))
    assert reached == {p0: 1}
    assert target.items(0) == {b"k1": b"v1", b"k2": b"v2", OFFSET_KEY: b"1"}
    assert [p for p, _ in target.times] == [0, 0]  # the batch's record, then read to its end


def test_a_passed_deadline_writes_nothing(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = _topic(kafka_bootstrap)
    target, progress = Target(tmp_path), RestoreProgress()
    reached = asyncio.run(
        _restore(kafka_bootstrap, {TP(topic, 0): (0, 8)}, target, progress, deadline_s=-1.0)
    )
    assert reached == {}
    assert target.dbs == {}
    assert (progress.restored_total, progress.remaining) == (0, 0)
