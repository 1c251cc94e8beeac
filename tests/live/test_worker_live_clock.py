"""Live clock: an idle partition follows the wall clock, so timers fire without new
events; then SIGTERM stops the worker gracefully within the bound."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from journeys import default_journey, in_holdout
from schemas.triggers import Cause, trigger_id
from tests.live.worker_harness import WorkerProcess

GRACEFUL_STOP_S = 15.0


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap,
        Path(tmp_path_factory.mktemp("live")),
        clock="live",
        store="rocksdb://",
        env={"JOURNEYS_IDLE_GRACE_SECONDS": "1"},
    )
    w.start()
    try:
        yield w
    finally:
        w.stop()


def test_renewal_reminder_fires_from_the_wall_clock_on_an_idle_partition(
    worker: WorkerProcess,
) -> None:
    now = datetime.now(UTC)
    # the 30-day reminder of this renewal was due yesterday at 10:00 UTC, after the event
    yesterday = (now - timedelta(days=1)).date()
    due = datetime.combine(yesterday, time(10, 0), tzinfo=UTC)
    renewal = yesterday + timedelta(days=30)
    # a customer outside the 5% control group, whose marketing triggers are held out
    customer = next(
        name
        for name in (f"frank-{worker.prefix}-{n}" for n in range(100))
        if not in_holdout(name, "lifecycle", default_journey().guard_rails.holdout_percent)
    )
    start = {
        "event_id": "live-1",
        "customer_id": customer,
        "type": "subscription_started",
        "event_time": (now - timedelta(days=2)).isoformat(),
        "properties": {"renewal_date": renewal.isoformat(), "plan": "pro"},
    }
    worker.produce([(customer, start)])
    got = worker.read_records("triggers.renewal", expect=1, keys={customer}, timeout=30)
    [trigger] = [json.loads(v) for _, v in got]
    cause = Cause(type="timer", timer="renewal_reminder_30d", due_at=due).key
    assert trigger["trigger_id"] == trigger_id(
        customer, "lifecycle", 1, "renewal_reminder_30d", cause
    )
    assert trigger["emitted_at"] == due.isoformat().replace("+00:00", "Z")


def test_sigterm_stops_the_worker_gracefully_within_the_bound(worker: WorkerProcess) -> None:
    elapsed = worker.stop(signal.SIGTERM, timeout=GRACEFUL_STOP_S + 10)
    assert worker.proc is not None
    assert worker.proc.returncode == 0, worker.log_tail()
    assert elapsed < GRACEFUL_STOP_S
    assert "LeaveGroup request succeeded" in worker.log_tail(200)
    data_dir = Path(worker.env["JOURNEYS_DATA_DIR"]) / worker.prefix
    assert list(data_dir.glob("v*/tables/.committed-store-v1")), "local state not kept"
