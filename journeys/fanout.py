"""Fan-out (voice of the customer): one event reaching many customers, in event time.

The engine declares it; the stream layer stores the index. For each event,
:func:`fanout_keys` says whether it subscribes its customer to an index key (a feature
request subscribes the requester to the feature id) or publishes to one (a feature
release). A publication reaches a customer as :func:`fanout_event` (a derived event of
type ``as``, deterministic id), which the journey's rules handle like any other event.

Who gets a publication is decided in **event time**, not in the order the stream layer
happens to see subscriptions and publications (they come from different partitions):
a subscriber gets a publication at time T when it subscribed at t <= T ("you asked, we
built it" goes to those who asked before the release). One :class:`FanoutIndex` per
index key, changed only by the pure :func:`subscribe` and :func:`publish` (the worker
and replay both call them), keeps the waiting subscribers with their earliest
subscription time and the last :data:`PUBLICATIONS_KEPT` publications, so that a
subscription indexed after a publication it predates is served on arrival. For one
subscription and one publication, both processing orders derive the same event (same
id); if both ever did, the engine would drop the second as a duplicate.

``clear`` (the default): a subscriber is served once, by the first publication at or
after its subscription; it then leaves the waiting list and is remembered as served (with
that publication's time), so a repeated request made before it is not served twice, and
a request made after it waits for the next publication. The publications stay (the last
:data:`PUBLICATIONS_KEPT` per key) for subscriptions indexed late. Without ``clear`` a
subscriber stays and gets every publication at or after its subscription. Either way no
(publication, customer) pair is ever derived twice, which matters because a derived event
is usually older than its customer's watermark by the time it arrives (see
``journeys.driver``: derived events are exempt from ``allowed_lateness``, so the engine's
duplicate-id window, bounded by that lateness, cannot be relied on for them).

Limits: a subscription indexed after more than :data:`PUBLICATIONS_KEPT` later
publications of its key misses the oldest of them. With ``clear`` and several
publications of one key processed out of event-time order, a subscription indexed between
them is served by the earliest one known then. What stays in the index for future
publications (not what is derived) can depend on order when one customer subscribes to a
key both before and after a publication.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from journeys.compiled import resolve
from journeys.definition import Journey
from journeys.predicates import lookup, matches_any
from schemas import TouchpointEvent
from schemas.events import UtcDatetime

PUBLICATIONS_KEPT: Final = 16  # per index key: the latest, by event time
INDEX_SCHEMA_VERSION: Final = 2
# the time of a subscription that came without one (first version): before everything
LEGACY_SINCE: Final = datetime(1970, 1, 1, tzinfo=UTC)


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
    return TouchpointEvent(
        event_id=derived_id(source.event_id, action.index, customer_id),
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


def derived_id(source_event_id: str, index: str, customer_id: str) -> str:
    """The id of the event a publication derives for one customer (deterministic)."""
    event_id = f"{source_event_id}/{index}/{customer_id}"
    if len(event_id) > 200:
        event_id = "fanout-" + hashlib.sha256(event_id.encode()).hexdigest()
    return event_id


def for_customer(event: TouchpointEvent, customer_id: str) -> TouchpointEvent | None:
    """``event``, derived by a publication for another customer, as it would have been
    derived for ``customer_id`` (same publication, that customer's id), or None when
    ``event`` is not a derived event of its own key.

    A subscription indexed under an anonymous key reaches the customer it was linked to
    this way (``journeys.driver.forwarded``): as the very event the publication derives
    for that customer, so a person who asked both anonymously and identified is served
    once (the second is a duplicate id)."""
    props = event.properties
    source, index = props.get("source_event_id"), props.get("fanout_index")
    if not isinstance(source, str) or not isinstance(index, str):
        return None
    if event.event_id != derived_id(source, index, event.key):
        return None
    return event.model_copy(
        update={"event_id": derived_id(source, index, customer_id), "customer_id": customer_id}
    )


def is_derived(definition: Journey, event: TouchpointEvent) -> bool:
    """Whether ``event`` is an event one of ``definition``'s publications derived."""
    index = event.properties.get("fanout_index")
    if index is None:
        return False
    return any(s.index == index and s.publish.as_ == event.type for s in definition.fanout)


def _key(event: TouchpointEvent, path: str) -> str | None:
    value = lookup(event.properties, path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


class Publication(BaseModel):
    """A publishing event and the engine's action for it, as kept in the index."""

    model_config = ConfigDict(frozen=True)

    event: TouchpointEvent
    action: FanoutAction


class FanoutIndex(BaseModel):
    """One index key: waiting subscribers (earliest subscription time) and publications.

    ``publications`` are sorted by (event time, event id); at most
    :data:`PUBLICATIONS_KEPT`, the oldest dropped first.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[2] = INDEX_SCHEMA_VERSION
    subscribers: dict[str, UtcDatetime] = Field(
        default_factory=dict, description="Waiting: customer -> earliest subscription time"
    )
    served: dict[str, UtcDatetime] = Field(
        default_factory=dict,
        description="With clear: customer -> time of the publication that served it",
    )
    publications: list[Publication] = Field(default_factory=list)


def load_index(obj: Any) -> FanoutIndex:
    """The index stored as ``obj`` (JSON), or empty for None.

    A list of customer ids (the first version, no times) reads as subscribers since the
    epoch: they get any publication, as they did then.
    """
    if obj is None:
        return FanoutIndex()
    if isinstance(obj, list):
        return FanoutIndex(subscribers=dict.fromkeys(map(str, obj), LEGACY_SINCE))
    return FanoutIndex.model_validate(obj)


def publish(
    index: FanoutIndex, action: FanoutAction, event: TouchpointEvent
) -> tuple[FanoutIndex, list[TouchpointEvent]]:
    """``event`` publishes to this key: derive for every subscriber since at or before it.

    The publication is kept for subscriptions indexed later. A publication already kept
    (same event id) derives nothing again.
    """
    if action.action != "publish":
        raise ValueError("not a publish action")
    if any(p.event.event_id == event.event_id for p in index.publications):
        return index, []
    at = event.event_time
    served = sorted(c for c, since in index.subscribers.items() if since <= at)
    derived = [fanout_event(action, event, customer) for customer in served]
    subscribers, done = index.subscribers, index.served
    if action.clear and served:
        subscribers = {c: t for c, t in subscribers.items() if t > at}
        done = {**done, **dict.fromkeys(served, at)}
    kept = sorted([*index.publications, Publication(event=event, action=action)], key=_order)
    updated = FanoutIndex(
        subscribers=subscribers, served=done, publications=kept[-PUBLICATIONS_KEPT:]
    )
    return updated, derived


def subscribe(
    index: FanoutIndex, customer_id: str, at: datetime
) -> tuple[FanoutIndex, list[TouchpointEvent]]:
    """``customer_id`` subscribes at ``at``: derive the kept publications it predates.

    Publications at or after ``at`` not yet derived for the customer (those before its
    earlier subscription, if it is already waiting) are derived now, in event-time order;
    one with ``clear`` serves the customer, who then does not wait for more. A customer
    already served by a publication at or after ``at`` gets nothing again.
    """
    served_at = index.served.get(customer_id)
    if served_at is not None and at <= served_at:
        return index, []
    waiting = index.subscribers.get(customer_id)
    derived: list[TouchpointEvent] = []
    served: datetime | None = None
    for publication in index.publications:
        moment = publication.event.event_time
        if moment < at:
            continue
        if waiting is not None and moment >= waiting:
            break  # derived when it was published, or at the earlier subscription
        derived.append(fanout_event(publication.action, publication.event, customer_id))
        if publication.action.clear:
            served = moment
            break
    subscribers, done = dict(index.subscribers), index.served
    if served is not None:
        subscribers.pop(customer_id, None)
        done = {**done, customer_id: served}
    else:
        subscribers[customer_id] = at if waiting is None else min(waiting, at)
    if subscribers == index.subscribers and done is index.served:
        return index, derived
    return index.model_copy(update={"subscribers": subscribers, "served": done}), derived


def derive(
    indexes: MutableMapping[str, FanoutIndex],
    definitions: Sequence[Journey],
    event: TouchpointEvent,
) -> Iterator[TouchpointEvent]:
    """Apply ``event``'s subscriptions and publications to ``indexes`` (keyed
    ``index:key``), in definition order, and yield each event they derive. A generator:
    the caller steps a derived event before the next action reads its index, as the
    replayer does (and the golden harness pins)."""
    for definition in definitions:
        for action in fanout_keys(definition, event):
            index_key = f"{action.index}:{action.key}"
            index = indexes.get(index_key) or FanoutIndex()
            if action.action == "publish":
                index, derived = publish(index, action, event)
            elif action.customer_id is not None:
                index, derived = subscribe(index, action.customer_id, event.event_time)
            else:
                continue
            indexes[index_key] = index
            yield from derived


def _order(publication: Publication) -> tuple[datetime, str]:
    return publication.event.event_time, publication.event.event_id


def forget(index: FanoutIndex, keys: set[str]) -> tuple[FanoutIndex, int]:
    """``index`` without ``keys`` (an erasure): not waiting, not served, and none of their
    publications kept; returns it with the number of entries removed (the same index
    object when none)."""
    subscribers = {c: t for c, t in index.subscribers.items() if c not in keys}
    served = {c: t for c, t in index.served.items() if c not in keys}
    publications = [p for p in index.publications if p.event.key not in keys]
    removed = (
        len(index.subscribers) - len(subscribers)
        + len(index.served) - len(served)
        + len(index.publications) - len(publications)
    )  # fmt: skip
    if not removed:
        return index, 0
    update = {"subscribers": subscribers, "served": served, "publications": publications}
    return index.model_copy(update=update), removed
