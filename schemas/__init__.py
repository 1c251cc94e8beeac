"""Message contracts: touchpoint events in, triggers and dead letters out."""

from schemas.events import EventContext, TouchpointEvent, normalise_event_type
from schemas.triggers import Cause, Priority, Trigger, trigger_id

__all__ = [
    "Cause",
    "EventContext",
    "Priority",
    "TouchpointEvent",
    "Trigger",
    "normalise_event_type",
    "trigger_id",
]
