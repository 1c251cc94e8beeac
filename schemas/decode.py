"""Decoding raw Kafka values into canonical touchpoint events, without ever raising.

Format detection, per JSON object:

* **canonical** when it has ``event_id``, ``schema_version`` or ``event_time``;
* **Segment batch** when it has ``batch`` (the HTTP tracking API envelope);
* **Segment message** when ``type`` is one of the six Segment types;
* ``unsupported_segment_type`` when ``type`` is another string and ``messageId`` is there;
* ``unknown_format`` otherwise.

Items of a batch are Segment messages only (a canonical event there is ``unknown_format``).

Every problem becomes a :class:`~schemas.deadletters.Rejection` whose message starts with
the field path (``$`` is the whole message), e.g. ``event_time: Input should have timezone
info``. A batch yields the events of its good items and one rejection per bad item.

Bytes that are not UTF-8 are ``invalid_encoding`` (JSON text is UTF-8), other unparsable
bytes ``invalid_json``. An integer beyond 64 bits, which the parser would round to a
float, is ``schema_violation``. An id field (``event_id``, ``messageId``) that is absent,
null or empty is ``missing_event_id``; one of the wrong type is ``schema_violation``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas import segment
from schemas.codec import isoformat_utc
from schemas.deadletters import Rejection, RejectReason, dead_letter
from schemas.envelope import (
    INT_MAX,
    INT_MIN,
    envelope_fields,
    identity_in,
    may_hold_long_integer,
    with_envelope,
)
from schemas.events import (
    EVENT_SCHEMA_VERSION,
    MAX_BATCH_ITEMS,
    MAX_EVENT_BYTES,
    MAX_MESSAGE_BYTES,
    TouchpointEvent,
    normalise_event_type,
)

__all__ = [
    "Decoded",
    "RejectReason",
    "Rejection",
    "dead_letter",
    "decode_touchpoints",
    "named_identity",
]

_CANONICAL_MARKERS = ("event_id", "schema_version", "event_time")
_ID_FIELDS = frozenset({"event_id", "messageId"})
_TIME_FIELDS = frozenset(
    {"event_time", "received_at", "timestamp", "originalTimestamp", "sentAt", "receivedAt"}
)
_IDENTITY_FIELDS = frozenset({"userId", "previousId"})
_MAX_ERRORS_SHOWN = 5

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Decoded:
    """What one raw message gave: valid canonical events and rejections, in input order."""

    events: list[TouchpointEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


DEFAULT_MAX_FUTURE_SKEW = timedelta(hours=1)
"""How far an event time may be ahead of the time its message was received (the Kafka
record time): clocks of devices and servers are off by seconds to minutes; an event an
hour ahead is a wrong clock or a wrong value, and would move its partition's clock (and
everyone's timers there) ahead."""


_NAMED_BY = ("customer_id", "userId", "anonymous_id", "anonymousId")


def named_identity(raw: bytes, item_index: int | None = None) -> str | None:
    """The identity a message names, whether or not it decodes: its customer id or
    ``userId``, else its anonymous id (of batch item ``item_index``, when given, else of
    the envelope): what a dead letter of it is attributed to. None when it names none."""
    try:
        obj: Any = _parse(raw)
    except (_Rejected, orjson.JSONDecodeError, UnicodeDecodeError):
        return None
    if item_index is not None and isinstance(obj, dict):
        batch = obj.get("batch")
        obj = batch[item_index] if isinstance(batch, list) and item_index < len(batch) else None
    return identity_in(obj, _NAMED_BY)


def decode_touchpoints(
    raw: bytes,
    *,
    received_at: datetime,
    max_future_skew: timedelta | None = None,
    judged_at: datetime | None = None,
) -> Decoded:
    """Decode one Kafka message value; never raises, whatever the bytes.

    ``received_at`` (timezone-aware; the Kafka record time is the natural choice) fills
    ``received_at`` when the input has none and is the last resort for a Segment event time.
    With ``max_future_skew``, an event whose time is later than ``judged_at`` (default:
    ``received_at``) plus that skew is rejected (``future_timestamp``) instead of returned.
    """
    if received_at.tzinfo is None or (judged_at is not None and judged_at.tzinfo is None):
        raise ValueError("received_at and judged_at must be timezone-aware")
    out = Decoded()
    try:
        obj = _parse(raw)
        if isinstance(obj, dict) and "batch" in obj and not _is_canonical(obj):
            _decode_batch(obj, received_at, out)
        else:
            out.events.append(_decode_one(obj, received_at, len(raw)))
    except _Rejected as exc:
        out.rejections.append(Rejection(exc.reason, exc.message))
    except Exception as exc:  # a bug must not crash the worker; tests assert none happen
        out.rejections.append(_internal(exc, None))
    if max_future_skew is not None and out.events:
        _bound_future(out, (judged_at or received_at) + max_future_skew)
    return out


def _bound_future(out: Decoded, latest: datetime) -> None:
    """Move the events later than ``latest`` from ``out.events`` to its rejections."""
    if all(event.event_time <= latest for event in out.events):
        return
    kept: list[TouchpointEvent] = []
    for event in out.events:
        if event.event_time <= latest:
            kept.append(event)
            continue
        ahead = event.event_time - latest
        out.rejections.append(
            Rejection(
                RejectReason.FUTURE_TIMESTAMP,
                f"event_time: {isoformat_utc(event.event_time)} is {ahead} later than the "
                f"receive time plus the allowed skew ({isoformat_utc(latest)})",
            )
        )
    out.events = kept


def _parse(raw: bytes) -> Any:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise _Rejected(
            RejectReason.TOO_LARGE, f"$: {len(raw)} bytes, the limit is {MAX_MESSAGE_BYTES}"
        )
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _unparsable(raw, exc) from None
    if may_hold_long_integer(raw):
        _check_integers(raw)
    return value


def _unparsable(raw: bytes, exc: orjson.JSONDecodeError) -> _Rejected:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return _Rejected(
            RejectReason.INVALID_ENCODING,
            f"$: not valid UTF-8 (byte 0x{raw[bad.start]:02x} at offset {bad.start})",
        )
    return _Rejected(RejectReason.INVALID_JSON, f"$: not valid JSON ({exc})")


def _check_integers(raw: bytes) -> None:
    """Reject an integer that orjson read as a float (it lost digits); exact re-read."""
    try:
        json.loads(raw, parse_int=_exact_int)
    except RecursionError:
        raise _Rejected(
            RejectReason.TOO_LARGE, "$: nested too deeply to check its numbers"
        ) from None


def _exact_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) <= 20:  # 2**64 - 1 has 20 digits
        value = int(text)
        if INT_MIN <= value <= INT_MAX:
            return value
    shown = text if len(text) <= 40 else f"{text[:20]}...({len(digits)} digits)"
    raise _Rejected(
        RejectReason.SCHEMA_VIOLATION,
        f"$: the integer {shown} does not fit in 64 bits and would lose precision "
        "(send it as a string)",
    )


def _is_canonical(obj: Mapping[str, Any]) -> bool:
    return any(marker in obj for marker in _CANONICAL_MARKERS)


def _decode_batch(envelope: dict[str, Any], received_at: datetime, out: Decoded) -> None:
    items = envelope["batch"]
    if not isinstance(items, list):
        raise _Rejected(RejectReason.SCHEMA_VIOLATION, "batch: Input should be a valid list")
    if len(items) > MAX_BATCH_ITEMS:
        raise _Rejected(
            RejectReason.TOO_LARGE, f"batch: {len(items)} items, the limit is {MAX_BATCH_ITEMS}"
        )
    _validate(segment.SegmentBatch, {**envelope, "batch": []}, {})
    shared = envelope_fields(envelope)
    for index, item in enumerate(items):
        try:
            if isinstance(item, dict) and len(orjson.dumps(item)) > MAX_EVENT_BYTES:
                raise _Rejected(
                    RejectReason.TOO_LARGE, f"$: item is larger than {MAX_EVENT_BYTES} bytes"
                )
            out.events.append(_decode_segment(item, received_at, shared))
        except _Rejected as exc:
            out.rejections.append(Rejection(exc.reason, exc.message, index))
        except Exception as exc:  # a bug must not stop the other items; tests assert none
            out.rejections.append(_internal(exc, index))


def _decode_one(obj: Any, received_at: datetime, size: int) -> TouchpointEvent:
    if not isinstance(obj, dict):
        raise _Rejected(RejectReason.NOT_AN_OBJECT, f"$: expected an object, got {_kind(obj)}")
    if size > MAX_EVENT_BYTES:
        raise _Rejected(RejectReason.TOO_LARGE, f"$: event is larger than {MAX_EVENT_BYTES} bytes")
    if _is_canonical(obj):
        return _decode_canonical(obj, received_at)
    return _decode_segment(obj, received_at, {})


def _decode_canonical(obj: dict[str, Any], received_at: datetime) -> TouchpointEvent:
    version = obj.get("schema_version", EVENT_SCHEMA_VERSION)
    if type(version) is not int:
        raise _Rejected(
            RejectReason.SCHEMA_VIOLATION,
            f"schema_version: Input should be the integer {EVENT_SCHEMA_VERSION}",
        )
    if version != EVENT_SCHEMA_VERSION:
        raise _Rejected(
            RejectReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version: {version} is not supported (supported: {EVENT_SCHEMA_VERSION})",
        )
    if obj.get("received_at") is None:
        obj = {**obj, "received_at": received_at}
    return _validate(TouchpointEvent, obj, {})


def _decode_segment(obj: Any, received_at: datetime, shared: dict[str, Any]) -> TouchpointEvent:
    if not isinstance(obj, dict):
        raise _Rejected(RejectReason.NOT_AN_OBJECT, f"$: expected an object, got {_kind(obj)}")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in segment.SEGMENT_TYPES:
        if isinstance(kind, str) and "messageId" in obj:
            raise _Rejected(
                RejectReason.UNSUPPORTED_SEGMENT_TYPE,
                f"type: {kind[:60]!r} is not one of {', '.join(sorted(segment.SEGMENT_TYPES))}",
            )
        raise _Rejected(
            RejectReason.UNKNOWN_FORMAT,
            "$: neither a canonical event (event_id, schema_version) nor a Segment message "
            "(type: track, identify, page, screen, group or alias) nor a Segment batch",
        )
    message = _validate(segment.MODELS[kind], with_envelope(obj, shared), {})
    try:
        fields = segment.canonical_fields(message, received_at=received_at)
    except OverflowError:
        raise _Rejected(
            RejectReason.TIMESTAMP_OUT_OF_RANGE,
            "originalTimestamp: corrected by the clock skew (receivedAt - sentAt), it is "
            "beyond the calendar",
        ) from None
    if not normalise_event_type(fields["type"]):
        raise _Rejected(RejectReason.SCHEMA_VIOLATION, "event: has no letters or digits")
    return _validate(TouchpointEvent, fields, segment.CANONICAL_TO_SEGMENT)


def _validate(model: type[M], obj: dict[str, Any], rename: dict[str, str]) -> M:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise _rejected(exc.errors(include_url=False), rename) from None


def _rejected(errors: list[ErrorDetails], rename: dict[str, str]) -> _Rejected:
    located = [(_reason(e), _path(e, rename), e["msg"]) for e in errors]
    located.sort(key=lambda item: _PRIORITY.index(item[0]))
    shown = "; ".join(f"{path}: {msg}" for _, path, msg in located[:_MAX_ERRORS_SHOWN])
    if len(located) > _MAX_ERRORS_SHOWN:
        shown += f"; and {len(located) - _MAX_ERRORS_SHOWN} more"
    return _Rejected(located[0][0], shown)


_PRIORITY = (
    RejectReason.UNSUPPORTED_SCHEMA_VERSION,
    RejectReason.MISSING_EVENT_ID,
    RejectReason.MISSING_IDENTITY,
    RejectReason.NAIVE_TIMESTAMP,
    RejectReason.INVALID_TIMESTAMP,
    RejectReason.TIMESTAMP_OUT_OF_RANGE,
    RejectReason.TOO_LARGE,
    RejectReason.SCHEMA_VIOLATION,
)


def _reason(error: ErrorDetails) -> RejectReason:
    head = error["loc"][0] if error["loc"] else None
    if head in _ID_FIELDS and _absent(error):
        return RejectReason.MISSING_EVENT_ID
    if error["type"] == "missing_identity" or (
        head in _IDENTITY_FIELDS and error["type"] == "missing"
    ):
        return RejectReason.MISSING_IDENTITY
    if error["type"] == "timezone_aware":
        return RejectReason.NAIVE_TIMESTAMP
    if error["type"] == "timestamp_out_of_range":
        return RejectReason.TIMESTAMP_OUT_OF_RANGE
    if head in _TIME_FIELDS:
        return RejectReason.INVALID_TIMESTAMP
    if error["type"] == "too_large":
        return RejectReason.TOO_LARGE
    return RejectReason.SCHEMA_VIOLATION


def _absent(error: ErrorDetails) -> bool:
    """Whether the error is about a value that is not there (absent, null or empty)."""
    if error["type"] == "missing":
        return True
    value = error.get("input")
    return value is None or (isinstance(value, str) and not value)


def _path(error: ErrorDetails, rename: dict[str, str]) -> str:
    loc = [str(part) for part in error["loc"]]
    if not loc:
        if error["type"] == "missing_identity":
            return "userId/anonymousId" if rename else "customer_id/anonymous_id"
        if error["type"] == "invalid_type":
            loc = ["type"]
    if loc and loc[0] in rename:
        loc[0] = rename[loc[0]]
    return ".".join(loc) or "$"


def _kind(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


def _internal(exc: Exception, index: int | None) -> Rejection:
    return Rejection(
        RejectReason.SCHEMA_VIOLATION,
        f"$: internal error while decoding ({type(exc).__name__}: {str(exc)[:200]})",
        index,
    )
