"""The in-process journey agent with its outputs looped back to its inputs (the keyed and
wakeups topics), partition by partition: what several workers and the broker do, for
stories that cross partitions (identity links, erasures)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from journeys import Journey, in_holdout
from schemas import codec
from schemas.erasure import ErasureConfirmation, ErasureRequest
from schemas.events import TouchpointEvent
from schemas.triggers import Trigger
from streams.kafka.keys import partition_for
from streams.worker.runtime import Runtime
from tests.worker.fixtures import close, processed, runtime


def keys_on(
    partition: int, prefix: str, journey: str, partitions: int, count: int = 1
) -> list[str]:
    """Keys of ``partition`` outside ``journey``'s holdout (every trigger is delivered)."""
    found = (f"{prefix}-{i}" for i in range(10_000))
    ok = [k for k in found if partition_for(k, partitions) == partition]
    return [k for k in ok if not in_holdout(k, journey, 5)][:count]


def touchpoint(event_id: str, at: datetime, type_: str, **fields: Any) -> TouchpointEvent:
    props = fields.pop("properties", {})
    return TouchpointEvent(event_id=event_id, type=type_, event_time=at, properties=props, **fields)


def at_hours(t0: datetime) -> Callable[..., TouchpointEvent]:
    """``tp(event_id, hours, type, **fields)``: a touchpoint ``hours`` after ``t0``."""

    def tp(event_id: str, hours: float, type_: str, **fields: Any) -> TouchpointEvent:
        return touchpoint(event_id, t0 + timedelta(hours=hours), type_, **fields)

    return tp


class Worker:
    """The journey agent with its outputs looped back to its inputs, partition by partition."""

    def __init__(self, rt: Runtime, agent: Any, partitions: int) -> None:
        self.rt, self.agent, self.partitions = rt, agent, partitions
        self.read = {"keyed": 0, "wakeups": 0}

    async def put(self, key: str, value: Any, partition: int | None = None) -> None:
        raw = value if isinstance(value, bytes) else codec.dumps(value)
        where = partition_for(key, self.partitions) if partition is None else partition
        await self.agent.put(raw, key=key, partition=where)

    async def send(self, *messages: TouchpointEvent | ErasureRequest) -> None:
        """Each message on its key's partition, then every round trip it causes."""
        for message in messages:
            key = message.key if isinstance(message, TouchpointEvent) else message.customer_id
            await self.put(key, message)
            await self.pump()

    async def pump(self) -> None:
        await processed(self.rt, self.agent)
        while True:
            back = []
            for role in ("keyed", "wakeups"):
                sink = getattr(self.rt.out, role)
                start = self.read[role]
                back += zip(sink.messages[start:], sink.partitions[start:], strict=True)
                self.read[role] = len(sink.messages)
            if not back:
                return
            for (key, value), partition in back:
                await self.put(key, value, partition)
            await processed(self.rt, self.agent)

    def triggers(self) -> list[Trigger]:
        return [Trigger.model_validate_json(v) for _, v in self.rt.out.triggers.messages]

    def confirmations(self) -> list[ErasureConfirmation]:
        return [ErasureConfirmation.model_validate(v) for _, v in self.rt.out.audit.messages]


def story(
    body: Callable[[Worker], Awaitable[None]],
    journeys: list[Journey],
    partitions: int,
    **settings: Any,
) -> Runtime:
    """Run ``body`` against a worker of ``journeys`` with its outputs looped back."""

    async def run() -> Runtime:
        rt = runtime(journeys, partitions=partitions, **settings)
        async with rt.registered.journey_agent.test_context() as agent:
            await body(Worker(rt, agent, partitions))
        close(rt)
        return rt

    return asyncio.run(run())
