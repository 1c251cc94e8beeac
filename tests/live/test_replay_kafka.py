"""``journeys replay`` from a real topic: only the key's partition, exact records, --emit."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from streams.cli import main
from streams.kafka.config import default_topic

DATA = Path(__file__).resolve().parents[1] / "replay" / "data"
DEFINITION = str(DATA / "story.yaml")
ADVANCE = "2026-01-20T00:00:00Z"


def _produce(bootstrap: str, topic: str, lines: list[bytes], *, timestamp_ms: int | None = None):
    """Each line keyed like the worker keys it (customer id, else anonymous id)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for line in lines:
            try:
                obj = orjson.loads(line)
                key = obj.get("customer_id") or obj.get("userId") or "unknown"
            except orjson.JSONDecodeError:
                key = "c-1"  # an unreadable record on the customer's key: a dead letter
            producer.send(topic, key=key.encode(), value=line, timestamp_ms=timestamp_ms)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _replay(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[dict[str, Any]], str]:
    capsys.readouterr()
    code = main(["replay", *argv])
    captured = capsys.readouterr()
    records = [orjson.loads(line) for line in captured.out.splitlines() if line.strip()]
    return code, records, captured.err


def _file_records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code, records, err = _replay(
        capsys,
        "c-1",
        "--file",
        str(DATA / "story.jsonl"),
        "--definition",
        DEFINITION,
        "--advance-to",
        ADVANCE,
        "--json",
    )
    assert code == 0, err
    return records


def _without_origin(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("origin", "message", "size")} for r in records]


def test_replay_from_kafka_equals_replay_from_file(
    kafka_bootstrap: str, new_topic: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = new_topic("replay-keyed", partitions=4)
    story = [line for line in (DATA / "story.jsonl").read_bytes().splitlines() if line.strip()]
    story = [line for line in story if b'"bad"' not in line]  # unkeyable: not on c-1's key
    noise = [
        orjson.dumps(
            {
                "event_id": f"n{i}",
                "customer_id": f"other-{i}",
                "type": "signed_up",
                "event_time": "2026-01-05T11:00:00Z",
            }
        )
        for i in range(200)
    ]
    _produce(kafka_bootstrap, topic, noise[:100] + story + noise[100:])

    code, records, err = _replay(
        capsys,
        "c-1",
        "--topic",
        topic,
        "--bootstrap",
        kafka_bootstrap,
        "--definition",
        DEFINITION,
        "--advance-to",
        ADVANCE,
        "--json",
        "--no-progress",
    )
    assert code == 0, err
    expected = [r for r in _file_records(capsys) if r.get("origin") != "story.jsonl:8"]
    assert _without_origin(records) == _without_origin(expected)
    origins = {r["origin"].rsplit("@", 1)[0] for r in records if "origin" in r}
    assert len(origins) == 1  # one partition only
    assert all(r.get("customer_id") in (None, "c-1") for r in records)


def test_unknown_customer_and_time_bounds(
    kafka_bootstrap: str, new_topic: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = new_topic("replay-bounds", partitions=2)
    line = orjson.dumps(
        {
            "event_id": "t1",
            "customer_id": "c-1",
            "type": "signed_up",
            "event_time": "2026-01-05T10:00:00Z",
        }
    )
    early = int(datetime(2026, 1, 6, tzinfo=UTC).timestamp() * 1000)
    late = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
    _produce(kafka_bootstrap, topic, [line], timestamp_ms=early)
    _produce(kafka_bootstrap, topic, [line.replace(b"t1", b"t2")], timestamp_ms=late)
    common = (
        "--topic",
        topic,
        "--bootstrap",
        kafka_bootstrap,
        "--definition",
        DEFINITION,
        "--no-timers",
        "--json",
        "--no-progress",
    )

    code, records, err = _replay(capsys, "nobody", *common)
    assert (code, records) == (0, [])
    assert "no events for customer 'nobody'" in err

    _, records, _ = _replay(capsys, "c-1", *common)
    assert [r["event_id"] for r in records if r["type"] == "event"] == ["t1", "t2"]
    _, records, _ = _replay(capsys, "c-1", *common, "--until", "2026-02-01T00:00:00Z")
    assert [r["event_id"] for r in records if r["type"] == "event"] == ["t1"]
    _, records, _ = _replay(capsys, "c-1", *common, "--since", "2026-02-01T00:00:00Z")
    assert [r["event_id"] for r in records if r["type"] == "event"] == ["t2"]


def test_missing_topic_is_a_clear_error(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, records, err = _replay(
        capsys,
        "c-1",
        "--topic",
        f"absent-{time.time_ns()}",
        "--bootstrap",
        kafka_bootstrap,
        "--definition",
        DEFINITION,
        "--no-progress",
    )
    assert (code, records) == (2, [])
    assert "does not exist" in err


def test_emit_sends_exactly_the_replayed_triggers(
    kafka_bootstrap: str, new_topic: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out_topic = new_topic("replay-emit", partitions=1)
    code, records, err = _replay(
        capsys,
        "c-1",
        "--file",
        str(DATA / "story.jsonl"),
        "--definition",
        DEFINITION,
        "--advance-to",
        ADVANCE,
        "--json",
        "--emit",
        out_topic,
        "--bootstrap",
        kafka_bootstrap,
    )
    assert code == 0, err
    triggers = [r["trigger"] for r in records if r["type"] == "trigger"]
    consumer = KafkaConsumer(
        out_topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        isolation_level="read_committed",
    )
    try:
        got = [(m.key.decode(), orjson.loads(m.value)) for m in consumer]
    finally:
        consumer.close()
    assert got == [(t["customer_id"], t) for t in triggers]


def test_replay_and_report_work_before_any_worker_ran(
    kafka_bootstrap: str, kafka_admin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a collector wrote is replayable at once: the keyed topic (a worker's) does
    not exist yet, so the touchpoints topic is all there is, and fan-out is derived."""
    prefix = f"precoll-{time.time_ns()}"
    topic = default_topic("touchpoints", prefix)
    kafka_admin.create_topics(
        {topic: {"num_partitions": 8, "replication_factor": 1}},
        timeout_ms=15_000,
        wait_for_metadata=True,
    )
    story = [line for line in (DATA / "story.jsonl").read_bytes().splitlines() if line.strip()]
    _produce(kafka_bootstrap, topic, [line for line in story if b'"bad"' not in line])
    common = ["--topic-prefix", prefix, "--bootstrap", kafka_bootstrap, "--definition"]
    code, records, err = _replay(
        capsys, "c-1", *common, DEFINITION, "--advance-to", ADVANCE, "--json", "--no-progress"
    )
    assert code == 0, err
    expected = [r for r in _file_records(capsys) if r.get("origin") != "story.jsonl:8"]
    assert _without_origin(records) == _without_origin(expected)
    capsys.readouterr()
    code = main(["report", *common, DEFINITION, "--advance-to", ADVANCE, "--json"])
    report = orjson.loads(capsys.readouterr().out)
    assert code == 0
    assert report["input"]["events"] == 6  # c-1's five readable lines and c-2's sign-up
