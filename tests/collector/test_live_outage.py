"""Broker down, then back: 503 with Retry-After meanwhile, 200 once it answers. And the
graceful stop: every request answered 200 before SIGTERM is in the topic, exit code 0.

The outage is a bootstrap address where nothing listens until a forwarder to the
session's broker opens there: the shared broker is never stopped.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.harness import CollectorProcess, Forwarder, read_topic

pytestmark = pytest.mark.live

KEY = "outage-key"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


def batch(run: str, n: int, start: int = 0) -> bytes:
    items = [
        {"type": "track", "event": "Signed Up", "userId": f"u-{run}-{i}", "messageId": f"{run}-{i}"}
        for i in range(start, start + n)
    ]
    return json.dumps({"batch": items}).encode()


@pytest.fixture
def forwarder(kafka_bootstrap: str) -> Iterator[Forwarder]:
    f = Forwarder(kafka_bootstrap.split(",")[0])
    try:
        yield f
    finally:
        f.close()


def test_broker_down_503_then_recovery(
    kafka_bootstrap: str, forwarder: Forwarder, tmp_path: Path
) -> None:
    collector = CollectorProcess(forwarder.address, tmp_path, keys=(KEY,))
    collector.start(ready=False)  # serves at once, connects meanwhile
    try:
        run = f"down-{uuid.uuid4().hex[:8]}"
        status, headers, body = collector.post("/v1/batch", batch(run, 1), AUTH)
        assert status == 503
        assert headers["Retry-After"] == "1"
        assert body["code"] == "unavailable"
        assert collector.get("/readyz")[0] == 503

        forwarder.start()  # the broker is back
        collector.wait_for("/readyz", timeout=30)
        status, _, body = collector.post("/v1/batch", batch(run, 1), AUTH)
        assert (status, body) == (200, {"success": True})
        [(key, value)] = read_topic(kafka_bootstrap, collector.topics["touchpoints"], expect=1)
        assert key == f"u-{run}-0".encode()
        assert json.loads(value)["messageId"] == f"{run}-0"
        assert "retrying until it answers" in collector.log()  # one line, not one per try
        assert collector.log().count("retrying until it answers") == 1
    finally:
        assert collector.stop() == 0


def test_graceful_stop_keeps_every_acknowledged_request(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    collector = CollectorProcess(kafka_bootstrap, tmp_path, keys=(KEY,))
    collector.start()
    run = f"stop-{uuid.uuid4().hex[:8]}"
    answers: list[tuple[int, int]] = []  # (request, status)
    lock = threading.Lock()

    def client(number: int) -> None:
        for request in range(number * 1000, number * 1000 + 40):
            status, _, _ = collector.post("/v1/batch", batch(run, 10, request * 10), AUTH)
            with lock:
                answers.append((request, status))
            if status != 200:
                return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while True:  # stop in the middle of the traffic
        with lock:
            if len(answers) >= 20:
                break
    code = collector.stop()
    for t in threads:
        t.join(30)
    assert code == 0, collector.log()[-2000:]
    assert "collector stopped" in collector.log()
    acknowledged = {r for r, status in answers if status == 200}
    assert len(acknowledged) >= 20
    assert {s for _, s in answers} <= {200, 503, 0}  # 0: refused once the listener closed
    wanted = {f"{run}-{r * 10 + i}" for r in acknowledged for i in range(10)}
    records = read_topic(
        kafka_bootstrap, collector.topics["touchpoints"], expect=len(wanted), timeout=30
    )
    stored = {json.loads(v)["messageId"] for _, v in records}
    assert wanted <= stored
