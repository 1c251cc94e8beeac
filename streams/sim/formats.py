"""Encoding simulated events as canonical or Segment-spec JSON, and spoiling some of them.

Malformed messages are built from a good message of the same run and carry the
``schemas.deadletters.RejectReason`` value the decoder is expected to give them.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Literal

import orjson

from streams.sim import names as ev
from streams.sim.life import RawEvent

Format = Literal["canonical", "segment"]
FORMATS: tuple[Format, ...] = ("canonical", "segment")

# Reasons (``RejectReason`` values) the simulator spoils messages with, with weights
# (in Segment format, where naive timestamps are valid, naive_timestamp becomes
# invalid_timestamp).
MALFORMED_REASONS: tuple[tuple[str, int], ...] = (
    ("invalid_json", 3),
    ("not_an_object", 1),
    ("missing_event_id", 2),
    ("missing_identity", 2),
    ("naive_timestamp", 2),
    ("schema_violation", 2),
)


def iso(t: float) -> str:
    """Epoch seconds as an ISO 8601 UTC timestamp with milliseconds and a ``Z``."""
    moment = dt.datetime.fromtimestamp(round(t * 1000) / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context(timezone: str | None, locale: str | None) -> dict[str, str]:
    context: dict[str, str] = {}
    if locale is not None:
        context["locale"] = locale
    if timezone is not None:
        context["timezone"] = timezone
    return context


def canonical(
    raw: RawEvent, event_id: str, timezone: str | None, locale: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": 1, "event_id": event_id}
    if raw.customer_id is not None:
        doc["customer_id"] = raw.customer_id
    if raw.anonymous_id is not None:
        doc["anonymous_id"] = raw.anonymous_id
    doc["type"] = raw.type
    doc["event_time"] = iso(raw.t)
    doc["source"] = "simulator"
    doc["channel"] = raw.channel
    doc["properties"] = raw.properties
    if raw.traits:
        doc["traits"] = raw.traits
    doc["context"] = _context(timezone, locale)
    return doc


def title(type_: str) -> str:
    """``order_completed`` -> ``Order Completed`` (Segment's naming convention)."""
    return " ".join(word.capitalize() for word in type_.split("_"))


def segment(
    raw: RawEvent, event_id: str, timezone: str | None, locale: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"messageId": event_id}
    if raw.type == ev.IDENTIFY:
        doc["type"] = "identify"
        doc["traits"] = raw.traits
    elif raw.type == ev.PAGE_VIEWED:
        doc["type"] = "page"
        doc["name"] = str(raw.properties.get("path", "/"))
        doc["properties"] = raw.properties
    else:
        doc["type"] = "track"
        doc["event"] = title(raw.type)
        doc["properties"] = raw.properties
    if raw.customer_id is not None:
        doc["userId"] = raw.customer_id
    if raw.anonymous_id is not None:
        doc["anonymousId"] = raw.anonymous_id
    doc["timestamp"] = iso(raw.t)
    doc["context"] = _context(timezone, locale)
    return doc


ENCODERS = {"canonical": canonical, "segment": segment}


def dumps(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


def spoil(doc: dict[str, Any], fmt: Format, rng: random.Random) -> tuple[str, bytes]:
    """A malformed copy of ``doc``: (expected reject reason, bytes)."""
    reasons = [r for r, _ in MALFORMED_REASONS]
    reason = rng.choices(reasons, weights=[w for _, w in MALFORMED_REASONS])[0]
    bad = dict(doc)
    id_field, time_field = (
        ("event_id", "event_time") if fmt == "canonical" else ("messageId", "timestamp")
    )
    bad[id_field] = f"{doc[id_field]}-bad"
    if reason == "invalid_json":
        text = orjson.dumps(bad)
        return reason, text[: max(1, len(text) // 2)]
    if reason == "not_an_object":
        return reason, orjson.dumps([bad])
    if reason == "missing_event_id":
        del bad[id_field]
    elif reason == "missing_identity":
        for name in ("customer_id", "anonymous_id", "userId", "anonymousId"):
            bad.pop(name, None)
    elif reason == "naive_timestamp" and fmt == "segment":
        # Segment reads a timestamp without offset as UTC: spoil the date itself instead.
        reason = "invalid_timestamp"
        bad[time_field] = "2026-02-30T25:00:00Z"
    elif reason == "naive_timestamp":
        bad[time_field] = str(doc[time_field]).removesuffix("Z")
    else:  # schema_violation: properties (or an identify's traits) of the wrong type
        bad["properties" if "properties" in bad else "traits"] = ["not", "an", "object"]
    return reason, orjson.dumps(bad)
