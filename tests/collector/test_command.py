"""``journeys collect``: its settings, its options and its refusal to run without a key."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from streams.cli import build_parser
from streams.collector.main import secrets
from streams.settings import Settings
from tests.collector.harness import REPO_ROOT


@pytest.mark.parametrize("value", ["k1,k2", " k1 , k2 ,", '["k1", "k2"]'])
def test_write_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("JOURNEYS_COLLECTOR_WRITE_KEYS", value)
    settings = Settings()
    assert [k.get_secret_value() for k in settings.collector_write_keys] == ["k1", "k2"]
    assert "k1" not in repr(settings) and "k1" not in str(settings.describe())


def test_defaults_and_bounds() -> None:
    settings = Settings()
    assert (settings.collector_host, settings.collector_port) == ("127.0.0.1", 8088)
    assert settings.collector_write_keys == []
    with pytest.raises(ValidationError):
        Settings(collector_max_in_flight_bytes=1000)
    # a value that is not what it should be is never an error that would show it
    assert [
        k.get_secret_value() for k in Settings(collector_write_keys="[x,y").collector_write_keys
    ] == ["[x", "y"]
    assert [
        k.get_secret_value() for k in Settings(collector_write_keys=[12, "k"]).collector_write_keys
    ] == ["12", "k"]


def test_secrets_are_the_keys_and_the_kafka_passwords() -> None:
    settings = Settings(
        collector_write_keys="k1,k2",
        security_protocol="SASL_SSL",
        sasl_username="u",
        sasl_password="p",
    )
    assert secrets(settings) == ["k1", "k2", "p"]


def test_options_name_their_environment_variables() -> None:
    parser = build_parser(["collect"])
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict)
    text = sub.choices["collect"].format_help()
    for name in (
        "JOURNEYS_COLLECTOR_PORT",
        "JOURNEYS_COLLECTOR_HOST",
        "JOURNEYS_BOOTSTRAP_SERVERS",
    ):
        assert name in text
    assert "--write-key" not in text  # secrets come from the environment only


def test_without_a_write_key_it_will_not_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    result = subprocess.run(
        [sys.executable, "-m", "streams.collector", "--port", "1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "JOURNEYS_COLLECTOR_WRITE_KEYS" in result.stderr
