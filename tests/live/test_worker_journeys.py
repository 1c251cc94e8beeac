"""Stories of the default journey end to end on the real broker (event-time clock).

Touchpoints in, trigger topics read with ``read_committed``, compared with the exact
expected triggers, ids included. Each story uses its own customers on its own partition,
so that the event-time watermark of one story never moves another's timers.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from journeys import in_holdout
from schemas.triggers import Cause, trigger_id
from tests.live.worker_harness import WorkerProcess

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PARTITIONS = 4


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap, Path(tmp_path_factory.mktemp("journeys")), partitions=PARTITIONS
    )
    w.start()
    try:
        yield w
    finally:
        w.stop()


def name_on(worker: WorkerProcess, base: str, partition: int, *, holdout: bool = False) -> str:
    """A customer id starting with ``base`` on ``partition`` (in the holdout or not)."""
    for i in itertools.count():
        name = f"{base}-{worker.prefix}-{i}"
        if worker.partition_of(name) == partition and in_holdout(name, "lifecycle", 5) == holdout:
            return name
    raise AssertionError("unreachable")


def event(event_id: str, customer: str, type_: str, at: datetime, **props: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer,
        "type": type_,
        "event_time": at.isoformat(),
        "properties": props,
    }


def on_event(customer: str, rule: str, event_id: str) -> str:
    return trigger_id(customer, "lifecycle", 1, rule, Cause(type="event", event_ids=[event_id]).key)


def on_timer(customer: str, rule: str, due: datetime) -> str:
    return trigger_id(
        customer, "lifecycle", 1, rule, Cause(type="timer", timer=rule, due_at=due).key
    )


def triggers_of(worker: WorkerProcess, role: str, customers: set[str], expect: int) -> list[Any]:
    """The committed triggers of ``customers`` on ``role``'s topic, in topic order."""
    records = worker.read_records(role, expect=expect, timeout=30, keys=customers)
    found = [json.loads(v) for _, v in records]
    for t in found:
        assert t["customer_id"] in customers
    return found


def ids_kinds(triggers: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(t["customer_id"], t["kind"], t["trigger_id"]) for t in triggers}


def test_onboarding_recovery_and_vip_story_with_a_duplicate(worker: WorkerProcess) -> None:
    alice = name_on(worker, "alice", 0)
    held = name_on(worker, "held", 0, holdout=True)
    h = timedelta(hours=1)
    events = [
        event("a1", alice, "Signed Up", T0, plan="pro"),
        event("a2", alice, "key_action", T0 + 2 * h),
        event("a3", alice, "csat_submitted", T0 + 3 * h, score=1, ticket_id="t-1"),
        event("a4", alice, "order_completed", T0 + 4 * h, amount=1200),
        event("a2", alice, "key_action", T0 + 2 * h),  # redelivered: a duplicate
        event("h1", held, "signed_up", T0),  # control group: counted, never sent
    ]
    worker.produce((e["customer_id"], e) for e in events)
    expected = {
        (alice, "onboarding.welcome", on_event(alice, "welcome", "a1")),
        (alice, "onboarding.activated", on_event(alice, "activated", "a2")),
        (alice, "recovery.low_csat", on_event(alice, "low_csat", "a3")),
        (alice, "growth.vip", on_event(alice, "vip", "a4")),
    }
    everything = triggers_of(worker, "triggers", {alice, held}, expect=len(expected))
    assert ids_kinds(everything) == expected
    assert len(everything) == len(expected)  # no duplicate, no holdout trigger
    low_csat = next(t for t in everything if t["kind"] == "recovery.low_csat")
    assert low_csat["priority"] == "service"
    assert low_csat["attributes"] == {"score": 1, "ticket_id": "t-1"}
    for family in ("onboarding", "recovery", "growth"):
        got = triggers_of(worker, f"triggers.{family}", {alice}, expect=1)
        assert ids_kinds(got) == {x for x in expected if x[1].startswith(family + ".")}

    status, body = worker.get(f"/customers/{alice}")
    assert status == 200
    assert body["journeys"]["lifecycle"]["stage"] == "active"
    assert worker.get("/customers/nobody-at-all")[0] == 404


def test_inactivity_nudge_fires_when_event_time_passes_its_due_time(
    worker: WorkerProcess,
) -> None:
    carol = name_on(worker, "carol", 1)
    ticker = name_on(worker, "tick", 1)
    worker.produce([(carol, event("c1", carol, "signed_up", T0))])
    first = triggers_of(worker, "triggers", {carol}, expect=1)
    assert ids_kinds(first) == {(carol, "onboarding.welcome", on_event(carol, "welcome", "c1"))}

    # another customer's event on the same partition moves event time past day 1
    worker.produce(
        [(ticker, event("c-tick", ticker, "page_viewed", T0 + timedelta(days=1, hours=1)))]
    )
    due = T0 + timedelta(days=1)
    nudges = triggers_of(worker, "triggers.onboarding", {carol}, expect=2)
    assert ids_kinds(nudges) == {
        (carol, "onboarding.welcome", on_event(carol, "welcome", "c1")),
        (carol, "onboarding.nudge_day_1", on_timer(carol, "nudge_day_1", due)),
    }
    nudge = next(t for t in nudges if t["rule"] == "nudge_day_1")
    assert nudge["emitted_at"] == "2026-11-03T12:00:00Z"  # due time, not the wall clock


def test_renewal_reminder_fires_when_event_time_passes_its_due_time(
    worker: WorkerProcess,
) -> None:
    erin = name_on(worker, "erin", 2)
    ticker = name_on(worker, "tick", 2)
    start = event("r1", erin, "subscription_started", T0, renewal_date="2026-12-20", plan="pro")
    late = event("r-tick", ticker, "page_viewed", datetime(2026, 11, 20, 11, 0, tzinfo=UTC))
    worker.produce([(erin, start), (ticker, late)])
    due = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 30 days before, 10:00 local (UTC)
    got = triggers_of(worker, "triggers.renewal", {erin}, expect=1)
    assert ids_kinds(got) == {
        (erin, "renewal.reminder_30d", on_timer(erin, "renewal_reminder_30d", due))
    }
    assert got[0]["attributes"] == {"renewal_date": "2026-12-20"}


def wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def test_anonymous_activity_is_merged_into_the_identified_customer(worker: WorkerProcess) -> None:
    anon = f"anon-{worker.prefix}"
    ivan = f"ivan-{worker.prefix}"
    h = timedelta(hours=1)
    page = {
        "type": "page",
        "messageId": "m-1",
        "anonymousId": anon,
        "name": "Pricing",
        "timestamp": (T0 + h).isoformat(),
    }
    identify = {
        "type": "identify",
        "messageId": "m-2",
        "anonymousId": anon,
        "userId": ivan,
        "traits": {"plan": "pro"},
        "timestamp": (T0 + 2 * h).isoformat(),
    }
    worker.produce([(anon, page)])
    assert wait_for(lambda: worker.get(f"/customers/{anon}")[0] == 200)
    worker.produce([(ivan, identify)])

    def merged() -> Any:
        status, body = worker.get(f"/customers/{ivan}")
        if status != 200 or "m-1" not in body["journeys"]["lifecycle"]["seen"]:
            return None
        return body

    body = wait_for(merged)
    assert body, worker.get(f"/customers/{ivan}")
    assert set(body["journeys"]["lifecycle"]["seen"]) == {"m-1", "m-2"}
    assert worker.get(f"/customers/{anon}")[0] == 404  # the anonymous state moved


def test_a_feature_release_fans_out_to_every_customer_who_asked(worker: WorkerProcess) -> None:
    askers = [name_on(worker, f"asker{i}", i % PARTITIONS) for i in range(3)]
    feature = f"f-{worker.prefix}"
    requests = [
        (c, event(f"req-{c}", c, "feature_requested", T0, feature_id=feature)) for c in askers
    ]
    worker.produce(requests)

    def subscribed() -> bool:
        for c in askers:
            status, body = worker.get(f"/customers/{c}")
            if status != 200 or f"req-{c}" not in body["journeys"]["lifecycle"]["seen"]:
                return False
        return True

    assert wait_for(subscribed)
    team = f"product-{worker.prefix}"
    release = event("rel-1", team, "feature_released", T0 + timedelta(days=1), feature_id=feature)
    release["properties"]["name"] = "Dark mode"
    worker.produce([(team, release)])
    expected = {
        (
            c,
            "voc.you_asked_we_built",
            on_event(c, "you_asked_we_built", f"rel-1/feature_requests/{c}"),
        )
        for c in askers
    }
    got = triggers_of(worker, "triggers.voc", {*askers, team}, expect=len(expected))
    assert ids_kinds(got) == expected
    assert len(got) == len(expected)
    assert {t["attributes"]["feature_id"] for t in got} == {feature}


def test_requests_indexed_after_the_release_are_served_in_event_time(
    worker: WorkerProcess,
) -> None:
    """The release is produced (and processed) first; requests made before it in event
    time still get it, exactly once each; a request made after it gets nothing."""
    feature = f"g-{worker.prefix}"
    team = f"product2-{worker.prefix}"
    release_at = T0 + timedelta(days=1)
    release = event("rel-2", team, "feature_released", release_at, feature_id=feature)
    worker.produce([(team, release)])

    def released() -> bool:
        status, body = worker.get(f"/customers/{team}")
        return status == 200 and "rel-2" in body["journeys"]["lifecycle"]["seen"]

    assert wait_for(released)
    time.sleep(1.5)  # let the publication reach the index first (the test holds either way)
    early = [name_on(worker, f"early{i}", i % PARTITIONS) for i in range(3)]
    late = name_on(worker, "late", 3)
    times = {early[0]: T0, early[1]: release_at - timedelta(hours=1), early[2]: release_at}
    times[late] = release_at + timedelta(minutes=1)
    worker.produce(
        [
            (c, event(f"req2-{c}", c, "feature_requested", at, feature_id=feature))
            for c, at in times.items()
        ]
    )
    expected = {
        (
            c,
            "voc.you_asked_we_built",
            on_event(c, "you_asked_we_built", f"rel-2/feature_requests/{c}"),
        )
        for c in early
    }
    got = triggers_of(worker, "triggers.voc", {*early, late, team}, expect=len(expected))
    assert ids_kinds(got) == expected
    assert len(got) == len(expected)

    def late_processed() -> bool:
        status, body = worker.get(f"/customers/{late}")
        return status == 200 and f"req2-{late}" in body["journeys"]["lifecycle"]["seen"]

    assert wait_for(late_processed)
    records = worker.read_records(
        "triggers.voc", expect=len(expected) + 1, timeout=5, keys={*early, late}
    )
    again = [json.loads(v) for _, v in records]
    assert ids_kinds(again) == expected  # still none for the late requester, none twice
