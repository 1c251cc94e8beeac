"""Everything one agent batch produces, sent as one Kafka record batch per partition.

faust sends record by record: per record a pending message, a future, sensor calls, the
producer's lock, aiokafka's partitioner, accumulator and per-message future. With five
outputs per event (two copies of each trigger, the changelog), that was most of the
worker's time. :class:`BatchedOutput` keeps the records an agent batch produces, grouped
by (transaction, topic, partition), and sends each group as one record batch
(aiokafka's ``create_batch``/``send_batch``, which joins the producer's transaction
like a single send) when the agent batch ends, under the agents' lock.

- The transaction of a record is the one of the event it was produced for (its source
  partition, as :class:`~streams.worker.eos.transactions.SourceTransactionManager`
  routes a single send); a record produced outside an event (a timer's wake-up) goes
  through the plain idempotent producer, as before.
- Table changelog records come here too (:class:`~streams.worker.eos.tables.TrackedTable`
  hands them over): when their batch is acknowledged, the offset of each table's last
  record is recorded for the store as faust's own callback does (persisted on commit
  under exactly-once), and the batch's future is tracked by the guard, so a commit
  waits for it.
- Records of one partition keep the order they were added in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import faust
from faust.types import TP

from streams.worker.eos.guard import guard_of

OnSent = Callable[[TP, int], None]  # (topic partition, offset of the record)
Group = tuple[str | None, str, int]  # (transactional id or None, topic, partition)


class BatchedOutput:
    """The records of the current agent batch, sent by :meth:`flush`."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._groups: dict[Group, list[tuple[bytes | None, bytes | None, OnSent | None]]] = {}
        # the last event's transaction: an event's records (its triggers to two topics,
        # its states) all join it, so it is looked up once per event, not per record
        self._last: tuple[object, str | None] | None = None

    def add(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        *,
        on_sent: OnSent | None = None,
    ) -> None:
        """Keep one record for ``topic``'s ``partition``, in the transaction of the event
        being processed (``faust.current_event()``), if any."""
        group = (self._transaction(), topic, partition)
        records = self._groups.get(group)
        if records is None:
            records = self._groups[group] = []
        records.append((key, value, on_sent))

    def __len__(self) -> int:
        return sum(len(records) for records in self._groups.values())

    async def flush(self) -> None:
        """Send every kept record, one record batch per group (more when one is full)."""
        groups, self._groups = self._groups, {}
        self._last = None  # nor is an event of this batch held past it
        guard = guard_of(self.app)
        for (tid, topic, partition), records in groups.items():
            producer = self._producer(tid)
            start = 0
            while start < len(records):
                batch = producer.create_batch()
                end = start
                while end < len(records):
                    key, value, _ = records[end]
                    if batch.append(timestamp=None, key=key, value=value) is None:
                        break
                    end += 1
                if end == start:  # one record larger than a batch: faust's way, alone
                    key, value, _ = records[start]
                    fut = await producer.send(topic, value, key=key, partition=partition)
                    end = start + 1
                else:
                    fut = await producer.send_batch(batch, topic, partition=partition)
                guard.track(fut)
                self._call_back(fut, records[start:end])
                start = end

    def _transaction(self) -> str | None:
        """The open transaction of the event being processed, if there is one."""
        event = faust.current_event()
        if event is None or not self.app.in_transaction:
            return None
        last = self._last
        if last is not None and last[0] is event:
            return last[1]
        tid = self._transaction_of(event)
        self._last = (event, tid)
        return tid

    def _transaction_of(self, event: Any) -> str | None:
        """The transaction of ``event``'s source partition, as a single send gets it."""
        manager: Any = self.app.consumer.transactions  # SourceTransactionManager
        message = event.message
        tid: str | None = manager._tid(message.topic, message.partition)  # noqa: SLF001  faust has no public lookup
        return tid

    def _producer(self, tid: str | None) -> Any:
        """The aiokafka producer of transaction ``tid``, else the plain one."""
        kafka: Any = self.app.producer  # faust's aiokafka driver Producer
        if tid is not None:
            producer = kafka._transaction_producers.get(tid)  # noqa: SLF001  faust's producer per transaction, no public lookup
            if producer is not None:
                return producer
        return kafka._ensure_producer()  # noqa: SLF001  faust's started aiokafka producer

    @staticmethod
    def _call_back(
        fut: asyncio.Future[Any], records: list[tuple[bytes | None, bytes | None, OnSent | None]]
    ) -> None:
        """Call each record's ``on_sent`` with its offset once its batch is acknowledged."""
        wanted = [(i, cb) for i, (_, _, cb) in enumerate(records) if cb is not None]
        if not wanted:
            return

        def done(f: asyncio.Future[Any]) -> None:
            if f.cancelled() or f.exception() is not None:
                return  # the commit fails on it (the guard drains this future)
            meta = f.result()
            tp = TP(meta.topic, meta.partition)
            for index, on_sent in wanted:
                on_sent(tp, meta.offset + index)

        fut.add_done_callback(done)


def batched_of(app: Any) -> BatchedOutput | None:
    """The app's :class:`BatchedOutput`, if it has one (:func:`attach`)."""
    batched: BatchedOutput | None = getattr(app, "batched_output", None)
    return batched


def attach(app: faust.App) -> BatchedOutput:
    """Give ``app`` one :class:`BatchedOutput`: its tables' changelog records go there."""
    batched = batched_of(app)
    if batched is None:
        batched = BatchedOutput(app)
        app.batched_output = batched  # type: ignore[attr-defined]  # one per app instance
    return batched
