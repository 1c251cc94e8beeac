"""The due index: due customers per partition, lazy invalidation, watermarks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from streams.worker import journey_agent
from streams.worker.due_index import DueIndex

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_pops_only_due_customers_of_the_partition_in_due_order() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=5)
    index.schedule(0, "b", T0 + timedelta(hours=2))
    index.schedule(0, "a", T0 + timedelta(hours=1))
    index.schedule(1, "c", T0)
    assert index.pop_due(0, T0) == []
    assert index.pop_due(0, T0 + timedelta(hours=2)) == ["a", "b"]
    assert index.pop_due(0, T0 + timedelta(days=9)) == []
    assert index.pop_due(1, T0) == ["c"]


def test_a_rescheduled_or_cleared_customer_is_not_woken_for_the_old_time() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=5)
    index.schedule(0, "a", T0)
    index.schedule(0, "a", T0 + timedelta(days=1))
    index.schedule(0, "b", T0)
    index.schedule(0, "b", None)
    assert index.pop_due(0, T0 + timedelta(hours=1)) == []
    assert index.pop_due(0, T0 + timedelta(days=1)) == ["a"]


def test_event_clock_moves_only_with_event_time() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=0)
    assert index.watermark(0, T0) is None
    index.observe(0, T0 - timedelta(days=3))
    index.observe(0, T0 - timedelta(days=5))  # late event: no step back
    assert index.watermark(0, T0) == T0 - timedelta(days=3)


def test_live_clock_follows_the_wall_clock_when_idle() -> None:
    index = DueIndex(clock="live", idle_grace_seconds=0)
    index.observe(0, T0 - timedelta(days=3))
    assert index.watermark(0, T0) == T0
    assert index.watermark(1, T0) == T0
    busy = DueIndex(clock="live", idle_grace_seconds=3600)
    busy.observe(0, T0 - timedelta(days=3))
    assert busy.watermark(0, T0) == T0 - timedelta(days=3)


def test_live_clock_counts_idleness_on_the_injected_monotonic_clock() -> None:
    now = [1000.0]
    index = DueIndex(clock="live", idle_grace_seconds=60, monotonic=lambda: now[0])
    index.observe(0, T0 - timedelta(days=3))
    now[0] += 59.0  # busy: the partition's own event time
    assert index.watermark(0, T0) == T0 - timedelta(days=3)
    now[0] += 1.0  # idle for the grace: the wall clock minus the grace
    assert index.watermark(0, T0) == T0 - timedelta(seconds=60)


def test_pop_due_takes_at_most_the_limit_earliest_first_and_keeps_the_rest() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=0)
    for i in range(5):
        index.schedule(0, f"c{i}", T0 + timedelta(minutes=5 - i))
    later = T0 + timedelta(hours=1)
    assert index.pop_due(0, later, limit=2) == ["c4", "c3"]
    assert len(index) == 3
    assert index.pop_due(0, later, limit=0) == []
    assert index.pop_due(0, later) == ["c2", "c1", "c0"]


def test_a_batch_wakes_at_most_its_budget_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    woken: list[str] = []

    async def on_wakeup(rt: Any, customer: str, partition: int, at: datetime) -> None:
        woken.append(customer)

    monkeypatch.setattr(journey_agent, "on_wakeup", on_wakeup)
    index = DueIndex(clock="event", idle_grace_seconds=0)
    for i in range(10):
        index.schedule(i % 2, f"c{i}", T0 + timedelta(minutes=i))
    index.observe(0, T0 + timedelta(days=1))
    index.observe(1, T0 + timedelta(days=1))
    rt = SimpleNamespace(due_index=index, metrics=SimpleNamespace(woken=lambda path, n: None))
    budget = journey_agent.WakeBudget(4)

    async def batch() -> None:
        await journey_agent.wake_due(rt, 0, budget)  # type: ignore[arg-type]
        await journey_agent.wake_due(rt, 1, budget)  # type: ignore[arg-type]

    asyncio.run(batch())
    assert woken == ["c0", "c2", "c4", "c6"] and budget.left == 0
    assert len(index) == 6  # the others wait for the next batch or tick
