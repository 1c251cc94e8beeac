"""Internal messages between the worker's own agents (never read by other systems).

They travel on the internal ``wakeups`` topic, keyed by the customer (or anonymous, or
fan-out index) key that the journey agent owns, so that every table write happens in
the partition of the message being processed. ``kind`` tells them apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.events import TouchpointEvent, UtcDatetime

INTERNAL_SCHEMA_VERSION: Final = 1

__all__ = [
    "INTERNAL_KINDS",
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
    """Keyed by the anonymous id: hand the anonymous state over to ``customer_id``."""

    kind: Literal["merge_request"] = "merge_request"
    anonymous_id: str
    customer_id: str
    event_id: str


class MergeState(_Internal):
    """Keyed by the customer id: the anonymous states (journey -> CustomerState JSON)."""

    kind: Literal["merge_state"] = "merge_state"
    anonymous_id: str
    customer_id: str
    event_id: str
    states: dict[str, dict[str, Any]] = Field(default_factory=dict)


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


InternalMessage = Annotated[
    Wakeup | MergeRequest | MergeState | FanoutSubscribe | FanoutPublish,
    Field(discriminator="kind"),
]

INTERNAL_KINDS: Final[frozenset[str]] = frozenset(
    str(m.model_fields["kind"].default)
    for m in (Wakeup, MergeRequest, MergeState, FanoutSubscribe, FanoutPublish)
)
"""The ``kind`` values of internal messages (a touchpoint has no ``kind``)."""

_ADAPTER: TypeAdapter[InternalMessage] = TypeAdapter(InternalMessage)


def parse_internal(obj: object) -> InternalMessage:
    """The internal message in ``obj`` (a decoded JSON object); raises on anything else."""
    return _ADAPTER.validate_python(obj)
