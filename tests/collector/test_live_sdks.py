"""The real SDKs, segment-analytics-python and rudder-sdk-python (gzip), pointed at a
collector on the real broker; their events read back from the touchpoints topic."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rudderstack.analytics import Client as RudderClient  # type: ignore[import-untyped]  # no stubs
from segment.analytics import Client as SegmentClient  # type: ignore[import-untyped]  # no stubs
from segment.analytics.request import (  # type: ignore[import-untyped]  # no stubs
    APIError as SegmentAPIError,
)

from schemas import DeadLetter
from tests.collector.harness import CollectorProcess, read_topic

pytestmark = pytest.mark.live

KEY = "live-write-key"
OTHER_KEY = "second-write-key"
WRONG_KEY = "not-a-write-key-at-all"


@pytest.fixture(scope="module")
def collector(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    c = CollectorProcess(
        kafka_bootstrap,
        Path(tmp_path_factory.mktemp("collector")),
        keys=(KEY, OTHER_KEY),
        env={"JOURNEYS_LOG_LEVEL": "debug"},
    )
    c.start()
    try:
        yield c
    finally:
        assert c.stop() == 0, c.log()[-3000:]


def touchpoints(collector: CollectorProcess, bootstrap: str, run: str, n: int) -> list[Any]:
    """The touchpoints of this ``run`` (its ids carry it): ``(key, message)``."""
    records = read_topic(bootstrap, collector.topics["touchpoints"], expect=n, timeout=30)
    found = [(k.decode() if k else None, json.loads(v)) for k, v in records]
    return [(k, m) for k, m in found if run in m["messageId"]]


def every_call(client: Any, run: str) -> None:
    """One call of each Segment type, ids carrying ``run``."""
    user, anon = f"user-{run}", f"anon-{run}"
    client.identify(user, {"email": "ada@example.com"}, message_id=f"{run}-identify")
    client.track(user, "Signed Up", {"plan": "pro"}, message_id=f"{run}-track")
    client.track(anonymous_id=anon, event="Page Scrolled", message_id=f"{run}-anon")
    client.page(user, "Docs", "Pricing", {"path": "/pricing"}, message_id=f"{run}-page")
    client.screen(user, "App", "Home", message_id=f"{run}-screen")
    client.group(user, f"group-{run}", {"name": "Acme"}, message_id=f"{run}-group")
    client.alias(anon, user, message_id=f"{run}-alias")


def check_stored(collector: CollectorProcess, bootstrap: str, run: str, library: str) -> None:
    stored = touchpoints(collector, bootstrap, run, 7)
    assert len(stored) == 7, stored
    by_id = {m["messageId"]: (k, m) for k, m in stored}
    assert set(by_id) == {
        f"{run}-{kind}"
        for kind in ("identify", "track", "anon", "page", "screen", "group", "alias")
    }
    user, anon = f"user-{run}", f"anon-{run}"
    for kind, (key, message) in by_id.items():
        expected = anon if kind.endswith("-anon") else user  # the key contract
        assert key == expected, (kind, key)
        assert message["receivedAt"].endswith("Z") and message["sentAt"]
        assert message["context"]["library"]["name"] == library
        assert "writeKey" not in message
    assert by_id[f"{run}-track"][1]["event"] == "Signed Up"
    assert by_id[f"{run}-alias"][1]["previousId"] == anon


def test_segment_sdk_in_batches(collector: CollectorProcess, kafka_bootstrap: str) -> None:
    errors: list[Any] = []
    client = SegmentClient(
        KEY,
        host=collector.url,
        on_error=lambda e, batch: errors.append(e),
        upload_interval=0.1,
        max_retries=2,
    )
    run = f"seg-{uuid.uuid4().hex[:8]}"
    every_call(client, run)
    client.flush()
    client.join()
    assert errors == []
    check_stored(collector, kafka_bootstrap, run, "analytics-python")


def test_rudder_sdk_gzip(collector: CollectorProcess, kafka_bootstrap: str) -> None:
    errors: list[Any] = []
    client = RudderClient(
        OTHER_KEY,
        host=collector.url,
        gzip=True,
        on_error=lambda e, batch: errors.append(e),
        upload_interval=0.1,
        max_retries=2,
    )
    run = f"rud-{uuid.uuid4().hex[:8]}"
    every_call(client, run)
    client.flush()
    client.join()
    assert errors == []
    check_stored(collector, kafka_bootstrap, run, "analytics-python")


def test_a_wrong_write_key_is_401_to_the_sdk(collector: CollectorProcess) -> None:
    client = SegmentClient(WRONG_KEY, host=collector.url, sync_mode=True)
    with pytest.raises(SegmentAPIError) as caught:
        client.track("u-1", "Signed Up", message_id=f"wrong-{uuid.uuid4().hex[:8]}")
    assert caught.value.status == 401
    assert caught.value.code == "invalid_write_key"


def test_an_oversize_message_is_413_to_the_sdk(collector: CollectorProcess) -> None:
    client = RudderClient(KEY, host=collector.url, sync_mode=True, gzip=True)  # 4 MB limit
    with pytest.raises(Exception) as caught:
        client.track("u-1", "Big", {"blob": "x" * 40_000}, message_id="too-big")
    assert getattr(caught.value, "status", None) == 413, caught.value
    assert caught.value.code == "message_too_large"  # type: ignore[attr-defined]
    assert "32 KB" in caught.value.message  # type: ignore[attr-defined]


def test_a_batch_with_one_bad_item(collector: CollectorProcess, kafka_bootstrap: str) -> None:
    run = f"bad-{uuid.uuid4().hex[:8]}"
    good = {"type": "track", "event": "Signed Up", "userId": f"u-{run}"}
    batch = {
        "batch": [
            {**good, "messageId": f"{run}-1"},
            {"type": "track", "event": "No One", "messageId": f"{run}-2"},  # no identity
            {**good, "messageId": f"{run}-3"},
        ]
    }
    auth = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    status, _, body = collector.post(
        "/v1/batch", json.dumps(batch).encode(), {"Authorization": auth}
    )
    assert (status, body) == (200, {"success": True})
    assert {m["messageId"] for _, m in touchpoints(collector, kafka_bootstrap, run, 2)} == {
        f"{run}-1",
        f"{run}-3",
    }
    letters = [
        DeadLetter.model_validate_json(v)
        for _, v in read_topic(kafka_bootstrap, collector.topics["deadletters"], expect=1)
    ]
    [letter] = [d for d in letters if run in d.payload().decode()]
    assert letter.reason == "missing_identity"
    assert json.loads(letter.payload())["messageId"] == f"{run}-2"


def test_write_keys_never_reach_the_log(collector: CollectorProcess) -> None:
    """Last in the module: the log of every request above, at debug level."""
    text = collector.log()
    assert "listening" in text
    for secret in (KEY, OTHER_KEY, WRONG_KEY):
        assert secret not in text
        assert base64.b64encode(f"{secret}:".encode()).decode() not in text
