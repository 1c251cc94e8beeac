"""Exactly once across a crash: SIGKILL the worker mid-stream, restart it, and read the
trigger and dead-letter topics with ``read_committed``: exactly the expected set, none
missing, no duplicates (default settings: exactly_once, RocksDB store)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from journeys import default_journey, in_holdout
from schemas.triggers import Cause, trigger_id
from tests.live.worker_harness import WorkerProcess

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CUSTOMERS = 250
BAD_EVERY = 10  # one bad message after every 10th customer


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap,
        Path(tmp_path_factory.mktemp("eos")),
        partitions=4,
        store="rocksdb://",
    )
    w.start()
    try:
        yield w
    finally:
        w.stop()


def story(customer: str, n: int) -> list[dict[str, Any]]:
    """Four events, four triggers (welcome, activated, low_csat, vip) per customer."""
    h = timedelta(hours=1)
    base = T0 + timedelta(minutes=n)

    def ev(i: int, type_: str, dt: timedelta, **props: Any) -> dict[str, Any]:
        return {
            "event_id": f"{customer}-e{i}",
            "customer_id": customer,
            "type": type_,
            "event_time": (base + dt).isoformat(),
            "properties": props,
        }

    return [
        ev(1, "signed_up", 0 * h, plan="pro"),
        ev(2, "key_action", 1 * h),
        ev(3, "csat_submitted", 2 * h, score=1),
        ev(4, "order_completed", 3 * h, amount=1500),
    ]


def expected_ids(customers: list[str]) -> Counter[str]:
    """The trigger ids of the four rules; the control group (holdout) gets only the
    rules whose priority it is not held out of (service: ``low_csat``)."""
    rules = ("welcome", "activated", "low_csat", "vip")
    journey = default_journey()
    rails = journey.guard_rails
    held = {
        r.id
        for r in journey.rules
        if r.then.emit is not None and r.then.emit.resolved_priority in rails.holdout_priorities
    }
    ids: Counter[str] = Counter()
    for c in customers:
        control = in_holdout(c, journey.name, rails.holdout_percent)
        for i, rule in enumerate(rules, start=1):
            if control and rule in held:
                continue
            cause = Cause(type="event", event_ids=[f"{c}-e{i}"]).key
            ids[trigger_id(c, "lifecycle", 1, rule, cause)] += 1
    return ids


def test_sigkill_mid_stream_then_restart_gives_each_trigger_exactly_once(
    worker: WorkerProcess,
) -> None:
    customers = [f"eos-{worker.prefix}-{n}" for n in range(CUSTOMERS)]
    messages: list[tuple[str, Any]] = []
    for n, c in enumerate(customers):
        messages.extend((c, e) for e in story(c, n))
        if n % BAD_EVERY == BAD_EVERY - 1:
            messages.append((f"bad-{n}", b"{broken"))
    expected = expected_ids(customers)
    bad = sum(1 for _, v in messages if isinstance(v, bytes))

    half = len(messages) // 2
    worker.produce(messages[:half])
    producer = threading.Thread(target=worker.produce, args=(messages[half:],))
    # kill once some, but not all, of the output is committed
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline:
        seen = len(worker.read_records("triggers", expect=1, timeout=2, settle=0))
        if seen >= len(expected) // 4:
            break
    producer.start()
    time.sleep(0.3)
    worker.kill()
    producer.join()
    committed_at_kill = len(worker.read_records("triggers", expect=1, timeout=2, settle=0))
    assert 0 < committed_at_kill < sum(expected.values()), "the kill was not mid-stream"

    worker.start()
    got = worker.read_records("triggers", expect=sum(expected.values()), timeout=90, settle=4)
    ids = Counter(json.loads(v)["trigger_id"] for _, v in got)
    duplicates = {i: n for i, n in ids.items() if n > 1}
    missing = set(expected) - set(ids)
    unexpected = set(ids) - set(expected)
    assert not duplicates, f"{len(duplicates)} duplicated triggers"
    assert not missing, f"{len(missing)} missing triggers"
    assert not unexpected, f"{len(unexpected)} unexpected triggers"

    for family in ("onboarding", "recovery", "growth"):
        fam = worker.read_records(f"triggers.{family}", expect=1, timeout=10, settle=0.5)
        fam_ids = Counter(json.loads(v)["trigger_id"] for _, v in fam)
        assert max(fam_ids.values()) == 1
    letters = worker.read_records("deadletters", expect=bad, timeout=30, settle=2)
    offsets = Counter((json.loads(v)["partition"], json.loads(v)["offset"]) for _, v in letters)
    assert len(offsets) == bad  # every bad message dead-lettered, none lost
    twice = {o: n for o, n in offsets.items() if n > 1}
    assert not twice, f"dead letters committed twice for source offsets {twice}"
