"""The collector's edge, in process: CORS for browser pages, analytics.js's short paths
and text/plain bodies, RudderStack's beacon path, and every request counted by route and
status (aiohttp's own 404 and 405 included) and refused ones logged, rate-limited."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import orjson
import pytest

from streams.collector.cors import ALLOW_HEADERS, MAX_AGE_SECONDS
from streams.collector.routes import route_of
from tests.collector.fixtures import KEY, basic, serving, track

T = TypeVar("T")
PAGE = "http://127.0.0.1:8000"  # the allowed origin of these tests
ELSEWHERE = "https://evil.example"
ANSWER_CORS = {
    "Access-Control-Allow-Origin": PAGE,
    "Access-Control-Expose-Headers": "Retry-After",
    "Vary": "Origin",
}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def text_plain(doc: Any) -> tuple[bytes, dict[str, str]]:
    """A body as analytics.js sends it: JSON text, ``Content-Type: text/plain``."""
    return orjson.dumps(doc), {"Content-Type": "text/plain", "Origin": PAGE}


def counts(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("journeys_collector_requests_total{"):
            labels, value = line.split("} ")
            parts = dict(p.split("=") for p in labels.split("{")[1].split(","))
            found[(parts["endpoint"].strip('"'), parts["code"].strip('"'))] = float(value)
    return found


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/v1/track", "track"),
        ("/v1/t", "track"),
        ("/t", "track"),
        ("/i", "identify"),
        ("/v1/p", "page"),
        ("/s", "screen"),
        ("/g", "group"),
        ("/a", "alias"),
        ("/b", "batch"),
        ("/v1/b", "batch"),
        ("/beacon/v1/batch", "batch"),
        ("/import", "import"),
        ("/metrics", "metrics"),
        ("/healthz/", "healthz"),
        ("/v1/x", "other"),
        ("/v2/track", "other"),
        ("/wp-login.php", "other"),
        ("/", "other"),
    ],
)
def test_route_labels_are_bounded(path: str, route: str) -> None:
    assert route_of(path) == route


def test_preflight_from_an_allowed_origin() -> None:
    async def body() -> None:
        async with serving(collector_allowed_origins=PAGE) as (client, _, sink):
            response = await client.options(
                "/v1/t",
                headers={
                    "Origin": PAGE,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )
            assert response.status == 204
            ignored = {"Date", "Server", "Content-Length"}
            assert {k: v for k, v in response.headers.items() if k not in ignored} == {
                **ANSWER_CORS,
                "Allow": "POST, OPTIONS",
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            }
            assert sink.records == []

    run(body())


def test_analytics_js_short_paths_text_plain_and_key_in_the_body() -> None:
    """analytics.js 2.0 posts to ``<apiHost>/t`` etc.: apiHost with or without /v1."""

    async def body() -> None:
        async with serving(collector_allowed_origins=PAGE) as (client, _, sink):
            for n, path in enumerate(("/t", "/v1/t", "/i", "/v1/p", "/s", "/g", "/a")):
                message = track(f"m{n}", groupId="g-1", previousId="a-1")
                data, headers = text_plain({**message, "writeKey": KEY})
                response = await client.post(path, data=data, headers=headers)
                assert response.status == 200, await response.text()
                assert response.headers["Access-Control-Allow-Origin"] == PAGE
            batch = {"batch": [track("b1")], "writeKey": KEY, "sentAt": "2026-11-02T12:00:00Z"}
            response = await client.post("/b", data=orjson.dumps(batch), headers=headers)
            assert response.status == 200
            types = [m["type"] for m in sink.values()]
            singles = ["track", "track", "identify", "page", "screen", "group", "alias"]
            assert types == [*singles, "track"]
            assert all("writeKey" not in m for m in sink.values())

    run(body())


def test_rudderstack_beacon_key_in_the_query() -> None:
    async def body() -> None:
        async with serving(collector_allowed_origins="*") as (client, _, sink):
            data = orjson.dumps({"batch": [track("r1")], "sentAt": "2026-11-02T12:00:00Z"})
            headers = {"Content-Type": "text/plain", "Origin": ELSEWHERE}
            ok = await client.post(f"/beacon/v1/batch?writeKey={KEY}", data=data, headers=headers)
            bad = await client.post("/beacon/v1/batch?writeKey=nope", data=data, headers=headers)
            assert (ok.status, bad.status) == (200, 401)
            assert bad.headers["Access-Control-Allow-Origin"] == ELSEWHERE  # `*`: echoed
            assert [m["messageId"] for m in sink.values()] == ["r1"]

    run(body())


def test_a_disallowed_origin_is_refused_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "streams.collector.requests")

    async def body() -> str:
        async with serving(collector_allowed_origins=PAGE) as (client, _, sink):
            preflight = await client.options(
                "/v1/t", headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"}
            )
            data, _ = text_plain({**track("m1"), "writeKey": KEY})
            beacon = await client.post(
                "/v1/t", data=data, headers={"Origin": ELSEWHERE, "Content-Type": "text/plain"}
            )
            for response in (preflight, beacon):
                assert response.status == 403
                assert "Access-Control-Allow-Origin" not in response.headers
                assert (await response.json())["code"] == "origin_not_allowed"
            assert sink.records == []
            return await (await client.get("/metrics")).text()

    found = counts(run(body()))
    assert found[("track", "403")] == 2.0
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.collector.requests"]
    assert lines == [
        f"answered 403 origin_not_allowed to {method} /v1/t (route track, origin {ELSEWHERE})"
        for method in ("OPTIONS", "POST")
    ]


def test_errors_carry_cors_headers_so_the_sdk_sees_the_status() -> None:
    async def body() -> None:
        async with serving(collector_allowed_origins=PAGE) as (client, _, _sink):
            data, headers = text_plain(track("m1"))
            unauthorized = await client.post("/t", data=data, headers=headers | basic("bad"))
            unknown = await client.post("/v1/nope", data=data, headers=headers)
            for response, status in ((unauthorized, 401), (unknown, 404)):
                assert response.status == status
                assert {k: response.headers[k] for k in ANSWER_CORS} == ANSWER_CORS

    run(body())


def test_every_request_is_counted_by_route_and_status() -> None:
    async def body() -> str:
        async with serving() as (client, _, _sink):
            assert (await client.get("/v1/track")).status == 405
            wrong = await client.get("/nowhere/at/all")
            assert wrong.status == 404
            assert (await wrong.json())["code"] == "not_found"
            put = await client.put("/metrics")
            assert put.status == 405
            assert put.headers["Allow"] == "GET,HEAD"
            assert (await put.json())["code"] == "method_not_allowed"
            assert (await client.post("/v1/zz", data=b"{}")).status == 404
            assert (await client.post("/t", json=track("m"), headers=basic())).status == 200
            assert (await client.post("/t", json=track("m"))).status == 401
            assert (await client.get("/healthz")).status == 200
            return await (await client.get("/metrics")).text()

    assert counts(run(body())) == {
        ("track", "405"): 1.0,
        ("other", "404"): 2.0,
        ("metrics", "405"): 1.0,
        ("track", "200"): 1.0,
        ("track", "401"): 1.0,
        ("healthz", "200"): 1.0,
    }


def test_refusals_are_logged_once_per_kind_per_interval_never_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "streams.collector.requests")
    clock = [0.0]

    async def body() -> None:
        async with serving(monotonic=lambda: clock[0]) as (client, _, _sink):
            for _ in range(5):
                await client.post(f"/beacon/v1/batch?writeKey={KEY}x", data=b"{}")
            clock[0] = 31.0
            await client.post(f"/beacon/v1/batch?writeKey={KEY}x", data=b"{}")
            await client.get("/nowhere")

    run(body())
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.collector.requests"]
    assert lines == [
        "answered 401 invalid_write_key to POST /beacon/v1/batch (route batch, origin none)",
        "answered 401 invalid_write_key to POST /beacon/v1/batch (route batch, origin none)"
        " [4 more like this in the last 31 s]",
        "answered 404 not_found to GET /nowhere (route other, origin none)",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name.endswith("requests"))
    assert KEY not in caplog.text
    assert base64.b64encode(KEY.encode()).decode() not in caplog.text


def test_an_oversized_body_is_413_json_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Declared (``Content-Length``, refused before it is read) or chunked (read up to the
    limit): 413 with the JSON error body and the CORS headers, counted by route and
    status, one info line per kind; nothing stored."""
    caplog.set_level(logging.INFO, "streams.collector.requests")
    big = orjson.dumps({**track("m1"), "properties": {"blob": "x" * 40_000}})

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"batch": ['
        for _ in range(30):
            yield b'"' + b"x" * 20_000 + b'",'
        yield b"1]}"

    async def body() -> str:
        async with serving(collector_allowed_origins=PAGE) as (client, collector, sink):
            headers = {"Origin": PAGE, "Content-Type": "text/plain"} | basic()
            declared = await client.post("/t", data=big, headers=headers)
            chunked = await client.post("/v1/b", data=chunks(), headers=headers)
            answers = [(r.status, await r.json()) for r in (declared, chunked)]
            assert answers == [
                (
                    413,
                    {
                        "code": "message_too_large",
                        "message": f"the message is {len(big):,} bytes; the limit is 32 KB "
                        "(32768 bytes) per message",
                    },
                ),
                (
                    413,
                    {
                        "code": "batch_too_large",
                        "message": "the batch is over the limit; the limit is 500 KB "
                        "(512000 bytes) per batch request",
                    },
                ),
            ]
            for response in (declared, chunked):
                assert response.content_type == "application/json"
                assert {k: response.headers[k] for k in ANSWER_CORS} == ANSWER_CORS
            assert sink.records == []
            assert collector.budget.used == 0
            return await (await client.get("/metrics")).text()

    assert counts(run(body())) == {("track", "413"): 1.0, ("batch", "413"): 1.0}
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.collector.requests"]
    assert lines == [
        f"answered 413 message_too_large to POST /t (route track, origin {PAGE})",
        f"answered 413 batch_too_large to POST /v1/b (route batch, origin {PAGE})",
    ]
    assert KEY not in caplog.text
