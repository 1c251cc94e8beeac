"""A worker process from a Settings: the child reads back exactly the parent's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from streams.settings import ENV_PREFIX, Settings
from streams.worker.launch import CLI, WorkerLaunch, overridden, process_env, settings_env

# every kind of field with a value other than its default: numbers, a float that prints
# long, paths, booleans, literals, secrets, lists with separators inside their items
EVERYTHING = {
    "bootstrap_servers": "k1:9092,k2:9092",
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_username": "worker",
    "sasl_password": "p w,:x=1",
    "ssl_cafile": Path("/etc/ca.pem"),
    "ssl_check_hostname": False,
    "app_id": "app",
    "topic_prefix": "pre",
    "partitions": 3,
    "replication_factor": 3,
    "min_insync_replicas": 2,
    "store": "memory://",
    "data_dir": Path("relative/state"),
    "standby_replicas": 0,
    "journey_paths": [Path("/a.yaml"), Path("rel/b.yaml")],
    "commit_interval_seconds": 0.1 + 0.2,
    "clock": "event",
    "group_instance_id": "pod-0",
    "web_port": 7001,
    "metrics_port": 7002,
    "log_format": "json",
    "collector_write_keys": ["k1", "k,2"],
    "collector_allowed_origins": ["http://a.example:8080", "https://b.example"],
}


@pytest.fixture
def no_settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_child_reads_back_every_setting(no_settings_env: pytest.MonkeyPatch) -> None:
    parent = Settings(**EVERYTHING)
    for name, value in settings_env(parent).items():
        no_settings_env.setenv(name, value)
    child = Settings()
    assert child == parent
    assert child.sasl_password == SecretStr("p w,:x=1")
    assert child.commit_interval_seconds == 0.1 + 0.2


def test_the_parents_own_settings_variables_do_not_reach_the_child() -> None:
    inherited = {
        "PATH": "/bin",
        "JOURNEYS_NOT_A_SETTING": "kept",  # names no setting: passes through
        "JOURNEYS_PARTITIONS": "99",
        "JOURNEYS_METRICS_PORT": "9",
        "JOURNEYS_SETTINGS_FILE": "/etc/journeys.toml",
    }
    env = process_env(Settings(partitions=2), inherited)
    assert (env["PATH"], env["JOURNEYS_NOT_A_SETTING"]) == ("/bin", "kept")
    assert env["JOURNEYS_PARTITIONS"] == "2"
    assert "JOURNEYS_METRICS_PORT" not in env  # None: left out, not the parent's 9
    assert "JOURNEYS_SETTINGS_FILE" not in env  # its values are in the variables already


def test_overridden_validates_like_the_command_line(no_settings_env: pytest.MonkeyPatch) -> None:
    base = Settings(topic_prefix="base", partitions=4)
    no_settings_env.setenv("JOURNEYS_APP_ID", "from-the-environment")
    changed = overridden(base, partitions="3", clock="event")
    assert (changed.partitions, changed.clock, changed.topic_prefix) == (3, "event", "base")
    assert changed.app_id == base.app_id  # the environment is not read again
    with pytest.raises(ValidationError):
        overridden(base, partitions=0)


def test_the_command_line_is_the_journeys_worker_command() -> None:
    launch = WorkerLaunch(Settings(), ("--journey", "j.yaml"))
    assert launch.argv == [sys.executable, *CLI, "worker", "--journey", "j.yaml"]
    wrapped = WorkerLaunch(Settings(), entry=("-m", "streams.bench.gcwatch", "gc.jsonl"))
    assert wrapped.argv == [sys.executable, "-m", "streams.bench.gcwatch", "gc.jsonl", "worker"]
