"""What ``create_app`` wires beyond the agents: definitions, lag, rebalances, store gauges."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import rocksdict

from journeys import default_journey
from streams import __version__
from streams.ops.health import dir_size_bytes
from streams.settings import Settings
from streams.worker.app import create_app, publish_store_stats
from streams.worker.probes import faust_store_keys
from tests.worker.fixtures import close


def test_create_app_wires_definitions_lag_rebalances_and_store(tmp_path: Path) -> None:
    asyncio.run(_wiring(tmp_path))


async def _wiring(tmp_path: Path) -> None:
    settings = Settings(
        store="memory://", topic_prefix="wire", app_id="wire", partitions=2,
        data_dir=tmp_path, stats_interval_seconds=3,
    )  # fmt: skip
    definition = default_journey()
    rt = create_app(settings, definitions=[definition])
    app: Any = rt.app
    get = rt.metrics.registry.get_sample_value
    assert get("journeys_build_info", {"version": __version__, "engine": "python"}) == 1
    labels = {"journey": definition.name, "version": str(definition.version)}
    assert get("journeys_journey_definition_info", labels) == 1
    consumed = {"event_type": "signed_up", "outcome": "processed"}
    assert get("journeys_events_consumed_total", consumed) == 0  # known type, created at 0
    # lag: read from the consumer at scrape time; nothing before it starts, no error
    assert rt.metrics._scrape.lag_source is not None
    assert "journeys_consumer_lag_messages{" not in rt.metrics.render().decode()
    # one rebalance per assignment
    await app.on_partitions_assigned.send(set())
    await app.on_partitions_assigned.send(set())
    assert get("journeys_rebalances_total") == 2
    # the store gauges: local table keys, bytes under the worker's data dir
    assert rt.registered.store_stats_timer is not None  # the periodic timer
    for customer in ("c1", "c2", "c3"):
        rt.customers.table.data[customer] = {"lifecycle": {"stage": "new"}}
    rt.fanout.table.data["feature:f1"] = ["c1"]
    datadir = Path(app.conf.datadir)
    await asyncio.to_thread(datadir.mkdir, parents=True)
    await asyncio.to_thread((datadir / "blob").write_bytes, b"x" * 1000)
    await publish_store_stats(rt, [rt.customers.table, rt.fanout.table])
    assert get("journeys_state_store_keys") == 4
    assert get("journeys_state_store_size_bytes") == 1000
    close(rt)


def test_rocksdb_stores_are_counted_exactly_in_chunks(tmp_path: Path) -> None:
    offset_key = b"__faust\0offset__"
    dbs = {p: rocksdict.Rdict(str(tmp_path / f"p{p}")) for p in (0, 1)}
    try:
        for _ in range(3):  # overwrites: RocksDB's own estimate would say 90
            for i in range(30):
                dbs[i % 2][f"k{i}".encode()] = b"v"
        dbs[0][offset_key] = b"41"  # faust's offset record is no key of the table
        table = SimpleNamespace(data=SimpleNamespace(_dbs=dbs, offset_key=offset_key))
        memory = SimpleNamespace(data={"a": 1, "b": 2})
        assert asyncio.run(faust_store_keys([table, memory], chunk=4)) == 32
        assert asyncio.run(faust_store_keys([table], chunk=1000)) == 30
    finally:
        for db in dbs.values():
            db.close()


def test_dir_size_counts_the_files_below(tmp_path: Path) -> None:
    assert dir_size_bytes(tmp_path / "missing") == 0
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"1234")
    (tmp_path / "y").write_bytes(b"12")
    assert dir_size_bytes(tmp_path) == 6
