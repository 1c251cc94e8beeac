"""The table: changelog writes the commit waits for, raw keys, revoked state dropped.

:class:`TrackedTable` is the app's ``Table`` class (``streams.worker.config``). It fixes
three things of faust's ``Table`` under exactly-once with several workers:

- its changelog writes are queued in faust's producer buffer and published later, and
  faust's commit does not wait for them (finding 2): each write's future is tracked in
  the app's :class:`~streams.worker.eos.guard.Guard`, which the commit drains first;
- a ``str`` key is serialized as JSON, so faust's router hashed another key than the
  keyed topic does (finding 8): keys are serialized raw;
- the local RocksDB of a partition that moves away kept the writes of the transaction
  the new owner aborts (finding 9): :class:`CommittedStore` never writes them, so a
  partition kept as a standby keeps its store; one with no replica here is dropped, and
  restored from the committed changelog if it comes back.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from faust.serializers import codecs
from faust.stores.rocksdb import Store as RocksDBStore
from faust.tables.table import Table
from faust.types import TP
from yarl import URL

from streams.worker.eos.guard import guard_of
from streams.worker.eos.produce import batched_of
from streams.worker.eos.store import (
    DEFAULT_MEMORY_BYTES,
    CommittedStore,
    budget_for,
    event_partition,
)

log = logging.getLogger(__name__)


class TrackedTable(Table[Any, Any]):
    """A faust table whose changelog writes the commit waits for, and whose ``str`` keys
    are serialized raw (UTF-8), like the keys of the topic it is co-partitioned with.

    faust serializes a ``str`` table key as JSON (``"c-1"``, quotes included), while the
    keyed topic carries the raw customer id. The table partition is that of the source
    event, but faust's router (``table_route``, ``/customers/{id}``) finds a key's owner
    by hashing the *changelog* key: with JSON keys it picked the wrong worker for about
    half of the keys as soon as two workers shared the partitions.
    """

    _active: frozenset[int] | None = None
    #: RocksDB memory of the whole worker (every table and partition), set by the app
    rocksdb_memory_bytes: int = DEFAULT_MEMORY_BYTES

    # faust private: Collection._new_store_by_url makes the table's store from the URL
    def _new_store_by_url(self, url: str | URL) -> Any:
        """A RocksDB URL gets a :class:`CommittedStore` (written on commit, within the
        worker's RocksDB budget); anything else faust's store."""
        if URL(str(url)).scheme != "rocksdb":
            return super()._new_store_by_url(url)
        return CommittedStore(
            url,
            self.app,
            self,
            budget=budget_for(self.app, self.rocksdb_memory_bytes),
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            loop=self.loop,
            options=self.options,
        )

    def commit_partition(self, partition: int) -> int:
        """``partition``'s transaction committed: its writes go to the local store."""
        store = self.data
        return store.commit_partition(partition) if isinstance(store, CommittedStore) else 0

    # faust private: Collection._serializer_from_type is where a key type gets its codec
    def _serializer_from_type(self, typ: Any) -> Any:
        if typ is str:
            return "raw"
        return super()._serializer_from_type(typ)

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        """Forget the uncommitted writes of every partition this worker stops owning (its
        transaction aborts), and drop the local state of those it keeps no replica of.

        A partition that becomes a standby here keeps its store: a
        :class:`CommittedStore` holds only committed writes, up to the changelog offset it
        records (finding 9 is about faust's store, written before the commit), and faust's
        standby recovery reads the changelog on from that offset, so the store follows
        every later write, tombstones included, within seconds: far inside their
        retention after compaction (``JOURNEYS_CHANGELOG_DELETE_RETENTION_DAYS``). A
        partition with no replica here is not followed, so a tombstone could be compacted
        away before it came back: its store is dropped, as before.
        """
        name = self.changelog_topic.get_topic_name()
        assignor = self.app.assignor
        active = frozenset(tp.partition for tp in assignor.assigned_actives() if tp.topic == name)
        standby = frozenset(tp.partition for tp in assignor.assigned_standbys() if tp.topic == name)
        if self._active is not None and self.app.in_transaction:
            store = self.data
            if isinstance(store, CommittedStore):
                store.discard(self._active - active)  # their transactions abort
                drop_local_partitions(self, self._active - active - standby)
            else:  # faust's store holds what aborts (finding 9)
                drop_local_partitions(self, self._active - active)
        self._active = active
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> Any:
        """The changelog record of a write: into the app's batched output when it has one
        (sent with the rest of the agent batch), else faust's way, tracked."""
        batched = batched_of(self.app)
        if batched is None or partition is None:
            fut = super().send_changelog(partition, key, value, key_serializer, value_serializer)
            guard_of(self.app).track(fut)
            return fut
        raw_key = codecs.dumps(key_serializer or self.key_serializer, key)
        serializer = value_serializer or self.value_serializer
        raw_value = None if value is None else codecs.dumps(serializer, value)
        topic = self.changelog_topic.get_topic_name()
        batched.add(topic, partition, raw_key, raw_value, on_sent=self._persisted)
        return _Queued(partition)

    def writes_encoded(self) -> bool:
        """Whether :meth:`set_encoded` may be used: a :class:`CommittedStore`, the app's
        batched output, and exactly-once (a transaction per source partition)."""
        return (
            isinstance(self.data, CommittedStore)
            and batched_of(self.app) is not None
            and bool(self.app.in_transaction)
        )

    def set_encoded(self, key: bytes, value: bytes) -> None:
        """``table[key] = value`` for a key and value encoded by the caller with the
        table's serializers, in the partition and transaction of the current event (as
        faust's table write finds them): into the store's uncommitted writes and the
        batched output's changelog records, the value encoded once. faust's per-key work
        is left out: ``Table.__setitem__``'s two encodings of the value, its key TTL (only
        windowed tables have one) and its sensors' ``on_table_set`` (faust's optional
        Prometheus sensor does not count these writes). Only when :meth:`writes_encoded`."""
        partition = event_partition()
        store = self.data
        assert isinstance(store, CommittedStore), "set_encoded without writes_encoded()"
        store.put_uncommitted(partition, key, value)
        batched = batched_of(self.app)
        assert batched is not None, "set_encoded without writes_encoded()"
        topic = self._changelog_name
        if topic is None:
            topic = self._changelog_name = self.changelog_topic.get_topic_name()
        batched.add(topic, partition, key, value, on_sent=self._persisted)

    _changelog_name: str | None = None

    def _persisted(self, tp: TP, offset: int) -> None:
        """A changelog record is acknowledged: what faust's ``_on_changelog_sent`` does
        (a :class:`CommittedStore` records the offset when the partition commits)."""
        store = self.data
        if isinstance(store, CommittedStore):
            store.note_changelog_offset(tp.partition, offset)
        elif self.app.in_transaction:
            self.app.tables.persist_offset_on_commit(store, tp, offset)
        else:
            store.set_persisted_offset(tp, offset)


class _Queued:
    """What faust's ``on_key_set`` reads of a changelog send: ``.message.partition``."""

    __slots__ = ("message", "partition")

    def __init__(self, partition: int) -> None:
        self.message = self
        self.partition = partition


def drop_local_partitions(table: Any, partitions: Iterable[int]) -> None:
    """Forget the local RocksDB state of ``partitions`` of ``table``.

    When a rebalance takes a partition away, faust stops its transactional producer
    without committing: the new owner's ``init_transactions`` aborts the open
    transaction, and processes its events again. The local RocksDB of the old owner
    still holds the state those events wrote (RocksDB is written when the agent sets a
    value, before the commit), and faust keeps it: as a standby it only applies newer
    committed changelog records on top, and if the partition comes back (the other
    worker dies, scale-in) the engine finds its own event ids there, calls the events
    duplicates and their triggers are lost. So, as Kafka Streams does after a dirty
    close under exactly-once, the partition's store is wiped; when it is assigned again
    (standby or active), faust restores it from the committed changelog.
    """
    store = table.data
    if not isinstance(store, RocksDBStore):
        return  # memory:// rebuilds from the changelog on assignment
    dbs = store._dbs  # noqa: SLF001  faust's open DB per partition: closed before the wipe
    for partition in sorted(partitions):
        db = dbs.pop(partition, None)
        if db is not None:
            db.close()
        path = Path(store.partition_path(partition))
        if path.exists():
            shutil.rmtree(path)
            log.info("%s: partition %d revoked, local state dropped", table.name, partition)
    store._key_index.clear()  # noqa: SLF001  key -> partition cache, may name a dropped one
