"""A request body into single Segment messages, within Segment's limits.

Segment's HTTP tracking API: ``/v1/track``, ``/v1/identify``, ``/v1/page``,
``/v1/screen``, ``/v1/group`` and ``/v1/alias`` take one message, whose type is the
endpoint's; ``/v1/batch`` and ``/v1/import`` take ``{"batch": [...]}`` with an optional
``sentAt`` and ``context`` for every item. The short names analytics.js 2.0 posts to
(``t``, ``i``, ``p``, ``s``, ``g``, ``a``, and ``b`` for a batch, which Segment's Kotlin
and Swift SDKs use too) stand for the same endpoints (:data:`ALIASES`); the write key
some clients put in the body is returned by :func:`split`. Its limits, kept here: 32 KB
per message, 500 KB per batch request; beyond them the whole request is refused with 413
(:class:`BadRequest`, whose JSON says which limit), and for a body that is not JSON or
not an object with 400 (saying what). No SDK retries either.

Every message becomes one Kafka message, keyed by its own customer (the key contract),
so a batch is split. The envelope's ``sentAt`` and ``context`` travel with each item the
way ``schemas.decode`` applies them inside a batch (the item's own ``sentAt`` wins; the
envelope's ``context`` goes under the item's, key by key), so an item stored alone
decodes exactly as it would have inside its batch. ``receivedAt`` is stamped on every
message, replacing a client's own, as Segment does at its edge: the decoder's clock-skew
correction (``receivedAt - sentAt``) then works downstream. ``writeKey``, which some
clients put in the body, is dropped: a secret has no place in a topic. An integer too
long for 64 bits is kept digit for digit (the decoder rejects it, as it would any input).

Items that are not messages (not an object, an unknown type...) are passed on as they
are: the decoder rejects them with its usual reasons, and they go to the dead-letter
topic while the rest of the batch is accepted.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any, Final

import orjson

from schemas.envelope import dumps_exact, envelope_fields, may_hold_long_integer, with_envelope

__all__ = [
    "BATCH_ENDPOINTS",
    "ENDPOINTS",
    "MAX_BATCH_BYTES",
    "MAX_MESSAGE_BYTES",
    "SINGLE_ENDPOINTS",
    "TOO_LARGE",
    "BadRequest",
    "Body",
    "body_limit",
    "canonical",
    "decompress",
    "split",
    "too_large",
]

MAX_MESSAGE_BYTES: Final = 32 * 1024
"""Segment's limit per message (its SDKs check 32 << 10 before sending)."""
MAX_BATCH_BYTES: Final = 500 * 1024
"""Segment's limit per batch request (decompressed)."""
TOO_LARGE: Final = 413
"""The status of a body over a limit (Payload Too Large): the SDKs drop it, as a 400."""
SINGLE_ENDPOINTS: Final = ("track", "identify", "page", "screen", "group", "alias")
BATCH_ENDPOINTS: Final = ("batch", "import")
ENDPOINTS: Final = SINGLE_ENDPOINTS + BATCH_ENDPOINTS
ALIASES: Final = {
    "t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias",
    "b": "batch",
}  # fmt: skip
"""analytics.js 2.0's short paths (``/t`` ... ``/a``; ``/b`` when batching, also the path
of Segment's Kotlin and Swift SDKs)."""
_DROPPED = "writeKey"


class BadRequest(Exception):
    """A request the collector refuses as a whole: ``status``, a ``code`` and a message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True, slots=True)
class Body:
    """A request body split: its messages, and the write key it carries, if any."""

    values: list[bytes]
    write_key: str | None = None


def canonical(endpoint: str) -> str | None:
    """The endpoint a ``/v1/<name>`` path stands for; ``None`` for none."""
    name = ALIASES.get(endpoint, endpoint)
    return name if name in ENDPOINTS else None


def body_limit(endpoint: str) -> int:
    """The largest body (decompressed) ``endpoint`` takes."""
    return MAX_BATCH_BYTES if endpoint in BATCH_ENDPOINTS else MAX_MESSAGE_BYTES


def too_large(endpoint: str, size: int | None, *, decompressed: bool = False) -> BadRequest:
    """The 413 for a body of ``size`` bytes (``None``: unknown) over ``endpoint``'s limit."""
    what = f"{size:,} bytes" if size is not None else "over the limit"
    if decompressed:
        what += " once decompressed"
    if endpoint in BATCH_ENDPOINTS:
        return BadRequest(
            "batch_too_large",
            f"the batch is {what}; the limit is 500 KB ({MAX_BATCH_BYTES} bytes) per batch request",
            TOO_LARGE,
        )
    return BadRequest(
        "message_too_large",
        f"the message is {what}; the limit is 32 KB ({MAX_MESSAGE_BYTES} bytes) per message",
        TOO_LARGE,
    )


def decompress(endpoint: str, raw: bytes, encoding: str | None) -> bytes:
    """The body of ``raw`` sent with ``Content-Encoding: encoding``, never past the limit
    (a small gzip body cannot blow up in memory)."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return raw
    if name not in ("gzip", "x-gzip"):
        raise BadRequest(
            "unsupported_encoding", f"Content-Encoding {name[:40]!r}: use gzip or none", 415
        )
    limit = body_limit(endpoint)
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise BadRequest("invalid_gzip", f"the body is not valid gzip ({exc})") from None
    if len(body) > limit:
        raise too_large(endpoint, None, decompressed=True)
    if not inflater.eof:
        raise BadRequest("invalid_gzip", "the gzip body is truncated")
    return body


def split(endpoint: str, body: bytes, received_at: str) -> Body:
    """The messages of a (decompressed) request body to ``endpoint``, each as JSON bytes
    with ``receivedAt`` set; raises :class:`BadRequest` for what Segment refuses."""
    if len(body) > body_limit(endpoint):
        raise too_large(endpoint, len(body))
    doc = _parse(body)
    if not isinstance(doc, dict):
        raise BadRequest("invalid_body", "the body must be a JSON object")
    key = doc.get(_DROPPED)
    write_key = key if isinstance(key, str) else None
    if endpoint not in BATCH_ENDPOINTS:
        return Body([_stamped({**doc, "type": endpoint}, {}, received_at)], write_key)
    items = doc.get("batch")
    if not isinstance(items, list):
        raise BadRequest("invalid_body", "batch: must be a list of messages")
    shared = envelope_fields(doc)
    values = [_stamped(item, shared, received_at) for item in items]
    if len(body) > MAX_MESSAGE_BYTES:  # else no item can be larger
        for index, item in enumerate(items):
            size = len(dumps_exact(item))
            if size > MAX_MESSAGE_BYTES:
                raise BadRequest(
                    "message_too_large",
                    f"batch[{index}] is {size:,} bytes; the limit is 32 KB "
                    f"({MAX_MESSAGE_BYTES} bytes) per message",
                    TOO_LARGE,
                )
    return Body(values, write_key)


def _parse(body: bytes) -> Any:
    try:
        doc = orjson.loads(body)
        if may_hold_long_integer(body):  # valid JSON; read again with exact integers
            doc = json.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("invalid_json", f"the body is not valid JSON ({exc})") from None
    except RecursionError:
        raise BadRequest("invalid_json", "the body is nested too deeply") from None
    return doc


def _stamped(item: Any, shared: dict[str, Any], received_at: str) -> bytes:
    """One message alone: the envelope's fields under its own, ``receivedAt`` stamped."""
    if not isinstance(item, dict):
        return dumps_exact(item)  # the decoder's to reject (not_an_object)
    message = with_envelope(item, shared)
    message.pop(_DROPPED, None)
    message["receivedAt"] = received_at
    return dumps_exact(message)
