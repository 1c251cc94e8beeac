"""Right to be forgotten: erase a customer everywhere the worker keeps them.

An ``ErasureRequest`` (the erasures topic, keyed by the id to erase, co-partitioned with
the tables) is handled by the journey agent on that id's partition, like any event, so
everything below happens in that partition's transaction with the request's offset:
after a SIGKILL it is all done once, or not at all and done again by the successor.

1. :func:`on_request`: a request keyed by another key goes to the id's partition first
   (through the wakeups topic). There :func:`erase_key` deletes the id's journey states
   (the customers table: a tombstone at the batch's flush, so compaction removes the
   values), its state cache entry, its pending timer, its identity links (the links
   table: a tombstone), and, under the suppress policy, marks it suppressed.
2. The keys linked with it (anonymous ids merged into it, the customer it was aliased
   to: ``LinkStore.neighbours``) live on other partitions: each gets an ``EraseLinked``
   message keyed by it, whose handler (:func:`on_erase_linked`) erases that key the same
   way and passes the erasure on to its own linked keys that ``via`` does not hold yet:
   the whole identity, whichever of its ids was named, since a linked key's data is part
   of its customer's state.
3. Fan-out subscriptions are kept under the index key, on any partition: every
   partition gets one ``EraseSubscriptions`` message listing the erased ids, whose
   handler (:func:`on_erase_subscriptions`) removes them from that partition's index
   entries that name them (``journeys.fanout.forget``; which entries, the store's
   reverse map says: :mod:`streams.worker.fanout_store`). Whoever first names an id
   sends its scrub.
4. One ``ErasureConfirmation`` goes to the audit topic, keyed by the id named, in the
   transaction that erased the identity's state: what was erased (journey names, linked
   ids, timer, subscriptions), never the data. That is the request's own transaction
   when the named id held the state; an anonymous or aliased id holds none (its state
   was merged into the customer it is linked to), so its ``EraseLinked`` to that
   customer carries the request (``confirm``) and the confirmation is written there,
   naming the journeys and the timer actually erased (one hop per alias of an alias).
   The messages of steps 2 and 3 are committed with it; they are processed within the
   worker's lag.

Idempotent: erasing an id that has nothing left erases nothing and confirms again.
After an erasure (``JOURNEYS_ERASURE_SUPPRESS_DAYS``): by default nothing is kept and a
later event of the id starts afresh; with a period, the id's events older than the
request plus the period are dropped (:mod:`streams.worker.suppressions`), and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from schemas.erasure import ErasureConfirmation, ErasureRequest, suppression_end
from schemas.internal import EraseLinked, EraseSubscriptions, MergeState
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Erased:
    """What :func:`erase_key` found and deleted for one key."""

    journeys: list[str] = field(default_factory=list)
    neighbours: list[str] = field(default_factory=list)  # keys linked with it, one hop
    timer: bool = False
    linked_to: str | None = None  # the customer it was linked to (where its state went)

    def holder(self, via: list[str]) -> str | None:
        """Where the identity's state is when this key had none of its own: the customer
        it was linked to (not reached yet); None when the state was here (or nowhere)."""
        if self.journeys or self.linked_to is None or self.linked_to in via:
            return None
        return self.linked_to


def erase_key(rt: Runtime, key: str, partition: int, step: EraseLinked) -> Erased:
    """Delete everything kept under ``key`` on its partition (call while a message of
    that partition is processed); suppress it until ``step.suppressed_until`` if given."""
    record = rt.customers.record(key)
    erased = Erased(
        journeys=sorted(record),
        neighbours=rt.links.neighbours(key),
        linked_to=rt.links.linked_to(key),
    )
    if record:
        erased.timer = rt.engine.due(rt.customers.states(key)) is not None
        rt.customers.forget(key)
    rt.due_index.schedule(partition, key, None)
    rt.links.forget(key)
    if step.suppressed_until is not None:
        until, request_id = step.suppressed_until, step.request_id
        rt.suppressions.mark(partition, key, until, request_id, step.requested_at)
    return erased


async def on_request(rt: Runtime, key: str, partition: int, request: ErasureRequest) -> None:
    """Erase ``request.customer_id`` (read for ``key``) and confirm it on the audit topic."""
    customer = request.customer_id
    if key != customer:  # keyed otherwise: its partition is elsewhere
        await rt.out.wakeups.send(key=customer, value=request)
        return
    until = suppression_end(request.requested_at, rt.settings.erasure_suppress_days)
    step = EraseLinked(
        key=customer,
        request_id=request.request_id,
        requested_at=request.requested_at,
        via=[customer],
        suppressed_until=until,
    )
    erased = erase_key(rt, customer, partition, step)
    holder = erased.holder(step.via)
    linked = await pass_on(rt, step, erased.neighbours, confirm_at=holder, request=request)
    await scrub(rt, request.request_id, [customer, *linked])
    rt.metrics.erased("request")
    if holder is None:
        await confirm(rt, request, erased, linked, until)


async def confirm(
    rt: Runtime,
    request: ErasureRequest,
    erased: Erased,
    linked: list[str],
    until: datetime | None,
) -> None:
    """Write the request's confirmation: what was erased where the identity's state was
    (the named key's own, or the customer's it was linked to), and the ids reached."""
    confirmation = ErasureConfirmation(
        request_id=request.request_id,
        customer_id=request.customer_id,
        reason=request.reason,
        requested_at=request.requested_at,
        erased_at=rt.wall(),
        journeys=erased.journeys,
        linked_ids=linked,
        timer_cleared=erased.timer,
        subscriptions_cleared=True,
        suppressed_until=until,
    )
    await rt.out.audit.send(key=request.customer_id, value=confirmation)
    log.info("erasure %s: %d journeys, %d linked ids", request.request_id, len(erased.journeys),
             len(linked))  # fmt: skip


async def on_erase_linked(rt: Runtime, key: str, partition: int, step: EraseLinked) -> None:
    """Erase ``key``, linked with an erased id, then pass the erasure on to the keys
    linked with it that the erasure has not reached yet. A step carrying the request to
    confirm (the named id had no state: it is here) confirms it here, unless this key had
    none either and was linked on (an alias of an alias): then the next one does."""
    erased = erase_key(rt, key, partition, step)
    request = step.confirm
    holder = erased.holder(step.via) if request is not None else None
    new = await pass_on(rt, step, erased.neighbours, confirm_at=holder, request=request)
    if new:
        await scrub(rt, step.request_id, new)
    rt.metrics.erased("linked")
    if request is not None and holder is None:
        reached = [k for k in step.via if k != request.customer_id]
        await confirm(rt, request, erased, [*reached, *new], step.suppressed_until)


async def pass_on(
    rt: Runtime,
    step: EraseLinked,
    neighbours: list[str],
    *,
    confirm_at: str | None = None,
    request: ErasureRequest | None = None,
) -> list[str]:
    """Send ``step`` on to the ``neighbours`` it has not reached; returns those. The one
    sent to ``confirm_at`` carries ``request``, to be confirmed there; the others none."""
    new = [k for k in neighbours if k not in step.via]
    via = sorted({*step.via, *new})
    for other in new:
        carried = request if other == confirm_at else None
        update = {"key": other, "via": via, "confirm": carried}
        await rt.out.wakeups.send(key=other, value=step.model_copy(update=update))
    return new


async def scrub(rt: Runtime, request_id: str, keys: list[str]) -> None:
    """Send every partition the ids whose fan-out subscriptions are to be removed."""
    message = EraseSubscriptions(request_id=request_id, keys=sorted(set(keys)))
    for partition in range(rt.partitions):
        await rt.out.wakeups.send(key=request_id, value=message, partition=partition)


async def on_erase_subscriptions(rt: Runtime, partition: int, message: EraseSubscriptions) -> None:
    """Remove the ids from every fan-out index entry of ``partition`` that names them."""
    rt.metrics.erased_subscriptions(rt.fanout.forget(partition, message.keys))


async def refuses_merge(rt: Runtime, key: str, partition: int, merge: MergeState) -> bool:
    """Whether ``merge`` reaches a key suppressed since its erasure (it was sent before
    the erasure reached the linked key): then its states are dropped, and the linked key
    is erased too (its link, the keys it had merged)."""
    if not rt.suppressions.suppressed(partition, key, merge.at):
        return False
    rt.metrics.erasure_suppressed()
    found = rt.suppressions.erasure_of(key)
    until = rt.suppressions.until(partition, key)
    if found is not None:
        request_id, requested_at = found
        step = EraseLinked(
            key=key, request_id=request_id, requested_at=requested_at, via=[key],
            suppressed_until=until,
        )  # fmt: skip
        new = await pass_on(rt, step, [merge.anonymous_id, *merge.linked])
        if new:
            await scrub(rt, request_id, new)
    return True


def expire(rt: Runtime, partition: int) -> None:
    """End the suppression of ids whose period the partition's event time has passed."""
    rt.suppressions.expire(partition, rt.due_index.event_watermark(partition))
