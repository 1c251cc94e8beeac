"""Partition time in replay: a customer's own delayed event against timers that other
customers' events made due (issue 22, "Delayed own events vs partition-time timers").

cust A signs up at 03-02T10:00 (nudge_day_1 due 03-03T10:00); customer B, on the same
partition, logs in at 03-03T10:02; A's key action, dated 03-03T09:58, arrives last. The
worker wakes A when its partition's time has passed the due time by the timer grace;
replay now moves time the same way, so both agree, below and above the grace.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from journeys import default_journey, in_holdout
from journeys.clock import PartitionClock
from schemas.events import TouchpointEvent
from streams.kafka.keys import partition_for
from streams.replay.timeline import Arrival, Replayer, Tick, delivered, timeline

PARTITIONS = 8
SIGNUP = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DUE = SIGNUP + timedelta(days=1)


def _same_partition() -> tuple[str, str]:
    """Two customers outside the holdout whose keys share a partition."""
    found: dict[int, str] = {}
    for i in range(1000):
        key = f"cust-{i}"
        if in_holdout(key, "lifecycle", 5):
            continue
        p = partition_for(key, PARTITIONS)
        if p in found:
            return found[p], key
        found[p] = key
    raise AssertionError("no two keys share a partition")


A, B = _same_partition()


def _event(eid: str, customer: str, kind: str, at: datetime) -> TouchpointEvent:
    props = {"plan": "pro"} if kind == "signed_up" else {}
    return TouchpointEvent.model_validate(
        {
            "event_id": eid,
            "customer_id": customer,
            "type": kind,
            "event_time": at,
            "source": "web",
            "properties": props,
        }
    )


def _clock(grace: timedelta) -> PartitionClock:
    return PartitionClock(functools.partial(partition_for, partitions=PARTITIONS), grace)


def _kinds(grace: timedelta | None, key_action_at: datetime, other_at: datetime) -> list[str]:
    """A's delivered trigger kinds, in the order replay sends them."""
    clock = None if grace is None else _clock(grace)
    replayer = Replayer([default_journey()], fanout=False, clock=clock)
    arrivals = [
        _event("a-1", A, "signed_up", SIGNUP),
        _event("b-1", B, "login", other_at),
        _event("a-2", A, "key_action", key_action_at),
    ]
    kinds: list[str] = []
    for event in arrivals:
        for done in replayer.event(event):
            if done.customer == A:
                kinds += [t.kind for _, o in done.outcomes for t in delivered(o)]
    return kinds


def test_an_own_event_delayed_less_than_the_grace_comes_before_the_timer() -> None:
    kinds = _kinds(timedelta(minutes=10), DUE - timedelta(minutes=2), DUE + timedelta(minutes=2))
    assert kinds == ["onboarding.welcome", "onboarding.activated"]


def test_without_a_grace_the_partition_time_fires_the_nudge_first_as_the_worker_did() -> None:
    kinds = _kinds(timedelta(0), DUE - timedelta(minutes=2), DUE + timedelta(minutes=2))
    assert kinds == ["onboarding.welcome", "onboarding.nudge_day_1", "onboarding.activated"]


def test_a_delay_beyond_the_grace_fires_the_timer_first_in_replay_too() -> None:
    # B's event is 2 days later: A's day-1 nudge fires at partition time, before A's
    # key action dated just before it (day 3's is due at B's time, within the grace).
    kinds = _kinds(timedelta(minutes=10), DUE - timedelta(minutes=2), DUE + timedelta(days=2))
    assert kinds == ["onboarding.welcome", "onboarding.nudge_day_1", "onboarding.activated"]
    assert _kinds(None, DUE - timedelta(minutes=2), DUE + timedelta(days=2)) == [
        "onboarding.welcome",
        "onboarding.activated",
    ]


def test_a_customer_on_another_partition_is_not_woken() -> None:
    other = next(
        f"x-{i}"
        for i in range(1000)
        if partition_for(f"x-{i}", PARTITIONS) != partition_for(A, PARTITIONS)
    )
    replayer = Replayer([default_journey()], fanout=False, clock=_clock(timedelta(0)))
    replayer.event(_event("a-1", A, "signed_up", SIGNUP))
    steps = replayer.event(_event("x-1", other, "login", DUE + timedelta(days=5)))
    assert [s.kind for s in steps] == ["event"]


def test_a_tick_moves_the_partition_time_of_a_one_customer_replay() -> None:
    clock = _clock(timedelta(minutes=10))
    replayer = Replayer([default_journey()], fanout=False, clock=clock)
    replayer.event(_event("a-1", A, "signed_up", SIGNUP))
    b_login = _event("b-1", B, "login", DUE + timedelta(minutes=11))
    steps = replayer.tick(Tick(A, b_login))  # B's login, read from A's partition
    assert [(s.kind, s.customer, s.at) for s in steps] == [("wake", A, DUE + timedelta(minutes=1))]
    assert [t.kind for _, o in steps[0].outcomes for t in delivered(o)] == [
        "onboarding.nudge_day_1"
    ]


def test_the_timeline_shows_the_woken_customers_timer_among_its_records() -> None:
    items = [
        Arrival(_event("a-1", A, "signed_up", SIGNUP), "f:1"),
        Arrival(_event("b-1", B, "login", DUE + timedelta(days=2)), "f:2"),
        Arrival(_event("a-2", A, "key_action", DUE - timedelta(minutes=2)), "f:3"),
    ]
    records = list(
        timeline(
            [default_journey()],
            items,
            until=None,
            fanout=False,
            keep={A}.__contains__,
            clock=_clock(timedelta(minutes=10)),
        )
    )
    shown = [
        (r["type"], r.get("event_id") or r.get("trigger", {}).get("kind"))  # type: ignore[union-attr]
        for r in records
        if r["type"] in ("event", "trigger")
    ]
    assert shown == [
        ("event", "a-1"),
        ("trigger", "onboarding.welcome"),
        ("trigger", "onboarding.nudge_day_1"),  # woken by B's event, before A's own
        ("event", "a-2"),
        ("trigger", "onboarding.activated"),
    ]
