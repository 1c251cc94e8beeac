"""The app factory: one faust app, its topics and tables, built from one Settings object.

Nothing here runs at import time; ``create_app(settings)`` returns a :class:`Runtime`
holding the app and everything its agents share (topics, tables, definitions, the
timer index, metrics). Topic names come from the registry in :mod:`streams.topics`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from journeys.definition import TRIGGER_FAMILIES
from streams import __version__, codec, eos, health
from streams.metrics import Metrics
from streams.settings import Settings
from streams.timers import StageCounts, TimerIndex
from streams.topics import TopicSpec, by_role, topic_specs

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The app and what its agents, timers and views share."""

    settings: Settings
    app: faust.App
    specs: dict[str, TopicSpec]
    touchpoints: Any
    keyed: Any
    wakeups: Any
    journey_input: Any
    triggers: Any
    families: dict[str, Any]
    deadletters: Any
    customers: Any
    fanout_index: Any
    definitions: Sequence[Any]
    metrics: Metrics
    guard: eos.Guard
    timers: TimerIndex
    stages: StageCounts = field(default_factory=StageCounts)
    wall: Clock = wall_clock
    extra: dict[str, Any] = field(default_factory=dict)


def load_definitions(settings: Settings) -> list[Any]:
    """The journey definitions to run: the files in settings, else the default journey."""
    import journeys

    if settings.journey_paths:
        return [journeys.load_definition(path) for path in settings.journey_paths]
    return [journeys.default_journey()]


def faust_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``faust.App`` for these settings."""
    return {
        "broker": settings.broker_url,
        "broker_credentials": settings.faust_credentials(),
        "store": settings.store,
        "datadir": str(settings.data_dir / settings.app_id),
        "processing_guarantee": settings.processing_guarantee,
        "broker_commit_interval": settings.commit_interval_seconds,
        "producer_linger": settings.producer_linger_ms / 1000,
        "broker_session_timeout": settings.session_timeout_seconds,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout_seconds / 3),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "table_standby_replicas": settings.standby_replicas,
        "key_serializer": "raw",
        "value_serializer": codec.CODEC_NAME,
        "consumer_auto_offset_reset": "earliest",
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_enabled": True,
        "autodiscover": False,
        "Table": eos.TrackedTable,
        "TableManager": eos.SeekFirstTableManager,
        "worker_redirect_stdouts": False,
        "topic_disable_leader": True,
        "stream_wait_empty": True,
    }


def create_app(
    settings: Settings,
    *,
    definitions: Sequence[Any] | None = None,
    metrics: Metrics | None = None,
    wall: Clock = wall_clock,
) -> Runtime:
    """Build the app for ``settings`` with its topics, tables, agents, timers and views."""
    codec.register()
    app = faust.App(settings.app_id, **faust_config(settings))
    guard = eos.install(app)
    specs = by_role(topic_specs(settings.topic_prefix, settings.partitions))

    def topic(role: str, **kwargs: Any) -> Any:
        spec = specs[role]
        return app.topic(
            spec.name, partitions=spec.partitions, key_type=str, internal=False, **kwargs
        )

    keyed_spec, wakeups_spec = specs["keyed"], specs["wakeups"]
    defs = list(definitions) if definitions is not None else load_definitions(settings)
    rt = Runtime(
        settings=settings,
        app=app,
        specs=specs,
        touchpoints=app.topic(specs["touchpoints"].name, key_type=bytes, value_serializer="raw"),
        keyed=topic("keyed"),
        wakeups=topic("wakeups"),
        journey_input=app.topic(
            keyed_spec.name,
            wakeups_spec.name,
            key_type=str,
            value_serializer="raw",
            partitions=keyed_spec.partitions,
        ),
        triggers=topic("triggers"),
        families={f: topic(f"triggers.{f}") for f in TRIGGER_FAMILIES},
        deadletters=app.topic(specs["deadletters"].name, key_type=bytes),
        customers=app.Table(
            "customers",
            key_type=str,
            default=None,
            partitions=keyed_spec.partitions,
        ),
        fanout_index=app.Table(
            "fanout-index",
            key_type=str,
            default=None,
            partitions=keyed_spec.partitions,
        ),
        definitions=defs,
        metrics=metrics if metrics is not None else Metrics(),
        guard=guard,
        timers=TimerIndex(clock=settings.clock, idle_grace_seconds=settings.idle_grace_seconds),
        wall=wall,
    )
    from streams import agents, timers, views

    agents.register(rt)
    timers.register(rt)
    views.register(rt)
    observe(rt)
    return rt


def observe(rt: Runtime) -> None:
    """Wire the metrics that no agent counts: definitions and build, lag, rebalances, store.

    Consumer lag is read at scrape time from the consumer's position (past EOS
    transaction markers) per assigned partition of the three input topics; the state
    store gauges are refreshed every ``stats_interval_seconds``. The timer gauges are
    set by the timer's tick (:mod:`streams.timers`), the stage gauge too.
    """
    app, metrics = rt.app, rt.metrics
    metrics.describe_definitions(rt.definitions, version=__version__)
    inputs = {rt.specs[role].name for role in ("touchpoints", "keyed", "wakeups")}
    metrics.set_lag_source(health.faust_lag_source(app, inputs))

    @app.on_partitions_assigned.connect
    def count_rebalance(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        metrics.rebalance()

    rt.extra["count_rebalance"] = count_rebalance

    @app.timer(interval=rt.settings.stats_interval_seconds, name="journeys.store-stats")
    async def store_stats() -> None:
        await publish_store_stats(rt)

    rt.extra["store_stats"] = store_stats


async def publish_store_stats(rt: Runtime) -> None:
    """Set the state store gauges: keys of the local tables, bytes of the data dir."""
    keys = await health.faust_store_keys([rt.customers, rt.fanout_index])
    size = await asyncio.to_thread(health.dir_size_bytes, Path(rt.app.conf.datadir))
    rt.metrics.set_store(keys, size)
