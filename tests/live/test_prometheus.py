"""Prometheus scrapes a real worker processing real events; its API gives exact counts.

A ``journeys worker`` runs against the local broker with a unique topic prefix and a
small journey definition written here; a Prometheus (from the Debian package,
``deploy/prometheus/install.sh``) runs on loopback with our alert rules and a 1 s
scrape interval. The test produces good events and bad messages, then asks
Prometheus' HTTP API: events processed equal the events produced, dead letters equal
the bad messages sent, triggers by kind equal what the journey must emit.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaProducer

from schemas.topics import by_role, topic_specs
from streams.settings import Settings
from streams.worker.launch import WorkerLaunch
from tests.ops.prom import (
    PROMETHEUS_DIR,
    REPO_ROOT,
    by_label,
    eventually,
    free_port,
    http_get,
    query,
    require,
    scalar,
    stop,
    wait_for,
)

JOURNEY = """
name: obs_live
version: 3
stages: [new, welcomed]
initial_stage: new
rules:
  - id: welcome
    stages: [new]
    when: {event: {type: signed_up}}
    then: {move_to: welcomed, emit: {kind: onboarding.welcome}}
  - id: recover
    when: {event: {type: csat_submitted, where: [{property: score, lte: 2}]}}
    then: {emit: {kind: recovery.bad_experience}}
"""
CUSTOMERS = 6
UNHAPPY = 3  # customers 0..2 send a low CSAT score, customer 3 a good one
BAD_MESSAGES = [b"{not json", b"[1, 2, 3]", b'"just a string"']
EXPECTED_TRIGGERS = {
    ("onboarding.welcome", "marketing"): CUSTOMERS,
    ("recovery.bad_experience", "service"): UNHAPPY,
}


@dataclass(frozen=True)
class Worker:
    prefix: str
    web_port: int
    log: Path
    readyz: list[tuple[int, dict[str, Any]]]  # every /readyz answer until the first 200


@pytest.fixture
def worker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Worker]:
    """A ``journeys worker`` on a unique topic prefix, ready (``/readyz`` 200)."""
    run_id = uuid.uuid4().hex[:10]
    definition = tmp_path / "obs_live.yaml"
    definition.write_text(JOURNEY)
    log = tmp_path / "worker.log"
    w = Worker(prefix=f"obs-{run_id}", web_port=free_port(), log=log, readyz=[])
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=w.prefix,
        app_id=f"obs-{run_id}",
        partitions=2,
        store="memory://",
        data_dir=tmp_path / "worker",
        web_port=w.web_port,
        log_level="info",
        log_format="json",
        commit_interval_seconds=0.5,
        timer_interval_seconds=0.5,
        stats_interval_seconds=1,
    )
    with log.open("wb") as out:
        process = WorkerLaunch(settings, ("--journey", str(definition))).start(out, cwd=REPO_ROOT)
    ready = f"http://127.0.0.1:{w.web_port}/readyz"

    def answered_ready() -> bool:
        status, body = http_get(ready)
        if status:
            w.readyz.append((status, json.loads(body)))
        return status == 200

    try:
        wait_for("worker /readyz", answered_ready, process, log, poll=0.05)
        yield w
    finally:
        stop(process)


@pytest.fixture
def prometheus(worker: Worker, tmp_path: Path) -> Iterator[str]:
    """A Prometheus on loopback scraping ``worker`` every second; yields its base URL."""
    binary = require("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "journeys",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{worker.web_port}"]}],
            }
        ],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                "--log.level=warn",
            ],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("prometheus /-/ready", lambda: http_get(base + "/-/ready")[0] == 200, process, log)
        yield base
    finally:
        stop(process)


def _produce(bootstrap: str, topic: str, events: list[dict[str, object]], bad: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for event in events:
            key = str(event["customer_id"]).encode()
            producer.send(topic, key=key, value=json.dumps(event).encode())
        for i, value in enumerate(bad):
            producer.send(topic, key=f"bad-{i}".encode(), value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()


def _events(now: datetime) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for i in range(CUSTOMERS):
        customer = f"obs-c{i}"
        at = now - timedelta(seconds=30 - i)
        events.append({"type": "signed_up", "customer_id": customer})
        events.append({"type": "page_viewed", "customer_id": customer,
                       "properties": {"path": "/pricing"}})  # fmt: skip
        if i <= UNHAPPY:
            score = 1 if i < UNHAPPY else 5
            events.append({"type": "csat_submitted", "customer_id": customer,
                           "properties": {"score": score}})  # fmt: skip
        for n, event in enumerate(events[-3:]):
            event.setdefault("event_id", f"{customer}-{event['type']}-{uuid.uuid4().hex[:8]}")
            event.setdefault("event_time", (at + timedelta(milliseconds=n)).isoformat())
    return events


def test_prometheus_counts_exactly_what_the_worker_did(
    kafka_bootstrap: str, worker: Worker, prometheus: str
) -> None:
    events = _events(datetime.now(UTC))
    topic = by_role(topic_specs(worker.prefix))["touchpoints"].name
    _produce(kafka_bootstrap, topic, events, BAD_MESSAGES)

    processed = 'sum(journeys_events_consumed_total{outcome="processed"})'
    dead = "sum(journeys_dead_letters_total)"
    emitted = "sum(journeys_triggers_emitted_total)"
    eventually(prometheus, processed, len(events))
    eventually(prometheus, dead, len(BAD_MESSAGES))
    eventually(prometheus, emitted, sum(EXPECTED_TRIGGERS.values()))
    time.sleep(3.0)  # a few more scrapes: nothing is counted twice

    assert scalar(prometheus, 'up{job="journeys"}') == 1
    assert scalar(prometheus, processed) == len(events)
    assert scalar(prometheus, dead) == len(BAD_MESSAGES)
    assert scalar(prometheus, emitted) == sum(EXPECTED_TRIGGERS.values())
    dead_lettered = 'sum(journeys_events_consumed_total{outcome="dead_lettered"})'
    assert scalar(prometheus, dead_lettered) == len(BAD_MESSAGES)
    assert scalar(prometheus, 'sum(journeys_dead_letters_total{reason="invalid_json"})') == 1
    not_processed = 'sum(journeys_events_consumed_total{outcome=~"duplicate|late"})'
    assert scalar(prometheus, not_processed) == 0
    by_type = by_label(
        prometheus, "event_type", 'journeys_events_consumed_total{outcome="processed"}'
    )
    assert {k: v for k, v in by_type.items() if v} == {
        "signed_up": CUSTOMERS,
        "csat_submitted": UNHAPPY + 1,
        "other": CUSTOMERS,  # page_viewed is no type the journey knows
    }
    triggers = query(
        prometheus, 'sum by (kind, priority) (journeys_triggers_emitted_total{journey="obs_live"})'
    )
    assert {(dict(k)["kind"], dict(k)["priority"]): v for k, v in triggers.items()} == (
        EXPECTED_TRIGGERS
    )
    latencies = "sum(journeys_event_to_trigger_latency_seconds_count)"
    assert scalar(prometheus, latencies) == sum(EXPECTED_TRIGGERS.values())
    assert scalar(prometheus, "sum(journeys_event_age_seconds_count)") == len(events)
    steps = scalar(prometheus, "sum(journeys_engine_step_duration_seconds_count)")
    assert steps is not None and steps >= len(events)
    # the alert rules are loaded and evaluate without error against real series
    eventually(prometheus, 'count(ALERTS{alertname="JourneysTriggersStalled"})', None)
    status, body = http_get(prometheus + "/api/v1/rules?type=alert")
    assert status == 200
    rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
    assert len(rules) == 6
    assert all(r["health"] == "ok" for r in rules), rules


def test_prometheus_sees_the_worker_state(
    kafka_bootstrap: str, worker: Worker, prometheus: str
) -> None:
    """Gauges set periodically or at assignment: build info, lag, stages, timers, store."""
    specs = by_role(topic_specs(worker.prefix))
    events = _events(datetime.now(UTC))
    _produce(kafka_bootstrap, specs["touchpoints"].name, events, [])

    eventually(prometheus, 'sum(journeys_events_consumed_total{outcome="processed"})', len(events))
    eventually(prometheus, "count(journeys_build_info)", 1)
    eventually(prometheus, 'sum(journeys_journey_definition_info{journey="obs_live"})', 1)
    assert by_label(prometheus, "version", "journeys_journey_definition_info") == {"3": 1}
    rebalances = scalar(prometheus, "sum(journeys_rebalances_total)")
    assert rebalances is not None and rebalances >= 1
    # lag per partition of both input topics, zero once everything is processed
    for role in ("touchpoints", "keyed"):
        lag = f'journeys_consumer_lag_messages{{topic="{specs[role].name}"}}'
        eventually(prometheus, f"count({lag})", 2)
        eventually(prometheus, f"sum({lag})", 0)
    eventually(prometheus, 'sum(journeys_stage_customers{journey="obs_live"})', CUSTOMERS)
    assert by_label(prometheus, "stage", 'journeys_stage_customers{journey="obs_live"}') == {
        "welcomed": CUSTOMERS
    }
    eventually(prometheus, "sum(journeys_timers_pending)", 0)
    eventually(prometheus, "sum(journeys_timers_overdue)", 0)
    # one key per customer in the customers table (memory store: exact), none elsewhere
    eventually(prometheus, "sum(journeys_state_store_keys)", CUSTOMERS)
    size = scalar(prometheus, "sum(journeys_state_store_size_bytes)")
    assert size is not None and size >= 0


def test_readyz_turns_ready_after_assignment_and_recovery(worker: Worker) -> None:
    """The web server answers before the group join: 503 until assigned and recovered."""
    checks = ("partitions_assigned", "state_recovered", "broker_reachable")
    *before, (last_status, last) = worker.readyz
    assert last_status == 200
    assert last == {"ready": True, "checks": dict.fromkeys(checks, True)}
    assert before, "the first /readyz answer was already 200"
    assert before[0][1]["checks"] == {
        "partitions_assigned": False, "state_recovered": False, "broker_reachable": True,
    }  # fmt: skip
    for status, body in before:
        assert status == 503 and body["ready"] is False
        failing = {name for name, ok in body["checks"].items() if not ok}
        assert failing and failing <= {"partitions_assigned", "state_recovered"}
    status, body = http_get(f"http://127.0.0.1:{worker.web_port}/readyz")
    assert status == 200, body  # and it stays ready
    # JOURNEYS_LOG_FORMAT=json: every line the worker wrote is one JSON log record
    lines = worker.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records and all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    assert any(r["message"].startswith("worker settings:") for r in records)
