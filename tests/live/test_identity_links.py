"""Identity links on the real broker: a link across partitions, a chain, fan-out after it.

The anonymous key, the customer and the customer it is later aliased to each live on a
partition of their own, so every link takes the worker's real path (``MergeRequest`` on
the anonymous key's partition, ``MergeState`` back on the customer's, events of a linked
key re-keyed through the keyed topic). Each phase is produced once the previous one's
links are in place (replay links at once; the worker one round trip later: see
journeys/README.md, "Replay and live"). The committed triggers (``read_committed``) are
exactly, id for id, what replay computes from the same events.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from journeys import default_journey, in_holdout
from schemas.decode import decode_touchpoints
from streams.replay.timeline import Replayer, delivered
from tests.live.worker_harness import WorkerProcess

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # every event within the day: no timer falls due
PARTITIONS = 4
Message = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap, Path(tmp_path_factory.mktemp("identity")), partitions=PARTITIONS
    )
    w.start()
    try:
        yield w
    finally:
        w.stop()


def names(w: WorkerProcess, base: str, partitions: list[int]) -> list[str]:
    """One id per partition given, each starting with ``base``, none in the holdout."""
    found = []
    for partition in partitions:
        for i in itertools.count():
            name = f"{base}{partition}-{w.prefix}-{i}"
            if w.partition_of(name) == partition and not in_holdout(name, "lifecycle", 5):
                found.append(name)
                break
    return found


def seg(kind: str, mid: str, hours: float, **fields: Any) -> dict[str, Any]:
    when = (T0 + timedelta(hours=hours)).isoformat()
    return {"type": kind, "messageId": mid, "timestamp": when, **fields}


def key_of(message: dict[str, Any]) -> str:
    return str(message.get("userId") or message["anonymousId"])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def seen_by(w: WorkerProcess, key: str, event_id: str) -> Callable[[], bool]:
    """Whether ``key``'s state holds ``event_id`` (the event or a merge brought it)."""

    def check() -> bool:
        status, body = w.get(f"/customers/{key}")
        return status == 200 and event_id in body["journeys"]["lifecycle"]["seen"]

    return check


def expected(messages: list[Message]) -> list[str]:
    """The trigger ids replay computes for ``messages`` in this order."""
    replayer = Replayer([default_journey()], fanout=True)
    ids = []
    for _, value in messages:
        raw = json.dumps(value).encode()
        for event in decode_touchpoints(raw, received_at=T0 + timedelta(days=1)).events:
            for step in replayer.event(event):
                ids += [t.trigger_id for _, o in step.outcomes for t in delivered(o)]
    return ids


def committed(w: WorkerProcess, keys: set[str], expect: int) -> list[dict[str, Any]]:
    records = w.read_records("triggers", expect=expect, timeout=60, keys=keys)
    return [json.loads(v) for _, v in records]


def test_a_link_across_partitions_then_a_chain_through_an_alias(worker: WorkerProcess) -> None:
    anon, cust, final = names(worker, "anon", [0, 1, 2])
    assert len({worker.partition_of(k) for k in (anon, cust, final)}) == 3
    amount = {"amount": 600}
    phase1 = [
        seg("track", "m-a1", 0, event="Order Completed", anonymousId=anon, properties=amount),
        seg("track", "m-s1", 1, event="Signed Up", userId=cust),
        seg("track", "m-o1", 2, event="Order Completed", userId=cust, properties={"amount": 500}),
    ]
    identify = [seg("identify", "m-i1", 3, userId=cust, anonymousId=anon)]
    # After the link: server-side tracking with the anonymous id only, then the customer
    # is aliased to a new user id (on a third partition), then events of both old ids.
    five = {"amount": 5}
    phase2 = [
        seg("track", "m-a2", 4, event="Order Completed", anonymousId=anon, properties=five),
        seg("page", "m-a3", 5, anonymousId=anon, name="Docs"),
        seg("alias", "m-al1", 6, userId=final, previousId=cust),
    ]
    phase3 = [
        seg("page", "m-a4", 7, anonymousId=anon, name="Blog"),  # anon -> cust -> final
        seg("track", "m-k1", 8, event="Key Action", userId=cust),  # cust -> final
        seg("alias", "m-al2", 9, userId=cust, previousId=final),  # contradicts: no loop
    ]
    messages: list[Message] = []
    for phase, settled in (
        (phase1, seen_by(worker, anon, "m-a1")),
        (identify, seen_by(worker, cust, "m-a1")),  # merged
        (phase2, seen_by(worker, final, "m-s1")),  # the customer merged on into final
        (phase3, seen_by(worker, final, "m-al2")),
    ):
        batch = [(key_of(m), m) for m in phase]
        worker.produce(batch)
        messages += batch
        wait_for(settled, f"{batch[-1][1]['messageId']} to be applied")

    want = expected(messages)
    got = committed(worker, {anon, cust, final}, expect=len(want))
    assert [(t["customer_id"], t["rule"], t["cause"]["event_ids"]) for t in got] == [
        (cust, "welcome", ["m-s1"]),
        (cust, "vip", ["m-i1"]),  # 500 + 600 anonymous: crossed at the merge
        (final, "activated", ["m-k1"]),
    ]
    assert [t["trigger_id"] for t in got] == want

    assert worker.get(f"/customers/{anon}")[0] == 404  # no orphan anonymous state
    assert worker.get(f"/customers/{cust}")[0] == 404  # merged on into final
    status, body = worker.get(f"/customers/{final}")
    assert status == 200
    state = body["journeys"]["lifecycle"]
    assert (state["customer_id"], state["stage"], state["events"]) == (final, "active", 10)
    assert state["attributes"]["lifetime_spend"] == 1105


def test_a_subscription_made_anonymously_is_delivered_to_the_customer(
    worker: WorkerProcess,
) -> None:
    anon, cust, product = names(worker, "voc", [3, 0, 1])
    feature = {"feature_id": f"dark-mode-{worker.prefix}"}
    request = {"event": "Feature Requested", "anonymousId": anon, "properties": feature}
    asked = [seg("track", "v-r1", 0, **request)]
    identify = [seg("identify", "v-i1", 2, userId=cust, anonymousId=anon)]
    release = [
        seg(
            "track", "v-rel", 10, event="Feature Released", userId=product,
            properties={**feature, "name": "Dark mode"},
        )
    ]  # fmt: skip
    messages: list[Message] = []
    for phase, settled in (
        (asked, seen_by(worker, anon, "v-r1")),
        (identify, seen_by(worker, cust, "v-r1")),
        (release, seen_by(worker, cust, f"v-rel/feature_requests/{cust}")),
    ):
        batch = [(key_of(m), m) for m in phase]
        worker.produce(batch)
        messages += batch
        wait_for(settled, f"{batch[-1][1]['messageId']} to be applied")

    want = expected(messages)
    got = committed(worker, {anon, cust, product}, expect=len(want))
    assert [(t["customer_id"], t["kind"], t["cause"]["event_ids"]) for t in got] == [
        (cust, "voc.you_asked_we_built", [f"v-rel/feature_requests/{cust}"])
    ]
    assert [t["trigger_id"] for t in got] == want
