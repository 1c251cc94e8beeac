"""The app factory, the worker's one composition root: a faust app built from Settings.

Nothing here runs at import time; ``create_app(settings)`` builds the app, its topics
and tables, the :class:`~streams.worker.runtime.Runtime` its agents share, and
registers every agent, the timer and the views. Nothing imports this module but the
worker's entry point and tests: agents import the runtime, never the app. Topic names
come from the registry in :mod:`schemas.topics`.

Tests pass ``sinks``: recording stand-ins for output topics by registry role (for
example ``{"keyed": RecordingSink()}``), and read what each topic would have received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import faust
from faust.types import TableT, TopicT

import journeys
from journeys import Journey, driver
from schemas.topics import TopicSpec, by_role, topic_specs
from schemas.triggers import TRIGGER_FAMILIES
from streams import __version__
from streams.kafka.keys import partition_for
from streams.ops.health import dir_size_bytes
from streams.ops.metrics import Metrics
from streams.settings import Settings
from streams.worker import eos, faust_codec, journey_agent, probes, timer_tick, views
from streams.worker.config import faust_config
from streams.worker.customers import CustomerStore
from streams.worker.due_index import DueIndex
from streams.worker.fanout_store import FanoutStore
from streams.worker.link_store import LinkStore
from streams.worker.outputs import BatchedSink, Outputs, Sink
from streams.worker.runtime import Clocks, Engine, Runtime
from streams.worker.suppressions import Suppressions


def outputs(
    app: faust.App, specs: Mapping[str, TopicSpec], sinks: Mapping[str, Sink] | None
) -> Outputs:
    """A sink per output role: those given in ``sinks`` (tests: nothing goes to Kafka;
    then every output role must be given), else each role's topic through the app's
    batched output, sent once per batch."""
    if sinks:
        roles = ("keyed", "wakeups", "triggers", "deadletters", "audit")
        missing = sorted({*roles, *(f"triggers.{f}" for f in TRIGGER_FAMILIES)} - set(sinks))
        if missing:
            raise ValueError(f"sinks given for some output roles only; missing: {missing}")
        given = dict(sinks)

        def sink(role: str) -> Sink:
            return given[role]

        batched = None
    else:
        batched = eos.attach_batched_output(app)

        def sink(role: str) -> Sink:
            spec = specs[role]
            return BatchedSink(batched, spec.name, spec.partitions or 1)

    return Outputs(
        keyed=sink("keyed"),
        wakeups=sink("wakeups"),
        triggers=sink("triggers"),
        families={f: sink(f"triggers.{f}") for f in TRIGGER_FAMILIES},
        deadletters=sink("deadletters"),
        audit=sink("audit"),
        batched=batched,
    )


def journey_table(
    app: faust.App, name: str, keyed: TopicSpec, settings: Settings
) -> TableT[str, Any]:
    """A table co-partitioned with the keyed topic (its changelog has as many partitions);
    faust creates its compacted changelog with the settings' tombstone retention and
    compaction lag (``Settings.changelog_configs``: how long erased values may stay)."""
    return app.Table(
        name,
        key_type=str,
        default=None,
        partitions=keyed.partitions,
        extra_topic_configs=settings.changelog_configs(),
    )


INPUT_ROLES = ("touchpoints", "keyed", "wakeups", "erasures")


def journey_input(app: faust.App, specs: Mapping[str, TopicSpec]) -> TopicT:
    """The journey agent's input, co-partitioned with its tables: the touchpoints, the
    re-keyed touchpoints, the internal messages and the erasure requests, keys and values
    as raw bytes (so that nothing can fail before the agent sees a message)."""
    keyed = specs["keyed"]
    return app.topic(
        *(specs[role].name for role in INPUT_ROLES),
        key_type=bytes,
        value_serializer="raw",
        partitions=keyed.partitions,
    )


def create_app(
    settings: Settings,
    *,
    definitions: Sequence[Journey] | None = None,
    metrics: Metrics | None = None,
    clocks: Clocks | None = None,
    sinks: Mapping[str, Sink] | None = None,
    engine: Engine | None = None,
) -> Runtime:
    """Build the app for ``settings`` with its topics, tables, agents, timers and views."""
    faust_codec.register()
    app = faust.App(settings.app_id, **faust_config(settings))
    guard = eos.install(app)
    eos.budget_for(app, settings.rocksdb_memory_bytes)  # shared by every RocksDB store
    # a local store older than this may have missed a tombstone: rebuilt (eos/store.py)
    eos.set_tombstone_retention(app, settings.changelog_delete_retention_days * 86_400.0)
    specs = by_role(topic_specs(settings.topic_prefix, settings.partitions))
    clocks = clocks if clocks is not None else Clocks()
    defs = (
        list(definitions)
        if definitions is not None
        else journeys.deployed_definitions(settings.journey_paths)
    )
    customers = journey_table(app, "customers", specs["keyed"], settings)
    fanout_index = journey_table(app, "fanout-index", specs["keyed"], settings)
    links = journey_table(app, "links", specs["keyed"], settings)
    erasures = journey_table(app, "erasures", specs["keyed"], settings)
    partitions = specs["keyed"].partitions or settings.partitions
    rt = Runtime(
        settings=settings,
        app=app,
        specs=specs,
        partitions=partitions,
        journey_input=journey_input(app, specs),
        out=outputs(app, specs, sinks),
        customers=CustomerStore(
            customers, defs, settings.state_cache_size, current=faust.current_event
        ),
        fanout=FanoutStore(fanout_index, lambda key: partition_for(key, partitions)),
        links=LinkStore(links),
        suppressions=Suppressions(erasures, lambda key: partition_for(key, partitions)),
        definitions=defs,
        engine=engine if engine is not None else driver,
        metrics=metrics if metrics is not None else Metrics(),
        guard=guard,
        due_index=DueIndex(
            clock=settings.clock,
            idle_grace_seconds=settings.idle_grace_seconds,
            timer_grace_seconds=settings.timer_grace_seconds,
            monotonic=clocks.monotonic,
        ),
        clocks=clocks,
    )
    rt.registered.journey_agent = journey_agent.register(rt)
    timer_tick.register(rt, customers)
    views.register(rt, customers)
    observe(rt, (customers, fanout_index, links, erasures))
    return rt


def observe(rt: Runtime, tables: Sequence[TableT[str, Any]]) -> None:
    """Wire the metrics that no agent counts: definitions and build, lag, standby lag,
    restores, rebalances, store.

    Consumer lag is read at scrape time from the consumer's position (past EOS
    transaction markers) per assigned partition of the four input topics; the state
    store gauges are refreshed every ``stats_interval_seconds``. The timer gauges are
    set by the timer's tick (:mod:`streams.worker.timer_tick`), the stage gauge too.
    """
    app, metrics = rt.app, rt.metrics
    metrics.describe_definitions(rt.definitions, version=__version__)
    inputs = {rt.specs[role].name for role in INPUT_ROLES}
    metrics.set_lag_source(probes.faust_lag_source(app, inputs))
    metrics.set_restore_source(probes.restore_source(app))
    metrics.set_standby_lag_source(probes.standby_lag_source(app))

    @app.on_partitions_assigned.connect
    def count_rebalance(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        metrics.rebalance()

    # faust types timer() as returning an untyped callable
    @app.timer(  # type: ignore[untyped-decorator]
        interval=rt.settings.stats_interval_seconds, name="journeys.store-stats"
    )
    async def store_stats() -> None:
        await publish_store_stats(rt, tables)

    rt.registered.store_stats_timer = store_stats


async def publish_store_stats(rt: Runtime, tables: Sequence[TableT[str, Any]]) -> None:
    """Set the state store gauges: keys of the local tables, bytes of the data dir."""
    keys = await probes.faust_store_keys(tables)
    size = await asyncio.to_thread(dir_size_bytes, Path(rt.app.conf.datadir))
    rt.metrics.set_store(keys, size)
