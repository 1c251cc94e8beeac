"""The timer index rebuilt on assignment (``timer_tick.rebuild``): from a snapshot of the
table, a chunk per hold of the agents' lock, the agents going on in between; due times
read from the stored JSON equal the engine's."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

import journeys
from journeys import driver
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


def runtime_for(store: CustomerStore, partitions: set[int]) -> Any:
    actives = {TP("keyed", p) for p in partitions}
    return Runtime(
        due_index=DueIndex(clock="event", idle_grace_seconds=0),
        customers=store,
        guard=Guard(),
        partitions=PARTITIONS,
        specs={"keyed": SimpleNamespace(name="keyed")},
        app=SimpleNamespace(assignor=SimpleNamespace(assigned_actives=lambda: actives)),
    )


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
            store.stages.update(table[changed], {"lifecycle": moved})
            table[changed] = {"lifecycle": moved}
            rt.due_index.schedule(partition_for(changed, PARTITIONS), changed, None)
            store.stages.update(table.pop(removed), {})
            rt.due_index.schedule(partition_for(removed, PARTITIONS), removed, None)

    task = asyncio.ensure_future(agent())
    assert await timer_tick.rebuild(rt, frozenset({0, 1})) is True
    await task
    assert not rt.due_index.rebuilding
    # stage counts: as if counted from the table as it is now
    recount = CustomerStore(dict(table), definitions)
    for record in table.values():
        recount.stages.update({}, record)
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
        rt.due_index.reset(())  # what the table's on_recover does after a restore

    task = asyncio.ensure_future(rebalance())
    assert await timer_tick.rebuild(rt, frozenset({0, 1})) is False
    await task
    assert rt.due_index.partitions == frozenset() and not rt.due_index.rebuilding


def test_a_rebalance_interrupts_the_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timer_tick, "REBUILD_CHUNK", 3)
    asyncio.run(_a_rebalance_interrupts_the_rebuild())
