"""The decode agent: raw touchpoints (any key) in; canonical events re-keyed by customer out.

It reads raw bytes, so nothing can fail before it sees a message; everything the
contracts reject goes to the dead-letter topic with the original bytes and where they
came from. Thin by design: the decoding rules live in :mod:`schemas.decode`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faust.types import AgentT, EventT, StreamT

from schemas.deadletters import Rejection
from schemas.decode import decode_touchpoints
from streams.worker.outputs import Origin
from streams.worker.runtime import Runtime, WallClock


def record_time(message: Any, wall: WallClock) -> datetime:
    """The Kafka record timestamp of ``message`` (deterministic on replay); the wall
    clock for a record without one."""
    timestamp = getattr(message, "timestamp", None)
    if timestamp is None or timestamp <= 0:
        return wall()
    return datetime.fromtimestamp(float(timestamp), UTC)


def origin_of(message: Any) -> Origin:
    return Origin(message.topic, message.partition, message.offset, message.key)


async def dead_letter(rt: Runtime, message: Any, raw: bytes, rejection: Rejection) -> None:
    """Write one dead letter for ``raw`` read from ``message`` and count it."""
    await rt.out.send_dead_letter(origin_of(message), raw, rejection, rt.wall())
    rt.metrics.dead_lettered(str(rejection.reason))


async def decode_one(rt: Runtime, message: Any, raw: bytes | None) -> int:
    """Decode one raw message; returns the number of events forwarded."""
    data = raw if raw is not None else b""
    decoded = decode_touchpoints(data, received_at=record_time(message, rt.clocks.wall))
    for event in decoded.events:
        await rt.out.keyed.send(key=event.key, value=event)
    for rejection in decoded.rejections:
        await dead_letter(rt, message, data, rejection)
    return len(decoded.events)


def register(rt: Runtime) -> AgentT[Any]:
    """Add the decode agent to the app (concurrency 1: faust issue #606)."""

    async def decode(stream: StreamT[Any]) -> None:
        event: EventT[Any]
        async for event in stream.events():
            async with rt.guard.lock:
                await decode_one(rt, event.message, event.value)
                rt.guard.finish(event)  # inside the lock: a commit sees whole events only

    return rt.app.agent(rt.touchpoints, name="journeys.decode", concurrency=1)(decode)
