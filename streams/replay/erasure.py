"""Erasure requests in replay's and diff's input, and their timeline records.

An ``ErasureRequest`` read from a file or the erasures topic is an :class:`Erasure` item;
the replayer applies it as the worker does (:mod:`journeys.erasures`), and it becomes an
``erasure`` record of the timeline: the request, the journeys and linked ids erased,
never what they held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from journeys.erasures import Erased, Erasures
from schemas.codec import isoformat_utc
from schemas.erasure import ErasureRequest

__all__ = ["Erased", "Erasure", "Erasures", "erasure_record"]


@dataclass(frozen=True, slots=True)
class Erasure:
    """An erasure request and where it was read (``file:LINE`` or ``topic[p]@offset``)."""

    request: ErasureRequest
    origin: str


def erasure_record(item: Erasure, erased: Erased) -> dict[str, Any]:
    """The timeline record of an erasure: what was erased, never what it held."""
    request = item.request
    until = erased.suppressed_until
    return {
        "type": "erasure",
        "time": isoformat_utc(request.requested_at),
        "customer_id": request.customer_id,
        "request_id": request.request_id,
        "journeys": erased.journeys,
        "linked_ids": erased.linked_ids,
        "suppressed_until": None if until is None else isoformat_utc(until),
        "origin": item.origin,
    }
