"""Messages between customers: anonymous -> identified merges and voice-of-the-customer fan-out.

Both run inside the journey agent (the only table writer) through the internal wakeups
topic, keyed by whatever key owns the state to touch, so every table write stays in the
partition of the message being processed:

* merge: an event carrying both a customer and an anonymous id sends a
  ``MergeRequest`` keyed by the anonymous id; its handler forwards the anonymous states
  as a ``MergeState`` keyed by the customer id and deletes them; the customer side calls
  ``journeys.merge``.
* fan-out: ``journeys.fanout_keys`` tells which index key an event subscribes the
  customer to (``FanoutSubscribe``, with the subscribing event's time) or publishes to
  (``FanoutPublish``), both keyed by the index key. Their handler applies
  ``journeys.fanout.subscribe``/``publish`` to the key's ``FanoutIndex`` (the
  ``fanout-index`` table) and sends the derived events they return (deterministic ids)
  to the keyed topic. Who gets a publication is decided in event time (subscribed at or
  before it), whatever order the two messages arrive in from their partitions: see
  :mod:`journeys.fanout`. The sends happen while the wakeups message is processed, so
  they join its partition's transaction with the index write (streams/worker/eos/DESIGN.md).
"""

from __future__ import annotations

import logging

from journeys import fanout
from journeys.fanout import FanoutAction, FanoutIndex, fanout_keys
from journeys.state import load_state
from schemas.events import TouchpointEvent
from schemas.internal import FanoutPublish, FanoutSubscribe, MergeRequest, MergeState
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)


async def after_event(rt: Runtime, key: str, event: TouchpointEvent) -> None:
    """Send the merge request and fan-out messages that ``event`` calls for."""
    anonymous = rt.engine.link_of(event)
    if anonymous is not None and event.customer_id is not None:
        request = MergeRequest(
            anonymous_id=anonymous,
            customer_id=event.customer_id,
            event_id=event.event_id,
        )
        await rt.out.wakeups.send(key=request.anonymous_id, value=request)
    for definition in rt.definitions:
        for action in fanout_keys(definition, event):
            index_key = f"{action.index}:{action.key}"
            if action.action == "subscribe" and action.customer_id is not None:
                sub = FanoutSubscribe(
                    index_key=index_key, customer_id=action.customer_id, at=event.event_time
                )
                await rt.out.wakeups.send(key=index_key, value=sub)
            elif action.action == "publish":
                publish = FanoutPublish(
                    index_key=index_key, event=event, action=action.model_dump(mode="json")
                )
                await rt.out.wakeups.send(key=index_key, value=publish)


async def on_merge_request(rt: Runtime, key: str, request: MergeRequest) -> None:
    """Anonymous side: hand the states over to the customer key and forget them."""
    record = rt.customers.record(key)
    if not record:
        return
    state = MergeState(
        anonymous_id=key,
        customer_id=request.customer_id,
        event_id=request.event_id,
        states=record,
    )
    await rt.out.wakeups.send(key=request.customer_id, value=state)
    rt.customers.forget(key)
    rt.timers.schedule(-1, key, None)


async def on_merge_state(rt: Runtime, key: str, partition: int, merge: MergeState) -> None:
    """Customer side: fold the anonymous states into the customer's (``driver.absorb``)."""
    states = rt.customers.states(key)
    names = {d.name for d in rt.definitions}
    others = {n: load_state(obj) for n, obj in merge.states.items() if n in names}
    merged = rt.engine.absorb(rt.definitions, key, states, others)
    changed = [n for n, state in merged.items() if state is not states.get(n)]
    rt.customers.write(key, merged, changed)
    rt.timers.schedule(partition, key, rt.engine.due(merged))


async def on_fanout_subscribe(rt: Runtime, key: str, sub: FanoutSubscribe) -> None:
    """Record the subscription; derive the kept publications it predates (event time)."""
    at = fanout.LEGACY_SINCE if sub.at is None else sub.at
    index, derived = fanout.subscribe(_index(rt, key), sub.customer_id, at)
    await _apply(rt, key, index, derived)


async def on_fanout_publish(rt: Runtime, key: str, publish: FanoutPublish) -> None:
    """Record the publication; derive it for every subscriber since at or before it."""
    action = FanoutAction.model_validate(publish.action)
    index, derived = fanout.publish(_index(rt, key), action, publish.event)
    await _apply(rt, key, index, derived)


def _index(rt: Runtime, key: str) -> FanoutIndex:
    return fanout.load_index(rt.fanout_index.get(key))


async def _apply(rt: Runtime, key: str, index: FanoutIndex, derived: list[TouchpointEvent]) -> None:
    """Send the derived events to their customers, then write the index (one transaction)."""
    for event in derived:
        await rt.out.keyed.send(key=event.key, value=event)
    rt.fanout_index[key] = index.model_dump(mode="json")
    if derived:
        log.debug("fan-out %s: %d derived events", key, len(derived))
