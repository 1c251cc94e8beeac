"""Erasures in replay: an ``ErasureRequest`` in the input erases as the worker does.

The worker (``streams.worker.erasure``) erases the requested id and every key linked
with it, either way (anonymous ids merged into it, the customer it was aliased to, and
theirs in turn): their states, their links, their fan-out subscriptions. The replayer
(:mod:`journeys.replayer`) does the same to its own per-key states, links and index
(:meth:`Erasures.apply`), so the events after an erasure start afresh, as live. With a
suppression period (``JOURNEYS_ERASURE_SUPPRESS_DAYS``), the erased ids' events older
than the request plus the period are dropped (:meth:`Erasures.drops`: status
``erased``), as live. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from journeys import fanout
from journeys.fanout import FanoutIndex
from journeys.state import CustomerState
from schemas.erasure import ErasureRequest, suppression_end
from schemas.events import TouchpointEvent

__all__ = ["Erased", "Erasures", "Holder", "identity"]


@dataclass(frozen=True, slots=True)
class Erased:
    """What one erasure removed from replay's state."""

    journeys: list[str]
    linked_ids: list[str]
    suppressed_until: datetime | None


class Holder(Protocol):
    """What an erasure changes of a replayer (``journeys.replayer.Replayer``)."""

    states: dict[str, dict[str, CustomerState]]
    links: dict[str, str]
    index: dict[str, FanoutIndex]


def identity(links: dict[str, str], key: str) -> list[str]:
    """``key`` and every key linked with it, either way, directly or through others."""
    partners: dict[str, set[str]] = {}
    for linked, customer in links.items():
        partners.setdefault(linked, set()).add(customer)
        partners.setdefault(customer, set()).add(linked)
    found, todo = [key], [key]
    while todo:
        for other in sorted(partners.get(todo.pop(), ())):
            if other not in found:
                found.append(other)
                todo.append(other)
    return found


@dataclass
class Erasures:
    """The erasures applied so far, and the ids whose events are dropped until when."""

    suppress_days: float = 0.0
    until: dict[str, datetime] = field(default_factory=dict)

    def apply(self, holder: Holder, request: ErasureRequest) -> Erased:
        """Erase ``request.customer_id`` and its linked keys from ``holder``."""
        keys = identity(holder.links, request.customer_id)
        # an anonymous or aliased id holds no state of its own (it was merged into its
        # customer's): the journeys erased are those of every key of the identity
        journeys = sorted({name for key in keys for name in holder.states.get(key, {})})
        for key in keys:
            holder.states.pop(key, None)
            holder.links.pop(key, None)
        for index_key, index in list(holder.index.items()):
            holder.index[index_key] = fanout.forget(index, set(keys))[0]
        until = suppression_end(request.requested_at, self.suppress_days)
        if until is not None:
            self.until.update(dict.fromkeys(keys, until))
        return Erased(journeys, keys[1:], until)

    def drops(self, event: TouchpointEvent) -> bool:
        """Whether ``event`` is of an erased id still suppressed at its time."""
        until = self.until.get(event.key)
        return until is not None and event.event_time < until
