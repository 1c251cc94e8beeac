"""The tracking API over HTTP, in process, with a recording sink in place of Kafka:
authentication, limits, malformed and gzip bodies, a batch with a bad item, the answer
waiting for the acknowledgements, back-pressure, probes and metrics."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas import DeadLetter
from streams.collector.messages import MAX_MESSAGE_BYTES
from tests.collector.fixtures import KEY, RecordingSink, basic, gzipped, serving, track

T = TypeVar("T")
STAMP = "2026-11-02T12:00:00Z"  # the collector's wall clock in these tests


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_a_batch_is_accepted_split_keyed_and_stamped() -> None:
    async def body() -> None:
        async with serving() as (client, _, sink):
            batch = {"batch": [track("m1", user="u-1"), track("m2", user=None, anonymousId="a")]}
            response = await client.post("/v1/batch", json=batch, headers=basic())
            assert response.status == 200
            assert await response.json() == {"success": True}
            assert [(r.role, r.key) for r in sink.records] == [
                ("touchpoints", b"u-1"),
                ("touchpoints", b"a"),
            ]
            assert [m["receivedAt"] for m in sink.values()] == [STAMP, STAMP]

    run(body())


@pytest.mark.parametrize("endpoint", ["track", "identify", "page", "screen", "group", "alias"])
def test_every_single_message_endpoint(endpoint: str) -> None:
    message = {"userId": "u-1", "messageId": "m1", "event": "Signed Up", "groupId": "g"}
    message |= {"previousId": "a-1"} if endpoint == "alias" else {}

    async def body() -> None:
        async with serving() as (client, _, sink):
            response = await client.post(f"/v1/{endpoint}", json=message, headers=basic())
            assert response.status == 200, await response.text()
            [stored] = sink.values()
            assert stored["type"] == endpoint

    run(body())


@pytest.mark.parametrize(
    "headers",
    [{}, basic("wrong-key"), {"Authorization": f"Bearer {KEY}"}],
    ids=["none", "wrong", "bearer"],
)
def test_without_a_valid_write_key_401(headers: dict[str, str]) -> None:
    async def body() -> None:
        async with serving() as (client, _, sink):
            response = await client.post("/v1/batch", json={"batch": [track("m")]}, headers=headers)
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Basic")
            assert (await response.json())["code"] == "invalid_write_key"
            assert sink.records == []

    run(body())


def test_the_kotlin_and_swift_way_write_key_in_the_body_on_v1_b() -> None:
    """No header, a gzip body sent in chunks as text/plain to /v1/b, the key at its end."""

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100):
            yield data[i : i + 100]

    def body_with(key: str) -> bytes:
        return gzipped({"batch": [track("m1")], "sentAt": STAMP, "writeKey": key})

    async def body() -> None:
        async with serving() as (client, _, sink):
            headers = {"Content-Encoding": "gzip", "Content-Type": "text/plain"}
            ok = await client.post("/v1/b", data=chunks(body_with(KEY)), headers=headers)
            assert ok.status == 200
            assert [m["messageId"] for m in sink.values()] == ["m1"]
            assert "writeKey" not in sink.values()[0]
            wrong = await client.post("/v1/b", data=body_with("nope"), headers=headers)
            assert wrong.status == 401
            both = {**headers, **basic("wrong-key")}  # a header, when sent, decides
            assert (await client.post("/v1/b", data=body_with(KEY), headers=both)).status == 401
            assert len(sink.records) == 1
            text = await (await client.get("/metrics")).text()
            assert 'journeys_collector_requests_total{code="200",endpoint="batch"} 1.0' in text

    run(body())


def test_oversize_message_and_batch_are_413_saying_which() -> None:
    big = track("m2", properties={"blob": "x" * MAX_MESSAGE_BYTES})
    items = [track(f"m{i}", properties={"blob": "x" * 25_000}) for i in range(25)]

    async def body() -> None:
        async with serving() as (client, _, sink):
            one = await client.post(
                "/v1/batch", json={"batch": [track("m1"), big]}, headers=basic()
            )
            assert one.status == 413
            doc = await one.json()
            assert doc["code"] == "message_too_large" and "batch[1]" in doc["message"]
            whole = await client.post("/v1/batch", json={"batch": items}, headers=basic())
            assert whole.status == 413
            assert (await whole.json())["code"] == "batch_too_large"
            single = await client.post("/v1/track", json=big, headers=basic())
            assert single.status == 413
            assert (await single.json())["code"] == "message_too_large"
            assert sink.records == []  # nothing of a refused request is stored

    run(body())


def test_a_chunked_body_over_the_limit_is_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"batch": ['
        for _ in range(30):
            yield b'"' + b"x" * 20_000 + b'",'
        yield b"1]}"

    async def body() -> None:
        async with serving() as (client, collector, _):
            response = await client.post("/v1/batch", data=chunks(), headers=basic())
            assert response.status == 413
            assert (await response.json())["code"] == "batch_too_large"
            assert collector.budget.used == 0

    run(body())


def test_malformed_json_is_400() -> None:
    async def body() -> None:
        async with serving() as (client, _, _sink):
            response = await client.post("/v1/batch", data=b'{"batch": [', headers=basic())
            assert response.status == 400
            assert (await response.json())["code"] == "invalid_json"

    run(body())


def test_gzip_bodies_as_the_sdks_send_them() -> None:
    async def body() -> None:
        async with serving() as (client, _, sink):
            headers = {**basic(), "Content-Encoding": "gzip", "Content-Type": "application/json"}
            data = gzipped({"batch": [track("m1"), track("m2", user="u-2")]})
            response = await client.post("/v1/batch", data=data, headers=headers)
            assert response.status == 200
            assert [m["messageId"] for m in sink.values()] == ["m1", "m2"]
            bomb = gzip.compress(b" " * 1_000_000)
            refused = await client.post("/v1/batch", data=bomb, headers=headers)
            assert refused.status == 413
            assert (await refused.json())["code"] == "batch_too_large"
            garbage = await client.post("/v1/batch", data=b"not gzip", headers=headers)
            assert (await garbage.json())["code"] == "invalid_gzip"

    run(body())


def test_a_batch_with_one_bad_item_dead_letters_it_and_accepts_the_rest() -> None:
    bad = track("m2", user=None)  # no userId, no anonymousId

    async def body() -> None:
        async with serving() as (client, collector, sink):
            batch = {"batch": [track("m1"), bad, track("m3")]}
            response = await client.post("/v1/batch", json=batch, headers=basic())
            assert response.status == 200
            assert [m["messageId"] for m in sink.values()] == ["m1", "m3"]
            [letter] = [DeadLetter.model_validate_json(r.value) for r in sink.records[1:2]]
            assert sink.records[1].role == "deadletters"
            assert letter.reason == "missing_identity"
            assert orjson.loads(letter.payload())["messageId"] == "m2"
            metrics = await (await client.get("/metrics")).text()
            assert 'journeys_collector_dead_letters_total{reason="missing_identity"} 1.0' in metrics
            assert 'journeys_collector_messages_total{destination="touchpoints"} 2.0' in metrics
            assert collector.budget.used == 0

    run(body())


def test_not_connected_is_503_with_retry_after_and_not_ready() -> None:
    async def body() -> None:
        async with serving(RecordingSink(connected=False)) as (client, _, _sink):
            response = await client.post("/v1/batch", json={"batch": []}, headers=basic())
            assert response.status == 503
            assert response.headers["Retry-After"] == "1"
            ready = await client.get("/readyz")
            assert ready.status == 503
            assert (await ready.json())["checks"]["producer_connected"] is False
            assert (await client.get("/healthz")).status == 200

    run(body())


def test_the_answer_waits_for_the_acks_and_a_timeout_is_503() -> None:
    async def body() -> None:
        sink = RecordingSink(mode="hold")
        overrides: dict[str, Any] = {"collector_produce_timeout_seconds": 0.3}
        async with serving(sink, **overrides) as (client, collector, _):
            response = await client.post(
                "/v1/batch", json={"batch": [track("m1")]}, headers=basic()
            )
            assert response.status == 503
            assert (await response.json())["code"] == "broker_timeout"
            assert collector.budget.used > 0  # the producer still holds the record
            sink.release()
            await asyncio.sleep(0)
            assert collector.budget.used == 0

    run(body())


def test_a_failed_ack_is_503() -> None:
    async def body() -> None:
        async with serving(RecordingSink(mode="fail")) as (client, _, _sink):
            response = await client.post(
                "/v1/batch", json={"batch": [track("m1")]}, headers=basic()
            )
            assert response.status == 503
            assert (await response.json())["code"] == "broker_error"

    run(body())


def test_over_the_in_flight_budget_503_with_retry_after() -> None:
    async def body() -> None:
        sink = RecordingSink(mode="hold")
        overrides: dict[str, Any] = {
            "collector_max_in_flight_bytes": 1024 * 1024,
            "collector_retry_after_seconds": 3,
        }
        async with serving(sink, **overrides) as (client, collector, _):
            data = orjson.dumps(
                {"batch": [track(f"m{i}", properties={"p": "x" * 20_000}) for i in range(24)]}
            )
            assert 400_000 < len(data) < 500_000
            first = asyncio.create_task(client.post("/v1/batch", data=data, headers=basic()))
            second = asyncio.create_task(client.post("/v1/batch", data=data, headers=basic()))
            async with asyncio.timeout(10):  # both taken, their records held by the producer
                await sink.holding(48)
            third = await client.post("/v1/batch", data=data, headers=basic())
            assert third.status == 503
            assert third.headers["Retry-After"] == "3"
            assert (await third.json())["code"] == "busy"
            sink.release()
            assert [(await r).status for r in (first, second)] == [200, 200]
            assert collector.budget.used == 0

    run(body())


def test_unknown_endpoint_is_404_and_probes_answer() -> None:
    async def body() -> None:
        async with serving() as (client, _, _sink):
            assert (await client.post("/v1/nope", json={}, headers=basic())).status == 404
            ready = await client.get("/readyz")
            doc = await ready.json()
            assert set(doc["checks"]) == {"accepting", "producer_connected", "broker_reachable"}

    run(body())


def test_metrics_follow_prometheus_conventions() -> None:
    async def body() -> str:
        async with serving() as (client, _, _sink):
            await client.post("/v1/batch", json={"batch": [track("m1")]}, headers=basic())
            await client.post("/v1/batch", json={"batch": []}, headers=basic("bad"))
            return await (await client.get("/metrics")).text()

    text = run(body())
    families = {  # ``*_created`` series are switched off by ``journeys collect``
        f.name: f for f in text_string_to_metric_families(text) if not f.name.endswith("_created")
    }
    assert set(families) == {
        "journeys_collector_requests",
        "journeys_collector_messages",
        "journeys_collector_dead_letters",
        "journeys_collector_received_bytes",
        "journeys_collector_accepted_bytes",
        "journeys_collector_produce_duration_seconds",
        "journeys_collector_request_duration_seconds",
        "journeys_collector_in_flight_bytes",
        "journeys_collector_in_flight_limit_bytes",
        "journeys_collector_producer_connected",
    }
    for family in families.values():
        assert family.documentation.strip()
        if family.type == "histogram":
            assert family.name.endswith("_seconds")
    assert 'journeys_collector_requests_total{code="200",endpoint="batch"} 1.0' in text
    assert 'journeys_collector_requests_total{code="401",endpoint="batch"} 1.0' in text
    assert "journeys_collector_produce_duration_seconds_count 1.0" in text
