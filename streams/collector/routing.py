"""Where each message goes, decided by the processor's own decoder.

Every message is decoded by :func:`schemas.decode.decode_touchpoints`, the function the
worker applies to the touchpoints topic, with the collector's receive time and the
worker's future-skew bound: what it accepts goes to the touchpoints topic, keyed by the
key contract (the customer id, else the anonymous id: ``TouchpointEvent.key``), so the
worker processes it where it reads it; what it rejects goes to the dead-letter topic as
the worker would write it (:func:`schemas.deadletters.dead_letter`, the same reason codes
and messages), keyed by the identity the message names, if any. No decoding rule lives
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson

from schemas import codec
from schemas.deadletters import dead_letter
from schemas.decode import decode_touchpoints
from schemas.envelope import identity_in

__all__ = ["Outgoing", "route"]

Role = Literal["touchpoints", "deadletters"]
_SEGMENT_IDS = ("userId", "anonymousId")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Kafka message to write: the topic's role, key and value; ``reason`` for a
    dead letter."""

    role: Role
    key: bytes | None
    value: bytes
    reason: str | None = None


def route(value: bytes, received_at: datetime, max_future_skew: timedelta) -> list[Outgoing]:
    """The record(s) for one message: itself on the touchpoints topic, or one dead letter
    per rejection."""
    decoded = decode_touchpoints(value, received_at=received_at, max_future_skew=max_future_skew)
    if not decoded.rejections:
        return [Outgoing("touchpoints", event.key.encode(), value) for event in decoded.events]
    key = _named_identity(value)
    return [
        Outgoing(
            "deadletters",
            None if key is None else key.encode(),
            codec.dumps(
                dead_letter(
                    value,
                    rejection,
                    topic=None,  # it came over HTTP, from no topic
                    partition=None,
                    offset=None,
                    key=key,
                    seen_at=received_at,
                )
            ),
            rejection.reason.value,
        )
        for rejection in decoded.rejections
    ]


def _named_identity(value: bytes) -> str | None:
    """The key a rejected message would have had: its ``userId``, else ``anonymousId``
    (the rule of :func:`schemas.envelope.identity_in`). Not ``schemas.decode.named_identity``:
    that one also reads canonical ids and names nobody in a message the decoder cannot
    parse (an integer beyond 64 bits), which the collector still keys by its ids."""
    try:
        message: Any = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return identity_in(message, _SEGMENT_IDS)
