"""The browser SDKs in headless Chromium, from a page on another origin, to a collector
and a worker on the real broker: analytics.js 2.0 (``@segment/analytics-next``) and
RudderStack's JavaScript SDK v3, bundled from npm and configured inline as
``deploy/README.md`` ("Browser and app SDKs") says.

Each SDK's visitor is anonymous first (a page view), identifies, then signs up: the
messages are keyed by the key contract, the worker turns the sign-up into the welcome
trigger (its exact id), and the anonymous visit is merged into the customer. In the same
browser, the page then navigates to the same SDK in its other delivery mode (one
Chromium per SDK): analytics.js batching (``/b``, a full batch, then what is left sent
with ``keepalive`` as the page is left) and RudderStack's ``useBeacon`` (one
``navigator.sendBeacon`` to ``/beacon/v1/batch?writeKey=`` as the page is left, no
preflight); each message reaches the topic exactly once, keyed by the key contract. A
page of an origin not allowed is refused and counted; while the collector answers 503
the SDK retries, and once it recovers every message is stored, once. The storefront
(``journeys demo --storefront``) is run as a command by ``tests/demo``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from journeys.guards import in_holdout
from tests.collector.browser import (
    BLANK,
    PageServer,
    counter_reached,
    drive,
    require_browser,
    rudder_page,
    segment_page,
)
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
        env={"JOURNEYS_COLLECTOR_ALLOWED_ORIGINS": pages.origin},
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
    """The touchpoints that ``match``, as (key, message), one per message id, waiting for
    ``n`` of them. An SDK sends a request again when its answer is late (a loaded
    machine): the collector then stores the message twice, with the same message id and
    key, and the worker drops the second (at least once in, exactly once out)."""
    found: dict[str, tuple[str | None, dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout
    while len(found) < n and time.monotonic() < deadline:
        records = read_topic(bootstrap, collector.topics["touchpoints"], expect=1, settle=0.3)
        found = {}
        for k, v in records:
            message = json.loads(v)
            if not match(message):
                continue
            key = k.decode() if k else None
            first = found.setdefault(message["messageId"], (key, message))
            assert first[0] == key, (first, key, message)  # a resend is keyed alike
    return list(found.values())


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
    *,
    then: tuple[str, ...] = (),
) -> None:
    """page (anonymous), identify, track "Signed Up" (and the events tracked ``then``):
    each stored (once per message id), keyed by the key contract; triggered once, merged."""
    messages = stored(bootstrap, collector, lambda m: m.get("anonymousId") == anon, 3 + len(then))
    keyed = sorted((m["type"], m.get("event"), key) for key, m in messages)
    assert keyed == sorted(
        [
            ("page", None, anon),  # anonymous: keyed by its anonymous id
            ("identify", None, user),
            ("track", "Signed Up", user),
            *(("track", event, user) for event in then),
        ]
    ), messages
    for _, message in messages:
        assert message["context"]["library"]["name"] == library
        assert "writeKey" not in message
    by_type = {(m["type"], m.get("event")): m for _, m in messages}
    signup = by_type[("track", "Signed Up")]
    # The person's cohort is decided by the anonymous id they were first tracked under
    # (the SDK draws it at random): a person in the holdout gets no trigger.
    held = in_holdout(anon, "lifecycle", 5)
    records = worker.read_records("triggers", expect=0 if held else 1, keys={user})
    found = {(t["kind"], t["trigger_id"]) for t in (json.loads(v) for _, v in records)}
    welcome = ("onboarding.welcome", on_event(user, "welcome", signup["messageId"]))
    assert found == (set() if held else {welcome})
    visit = by_type[("page", None)]["messageId"]

    def merged() -> bool:
        status, body = worker.get(f"/customers/{user}")
        return status == 200 and visit in body["journeys"]["lifecycle"]["seen"]

    wait_for(merged, "the anonymous visit to be merged into the customer")


BATCHING = {"deliveryStrategy": {"strategy": "batching", "config": {"size": 3, "timeout": 60000}}}
"""analytics.js's batching mode: a full batch (3) is sent at once; the rest waits for the
timeout (a minute here), or for the page to be left (then sent with ``keepalive``)."""
BEACON = {"useBeacon": True, "beaconQueueOptions": {"maxItems": 10, "flushQueueInterval": 60000}}
"""RudderStack's beacon mode: events are queued and sent with ``navigator.sendBeacon``
when the queue is full, after the interval, or when the page is left."""


def test_analytics_next_default_then_batching_with_keepalive_at_unload(
    stack: tuple[WorkerProcess, CollectorProcess], pages: PageServer, kafka_bootstrap: str
) -> None:
    worker, collector = stack
    user, batched_user = customer(worker) + "-ajs", customer(worker) + "-ajsb"
    # apiHost with /v1: the SDK posts to /v1/p, /v1/i, /v1/t
    pages.pages["segment.html"] = segment_page(KEY, f"127.0.0.1:{collector.port}/v1")
    # apiHost without /v1, batching: the SDK posts to /b
    pages.pages["segment-batching.html"] = segment_page(
        KEY, f"127.0.0.1:{collector.port}", BATCHING
    )
    pages.pages["blank.html"] = BLANK
    before = requests_total(collector)
    batches = before.get(("batch", "200"), 0.0)
    values = drive(
        f"{pages.origin}/segment.html",
        [
            {"eval": "sdk.user().then(u => u.anonymousId())"},
            {"eval": "sdk.page('Pricing').then(c => c.event.messageId)"},
            {"eval": f"sdk.identify('{user}', {{email: 'ada@example.com'}}).then(() => 1)"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}).then(() => 1)"},
            {"goto": f"{pages.origin}/segment-batching.html"},
            {"eval": "sdk.reset().then(() => sdk.user()).then(u => u.anonymousId())"},
            {"eval": "sdk.page('Pricing'), 1"},
            {"eval": f"sdk.identify('{batched_user}', {{email: 'bo@example.com'}}), 1"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}), 1"},  # the third: sent
            {"waitFor": counter_reached(collector.url, "batch", "200", batches + 1)},
            {"eval": "sdk.track('Plan Compared', {plan: 'team'}), 1"},  # waits
            {"goto": f"{pages.origin}/blank.html"},  # left: sent with keepalive
            {"waitFor": counter_reached(collector.url, "batch", "200", batches + 2)},
        ],
    )
    anon, batched_anon = values[0], values[5]
    assert batched_anon != anon
    check_journey(worker, kafka_bootstrap, collector, user, anon, "analytics.js")
    check_journey(
        worker,
        kafka_bootstrap,
        collector,
        batched_user,
        batched_anon,
        "analytics.js",
        then=("Plan Compared",),
    )
    counted = requests_total(collector)
    assert counted[("page", "204")] >= 1  # the preflight, answered
    # at least: an SDK resends a request whose answer was late (a loaded machine); the
    # messages are still stored once per id (``stored``) and processed once
    assert counted[("track", "200")] - before.get(("track", "200"), 0.0) >= 1.0
    assert counted[("batch", "200")] - batches >= 2.0  # one full batch, one at unload


def test_rudderstack_default_then_beacon_at_unload(
    stack: tuple[WorkerProcess, CollectorProcess], pages: PageServer, kafka_bootstrap: str
) -> None:
    worker, collector = stack
    user, beacon_user = customer(worker) + "-rs", customer(worker) + "-rsb"
    pages.pages["rudder.html"] = rudder_page(KEY, f"http://127.0.0.1:{collector.port}")
    pages.pages["rudder-beacon.html"] = rudder_page(
        KEY, f"http://127.0.0.1:{collector.port}", **BEACON
    )
    pages.pages["blank.html"] = BLANK
    before = requests_total(collector)
    batches, tracks = before.get(("batch", "200"), 0.0), before.get(("track", "200"), 0.0)
    values = drive(
        f"{pages.origin}/rudder.html",
        [
            {"waitFor": "window.sdkReady"},
            {"eval": "sdk.getAnonymousId()"},
            {"eval": "sdk.page('Pricing'), 1"},
            {"eval": f"sdk.identify('{user}', {{email: 'ada@example.com'}}), 1"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}), 1"},
            {"waitFor": counter_reached(collector.url, "track", "200", tracks + 1)},
            {"goto": f"{pages.origin}/rudder-beacon.html"},
            {"waitFor": "window.sdkReady"},
            {"eval": "sdk.reset(true), sdk.getAnonymousId()"},
            {"eval": "sdk.page('Pricing'), 1"},
            {"eval": f"sdk.identify('{beacon_user}', {{email: 'bo@example.com'}}), 1"},
            {"eval": "sdk.track('Signed Up', {plan: 'pro'}), 1"},
            {"eval": "sdk.track('Plan Compared', {plan: 'team'}), 1"},
            {"goto": f"{pages.origin}/blank.html"},  # left: one beacon
            {"waitFor": counter_reached(collector.url, "batch", "200", batches + 1)},
        ],
    )
    anon, beacon_anon = values[1], values[8]
    assert beacon_anon != anon
    check_journey(worker, kafka_bootstrap, collector, user, anon, "RudderLabs JavaScript SDK")
    check_journey(
        worker,
        kafka_bootstrap,
        collector,
        beacon_user,
        beacon_anon,
        "RudderLabs JavaScript SDK",
        then=("Plan Compared",),
    )
    counted = requests_total(collector)
    assert counted[("batch", "200")] - batches == 1.0  # every event in one beacon (never resent)
    # a beacon is a simple request: no preflight, the key in the query
    assert counted.get(("batch", "204"), 0.0) == before.get(("batch", "204"), 0.0)


def test_a_page_of_another_origin_is_refused_and_counted(
    stack: tuple[WorkerProcess, CollectorProcess], pages: PageServer, kafka_bootstrap: str
) -> None:
    """The same page on ``localhost`` (another origin than the allowed 127.0.0.1)."""
    _worker, collector = stack
    before = requests_total(collector).get(("track", "403"), 0.0)
    pages.pages["elsewhere.html"] = segment_page(KEY, f"127.0.0.1:{collector.port}")
    results: list[Any] = []
    browser = threading.Thread(  # the page stays open until the refusal is counted
        target=lambda: results.extend(
            drive(
                f"http://localhost:{pages.port}/elsewhere.html",
                [
                    {"eval": "sdk.user().then(u => u.anonymousId())"},
                    {"eval": "sdk.track('Signed Up', {plan: 'pro'}), 1"},
                    {"eval": WATCH_FLAG % "refused"},
                    {"waitFor": "window.flagSet", "timeout": 60000},
                ],
            )
        )
    )
    browser.start()
    try:
        wait_for(
            lambda: requests_total(collector).get(("track", "403"), 0.0) > before,
            "the refused preflight to be counted",
        )
    finally:
        pages.flags.add("refused")
        browser.join(90)
    anon = results[0]
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
        assert counted[("track", "200")] >= 2.0  # resends of late answers add requests
        assert counted[("track", "503")] >= 2.0
    finally:
        collector.stop()
