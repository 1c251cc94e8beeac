"""The topic registry: every topic the processor reads or writes, declared once.

Pure data (no faust import), so that the AsyncAPI generator, the admin tooling and
the faust app all read the same declarations. Agents get faust topic objects from
``streams.worker.app`` which builds them from these specs; no topic name appears as a
string literal anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

# The trigger families (a contract of their own): one topic each.
from schemas.triggers import TRIGGER_FAMILIES

Cleanup = Literal["delete", "compact"]
Retention = Literal["inputs", "triggers", "deadletters", "audit"]
DAY_MS = 24 * 3600 * 1000
DEFAULT_RETENTION_DAYS: Mapping[str, float] = {
    "inputs": 7.0,  # touchpoints, keyed, wakeups, erasure requests: Kafka's own default
    "triggers": 7.0,  # hand-over to the campaign tools, which keep what they need
    "deadletters": 7.0,  # the original bytes: personal data, kept for a week of triage
    "audit": 1095.0,  # erasure confirmations (ids only): three years, to answer for them
}
"""How long each class of topic keeps records by default (the settings
``JOURNEYS_RETENTION_*_DAYS`` change them), applied when a topic is created."""


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
    retention_ms: int | None = None  # None: the retention class's, else the broker's default
    retention: Retention | None = None  # the class of retention (personal data: README)
    internal: bool = False
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(
    prefix: str = "journeys",
    partitions: int = 8,
    retention_days: Mapping[str, float] | None = None,
) -> tuple[TopicSpec, ...]:
    """Every topic, named under ``prefix`` with ``partitions`` partitions by default, each
    retention class keeping records ``retention_days[class]`` days (default:
    :data:`DEFAULT_RETENTION_DAYS`)."""
    days = {**DEFAULT_RETENTION_DAYS, **(retention_days or {})}

    def spec(**kwargs: object) -> TopicSpec:
        s = TopicSpec(**kwargs)  # type: ignore[arg-type]  # keyword pass-through
        if s.retention is not None and s.retention_ms is None:
            s = replace(s, retention_ms=round(days[s.retention] * DAY_MS))
        return s if s.partitions is not None else replace(s, partitions=partitions)

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
            retention="inputs",
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
            retention="inputs",
        ),
        spec(
            role="wakeups",
            name=f"{prefix}.wakeups.v1",
            key="customer id (or the anonymous id or fan-out index key whose state it "
            "touches; an erasure's EraseSubscriptions: its request id, sent to every partition)",
            message="Wakeup | MergeRequest | MergeState | FanoutSubscribe | FanoutPublish "
            "| EraseLinked | EraseSubscriptions | ErasureRequest",
            description="Timer wake-ups, anonymous-state merges, fan-out index updates, "
            "the steps of an erasure on other partitions than the customer's, and erasure "
            "requests that were keyed otherwise, re-keyed to their id.",
            producers=("journeys-worker: timers",),
            consumers=("journeys-worker: journey",),
            internal=True,
            retention="inputs",
        ),
        spec(
            role="triggers",
            name=f"{prefix}.triggers.v1",
            key="customer id",
            message="Trigger",
            description="Every trigger of every journey.",
            producers=("journeys-worker: journey",),
            consumers=("marketing automation",),
            retention="triggers",
        ),
        spec(
            role="deadletters",
            name=f"{prefix}.deadletters.v1",
            key="original key",
            message="DeadLetter",
            description="Rejected input with the original bytes and the reason.",
            producers=("journeys-worker: journey",),
            consumers=("operators",),
            retention="deadletters",
        ),
        spec(
            role="erasures",
            name=f"{prefix}.erasures.v1",
            key="customer id (the id to erase)",
            message="ErasureRequest",
            description="Right to be forgotten: requests to erase a customer and every key "
            "linked to it. Co-partitioned with the state table (as many partitions as the "
            "keyed topic): the journey agent reads it as one of its inputs and erases in "
            "the customer's partition's transaction.",
            producers=("journeys erase", "privacy tooling"),
            consumers=("journeys-worker: journey", "journeys replay"),
            retention="inputs",
        ),
        spec(
            role="audit",
            name=f"{prefix}.erasures.audit.v1",
            key="customer id",
            message="ErasureConfirmation",
            description="One confirmation per erasure request: what was erased and when, "
            "never the erased data; written in the request's transaction.",
            producers=("journeys-worker: journey",),
            consumers=("journeys erase --wait", "compliance"),
            retention="audit",
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
                retention="triggers",
            )
        )
    return tuple(specs)


def by_role(specs: tuple[TopicSpec, ...]) -> dict[str, TopicSpec]:
    return {s.role: s for s in specs}
