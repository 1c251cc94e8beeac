"""``journeys demo --storefront``: a shop page a person can click, end to end.

The page (:mod:`~streams.demo.shop_page`) is served on its own origin and sends real
analytics.js 2.0 calls (the bundle built from npm in ``deploy/browser``) to a
``journeys collect`` on another port, which allows exactly that origin; a ``journeys
worker`` (live clock) turns the touchpoints into triggers; this server reads the trigger
topic back (``read_committed``: only what the worker committed) and the page shows the
customer's triggers as they arrive. The same path as a real site's traffic, CORS
included, so what the page shows is what marketing automation would receive.

Opening ``/`` picks a fresh customer id and a fresh anonymous id, both outside the
journey's holdout (the cohort goes by the anonymous id the person is first tracked under;
in the holdout the page would stay empty by design), and redirects to
``/?customer=<id>&anon=<anonymous id>``; the page hands the anonymous id to the SDK.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from journeys import in_holdout
from schemas.topics import by_role, topic_specs
from streams.demo.shop_page import PAGE
from streams.kafka.outputs import read_outputs
from streams.settings import Settings

__all__ = ["DIST", "Storefront", "listen", "new_customer"]

DIST = Path(__file__).resolve().parents[2] / "deploy" / "browser" / "dist"
_SHOWN = ("kind", "rule", "trigger_id", "journey")


class Storefront:
    """The page, the SDK bundle and each customer's committed triggers, over HTTP."""

    def __init__(self, settings: Settings, api_host: str, write_key: str) -> None:
        self.settings = settings
        self.api_host = api_host  # host:port of the collector, as analytics.js wants it
        self.write_key = write_key  # a browser's write key is public: the page shows it
        self.triggers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.topic = by_role(topic_specs(settings.topic_prefix, settings.partitions))[
            "triggers"
        ].name

    def on_trigger(self, value: bytes, _now: float) -> None:
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            return
        if isinstance(doc, dict) and "customer_id" in doc:
            shown = {name: doc.get(name) for name in _SHOWN}
            self.triggers[str(doc["customer_id"])].append(shown)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.index)
        app.router.add_get("/api/triggers/{customer}", self.customer_triggers)
        app.router.add_static("/sdk/", DIST)
        return app

    async def index(self, request: web.Request) -> web.Response:
        customer = request.query.get("customer", "").strip()[:100]
        anonymous = request.query.get("anon", "").strip()[:100]
        if not customer:
            raise web.HTTPFound(f"/?customer={new_customer()}&anon={new_visitor()}")
        config = {"apiHost": self.api_host, "writeKey": self.write_key, "customer": customer}
        if anonymous:
            config["anonymousId"] = anonymous
        html = PAGE.substitute(config=json.dumps(config).replace("</", "<\\/"))
        return web.Response(text=html, content_type="text/html")

    async def customer_triggers(self, request: web.Request) -> web.Response:
        found = self.triggers.get(request.match_info["customer"], [])
        return web.json_response(found)

    async def serve(self, listener: socket.socket, stop: asyncio.Event) -> None:
        """Serve on ``listener`` (:func:`listen`) and read the trigger topic until
        ``stop`` is set."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        await web.SockSite(runner, listener).start()
        try:
            await read_outputs(self.settings, [self.topic], stop, self.on_trigger)
        finally:
            await runner.cleanup()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``0``: any free port); ``OSError`` when
    the port is taken. Bound before anything else starts, so that is known at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not over a listener
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def new_customer(journey: str = "lifecycle", holdout_percent: int = 5) -> str:
    """A fresh customer id outside ``journey``'s holdout."""
    base = f"shopper-{uuid.uuid4().hex[:8]}"
    return next(
        name
        for i in itertools.count()
        if not in_holdout(name := f"{base}-{i}", journey, holdout_percent)
    )


def new_visitor(journey: str = "lifecycle", holdout_percent: int = 5) -> str:
    """A fresh anonymous id (a UUID, as the SDK draws one) outside ``journey``'s holdout:
    a person tracked anonymously first is assigned their cohort by that id
    (``CustomerState.assigned_as``), so the page gives the SDK this one."""
    return next(
        anonymous
        for _ in itertools.count()
        if not in_holdout(anonymous := str(uuid.uuid4()), journey, holdout_percent)
    )
