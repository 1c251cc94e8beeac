"""Security, tested live: a worker and replay on a SASL/SCRAM-SHA-512 over TLS broker.

One secured broker for the module (``kafka.sh`` with ``KAFKA_SECURITY=sasl_ssl``, its own
state dir and ports, stopped at the end), one worker on it at debug level whose SCRAM
password is a canary that no log line may show. Wrong settings (password, protocol) must
give one clear error line and exit code 2 within seconds, never a traceback; an outage
must be logged once per change of state, not once per reconnect.

The tests run in file order: the last two stop the broker for a while and the worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.cli import main
from tests.live.secured_broker import REPO_ROOT, SecuredBroker, free_port
from tests.live.worker_harness import WorkerProcess

pytestmark = [pytest.mark.live, pytest.mark.slow]

CANARY = f"canary-{uuid.uuid4().hex}"
WRONG = f"wrong-{uuid.uuid4().hex}"
ERROR_WITHIN_S = 15.0


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    if shutil.which("java") is None:
        pytest.skip("no JDK: the SASL_SSL broker needs java (17+) on PATH")
    broker = SecuredBroker(tmp_path_factory.mktemp("kafka-sasl_ssl"), password=CANARY)
    started = broker.start()
    try:
        if started.returncode != 0:
            detail = (started.stderr.strip() or started.stdout.strip()).splitlines()
            pytest.fail(f"kafka.sh start (sasl_ssl): {detail[-1] if detail else started}")
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def worker(
    secured: SecuredBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    env = {**secured.client_env(), "JOURNEYS_LOG_LEVEL": "debug"}
    w = WorkerProcess(secured.bootstrap, tmp_path_factory.mktemp("secured-worker"), env=env)
    w.start()
    try:
        yield w
    finally:
        w.stop()


def _tool_env(secured: SecuredBroker, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    return {**base, **secured.client_env(), "PYTHONUNBUFFERED": "1", **extra}


def _committed(secured: SecuredBroker, topic: str, *, quiet_s: float = 3.0) -> list[Any]:
    """Every committed record of ``topic``, read over SASL_SSL until ``quiet_s`` pass
    without a new one (at most 30 s)."""
    consumer = KafkaConsumer(
        **secured.settings().kafka_python_config(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        deadline, last_new = time.monotonic() + 30, time.monotonic()
        while time.monotonic() < deadline:
            batch = [r for recs in consumer.poll(timeout_ms=300).values() for r in recs]
            records.extend(json.loads(r.value) for r in batch)
            if batch:
                last_new = time.monotonic()
            elif records and time.monotonic() - last_new > quiet_s:
                break
        return records
    finally:
        consumer.close()


def test_kafka_sh_writes_what_a_client_needs(secured: SecuredBroker) -> None:
    env = secured.client_env()
    assert env["JOURNEYS_BOOTSTRAP_SERVERS"] == secured.bootstrap
    assert env["JOURNEYS_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["JOURNEYS_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["JOURNEYS_SASL_USERNAME"] == secured.user
    assert Path(env["JOURNEYS_SSL_CAFILE"]).read_text().startswith("-----BEGIN CERTIFICATE")
    assert CANARY not in (secured.state_dir / "client.env").read_text()
    status = secured.kafka_sh("status", timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr


def test_worker_processes_simulated_input_over_sasl_ssl(
    secured: SecuredBroker, worker: WorkerProcess
) -> None:
    simulate = subprocess.run(
        [sys.executable, "-m", "streams.cli", "simulate", "--customers", "12", "--days", "6"],
        cwd=REPO_ROOT,
        env=_tool_env(secured, JOURNEYS_TOPIC_PREFIX=worker.prefix),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert simulate.returncode == 0, simulate.stderr
    triggers = _committed(secured, worker.topics["triggers"])
    assert triggers, worker.log_tail()
    assert {t["customer_id"][:1] for t in triggers} == {"c"}


def test_replay_of_one_customer_over_sasl_ssl(
    secured: SecuredBroker,
    worker: WorkerProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = [t for t in _committed(secured, worker.topics["triggers"], quiet_s=1.0)]
    on_events = [t for t in live if t["cause"]["type"] == "event"]
    assert on_events, "no event-caused trigger to compare with"
    customer = on_events[0]["customer_id"]
    for name, value in secured.client_env().items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main(["replay", customer, "--topic-prefix", worker.prefix, "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    replayed = {
        r["trigger"]["trigger_id"] for r in map(json.loads, out.splitlines()) if "trigger" in r
    }
    wanted = {t["trigger_id"] for t in on_events if t["customer_id"] == customer}
    assert wanted <= replayed


# (command, what is wrong, the setting changed, what the one error line must say)
WRONG_SETTINGS = [
    ("worker", "password", {"JOURNEYS_SASL_PASSWORD": WRONG}, "authentication failed"),
    ("worker", "protocol", {"JOURNEYS_SECURITY_PROTOCOL": "PLAINTEXT"}, "speaks TLS"),
    ("replay", "password", {"JOURNEYS_SASL_PASSWORD": WRONG}, "authentication failed"),
    ("replay", "protocol", {"JOURNEYS_SECURITY_PROTOCOL": "PLAINTEXT"}, "speaks TLS"),
]


@pytest.mark.parametrize(
    ("command", "change", "expected"),
    [(c, ch, e) for c, _, ch, e in WRONG_SETTINGS],
    ids=[f"{c}-wrong-{what}" for c, what, _, _ in WRONG_SETTINGS],
)
def test_wrong_settings_give_one_clear_line(
    secured: SecuredBroker, tmp_path: Path, command: str, change: dict[str, str], expected: str
) -> None:
    args = ["worker"] if command == "worker" else ["replay", "c-1", "--no-progress"]
    env = _tool_env(
        secured,
        JOURNEYS_TOPIC_PREFIX=f"t{uuid.uuid4().hex[:8]}",
        JOURNEYS_DATA_DIR=str(tmp_path / "data"),
        JOURNEYS_WEB_PORT=str(free_port()),
        **change,
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert elapsed < ERROR_WITHIN_S, f"took {elapsed:.1f} s"
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.strip()]
    if command == "worker":  # log lines: one error, nothing louder before it
        errors = [line for line in errors if " ERROR " in line or " WARNING " in line]
    assert len(errors) == 1, output
    assert f"cannot reach Kafka at {secured.bootstrap}" in errors[0]
    assert expected in errors[0], errors[0]
    assert WRONG not in output and CANARY not in output


def _loud(text: str) -> list[str]:
    return [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line]


def test_an_outage_is_logged_once_per_change_not_per_retry(
    secured: SecuredBroker, worker: WorkerProcess, tmp_path: Path
) -> None:
    # a worker starting while nothing listens, and the running worker losing its broker
    nowhere = WorkerProcess(f"127.0.0.1:{free_port()}", tmp_path, name="nowhere")
    nowhere.start(wait=False)
    before = worker.log_path.read_text(errors="replace")
    stopped = secured.stop()
    assert stopped.returncode == 0, stopped.stderr
    try:
        time.sleep(10)
        during = worker.log_path.read_text(errors="replace")[len(before) :]
        starting = nowhere.log_path.read_text(errors="replace")
    finally:
        nowhere.stop()
        restarted = secured.start()
    assert restarted.returncode == 0, restarted.stderr
    # measured before the filter: about 80 lines a second from aiokafka's reconnects
    assert 1 <= len(_loud(during)) <= 20, "\n".join(_loud(during))
    assert len(_loud(starting)) == 1, starting
    assert "connection refused" in _loud(starting)[0]
    worker.wait_ready(60)  # and back once the broker is


def test_no_secret_in_any_log_at_debug_level(secured: SecuredBroker, worker: WorkerProcess) -> None:
    worker.stop()
    log = worker.log_path.read_text(errors="replace")
    assert " DEBUG " in log  # the canary had every chance to show
    assert CANARY not in log
    for path in (secured.state_dir / "logs").iterdir():
        assert CANARY not in path.read_text(errors="replace"), path
