"""What one input message of the journey agent asks for, decided without faust.

The journey agent reads three topics, all as raw bytes:

* the **touchpoints** topic, written by sources (canonical or Segment JSON, any key).
  Its key contract: the message key is the customer id, else the anonymous id (what
  Segment's and RudderStack's Kafka destinations do, and every producer of ours). The
  topic is co-partitioned with the state table, so a well-keyed touchpoint is processed
  where it is read, in one pass. A touchpoint whose identity is not its message key (no
  key, another key, a Segment batch of several customers) is sent through the keyed
  topic to the partition that owns it: one more hop, counted by
  ``journeys_touchpoints_rekeyed_total``.
* the **keyed** topic: canonical events keyed by their identity (re-keyed touchpoints,
  fan-out derived events);
* the **wakeups** topic: internal messages (:mod:`schemas.internal`), told apart from
  canonical events by their ``kind`` (and erasure requests re-keyed to their id);
* the **erasures** topic: erasure requests (:mod:`schemas.erasure`), keyed by the id to
  erase.

Only the touchpoints topic is outside input: an internal ``kind`` is trusted from the
other two only, never from a source. Anything the contracts reject comes back as a
rejection, for the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas import codec
from schemas.deadletters import Rejection, RejectReason, bounded
from schemas.decode import DEFAULT_MAX_FUTURE_SKEW, decode_touchpoints
from schemas.erasure import ERASURE_REQUEST_KIND, ErasureRequest
from schemas.events import TouchpointEvent
from schemas.internal import INTERNAL_KINDS, InternalMessage, parse_internal
from streams.kafka.keys import key_text


@dataclass(slots=True)
class Intake:
    """One message, sorted: events to process here, events to re-key, an internal message,
    an erasure request, rejections (each goes to the dead-letter topic)."""

    here: list[TouchpointEvent] = field(default_factory=list)
    rekey: list[TouchpointEvent] = field(default_factory=list)
    internal: InternalMessage | None = None
    rejections: list[Rejection] = field(default_factory=list)
    erasure: ErasureRequest | None = None


def from_source(
    key: bytes | str | None,
    raw: bytes,
    received_at: datetime,
    max_future_skew: timedelta | None = DEFAULT_MAX_FUTURE_SKEW,
) -> Intake:
    """A message of the touchpoints topic: decoded by the contracts (an event later than
    ``received_at`` plus ``max_future_skew`` is a rejection), sorted by key."""
    decoded = decode_touchpoints(raw, received_at=received_at, max_future_skew=max_future_skew)
    out = Intake(rejections=list(decoded.rejections))
    mine = key_text(key)
    for event in decoded.events:
        (out.here if event.key == mine else out.rekey).append(event)
    return out


def from_internal(key: bytes | str | None, raw: bytes) -> Intake:
    """A message of the keyed or wakeups topic: an internal message or a canonical event."""
    try:
        if key_text(key) is None:
            raise ValueError("message without a key")
        obj: Any = codec.loads(raw)
        if isinstance(obj, dict) and obj.get("kind") in INTERNAL_KINDS:
            return Intake(internal=parse_internal(obj))
        if isinstance(obj, dict) and obj.get("kind") == ERASURE_REQUEST_KIND:
            return Intake(erasure=ErasureRequest.model_validate(obj))
        return Intake(here=[TouchpointEvent.model_validate(obj)])
    except (ValueError, ValidationError) as exc:  # orjson errors are ValueErrors
        return _violation(exc)


def from_erasures(key: bytes | str | None, raw: bytes) -> Intake:
    """A message of the erasures topic: an erasure request, else a rejection."""
    try:
        if key_text(key) is None:
            raise ValueError("message without a key (the id to erase)")
        return Intake(erasure=ErasureRequest.model_validate(codec.loads(raw)))
    except (ValueError, ValidationError) as exc:  # orjson errors are ValueErrors
        return _violation(exc)


def _violation(exc: Exception) -> Intake:
    """A message the contracts refuse: one rejection, its message bounded."""
    return Intake(rejections=[Rejection(RejectReason.SCHEMA_VIOLATION, bounded(f"$: {exc}"))])
