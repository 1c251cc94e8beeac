"""A local 3-node KRaft cluster (``kafka.sh cluster``) for the broker failure tests.

Its own state dir and free ports, the session broker's jars; nothing here touches the
session broker. :class:`Placement` is what the admin client says about where a worker's
partitions, transactions and group live, and :func:`concentrate` moves all of that onto
one node (replicas reordered, preferred leaders elected), so that one SIGKILL takes the
worst case: every leader, coordinator and the active controller at once.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient, TopicPartition

from tests.live.secured_broker import run_kafka_sh, session_lib_dir

NODES = (1, 2, 3)


def free_range(n: int) -> int:
    """The first of ``n`` consecutive ports free on 127.0.0.1 (a random start)."""
    for _ in range(100):
        base = random.randrange(20_000, 60_000)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports")


@dataclass
class LocalCluster:
    """Three combined broker+controller nodes: ``start()``, ``kill(n)``, ``restart(n)``,
    ``stop()``, through kafka.sh."""

    state_dir: Path
    ports: int = field(default_factory=lambda: free_range(6))  # 3 client, 3 controller

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.ports + n - 1}" for n in NODES)

    def kafka_sh_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "JOURNEYS_"))}
        env.update(
            KAFKA_CLUSTER_DIR=str(self.state_dir),
            KAFKA_CLUSTER_PORT=str(self.ports),
            KAFKA_CLUSTER_CONTROLLER_PORT=str(self.ports + 3),
            KAFKA_LIB_DIR=str(session_lib_dir()),
            KAFKA_STOP_TIMEOUT="8",  # the last node has no quorum left to shut down cleanly
        )
        return env

    def kafka_sh(self, *args: str, timeout: float = 900) -> str:
        """``kafka.sh cluster ARGS``'s output; fails the caller with its error line."""
        done = run_kafka_sh(["cluster", *args], self.kafka_sh_env(), timeout)
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh cluster {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def start(self) -> None:
        self.kafka_sh("start", "--clean")

    def stop(self) -> None:
        self.kafka_sh("stop", timeout=120)

    def kill(self, node: int) -> None:
        self.kafka_sh("kill", str(node), timeout=60)

    def restart(self, node: int) -> None:
        self.kafka_sh("restart", str(node), timeout=180)

    def leader_of(self, topic: str, partition: int) -> int:
        return int(self.kafka_sh("leader-of", topic, str(partition), timeout=60))

    def controller(self) -> int:
        return int(self.kafka_sh("controller", timeout=60))

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            client_id="journeys-tests-cluster",
            request_timeout_ms=10_000,
        )


# -- where things live ------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where a worker's partitions, transactions and consumer group live right now."""

    leaders: dict[TopicPartition, int]  # every partition of the worker's topics
    isr: dict[TopicPartition, list[int]]
    transactions: dict[str, int]  # the worker's transactional ids -> coordinator
    group: int  # its consumer group's coordinator
    controller: int  # the active controller

    def most_leader(self) -> tuple[int, int]:
        """The node leading the most of the worker's partitions, and how many."""
        [(node, n)] = Counter(self.leaders.values()).most_common(1)
        return node, n

    def summary(self) -> str:
        by_node = Counter(self.leaders.values())
        coordinators = Counter(self.transactions.values())
        return (
            f"leaders {dict(sorted(by_node.items()))} of {len(self.leaders)} partitions, "
            f"transaction coordinators {dict(sorted(coordinators.items()))} of "
            f"{len(self.transactions)} ids, group coordinator {self.group}, "
            f"controller {self.controller}"
        )


def placement(
    admin: KafkaAdminClient, prefix: str, transactions: Iterable[str] | None = None
) -> Placement:
    """Where the worker of ``prefix`` (its topic prefix, app id and group) lives: its
    topics are the registry's and faust's changelogs, all named from the prefix; its
    transactions are ``transactions``, or those the brokers list under its prefix."""
    leaders: dict[TopicPartition, int] = {}
    isr: dict[TopicPartition, list[int]] = {}
    for topic in admin.describe_topics():
        if topic["name"].startswith(prefix):
            for p in topic["partitions"]:
                tp = TopicPartition(topic["name"], p["partition_index"])
                leaders[tp], isr[tp] = p["leader_id"], sorted(p["isr_nodes"])
    if transactions is None:
        listed = admin.list_transactions()
        ids = {t.transactional_id for rows in listed.values() for t in rows}
        transactions = sorted(i for i in ids if i.startswith(prefix))
    described = admin.describe_transactions(transactions)
    [quorum] = admin.describe_metadata_quorum()["topics"]
    return Placement(
        leaders=leaders,
        isr=isr,
        transactions={i: d.coordinator_id for i, d in described.items()},
        group=admin._manager.run(admin._find_coordinator_id, prefix),
        controller=quorum["partitions"][0]["leader_id"],
    )


def concentrate(admin: KafkaAdminClient, node: int, timeout: float = 30.0) -> None:
    """Make ``node`` the leader of every partition of the cluster (the internal topics
    too: it becomes every transaction's and group's coordinator): each replica list is
    reordered to start with it, then the preferred leaders are elected."""
    reassign: dict[TopicPartition, list[int]] = {}
    for topic in admin.describe_topics():
        for p in topic["partitions"]:
            replicas = list(p["replica_nodes"])
            if replicas[0] != node and node in replicas:
                reassign[TopicPartition(topic["name"], p["partition_index"])] = [
                    node,
                    *(r for r in replicas if r != node),
                ]
    if reassign:
        admin.alter_partition_reassignments(reassign)
    deadline = time.monotonic() + timeout
    while True:
        if not admin.list_partition_reassignments():
            break
        assert time.monotonic() < deadline, "reassignments still pending"
        time.sleep(0.2)
    admin.elect_leaders(0)  # preferred, every partition
    while True:
        off = [
            f"{t['name']}-{p['partition_index']}"
            for t in admin.describe_topics()
            for p in t["partitions"]
            if p["leader_id"] != node
        ]
        if not off:
            return
        assert time.monotonic() < deadline, f"not led by node {node}: {off[:5]}"
        time.sleep(0.2)
