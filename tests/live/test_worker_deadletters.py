"""Every bad-input class lands in the dead-letter topic, counted, and the worker goes on."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.deadletters import MAX_DEAD_LETTER_PAYLOAD_BYTES
from tests.live.worker_harness import WorkerProcess

GOOD = {
    "event_id": "dl-good-1",
    "customer_id": "dl-cust-1",
    "type": "Signed Up",
    "event_time": "2026-11-01T10:00:00Z",
}


def _without(key: str) -> dict[str, object]:
    return {k: v for k, v in GOOD.items() if k != key}


BAD: dict[str, bytes] = {
    "invalid_json": b"{nope",
    "not_an_object": b"[1, 2]",
    "too_large": json.dumps({**GOOD, "properties": {"x": "a" * 600_000}}).encode(),
    "unknown_format": json.dumps({"hello": "world"}).encode(),
    "unsupported_segment_type": json.dumps({"type": "bogus", "messageId": "m1"}).encode(),
    "missing_event_id": json.dumps(_without("event_id")).encode(),
    "missing_identity": json.dumps(_without("customer_id")).encode(),
    "invalid_timestamp": json.dumps({**GOOD, "event_time": "yesterday"}).encode(),
    "naive_timestamp": json.dumps({**GOOD, "event_time": "2026-11-01T10:00:00"}).encode(),
    "schema_violation": json.dumps({**GOOD, "unknown_field": 1}).encode(),
    "unsupported_schema_version": json.dumps({**GOOD, "schema_version": 99}).encode(),
}


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(kafka_bootstrap, Path(tmp_path_factory.mktemp("dlq")))
    w.start()
    try:
        yield w
    finally:
        w.stop()


def test_every_bad_input_class_is_dead_lettered_and_the_worker_goes_on(
    worker: WorkerProcess,
) -> None:
    messages: list[tuple[str | None, bytes]] = [(f"k-{r}", raw) for r, raw in BAD.items()]
    batch = {
        "batch": [
            {"type": "track", "messageId": "b1", "userId": "u1", "event": "Clicked",
             "timestamp": "2026-11-01T10:00:00Z"},
            {"type": "track", "userId": "u1", "event": "No Id",
             "timestamp": "2026-11-01T10:00:00Z"},
        ]
    }  # fmt: skip
    messages.append(("k-batch", json.dumps(batch).encode()))
    messages.append((None, json.dumps({**GOOD, "event_id": "dl-good-2"}).encode()))
    worker.produce([*messages[:1], (GOOD["customer_id"], json.dumps(GOOD).encode()), *messages[1:]])

    letters = worker.read("deadletters", expect=len(BAD) + 1)
    by_key = {base64.b64decode(d["key_b64"]).decode(): d for d in letters if d["key_b64"]}
    for reason, raw in BAD.items():
        letter = by_key[f"k-{reason}"]
        assert letter["reason"] == reason
        kept = raw[:MAX_DEAD_LETTER_PAYLOAD_BYTES]  # the too_large one: its first 256 KiB
        assert base64.b64decode(letter["payload_b64"]) == kept
        assert letter["payload_truncated"] is (kept != raw)
        assert letter["payload_size"] == len(raw)
        assert letter["payload_sha256"] == hashlib.sha256(raw).hexdigest()
        assert letter["topic"] == worker.topics["touchpoints"]
        assert letter["offset"] is not None and letter["partition"] is not None
    assert by_key["k-batch"]["reason"] == "missing_event_id"
    assert by_key["k-batch"]["item_index"] == 1
    assert len(letters) == len(BAD) + 1

    # the good events before, between and after went through: the one keyed by its
    # customer where it was read, the others re-keyed to their customer first
    keyed = worker.read_records("keyed", expect=2)
    ids = sorted(json.loads(v)["event_id"] for _, v in keyed)
    assert ids == ["b1", "dl-good-2"]
    assert {k for k, _ in keyed} == {b"dl-cust-1", b"u1"}
    customer = _customer(worker, GOOD["customer_id"], events=2)
    assert customer["journeys"]["lifecycle"]["stage"] == "onboarding"

    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    for reason in BAD:
        expected = 2.0 if reason == "missing_event_id" else 1.0
        assert f'journeys_dead_letters_total{{reason="{reason}"}} {expected}' in text
    assert "journeys_touchpoints_rekeyed_total 2.0" in text
    assert worker.proc is not None and worker.proc.poll() is None


def _customer(worker: WorkerProcess, customer_id: str, events: int) -> dict[str, Any]:
    """The customer view once its lifecycle state counts ``events`` (20 s at most)."""
    url = f"http://127.0.0.1:{worker.port}/customers/{customer_id}"
    deadline = time.monotonic() + 20.0
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as exc:  # 404 until its first event is processed
            if exc.code != 404:
                raise
        if body.get("journeys", {}).get("lifecycle", {}).get("events") == events:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{customer_id}: {body}")
