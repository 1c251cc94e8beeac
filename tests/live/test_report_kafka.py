"""``journeys report`` over a topic range equals the report over the same events in a file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from streams.cli import main
from streams.sim.effect import Effect
from streams.sim.population import DEFAULT_START, Message, generate

DAYS = 20.0
END = DEFAULT_START + timedelta(days=DAYS)


def _report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["report", *argv, "--advance-to", END.isoformat(), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc: dict[str, Any] = orjson.loads(out.out)
    return doc


def _produce(bootstrap: str, topic: str, messages: list[Message]) -> None:
    """Each message at its event time, as a source stamps arrival."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for m in messages:
            producer.send(topic, key=m.key, value=m.value, timestamp_ms=int(m.time * 1000))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def test_report_from_a_topic_range_equals_report_from_a_file(
    kafka_bootstrap: str,
    new_topic: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOURNEYS_JOURNEY_PATHS", raising=False)
    effect = Effect("activation", 0.1, "lifecycle", 5.0)
    messages = list(generate(4, 150, DAYS, malformed_share=0, effect=effect))
    topic = new_topic("report", partitions=1)  # one partition: the file's order
    _produce(kafka_bootstrap, topic, messages)
    kafka = ("--topic", topic, "--bootstrap", kafka_bootstrap, "--no-progress")

    def file_of(selected: list[Message]) -> str:
        path = tmp_path / f"events-{len(selected)}.jsonl"
        path.write_bytes(b"".join(m.value + b"\n" for m in selected))
        return str(path)

    whole = _report(capsys, *kafka)
    assert whole["input"]["events"] == len(messages)
    assert whole["journeys"] == _report(capsys, "--file", file_of(messages))["journeys"]
    middle = DEFAULT_START + timedelta(days=DAYS / 2)
    first_half = [m for m in messages if m.time * 1000 <= int(middle.timestamp() * 1000)]
    part = _report(capsys, *kafka, "--until", middle.astimezone(UTC).isoformat())
    assert 0 < part["input"]["events"] == len(first_half) < len(messages)
    assert part["journeys"] == _report(capsys, "--file", file_of(first_half))["journeys"]
    assert datetime.fromisoformat(part["input"]["last_event"]) <= middle
