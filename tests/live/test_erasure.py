"""Right to be forgotten on the real broker (RocksDB, 4 partitions, read_committed).

A customer with state in two journeys, an anonymous id merged into it (on another
partition), a VoC subscription made anonymously and a pending day-1 nudge is erased with
``journeys erase`` (its code, ``streams.erasure.cli.erase``): ``/customers/{id}`` answers
404 for both ids, the changelogs hold a tombstone for each of their keys (customers,
links) and their subscription is gone from the fan-out index, no trigger for them is
emitted afterwards (their timer's time passes, the feature they asked for ships), and the
audit topic holds the confirmation once. The second test does the same with the worker
SIGKILLed right after it processed the request, before its transaction commits (commits
every 1.5 s here), then restarted on the same data directory: the successor erases again
from the committed state, and every output is there once.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer, TopicPartition

from journeys import in_holdout
from schemas.erasure import ErasureConfirmation, ErasureRequest
from streams.cli import main
from streams.erasure.cli import erase
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from tests.live.worker_harness import REPO_ROOT, WorkerProcess

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PARTITIONS = 4
LOYALTY = {
    "name": "loyalty",
    "version": 1,
    "stages": ["member"],
    "initial_stage": "member",
    "rules": [
        {
            "id": "points",
            "when": {"event": {"type": "order_completed"}},
            "then": {"emit": {"kind": "engagement.points"}},
        }
    ],
}


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    tmp = Path(tmp_path_factory.mktemp("erasure"))
    loyalty = tmp / "loyalty.yaml"
    loyalty.write_text(yaml.safe_dump(LOYALTY))
    paths = f"{REPO_ROOT / 'journeys' / 'definitions' / 'lifecycle.yaml'},{loyalty}"
    w = WorkerProcess(
        kafka_bootstrap, tmp, partitions=PARTITIONS, store="rocksdb://",
        env={"JOURNEYS_JOURNEY_PATHS": paths, "JOURNEYS_COMMIT_INTERVAL_SECONDS": "1.5"},
    )  # fmt: skip
    w.start()
    try:
        yield w
    finally:
        w.stop()


def name_on(w: WorkerProcess, base: str, partition: int) -> str:
    """An id of ``partition`` outside the lifecycle journey's holdout."""
    for i in itertools.count():
        name = f"{base}-{w.prefix}-{i}"
        if w.partition_of(name) == partition and not in_holdout(name, "lifecycle", 5):
            return name
    raise AssertionError("unreachable")


def event(event_id: str, hours: float, type_: str, **fields: Any) -> dict[str, Any]:
    when = (T0 + timedelta(hours=hours)).isoformat()
    return {"event_id": event_id, "type": type_, "event_time": when, **fields}


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0, pause: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(pause)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Story:
    """One customer's ids and events; ``tag`` keeps the event ids apart between tests,
    ``base`` their times (hours after T0: each story after the time the last one reached
    on the shared partitions, so that its timer is still pending when it is erased)."""

    w: WorkerProcess
    tag: str
    base: float

    def __post_init__(self) -> None:
        self.anon = name_on(self.w, f"anon{self.tag}", 0)
        self.customer = name_on(self.w, f"cust{self.tag}", 1)
        self.other = name_on(self.w, f"other{self.tag}", 1)  # the customer's partition
        self.feature = f"feature-{self.tag}-{self.w.prefix}"

    def known(self) -> None:
        """The customer in two journeys, its anonymous id merged, a subscription, a timer."""
        t, a, c, o, h = self.tag, self.anon, self.customer, self.other, self.base
        self.w.produce(
            [
                (a, event(f"{t}-a1", h, "feature_requested", anonymous_id=a,
                          properties={"feature_id": self.feature})),
                (c, event(f"{t}-s1", h + 1, "signed_up", customer_id=c)),  # nudge at +25 h
                (o, event(f"{t}-o1", h + 1, "signed_up", customer_id=o)),
                (c, event(f"{t}-c1", h + 2, "order_completed", customer_id=c,
                          properties={"amount": 20})),
                (c, event(f"{t}-i1", h + 3, "identify", customer_id=c, anonymous_id=a)),
            ]
        )  # fmt: skip
        wait_for(lambda: self.merged(), "the anonymous id to be merged into the customer")
        # committed too: the view shows uncommitted state, and a merge still in an open
        # transaction when the worker is killed is processed again by its successor in
        # any order with the erasure request (another topic), maybe after it
        wait_for(lambda: self.merge_committed(), "the merge to be committed")

    def merged(self) -> bool:
        status, body = self.w.get(f"/customers/{self.customer}")
        return status == 200 and f"{self.tag}-a1" in body["journeys"]["lifecycle"]["seen"]

    def merge_committed(self) -> bool:
        """Whether the customer's committed link lists the anonymous id as merged."""
        values = changelog(self.w, "links").get(self.customer)
        last = values[-1] if values else None
        return last is not None and self.anon in json.loads(last).get("merged", ())

    def later(self) -> None:
        """Time passes on the customer's partition, the feature ships."""
        t, o, h = self.tag, self.other, self.base
        release = {"feature_id": self.feature, "name": "Dark mode"}
        self.w.produce(
            [
                (o, event(f"{t}-o2", h + 72, "page_viewed", customer_id=o)),
                ("product", event(f"{t}-rel", h + 73, "feature_released", customer_id="product",
                                  properties=release)),
            ]
        )  # fmt: skip

    def request(self) -> ErasureRequest:
        return ErasureRequest(
            request_id=f"r-{self.tag}-{uuid.uuid4().hex[:8]}",
            customer_id=self.customer,
            reason="test",
            requested_at=datetime.now(UTC),
        )

    def erase(self, request: ErasureRequest, *, wait: bool) -> ErasureConfirmation | None:
        config = {"bootstrap_servers": self.w.bootstrap}
        topics = self.w.topics["erasures"], self.w.topics["audit"]
        return erase(config, request, *topics, 60.0, wait)


def triggers_of(w: WorkerProcess, keys: set[str], expect: int) -> list[dict[str, Any]]:
    records = w.read_records("triggers", expect=expect, timeout=60, keys=keys, settle=2.0)
    return [json.loads(v) for _, v in records]


def changelog(w: WorkerProcess, table: str) -> dict[str, list[bytes | None]]:
    """Every committed record of a table's changelog, values by key, in offset order."""
    topic = f"{w.prefix}-{table}-changelog"
    consumer = KafkaConsumer(
        bootstrap_servers=w.bootstrap, isolation_level="read_committed",
        enable_auto_commit=False,
    )  # fmt: skip
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        found: dict[str, list[bytes | None]] = {}
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"reading {topic} timed out"
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    found.setdefault(r.key.decode(), []).append(r.value)
        return found
    finally:
        consumer.close()


def audited(w: WorkerProcess, request_id: str) -> list[dict[str, Any]]:
    records = w.read_records("audit", expect=1, timeout=60, settle=2.0)
    return [c for c in map(json.loads, (v for _, v in records)) if c["request_id"] == request_id]


def tombstoned(s: Story) -> bool:
    """Whether the last changelog record of each erased key is a tombstone (the linked
    key's erasure follows the confirmation: it is committed with it, done moments later)."""
    ids = {s.anon, s.customer}
    customers, links = changelog(s.w, "customers"), changelog(s.w, "links")
    return all(customers[k][-1] is None and links[k][-1] is None for k in ids)


def check_erased(s: Story, request: ErasureRequest, before: list[dict[str, Any]]) -> None:
    w, ids = s.w, {s.anon, s.customer}
    # the other customer's nudge (due at +25 h too) fired once time passed: C's did not
    wait_for(
        lambda: any(t["rule"] == "nudge_day_1" for t in triggers_of(w, {s.other}, 1)),
        "the other customer's nudge",
    )
    for key in ids:
        assert w.get(f"/customers/{key}")[0] == 404, key
    wait_for(lambda: tombstoned(s), "a tombstone of each erased key in every changelog")
    index = changelog(w, "fanout-index")[f"feature_requests:{s.feature}"]
    assert s.anon in json.loads(index[0] or b"{}")["subscribers"]  # it was subscribed
    last = json.loads(index[-1] or b"{}")
    assert ids.isdisjoint({*last.get("subscribers", {}), *last.get("served", {})})
    after = triggers_of(w, ids, len(before))
    assert sorted(t["trigger_id"] for t in after) == sorted(t["trigger_id"] for t in before)
    (confirmation,) = audited(w, request.request_id)
    assert confirmation["customer_id"] == s.customer
    assert sorted(confirmation["journeys"]) == ["lifecycle", "loyalty"]
    assert confirmation["linked_ids"] == [s.anon]
    assert confirmation["timer_cleared"] is True


def test_an_erased_customer_is_gone_everywhere(
    worker: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Story(worker, "e1", base=0)
    s.known()
    before = triggers_of(worker, {s.anon, s.customer}, 2)
    assert sorted(t["rule"] for t in before) == ["points", "welcome"]
    request = s.request()
    done = s.erase(request, wait=True)
    assert done is not None and done.request_id == request.request_id
    s.later()
    check_erased(s, request, before)
    # replay and diff from Kafka read the erasures topic too
    kafka = ["--topic-prefix", worker.prefix, "--bootstrap", worker.bootstrap]
    lifecycle = str(REPO_ROOT / "journeys" / "definitions" / "lifecycle.yaml")
    capsys.readouterr()
    assert main(["replay", s.customer, *kafka, "--json", "--no-timers"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (erased,) = [r for r in records if r["type"] == "erasure"]
    assert (erased["request_id"], erased["linked_ids"]) == (request.request_id, [s.anon])
    assert records[-1] == erased  # after every event of the customer
    diff = ["diff", "--base", lifecycle, "--definition", lifecycle, *kafka, "--no-timers"]
    assert main(diff) == 0


def test_an_erasure_interrupted_by_a_sigkill_is_done_once(worker: WorkerProcess) -> None:
    s = Story(worker, "k1", base=240)
    s.known()
    before = triggers_of(worker, {s.anon, s.customer}, 2)
    request = s.request()
    s.erase(request, wait=False)
    done = f"erasure {request.request_id}:"
    wait_for(lambda: done in worker.log_tail(400), "the request to be processed", pause=0.01)
    worker.kill()  # its transaction still open (commits every 1.5 s here): aborted
    worker.start(timeout=120)
    wait_for(lambda: audited(worker, request.request_id), "the confirmation", timeout=90)
    s.later()
    check_erased(s, request, before)


def test_without_a_worker_the_command_times_out_with_exit_code_1(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    ensure_topics(Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=prefix, partitions=2))
    argv = ["erase", "c-1", "--wait", "--timeout", "2", "--topic-prefix", prefix]
    assert main([*argv, "--bootstrap", kafka_bootstrap]) == 1
    assert "no confirmation of" in capsys.readouterr().err
