"""Durable topics: ``min.insync.replicas`` from the settings on every topic created,
``acks=all`` producers, and the start-up warnings when the cluster could lose an
acknowledged write."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.topics import by_role, topic_specs
from streams.kafka.admin import new_topic
from streams.kafka.config import producer_config
from streams.kafka.preflight import assess_durability
from streams.settings import Settings


@pytest.mark.parametrize(("replication", "insync"), [(1, 1), (2, 1), (3, 2), (5, 4)])
def test_min_insync_replicas_defaults_to_the_replication_factor_minus_one(
    replication: int, insync: int
) -> None:
    settings = Settings(replication_factor=replication)
    assert settings.insync_replicas == insync
    assert settings.changelog_configs()["min.insync.replicas"] == str(insync)


def test_min_insync_replicas_is_a_setting_within_the_replication_factor() -> None:
    assert Settings(replication_factor=3, min_insync_replicas=3).insync_replicas == 3
    with pytest.raises(ValidationError, match="MIN_INSYNC_REPLICAS above"):
        Settings(replication_factor=2, min_insync_replicas=3)


def test_every_registry_topic_is_created_with_it() -> None:
    specs = topic_specs("p", 4)
    topics = [new_topic(spec, 3, None, 2) for spec in specs]
    assert {t.topic_configs["min.insync.replicas"] for t in topics} == {"2"}
    assert "min.insync.replicas" not in new_topic(by_role(specs)["keyed"], 1).topic_configs


def test_producers_wait_for_every_in_sync_replica() -> None:
    assert producer_config(Settings())["acks"] == "all"


def test_a_replicated_cluster_with_durable_topics_raises_no_warning() -> None:
    configs = {"t": {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}}
    assert assess_durability(3, 3, configs) == []


def test_each_way_to_lose_an_acknowledged_write_is_named() -> None:
    configs = {
        "a": {"min.insync.replicas": "1", "unclean.leader.election.enable": "false"},
        "b": {"min.insync.replicas": "2", "unclean.leader.election.enable": "true"},
    }
    assert assess_durability(3, 2, configs) == [
        "2 broker(s) for JOURNEYS_REPLICATION_FACTOR 3: topics cannot be created with every "
        "replica",
        "min.insync.replicas below 2, an acks=all write can be acknowledged by the leader "
        "alone and lost with its disk: a (1) (set JOURNEYS_MIN_INSYNC_REPLICAS; a topic that "
        "exists already: kafka-configs --alter --add-config min.insync.replicas=N)",
        "unclean.leader.election.enable is true, a replica that missed acknowledged writes "
        "can become leader: b",
    ]


def test_one_replica_is_one_warning() -> None:
    configs = {"t": {"min.insync.replicas": "1", "unclean.leader.election.enable": "false"}}
    assert assess_durability(1, 1, configs) == [
        "JOURNEYS_REPLICATION_FACTOR is 1: every acknowledged write is on one broker only, "
        "a lost disk loses it (use 3 on a real cluster)"
    ]


def test_replication_two_with_the_default_min_insync_replicas_is_warned() -> None:
    configs = {"t": {"min.insync.replicas": "1"}}
    lines = assess_durability(2, 2, configs)  # the default min ISR with replication 2: 1
    assert len(lines) == 1 and lines[0].endswith("min.insync.replicas=N)")
