"""/healthz, /readyz and /metrics on a faust app's web server, and the metrics port."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiohttp.test_utils import TestClient, TestServer
from faust.types import TP

from streams.ops.health import Readiness, broker_reachable, serve_metrics
from streams.ops.metrics import Metrics
from streams.worker.probes import faust_lag_source, register_views, standby_lag_source


@pytest.fixture
def readiness() -> Readiness:
    return Readiness()


async def _client(metrics: Metrics, readiness: Readiness) -> AsyncIterator[TestClient[Any, Any]]:
    app = faust.App("obs-health-test", broker="memory://", store="memory://")
    register_views(app, metrics, readiness)
    web_app = app.web.web_app  # type: ignore[attr-defined]  # the aiohttp driver's app
    async with TestClient(TestServer(web_app)) as client:
        yield client


def test_views(metrics: Metrics) -> None:
    state = {"assigned": False}
    readiness = Readiness({"partitions_assigned": lambda: state["assigned"]})

    async def broker() -> bool:
        return True

    readiness.add("broker_reachable", broker)
    metrics.event_consumed("signed_up", "processed")

    async def scenario() -> None:
        async for client in _client(metrics, readiness):
            health = await client.get("/healthz")
            assert health.status == 200
            assert await health.json() == {"status": "ok"}

            not_ready = await client.get("/readyz")
            assert not_ready.status == 503
            assert await not_ready.json() == {
                "ready": False,
                "checks": {"partitions_assigned": False, "broker_reachable": True},
                "reason": "partitions_assigned failing",
            }
            state["assigned"] = True
            ready = await client.get("/readyz")
            assert ready.status == 200
            assert (await ready.json())["ready"] is True

            scrape = await client.get("/metrics")
            assert scrape.status == 200
            assert scrape.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = await scrape.text()
            assert (
                'journeys_events_consumed_total{event_type="signed_up",outcome="processed"} 1.0'
                in body
            )

    asyncio.run(scenario())


def test_a_check_that_raises_is_not_ready() -> None:
    def boom() -> bool:
        raise RuntimeError("no consumer yet")

    ready, body = asyncio.run(Readiness({"x": boom}).report())
    assert not ready
    assert body == {"ready": False, "checks": {"x": False}}


def test_no_checks_is_not_ready() -> None:
    ready, _ = asyncio.run(Readiness().report())
    assert not ready


def test_broker_reachable() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    open_port = listener.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        assert asyncio.run(broker_reachable([f"127.0.0.1:{open_port}"]))
        assert asyncio.run(broker_reachable([f"127.0.0.1:{closed_port}", f"127.0.0.1:{open_port}"]))
        assert not asyncio.run(broker_reachable([f"127.0.0.1:{closed_port}"]))
        assert not asyncio.run(broker_reachable(["no-port"]))
    finally:
        listener.close()


def test_separate_metrics_port(metrics: Metrics) -> None:
    metrics.rebalance()
    server = serve_metrics(metrics, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
        assert "journeys_rebalances_total 1.0" in body
    finally:
        server.shutdown()
        server.server_close()


class _State:
    def __init__(self, position: int | None, highwater: int | None, lso: int | None) -> None:
        self.position, self.highwater, self.lso = position, highwater, lso
        self.has_valid_position = position is not None


class _FakeAiokafka:
    """The few attributes of aiokafka's consumer that faust_lag_source reads."""

    def __init__(self, states: dict[TP, _State]) -> None:
        self._states = states
        assignment = SimpleNamespace(state_value=states.__getitem__)
        self._subscription = SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))

    def assignment(self) -> set[TP]:
        return set(self._states)


def test_faust_lag_source_reads_end_minus_position() -> None:
    states = {
        TP("in", 0): _State(position=10, highwater=15, lso=-1),  # read_uncommitted
        TP("in", 1): _State(position=7, highwater=9, lso=8),  # read_committed: lso
        TP("in", 2): _State(position=None, highwater=3, lso=-1),  # no position yet
        TP("in", 3): _State(position=4, highwater=None, lso=None),  # not fetched yet
        TP("changelog", 0): _State(position=0, highwater=100, lso=-1),  # not wanted
    }
    consumer = _FakeAiokafka(states)
    app = SimpleNamespace(consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=consumer)))
    assert faust_lag_source(app, ["in"])() == {("in", 0): 5, ("in", 1): 1}


def test_faust_lag_source_is_empty_before_the_consumer_starts() -> None:
    app = SimpleNamespace(consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=None)))
    assert faust_lag_source(app, ["in"])() == {}


class _Event:
    def __init__(self, is_set: bool) -> None:
        self._set = is_set

    def is_set(self) -> bool:
        return self._set


class _Recovery:
    """What the probes read of faust's ``Recovery``."""

    def __init__(self, in_recovery: bool, remaining: int) -> None:
        self.in_recovery = in_recovery
        self.remaining = remaining
        self.completed = _Event(not in_recovery)
        self.signal_recovery_start = _Event(False)

    def active_remaining_total(self) -> int:
        return self.remaining


class _Tables:
    def __init__(self, recovery: _Recovery) -> None:
        self.recovery = recovery


class _App:
    def __init__(self, recovery: _Recovery) -> None:
        self.tables = _Tables(recovery)


def test_readyz_reason_and_restore_figures_follow_the_restore() -> None:
    from streams.worker.eos.restore import progress_of
    from streams.worker.probes import not_ready_reason, restore_source

    app = _App(_Recovery(in_recovery=True, remaining=0))
    progress = progress_of(app)
    progress.running, progress.remaining, progress.restored_total, progress.rate = (
        True, 1234, 50_000, 21_000.0,
    )  # fmt: skip
    failing = {"state_recovered": False, "broker_reachable": True}
    assert not_ready_reason(app, failing) == "restoring: 1234 left"
    assert restore_source(app)() == (50_000, 1234, 21_000.0)
    progress.running = False  # bulk restore done, faust reads the tail
    app.tables.recovery.remaining = 7
    assert not_ready_reason(app, failing) == "restoring: 7 left"
    assert restore_source(app)() == (50_000, 7, 21_000.0)
    app.tables.recovery = _Recovery(in_recovery=False, remaining=0)
    assert not_ready_reason(app, {"partitions_assigned": False, "x": True}) == (
        "partitions_assigned failing"
    )
    assert restore_source(app)() == (50_000, 0, 21_000.0)


def test_restore_figures_are_scraped(metrics: Metrics) -> None:
    metrics.set_restore_source(lambda: (10, 3, 2.5))
    body = metrics.render().decode()
    assert "journeys_restore_records_total 10.0" in body
    assert "journeys_restore_remaining_records 3.0" in body
    assert "journeys_restore_rate_records_per_second 2.5" in body


def test_standby_lag_is_the_changelog_end_minus_what_the_standby_read() -> None:
    """Followed standbys: end (lso) minus position; a standby not fetched yet: faust's
    recovery figures (the end minus one, minus the offset its store holds)."""
    states = {
        TP("customers-changelog", 2): _State(position=990, highwater=1_002, lso=1_000),
        TP("customers-changelog", 3): _State(position=500, highwater=500, lso=500),  # caught up
        TP("links-changelog", 2): _State(position=None, highwater=None, lso=None),  # paused
        TP("customers-changelog", 0): _State(position=5, highwater=80, lso=80),  # an active
        TP("in", 0): _State(position=1, highwater=9, lso=9),  # an input partition
    }
    standbys = {
        TP("customers-changelog", 2),
        TP("customers-changelog", 3),
        TP("links-changelog", 2),
        TP("links-changelog", 3),  # assigned by faust, not by the consumer yet
        TP("erasures-changelog", 2),  # faust has no end for it yet
    }
    recovery = SimpleNamespace(
        standby_highwaters={TP("links-changelog", 2): 41, TP("links-changelog", 3): 9},
        standby_offsets={TP("links-changelog", 2): 29, TP("links-changelog", 3): -1},
    )
    app = SimpleNamespace(
        consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=_FakeAiokafka(states))),
        assignor=SimpleNamespace(assigned_standbys=lambda: standbys),
        tables=SimpleNamespace(recovery=recovery),
    )
    assert standby_lag_source(app)() == {
        ("customers-changelog", 2): 10,
        ("customers-changelog", 3): 0,
        ("links-changelog", 2): 12,
        ("links-changelog", 3): 10,
    }
    app.consumer = SimpleNamespace(_thread=None)  # not started: faust's figures only
    assert standby_lag_source(app)() == {("links-changelog", 2): 12, ("links-changelog", 3): 10}


def test_no_standby_no_standby_lag() -> None:
    app = SimpleNamespace(assignor=SimpleNamespace(assigned_standbys=set))
    assert standby_lag_source(app)() == {}


def test_standby_lag_is_scraped_per_partition(metrics: Metrics) -> None:
    lags = {("j-customers-changelog", 1): 0, ("j-customers-changelog", 3): 1_250}
    metrics.set_standby_lag_source(lambda: lags)
    body = metrics.render().decode()
    name = "journeys_standby_lag_records"
    assert f'{name}{{partition="1",topic="j-customers-changelog"}} 0.0' in body
    assert f'{name}{{partition="3",topic="j-customers-changelog"}} 1250.0' in body

    def broken() -> dict[tuple[str, int], int]:
        raise RuntimeError("recovery busy")

    metrics.set_standby_lag_source(broken)
    body = metrics.render().decode()
    assert f"# TYPE {name} gauge" in body and f"{name}{{" not in body
