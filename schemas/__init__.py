"""Message contracts: touchpoint events in, triggers and dead letters out.

Consumers import from here only; the names below are the supported surface. Internal
messages between the worker's agents live in ``schemas.internal`` (not part of it).
"""

from schemas.codec import dumps, loads
from schemas.deadletters import DeadLetter, Rejection, RejectReason, dead_letter
from schemas.decode import Decoded, decode_touchpoints
from schemas.events import (
    EVENT_SCHEMA_VERSION,
    MAX_EVENT_BYTES,
    MAX_MESSAGE_BYTES,
    EventContext,
    TouchpointEvent,
    UtcDatetime,
    normalise_event_type,
)
from schemas.money import money_minor
from schemas.segment import SegmentBatch, SegmentMessage
from schemas.triggers import TRIGGER_SCHEMA_VERSION, Cause, Priority, Trigger, trigger_id

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "MAX_EVENT_BYTES",
    "MAX_MESSAGE_BYTES",
    "TRIGGER_SCHEMA_VERSION",
    "Cause",
    "DeadLetter",
    "Decoded",
    "EventContext",
    "Priority",
    "RejectReason",
    "Rejection",
    "SegmentBatch",
    "SegmentMessage",
    "TouchpointEvent",
    "Trigger",
    "UtcDatetime",
    "dead_letter",
    "decode_touchpoints",
    "dumps",
    "loads",
    "money_minor",
    "normalise_event_type",
    "trigger_id",
]
