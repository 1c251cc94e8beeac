"""Bulk restore: a changelog read in large fetches into RocksDB write batches.

faust's table recovery hands every changelog record to the recovery loop as an event
(the consumer thread, the fetcher, the conductor, a queue, ``on_changelog_event``, a
buffer of 1,000 applied by ``apply_changelog_batch``): about 4,000 records a second on
two cores, four minutes for a million customers (issue 25). Kafka Streams restores a
store with its own restore consumer (``max.poll.records`` 1,000 per poll, the whole
fetch buffered) and writes each poll to RocksDB in one write batch; quix-streams does
the same per partition. :func:`restore` does that before faust's recovery reads the
tail:

1. one dedicated ``read_committed`` reader, large fetches (``fetch_max_bytes``,
   ``max_partition_fetch_bytes``), CRC checks off (the broker checked them when the
   records were produced; Kafka Streams keeps them on, at a cost measured here at about
   a tenth of the rate), reads every partition in ``[start, end)`` together;
2. each fetch of a partition becomes one RocksDB write batch that also holds the offset
   of its last record (faust's offset key): the store is always the committed changelog
   up to the offset it records, as :class:`~streams.worker.eos.store.CommittedStore`
   keeps it, whatever stops the restore (a crash, another rebalance, the deadline);
3. the caller then gives faust's recovery the offsets reached: it reads what is left,
   the records committed meanwhile (the tail), record by record, as before.

Progress (records restored, left, rate) is in :class:`RestoreProgress`, read by the
metrics, the log and ``/readyz``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiokafka
import rocksdict
from faust.transport.drivers.aiokafka import (
    Transport,
    credentials_to_aiokafka_auth,
    server_list,
)
from faust.types import TP

log = logging.getLogger(__name__)

FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
LOG_EVERY_S = 5.0


class Target(Protocol):
    """Where a changelog partition is restored to: a faust RocksDB store."""

    offset_key: bytes

    # faust private: Store._db_for_partition opens (or returns) a partition's RocksDB
    def _db_for_partition(self, partition: int) -> Any: ...

    def note_current_at(self, partition: int, seconds: float) -> None:
        """The store reflects a changelog record of time ``seconds`` (its age, for the
        tombstone retention: :mod:`~streams.worker.eos.store`)."""


@dataclass
class RestoreProgress:
    """Restore figures of a worker: the metrics, the log and ``/readyz`` read them."""

    restored_total: int = 0  #: records written by bulk restores since the start
    remaining: int = 0  #: records left in the restore under way (0 when none runs)
    rate: float = 0.0  #: records per second of the last (or current) restore
    running: bool = False
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    wall_clock: Callable[[], float] = field(default=time.time, repr=False)

    def left(self, remaining: int) -> None:
        self.remaining = max(remaining, 0)


def progress_of(app: Any) -> RestoreProgress:
    """The worker's :class:`RestoreProgress` (made on first use)."""
    progress: RestoreProgress | None = getattr(app, "journeys_restore_progress", None)
    if progress is None:
        progress = RestoreProgress()
        app.journeys_restore_progress = progress
    return progress


def reader_for(app: Any) -> aiokafka.AIOKafkaConsumer:
    """A ``read_committed`` consumer of ``app``'s broker sized for bulk reads."""
    conf = app.conf
    return aiokafka.AIOKafkaConsumer(
        bootstrap_servers=server_list(conf.broker, Transport.default_port),
        client_id=f"{conf.broker_client_id}-restore",
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_max_wait_ms=100,
        check_crcs=False,
        request_timeout_ms=int(conf.broker_request_timeout * 1000.0),
        **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
    )


def write(target: Target, partition: int, records: list[Any], end: int) -> tuple[int, int]:
    """Write ``records`` (offsets below ``end``) of ``partition`` to ``target`` in one
    write batch, with the offset of the last one, then the time of that record. Returns
    that offset (-1 if none) and the number of records written."""
    batch = rocksdict.WriteBatch(raw_mode=True)
    last, n, stamp = -1, 0, None
    for record in records:
        if record.offset >= end:
            break
        if record.value is None:
            batch.delete(record.key)
        else:
            batch.put(record.key, record.value)
        last, stamp = record.offset, record.timestamp
        n += 1
    if n:
        batch.put(target.offset_key, str(last).encode())
        target._db_for_partition(partition).write(batch)  # noqa: SLF001  the store's DB
        if stamp is not None and stamp >= 0:
            target.note_current_at(partition, stamp / 1000.0)
    return last, n


async def restore(
    reader: aiokafka.AIOKafkaConsumer,
    ranges: Mapping[TP, tuple[int, int]],
    targets: Mapping[TP, Target],
    progress: RestoreProgress,
    deadline: float,
    title: str = "active",
) -> dict[TP, int]:
    """Restore each partition's records in ``[start, end)`` (``ranges``) into its target;
    returns the offset of the last record written per partition (left out: none). Stops
    at ``deadline`` (``progress.clock``) with what it wrote so far. ``title`` (active,
    standby) names the partitions in the log."""
    todo = {tp: r for tp, r in ranges.items() if r[1] > r[0]}
    if not todo:
        return {}
    clock = progress.clock
    began = last_log = clock()
    began_at = progress.wall_clock()  # after the ends were asked: a partition read to
    # its end holds every record committed before this (less the time since the ends)
    reached = {tp: start - 1 for tp, (start, _) in todo.items()}
    done = 0  # records written

    def left() -> int:  # offsets left to read (a compacted log has fewer records)
        return sum(end - 1 - reached[tp] for tp, (_, end) in todo.items())

    progress.running = True
    progress.left(left())
    kafka_tps = {tp: aiokafka.TopicPartition(tp.topic, tp.partition) for tp in todo}
    reader.assign(list(kafka_tps.values()))
    for tp, (start, _) in todo.items():
        reader.seek(kafka_tps[tp], start)
    try:
        while todo and clock() < deadline:
            batches = await reader.getmany(*(kafka_tps[tp] for tp in todo), timeout_ms=200)
            for ktp, records in batches.items():
                tp = TP(ktp.topic, ktp.partition)
                last, n = write(targets[tp], tp.partition, records, todo[tp][1])
                if n:
                    reached[tp] = last
                    done += n
                    progress.restored_total += n
            for tp in list(todo):
                end = todo[tp][1]
                if reached[tp] >= end - 1 or await reader.position(kafka_tps[tp]) >= end:
                    del todo[tp]
                    reader.pause(kafka_tps[tp])
                    if reached[tp] >= 0:
                        targets[tp].note_current_at(tp.partition, began_at)
            now = clock()
            progress.left(left())
            progress.rate = done / max(now - began, 1e-6)
            if now - last_log >= LOG_EVERY_S:
                last_log = now
                log.info(
                    "bulk restore of %s partitions: %d records restored, %d offsets left, "
                    "%.0f records/s",
                    title,
                    done,
                    progress.remaining,
                    progress.rate,
                )
    finally:
        progress.running = False
        progress.left(0)
    elapsed = clock() - began
    log.info(
        "bulk restore of %s partitions: %d records in %.1f s (%.0f records/s)%s",
        title,
        done,
        elapsed,
        done / max(elapsed, 1e-6),
        f", {len(todo)} partitions left to the changelog recovery" if todo else "",
    )
    return {tp: offset for tp, offset in reached.items() if offset >= ranges[tp][0]}
