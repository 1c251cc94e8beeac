"""The storefront's server without a broker: the page, the fresh customer, the triggers
it shows, and the page's port taken before anything starts."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from journeys import in_holdout
from streams.demo.storefront import Storefront, listen
from streams.settings import Settings

SETTINGS = Settings(bootstrap_servers="127.0.0.1:1", topic_prefix="shop-t", partitions=2)


def store() -> Storefront:
    return Storefront(SETTINGS, "127.0.0.1:8088", "demo-key")


async def _client(front: Storefront) -> TestClient[Any, Any]:
    client = TestClient(TestServer(front.app()))
    await client.start_server()
    return client


def test_the_page_carries_its_configuration_and_picks_a_customer_outside_the_holdout() -> None:
    async def body() -> None:
        client = await _client(store())
        try:
            fresh = await client.get("/", allow_redirects=False)
            assert fresh.status == 302
            customer = re.fullmatch(
                r"/\?customer=(shopper-[0-9a-f]{8}-\d+)&anon=([0-9a-f-]{36})",
                fresh.headers["Location"],
            )
            assert customer is not None
            assert not in_holdout(customer.group(1), "lifecycle", 5)
            assert not in_holdout(customer.group(2), "lifecycle", 5)
            page = await (await client.get(fresh.headers["Location"])).text()
            config = re.search(r"const CONFIG = (.*);", page)
            assert config is not None
            assert json.loads(config.group(1))["anonymousId"] == customer.group(2)
            page = await (await client.get("/", params={"customer": "ada</script>"})).text()
            config = re.search(r"const CONFIG = (.*);", page)
            assert config is not None
            assert json.loads(config.group(1).replace("<\\/", "</")) == {
                "apiHost": "127.0.0.1:8088",
                "writeKey": "demo-key",
                "customer": "ada</script>",
            }
            assert "ada</script>" not in page  # no way out of the script element
        finally:
            await client.close()

    asyncio.run(body())


def test_the_page_lists_a_customers_triggers_as_read() -> None:
    front = store()
    trigger = {"trigger_id": "t-1", "customer_id": "ada", "kind": "onboarding.welcome"}
    front.on_trigger(orjson.dumps(trigger | {"rule": "welcome", "journey": "lifecycle"}), 0.0)
    front.on_trigger(b"not json", 0.0)
    front.on_trigger(orjson.dumps({"reason": "invalid_json"}), 0.0)

    async def body() -> tuple[Any, Any]:
        client = await _client(front)
        try:
            ada = await (await client.get("/api/triggers/ada")).json()
            other = await (await client.get("/api/triggers/bob")).json()
            return ada, other
        finally:
            await client.close()

    ada, other = asyncio.run(body())
    assert ada == [
        {
            "kind": "onboarding.welcome",
            "rule": "welcome",
            "trigger_id": "t-1",
            "journey": "lifecycle",
        }
    ]
    assert other == []


def test_the_pages_port_is_taken_first_and_a_port_in_use_is_an_error() -> None:
    with listen("127.0.0.1", 0) as first:
        port = first.getsockname()[1]
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        with pytest.raises(OSError, match="in use"):
            listen("127.0.0.1", port)
