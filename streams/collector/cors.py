"""Cross-origin requests: which pages may send from a browser, and the answers they need.

A page on ``https://shop.example.com`` that posts to the collector on another origin is
let through by the browser only if the collector says so. analytics.js 2.0 and
RudderStack's JavaScript SDK send an ``Authorization`` header (and RudderStack
``AnonymousId``, ``SentAt`` and ``Rsa-*`` ones), so the browser first asks with a
preflight, ``OPTIONS`` with ``Access-Control-Request-Method``/``-Headers``; the answer
names the origin, the method and the headers, and ``Access-Control-Max-Age`` lets the
browser keep it (Chromium caps it at two hours), so a visitor costs one preflight, not one
per event. Every actual answer to an allowed origin, errors included, names the origin
too: otherwise the SDK sees a network error instead of a 400 (drop) or a 503 (retry), and
``Retry-After`` is exposed.

A request from an origin not allowed (``JOURNEYS_COLLECTOR_ALLOWED_ORIGINS``) is refused
by the collector itself, 403 ``origin_not_allowed``, not only by the browser: a beacon or
a ``text/plain`` POST without custom headers is a "simple" request, sent without any
preflight, and would otherwise be stored. Requests without an ``Origin`` header (server
SDKs, curl, Prometheus) are not cross-origin requests and are not judged here.

The answer echoes the origin rather than ``*``, with ``Vary: Origin``: it is right for a
list of origins and for ``*`` alike, and for SDKs configured to send credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["ALLOW_HEADERS", "ALLOW_METHODS", "MAX_AGE_SECONDS", "Origins"]

ALLOW_METHODS: Final = "POST, OPTIONS"
ALLOW_HEADERS: Final = (
    "Authorization, Content-Type, Content-Encoding, X-Retry-Count, AnonymousId, SentAt, "
    "Rsa-Recovered, Rsa-Retry-Attempt, Rsa-Since-Last-Attempt, Rsa-Since-First-Attempt, "
    "Rsa-Retry-Reason"
)
"""What the SDKs send: the write key, ``text/plain`` or JSON, gzip; analytics.js 2.0's
retry counter; RudderStack's ``AnonymousId``, ``SentAt`` and retry headers (``Rsa-*``).
The collector reads none but the first three; a browser refuses to send a header the
preflight answer does not name."""
MAX_AGE_SECONDS: Final = 7200
_ANY = "*"


class Origins:
    """The origins allowed to send from a browser: exact ``scheme://host[:port]``, or any."""

    def __init__(self, allowed: Iterable[str]) -> None:
        listed = {o.strip().rstrip("/") for o in allowed if o.strip()}
        self.any = _ANY in listed
        self._exact = frozenset(listed - {_ANY})

    def __bool__(self) -> bool:
        return self.any or bool(self._exact)

    def allows(self, origin: str) -> bool:
        return self.any or origin in self._exact

    @staticmethod
    def answer_headers(origin: str) -> dict[str, str]:
        """The headers of an actual answer to ``origin`` (an allowed one)."""
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "Retry-After",
            "Vary": "Origin",
        }

    @classmethod
    def preflight_headers(cls, origin: str) -> dict[str, str]:
        """The headers of the answer to a preflight from ``origin`` (an allowed one)."""
        return {
            **cls.answer_headers(origin),
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        }
