"""Settings: JOURNEYS_ environment, Kafka security for faust and kafka-python, no secrets shown."""

from __future__ import annotations

import faust
import pytest
from pydantic import ValidationError

from streams.settings import Settings
from streams.worker.app import faust_config
from streams.worker.config import faust_credentials


def test_defaults_are_exactly_once_on_rocksdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYS_TOPIC_PREFIX", "t1")
    monkeypatch.setenv("JOURNEYS_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
    s = Settings()
    assert s.topic_prefix == "t1"
    assert s.broker_url == "kafka://k1:9092;kafka://k2:9093"
    config = faust_config(s)
    assert config["processing_guarantee"] == "exactly_once"
    assert config["store"] == "rocksdb://"
    assert config["broker_credentials"] is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_credentials_reach_faust_and_kafka_python(mechanism: str) -> None:
    s = Settings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,  # type: ignore[arg-type]
        sasl_username="svc",
        sasl_password="hunter2",  # type: ignore[arg-type]
    )
    creds = faust_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.mechanism.value == mechanism and creds.password == "hunter2"
    kp = s.kafka_python_config()
    assert kp["sasl_mechanism"] == mechanism and kp["sasl_plain_password"] == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.describe())


def test_tls_gives_an_ssl_context() -> None:
    s = Settings(security_protocol="SSL", ssl_check_hostname=False)
    creds = faust_credentials(s)
    assert isinstance(creds, faust.SSLCredentials)
    assert s.kafka_python_config()["ssl_context"] is not None


def test_sasl_without_password_and_unknown_store_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(security_protocol="SASL_SSL", sasl_username="svc")
    with pytest.raises(ValidationError):
        Settings(store="redis://")
