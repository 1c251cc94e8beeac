"""Kafka client arguments for the tools that are not the faust worker, built from Settings.

``Settings.kafka_python_config()`` is the one place that turns settings (servers,
security) into client arguments; kafka-python and aiokafka take the same names. These
helpers add what each use needs on top: a producer tuned for bulk writes, the connection
of a command-line tool that may override the servers, the name of a topic by role.
"""

from __future__ import annotations

from typing import Any

from schemas.topics import by_role, topic_specs
from streams.settings import Settings


def producer_config(settings: Settings) -> dict[str, Any]:
    """aiokafka producer arguments from ``streams.settings.Settings`` (security included);
    ``acks=all``: a write is acknowledged once ``min.insync.replicas`` replicas hold it."""
    config: dict[str, Any] = dict(settings.kafka_python_config())
    config.update(linger_ms=20, max_batch_size=512 * 1024, acks="all", request_timeout_ms=30_000)
    return config


def client_config(bootstrap: str | None = None) -> dict[str, Any]:
    """kafka-python connection arguments from the settings, ``bootstrap`` overriding them."""
    settings = Settings() if bootstrap is None else Settings(bootstrap_servers=bootstrap)
    return settings.kafka_python_config()


def default_topic(role: str = "keyed", prefix: str | None = None) -> str:
    """The name of the topic with ``role`` under ``prefix``, else the configured prefix."""
    settings = Settings()
    return by_role(topic_specs(prefix or settings.topic_prefix, settings.partitions))[role].name
