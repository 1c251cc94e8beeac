"""The local RocksDB store of a table: written only with what committed, within a
memory budget.

faust's RocksDB store writes a value when the agent sets it, before the transaction that
carries its changelog record commits, and under exactly-once it never records which
changelog offset the store reflects. After a crash the store could hold the writes of
aborted transactions, so it had to be wiped and the whole changelog read again: minutes
at a million customers (issue 13; finding 4 in FINDINGS.md).

:class:`CommittedStore` keeps a partition's writes in memory (the *uncommitted*
overlay, which reads see first) until that partition's transaction commits; then
:meth:`CommittedStore.commit_partition` writes them to RocksDB in one atomic write
batch, together with the offset of the partition's last changelog record in that
transaction. So the local store is always the committed changelog up to the offset it
records: after a SIGKILL, recovery reads the changelog from that offset on (faust
seeks an active partition to its store's persisted offset + 1), a tail of at most a
commit interval or so. A crash between the commit and the write batch leaves the store
one transaction behind, with the offset before it: the tail brings it back. This is
what Kafka Streams' transactional state stores (KIP-892) and quix-streams' checkpoints
do.

**Tombstones and the store's age.** A store is read on from the offset it records,
possibly long after it was written (a worker down for days, a disk reattached). The
changelog is compacted: a tombstone (a key deleted or erased) stays readable only for
``delete.retention.ms`` after compaction reaches it; a store older than that may have
missed one and would keep the key forever. So every partition's directory records the
time of the newest changelog record the store reflects (:data:`CURRENT_AT`: at a
commit, the commit's time; after a restore or a standby's batch, the record's own
timestamp), written after the RocksDB write it follows (a crash leaves an older time,
never a newer one) and at most once a minute. A tombstone after the store's offset was
written after that record, so it is still readable while the store is younger than the
retention. When a partition is opened (:meth:`CommittedStore._open_for_partition`: at
start-up, or when the partition comes back) a store that records an offset but is older
than the retention less :data:`AGE_MARGIN` (or has no time, written by an older
version) is discarded; the partition is then restored from the changelog like an empty
disk (the bulk restore).

:class:`RocksDBBudget` gives all the stores of a worker one block cache, and charges
their memtables to it (RocksDB's write buffer manager), so RocksDB's memory is bounded
by one number, ``JOURNEYS_ROCKSDB_MEMORY_BYTES``, whatever the number of partitions
and tables; faust's defaults are a 2 GiB cache and 192 MiB of memtables per partition
and table.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import rocksdict
from faust import current_event
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksDBStore

Overlay = dict[bytes, bytes | None]  # key -> value, None: deleted

DEFAULT_MEMORY_BYTES = 128 * 1024 * 1024

log = logging.getLogger(__name__)

#: the file in a partition's RocksDB directory with the time (Unix seconds) of the newest
#: changelog record the store reflects
CURRENT_AT = "JOURNEYS-CURRENT-AT"
#: the time is rewritten at most this often (it may only be older than the truth)
CURRENT_AT_EVERY_S = 60.0
#: share of the tombstone retention kept as a margin: producers' clocks against this one,
#: the minute the time may lag
AGE_MARGIN = 0.1


def read_current_at(path: Path) -> float | None:
    """The time recorded in the RocksDB directory ``path``; ``None`` when there is none."""
    try:
        return float((path / CURRENT_AT).read_text())
    except (OSError, ValueError):
        return None


def write_current_at(path: Path, seconds: float) -> None:
    """Record ``seconds`` in the RocksDB directory ``path`` (atomically: a new file
    renamed over the old one)."""
    tmp = path / f"{CURRENT_AT}.tmp"
    tmp.write_text(repr(float(seconds)))
    os.replace(tmp, path / CURRENT_AT)


def set_tombstone_retention(app: Any, seconds: float | None) -> None:
    """How long the changelogs keep a tombstone (``delete.retention.ms``) for the stores
    of ``app``; ``None``: their age is not checked."""
    app.journeys_tombstone_retention_s = seconds


def tombstone_retention(app: Any) -> float | None:
    retention: float | None = getattr(app, "journeys_tombstone_retention_s", None)
    return retention


class RocksDBBudget:
    """One block cache for every RocksDB of a worker, memtables charged to it."""

    def __init__(self, memory_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self.memory_bytes = memory_bytes
        self.cache = rocksdict.Cache(memory_bytes)
        # memtables: at most half of the budget, counted inside the cache
        self.write_buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            memory_bytes // 2, False, self.cache
        )

    def usage(self) -> int:
        """Bytes the cache holds now (blocks and memtables)."""
        return int(self.cache.get_usage())


class BudgetedOptions(RocksDBOptions):
    """faust's RocksDB options, with the worker's shared cache and write buffer manager."""

    def __init__(self, budget: RocksDBBudget, **kwargs: Any) -> None:
        super().__init__(use_rocksdict=True, **kwargs)
        self.budget = budget
        self.write_buffer_size = min(self.write_buffer_size, max(budget.memory_bytes // 8, 1 << 20))

    def as_options(self) -> Any:
        options = super().as_options()
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(self.budget.cache)
        table.set_cache_index_and_filter_blocks(True)
        options.set_block_based_table_factory(table)
        options.set_write_buffer_manager(self.budget.write_buffers)
        return options


def budget_for(app: Any, memory_bytes: int) -> RocksDBBudget:
    """The RocksDB budget shared by the stores of ``app`` (made on first use)."""
    budget: RocksDBBudget | None = getattr(app, "journeys_rocksdb_budget", None)
    if budget is None:
        budget = RocksDBBudget(memory_bytes)
        app.journeys_rocksdb_budget = budget
    return budget


class CommittedStore(RocksDBStore):
    """faust's RocksDB store whose writes reach RocksDB only when their transaction
    commits (module docstring). Outside exactly-once it writes through, as faust's."""

    #: the wall clock of the store's times (tests replace it)
    wall_clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, *args: Any, budget: RocksDBBudget, **kwargs: Any) -> None:
        super().__init__(*args, driver="rocksdict", **kwargs)
        self.rocksdb_options = BudgetedOptions(budget)
        self._uncommitted: dict[int, Overlay] = {}
        self._changelog_offsets: dict[int, int] = {}
        self._current_at: dict[int, float] = {}  # the time last recorded per partition

    # --- the store's age (module docstring) --------------------------------------------
    # faust private: Store._open_for_partition opens a partition's RocksDB (from
    # _db_for_partition, the first time the partition is used after a start or a drop)
    def _open_for_partition(self, partition: int) -> Any:
        """faust's open, after discarding a store too old to be read on from its offset."""
        db = super()._open_for_partition(partition)
        self._current_at.pop(partition, None)  # a dropped partition's time is gone with it
        retention = tombstone_retention(self.app)
        if retention is None or db.get(self.offset_key) is None:
            return db
        path = Path(self.partition_path(partition))
        written = read_current_at(path)
        age = None if written is None else self.wall_clock() - written
        if written is not None and age is not None and age <= retention * (1.0 - AGE_MARGIN):
            self._current_at[partition] = written
            return db
        log.warning(
            "%s: partition %d's local store is %s, the changelog keeps tombstones %.0f s: "
            "discarded, restoring from the changelog",
            self.table.name,
            partition,
            "of unknown age" if age is None else f"{age:.0f} s old",
            retention,
        )
        db.close()
        shutil.rmtree(path, ignore_errors=True)
        return super()._open_for_partition(partition)

    def note_current_at(self, partition: int, seconds: float) -> None:
        """``partition``'s store reflects a changelog record of time ``seconds``; recorded
        if it is a minute newer than the last time recorded (an older time is safe)."""
        if seconds - self._current_at.get(partition, float("-inf")) < CURRENT_AT_EVERY_S:
            return
        path = Path(self.partition_path(partition))
        if path.is_dir():
            write_current_at(path, seconds)
            self._current_at[partition] = seconds

    def apply_changelog_batch(self, batch: Iterable[Any], to_key: Any, to_value: Any) -> None:
        """faust's (its recovery of the tail, and standbys), with the time of each
        partition's newest record recorded after the write."""
        events = list(batch)
        super().apply_changelog_batch(events, to_key, to_value)
        newest: dict[int, float] = {}
        for event in events:
            message = event.message
            if message.timestamp is not None:
                newest[message.partition] = max(
                    newest.get(message.partition, 0.0), message.timestamp
                )
        for partition, seconds in newest.items():
            self.note_current_at(partition, seconds)

    # --- writes -----------------------------------------------------------------------
    def _transactional(self) -> bool:
        return bool(self.app.in_transaction)

    def _set(self, key: bytes, value: bytes | None) -> None:
        if not self._transactional():
            super()._set(key, value)
            return
        self.put_uncommitted(event_partition(), key, value)

    def put_uncommitted(self, partition: int, key: bytes, value: bytes | None) -> None:
        """A write of ``partition``'s open transaction (``None``: a delete), read back by
        this store at once, written to RocksDB when the transaction commits."""
        # faust private: the key -> partition cache its reads use
        self._key_index[key] = partition
        self._uncommitted.setdefault(partition, {})[key] = value

    def _del(self, key: bytes) -> None:
        if not self._transactional():
            super()._del(key)
            return
        self._uncommitted.setdefault(event_partition(), {})[key] = None

    def note_changelog_offset(self, partition: int, offset: int) -> None:
        """The changelog record at ``offset`` of ``partition`` was acknowledged (in the
        open transaction): the store reflects it once that transaction commits."""
        if not self._transactional():
            self.set_persisted_offset_of(partition, offset)
            self.note_current_at(partition, self.wall_clock())
            return
        if offset > self._changelog_offsets.get(partition, -1):
            self._changelog_offsets[partition] = offset

    def set_persisted_offset_of(self, partition: int, offset: int) -> None:
        self._db_for_partition(partition).put(self.offset_key, str(offset).encode())

    def commit_partition(self, partition: int) -> int:
        """``partition``'s transaction committed: write its writes and its last changelog
        offset to RocksDB, atomically. Returns the number of keys written."""
        writes = self._uncommitted.pop(partition, None)
        offset = self._changelog_offsets.pop(partition, None)
        if not writes and offset is None:
            return 0
        batch = rocksdict.WriteBatch(raw_mode=True)
        for key, value in (writes or {}).items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        if offset is not None:
            batch.put(self.offset_key, str(offset).encode())
        self._db_for_partition(partition).write(batch)
        self.note_current_at(partition, self.wall_clock())
        return len(writes or ())

    def discard(self, partitions: Any) -> None:
        """Forget the uncommitted writes of ``partitions`` (their transaction aborts)."""
        for partition in partitions:
            self._uncommitted.pop(partition, None)
            self._changelog_offsets.pop(partition, None)

    def snapshot_items(self, partitions: Iterable[int]) -> Iterator[tuple[int, bytes, bytes]]:
        """``(partition, key, value)`` of every key of ``partitions`` as they are at this
        call (a RocksDB snapshot of each, and a copy of their uncommitted writes), read
        lazily: later writes do not show, however long the reading takes."""
        views = []
        for partition in sorted(partitions):
            db = self._dbs.get(partition)
            snapshot = db.snapshot() if db is not None else None
            views.append((partition, snapshot, dict(self._uncommitted.get(partition, {}))))
        return self._read(views)

    def _read(self, views: list[tuple[int, Any, Overlay]]) -> Iterator[tuple[int, bytes, bytes]]:
        for partition, snapshot, writes in views:
            if snapshot is not None:
                for key, value in snapshot.items():
                    if key != self.offset_key and key not in writes:
                        yield partition, key, value
            for key, written in writes.items():
                if written is not None:
                    yield partition, key, written

    def uncommitted_keys(self) -> int:
        return sum(len(writes) for writes in self._uncommitted.values())

    # --- reads: the uncommitted overlay first ------------------------------------------
    def _overlay(self, key: bytes) -> tuple[bool, bytes | None]:
        """``(found, value)`` of ``key`` in the uncommitted writes."""
        if not self._uncommitted:
            return False, None
        event = current_event()
        if event is not None:
            writes = self._uncommitted.get(event.message.partition)
            if writes is not None and key in writes:
                return True, writes[key]
            return False, None
        for writes in self._uncommitted.values():
            if key in writes:
                return True, writes[key]
        return False, None

    def _get(self, key: bytes) -> bytes | None:
        found, value = self._overlay(key)
        if found:
            return value
        return super()._get(key)

    def _contains(self, key: bytes) -> bool:
        found, value = self._overlay(key)
        if found:
            return value is not None
        return bool(super()._contains(key))

    def _iteritems(self) -> Iterator[tuple[bytes, bytes]]:
        actives = self.app.assignor.assigned_actives()
        topic = self.table.changelog_topic.get_topic_name()
        for partition, db in list(self._dbs.items()):
            if not any(tp.topic == topic and tp.partition == partition for tp in actives):
                continue
            writes = self._uncommitted.get(partition, {})
            for key, value in self._visible_items(db):
                if key not in writes:
                    yield key, value
            for key, written in writes.items():
                if written is not None:
                    yield key, written

    def _iterkeys(self) -> Iterator[bytes]:
        for key, _ in self._iteritems():
            yield key

    def _itervalues(self) -> Iterator[bytes]:
        for _, value in self._iteritems():
            yield value


def event_partition() -> int:
    """The source partition of the event being processed (``faust.current_event()``):
    the partition, and the transaction, of a table write made for it."""
    event = current_event()
    if event is None:
        raise RuntimeError("a table write outside an event: its transaction is unknown")
    return int(event.message.partition)
