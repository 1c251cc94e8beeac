"""The local RocksDB store written only with what committed (``CommittedStore``): reads
see the open transaction's writes, RocksDB gets them with their changelog offset when
the partition commits, and a store reopened after a crash holds nothing uncommitted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import rocksdict

from streams.settings import Settings
from streams.worker.eos import CommittedStore, acting_for, set_tombstone_retention
from streams.worker.eos.store import CURRENT_AT, read_current_at
from tests.worker.fixtures import runtime


class Event:
    """What the store reads of faust's current event: its message's partition."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(topic="unit.touchpoints-keyed.v1", partition=partition)


def event_on(partition: int) -> Any:
    return Event(partition)


def on_disk(store: CommittedStore, partition: int) -> dict[bytes, bytes]:
    """What RocksDB holds for ``partition``, read by a second handle (as after a crash)."""
    path = store.partition_path(partition)
    if not (path / "CURRENT").exists():
        return {}  # never opened: nothing written
    options = rocksdict.Options(raw_mode=True)
    db = rocksdict.Rdict(str(path), options=options, access_type=rocksdict.AccessType.read_only())
    try:
        return {cast(bytes, key): cast(bytes, value) for key, value in db.items()}
    finally:
        db.close()


async def _writes_reach_rocksdb_only_when_their_partition_commits(tmp_path: Path) -> None:
    rt = runtime(store="rocksdb://", data_dir=tmp_path, processing_guarantee="exactly_once")
    rt.app.in_worker = True  # faust's in_transaction: exactly-once in a worker
    table = rt.customers.table
    store = table.data  # type: ignore[attr-defined]
    assert isinstance(store, CommittedStore)
    with acting_for(event_on(0)):
        table["c-0"] = {"j": {"stage": "new"}}
    with acting_for(event_on(1)):
        table["c-1"] = {"j": {"stage": "new"}}
    store.note_changelog_offset(0, 41)
    store.note_changelog_offset(0, 40)  # an older acknowledgement never moves it back
    store.note_changelog_offset(1, 7)
    # reads see the open transaction's writes; RocksDB holds none of them
    with acting_for(event_on(0)):
        assert table["c-0"] == {"j": {"stage": "new"}}
    assert table.get("c-1") == {"j": {"stage": "new"}}  # outside an event: every partition
    assert on_disk(store, 0) == {} and on_disk(store, 1) == {}
    assert store.uncommitted_keys() == 2

    assert table.commit_partition(0) == 1  # type: ignore[attr-defined]
    assert on_disk(store, 0) == {b"c-0": b'{"j":{"stage":"new"}}', store.offset_key: b"41"}
    assert store.persisted_offset(SimpleNamespace(partition=0)) == 41  # type: ignore[arg-type]
    assert on_disk(store, 1) == {}  # partition 1 has not committed

    with acting_for(event_on(1)):
        del table["c-1"]
    store.discard([1])  # its transaction aborts: neither the write nor the delete stays
    assert table.get("c-1") is None and on_disk(store, 1) == {}
    assert store.uncommitted_keys() == 0

    with acting_for(event_on(0)):
        del table["c-0"]
        assert "c-0" not in table
    assert dict(table.items()) == {}
    table.commit_partition(0)  # type: ignore[attr-defined]
    assert on_disk(store, 0) == {store.offset_key: b"41"}


def test_writes_reach_rocksdb_only_when_their_partition_commits(tmp_path: Path) -> None:
    asyncio.run(_writes_reach_rocksdb_only_when_their_partition_commits(tmp_path))


async def _outside_exactly_once_the_store_writes_through(tmp_path: Path) -> None:
    rt = runtime(store="rocksdb://", data_dir=tmp_path, processing_guarantee="at_least_once")
    table = rt.customers.table
    store = table.data  # type: ignore[attr-defined]
    with acting_for(event_on(0)):
        table["c-0"] = {"j": {}}
    store.note_changelog_offset(0, 3)
    assert on_disk(store, 0) == {b"c-0": b'{"j":{}}', store.offset_key: b"3"}


def test_outside_exactly_once_the_store_writes_through(tmp_path: Path) -> None:
    asyncio.run(_outside_exactly_once_the_store_writes_through(tmp_path))


def test_one_memory_budget_is_shared_by_every_store_of_the_worker(tmp_path: Path) -> None:
    async def main() -> None:
        rt = runtime(store="rocksdb://", data_dir=tmp_path, rocksdb_memory_bytes=32 << 20)
        customers: Any = rt.customers.table.data  # type: ignore[attr-defined]
        fanout: Any = rt.fanout.table.data
        assert customers.rocksdb_options.budget is fanout.rocksdb_options.budget
        assert customers.rocksdb_options.budget.memory_bytes == 32 << 20
        assert customers.rocksdb_options.write_buffer_size == 4 << 20  # an eighth of it

    asyncio.run(main())


def test_the_memory_budget_has_a_floor() -> None:
    with pytest.raises(ValueError, match="rocksdb_memory_bytes"):
        Settings(rocksdb_memory_bytes=1024)


async def _a_store_older_than_the_tombstone_retention_is_discarded(tmp_path: Path) -> None:
    rt = runtime(store="rocksdb://", data_dir=tmp_path, processing_guarantee="exactly_once")
    rt.app.in_worker = True
    set_tombstone_retention(rt.app, 1_000.0)  # kept while at most 900 s old (10% margin)
    table = rt.customers.table
    store = table.data  # type: ignore[attr-defined]
    assert isinstance(store, CommittedStore)
    now = [1_000_000.0]
    store.wall_clock = lambda: now[0]  # type: ignore[method-assign]
    for partition, offset in ((0, 41), (1, 7)):
        with acting_for(event_on(partition)):
            table[f"c-{partition}"] = {"j": {}}
        store.note_changelog_offset(partition, offset)
        table.commit_partition(partition)  # type: ignore[attr-defined]
    assert read_current_at(store.partition_path(0)) == 1_000_000.0
    now[0] += 59.0  # written at most once a minute: an older time is safe
    with acting_for(event_on(0)):
        table["c-0"] = {"j": {"n": 1}}
    store.note_changelog_offset(0, 42)
    table.commit_partition(0)  # type: ignore[attr-defined]
    assert read_current_at(store.partition_path(0)) == 1_000_000.0

    def reopened(partition: int) -> dict[bytes, bytes]:
        """What the partition holds once closed and opened again (as at a start)."""
        store._dbs.pop(partition).close()
        store._db_for_partition(partition)
        return on_disk(store, partition)

    now[0] = 1_000_900.0  # 900 s: still inside the retention less its margin
    assert reopened(0) == {b"c-0": b'{"j":{"n":1}}', store.offset_key: b"42"}
    now[0] = 1_000_901.0  # older: it may have missed a tombstone compacted away
    assert reopened(0) == {}
    assert store.persisted_offset(SimpleNamespace(partition=0)) is None  # type: ignore[arg-type]
    assert not (store.partition_path(0) / CURRENT_AT).exists()  # its time went with it

    (store.partition_path(1) / CURRENT_AT).unlink()  # a store of unknown age
    assert reopened(1) == {}
    store._db_for_partition(2)  # a store that holds no offset: nothing to check
    assert reopened(2) == {}

    set_tombstone_retention(rt.app, None)  # not checked
    with acting_for(event_on(1)):
        table["c-1"] = {"j": {}}
    store.note_changelog_offset(1, 8)
    table.commit_partition(1)  # type: ignore[attr-defined]
    now[0] += 10**6
    assert reopened(1) == {b"c-1": b'{"j":{}}', store.offset_key: b"8"}


def test_a_store_older_than_the_tombstone_retention_is_discarded(tmp_path: Path) -> None:
    asyncio.run(_a_store_older_than_the_tombstone_retention_is_discarded(tmp_path))
