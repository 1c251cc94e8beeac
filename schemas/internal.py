"""Internal messages between the worker's own agents (never read by other systems).

They travel on the internal ``wakeups`` topic, keyed by the customer (or anonymous, or
fan-out index) key that the journey agent owns, so that every table write happens in
the partition of the message being processed. ``kind`` tells them apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.erasure import ErasureRequest
from schemas.events import TouchpointEvent, UtcDatetime

INTERNAL_SCHEMA_VERSION: Final = 1

__all__ = [
    "INTERNAL_KINDS",
    "EraseLinked",
    "EraseSubscriptions",
    "FanoutPublish",
    "FanoutSubscribe",
    "InternalMessage",
    "MergeRequest",
    "MergeState",
    "Wakeup",
    "parse_internal",
]


class _Internal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = INTERNAL_SCHEMA_VERSION


class Wakeup(_Internal):
    """Time has reached ``at`` (the partition watermark) for this customer: run timers."""

    kind: Literal["wakeup"] = "wakeup"
    customer_id: str
    at: UtcDatetime


class MergeRequest(_Internal):
    """Keyed by the anonymous id (or an alias's previous id): link it to ``customer_id``
    (its later events go there) and hand its states over. Idempotent: a key already
    linked stays linked where it is."""

    kind: Literal["merge_request"] = "merge_request"
    anonymous_id: str
    customer_id: str
    event_id: str = Field(description="The linking event")
    at: UtcDatetime | None = Field(
        default=None,
        description="Event time of the linking event: the time of the merge (absent in the "
        "first version: the merged state's engine time)",
    )


class MergeState(_Internal):
    """Keyed by the customer id: the linked key's states (journey -> CustomerState JSON),
    merged there, or passed on along the customer's own link (``via``: the keys they were
    handed over by, first the linked key)."""

    kind: Literal["merge_state"] = "merge_state"
    anonymous_id: str
    customer_id: str
    event_id: str
    states: dict[str, dict[str, Any]] = Field(default_factory=dict)
    at: UtcDatetime | None = Field(default=None, description="As in MergeRequest")
    via: list[str] = Field(
        default_factory=list,
        description="Keys the states went through, the linked key first (loops are cut)",
    )
    linked: list[str] = Field(
        default_factory=list,
        description="Keys merged into the linked key before: they follow it (an erasure of "
        "the customer erases them too)",
    )


class FanoutSubscribe(_Internal):
    """Keyed by the fan-out index key: ``customer_id`` subscribes to it at time ``at``."""

    kind: Literal["fanout_subscribe"] = "fanout_subscribe"
    index_key: str
    customer_id: str
    at: UtcDatetime | None = Field(
        default=None,
        description="Event time of the subscribing event (absent in the first version: "
        "then the subscription counts as made before any publication)",
    )


class FanoutPublish(_Internal):
    """Keyed by the fan-out index key: ``event`` publishes to the key's subscribers."""

    kind: Literal["fanout_publish"] = "fanout_publish"
    index_key: str
    event: TouchpointEvent
    action: dict[str, Any] = Field(description="The engine's fan-out action, as JSON")


class EraseLinked(_Internal):
    """Keyed by a key linked with an erased one (an anonymous id merged into it, the
    customer it was aliased to): erase that key too, then the keys linked with it that
    ``via`` does not hold yet (see ``streams.worker.erasure``)."""

    kind: Literal["erase_linked"] = "erase_linked"
    key: str
    request_id: str
    requested_at: UtcDatetime
    via: list[str] = Field(
        default_factory=list, description="Keys this erasure reached already: not again"
    )
    suppressed_until: UtcDatetime | None = Field(
        default=None, description="Drop the key's events older than this (the policy)"
    )
    confirm: ErasureRequest | None = Field(
        default=None,
        description="The request to confirm once this key is erased: the id it named "
        "(an anonymous or aliased id) held no state of its own, its identity's state is "
        "under this key, the customer it was linked to. Added in v1 (issue 22)",
    )


class EraseSubscriptions(_Internal):
    """Sent to every partition of the wakeups topic: remove ``keys`` from the fan-out
    index entries of that partition (subscribers, served, their publications)."""

    kind: Literal["erase_subscriptions"] = "erase_subscriptions"
    request_id: str
    keys: list[str]


InternalMessage = Annotated[
    Wakeup
    | MergeRequest
    | MergeState
    | FanoutSubscribe
    | FanoutPublish
    | EraseLinked
    | EraseSubscriptions,
    Field(discriminator="kind"),
]

INTERNAL_KINDS: Final[frozenset[str]] = frozenset(
    str(m.model_fields["kind"].default)
    for m in (
        Wakeup,
        MergeRequest,
        MergeState,
        FanoutSubscribe,
        FanoutPublish,
        EraseLinked,
        EraseSubscriptions,
    )
)
"""The ``kind`` values of internal messages (a touchpoint has no ``kind``)."""

_ADAPTER: TypeAdapter[InternalMessage] = TypeAdapter(InternalMessage)


def parse_internal(obj: object) -> InternalMessage:
    """The internal message in ``obj`` (a decoded JSON object); raises on anything else."""
    return _ADAPTER.validate_python(obj)
