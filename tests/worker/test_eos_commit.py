"""The commit's steps (``SourceTransactionManager.commit``), without a broker: fake
aiokafka producers, one per transaction, record what they were asked and when."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, ProducerFenced
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP

from streams.worker.eos import Guard, SourceTransactionManager, StableOffsetConsumer, guard_of

A0, A1, B0 = TP("a", 0), TP("a", 1), TP("b", 0)


@dataclass
class FakeTransactionProducer:
    """An aiokafka transactional producer: the calls of commit step 5, in order."""

    log: list[str]
    name: str
    fail_with: BaseException | None = None
    offsets: list[dict[TP, int]] = field(default_factory=list)

    async def send_offsets_to_transaction(self, offsets: dict[TP, int], group_id: str) -> None:
        self.log.append(f"{self.name} offsets")
        self.offsets.append(dict(offsets))
        await asyncio.sleep(0.01)  # a broker round trip: the other commits run meanwhile

    async def commit_transaction(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.log.append(f"{self.name} commit")

    async def begin_transaction(self) -> None:
        self.log.append(f"{self.name} begin")


@dataclass
class FakeTable:
    """A table whose store is written on commit (``TrackedTable.commit_partition``)."""

    committed: list[int] = field(default_factory=list)

    def commit_partition(self, partition: int) -> int:
        self.committed.append(partition)
        return 1


class Assignor:
    def group_for_topic(self, topic: str) -> int:
        return {"a": 0, "b": 1}[topic]


def make(tps: set[TP], producers: dict[str, FakeTransactionProducer]) -> tuple[Any, Any]:
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    app = SimpleNamespace(
        conf=SimpleNamespace(id="app"),
        assignor=Assignor(),
        consumer=SimpleNamespace(assignment=lambda: set(tps)),
        crash=crash,
        crashes=crashes,
        tables={"customers": FakeTable()},
    )
    kafka = SimpleNamespace(
        _transaction_producers=dict(producers),
        _trn_locks={tid: asyncio.Lock() for tid in producers},
    )
    manager = SourceTransactionManager(
        SimpleNamespace(app=app), consumer=app.consumer, producer=kafka
    )
    return manager, app


def finish(guard: Guard, tp: TP, offset: int) -> None:
    guard.finish(SimpleNamespace(ack=lambda: None, message=SimpleNamespace(tp=tp, offset=offset)))


async def _each_transaction_commits_its_own_partitions_offsets_concurrently() -> None:
    log: list[str] = []
    p0 = FakeTransactionProducer(log, "p0")
    p1 = FakeTransactionProducer(log, "p1")
    manager, app = make({A0, A1, B0}, {"app-0-0": p0, "app-0-1": p1})
    guard = guard_of(app)
    finish(guard, A0, 4)
    finish(guard, A1, 9)
    assert await manager.commit({A0: 1}) is True  # faust's offsets: ignored
    assert p0.offsets == [{A0: 5}] and p1.offsets == [{A1: 10}]
    # both offsets sent before either commit: the transactions commit concurrently
    assert log[:2] == ["p0 offsets", "p1 offsets"]
    assert sorted(log[2:]) == ["p0 begin", "p0 commit", "p1 begin", "p1 commit"]
    assert guard.committed == {A0: 5, A1: 10}
    # the committed partitions' table writes go to the local store, after the commits
    assert app.tables["customers"].committed == [0, 1]


async def _a_commit_waits_for_the_agent_holding_the_lock_and_its_changelog_writes() -> None:
    log: list[str] = []
    manager, app = make({A0}, {"app-0-0": FakeTransactionProducer(log, "p0")})
    guard = guard_of(app)
    write: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with guard.lock:  # an agent mid-event
        guard.track(write)
        commit = asyncio.ensure_future(manager.commit({}))
        await asyncio.sleep(0.02)
        assert not commit.done()
        finish(guard, A0, 7)  # the event's offset, recorded before the lock is released
    await asyncio.sleep(0.02)
    assert log == []  # the changelog write is not acknowledged yet
    write.set_result(None)
    assert await commit is True
    assert log == ["p0 offsets", "p0 commit", "p0 begin"]
    assert guard.committed == {A0: 8}


async def _nothing_new_commits_nothing() -> None:
    log: list[str] = []
    manager, app = make({A0}, {"app-0-0": FakeTransactionProducer(log, "p0")})
    guard = guard_of(app)
    finish(guard, A0, 1)
    await manager.commit({})
    await manager.commit({})
    assert log == ["p0 offsets", "p0 commit", "p0 begin"]


async def _a_failed_commit_books_only_what_committed_and_crashes_the_worker() -> None:
    log: list[str] = []
    error = KafkaConnectionError()
    broken = FakeTransactionProducer(log, "p1", fail_with=error)
    manager, app = make(
        {A0, A1}, {"app-0-0": FakeTransactionProducer(log, "p0"), "app-0-1": broken}
    )
    guard = guard_of(app)
    finish(guard, A0, 1)
    finish(guard, A1, 2)
    assert await manager.commit({}) is True
    assert guard.committed == {A0: 2}
    assert app.tables["customers"].committed == [0]  # partition 1's writes never reach it
    assert app.crashes == [error] and guard.failed is error  # nothing commits after it
    assert not guard.lock.locked()


async def _a_fenced_producer_crashes_the_worker() -> None:
    log: list[str] = []
    fenced = FakeTransactionProducer(log, "p0", fail_with=ProducerFenced())
    manager, app = make({A0}, {"app-0-0": fenced})
    finish(guard_of(app), A0, 1)
    assert await manager.commit({}) is True
    assert len(app.crashes) == 1 and isinstance(app.crashes[0], ProducerFenced)
    assert guard_of(app).committed == {}
    assert app.tables["customers"].committed == []


async def _a_partition_without_an_open_transaction_is_not_booked() -> None:
    manager, app = make({A0}, {})
    finish(guard_of(app), A0, 1)
    assert await manager.commit({}) is True
    assert guard_of(app).committed == {}


def test_each_transaction_commits_its_own_partitions_offsets_concurrently() -> None:
    asyncio.run(_each_transaction_commits_its_own_partitions_offsets_concurrently())


def test_a_commit_waits_for_the_agent_holding_the_lock_and_its_changelog_writes() -> None:
    asyncio.run(_a_commit_waits_for_the_agent_holding_the_lock_and_its_changelog_writes())


def test_nothing_new_commits_nothing() -> None:
    asyncio.run(_nothing_new_commits_nothing())


def test_a_failed_commit_books_only_what_committed_and_crashes_the_worker() -> None:
    asyncio.run(_a_failed_commit_books_only_what_committed_and_crashes_the_worker())


def test_a_fenced_producer_crashes_the_worker() -> None:
    asyncio.run(_a_fenced_producer_crashes_the_worker())


def test_a_partition_without_an_open_transaction_is_not_booked() -> None:
    asyncio.run(_a_partition_without_an_open_transaction_is_not_booked())


async def _after_a_failed_batch_nothing_commits() -> None:
    log: list[str] = []
    p0 = FakeTransactionProducer(log, "p0")
    manager, app = make({A0}, {"app-0-0": p0})
    guard = guard_of(app)
    finish(guard, A0, 4)
    guard.fail(OSError("disk full"))
    with pytest.raises(RuntimeError, match="must not commit"):
        await manager.commit({})
    assert log == [] and guard.committed == {}  # the open transaction is left to abort
    guard.fail(ValueError("later"))
    assert isinstance(guard.failed, OSError)  # the first failure is the one kept


def test_after_a_failed_batch_nothing_commits() -> None:
    asyncio.run(_after_a_failed_batch_nothing_commits())


def test_the_consumer_commits_nothing_after_a_failed_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """At-least-once: faust's take_events acks a failed batch's events on the way out;
    the consumer's commit (periodic, or at shutdown) must not move past them."""
    calls: list[object] = []

    async def faust_commit(
        self: Any, topics: Any = None, start_new_transaction: bool = True
    ) -> bool:
        calls.append(topics)
        return True

    monkeypatch.setattr(AIOKafkaConsumer, "commit", faust_commit)
    app = SimpleNamespace()
    consumer = StableOffsetConsumer.__new__(StableOffsetConsumer)  # no transport needed
    consumer.app = app  # type: ignore[assignment]
    assert asyncio.run(consumer.commit()) is True
    guard_of(app).fail(OSError("disk full"))
    assert asyncio.run(consumer.commit()) is False
    assert calls == [None]
