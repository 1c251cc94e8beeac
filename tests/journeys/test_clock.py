"""Due times per partition (journeys.clock.DueTimes), what the partition clock of replay
and the worker's due index and suppressions keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from journeys.clock import OVERDUE_LIMIT, DueTimes

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_key_scheduled_again_is_popped_once_at_its_last_time() -> None:
    times = DueTimes()
    times.schedule(0, "a", T0)
    times.schedule(0, "a", T0 + timedelta(hours=1))
    times.schedule(0, "b", T0)
    times.schedule(0, "b", None)
    times.schedule(1, "c", T0)
    assert len(times) == 2
    assert times.due_of("a") == T0 + timedelta(hours=1)
    assert times.pop_due(0, T0) == []
    assert times.pop_due(0, T0 + timedelta(hours=1)) == ["a"]
    assert (times.due_of("a"), len(times)) == (None, 1)


def test_pop_due_keeps_what_is_past_the_limit() -> None:
    times = DueTimes()
    for n in range(3):
        times.schedule(0, f"k{n}", T0 + timedelta(minutes=n))
    assert times.pop_due(0, T0 + timedelta(hours=1), limit=2) == ["k0", "k1"]
    assert times.pop_due(0, T0 + timedelta(hours=1)) == ["k2"]


def test_overdue_counts_pending_keys_only() -> None:
    times = DueTimes()
    times.schedule(0, "a", T0)
    times.schedule(0, "a", T0 + timedelta(days=1))  # its old entry stays in the heap
    times.schedule(1, "b", T0)
    times.schedule(1, "c", T0 + timedelta(days=2))
    assert times.overdue(T0 + timedelta(hours=1)) == 1
    assert times.overdue(T0 + timedelta(days=3)) == 3
    times.clear()
    assert (len(times), times.overdue(T0 + timedelta(days=3))) == (0, 0)


def test_overdue_is_counted_up_to_its_limit() -> None:
    times = DueTimes()
    for n in range(30):
        times.schedule(n % 3, f"k{n}", T0 + timedelta(minutes=n))
    times.schedule(0, "k0", T0 + timedelta(minutes=1))  # an old entry, counted once
    assert times.overdue(T0 + timedelta(hours=1)) == 30
    assert times.overdue(T0 + timedelta(hours=1), limit=12) == 12
    assert times.overdue(T0 + timedelta(minutes=10), limit=12) == 10  # under the limit
    assert OVERDUE_LIMIT == 10_000
