"""/readyz of a real (not started) worker app: 503 until assigned and recovered, 200 after."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streams.settings import Settings
from streams.worker.app import create_app
from tests.worker.fixtures import close


@pytest.fixture
def broker_port() -> Iterator[int]:
    """A listening socket that stands in for a reachable broker."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_readyz_follows_assignment_rebalance_and_recovery(broker_port: int) -> None:
    asyncio.run(_scenario(broker_port))


async def _scenario(broker_port: int) -> None:
    settings = Settings(
        bootstrap_servers=f"127.0.0.1:{broker_port}", store="memory://",
        topic_prefix="ready", app_id="ready", partitions=2,
    )  # fmt: skip
    rt = create_app(settings, definitions=[])
    app: Any = rt.app
    recovery = app.tables.recovery

    async with TestClient(TestServer(app.web.web_app)) as client:

        async def readyz() -> tuple[int, dict[str, bool]]:
            response = await client.get("/readyz")
            body = await response.json()
            assert body["ready"] is (response.status == 200)
            return response.status, body["checks"]

        assert await readyz() == (503, {
            "partitions_assigned": False, "state_recovered": False, "broker_reachable": True,
        })  # fmt: skip
        app.on_rebalance_start()  # the first assignment is under way
        assert (await readyz())[1]["partitions_assigned"] is False
        app.on_rebalance_end()
        status, checks = await readyz()
        assert status == 503 and checks["partitions_assigned"] and not checks["state_recovered"]
        recovery.in_recovery = True  # restoring the changelog
        recovery.completed.set()
        assert await readyz() == (503, {
            "partitions_assigned": True, "state_recovered": False, "broker_reachable": True,
        })  # fmt: skip
        recovery.in_recovery = False
        assert await readyz() == (200, {
            "partitions_assigned": True, "state_recovered": True, "broker_reachable": True,
        })  # fmt: skip
        app.on_rebalance_start()  # a later rebalance: not ready until it ends
        assert (await readyz())[0] == 503
        app.on_rebalance_end()
        assert (await readyz())[0] == 200
        health = await client.get("/healthz")
        assert health.status == 200  # alive throughout
    close(rt)
