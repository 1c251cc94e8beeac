"""Messages between customers: anonymous -> identified merges and voice-of-the-customer fan-out.

Both run inside the journey agent (the only table writer) through the internal wakeups
topic, keyed by whatever key owns the state to touch, so every table write stays in the
partition of the message being processed:

* merge: an event carrying both a customer and an anonymous id sends a
  ``MergeRequest`` keyed by the anonymous id; its handler forwards the anonymous states
  as a ``MergeState`` keyed by the customer id and deletes them; the customer side calls
  ``journeys.merge``.
* fan-out: ``journeys.fanout_keys`` tells which index key an event subscribes the
  customer to (``FanoutSubscribe``, keyed by the index key, kept in the ``fanout-index``
  table) or publishes to (``FanoutPublish``): one derived event per subscriber
  (``journeys.fanout.fanout_event``, deterministic id) goes to the keyed topic.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from journeys import driver
from journeys.fanout import FanoutAction, fanout_event, fanout_keys
from journeys.state import load_state
from schemas.events import TouchpointEvent
from schemas.internal import FanoutPublish, FanoutSubscribe, MergeRequest, MergeState

if TYPE_CHECKING:
    from streams.app import Runtime

log = logging.getLogger(__name__)


async def after_event(rt: Runtime, key: str, event: TouchpointEvent) -> None:
    """Send the merge request and fan-out messages that ``event`` calls for."""
    anonymous = driver.link_of(event)
    if anonymous is not None and event.customer_id is not None:
        request = MergeRequest(
            anonymous_id=anonymous,
            customer_id=event.customer_id,
            event_id=event.event_id,
        )
        await rt.wakeups.send(key=request.anonymous_id, value=request)
    for definition in rt.definitions:
        for action in fanout_keys(definition, event):
            index_key = f"{action.index}:{action.key}"
            if action.action == "subscribe" and action.customer_id is not None:
                sub = FanoutSubscribe(index_key=index_key, customer_id=action.customer_id)
                await rt.wakeups.send(key=index_key, value=sub)
            elif action.action == "publish":
                publish = FanoutPublish(
                    index_key=index_key, event=event, action=action.model_dump(mode="json")
                )
                await rt.wakeups.send(key=index_key, value=publish)


async def on_merge_request(rt: Runtime, key: str, request: MergeRequest) -> None:
    """Anonymous side: hand the states over to the customer key and forget them."""
    from streams.journey_agent import forget, read

    record, _ = read(rt, key)
    if not record:
        return
    state = MergeState(
        anonymous_id=key,
        customer_id=request.customer_id,
        event_id=request.event_id,
        states=record,
    )
    await rt.wakeups.send(key=request.customer_id, value=state)
    forget(rt, key, record)
    rt.timers.schedule(-1, key, None)


async def on_merge_state(rt: Runtime, key: str, partition: int, merge: MergeState) -> None:
    """Customer side: fold the anonymous states into the customer's (``driver.absorb``)."""
    from streams.journey_agent import read, write

    record, states = read(rt, key)
    names = {d.name for d in rt.definitions}
    others = {n: load_state(obj) for n, obj in merge.states.items() if n in names}
    merged = driver.absorb(rt.definitions, key, states, others)
    changed = [n for n, state in merged.items() if state is not states.get(n)]
    write(rt, key, record, merged, changed)
    rt.timers.schedule(partition, key, driver.due(merged))


def on_fanout_subscribe(rt: Runtime, key: str, sub: FanoutSubscribe) -> None:
    subscribers: list[str] = list(rt.fanout_index.get(key) or [])
    if sub.customer_id not in subscribers:
        rt.fanout_index[key] = sorted([*subscribers, sub.customer_id])


async def on_fanout_publish(rt: Runtime, key: str, publish: FanoutPublish) -> None:
    """One derived event per subscriber of ``key``, to the keyed topic."""
    subscribers: list[str] = list(rt.fanout_index.get(key) or [])
    action = FanoutAction.model_validate(publish.action)
    for customer in subscribers:
        derived = fanout_event(action, publish.event, customer)
        await rt.keyed.send(key=customer, value=derived)
    if subscribers and action.clear:
        del rt.fanout_index[key]
    log.debug("fan-out %s: %d derived events", key, len(subscribers))
