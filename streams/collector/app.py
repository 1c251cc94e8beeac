"""The collector's aiohttp application: the tracking API, probes and metrics.

One tracking request, in the order things must happen (:meth:`Collector.track`):

1. the write key of the ``Authorization`` header, else of the ``writeKey`` query
   parameter (RudderStack's beacons; 401 when it is not valid), then whether the
   collector can take work now: connected to the broker and not stopping (else 503 with
   ``Retry-After``);
2. a share of the in-flight budget for the body as declared (503 with ``Retry-After``
   when it does not fit; 413 at once when it is declared over Segment's limit, before a
   byte of it is read);
3. the body read, decompressed (its decompressed size taken from the budget too), split
   into single messages stamped with ``receivedAt`` (:mod:`~streams.collector.messages`:
   400 for malformed JSON, 413 for a message or batch over the limits, a chunked body
   too, read no further than the limit); without a header or
   query key, the write key in the body (analytics.js's ``text/plain`` beacons, Segment's
   mobile SDKs; 401 when it is not valid);
4. each message routed by the decoder: touchpoints or dead letters
   (:mod:`~streams.collector.routing`);
5. every record handed to the idempotent producer and its acknowledgement awaited, for
   at most ``JOURNEYS_COLLECTOR_PRODUCE_TIMEOUT_SECONDS``: 200 only once all are
   acknowledged, else 503 with ``Retry-After`` (the SDK sends the request again; the
   worker drops what arrives twice by its message id);
6. the budget given back once the producer holds none of the request's records any more:
   on a timeout that is later than the answer, so memory stays bounded while the broker
   is away.

Every request, to these paths or any other, first passes the edge
(:mod:`~streams.collector.edge`): CORS, JSON errors for aiohttp's own 404/405, one count
per route and status, refusals logged. The tracking endpoints are served under every
prefix the SDKs use (:mod:`~streams.collector.routes`).

``/healthz`` answers while the event loop does; ``/readyz`` is 200 when the producer is
connected, the broker answers a TCP connection and the collector is not stopping;
``/metrics`` is the collector's registry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from schemas.codec import isoformat_utc
from streams.collector.auth import WriteKeys
from streams.collector.budget import Budget
from streams.collector.cors import Origins
from streams.collector.edge import RefusalLog, edge_middleware, error
from streams.collector.messages import (
    ALIASES,
    ENDPOINTS,
    MAX_BATCH_BYTES,
    BadRequest,
    body_limit,
    canonical,
    decompress,
    split,
    too_large,
)
from streams.collector.metrics import CollectorMetrics
from streams.collector.producer import RecordSink
from streams.collector.routes import PREFIXES
from streams.collector.routing import Outgoing, route
from streams.kafka.preflight import KafkaUnavailable
from streams.ops.health import Readiness, broker_reachable
from streams.ops.logs import RepeatFilter
from streams.settings import Settings

__all__ = ["Collector", "create_app"]

log = logging.getLogger(__name__)
# A broker outage fails every request alike: one line per kind per 30 s, with a count.
log.addFilter(RepeatFilter(loggers=(__name__,)))

_OK = orjson.dumps({"success": True})
_REALM = 'Basic realm="journeys collector"'


def _now() -> datetime:
    return datetime.now(UTC)


def _json(status: int, doc: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(doc), content_type="application/json", headers=headers
    )


_error = error


class Collector:
    """The tracking API of one collector process (the handlers and what they share)."""

    def __init__(
        self,
        settings: Settings,
        producer: RecordSink,
        metrics: CollectorMetrics | None = None,
        *,
        wall: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.metrics = metrics if metrics is not None else CollectorMetrics()
        self.keys = WriteKeys(settings.collector_write_keys)
        self.origins = Origins(settings.collector_allowed_origins)
        self.refusals = RefusalLog(clock=monotonic)
        self.budget = Budget(settings.collector_max_in_flight_bytes)
        self.stopping = False
        self._wall, self.monotonic = wall, monotonic
        self._skew = timedelta(seconds=settings.max_future_skew_seconds)
        self._retry_after = str(settings.collector_retry_after_seconds)
        self.metrics.in_flight_limit.set(self.budget.capacity)
        self.readiness = Readiness(
            {
                "accepting": lambda: not self.stopping,
                "producer_connected": lambda: self.producer.connected,
                "broker_reachable": self._broker_reachable,
            }
        )

    async def _broker_reachable(self) -> bool:
        return await broker_reachable(self.settings.bootstrap_list, 1.0)

    # -- the tracking API --------------------------------------------------------------

    async def track(self, request: web.Request) -> web.Response:
        """POST to a tracking path (counted and timed by the edge) around :meth:`_track`."""
        path = request.match_info["endpoint"]
        endpoint = canonical(path)
        if endpoint is None:
            return _error(404, "not_found", f"no endpoint {path[:40]}")
        try:
            return await self._track(endpoint, request)
        except Exception:  # a defect: answered and counted like any other request
            log.exception("request to %s failed", endpoint)
            return _error(500, "internal_error", "the collector failed on this request")

    def _key_before_body(self, request: web.Request) -> bool | None:
        """Whether the header's (else the query's) write key is valid; ``None``: neither
        was sent, the body's key decides."""
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            return self.keys.allows(authorization)
        query_key = request.query.get("writeKey")
        return None if query_key is None else self.keys.allows_key(query_key)

    async def _track(self, endpoint: str, request: web.Request) -> web.Response:
        # 1. the write key of the header or query; whether work can be taken now
        key_valid = self._key_before_body(request)
        if key_valid is False:
            return self._unauthorized()
        if self.stopping or not self.producer.connected:
            why = "the collector is stopping" if self.stopping else "the broker is not reachable"
            return self._unavailable("unavailable", why)
        # 2. a share of the budget for the body as declared
        declared = request.content_length
        if declared is not None and declared > body_limit(endpoint):
            return self._bad(too_large(endpoint, declared))
        held = declared if declared is not None else MAX_BATCH_BYTES  # the most read() reads
        if not self.budget.take(held):
            return self._unavailable("busy", "too many requests in flight; retry later")
        self.metrics.in_flight.set(self.budget.used)
        futures: list[asyncio.Future[Any]] = []
        try:
            # 3. read, decompress, split into single messages
            raw = await self._read(request, endpoint)
            self.metrics.received_bytes.inc(len(raw))
            body = decompress(endpoint, raw, request.headers.get("Content-Encoding"))
            if body is not raw:
                if not self.budget.take(len(body)):
                    return self._unavailable("busy", "too many requests in flight; retry later")
                held += len(body)
            now = self._wall()
            split_body = split(endpoint, body, isoformat_utc(now))
            if key_valid is None and not self.keys.allows_key(split_body.write_key):
                return self._unauthorized()
            # 4. routed by the decoder
            records = [
                record for value in split_body.values for record in route(value, now, self._skew)
            ]
            # 5. produced; the answer waits for every acknowledgement
            return await self._produce(records, futures)
        except BadRequest as exc:
            return self._bad(exc)
        finally:
            # 6. the budget back once the producer holds nothing of this request
            self._give_back_when_done(held, futures)

    async def _read(self, request: web.Request, endpoint: str) -> bytes:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:  # a chunked body past client_max_size
            raise too_large(endpoint, None) from None
        if len(raw) > body_limit(endpoint):
            raise too_large(endpoint, len(raw))
        return raw

    async def _produce(
        self, records: list[Outgoing], futures: list[asyncio.Future[Any]]
    ) -> web.Response:
        timeout = self.settings.collector_produce_timeout_seconds
        started = self.monotonic()
        try:
            async with asyncio.timeout(timeout):
                await self.producer.enqueue(records, futures)
            if futures:
                left = max(timeout - (self.monotonic() - started), 0.0)
                _done, pending = await asyncio.wait(futures, timeout=left)
                if pending:
                    raise TimeoutError
                for future in futures:
                    future.result()  # raises the first failure
        except TimeoutError:
            log.warning("the broker did not acknowledge within %.1f s; answering 503", timeout)
            return self._unavailable("broker_timeout", "the broker did not acknowledge in time")
        except (KafkaError, KafkaUnavailable) as exc:
            log.warning("producing failed (%s); answering 503", type(exc).__name__)
            return self._unavailable("broker_error", "the broker refused the messages")
        self.metrics.produce_seconds.observe(self.monotonic() - started)
        self._count(records)
        return web.Response(body=_OK, content_type="application/json")

    def _count(self, records: list[Outgoing]) -> None:
        accepted = [r for r in records if r.role == "touchpoints"]
        self.metrics.messages.labels("touchpoints").inc(len(accepted))
        self.metrics.accepted_bytes.inc(sum(len(r.value) for r in accepted))
        rejected = len(records) - len(accepted)
        if rejected:
            self.metrics.messages.labels("deadletters").inc(rejected)
            for record in records:
                if record.reason is not None:
                    self.metrics.dead_lettered(record.reason)

    def _give_back_when_done(self, size: int, futures: list[asyncio.Future[Any]]) -> None:
        pending = [f for f in futures if not f.done()]
        for future in futures:
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning
        if not pending:
            self._give_back(size)
            return
        left = len(pending)

        def one_done(future: asyncio.Future[Any]) -> None:
            nonlocal left
            if not future.cancelled():
                future.exception()
            left -= 1
            if left == 0:
                self._give_back(size)

        for future in pending:
            future.add_done_callback(one_done)

    def _give_back(self, size: int) -> None:
        self.budget.give(size)
        self.metrics.in_flight.set(self.budget.used)

    @staticmethod
    def _unauthorized() -> web.Response:
        return _error(
            401,
            "invalid_write_key",
            "a valid write key is required: HTTP Basic with the write key as the user name "
            "(or writeKey in the query string or the body)",
            {"WWW-Authenticate": _REALM},
        )

    def _unavailable(self, code: str, message: str) -> web.Response:
        return _error(503, code, message, {"Retry-After": self._retry_after})

    @staticmethod
    def _bad(exc: BadRequest) -> web.Response:
        return _error(exc.status, exc.code, exc.message)

    # -- probes and metrics ------------------------------------------------------------

    async def healthz(self, _request: web.Request) -> web.Response:
        return _json(200, {"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        ready, body = await self.readiness.report()
        return _json(200 if ready else 503, body)

    async def metrics_view(self, _request: web.Request) -> web.Response:
        self.metrics.connected.set(1 if self.producer.connected else 0)
        self.metrics.in_flight.set(self.budget.used)
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


def create_app(collector: Collector) -> web.Application:
    """The aiohttp application serving ``collector``."""
    edge = edge_middleware(
        collector.metrics, collector.origins, collector.refusals, collector.monotonic
    )
    app = web.Application(client_max_size=MAX_BATCH_BYTES, middlewares=[edge])
    names = "|".join(ENDPOINTS + tuple(ALIASES))
    for prefix in PREFIXES:  # /v1/track, /v1/t, /beacon/v1/batch; at the root only names
        pattern = "{endpoint}" if prefix != "/" else "{endpoint:(?:" + names + ")}"
        app.router.add_post(prefix + pattern, collector.track)
    app.router.add_get("/healthz", collector.healthz)
    app.router.add_get("/readyz", collector.readyz)
    app.router.add_get("/metrics", collector.metrics_view)
    return app
