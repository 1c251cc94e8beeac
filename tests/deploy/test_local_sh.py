"""deploy/local.sh: syntax, bounded answers, and (live) a full start/status/stop."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.deploy.files import LOCAL_SH
from tests.ops.prom import require
from tests.scripts import run_script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_sh(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return run_script(LOCAL_SH, args, env=env, timeout=timeout)


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOURNEYS_", "KAFKA_"))}
    env.update(
        LOCAL_STATE_DIR=str(tmp_path / "local"),
        KAFKA_STATE_DIR=str(tmp_path / "kafka"),
        KAFKA_PORT=str(free_port()),
        PROMETHEUS_PORT=str(free_port()),
        JOURNEYS_WEB_PORT=str(free_port()),
        LOCAL_START_TIMEOUT="90",
        **extra,
    )
    return env


def test_syntax() -> None:
    result = subprocess.run(
        ["bash", "-n", str(LOCAL_SH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_help_and_bad_command(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    assert local_sh("help", env=env, timeout=30).returncode == 0
    wrong = local_sh("frobnicate", env=env, timeout=30)
    assert wrong.returncode == 2
    assert "local.sh start" in wrong.stderr


def test_status_and_stop_answer_quickly_when_nothing_runs(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    status = local_sh("status", env=env, timeout=60)
    assert status.returncode == 1
    assert "worker: not running" in status.stdout
    assert "prometheus: not running" in status.stdout
    stop = local_sh("stop", env=env, timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert "broker: left alone" in stop.stdout


@pytest.mark.live
def test_start_status_stop_against_the_session_broker(tmp_path: Path, kafka_bootstrap: str) -> None:
    require("prometheus")
    prefix = f"deploytest-{uuid.uuid4().hex[:8]}"
    env = isolated_env(
        tmp_path,
        JOURNEYS_BOOTSTRAP_SERVERS=kafka_bootstrap,
        JOURNEYS_TOPIC_PREFIX=prefix,
        JOURNEYS_APP_ID=prefix,
        JOURNEYS_PARTITIONS="2",
    )
    try:
        start = local_sh("start", env=env, timeout=400)
        assert start.returncode == 0, start.stdout + start.stderr
        status = local_sh("status", env=env, timeout=60)
        assert status.returncode == 0, status.stdout
        prom = f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"
        deadline = time.monotonic() + 60
        while True:  # the first scrape happens within one scrape interval (15 s)
            with urllib.request.urlopen(f"{prom}/api/v1/query?query=up", timeout=5) as r:
                body = r.read().decode()
            if '"job":"journeys"' in body and '"1"]' in body:
                break
            assert time.monotonic() < deadline, body
            time.sleep(1)
        with urllib.request.urlopen(f"{prom}/api/v1/rules", timeout=5) as r:
            assert "JourneysWorkerDown" in r.read().decode()
    finally:
        stop = local_sh("stop", env=env, timeout=120)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert "broker: left alone" in stop.stdout  # the session's broker keeps running
    assert local_sh("status", env=env, timeout=60).returncode == 1
    assert not (tmp_path / "local" / "worker.pid").exists()
