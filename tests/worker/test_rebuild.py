"""The timer index rebuilt on assignment (``timer_tick.rebuild``): from a snapshot of the
table, a chunk per turn of the event loop, the agents going on in between; due times
read from the stored JSON equal the engine's."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

import journeys
from journeys import driver
from journeys.clock import DueTimes
from journeys.state import dump_state
from schemas.decode import decode_touchpoints
from streams.kafka.keys import partition_for
from streams.sim.population import generate_load
from streams.worker import timer_tick
from streams.worker.customers import CustomerStore
from streams.worker.due_index import DueIndex
from streams.worker.eos import Guard

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PARTITIONS = 2


def simulated_records(customers: int) -> dict[str, dict[str, Any]]:
    """Table values of simulated customers after their history (default journey)."""
    definitions = [journeys.default_journey()]
    states: dict[str, dict[str, Any]] = defaultdict(dict)
    for message in generate_load(11, customers * 12, customers, id_prefix="r"):
        for event in decode_touchpoints(message.value, received_at=T0).events:
            states[event.key] = driver.on_event(definitions, states[event.key], event).states
    return {
        key: {name: dump_state(state) for name, state in customer.items()}
        for key, customer in states.items()
    }


def test_due_read_from_the_stored_json_equals_the_engines() -> None:
    store = CustomerStore({}, [journeys.default_journey()])
    records = simulated_records(300)
    dues = [store.due(record) for record in records.values()]
    assert dues == [driver.due(store.decode(record)) for record in records.values()]
    assert sum(d is not None for d in dues) > 100  # timers armed: the comparison means something


def test_an_agent_schedule_during_a_rebuild_wins_over_the_snapshot() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=0)
    index.begin_rebuild({0})
    index.schedule(0, "agent-first", T0 + timedelta(days=2))  # the agent, then the snapshot
    index.restore(0, "agent-first", T0)
    index.restore(0, "snapshot-first", T0)  # the snapshot, then the agent clears it
    index.schedule(0, "snapshot-first", None)
    index.restore(0, "untouched", T0 + timedelta(hours=1))
    index.end_rebuild()
    assert index.pop_due(0, T0 + timedelta(days=3)) == ["untouched", "agent-first"]
    index.restore(0, "after", T0)  # no rebuild running: a plain schedule
    assert index.pop_due(0, T0) == ["after"]


class Runtime(SimpleNamespace):
    """What ``timer_tick.rebuild`` reads of the worker's runtime."""


def runtime_for(store: CustomerStore, partitions: set[int], count: int = PARTITIONS) -> Any:
    """A runtime whose index was assigned ``partitions`` (group generation 1)."""
    actives = {TP("keyed", p) for p in partitions}
    recovery = SimpleNamespace(in_recovery=False, signal_recovery_start=asyncio.Event())
    rt = Runtime(
        due_index=DueIndex(clock="event", idle_grace_seconds=0),
        customers=store,
        guard=Guard(),
        partitions=count,
        specs={"keyed": SimpleNamespace(name="keyed")},
        app=SimpleNamespace(
            assignor=SimpleNamespace(assigned_actives=lambda: actives),
            tables=SimpleNamespace(recovery=recovery),
            consumer_generation_id=1,
        ),
    )
    rt.due_index.assign(partitions, 1)
    return rt


def reassign(rt: Any, partitions: set[int], generation: int) -> None:
    """A rebalance as faust signals it: revoked, then assigned ``partitions``."""
    rt.due_index.revoked()
    rt.app.consumer_generation_id = generation
    rt.app.assignor.assigned_actives = lambda: {TP("keyed", p) for p in partitions}
    timer_tick.on_assigned(rt)


async def rebuilding(rt: Any) -> None:
    """Until a rebuild has begun (a few loop turns at most)."""
    for _ in range(100):
        if rt.due_index.rebuilding:
            return
        await asyncio.sleep(0)
    raise AssertionError("no rebuild began")


async def _the_agents_run_between_chunks_and_counts_stay_exact() -> None:
    definitions = [journeys.default_journey()]
    records = simulated_records(40)
    table = dict(records)
    store = CustomerStore(table, definitions)
    rt = runtime_for(store, {0, 1})
    keys = sorted(table)
    changed, removed = keys[0], keys[1]
    interleaved: list[int] = []

    async def agent() -> None:
        """Waits for the first chunk, then changes two customers, as a batch would."""
        await rebuilding(rt)
        async with rt.guard.lock:
            interleaved.append(len(rt.due_index))
            moved = dict(table[changed]["lifecycle"], stage="lapsed", timers={})
            store.stages.update(
                partition_for(changed, PARTITIONS), table[changed], {"lifecycle": moved}
            )
            table[changed] = {"lifecycle": moved}
            rt.due_index.schedule(partition_for(changed, PARTITIONS), changed, None)
            store.stages.update(partition_for(removed, PARTITIONS), table.pop(removed), {})
            rt.due_index.schedule(partition_for(removed, PARTITIONS), removed, None)

    task = asyncio.ensure_future(agent())
    assert await timer_tick.rebuild(rt, frozenset({0, 1})) is True
    await task
    assert not rt.due_index.rebuilding
    # stage counts: as if counted from the table as it is now
    recount = CustomerStore(dict(table), definitions)
    for key, record in table.items():
        recount.stages.update(partition_for(key, PARTITIONS), {}, record)
    assert store.stages.current() == recount.stages.current()
    # timers: the agent's word for the two it touched, the snapshot's for the others
    expected = {
        key: store.due(record)
        for key, record in records.items()
        if key not in (changed, removed) and store.due(record) is not None
    }
    assert len(rt.due_index) == len(expected)
    assert interleaved[0] <= 7 < len(expected)  # the agent ran after the first chunk
    far = T0 + timedelta(days=3650)
    woken = [c for p in (0, 1) for c in rt.due_index.pop_due(p, far)]
    assert sorted(woken) == sorted(expected)


def test_the_agents_run_between_chunks_and_counts_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timer_tick, "REBUILD_CHUNK", 7)
    asyncio.run(_the_agents_run_between_chunks_and_counts_stay_exact())


async def _a_rebalance_interrupts_the_rebuild() -> None:
    store = CustomerStore(dict(simulated_records(20)), [journeys.default_journey()])
    rt = runtime_for(store, {0, 1})

    async def rebalance() -> None:
        await rebuilding(rt)
        reassign(rt, {0, 1}, 2)

    task = asyncio.ensure_future(rebalance())
    assert await timer_tick.rebuild(rt, frozenset({0, 1})) is False
    await task
    assert not rt.due_index.rebuilding
    assert rt.due_index.pending == {0, 1}  # kept, never rebuilt: still to rebuild


def test_a_rebalance_interrupts_the_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timer_tick, "REBUILD_CHUNK", 3)
    asyncio.run(_a_rebalance_interrupts_the_rebuild())


def test_due_times_drop_forgets_a_partitions_keys_only() -> None:
    times = DueTimes()
    times.schedule(0, "a", T0)
    times.schedule(0, "a", T0 + timedelta(hours=1))  # the first entry superseded
    times.schedule(0, "b", T0)
    times.schedule(1, "c", T0)
    times.drop({0, 7})
    assert len(times) == 1 and times.due_of("a") is None and times.due_of("c") == T0
    assert times.partitions() == {1}
    assert times.pop_due(1, T0) == ["c"]


def test_an_assignment_keeps_the_partitions_kept_in_the_next_generation() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=0)
    assert index.assign({0, 1}, 4) == frozenset()  # the first: nothing to keep
    index.recovered(confirmed=True)
    assert index.to_rebuild() == {0, 1}
    index.begin_rebuild({0, 1})
    for p, key in ((0, "a"), (1, "b"), (3, "stray")):
        index.restore(p, key, T0)
    index.end_rebuild()
    index.revoked()
    assert index.assign({1, 2}, 5) == {1}
    assert (index.pending, index.unconfirmed, index.to_rebuild()) == ({2}, {2}, set())
    assert index.due_of("b") == T0 and index.due_of("a") is None and len(index) == 1
    index.recovered(confirmed=True)
    assert index.to_rebuild() == {2}
    # a generation missed (this worker left the group meanwhile): nothing kept
    index.revoked()
    assert index.assign({1, 2}, 7) == frozenset()
    assert index.pending == {1, 2} and len(index) == 0


def test_a_restore_not_known_to_be_the_assignments_rebuilds_again() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=0)
    index.assign({0}, 1)
    index.recovered(confirmed=False)  # a late restore of an earlier assignment, maybe
    index.begin_rebuild(index.to_rebuild())
    index.end_rebuild()
    assert index.to_rebuild() == set() and index.unconfirmed == {0}
    index.recovered(confirmed=True)  # the assignment's own: rebuilt once more
    assert index.to_rebuild() == {0} and index.unconfirmed == set()
    index.begin_rebuild({0})
    index.end_rebuild()
    index.recovered(confirmed=True)
    assert index.to_rebuild() == set()


async def _a_rebalance_rebuilds_only_the_partitions_newly_assigned() -> None:
    definitions = [journeys.default_journey()]
    table = dict(simulated_records(60))
    store = CustomerStore(table, definitions, partition_of=lambda key: partition_for(key, 4))
    rt = runtime_for(store, {0, 1}, count=4)
    by_partition: dict[int, list[str]] = defaultdict(list)
    for key in sorted(table):
        by_partition[partition_for(key, 4)].append(key)
    assert all(len(by_partition[p]) > 5 for p in range(4))
    timer_tick.on_recovered(rt)
    assert await timer_tick.rebuild(rt, rt.due_index.to_rebuild()) is True
    # the agent, on kept partition 1: one customer moves on, one not in the table yet
    moved_key = by_partition[1][0]
    moved = dict(table[moved_key]["lifecycle"], stage="lapsed", timers={})
    store.stages.update(1, table[moved_key], {"lifecycle": moved})
    table[moved_key] = {"lifecycle": moved}
    rt.due_index.schedule(1, moved_key, None)
    rt.due_index.schedule(1, "only-in-the-index", T0)  # a rebuild of 1 would lose it
    # keep 1, give 0 away, take 2 over
    reassign(rt, {1, 2}, 2)
    assert rt.due_index.to_rebuild() == set()  # not before its restore completed
    timer_tick.on_recovered(rt)
    assert rt.due_index.to_rebuild() == {2}
    read: list[str] = []
    snapshot = store.snapshot

    def spied(partitions: frozenset[int], partition_of: Any) -> Any:
        for partition, key, record in snapshot(partitions, partition_of):
            read.append(key)
            yield partition, key, record

    store.snapshot = spied  # type: ignore[method-assign]
    assert await timer_tick.rebuild(rt, rt.due_index.to_rebuild()) is True
    assert sorted(read) == sorted(by_partition[2])
    assert rt.due_index.to_rebuild() == set()
    # timers: exactly partitions 1 and 2 as the table holds them, plus the agent's own
    expected = {
        key: store.due(table[key])
        for p in (1, 2)
        for key in by_partition[p]
        if store.due(table[key]) is not None
    }
    expected["only-in-the-index"] = T0
    assert moved_key not in expected and len(rt.due_index) == len(expected)
    assert {key: rt.due_index.due_of(key) for key in expected} == expected
    far = T0 + timedelta(days=3650)
    assert rt.due_index.pop_due(0, far) == []
    # stage counts: exactly partitions 1 and 2 of the table
    recount = CustomerStore({}, definitions)
    for p in (1, 2):
        for key in by_partition[p]:
            recount.stages.update(p, {}, table[key])
    assert store.stages.current() == recount.stages.current()
    assert set(store.stages.counts) == {1, 2}


def test_a_rebalance_rebuilds_only_the_partitions_newly_assigned() -> None:
    asyncio.run(_a_rebalance_rebuilds_only_the_partitions_newly_assigned())


class _Event:
    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def test_the_stage_counts_follow_the_partition_of_each_write() -> None:
    store = CustomerStore({}, [journeys.default_journey()])
    records = list(simulated_records(6).items())
    for partition, (key, record) in enumerate(records[:3]):
        store.current = lambda p=partition: _Event(p)  # type: ignore[misc]
        state = store.decode(record)
        store.write(key, state, ["lifecycle"])
        store.flush(lambda origin: contextlib.nullcontext())
    stage = lambda record: record["lifecycle"]["stage"]  # noqa: E731
    assert {p: dict(c["lifecycle"]) for p, c in store.stages.counts.items()} == {
        p: {stage(record): 1} for p, (_, record) in enumerate(records[:3])
    }
    store.stages.keep_only({1})
    assert store.stages.current() == {"lifecycle": {stage(records[1][1]): 1}}
