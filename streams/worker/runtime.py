"""What the worker's agents, timers and views share: one typed :class:`Runtime`.

A leaf of the worker package: it imports no agent. The app factory
(:mod:`streams.worker.app`, the one composition root) builds a ``Runtime`` and hands it
to each agent's ``register``; everything an agent may touch is a declared field here:
the topics it reads, the :class:`~streams.worker.outputs.Sink` of each topic it writes,
the customer store, the fan-out index, the link store, the erased ids still
suppressed, the engine, the clocks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import faust
from faust.types import AgentT, TopicT

from journeys import Journey, driver
from journeys.driver import States
from schemas.events import TouchpointEvent
from schemas.topics import TopicSpec
from streams.ops.health import Readiness
from streams.ops.metrics import Metrics
from streams.settings import Settings
from streams.worker.customers import CustomerStore
from streams.worker.due_index import DueIndex
from streams.worker.eos import Guard
from streams.worker.fanout_store import FanoutStore
from streams.worker.link_store import LinkStore
from streams.worker.outputs import Outputs
from streams.worker.suppressions import Suppressions

WallClock = Callable[[], datetime]
MonotonicClock = Callable[[], float]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Clocks:
    """Every clock the worker reads, injected: the wall clock (metrics, dead letters, the
    live timer watermark) and the monotonic one (how long a partition has been idle)."""

    wall: WallClock = wall_clock
    monotonic: MonotonicClock = time.monotonic


class Engine(Protocol):
    """The per-key engine contract the stream layer drives (:mod:`journeys.driver`).

    Pure: the same states, event or time and definitions give the same result. The
    worker and replay call nothing else of the engine.
    """

    def on_event(
        self, definitions: Sequence[Journey], states: States, event: TouchpointEvent, /
    ) -> driver.Driven: ...

    def on_time(
        self, definitions: Sequence[Journey], states: States, now: datetime, /
    ) -> driver.Driven: ...

    def on_merge(
        self,
        definitions: Sequence[Journey],
        customer_id: str,
        into: States,
        other: States,
        at: datetime,
        event_id: str,
        /,
    ) -> driver.Driven: ...

    def forwarded(self, event: TouchpointEvent, customer_id: str, /) -> TouchpointEvent: ...

    def due(self, states: States, /) -> datetime | None: ...

    def link_of(self, event: TouchpointEvent, /) -> str | None: ...

    def overtaken(self, states: States, event_time: datetime, /) -> bool: ...


@dataclass
class Registered:
    """What the composition root added to the app, for tests and probes to reach."""

    journey_agent: AgentT[Any] | None = None
    readiness: Readiness | None = None
    wakeup_timer: Callable[[], Awaitable[None]] | None = None
    store_stats_timer: Callable[[], Awaitable[None]] | None = None


@dataclass
class Runtime:
    """The app and what its agents, timers and views share."""

    settings: Settings
    app: faust.App
    specs: Mapping[str, TopicSpec]
    partitions: int  # of the inputs and the tables, co-partitioned (``partition_for``)
    journey_input: TopicT
    out: Outputs
    customers: CustomerStore
    fanout: FanoutStore
    links: LinkStore
    suppressions: Suppressions
    definitions: Sequence[Journey]
    engine: Engine
    metrics: Metrics
    guard: Guard
    due_index: DueIndex
    clocks: Clocks = field(default_factory=Clocks)
    registered: Registered = field(default_factory=Registered)

    def wall(self) -> datetime:
        return self.clocks.wall()
