"""Headless Chromium for the collector's browser tests: the SDK bundles, a page server
on an origin of its own, and the driver (``deploy/browser/drive.mjs``, playwright-core).

The bundles and playwright-core come from ``deploy/browser`` (``npm ci`` and
``node build.mjs``, run by ``./run setup``); Chromium is Debian's ``/usr/bin/chromium``
(``./run test`` installs it). Each SDK is configured inline, with no CDN: the settings a
page of a customer would use, which ``deploy/README.md`` ("Browser and app SDKs") lists.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from streams.ops.processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = REPO_ROOT / "deploy" / "browser"
DIST = BROWSER_DIR / "dist"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def require_browser() -> None:
    """Skip unless node, Chromium and the built bundles are here (``./run setup``)."""
    missing = [
        what
        for what, ok in (
            ("node", shutil.which("node") is not None),
            (CHROMIUM, Path(CHROMIUM).exists()),
            ("deploy/browser/dist (./run setup)", (DIST / "analytics-next.js").exists()),
            ("playwright-core", (BROWSER_DIR / "node_modules" / "playwright-core").exists()),
        )
        if not ok
    ]
    if missing:
        pytest.skip("browser tests need " + ", ".join(missing))


def segment_page(write_key: str, api_host: str, extra: dict[str, Any] | None = None) -> str:
    """A page loading analytics.js 2.0 with its settings inline (no CDN). ``api_host`` is
    ``host:port/v1`` (or ``host:port``): the SDK posts to ``http://<api_host>/t`` etc."""
    segment_io = {"apiHost": api_host, "protocol": "http", **(extra or {})}
    settings = {
        "writeKey": write_key,
        "cdnSettings": {
            "integrations": {"Segment.io": {"apiKey": write_key, **segment_io}},
            "metrics": {"sampleRate": 0},
        },
    }
    options = {"integrations": {"Segment.io": segment_io}}
    return _page(
        "analytics-next.js",
        f"window.sdk = AnalyticsBrowser.load({json.dumps(settings)}, {json.dumps(options)});",
    )


def rudder_page(write_key: str, data_plane_url: str, **load_options: Any) -> str:
    """A page loading RudderStack's JavaScript SDK v3 (bundled build) with its source
    configuration inline (``getSourceConfig``: no control plane, no CDN)."""
    options = {
        "polyfillIfRequired": False,
        "loadIntegration": False,
        "queueOptions": {"maxRetryDelay": 2000, "minRetryDelay": 200},
        **load_options,
    }
    source = {
        "source": {
            "id": "journeys-web",
            "name": "journeys",
            "workspaceId": "local",
            "enabled": True,
            "config": {"statsCollection": {"errors": {"enabled": False}}},
            "destinations": [],
        }
    }
    script = (
        "window.sdk = new RudderAnalytics();"
        f"const options = {json.dumps(options)};"
        f"options.getSourceConfig = () => ({json.dumps(source)});"
        f"sdk.load({json.dumps(write_key)}, {json.dumps(data_plane_url)}, options);"
        "sdk.ready(() => { window.sdkReady = true; });"
    )
    return _page("rudderstack.js", script)


BLANK = "<!doctype html><html><head><meta charset='utf-8'></head><body>left</body></html>"
"""A page without an SDK, to navigate to: the page before it is left (its unload hooks)."""


def counter_reached(collector_url: str, endpoint: str, code: str, value: float) -> str:
    """A ``waitFor`` expression, true once the collector's
    ``requests_total{endpoint, code}`` is ``value`` or more: a page on an allowed origin
    reads ``/metrics`` (a simple GET, answered with the CORS headers), so the browser
    stays open until the requests sent at the previous page's unload are answered."""
    pattern = rf'^journeys_collector_requests_total\{{code="{code}",endpoint="{endpoint}"\}} (\S+)$'
    return (
        f"fetch({json.dumps(collector_url + '/metrics')}).then(r => r.text()).then(t => "
        f"{{ const m = t.match(new RegExp({json.dumps(pattern)}, 'm')); "
        f"return m !== null && Number(m[1]) >= {value}; }})"
    )


def _page(bundle: str, script: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>shop</title>"
        f"<script src='/sdk/{bundle}'></script><script>{script}</script>"
        "</head><body><p>shop</p></body></html>"
    )


class PageServer:
    """Pages and the SDK bundles over HTTP on a port of their own (another origin than
    the collector's), served by aiohttp on a thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.pages: dict[str, str] = {}
        self.flags: set[str] = set()  # GET /flag/<name>: 200 once the test sets it, else 404
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    async def _page(self, request: web.Request) -> web.Response:
        html = self.pages.get(request.match_info["name"])
        if html is None:
            raise web.HTTPNotFound
        return web.Response(text=html, content_type="text/html")

    async def _flag(self, request: web.Request) -> web.Response:
        if request.match_info["name"] not in self.flags:
            raise web.HTTPNotFound
        return web.Response(text="set")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_static("/sdk/", DIST)
        app.router.add_get("/flag/{name}", self._flag)
        app.router.add_get("/{name}", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    @contextmanager
    def serving(self) -> Iterator[PageServer]:
        thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        try:
            yield self
        finally:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)
            self._loop.close()


def drive(url: str, steps: list[dict[str, Any]], timeout: float = 90.0) -> list[Any]:
    """Runs ``steps`` on ``url`` in headless Chromium; each step's value. Fails the test
    with the page's console when a step fails."""
    plan = json.dumps({"url": url, "steps": steps})
    done = subprocess.run(
        ["node", "drive.mjs"],
        cwd=BROWSER_DIR,
        input=plan,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "CHROMIUM": CHROMIUM},
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        pytest.fail(f"chromium: {json.dumps(lines, indent=1)[-4000:]}\n{done.stderr[-2000:]}")
    return [line["value"] for line in lines if "step" in line]
