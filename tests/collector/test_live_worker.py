"""From an SDK call to a trigger: segment-analytics-python -> collector -> touchpoints
topic -> worker -> trigger topics, on the real broker, with the exact trigger ids."""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from segment.analytics import Client as SegmentClient  # type: ignore[import-untyped]  # no stubs

from journeys import in_holdout
from schemas.triggers import Cause, trigger_id
from tests.collector.harness import CollectorProcess
from tests.live.worker_harness import WorkerProcess

pytestmark = pytest.mark.live

KEY = "worker-test-key"


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WorkerProcess, CollectorProcess]]:
    tmp = Path(tmp_path_factory.mktemp("collector-worker"))
    worker = WorkerProcess(kafka_bootstrap, tmp, partitions=2)
    collector = CollectorProcess(kafka_bootstrap, tmp, keys=(KEY,), prefix=worker.prefix)
    worker.start()
    collector.start()
    try:
        yield worker, collector
    finally:
        collector.stop()
        worker.stop()


def customer(worker: WorkerProcess) -> str:
    """A customer id outside the lifecycle journey's holdout."""
    return next(
        name
        for i in itertools.count()
        if not in_holdout(name := f"ada-{worker.prefix}-{i}", "lifecycle", 5)
    )


def on_event(customer: str, rule: str, event_id: str) -> str:
    return trigger_id(customer, "lifecycle", 1, rule, Cause(type="event", event_ids=[event_id]).key)


def test_sdk_events_become_the_expected_triggers(
    stack: tuple[WorkerProcess, CollectorProcess],
) -> None:
    worker, collector = stack
    ada = customer(worker)
    errors: list[object] = []
    client = SegmentClient(
        KEY, host=collector.url, upload_interval=0.1, on_error=lambda e, b: errors.append(e)
    )
    client.track(ada, "Signed Up", {"plan": "pro"}, message_id=f"{ada}-signup")
    client.track(ada, "key_action", message_id=f"{ada}-key")
    client.flush()
    client.join()
    assert errors == []
    records = worker.read_records("triggers", expect=2, keys={ada})
    found = {(t["kind"], t["trigger_id"]) for t in (json.loads(v) for _, v in records)}
    assert found == {
        ("onboarding.welcome", on_event(ada, "welcome", f"{ada}-signup")),
        ("onboarding.activated", on_event(ada, "activated", f"{ada}-key")),
    }
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert "journeys_touchpoints_rekeyed_total 0.0" in text  # keyed right: no extra hop
