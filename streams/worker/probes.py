"""What a faust worker reports about itself: readiness checks, lag, store size, web views.

The framework-neutral pieces (:class:`~streams.ops.health.Readiness`, the broker probe,
the metrics server) are in :mod:`streams.ops.health`; this module reads them off a faust
app: ``/healthz``, ``/readyz`` and ``/metrics`` as faust web views on the worker's web
port, the readiness checks of a faust worker (partitions assigned, state recovered,
broker reachable), consumer lag from the consumer's positions, and the keys held by the
local table stores. faust's own Prometheus sensor can be enabled beside ours with
:func:`enable_faust_sensor`; it gets its own registry and path (``/metrics/faust``)
because it reports milliseconds, against our base units.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from streams.ops.health import Readiness, broker_reachable
from streams.ops.metrics import LagSource, Metrics, RestoreSource, StandbyLagSource
from streams.worker.eos.restore import progress_of


def state_recovered(app: Any) -> bool:
    """Whether the tables hold all their assigned partitions' state.

    faust sets ``recovery.completed`` once and never clears it; a new assignment sets
    ``signal_recovery_start`` until the recovery loop picks it up and sets
    ``in_recovery``, so all three together close the gap after a rebalance.
    """
    recovery = app.tables.recovery
    return (
        bool(recovery.completed.is_set())
        and not bool(recovery.in_recovery)
        and not bool(recovery.signal_recovery_start.is_set())
    )


def restoring(app: Any) -> int | None:
    """Changelog records left before the active partitions are ready: the bulk restore's
    while it runs, else faust's recovery's (the tail); ``None`` when nothing restores."""
    progress = progress_of(app)
    if progress.running:
        return progress.remaining
    recovery = app.tables.recovery
    if bool(recovery.in_recovery):
        return max(int(recovery.active_remaining_total()), 0)
    return None


def restore_source(app: Any) -> RestoreSource:
    """The restore figures of ``app`` for :meth:`Metrics.set_restore_source`."""

    def figures() -> tuple[int, int, float]:
        progress = progress_of(app)
        return progress.restored_total, restoring(app) or 0, progress.rate

    return figures


def not_ready_reason(app: Any, checks: dict[str, bool]) -> str | None:
    """Why ``/readyz`` answers 503, in words, or ``None`` when every check passed."""
    left = restoring(app)
    if left is not None:
        return f"restoring: {left} left"
    failed = [name for name, ok in checks.items() if not ok]
    return ", ".join(f"{name} failing" for name in failed) or None


def faust_checks(app: Any, bootstrap: Sequence[str], connect_timeout: float = 1.0) -> Readiness:
    """The readiness checks of a faust worker ``app``.

    ``partitions_assigned`` passes once the consumer has a completed assignment (which
    may be empty when there are more workers than partitions) and no rebalance is in
    progress; ``state_recovered`` once faust's table recovery has completed;
    ``broker_reachable`` when :func:`broker_reachable` succeeds.
    """

    def assigned() -> bool:
        return int(app.rebalancing_count) > 0 and not bool(app.rebalancing)

    def recovered() -> bool:
        return state_recovered(app)

    async def reachable() -> bool:
        return await broker_reachable(bootstrap, connect_timeout)

    return Readiness(
        {
            "partitions_assigned": assigned,
            "state_recovered": recovered,
            "broker_reachable": reachable,
        }
    )


def _fetch_states(app: Any) -> tuple[set[Any], Any] | None:
    """The partitions assigned to faust's aiokafka consumer and their fetch states
    (``state_value(tp)``: position, high watermark, last stable offset); ``None`` before
    the consumer has started."""
    # faust's consumer thread and its aiokafka consumer, the only holders of fetch
    # positions (no noqa: ruff sees no attribute access in getattr)
    thread = getattr(app.consumer, "_thread", None)  # faust private: consumer thread
    consumer = getattr(thread, "_consumer", None)  # faust private: its AIOKafkaConsumer
    if consumer is None:  # not started yet: no assignment, no lag
        return None
    assignment = consumer._subscription.subscription.assignment  # noqa: SLF001  lso, position
    return set(consumer.assignment()), assignment


def _fetch_lag(state: Any) -> int | None:
    """End offset (the last stable offset under ``read_committed``, else the high
    watermark) minus the position of one partition's fetch state; ``None`` when either is
    not known yet."""
    end = state.lso if state.lso not in (None, -1) else state.highwater
    if end is None or not state.has_valid_position:
        return None
    return max(int(end) - int(state.position), 0)


def faust_lag_source(app: Any, topics: Collection[str]) -> LagSource:
    """A lag source for :meth:`Metrics.set_lag_source` reading faust's Kafka consumer.

    Per assigned partition of ``topics``: the end offset (the last stable offset under
    ``read_committed``, else the high watermark) minus the consumer's position (the next
    offset it will fetch, past transaction markers). Records already fetched into the
    worker's buffer are not counted. Partitions not fetched yet are left out, and so is
    everything before the consumer has started.
    """
    wanted = frozenset(topics)

    def lags() -> dict[tuple[str, int], int]:
        fetch = _fetch_states(app)
        if fetch is None:
            return {}
        assigned, assignment = fetch
        out: dict[tuple[str, int], int] = {}
        for tp in assigned:
            if tp.topic not in wanted:
                continue
            lag = _fetch_lag(assignment.state_value(tp))
            if lag is not None:
                out[(tp.topic, tp.partition)] = lag
        return out

    return lags


def standby_lag_source(app: Any) -> StandbyLagSource:
    """A source for :meth:`Metrics.set_standby_lag_source`: per standby changelog partition
    held here, the records its standby copy is behind the changelog's end, which a
    takeover of the partition would still have to read.

    While the standby is followed (fetched): the changelog's end (the last stable offset
    under ``read_committed``) minus the consumer's position, which passes transaction
    markers, so a standby that has read everything is 0 behind. Records fetched and not
    yet written to RocksDB (faust applies a standby's records 1,000 at a time, and every
    buffer at the start of a rebalance) are in memory and count as read. Before it is
    fetched (paused while the active partitions restore, or just assigned): faust's
    recovery figures, the end it asked for minus the offset its store holds.
    """

    def lags() -> dict[tuple[str, int], int]:
        standbys = app.assignor.assigned_standbys()
        if not standbys:
            return {}
        fetch = _fetch_states(app)
        recovery = app.tables.recovery
        out: dict[tuple[str, int], int] = {}
        for tp in standbys:
            lag = None
            if fetch is not None and tp in fetch[0]:
                lag = _fetch_lag(fetch[1].state_value(tp))
            if lag is None:
                high = recovery.standby_highwaters.get(tp)  # the end minus one
                offset = recovery.standby_offsets.get(tp)  # the last one applied
                if high is None or high < 0 or offset is None:
                    continue
                lag = max(int(high) - int(offset), 0)
            out[(tp.topic, tp.partition)] = lag
        return out

    return lags


async def faust_store_keys(tables: Iterable[Any], chunk: int = 20_000) -> int:
    """Keys held by the local stores of faust ``tables`` (active and standby partitions).

    An in-memory store answers with its size. A RocksDB store is counted exactly, by
    iterating its keys ``chunk`` at a time and yielding to the event loop in between
    (about 1.5 million keys a second): RocksDB's ``estimate-num-keys`` counts every
    overwrite still in the memtables and was off by 25 times on a journey table. A
    partition revoked during the count ends it early; faust's offset key is left out.
    """
    total = 0
    for table in tables:
        store = table.data
        dbs = getattr(store, "_dbs", None)  # private: faust's open RocksDB per partition
        if dbs is None:  # memory://
            total += len(store)
            continue
        offset_key = getattr(store, "offset_key", None)
        for partition, db in list(dbs.items()):
            keys = iter(db.keys())
            while True:
                n = sum(1 for _ in itertools.islice(keys, chunk))
                total += n
                if n < chunk:
                    break
                await asyncio.sleep(0)
                if dbs.get(partition) is not db:  # revoked and closed meanwhile
                    break
            if offset_key is not None and dbs.get(partition) is db:
                total -= db.get(offset_key) is not None
    return total


def register_views(app: Any, metrics: Metrics, readiness: Readiness) -> None:
    """Add ``/healthz``, ``/readyz`` and ``/metrics`` to the faust ``app``'s web server."""

    @app.page("/healthz")  # type: ignore[untyped-decorator]  # faust: app is Any here
    async def healthz(self: Any, request: Any) -> Any:
        return self.json({"status": "ok"})

    @app.page("/readyz")  # type: ignore[untyped-decorator]  # faust: app is Any here
    async def readyz(self: Any, request: Any) -> Any:
        ready, body = await readiness.report()
        if not ready:
            body["reason"] = not_ready_reason(app, body["checks"])
        return self.json(body, status=200 if ready else 503)

    @app.page("/metrics")  # type: ignore[untyped-decorator]  # faust: app is Any here
    async def metrics_view(self: Any, request: Any) -> Any:
        return self.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


def enable_faust_sensor(app: Any, path: str = "/metrics/faust") -> CollectorRegistry:
    """Enable faust's Prometheus sensor on ``path`` with a registry of its own."""
    from faust.sensors.prometheus import setup_prometheus_sensors

    registry = CollectorRegistry()
    setup_prometheus_sensors(app, pattern=path, registry=registry, name_prefix="faust")
    return registry
