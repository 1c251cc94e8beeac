"""Scale-out: two workers of one app (one consumer group), RocksDB state, exactly once.

Worker A starts alone on 4 partitions; a population streams in; worker B joins
mid-stream (two partitions move to B with their state: changelog restore; A becomes
their standby); then B is SIGKILLed mid-stream and A takes its partitions back.
Every trigger topic read with ``read_committed`` must hold exactly the triggers that the
pure engine (``streams.replay.timeline.Replayer``) gives for the same events: none missing, no
duplicate. A timer due after the moves (day-1 nudges of customers who signed up while
A owned everything) fires once, and ``/customers/{id}`` answers the same from both
workers (faust's ``table_route`` forwards to the owner). streams/worker/eos/FINDINGS.md tells
what broke here and how it is fixed.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from journeys import default_journey
from schemas.decode import decode_touchpoints
from streams.replay.timeline import Replayer
from tests.live.worker_harness import WorkerProcess

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PARTITIONS = 4
CUSTOMERS = 180  # four events and four triggers each (a few in the holdout: none)
SLEEPY_PER_PARTITION = 2  # sign up only: a day-1 nudge, due after the moves
TICK_AT = T0 + timedelta(days=1, hours=12)  # one event per partition: fires the nudges

Message = tuple[str, dict[str, Any]]


def event(event_id: str, customer: str, type_: str, at: datetime, **props: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer,
        "type": type_,
        "event_time": at.isoformat(),
        "properties": props,
    }


def story(customer: str, n: int) -> list[Message]:
    h = timedelta(hours=1)
    base = T0 + timedelta(minutes=n)
    return [
        (customer, event(f"{customer}-e1", customer, "signed_up", base, plan="pro")),
        (customer, event(f"{customer}-e2", customer, "key_action", base + h)),
        (customer, event(f"{customer}-e3", customer, "csat_submitted", base + 2 * h, score=1)),
        (customer, event(f"{customer}-e4", customer, "order_completed", base + 3 * h, amount=1500)),
    ]


def names_on(w: WorkerProcess, base: str, partition: int, count: int) -> list[str]:
    names = (f"{base}-{w.prefix}-{i}" for i in itertools.count())
    return list(itertools.islice((n for n in names if w.partition_of(n) == partition), count))


def expected_triggers(messages: list[Message], until: datetime | None = None) -> Counter[str]:
    """Trigger ids the engine gives for ``messages`` (in order), then time up to ``until``."""
    replayer = Replayer([default_journey()], fanout=False)
    ids: Counter[str] = Counter()
    for _, value in messages:
        (touchpoint,) = decode_touchpoints(json.dumps(value).encode(), received_at=T0).events
        for step in replayer.event(touchpoint):
            for _, outcome in step.outcomes:
                ids.update(t.trigger_id for t in outcome.triggers if not t.holdout)
    for _, _, outcome in replayer.advance(until) if until is not None else ():
        ids.update(t.trigger_id for t in outcome.triggers if not t.holdout)
    return ids


def committed_ids(w: WorkerProcess, role: str, expect: int, **kwargs: Any) -> Counter[str]:
    records = w.read_records(role, expect=expect, **kwargs)
    return Counter(json.loads(v)["trigger_id"] for _, v in records)


def assert_exactly(got: Counter[str], expected: Counter[str]) -> None:
    duplicates = {i: n for i, n in got.items() if n > 1}
    missing = set(expected) - set(got)
    unexpected = set(got) - set(expected)
    assert not duplicates, f"{len(duplicates)} duplicated triggers"
    assert not missing, f"{len(missing)} missing triggers"
    assert not unexpected, f"{len(unexpected)} unexpected triggers"


def owners(w: WorkerProcess, table_topic: str) -> dict[int, str]:
    """partition -> web URL of its active owner, as worker ``w`` sees the assignment."""
    status, body = w.get("/router/")
    assert status == 200, body
    found: dict[int, str] = {}
    for url, tables in body.items():
        for partition in tables.get(table_topic, []):
            found[partition] = url
    return found


def produce_async(w: WorkerProcess, messages: list[Message]) -> threading.Thread:
    thread = threading.Thread(target=w.produce, args=(messages,))
    thread.start()
    return thread


def test_scale_out_then_sigkill_gives_each_trigger_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    a = WorkerProcess(
        kafka_bootstrap, tmp_path, partitions=PARTITIONS, store="rocksdb://", name="a"
    )
    b = a.peer(tmp_path, "b")
    customers = [f"c-{a.prefix}-{n}" for n in range(CUSTOMERS)]
    sleepy = [s for p in range(PARTITIONS) for s in names_on(a, "sleepy", p, SLEEPY_PER_PARTITION)]
    tickers = [names_on(a, "tick", p, 1)[0] for p in range(PARTITIONS)]
    stories = [m for n, c in enumerate(customers) for m in story(c, n)]
    third = len(stories) // 3
    phase1 = [(s, event(f"{s}-e1", s, "signed_up", T0)) for s in sleepy] + stories[:third]
    phase2, phase3 = stories[third : 2 * third], stories[2 * third :]
    ticks = [(t, event(f"{t}-e1", t, "page_viewed", TICK_AT)) for t in tickers]
    expected = expected_triggers(phase1 + phase2 + phase3 + ticks, TICK_AT)
    nudges = len(sleepy)
    assert sum(expected.values()) == len(expected) > 3 * CUSTOMERS + nudges - 1

    try:
        a.start()
        a.produce(phase1)
        streaming = produce_async(a, phase2)
        b.start()  # joins mid-stream: a rebalance moves two partitions to B
        streaming.join()
        a.wait_ready(60)
        b.wait_ready(60)

        # both own partitions; the customer view answers the same from both workers
        customers_topic = f"{a.prefix}-customers-changelog"
        by_a, by_b = owners(a, customers_topic), owners(b, customers_topic)
        assert by_a == by_b and set(by_a) == set(range(PARTITIONS))
        assert len(set(by_a.values())) == 2, f"no scale-out: {by_a}"
        probe = [next(c for c in customers[:40] if a.partition_of(c) == p) for p in range(4)]
        before = expected_triggers(phase1 + phase2)
        assert_exactly(committed_ids(a, "triggers", expect=len(before), timeout=30), before)
        for customer in probe:
            answers = [w.get(f"/customers/{customer}") for w in (a, b)]
            assert answers[0] == answers[1], (customer, a.partition_of(customer), by_a, answers)
            status, body = answers[0]
            assert status == 200 and body["journeys"]["lifecycle"]["stage"] == "active"

        # SIGKILL the newcomer mid-stream: its partitions go back to A, whose local
        # state of them dates from before the move (the hardest case for RocksDB)
        streaming = produce_async(a, phase3)
        time.sleep(0.5)
        b.kill()
        streaming.join()
        at_kill = sum(committed_ids(a, "triggers", expect=1, timeout=2, settle=0).values())
        assert at_kill < len(expected) - nudges, "the kill was not mid-stream"

        # event time passes the nudges' due time on every partition, on the survivor
        a.produce(ticks)
        got = committed_ids(a, "triggers", expect=len(expected), timeout=60, settle=3)
        assert_exactly(got, expected)
        for family in ("onboarding", "recovery", "growth"):
            fam = committed_ids(a, f"triggers.{family}", expect=1, timeout=10, settle=0.5)
            assert max(fam.values()) == 1, family
        assert a.proc is not None and a.proc.poll() is None, "the survivor crashed"
        assert set(owners(a, customers_topic).values()) == {f"http://127.0.0.1:{a.port}"}
        status, body = a.get(f"/customers/{probe[0]}")
        assert status == 200 and body["customer_id"] == probe[0]
    finally:
        for w in (a, b):
            if w.proc is not None:
                w.stop()
