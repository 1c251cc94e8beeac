"""Topic creation from the registry with kafka-python's admin client (idempotent).

faust creates only its own internal topics (table changelogs, with the tombstone and
compaction settings of ``Settings.changelog_configs``); every topic of the registry is
created here, before the worker starts, with its partitions, cleanup policy and
retention: each retention class (``schemas.topics.DEFAULT_RETENTION_DAYS``) keeps records
as long as the settings say (``JOURNEYS_RETENTION_*_DAYS``). A topic that exists already
is left as it is (change its retention with ``kafka-configs --alter``).

This is the worker's first contact with Kafka, so it is where wrong settings show:
:mod:`~streams.kafka.preflight` checks the connection first (a rejected password or a
protocol that does not match the listener fails at once, an unreachable broker is
retried until the timeout) and every failure, the admin client's included, becomes one
:class:`~streams.kafka.preflight.KafkaUnavailable` naming its cause.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.topics import DAY_MS, TopicSpec, topic_specs
from streams.kafka.preflight import (
    KafkaUnavailable,
    check,
    describe,
    durability_warnings,
    servers_text,
)
from streams.settings import Settings

log = logging.getLogger(__name__)


def new_topic(
    spec: TopicSpec,
    replication_factor: int,
    retention_days: Mapping[str, float] | None = None,
    min_insync_replicas: int | None = None,
) -> NewTopic:
    """``spec`` as a topic to create; its retention class keeps records
    ``retention_days[class]`` days when given, else the spec's own ``retention_ms``;
    ``min.insync.replicas`` is set when given (``Settings.insync_replicas``)."""
    configs: dict[str, str] = {"cleanup.policy": spec.cleanup, **spec.configs}
    if min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(min_insync_replicas)
    retention_ms = spec.retention_ms
    if spec.retention is not None and retention_days and spec.retention in retention_days:
        retention_ms = round(retention_days[spec.retention] * DAY_MS)
    if retention_ms is not None:
        configs["retention.ms"] = str(retention_ms)
    return NewTopic(
        name=spec.name,
        num_partitions=spec.partitions or 1,
        replication_factor=replication_factor,
        topic_configs=configs,
    )


def ensure_topics(
    settings: Settings, specs: Iterable[TopicSpec] | None = None, timeout_s: float = 30.0
) -> list[str]:
    """Create the registry's topics that do not exist yet; returns the names created.

    Raises :class:`KafkaUnavailable` (one line: the servers and the cause) when Kafka
    cannot be used with these settings within ``timeout_s``.
    """
    wanted = list(
        specs if specs is not None else topic_specs(settings.topic_prefix, settings.partitions)
    )
    config: dict[str, Any] = {
        **settings.kafka_python_config(),
        "client_id": f"{settings.app_id}-admin",
        "request_timeout_ms": int(timeout_s * 1000),
    }
    waited = check(config, timeout_s=timeout_s, on_retry=_waiting)
    if waited:  # the other change of state, one line as well
        log.info("reached Kafka at %s after %.0f s", servers_text(config), waited)
    try:
        created = [
            new_topic(
                s, settings.replication_factor, settings.retention_days(), settings.insync_replicas
            )
            for s in wanted
        ]
        names = _create_missing(config, created, timeout_s)
        for warning in durability_warnings(config, settings, [t.name for t in created]):
            log.warning("%s", warning)
        return names
    except KafkaError as exc:  # the broker went away or refused a request after the check
        cause = f"creating topics failed: {describe(exc)}"
        raise KafkaUnavailable(servers_text(config), cause, permanent=False) from exc


def _waiting(error: KafkaUnavailable, seconds_left: float) -> None:
    log.warning("%s; retrying for up to %.0f s", error, seconds_left)


def _create_missing(config: dict[str, Any], wanted: list[NewTopic], timeout_s: float) -> list[str]:
    admin = KafkaAdminClient(**config)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        created: list[str] = []
        for topic in missing:
            try:
                admin.create_topics([topic], timeout_ms=int(timeout_s * 1000))
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        _wait_for_leaders(admin, [t.name for t in wanted], timeout_s)
        if created:
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        admin.close()


def _wait_for_leaders(admin: KafkaAdminClient, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        descriptions = admin.describe_topics(names)
        ready = all(
            d.get("error_code") == 0 and all(p.get("leader_id", -1) >= 0 for p in d["partitions"])
            for d in descriptions
        )
        if ready or time.monotonic() > deadline:
            return
        time.sleep(0.2)
