"""What ``kafka.sh cluster`` asks the local 3-node cluster, through kafka-python's admin client.

Run by kafka.sh with the project's Python (``.venv``): ``cluster_admin.py COMMAND
BOOTSTRAP ARGS...``. Every command answers on stdout and exits 0, or prints one line on
stderr and exits 1; waits are bounded by the seconds given.

    ready BOOTSTRAP NODES SECONDS     every node registered and unfenced, and a probe
                                      topic (replication NODES) led and fully in sync
    rejoined BOOTSTRAP NODE SECONDS   NODE registered and unfenced, and back in the ISR
                                      of every partition it replicates that has a leader
    status BOOTSTRAP                  brokers, active controller, partitions under-
                                      replicated and offline (retried for 10 s)
    leader-of BOOTSTRAP TOPIC PARTITION   the node leading that partition
    controller BOOTSTRAP              the active controller (leader of the KRaft quorum)
    coordinator-of BOOTSTRAP TRANSACTIONAL_ID   the node coordinating that transaction
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

warnings.simplefilter("ignore")  # kafka-python's import-time deprecations

from kafka import KafkaAdminClient  # noqa: E402
from kafka.errors import KafkaError, TopicAlreadyExistsError, for_code  # noqa: E402

PROBE_TOPIC = "__kafka_sh_cluster_probe"


class NotYet(Exception):
    """The cluster is not (yet) in the state waited for."""


@contextmanager
def admin(bootstrap: str) -> Iterator[Any]:
    client = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="kafka.sh-cluster",
        request_timeout_ms=5000,
        bootstrap_timeout_ms=5000,
    )
    try:
        yield client
    finally:
        client.close()


def unfenced(client: Any) -> set[int]:
    return {b["broker_id"] for b in client.describe_cluster()["brokers"] if not b["is_fenced"]}


def partitions(client: Any, topics: list[str] | None = None) -> Iterator[tuple[str, Any]]:
    for topic in client.describe_topics(topics):
        if topic["error_code"] != 0:
            raise NotYet(f"topic {topic['name']}: {for_code(topic['error_code']).__name__}")
        for p in topic["partitions"]:
            yield topic["name"], p


def wait(bootstrap: str, seconds: float, check: Callable[[Any], str]) -> str:
    """``check(client)`` until it returns instead of raising, within ``seconds``."""
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    while True:
        try:
            with admin(bootstrap) as client:
                return check(client)
        except (NotYet, KafkaError, OSError, ValueError, KeyError) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise SystemExit(f"not within {seconds:.0f}s: {last}")
        time.sleep(0.5)


def ready(bootstrap: str, nodes: int, seconds: float) -> str:
    def check(client: Any) -> str:
        up = unfenced(client)
        if len(up) < nodes:
            raise NotYet(f"unfenced brokers {sorted(up)}, want {nodes}")
        with suppress(TopicAlreadyExistsError):
            client.create_topics(
                {PROBE_TOPIC: {"num_partitions": 1, "replication_factor": nodes}},
                timeout_ms=5000,
            )
        for _, p in partitions(client, [PROBE_TOPIC]):
            if p["leader_id"] < 0 or len(p["isr_nodes"]) < nodes:
                raise NotYet(f"probe topic: leader {p['leader_id']}, isr {p['isr_nodes']}")
        return f"brokers {sorted(up)}"

    return wait(bootstrap, seconds, check)


def rejoined(bootstrap: str, node: int, seconds: float) -> str:
    def check(client: Any) -> str:
        if node not in unfenced(client):
            raise NotYet(f"node {node} not registered and unfenced yet")
        behind = [
            f"{name}-{p['partition_index']}"
            for name, p in partitions(client)
            if node in p["replica_nodes"] and p["leader_id"] >= 0 and node not in p["isr_nodes"]
        ]
        if behind:
            raise NotYet(f"node {node} not in the ISR of {len(behind)} partitions: {behind[:5]}")
        return f"node {node} in sync"

    return wait(bootstrap, seconds, check)


def status(bootstrap: str) -> str:
    def check(client: Any) -> str:
        brokers = sorted(unfenced(client))
        under = offline = 0
        for _, p in partitions(client):
            under += len(p["isr_nodes"]) < len(p["replica_nodes"])
            offline += p["leader_id"] < 0
        return (
            f"brokers {brokers}, controller {controller_of(client)}, "
            f"{under} partitions under-replicated, {offline} offline"
        )

    return wait(bootstrap, 10, check)  # a node just gone may still be in the metadata


def controller_of(client: Any) -> int:
    [topic] = client.describe_metadata_quorum()["topics"]
    return int(topic["partitions"][0]["leader_id"])


def leader_of(bootstrap: str, topic: str, partition: int) -> str:
    with admin(bootstrap) as client:
        for _, p in partitions(client, [topic]):
            if p["partition_index"] == partition:
                if p["leader_id"] < 0:
                    raise SystemExit(f"{topic}-{partition} has no leader")
                return str(p["leader_id"])
    raise SystemExit(f"{topic} has no partition {partition}")


def controller(bootstrap: str) -> str:
    with admin(bootstrap) as client:
        return str(controller_of(client))


def coordinator_of(bootstrap: str, transactional_id: str) -> str:
    with admin(bootstrap) as client:
        described = client.describe_transactions([transactional_id])
        return str(described[transactional_id].coordinator_id)


def main(argv: list[str]) -> str:
    match argv:
        case ["ready", bootstrap, nodes, seconds]:
            return ready(bootstrap, int(nodes), float(seconds))
        case ["rejoined", bootstrap, node, seconds]:
            return rejoined(bootstrap, int(node), float(seconds))
        case ["status", bootstrap]:
            return status(bootstrap)
        case ["leader-of", bootstrap, topic, partition]:
            return leader_of(bootstrap, topic, int(partition))
        case ["controller", bootstrap]:
            return controller(bootstrap)
        case ["coordinator-of", bootstrap, transactional_id]:
            return coordinator_of(bootstrap, transactional_id)
    raise SystemExit(f"usage: {__doc__}")


if __name__ == "__main__":
    try:
        print(main(sys.argv[1:]))
    except (KafkaError, NotYet) as exc:
        raise SystemExit(f"{type(exc).__name__}: {exc}") from None
