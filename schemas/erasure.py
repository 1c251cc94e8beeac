"""Erasure (right to be forgotten): the request, and the confirmation the worker emits.

An :class:`ErasureRequest` on the erasures topic, keyed by the customer id, asks the
worker to erase everything it keeps about that id: its journey states, the keys linked
to it (anonymous ids, aliased user ids) and theirs, its fan-out subscriptions and its
pending timer. The worker that owns the customer's partition does it in that partition's
transaction and emits one :class:`ErasureConfirmation` to the audit topic in the same
transaction: which request, when, and *what* was erased (journey names, the linked ids,
whether a timer and subscriptions were cleared), never the erased data itself.

``kind`` tells a request apart from a touchpoint in a file of JSON Lines (``journeys
replay --file``: a line that is a request erases there, as the worker would).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import UtcDatetime

ERASURE_SCHEMA_VERSION: Final = 1
ERASURE_REQUEST_KIND: Final = "erasure_request"
MAX_REASON_CHARS: Final = 500

__all__ = [
    "ERASURE_REQUEST_KIND",
    "ERASURE_SCHEMA_VERSION",
    "ErasureConfirmation",
    "ErasureRequest",
    "suppression_end",
]


class ErasureRequest(BaseModel):
    """Erase ``customer_id`` (keyed by it on the erasures topic)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = ERASURE_SCHEMA_VERSION
    kind: Literal["erasure_request"] = "erasure_request"
    request_id: str = Field(
        min_length=1, max_length=200, description="Unique per request; the confirmation's id"
    )
    customer_id: str = Field(
        min_length=1,
        max_length=200,
        description="The id to erase: a customer id, or any key the worker keeps (an "
        "anonymous id); its linked keys are erased with it",
    )
    reason: str | None = Field(
        default=None,
        max_length=MAX_REASON_CHARS,
        description="Why, for the audit (a ticket number, 'GDPR art. 17'); never personal data",
    )
    requested_at: UtcDatetime = Field(description="When the request was made")


class ErasureConfirmation(BaseModel):
    """What one request erased, keyed by the customer id on the audit topic.

    Emitted once per request, in the transaction that erased the customer's own state and
    sent what erases the rest (the linked keys' state and links, the fan-out
    subscriptions, on their own partitions): those follow within the worker's lag."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = ERASURE_SCHEMA_VERSION
    kind: Literal["erasure_confirmation"] = "erasure_confirmation"
    request_id: str
    customer_id: str
    reason: str | None = None
    requested_at: UtcDatetime
    erased_at: UtcDatetime = Field(description="When the worker erased (its wall clock)")
    journeys: list[str] = Field(
        default_factory=list, description="Journeys whose state of the customer was deleted"
    )
    linked_ids: list[str] = Field(
        default_factory=list,
        description="Keys linked with the customer (anonymous ids merged into it, the id "
        "it was aliased to), erased with it: their state and their links; the keys linked "
        "with those in turn are erased as well",
    )
    timer_cleared: bool = Field(description="Whether a pending timer of the customer was cleared")
    subscriptions_cleared: bool = Field(
        description="Whether the fan-out subscriptions of the customer and its linked keys "
        "are being removed (always true: every partition's index is scrubbed)"
    )
    suppressed_until: UtcDatetime | None = Field(
        default=None,
        description="Events of these ids with an earlier event time are dropped "
        "(JOURNEYS_ERASURE_SUPPRESS_DAYS); null: later events start afresh",
    )


def suppression_end(requested_at: datetime, days: float) -> datetime | None:
    """Until when events of an id erased at ``requested_at`` are dropped (event time;
    None: not at all, later events start afresh)."""
    return requested_at + timedelta(days=days) if days > 0 else None
