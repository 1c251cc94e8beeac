"""What every request goes through, whatever its path or method: the collector's edge.

An aiohttp middleware around the router, so that the answers aiohttp gives on its own
(404 for an unknown path, 405 for a method no route takes, 413) are treated like the
tracking API's: a JSON body with ``code`` and ``message``, the CORS headers the browser
needs to show the SDK the status, one count in ``journeys_collector_requests_total``
under a bounded route label (:mod:`~streams.collector.routes`) and its status, and, for
an answer of 400 or more, an info line. An SRE thus sees a browser's refused traffic
(a preflight answered 405, a path the collector does not know, an origin not allowed)
the moment it starts, in the metrics and in the log.

In order, per request:

1. the route label; the ``Origin`` header judged (:mod:`~streams.collector.cors`): an
   origin not allowed is answered 403 ``origin_not_allowed`` before anything else;
2. a preflight (``OPTIONS`` on a tracking path) answered 204 with the CORS headers;
3. the handler (the router's 404/405 turned into JSON answers);
4. the CORS headers added to the answer of an allowed origin;
5. counted and timed; a refusal logged (:class:`RefusalLog`).

The log line names the method, the path without its query string (RudderStack's beacon
puts the write key there) cut to 80 characters, the status, the error code and the
origin; never a header or the body. One line per kind (route, method, status) per
``interval_s``, with the number held back: a misconfigured site sends every visitor's
events, and a log line per request would be no log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from streams.collector.cors import ALLOW_METHODS, Origins
from streams.collector.metrics import CollectorMetrics
from streams.collector.routes import route_of, tracking_endpoint

__all__ = ["RefusalLog", "edge_middleware", "error"]

log = logging.getLogger("streams.collector.requests")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
}


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Segment's error body: the SDKs show ``code`` and ``message``."""
    return web.Response(
        status=status,
        body=orjson.dumps({"code": code, "message": message}),
        content_type="application/json",
        headers=headers,
    )


class RefusalLog:
    """Logs refused requests at info level, one line per kind per ``interval_s``."""

    def __init__(
        self,
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1000,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._max_kinds = max_kinds
        self._kinds: dict[tuple[str, str, int], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def refused(
        self, route: str, request: web.Request, status: int, code: str, origin: str | None
    ) -> None:
        kind = (route, request.method[:10], status)
        now = self._clock()
        with self._lock:
            since, held = self._kinds.get(kind, (-self.interval_s, 0))
            if now - since < self.interval_s:
                self._kinds[kind] = (since, held + 1)
                return
            self._kinds.pop(kind, None)
            if len(self._kinds) >= self._max_kinds:
                del self._kinds[next(iter(self._kinds))]
            self._kinds[kind] = (now, 0)
        more = f" [{held} more like this in the last {now - since:.0f} s]" if held else ""
        log.info(
            "answered %d %s to %s %s (route %s, origin %s)%s",
            status,
            code,
            request.method[:10],
            request.path[:80],
            route,
            "none" if origin is None else origin[:100],
            more,
        )


def _code_of(response: web.StreamResponse) -> str:
    body = getattr(response, "body", None)
    if isinstance(body, bytes) and body.startswith(b"{"):
        try:
            doc: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("code"), str):
            return str(doc["code"])[:40]
    return _CODES.get(response.status, "error")


def _from_exception(exc: web.HTTPException, request: web.Request) -> web.Response:
    """aiohttp's own answer as a JSON error, its headers (``Allow``) kept."""
    code = _CODES.get(exc.status, "error")
    if exc.status == 404:
        message = (
            f"no route {request.path[:80]}: the tracking API is POST /v1/<track|identify|page|"
            "screen|group|alias|batch|import> (or analytics.js's /v1/t ... /v1/b)"
        )
    elif exc.status == 405:
        message = f"{request.method[:10]} is not allowed here ({exc.headers.get('Allow', '')})"
    else:
        message = exc.reason
    keep = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
    return error(exc.status, code, message, keep)


def _preflight(origin: str | None, origins: Origins) -> web.Response:
    headers = {"Allow": ALLOW_METHODS}
    if origin is not None:
        headers |= origins.preflight_headers(origin)
    return web.Response(status=204, headers=headers)


def edge_middleware(
    metrics: CollectorMetrics,
    origins: Origins,
    refusals: RefusalLog,
    monotonic: Callable[[], float] = time.monotonic,
) -> Middleware:
    """The middleware: CORS, JSON errors, one count and timing per request, refusals logged."""

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = monotonic()
        # 1. the route label; the origin judged
        route = route_of(request.path)
        origin = request.headers.get("Origin")
        allowed = origin is not None and origins.allows(origin)
        response: web.StreamResponse
        if origin is not None and not allowed:
            response = error(
                403,
                "origin_not_allowed",
                f"pages of {origin[:100]} may not send to this collector: list the origin "
                "in JOURNEYS_COLLECTOR_ALLOWED_ORIGINS",
            )
        # 2. a preflight
        elif request.method == "OPTIONS" and tracking_endpoint(request.path) is not None:
            response = _preflight(origin, origins)
        else:
            # 3. the handler; aiohttp's own refusals as JSON
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = _from_exception(exc, request)
            # 4. the CORS headers for an allowed origin
            if origin is not None:
                response.headers.update(origins.answer_headers(origin))
        # 5. counted, timed, a refusal logged
        metrics.requests.labels(route, str(response.status)).inc()
        metrics.request_seconds.labels(route).observe(monotonic() - started)
        if response.status >= 400:
            refusals.refused(route, request, response.status, _code_of(response), origin)
        return response

    return edge
