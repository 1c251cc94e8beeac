"""The worker's agents: decode (raw -> keyed) and journey (keyed + wakeups -> triggers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams import decode_agent, journey_agent

if TYPE_CHECKING:
    from streams.app import Runtime


def register(rt: Runtime) -> None:
    """Add every agent to ``rt.app``; concurrency stays 1 (faust issue #606)."""
    rt.extra["decode_agent"] = decode_agent.register(rt)
    rt.extra["journey_agent"] = journey_agent.register(rt)
