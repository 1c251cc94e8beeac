"""Fan-out (voice of the customer): one event reaching many customers.

The engine only declares it; the stream layer keeps the index. For each event,
:func:`fanout_keys` says whether it subscribes its customer to an index key (a feature
request subscribes the requester to the feature id) or publishes to one (a feature
release). On ``publish`` the stream layer looks up the key's subscribers and feeds each
one :func:`fanout_event` (a derived event of type ``as``), which the journey's rules
handle like any other event; with ``clear`` it then drops the key from the index.
Derived event ids are deterministic, so a redelivered release is a duplicate per customer.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from journeys.compiled import resolve
from journeys.definition import Journey
from journeys.predicates import lookup, matches_any
from schemas import TouchpointEvent


class FanoutAction(BaseModel):
    """Subscribe ``customer_id`` to ``index[key]``, or publish ``derived_type`` to it."""

    model_config = ConfigDict(frozen=True)

    action: Literal["subscribe", "publish"]
    index: str
    key: str
    customer_id: str | None = None
    derived_type: str | None = None
    clear: bool = False


def fanout_keys(definition: Journey, event: TouchpointEvent) -> list[FanoutAction]:
    """The index operations this event asks for, in definition order."""
    actions: list[FanoutAction] = []
    for spec in definition.fanout:
        sub = spec.subscribe
        key = _key(event, sub.key)
        if key is not None and matches_any(resolve(definition, sub.event), event):
            actions.append(
                FanoutAction(action="subscribe", index=spec.index, key=key, customer_id=event.key)
            )
        pub = spec.publish
        key = _key(event, pub.key)
        if key is not None and matches_any(resolve(definition, pub.event), event):
            actions.append(
                FanoutAction(
                    action="publish",
                    index=spec.index,
                    key=key,
                    derived_type=pub.as_,
                    clear=pub.clear,
                )
            )
    return actions


def fanout_event(
    action: FanoutAction, source: TouchpointEvent, customer_id: str
) -> TouchpointEvent:
    """The event one subscriber gets for a ``publish`` action (deterministic id)."""
    if action.action != "publish" or action.derived_type is None:
        raise ValueError("only a publish action derives events")
    event_id = f"{source.event_id}/{action.index}/{customer_id}"
    if len(event_id) > 200:
        event_id = "fanout-" + hashlib.sha256(event_id.encode()).hexdigest()
    return TouchpointEvent(
        event_id=event_id,
        customer_id=customer_id,
        type=action.derived_type,
        event_time=source.event_time,
        received_at=source.received_at,
        source=source.source,
        channel=source.channel,
        properties={
            **source.properties,
            "fanout_index": action.index,
            "fanout_key": action.key,
            "source_event_id": source.event_id,
        },
    )


def _key(event: TouchpointEvent, path: str) -> str | None:
    value = lookup(event.properties, path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)
