"""Messages between customers: identity links and merges, voice-of-the-customer fan-out.

Both run inside the journey agent (the only table writer) through the internal wakeups
topic, keyed by whatever key owns the state to touch, so every table write stays in the
partition of the message being processed:

* identity: a processed event that links a key to its customer (``driver.link_of``: an
  event carrying both a customer and an anonymous id, an ``identify``, an ``alias``
  whose ``previousId`` is another user id) sends a ``MergeRequest`` keyed by the linked
  key. There (:func:`on_merge_request`), the key's own timers due by the linking
  event's time fire first (as its own), then it is **linked**: the link is kept in the
  ``links`` table (:class:`~streams.worker.link_store.LinkStore`), the key's states are
  handed over in a ``MergeState`` keyed by the customer and deleted.
  From then on an event read for the key (:func:`forward`: anonymous events after an
  identify, server-side tracking, a fan-out event derived for the anonymous key) is
  re-keyed to the customer through the keyed topic (``driver.forwarded``), like a
  touchpoint keyed otherwise. A key is linked once: a repeated request is a no-op, a
  request to another customer is ignored (the first link wins, as in replay).
  The customer side (:func:`on_merge_state`) merges the states as an engine step
  (``driver.on_merge``: thresholds crossed by the merge fire) and remembers the linked
  key (and the keys linked into that one before, ``MergeState.linked``) as merged into
  it, so that an erasure of the customer reaches them (:mod:`streams.worker.erasure`).
  Chains: a customer key that is itself linked (a user id aliased to another) passes
  states and events on along its own link, hop by hop, to the final customer. Loops
  (two keys linked to each other by racing contradictory aliases; replay never makes
  one, as it links at once) are cut where the states come back: the smallest key of the
  loop drops its link and keeps them, so everything ends at one key.
* fan-out: ``journeys.fanout_keys`` tells which index key an event subscribes the
  customer to (``FanoutSubscribe``, with the subscribing event's time) or publishes to
  (``FanoutPublish``), both keyed by the index key. Their handler applies
  ``journeys.fanout.subscribe``/``publish`` to the key's ``FanoutIndex`` (the
  ``fanout-index`` table, :class:`~streams.worker.fanout_store.FanoutStore`) and sends
  the derived events they return (deterministic ids) to the keyed topic. Who gets a
  publication is decided in event time (subscribed at or before it), whatever order the
  two messages arrive in from their partitions: see :mod:`journeys.fanout`. The sends
  happen while the wakeups message is processed, so they join its partition's
  transaction with the index write (streams/worker/eos/DESIGN.md).
  A subscription made by a key since linked follows the link when it is served: the
  event derived for the linked key is forwarded as the one derived for the customer.

The ``links`` table is written while a message keyed by the linked key (or the
customer, for the reverse entry) is processed, so in its partition, with its changelog
in that message's transaction; a link is read only for keys that have no state (a key
that has states is not linked), so a known customer's event costs no lookup.
"""

from __future__ import annotations

import logging

from journeys import fanout
from journeys.driver import Driven
from journeys.fanout import FanoutAction, FanoutIndex, fanout_keys
from journeys.state import load_state
from schemas.events import TouchpointEvent
from schemas.internal import FanoutPublish, FanoutSubscribe, MergeRequest, MergeState
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)


def linked_to(rt: Runtime, key: str) -> str | None:
    """The customer ``key`` is linked to (one hop), or None."""
    return rt.links.linked_to(key)


async def forward(rt: Runtime, key: str, event: TouchpointEvent) -> bool:
    """Re-key ``event`` (read for ``key``, which has no state) to the customer ``key`` is
    linked to, through the keyed topic; False when ``key`` is not linked."""
    target = linked_to(rt, key)
    if target is None:
        return False
    await rt.out.keyed.send(key=target, value=rt.engine.forwarded(event, target))
    rt.metrics.rekeyed_touchpoint()
    return True


async def after_event(rt: Runtime, key: str, event: TouchpointEvent) -> None:
    """Send the merge request and fan-out messages that ``event`` calls for."""
    anonymous = rt.engine.link_of(event)
    if anonymous is not None and event.customer_id is not None:
        request = MergeRequest(
            anonymous_id=anonymous,
            customer_id=event.customer_id,
            event_id=event.event_id,
            at=event.event_time,
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
    """Linked-key side: link ``key`` to the customer, hand its states over, forget them.

    Call after the key's timers due by ``request.at`` fired (the journey agent does)."""
    if request.customer_id == key:
        return
    current = linked_to(rt, key)
    if current is not None:
        if current != request.customer_id:
            log.info("%s is linked to %s: link to %s ignored", key, current, request.customer_id)
        return
    rt.links.link(key, request.customer_id, request.event_id, request.at)
    record = rt.customers.record(key)
    if record:
        rt.customers.forget(key)
        rt.due_index.schedule(-1, key, None)
    state = MergeState(
        anonymous_id=key,
        customer_id=request.customer_id,
        event_id=request.event_id,
        states=record,
        at=request.at,
        via=[key],
        linked=rt.links.merged(key),
    )
    await rt.out.wakeups.send(key=request.customer_id, value=state)


async def on_merge_state(rt: Runtime, key: str, merge: MergeState) -> Driven | None:
    """Customer side: the merge step (``driver.on_merge``) to apply, or None when there
    is nothing to merge here (no states, or ``key`` passed them on along its link)."""
    states = rt.customers.states(key)
    if not states and await _passed_on(rt, key, merge):
        return None
    rt.links.add_merged(key, [merge.anonymous_id, *merge.linked])
    names = {d.name for d in rt.definitions}
    others = {n: load_state(obj) for n, obj in merge.states.items() if n in names}
    if not others:
        return None
    at = merge.at if merge.at is not None else max(s.clock for s in others.values())
    return rt.engine.on_merge(rt.definitions, key, states, others, at, merge.event_id)


async def _passed_on(rt: Runtime, key: str, merge: MergeState) -> bool:
    """Send ``merge`` on along ``key``'s link (a chain), or cut a loop: the smallest key
    of the loop drops its link and keeps the states (False: merge them here)."""
    target = linked_to(rt, key)
    if target is None:
        return False
    passed = [*merge.via, key]
    if target in passed:  # a loop: every key from the target on links to the next
        keeper = min(passed[passed.index(target) :])
        if keeper == key:
            log.warning("link loop %s cut at %s", " -> ".join(passed), key)
            rt.links.unlink(key)
            return False
        target = keeper
    update = {"customer_id": target, "via": passed}
    await rt.out.wakeups.send(key=target, value=merge.model_copy(update=update))
    return True


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
    return rt.fanout.get(key)


async def _apply(rt: Runtime, key: str, index: FanoutIndex, derived: list[TouchpointEvent]) -> None:
    """Send the derived events to their customers, then write the index (one transaction)."""
    for event in derived:
        await rt.out.keyed.send(key=event.key, value=event)
    rt.fanout.put(key, index)
    if derived:
        log.debug("fan-out %s: %d derived events", key, len(derived))
