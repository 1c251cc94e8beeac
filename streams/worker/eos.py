"""Exactly-once fixes for faust's transaction manager (see streams/EXACTLY_ONCE.md).

faust 0.15.3 keeps one transactional producer per (topic group, partition) and commits
a partition's consumed offsets in that producer's transaction. Three things break
exactly-once; each is fixed here, where it happens:

1. ``TransactionManager.send`` picks the transaction from the *destination* partition,
   and ``group_for_topic`` raises ``KeyError`` for a topic the app does not consume
   (triggers, dead letters). Here a send made while processing an event joins the
   transaction of the event's *source* partition, whose offset commits with it. A table
   changelog write (sent later from faust's buffer, outside the event) keeps the
   destination rule: its partition is the source event's partition, so it is the same
   transaction. Any other send outside an event (timer wake-ups, idempotent) goes
   through the plain idempotent producer, so that it is visible without waiting for a
   commit.
2. The commit does not wait for faust's send buffer, where table changelog writes
   wait, so a state write could fall into the next transaction, after the triggers it
   produced. :class:`TrackedTable` records every changelog write; the commit waits for
   them all before committing.
3. The commit runs concurrently with the agents, so a transaction could hold half of
   an event's output. Agents process each event under :attr:`Guard.lock` and ack it
   before releasing the lock; the commit takes the same lock, so a transaction holds
   whole events, with their offsets.

With several workers (rebalances), four more: the changelog end that table recovery
reads to (:class:`StableOffsetConsumerThread`), the producers of partitions that moved
away (:meth:`SourceTransactionManager.on_rebalance`), the key serialization faust's
router hashes, and the local state of partitions that moved away (both in
:class:`TrackedTable`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import faust
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.tables.table import Table
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP

log = logging.getLogger(__name__)


class Guard:
    """One per app: an agent holds the lock for one event, a commit for the commit.

    It also keeps, per source partition, the offset after the last event an agent
    finished (:meth:`finish`, under the lock). The commit sends *these* offsets to the
    transactions, read under the same lock, instead of the ones faust read before the
    lock was taken (finding 10): so a transaction holds exactly the output of the events
    whose offsets it commits.
    """

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self.pending: set[asyncio.Future[Any]] = set()
        self.finished: dict[TP, int] = {}
        self.committed: dict[TP, int] = {}

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:  # created lazily, inside the worker's event loop
            self._lock = asyncio.Lock()
        return self._lock

    def track(self, fut: asyncio.Future[Any]) -> None:
        self.pending.add(fut)
        fut.add_done_callback(self.pending.discard)

    async def drain(self) -> None:
        """Wait until every tracked changelog write is acknowledged by the broker."""
        while self.pending:
            await asyncio.gather(*list(self.pending))

    def finish(self, event: Any) -> None:
        """``event`` is processed and all its output sent: ack it, record its offset.

        Call it while holding :attr:`lock`, after the event's last send. The recorded
        offset never goes back: after a rebalance that leaves a partition here, faust seeks
        it to its committed offset and the agents see events again whose output is already
        in the open transaction; committing a lower offset after that would make a restart
        process them once more, though their output is committed."""
        event.ack()
        message = event.message
        tp = message.tp
        self.finished[tp] = max(self.finished.get(tp, 0), message.offset + 1)

    def to_commit(self, assigned: set[TP]) -> dict[TP, int]:
        """The offsets finished since the last commit, of partitions still assigned."""
        return {
            tp: offset
            for tp, offset in self.finished.items()
            if tp in assigned and self.committed.get(tp) != offset
        }

    def keep_only(self, assigned: set[TP]) -> None:
        """Forget the offsets of partitions no longer assigned here (a rebalance)."""
        for book in (self.finished, self.committed):
            for tp in [tp for tp in book if tp not in assigned]:
                del book[tp]


def guard_of(app: Any) -> Guard:
    guard = getattr(app, "eos_guard", None)
    if guard is None:
        guard = Guard()
        app.eos_guard = guard  # one per app instance
    return guard


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
        """Drop the local state of every partition this worker stops owning (finding 9)."""
        name = self.changelog_topic.get_topic_name()
        active = frozenset(
            tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == name
        )
        if self._active is not None and self.app.in_transaction:
            drop_local_partitions(self, self._active - active)
        self._active = active
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        fut = super().send_changelog(*args, **kwargs)
        guard_of(self.app).track(fut)
        return fut


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
    dbs = getattr(store, "_dbs", None)
    if dbs is None or not hasattr(store, "partition_path"):
        return  # memory:// rebuilds from the changelog on assignment
    for partition in sorted(partitions):
        db = dbs.pop(partition, None)
        if db is not None:
            db.close()
        path = Path(store.partition_path(partition))
        if path.exists():
            shutil.rmtree(path)
            log.info("%s: partition %d revoked, local state dropped", table.name, partition)
    store._key_index.clear()  # key -> partition cache, may point at a dropped partition


class SourceTransactionManager(TransactionManager):
    """faust's transaction manager with each event's output atomic with its offset."""

    def _tid(self, topic: str, partition: int) -> str | None:
        try:
            group = self.app.assignor.group_for_topic(topic)
        except KeyError:
            return None
        tid = f"{self.app.conf.id}-{group}-{partition}"
        producers = self.producer._transaction_producers  # type: ignore[attr-defined]
        return tid if tid in producers else None

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        tid: str | None = None
        event = faust.current_event()
        if event is not None:
            tid = self._tid(event.message.topic, event.message.partition)
        elif topic.endswith("-changelog") and partition is not None:
            tid = self._tid(topic, partition)
        return await self.producer.send(
            topic, key, value, partition, timestamp, headers, transactional_id=tid
        )

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]
    ) -> None:
        """Stop the producer of every partition no longer active here, then start
        those of the active ones (finding 7).

        faust stops only the producers of revoked partitions that are not standbys
        here; but the old owner of a partition is usually its standby (the assignor
        lists the source partitions of a standby too), so its producer stayed, in a
        transaction the new owner fences. When the partition came back (the other
        worker died), faust reused that fenced producer: every send failed with
        ``ProducerFenced`` and the worker crashed.
        """
        active = self._tps_to_transactional_ids(assigned)  # standbys left out
        producers = self.producer._transaction_producers  # type: ignore[attr-defined]
        stale = sorted(tid for tid in producers if tid not in active)
        for tid in stale:
            try:
                await self.producer.stop_transaction(tid)
            except Exception:  # fenced or not, it is gone; the new owner aborts it
                log.warning("stopping transactional producer %s failed", tid, exc_info=True)
        if stale:
            log.info("stopped %d transactional producers of moved partitions", len(stale))
        guard_of(self.app).keep_only(assigned)
        await super().on_rebalance(assigned, set(), newly_assigned)

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        """Commit, in each source partition's transaction, the offsets of the events
        finished so far (read under :attr:`Guard.lock`, see :class:`Guard`), after every
        changelog write is in its transaction. ``offsets`` (read by faust before the lock
        was taken, possibly older) is not used."""
        guard = guard_of(self.app)
        async with guard.lock:
            await guard.drain()
            fresh = guard.to_commit(set(self.app.consumer.assignment()))
            if not fresh:
                return True
            done = bool(await super().commit(fresh, start_new_transaction))
            if done:
                guard.committed.update(fresh)
            return done


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

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        offsets: Mapping[TP, int] = await consumer.end_offsets(partitions)
        return offsets


class StableOffsetConsumer(AIOKafkaConsumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return StableOffsetConsumerThread(self, loop=self.loop, beacon=self.beacon)


class SeekFirstRecovery(Recovery):
    """faust's table recovery, with the stream partitions sought to their committed
    offsets *before* they are resumed (finding 11).

    faust 0.15.3 resumes the stream partitions and only then seeks them to the committed
    offsets, both after a table restore (``on_recovery_completed``) and without tables
    (``_resume_streams``). The fetcher is already running then (the restore needs it),
    so records fetched between the resume and the seek reach the agents while the seek,
    in the consumer thread, rewinds the position and resets faust's read offset under the
    running fetch loop. The loop then sees an offset jump, records it as a "gap" (faust
    counts gaps as acknowledged), and the next commit moves the committed offset past
    records no agent processed: seen after most restarts that had a changelog to
    restore, 15-40 touchpoints of a partition skipped and their triggers lost. Here the
    partitions are still paused while they are sought, so nothing reaches the agents from
    a position that is about to change.
    """

    async def _seek_then_resume(self, generation_id: int) -> bool:
        app = self.app
        consumer = app.consumer
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning("Recovery rebalancing again")
            return False
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
            if app.consumer_generation_id != generation_id:
                self.log.warning("Recovery rebalancing again")
                return False
            consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        else:
            self.log.info("Resuming streams with empty assignment")
        self.completed.set()
        app.flow_control.resume()
        consumer.resume_flow()
        await app._fetcher.maybe_start()  # type: ignore[attr-defined]
        return True

    async def _resume_streams(self, generation_id: int = 0) -> None:
        await self.app.on_rebalance_complete.send()
        if await self._seek_then_resume(generation_id):
            self.tables.on_actives_ready()
            self.tables.on_standbys_ready()
            self.app.on_rebalance_end()
            self.log.info("Worker ready")

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        if await self._seek_then_resume(generation_id):
            self.tables.on_actives_ready()
            if not self.app.assignor.assigned_standbys():
                self.tables.on_standbys_ready()
            self.app.on_rebalance_end()
            self.log.info("Worker ready")


class SeekFirstTableManager(TableManager):
    """faust's table manager, with :class:`SeekFirstRecovery`."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


def install(app: faust.App) -> Guard:
    """Use the fixed transaction manager and consumer in ``app`` (before the worker
    starts)."""
    setattr(app.transport, "TransactionManager", SourceTransactionManager)  # noqa: B010
    setattr(app.transport, "Consumer", StableOffsetConsumer)  # noqa: B010
    return guard_of(app)
