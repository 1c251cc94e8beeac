"""The topic registry: every topic the processor reads or writes, declared once.

Pure data (no faust import), so that the AsyncAPI generator, the admin tooling and
the faust app all read the same declarations. Agents get faust topic objects from
``streams.worker.app`` which builds them from these specs; no topic name appears as a
string literal anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# The trigger families (a contract of their own): one topic each.
from schemas.triggers import TRIGGER_FAMILIES

Cleanup = Literal["delete", "compact"]


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its role, name, key, message model and layout."""

    role: str
    name: str
    key: str
    message: str
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    partitions: int | None = None  # None: the settings' partition count
    cleanup: Cleanup = "delete"
    retention_ms: int | None = None
    internal: bool = False
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(prefix: str = "journeys", partitions: int = 8) -> tuple[TopicSpec, ...]:
    """Every topic, named under ``prefix`` with ``partitions`` partitions by default."""

    def spec(**kwargs: object) -> TopicSpec:
        s = TopicSpec(**kwargs)  # type: ignore[arg-type]  # keyword pass-through
        return s if s.partitions is not None else _with_partitions(s, partitions)

    specs = [
        spec(
            role="touchpoints",
            name=f"{prefix}.touchpoints.v1",
            key="customer id, else anonymous id (the key contract; any other key works but "
            "costs one more hop through the keyed topic)",
            message="TouchpointEvent | SegmentMessage | SegmentBatch",
            description="Raw touchpoints from sources, canonical or Segment spec JSON. "
            "Co-partitioned with the state table (same partition count as the keyed topic, "
            "Kafka's default partitioner): a message keyed by its customer id (else its "
            "anonymous id) is processed by the worker that reads it, in one pass.",
            producers=("sources", "simulator"),
            consumers=("journeys-worker: journey",),
        ),
        spec(
            role="keyed",
            name=f"{prefix}.touchpoints-keyed.v1",
            key="customer id (else anonymous id)",
            message="TouchpointEvent",
            description="Validated canonical touchpoints keyed by customer: those whose message "
            "key was not their identity, and fan-out derived events; co-partitioned with the "
            "state table.",
            producers=("journeys-worker: journey",),
            consumers=("journeys-worker: journey", "journeys replay"),
            internal=True,
        ),
        spec(
            role="wakeups",
            name=f"{prefix}.wakeups.v1",
            key="customer id",
            message="InternalMessage (Wakeup | MergeRequest | MergeState | FanoutSubscribe "
            "| FanoutPublish)",
            description="Timer wake-ups, anonymous-state merges and fan-out index updates.",
            producers=("journeys-worker: timers",),
            consumers=("journeys-worker: journey",),
            internal=True,
        ),
        spec(
            role="triggers",
            name=f"{prefix}.triggers.v1",
            key="customer id",
            message="Trigger",
            description="Every trigger of every journey.",
            producers=("journeys-worker: journey",),
            consumers=("marketing automation",),
        ),
        spec(
            role="deadletters",
            name=f"{prefix}.deadletters.v1",
            key="original key",
            message="DeadLetter",
            description="Rejected input with the original bytes and the reason.",
            producers=("journeys-worker: journey",),
            consumers=("operators",),
            retention_ms=30 * 24 * 3600 * 1000,
        ),
    ]
    for family in TRIGGER_FAMILIES:
        specs.append(
            spec(
                role=f"triggers.{family}",
                name=f"{prefix}.triggers.{family}.v1",
                key="customer id",
                message="Trigger",
                description=f"Triggers of the {family} family only.",
                producers=("journeys-worker: journey",),
                consumers=("marketing automation",),
            )
        )
    return tuple(specs)


def _with_partitions(s: TopicSpec, partitions: int) -> TopicSpec:
    from dataclasses import replace

    return replace(s, partitions=partitions)


def by_role(specs: tuple[TopicSpec, ...]) -> dict[str, TopicSpec]:
    return {s.role: s for s in specs}
