"""The transaction manager: each event's output atomic with its source offset.

faust 0.15.3 keeps one transactional producer per (topic group, partition number) and
commits a partition's consumed offsets in that producer's transaction. Its
``TransactionManager`` picks a send's transaction by the *destination* partition
(finding 1), commits without waiting for table changelog writes (finding 2) nor for the
agents (findings 3 and 10), and keeps the producers of partitions that moved to a worker
that fenced them (finding 7). :class:`SourceTransactionManager` fixes the four; it is
installed as the transport's ``TransactionManager`` by :func:`streams.worker.eos.install`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast

import faust
from aiokafka.errors import ProducerFenced
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import Producer as KafkaProducer
from faust.types import TP

from streams.worker.eos.guard import guard_of

log = logging.getLogger(__name__)


class SourceTransactionManager(TransactionManager):
    """faust's transaction manager with each event's output atomic with its offset."""

    @property
    def _kafka(self) -> KafkaProducer:
        """The transport's producer, which holds one producer per transaction."""
        return cast(KafkaProducer, self.producer)

    def _transaction_of(self, tp: TP) -> str:
        """faust's transactional id of a source partition: ``{app}-{group}-{partition}``."""
        group = self.app.assignor.group_for_topic(tp.topic)
        return f"{self.app.conf.id}-{group}-{tp.partition}"

    _tids: dict[tuple[str, int], str | None] | None = None

    def _tid(self, topic: str, partition: int) -> str | None:
        """The open transaction of ``topic``'s ``partition`` here, if there is one.

        The id of a source partition is kept until the next rebalance (topic groups are
        decided by the assignment): it is looked up for every send."""
        tids = self._tids
        if tids is None:
            tids = self._tids = {}
        try:
            tid = tids[(topic, partition)]
        except KeyError:
            try:
                tid = self._transaction_of(TP(topic, partition))
            except KeyError:  # a topic the app does not consume (triggers, dead letters)
                tid = None
            tids[(topic, partition)] = tid
        if tid is None:
            return None
        producers = self._kafka._transaction_producers  # noqa: SLF001  faust's producer per transaction, no public lookup
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
        """Send in the transaction of the event being processed (finding 1).

        While processing an event (``faust.current_event()``), every send joins the
        transaction of the event's *source* partition, whose offset commits with it. A
        table changelog write (published later from faust's buffer, outside the event)
        keeps the destination rule: its partition is the source event's partition
        (co-partitioned table), so it is the same transaction. Any other send outside an
        event (timer wake-ups, idempotent) goes through the plain idempotent producer,
        visible without waiting for a commit."""
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

        Forgets the transactional ids looked up so far (the topic groups may change).

        faust stops only the producers of revoked partitions that are not standbys
        here; but the old owner of a partition is usually its standby (the assignor
        lists the source partitions of a standby too), so its producer stayed, in a
        transaction the new owner fences. When the partition came back (the other
        worker died), faust reused that fenced producer: every send failed with
        ``ProducerFenced`` and the worker crashed.
        """
        self._tids = None
        active = self._tps_to_transactional_ids(assigned)  # standbys left out
        producers = self._kafka._transaction_producers  # noqa: SLF001  faust's producer per transaction, no public list
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
        """Commit, in each source partition's transaction, the offsets of the events the
        agents finished. ``offsets``, read by faust before this commit could take the
        agents' lock and possibly older than the output already sent (finding 10), is not
        used.

        The steps, in the order they must happen:

        1. Take the agents' lock (:attr:`Guard.lock`): no event is half processed and no
           agent sends anything until the commit is done (finding 3).
        2. Wait until every changelog write recorded by :class:`TrackedTable` is
           acknowledged: then it is in its transaction, with the triggers it goes with
           (finding 2).
        3. Read, under the lock, the offset after the last event the agents finished in
           each partition still assigned, if it advanced since the last commit
           (:meth:`Guard.to_commit`, finding 10).
        4. Group the offsets by the transaction of their source partition.
        5. Commit each partition's transaction: send its offsets to it, commit it, begin
           the next one (faust's ``Producer.commit_transactions``, per transaction).
        6. Book the offsets of the transactions that committed, so that the next commit
           sends only partitions that advanced, and write their table writes, with their
           changelog offsets, into the local stores (``CommittedStore``).
        7. Any failed commit crashes the worker (a fenced producer, as in faust; any
           other error too, see :meth:`_fail`).

        Step 5 commits the transactions concurrently (``asyncio.gather``), not one after
        another as faust does, because it is safe:

        - each transaction has its own aiokafka producer (own client, connections, sender
          and transaction state); aiokafka 0.14 allows concurrent commits of different
          transactional producers, and the broker's coordinators handle different
          transactional ids independently;
        - correctness is per partition: a transaction holds the output and the offsets of
          one source partition and nothing else, so none needs another to commit first.
          One after another they were no more atomic together: a crash between two
          commits leaves one committed and the other aborted, as a crash amid concurrent
          commits does;
        - nothing joins a transaction while it commits: the agents wait on the lock
          (step 1), every changelog write is acknowledged (step 2), and faust's lock of
          each producer orders any other send against that producer's commit;
        - all commits finish (``return_exceptions``) before the lock is released, and only
          those that committed are booked (step 6).

        The agents then wait for the slowest transaction (about three broker round trips)
        instead of the sum over all the partitions of this worker.
        """
        guard = guard_of(self.app)
        if guard.failed is not None:  # 0. a failed batch's partial output never commits
            raise RuntimeError("a batch failed mid-way: its transactions must not commit")
        # 1. the agents' lock
        async with guard.lock:
            # 2. every changelog write in its transaction
            await guard.drain()
            # 3. the offsets of the events finished, read under the lock
            fresh = guard.to_commit(set(self.app.consumer.assignment()))
            if not fresh:
                return True
            # 4. by transaction
            by_tid: defaultdict[str, dict[TP, int]] = defaultdict(dict)
            for tp, offset in fresh.items():
                by_tid[self._transaction_of(tp)][tp] = offset
            # 5. each transaction committed, concurrently
            results = await asyncio.gather(
                *(self._commit_one(tid, tps, start_new_transaction) for tid, tps in by_tid.items()),
                return_exceptions=True,
            )
            # 6. book what committed; its table writes go to the local stores
            errors: list[BaseException] = []
            committed: set[int] = set()
            for tps, result in zip(by_tid.values(), results, strict=True):
                if result is True:
                    guard.committed.update(tps)
                    committed.update(tp.partition for tp in tps)
                elif isinstance(result, BaseException):
                    errors.append(result)
            self._write_local_state(committed)
            # 7. any error crashes the worker: a successor starts from what committed
            await self._fail(errors)
            return True

    def _write_local_state(self, partitions: set[int]) -> None:
        """Step 6: the committed transactions' table writes, with their changelog
        offsets, into each table's local store (``CommittedStore.commit_partition``)."""
        for table in self.app.tables.values():
            commit_partition = getattr(table, "commit_partition", None)
            if commit_partition is not None:
                for partition in sorted(partitions):
                    commit_partition(partition)

    async def _commit_one(
        self, tid: str, offsets: Mapping[TP, int], start_new_transaction: bool
    ) -> bool:
        """Step 5 for one transaction; ``False`` when no producer is open for it here."""
        kafka = self._kafka
        lock = kafka._trn_locks.get(tid)  # noqa: SLF001  faust's per-transaction send/commit lock
        if lock is None:  # never begun here
            log.warning("commit invoked for unknown transaction %s", tid)
            return False
        async with lock:
            producer = kafka._transaction_producers.get(tid)  # noqa: SLF001  no public lookup
            if producer is None:  # stopped by a rebalance
                log.warning("commit invoked for unknown transaction %s", tid)
                return False
            await producer.send_offsets_to_transaction(offsets, self.app.conf.id)
            await producer.commit_transaction()
            if start_new_transaction:
                await producer.begin_transaction()
        return True

    async def _fail(self, errors: list[BaseException]) -> None:
        """Step 7: crash on a fenced producer (another worker owns the partition now, as
        faust's ``commit`` does) and on any other error of step 5: the transaction did
        not commit, but this worker's state cache and uncommitted table writes already
        hold its batches; a successor aborts it and processes them again."""
        for error in errors:
            if isinstance(error, ProducerFenced):
                log.warning("ProducerFenced %s", error)
            else:
                log.error("a transaction failed to commit: %r", error)
            guard_of(self.app).fail(error)
            await self.app.crash(error)
            return
