"""The decode agent: raw touchpoints (any key) in; canonical events re-keyed by customer out.

It reads raw bytes, so nothing can fail before it sees a message; everything the
contracts reject goes to the dead-letter topic with the original bytes and where they
came from. Thin by design: the decoding rules live in :mod:`schemas.decode`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from schemas.deadletters import Rejection, dead_letter
from schemas.decode import decode_touchpoints

if TYPE_CHECKING:
    from streams.app import Runtime


def record_time(message: Any) -> datetime:
    """The Kafka record timestamp of ``message`` (deterministic on replay)."""
    timestamp = getattr(message, "timestamp", None)
    if timestamp is None or timestamp <= 0:
        return datetime.now(UTC)
    return datetime.fromtimestamp(float(timestamp), UTC)


async def send_dead_letter(rt: Runtime, message: Any, raw: bytes, rejection: Rejection) -> None:
    """Write one dead letter for ``raw`` read from ``message`` and count it."""
    letter = dead_letter(
        raw,
        rejection,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        seen_at=rt.wall(),
    )
    await rt.deadletters.send(key=message.key, value=letter)
    rt.metrics.dead_lettered(str(rejection.reason))


async def decode_one(rt: Runtime, message: Any, raw: bytes | None) -> int:
    """Decode one raw message; returns the number of events forwarded."""
    data = raw if raw is not None else b""
    decoded = decode_touchpoints(data, received_at=record_time(message))
    for event in decoded.events:
        await rt.keyed.send(key=event.key, value=event)
    for rejection in decoded.rejections:
        await send_dead_letter(rt, message, data, rejection)
    return len(decoded.events)


def register(rt: Runtime) -> Any:
    """Add the decode agent to the app."""

    @rt.app.agent(rt.touchpoints, name="journeys.decode", concurrency=1)
    async def decode(stream: Any) -> None:
        async for event in stream.events():
            async with rt.guard.lock:
                await decode_one(rt, event.message, event.value)
                rt.guard.finish(event)  # inside the lock: a commit sees whole events only

    return decode
