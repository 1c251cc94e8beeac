"""Bounded reads from Kafka for replay and diff: by key or whole topic, from a time.

Two reads: every record of one key (only the key's partition, found with the same
murmur2 partitioner as the Java client, aiokafka and faust), and every record of a
topic. Both start at a time (``offsets_for_times``) or at the beginning, stop at the end
offsets captured when the read starts (or at ``until``), and read with
``read_committed`` so aborted transactional writes are never replayed. Nothing is
committed: no group id, no auto commit.

The reads run on aiokafka (faust's own client, already a dependency) behind a
synchronous interface: its C record parser scans a partition about 8 times faster than
kafka-python's pure-Python one (about 5 us against 35 us a record here), which is most
of the time of replaying one customer from a large topic. kafka-python is used for its
murmur2 (a test checks it against aiokafka's partitioner) and by ``--emit``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.kafka.keys import partition_for
from streams.kafka.preflight import attempt
from streams.kafka.retry import retry_async

Progress = Callable[[int, int], None]
"""Called as ``progress(records_scanned, records_to_scan)`` while reading."""

T = TypeVar("T")
_BATCH = 50_000


class KafkaReadError(Exception):
    """The read cannot proceed: broker unreachable, topic missing, or stalled."""


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One record as read: where it was, its timestamp, key and value bytes."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None

    @property
    def origin(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class KafkaReader:
    """A group-less, read-committed consumer with a synchronous interface.

    ``config`` holds the connection and security arguments (``bootstrap_servers`` and
    what ``Settings.kafka_python_config()`` returns; aiokafka takes the same names).
    Opening fails with ``KafkaReadError`` within about ``timeout_s``, its message naming
    the cause found by :mod:`~streams.kafka.preflight` (aiokafka says only "Unable to
    bootstrap" whether the broker is down, rejected the password or speaks TLS).
    """

    def __init__(self, config: dict[str, Any], *, timeout_s: float = 10.0) -> None:
        # aiokafka logs connection errors itself; the CLI reports one line instead.
        logging.getLogger("aiokafka").addHandler(logging.NullHandler())
        self.timeout_s = timeout_s
        self.servers = config.get("bootstrap_servers")
        self._loop = asyncio.new_event_loop()
        timeout_ms = max(int(timeout_s * 1000), 1500)

        async def make() -> AIOKafkaConsumer:  # aiokafka wants a running loop
            return AIOKafkaConsumer(
                **config,
                group_id=None,
                enable_auto_commit=False,
                isolation_level="read_committed",
                request_timeout_ms=timeout_ms,
                fetch_max_wait_ms=200,
                max_partition_fetch_bytes=16 * 1024 * 1024,
                fetch_max_bytes=64 * 1024 * 1024,
                check_crcs=False,  # the broker checked every batch when it was written
                auto_offset_reset="earliest",
            )

        self._consumer = self._loop.run_until_complete(make())
        try:
            self._run(self._consumer.start())
        except (KafkaError, OSError, TimeoutError) as exc:
            cause = self._diagnose(config)
            self.close()
            message = (
                str(cause) if cause else f"cannot reach Kafka at {_servers(self.servers)}: {exc}"
            )
            raise KafkaReadError(message) from exc

    def _diagnose(self, config: dict[str, Any]) -> Exception | None:
        """Why the consumer could not start, in one line, or None when unknown."""
        try:
            return self._run(attempt(config, timeout_s=min(self.timeout_s, 5.0)))
        except Exception:  # the diagnosis is a courtesy: never hide the original failure
            return None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout_s))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(asyncio.wait_for(self._consumer.stop(), 5))
        except Exception:  # closing after a failure: nothing more to report
            pass
        finally:
            self._loop.close()

    def __enter__(self) -> KafkaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def partitions(self, topic: str) -> list[int]:
        """The partition numbers of ``topic``; ``KafkaReadError`` when it does not exist."""
        client = self._consumer._client  # noqa: SLF001  aiokafka keeps its metadata on the client

        async def lookup() -> set[int] | None:
            cluster = await client.fetch_all_metadata()
            found: set[int] | None = cluster.partitions_for_topic(topic)
            if found:
                await client.add_topic(topic)  # tracked: offset lookups find the leaders
            return found

        try:
            found = self._run(retry_async(lookup, deadline_s=self.timeout_s))
        except (KafkaError, TimeoutError) as exc:
            raise KafkaReadError(f"cannot read metadata of topic {topic}: {exc}") from exc
        if not found:
            raise KafkaReadError(f"topic {topic} does not exist")
        return sorted(found)

    def read_key(
        self,
        topic: str,
        key: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
        stall_s: float = 10.0,
        others: bool = False,
    ) -> Iterator[KafkaRecord]:
        """Records whose key is ``key``, in offset order, from its partition only; with
        ``others``, that partition's records of the other keys too (what moved the
        partition's time in the worker)."""
        tp = self._partition_of(topic, key)
        wanted = None if others else key.encode()
        yield from self._scan([tp], since, until, progress, stall_s, wanted)

    def _partition_of(self, topic: str, key: str) -> TopicPartition:
        """The partition of ``topic`` that ``key`` lands on (the default partitioner)."""
        partitions = self.partitions(topic)
        return TopicPartition(topic, partitions[partition_for(key, len(partitions))])

    def read_topic(
        self,
        topic: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
        stall_s: float = 10.0,
    ) -> Iterator[KafkaRecord]:
        """Every record of ``topic`` in the range, partition by partition in offset order."""
        tps = [TopicPartition(topic, p) for p in self.partitions(topic)]
        yield from self._scan(tps, since, until, progress, stall_s, None)

    async def _bounds(
        self, tps: list[TopicPartition], since: datetime | None, until: datetime | None
    ) -> dict[TopicPartition, tuple[int, int]]:
        """(first offset, stop offset) per partition; stop is exclusive."""
        consumer = self._consumer
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        if since is None:
            starts: dict[TopicPartition, int] = await consumer.beginning_offsets(tps)
        else:
            found = await consumer.offsets_for_times({tp: _ms(since) for tp in tps})
            starts = {tp: ends[tp] if found.get(tp) is None else found[tp].offset for tp in tps}
        stops = dict(ends)
        if until is not None:
            after = await consumer.offsets_for_times({tp: _ms(until) + 1 for tp in tps})
            for tp in tps:
                hit = after.get(tp)
                if hit is not None:
                    stops[tp] = min(stops[tp], hit.offset)
        return {tp: (starts[tp], max(starts[tp], stops[tp])) for tp in tps}

    def _scan(
        self,
        tps: list[TopicPartition],
        since: datetime | None,
        until: datetime | None,
        progress: Progress | None,
        stall_s: float,
        wanted: bytes | None,
    ) -> Iterator[KafkaRecord]:
        try:
            # A topic just created (a fresh broker) may have no leader yet: retried.
            bounds = self._run(
                retry_async(lambda: self._bounds(tps, since, until), deadline_s=self.timeout_s)
            )
        except (KafkaError, TimeoutError) as exc:
            raise KafkaReadError(f"cannot look up offsets: {exc}") from exc
        done = _Done(sum(stop - start for start, stop in bounds.values()), progress)
        done.add(0)
        consumer = self._consumer
        # One partition at a time keeps each partition's records in offset order.
        for tp in tps:
            start, stop = bounds[tp]
            if start >= stop:
                continue
            self._run(_assign(consumer, tp, start))
            yield from self._scan_partition(tp, start, stop, stall_s, wanted, done)
        self._run(_assign(consumer, None, 0))

    def _scan_partition(
        self,
        tp: TopicPartition,
        start: int,
        stop: int,
        stall_s: float,
        wanted: bytes | None,
        done: _Done,
    ) -> Iterator[KafkaRecord]:
        """The records of ``tp`` (assigned at ``start``) before ``stop``, of key ``wanted``
        (any key if ``None``), the offsets passed counted in ``done``."""
        consumer = self._consumer
        position, last_data = start, time.monotonic()
        while position < stop:
            try:
                polled = self._loop.run_until_complete(
                    consumer.getmany(tp, timeout_ms=500, max_records=_BATCH)
                )
                # Transaction markers and aborted records have offsets but no records.
                new_position = min(stop, int(self._run(consumer.position(tp))))
            except (KafkaError, TimeoutError) as exc:
                where = f"{tp.topic}[{tp.partition}]"
                raise KafkaReadError(f"read failed at {where}: {exc}") from exc
            for msg in polled.get(tp, ()):
                if msg.offset >= stop:
                    break
                if wanted is None or msg.key == wanted:
                    yield KafkaRecord(
                        tp.topic, tp.partition, msg.offset, msg.timestamp, msg.key, msg.value
                    )
            if new_position > position:
                done.add(new_position - position)
                position, last_data = new_position, time.monotonic()
            elif time.monotonic() - last_data > stall_s:
                raise KafkaReadError(
                    f"no progress reading {tp.topic}[{tp.partition}] at offset {position} "
                    f"(stop {stop}) for {stall_s:.0f} s"
                )


@dataclass
class _Done:
    """Offsets read so far, of ``total``, reported to ``progress`` at each step."""

    total: int
    progress: Progress | None
    done: int = 0

    def add(self, offsets: int) -> None:
        self.done += offsets
        if self.progress is not None:
            self.progress(self.done, self.total)


async def _assign(consumer: AIOKafkaConsumer, tp: TopicPartition | None, offset: int) -> None:
    """Read ``tp`` from ``offset`` (None: read nothing); aiokafka wants a running loop."""
    if tp is None:
        consumer.unsubscribe()
        return
    consumer.assign([tp])
    consumer.seek(tp, offset)


def _servers(servers: Any) -> str:
    return ",".join(servers) if isinstance(servers, list | tuple) else str(servers)
