"""The worker in process (faust ``test_context``, memory://, no broker).

:func:`runtime` builds the real app through its one factory, with a recording sink for
every output topic: a test puts messages into an agent and reads what each topic would
have received (``rt.out.triggers.messages``...), nothing of the built app overwritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from journeys import Journey
from schemas.topics import by_role, topic_specs
from schemas.triggers import TRIGGER_FAMILIES
from streams.settings import Settings
from streams.worker.app import create_app
from streams.worker.outputs import RecordingSink, Sink
from streams.worker.runtime import Clocks, Engine, Runtime

FAMILY_ROLES = tuple(f"triggers.{f}" for f in TRIGGER_FAMILIES)
OUTPUT_ROLES = ("keyed", "wakeups", "triggers", "deadletters", "audit", *FAMILY_ROLES)


def recording_sinks() -> dict[str, Sink]:
    """A recording sink for every output role of the registry."""
    roles = by_role(topic_specs())
    assert set(OUTPUT_ROLES) <= set(roles)
    return {role: RecordingSink() for role in OUTPUT_ROLES}


def runtime(
    definitions: list[Journey] | None = None,
    *,
    clocks: Clocks | None = None,
    sinks: Mapping[str, Sink] | None = None,
    engine: Engine | None = None,
    **settings: Any,
) -> Runtime:
    """A worker for in-process tests; build it inside the test's event loop."""
    base: dict[str, Any] = {
        "store": "memory://",
        "topic_prefix": "unit",
        "app_id": "unit",
        "partitions": 2,
    }
    rt = create_app(
        Settings(**{**base, **settings}),
        definitions=definitions if definitions is not None else [],
        clocks=clocks,
        sinks=sinks if sinks is not None else recording_sinks(),
        engine=engine,
    )
    rt.app.finalize()
    rt.app.flow_control.resume()
    return rt


async def processed(rt: Runtime, agent: Any) -> None:
    """Wait (5 s at most) until the agent (a ``test_context``) has finished every message
    put so far.

    ``put`` returns once a message is in the agent's batch buffer; the batch is
    processed when full or when its window ends, and booked finished after that."""
    async with asyncio.timeout(5.0):
        while max(rt.guard.finished.values(), default=0) < agent.sent_offset:  # noqa: ASYNC110  nothing to wait on but the booked offsets
            await asyncio.sleep(0.005)


def close(rt: Runtime) -> None:
    """Close the event loop faust's (never started) consumer thread created."""
    consumer = getattr(rt.app, "_consumer", None)
    thread = getattr(consumer, "_thread", None)
    loop = getattr(thread, "thread_loop", None)
    if loop is not None and not loop.is_closed():
        loop.close()
