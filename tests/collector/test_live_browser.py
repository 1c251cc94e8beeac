"""The browser SDKs in headless Chromium, from a page on another origin, to a collector
and a worker on the real broker: analytics.js 2.0 (``@segment/analytics-next``) and
RudderStack's JavaScript SDK v3, bundled from npm and configured inline as
``deploy/README.md`` ("Browser and app SDKs") says.

Each SDK's visitor is anonymous first (a page view), identifies, then signs up: the
messages are keyed by the key contract, the worker turns the sign-up into the welcome
trigger (its exact id), and the anonymous visit is merged into the customer. A page of
an origin not allowed is refused and counted; while the collector answers 503 the SDK
retries, and once it recovers every message is stored, once.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.demo.storefront import Storefront
from streams.ops.processes import free_port
from streams.settings import Settings
from tests.collector.browser import PageServer, drive, require_browser, rudder_page, segment_page
from tests.collector.harness import CollectorProcess, Forwarder, read_topic
from tests.collector.test_live_worker import customer, on_event
from tests.live.worker_harness import WorkerProcess

pytestmark = pytest.mark.live

KEY = "browser-write-key"
# The page learns that the test is done from its own server (the flag, a 200 once set).
WATCH_FLAG = (
    "setInterval(() => fetch('/flag/%s').then(r => { if (r.ok) window.flagSet = true; }), 300), 1"
)


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    require_browser()
    with PageServer().serving() as server:
        yield server


SHOP_PORT = free_port()  # the storefront's origin, allowed too


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, pages: PageServer
) -> Iterator[tuple[WorkerProcess, CollectorProcess]]:
    tmp = Path(tmp_path_factory.mktemp("browser"))
    worker = WorkerProcess(kafka_bootstrap, tmp, partitions=2)
    collector = CollectorProcess(
        kafka_bootstrap,
        tmp,
        keys=(KEY,),
        prefix=worker.prefix,
        env={"JOURNEYS_COLLECTOR_ALLOWED_ORIGINS": f"{pages.origin},http://127.0.0.1:{SHOP_PORT}"},
    )
    worker.start()
    collector.start()
    try:
        yield worker, collector
    finally:
        collector.stop()
        worker.stop()


def requests_total(collector: CollectorProcess) -> dict[tuple[str, str], float]:
    """``journeys_collector_requests_total`` by (endpoint, code)."""
    status, text = collector.get("/metrics")
    assert status == 200
    found = re.findall(
        r'^journeys_collector_requests_total\{code="(\d+)",endpoint="(\w+)"\} (\S+)$',
        text.decode() if isinstance(text, bytes) else str(text),
        re.M,
    )
    return {(endpoint, code): float(value) for code, endpoint, value in found}


def stored(
    bootstrap: str,
    collector: CollectorProcess,
    match: Callable[[dict[str, Any]], bool],
    n: int,
    timeout: float = 60.0,
) -> list[tuple[str | None, dict[str, Any]]]:
    """The touchpoints that ``match``, as (key, message), waiting for ``n``."""
    found: list[tuple[str | None, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while len(found) < n and time.monotonic() < deadline:
        records = read_topic(bootstrap, collector.topics["touchpoints"], expect=1, settle=0.3)
        found = [
            (k.decode() if k else None, m)
            for k, m in ((k, json.loads(v)) for k, v in records)
            if match(m)
        ]
    return found


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def check_journey(
    worker: WorkerProcess,
    bootstrap: str,
    collector: CollectorProcess,
    user: str,
    anon: str,
    library: str,
) -> None:
    """page (anonymous), identify, track "Signed Up": keyed, triggered, merged."""
    messages = stored(bootstrap, collector, lambda m: m.get("anonymousId") == anon, 3)
    by_type = {m["type"]: (key, m) for key, m in messages}
    assert sorted(by_type) == ["identify", "page", "track"], messages
    assert len(messages) == 3, messages
    assert {t: key for t, (key, _) in by_type.items()} == {
        "page": anon,  # anonymous: keyed by its anonymous id
        "identify": user,
        "track": user,
    }
    for _, message in messages:
        assert message["context"]["library"]["name"] == library
        assert "writeKey" not in message
    signup = by_type["track"][1]
    assert signup["event"] == "Signed Up"
    records = worker.read_records("triggers", expect=1, keys={user})
    found = {(t["kind"], t["trigger_id"]) for t in (json.loads(v) for _, v in records)}
    assert found == {("onboarding.welcome", on_event(user, "welcome", signup["messageId"]))}
    visit = by_type["page"][1]["messageId"]

    def merged() -> bool:
        status, body = worker.get(f"/customers/{user}")
        return status == 200 and visit in body["journeys"]["lifecycle"]["seen"]

    wait_for(merged, "the anonymous visit to be merged into the customer")


def test_analytics_next_from_another_origin(
    stack: tuple[WorkerProcess, CollectorProcess], pages: PageServer, kafka_bootstrap: str
) -> None:
    worker, collector = stack
    user = customer(worker) + "-ajs"
    # apiHost with /v1: the SDK posts to /v1/p, /v1/i, /v1/t
    pages.pages["segment.html"] = segment_page(KEY, f"127.0.0.1:{collector.port}/v1")
    anon = drive(
        f"{pages.origin}/segment.html",
        [
            {"eval": "sdk.user().then(u => u.anonymousId())"},
            {"eval": "sdk.page('Pricing').then(c => c.event.messageId)"},
            {"eval": f"sdk.identify('{user}', {{email: 'ada@example.com'}}).then(() => 1)"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}).then(() => 1)"},
        ],
    )[0]
    check_journey(worker, kafka_bootstrap, collector, user, anon, "analytics.js")
    counted = requests_total(collector)
    assert counted[("page", "204")] >= 1  # the preflight, answered
    assert counted[("track", "200")] >= 1


def test_rudderstack_from_another_origin(
    stack: tuple[WorkerProcess, CollectorProcess], pages: PageServer, kafka_bootstrap: str
) -> None:
    worker, collector = stack
    user = customer(worker) + "-rs"
    pages.pages["rudder.html"] = rudder_page(KEY, f"http://127.0.0.1:{collector.port}")
    anon = drive(
        f"{pages.origin}/rudder.html",
        [
            {"waitFor": "window.sdkReady"},
            {"eval": "sdk.getAnonymousId()"},
            {"eval": "sdk.page('Pricing'), 1"},
            {"eval": f"sdk.identify('{user}', {{email: 'ada@example.com'}}), 1"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}), 1"},
            {"waitFor": "new Promise(r => setTimeout(() => r(true), 1500))"},
        ],
    )[1]
    check_journey(worker, kafka_bootstrap, collector, user, anon, "RudderLabs JavaScript SDK")


def test_a_page_of_another_origin_is_refused_and_counted(
    stack: tuple[WorkerProcess, CollectorProcess], pages: PageServer, kafka_bootstrap: str
) -> None:
    """The same page on ``localhost`` (another origin than the allowed 127.0.0.1)."""
    _worker, collector = stack
    before = requests_total(collector).get(("track", "403"), 0.0)
    pages.pages["elsewhere.html"] = segment_page(KEY, f"127.0.0.1:{collector.port}")
    anon = drive(
        f"http://localhost:{pages.port}/elsewhere.html",
        [
            {"eval": "sdk.user().then(u => u.anonymousId())"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}), 1"},
        ],
    )[0]
    wait_for(
        lambda: requests_total(collector).get(("track", "403"), 0.0) > before,
        "the refused preflight to be counted",
    )
    refused = stored(kafka_bootstrap, collector, lambda m: m.get("anonymousId") == anon, 1, 2.0)
    assert refused == []
    assert f"origin http://localhost:{pages.port}" in collector.log()


@pytest.fixture
def forwarder(kafka_bootstrap: str) -> Iterator[Forwarder]:
    f = Forwarder(kafka_bootstrap.split(",")[0])
    try:
        yield f
    finally:
        f.close()


def test_the_sdk_retries_while_the_collector_answers_503(
    kafka_bootstrap: str, forwarder: Forwarder, pages: PageServer, tmp_path: Path
) -> None:
    """The broker unreachable: 503s; the page stays open; once the broker is back,
    every message the SDK held is stored, once."""
    collector = CollectorProcess(
        forwarder.address,
        tmp_path,
        keys=(KEY,),
        env={"JOURNEYS_COLLECTOR_ALLOWED_ORIGINS": pages.origin},
    )
    collector.start(ready=False)
    try:
        # apiHost without /v1: the SDK posts to /t
        pages.pages["outage.html"] = segment_page(KEY, f"127.0.0.1:{collector.port}")
        results: list[Any] = []
        browser = threading.Thread(
            target=lambda: results.extend(
                drive(
                    f"{pages.origin}/outage.html",
                    [
                        {"eval": "sdk.user().then(u => u.anonymousId())"},
                        {"eval": "sdk.track('Signed Up', {n: 1}), 1"},
                        {"eval": "sdk.track('Viewed', {n: 2}), 1"},
                        {"eval": WATCH_FLAG % "stored"},
                        {"waitFor": "window.flagSet", "timeout": 60000},
                    ],
                )
            )
        )
        browser.start()
        wait_for(
            lambda: requests_total(collector).get(("track", "503"), 0.0) >= 2,
            "the SDK to have been answered 503 at least twice",
        )
        forwarder.start()  # the broker is back
        anon_messages = lambda m: m.get("event") in ("Signed Up", "Viewed")  # noqa: E731
        found = stored(kafka_bootstrap, collector, anon_messages, 2)
        pages.flags.add("stored")
        browser.join(90)
        assert sorted(m["event"] for _, m in found) == ["Signed Up", "Viewed"], (
            requests_total(collector),
            collector.log()[-3000:],
        )
        assert {key for key, _ in found} == {results[0]}  # the anonymous id
        counted = requests_total(collector)
        assert counted[("track", "200")] == 2.0
        assert counted[("track", "503")] >= 2.0
    finally:
        collector.stop()


def test_the_storefront_shows_the_customers_triggers(
    stack: tuple[WorkerProcess, CollectorProcess],
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """``journeys demo --storefront``'s page, clicked: what it shows is the trigger topic."""
    worker, collector = stack
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=worker.prefix, partitions=2)
    store = Storefront(settings, f"127.0.0.1:{collector.port}", KEY)
    loop, stop = asyncio.new_event_loop(), asyncio.Event()
    server = threading.Thread(
        target=loop.run_until_complete, args=(store.serve("127.0.0.1", SHOP_PORT, stop),)
    )
    server.start()
    shot = Path(tmp_path_factory.mktemp("storefront")) / "storefront.png"
    user = customer(worker) + "-shop"
    try:
        shown = drive(
            f"http://127.0.0.1:{SHOP_PORT}/?customer={user}",
            [
                {"waitFor": "document.getElementById('anon').textContent"},
                {"click": "#visit"},
                {"click": "#signup"},
                {"waitFor": "document.querySelectorAll('#triggers tr').length >= 1"},
                {"click": "#use"},
                {"click": "#late"},
                {"waitFor": "document.querySelectorAll('#triggers tr').length >= 3"},
                {"waitFor": "new Promise(r => setTimeout(() => r(true), 1500))"},
                {"screenshot": str(shot)},
                {
                    "eval": "[...document.querySelectorAll('#triggers tr')].map(r => [r.cells[0]"
                    ".textContent, r.dataset.triggerId])"
                },
            ],
        )[-1]
    finally:
        loop.call_soon_threadsafe(stop.set)
        server.join(30)
        loop.close()
    records = worker.read_records("triggers", expect=3, keys={user})
    topic = [[t["kind"], t["trigger_id"]] for t in (json.loads(v) for _, v in records)]
    assert shown == topic
    assert [kind for kind, _ in shown] == [
        "onboarding.welcome",
        "onboarding.activated",
        "recovery.failed_delivery",
    ]
    assert shot.stat().st_size > 10_000
