"""journeys_timers_pending / journeys_timers_overdue: what a tick publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from streams.ops.metrics import Metrics
from streams.worker.due_index import DueIndex
from streams.worker.timer_tick import publish_timers

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
GRACE, INTERVAL = 5.0, 1.0
SLACK = timedelta(seconds=GRACE + 2 * INTERVAL)  # idle grace + two timer intervals


def rt_for(index: DueIndex) -> Any:
    return SimpleNamespace(
        due_index=index,
        metrics=Metrics(),
        settings=SimpleNamespace(timer_interval_seconds=INTERVAL),
    )


def gauges(rt: Any) -> tuple[float | None, float | None]:
    get = rt.metrics.registry.get_sample_value
    return get("journeys_timers_pending"), get("journeys_timers_overdue")


def test_overdue_counts_pending_timers_due_before_the_cut_once_each() -> None:
    index = DueIndex(clock="live", idle_grace_seconds=GRACE)
    for i in range(20):  # spread over two partitions, one heap each
        index.schedule(i % 2, f"c{i}", T0 + timedelta(minutes=i))
    index.schedule(0, "c0", T0 + timedelta(days=1))  # rescheduled: no longer overdue
    index.schedule(1, "c1", None)  # cleared
    index.schedule(0, "c2", T0 + timedelta(days=1))
    index.schedule(0, "c2", T0 + timedelta(minutes=2))  # back: counted once
    assert len(index) == 19
    assert index.overdue(T0 + timedelta(minutes=5)) == 3  # c2, c3, c4
    assert index.overdue(T0) == 0
    assert index.overdue(T0 + timedelta(days=2)) == 19


def test_live_clock_timers_are_overdue_past_wall_now_minus_the_slack() -> None:
    index = DueIndex(clock="live", idle_grace_seconds=GRACE)
    rt = rt_for(index)
    wall = T0 + timedelta(hours=1)
    index.schedule(0, "late", wall - SLACK - timedelta(seconds=1))
    index.schedule(0, "within-slack", wall - SLACK + timedelta(seconds=1))
    index.schedule(1, "future", wall + timedelta(days=1))
    # partition 0 is busy: its event-time watermark trails the wall clock
    publish_timers(rt, wall, [T0])
    assert gauges(rt) == (3, 1)
    # the tick fires what is due; nothing it left behind is overdue any more
    index.pop_due(0, wall - timedelta(seconds=GRACE))
    publish_timers(rt, wall, [wall - timedelta(seconds=GRACE)])
    assert gauges(rt) == (1, 0)


def test_event_clock_measures_against_the_highest_watermark() -> None:
    index = DueIndex(clock="event", idle_grace_seconds=GRACE)
    rt = rt_for(index)
    wall = T0 + timedelta(days=365)  # the wall clock plays no part in event time
    index.schedule(0, "a", T0)
    index.schedule(1, "b", T0 + timedelta(hours=1))
    publish_timers(rt, wall, [])
    assert gauges(rt) == (2, 0)  # no watermark yet: nothing can be overdue
    # partition 1 moved to T0 + 2 h; partition 0 has not seen an event since T0 - 1 h
    index.pop_due(1, T0 + timedelta(hours=2))
    publish_timers(rt, wall, [T0 - timedelta(hours=1), T0 + timedelta(hours=2)])
    assert gauges(rt) == (1, 1)
