"""The consumer: a changelog partition's end asked to the broker (finding 6), as the
offset after its last committed record; no commit after a failed batch.

:class:`StableOffsetConsumer` is installed as the transport's ``Consumer`` by
:func:`streams.worker.eos.install`; table recovery reads each changelog partition up to
the end its thread reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

import aiokafka
from faust.transport.drivers.aiokafka import (
    AIOKafkaConsumerThread,
    Transport,
    credentials_to_aiokafka_auth,
    server_list,
)
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP
from faust.types.transports import TPorTopicSet
from mode.services import WaitResults

from streams.worker.eager import first_step
from streams.worker.eos.guard import guard_of


class StableOffsetConsumerThread(AIOKafkaConsumerThread):
    """faust's consumer thread, with the last stable offsets asked to the broker, and its
    stream checks timed from when a partition could first be processed.

    Under exactly-once, faust takes a changelog partition's end (where table recovery
    stops) from ``AIOKafkaConsumer.last_stable_offset(tp)``: the value seen in the last
    fetch response of that partition, ``None`` before the first fetch after an
    assignment. faust turns ``None`` into -1: recovery of a newly assigned partition
    read nothing (the new owner ran on empty or stale state), and a partition with a
    persisted offset crashed the worker with ``ConsistencyError`` (offset > -1).
    ``end_offsets`` sends a ListOffsets request with the consumer's isolation level,
    which under ``read_committed`` answers the last stable offset (finding 6).
    """

    _watched: dict[TP, tuple[int, float]] | None = None

    def verify_event_path(self, now: float, tp: TP) -> None:
        """faust's check that an assigned partition is fetched, processed and committed,
        from when it could first be processed here, not from the worker's start.

        faust measures "Stream has not started processing" from the worker's start: a
        partition taken over minutes after the start (a standby becoming active, a
        scale-in) has lag and no event processed yet while its table restores and its
        stream is paused by design, and faust logged that ERROR at once ("started 7.03
        minutes ago", issue 25). Here nothing is checked while a restore runs, and a
        partition's checks start ``stream_processing_timeout`` after the later of its
        assignment (the rebalance generation it was first seen in) and the end of the
        last restore; then faust's checks apply as they are."""
        recovery: Any = cast(Any, self.app.tables).recovery
        if bool(recovery.in_recovery) or not recovery.completed.is_set():
            return None
        generation = int(self.app.consumer_generation_id)
        watched = self._watched if self._watched is not None else {}
        self._watched = watched
        seen = watched.get(tp)
        if seen is None or seen[0] != generation:
            seen = watched[tp] = (generation, now)
        ended = recovery._recovery_ended_at or 0.0  # noqa: SLF001  when the last restore ended
        if now - max(seen[1], ended) < self.tp_stream_timeout_secs:
            return None
        super().verify_event_path(now, tp)

    # faust private: AIOKafkaConsumerThread._highwaters answers Consumer.highwaters
    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """Under exactly-once: the offset after each partition's last committed record
        (:func:`after_last_committed`), else its end."""
        consumer = self._ensure_consumer()
        ends: Mapping[TP, int] = await consumer.end_offsets(partitions)
        if not self.app.in_transaction:
            return ends
        starts: Mapping[TP, int] = await consumer.beginning_offsets(partitions)
        if all(end <= starts.get(tp, 0) for tp, end in ends.items()):
            return ends  # nothing to read back (and aiokafka 0.14's stop of a reader
            # never assigned a partition raises CancelledError)
        conf = self.app.conf
        reader = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=server_list(self.transport.url, Transport.default_port),
            client_id=f"{conf.broker_client_id}-changelog-ends",
            isolation_level="read_committed",
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            request_timeout_ms=int(conf.broker_request_timeout * 1000.0),
            **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
        )
        await reader.start()
        try:
            return await after_last_committed(reader, ends, starts)
        finally:
            await _stop(reader)


async def _stop(reader: aiokafka.AIOKafkaConsumer) -> None:
    """Stop ``reader``. aiokafka 0.14 can raise the CancelledError of one of its own tasks
    from ``stop()``; only a cancellation of this task goes on."""
    try:
        await reader.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


FIRST_WINDOW = 64  # records read back from a partition's end, then 8 times more each round
ENDS_TIMEOUT_S = 10.0


async def after_last_committed(
    reader: aiokafka.AIOKafkaConsumer,
    ends: Mapping[TP, int],
    starts: Mapping[TP, int],
    seconds: float = ENDS_TIMEOUT_S,
) -> dict[TP, int]:
    """Per partition, the offset after its last record that a ``read_committed`` reader
    sees (``starts[tp]`` when none), reading back from ``ends[tp]`` (the last stable
    offset).

    faust's table recovery is done with a partition when it has applied the record at
    the end it was given minus one. Under exactly-once the offsets before the last stable
    offset end with a transaction marker (and perhaps an aborted transaction's records),
    which no reader ever gets: faust then waited for two 5 s timeouts of its recovery
    loop before it looked at the consumer's position ("Aborted tx until highwater"), ten
    seconds of every restart. Given the offset after the last committed record instead,
    it is done when it applies that record. A partition whose end cannot be read back in
    ``seconds`` keeps ``ends[tp]`` (faust's own detection then applies).
    """
    found = dict(ends)
    deadline = asyncio.get_running_loop().time() + seconds
    windows = {tp: FIRST_WINDOW for tp, end in ends.items() if end > starts.get(tp, 0)}
    while windows:
        ranges = {tp: (max(starts.get(tp, 0), ends[tp] - w), ends[tp]) for tp, w in windows.items()}
        lasts = await _last_records(reader, ranges, deadline)
        if lasts is None:
            break  # out of time: the others keep their end
        for tp, last in lasts.items():
            if last >= 0:
                found[tp] = last + 1
                del windows[tp]
            elif ranges[tp][0] == starts.get(tp, 0):
                found[tp] = ranges[tp][0]  # nothing committed in the partition
                del windows[tp]
            else:
                windows[tp] *= 8
    return found


async def _last_records(
    reader: aiokafka.AIOKafkaConsumer, ranges: Mapping[TP, tuple[int, int]], deadline: float
) -> dict[TP, int] | None:
    """Per partition, the offset of the last record ``reader`` gets in ``[begin, end)``
    (``ranges``), -1 when none, all partitions read together; None when the deadline
    passed first."""
    loop = asyncio.get_running_loop()
    reader.assign(list(ranges))
    for tp, (begin, _) in ranges.items():
        reader.seek(tp, begin)
    last = dict.fromkeys(ranges, -1)
    todo = set(ranges)
    while todo:
        if loop.time() > deadline:
            return None
        batches = await reader.getmany(*todo, timeout_ms=200)
        for tp, records in batches.items():
            end = ranges[tp][1]
            for record in records:
                if record.offset < end:
                    last[tp] = max(last[tp], record.offset)
        todo = {tp for tp in todo if await reader.position(tp) < ranges[tp][1]}
    return last


class StableOffsetConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, with :class:`StableOffsetConsumerThread`, that commits
    nothing once a batch has failed, and hands fetched records on without a task each."""

    async def wait_first(
        self,
        *coros: Any,
        timeout: Any = None,  # noqa: ASYNC109  mode's signature
    ) -> WaitResults:
        """mode's ``wait_first``, with the record delivery of faust's fetcher run eagerly.

        faust's ``Consumer._drain_messages`` delivers each fetched record with
        ``wait_first(callback(message), self.suspend_flow.wait())`` (its only call here):
        mode makes a task of each coroutine and of the service's stopped and crashed
        events, waits for the first, and cancels the rest; four tasks and about four
        turns of the event loop per record, where the delivery nearly always finishes
        without waiting. While the flow runs and the consumer is neither stopping nor
        crashed, the delivery's first step runs here (:func:`streams.worker.eager.first_step`):
        finished, it is the winner, as it would have been; suspended (a full stream
        buffer, a paused flow, a lock), its rest goes through mode's ``wait_first`` with
        the other coroutine, as before. Any other call is mode's."""
        if (
            len(coros) == 2
            and timeout is None
            and asyncio.iscoroutine(coros[0])
            and asyncio.iscoroutine(coros[1])
            and not self.suspend_flow.is_set()
            # private: mode's Service events, read as its wait_first reads them
            and not self._stopped.is_set()
            and not self._crashed.is_set()
        ):
            delivery, other = coros
            finished, value = first_step(delivery)
            if finished:
                other.close()  # never started: nothing to cancel, no "never awaited"
                return WaitResults([delivery], [value], False)
            return await super().wait_first(value, other)
        return await super().wait_first(*coros, timeout=timeout)

    async def commit(
        self, topics: TPorTopicSet | None = None, start_new_transaction: bool = True
    ) -> bool:
        """faust's commit, refused after a batch failed (``Guard.fail``; the worker is
        stopping). faust's ``take_events`` acks a batch's events when the agent leaves
        it, even by an exception: under at-least-once, where faust commits the acked
        offsets itself, its next commit (or the one at shutdown) would have moved past a
        batch whose state or output was never written. Under exactly-once the
        transaction manager refuses too (commit step 0)."""
        if guard_of(self.app).failed is not None:
            return False
        return bool(await super().commit(topics, start_new_transaction))

    # faust private: Consumer._new_consumer_thread is the only way to choose the thread
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return StableOffsetConsumerThread(self, loop=self.loop, beacon=self.beacon)
