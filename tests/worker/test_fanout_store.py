"""The fan-out index store: an erasure removes exactly what a scan of the whole index
would, reading only the index keys that name the erased ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import fanout
from journeys.fanout import FanoutAction, FanoutIndex
from schemas.events import TouchpointEvent
from streams.kafka.keys import partition_for
from streams.worker.fanout_store import FanoutStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
N = 4


class CountingTable(dict[str, Any]):
    """A dict table that counts the values read by key."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)


def release(key: str, by: str, at: datetime) -> tuple[FanoutAction, TouchpointEvent]:
    action = FanoutAction(action="publish", index="features", key=key, derived_type="shipped")
    event = TouchpointEvent(
        event_id=f"release-{key}-{by}", customer_id=by, type="feature_released", event_time=at
    )
    return action, event


def filled(store: FanoutStore) -> None:
    for n in range(40):
        key = f"feature:{n}"
        index = FanoutIndex()
        for c in (f"c{n % 7}", f"c{n % 5}", "everyone"):
            index, _ = fanout.subscribe(index, c, T0 + timedelta(minutes=n))
        if n % 3 == 0:
            index, _ = fanout.publish(index, *release(key, f"c{n % 7}", T0 + timedelta(hours=1)))
        store.put(key, index)


def scanned(table: dict[str, Any], partition: int, erased: set[str]) -> dict[str, Any]:
    """The table after the erasure as a scan of every entry does it."""
    out = dict(table)
    for key, value in table.items():
        if partition_for(key, N) == partition:
            index, count = fanout.forget(fanout.load_index(value), erased)
            if count:
                out[key] = index.model_dump(mode="json")
    return out


def store_of(table: dict[str, Any]) -> FanoutStore:
    return FanoutStore(table, lambda key: partition_for(key, N))


def test_an_erasure_removes_what_a_full_scan_removes_on_each_partition() -> None:
    table = CountingTable()
    store = store_of(table)
    filled(store)
    erased = {"c3", "c4"}
    for partition in range(N):
        expected = scanned(dict(table), partition, erased)
        store.forget(partition, erased)
        assert dict(table) == expected
    assert all(
        not fanout.forget(fanout.load_index(v), erased)[1] for v in table.values()
    )  # nothing of them is left anywhere


def test_only_the_index_keys_naming_an_erased_id_are_read() -> None:
    table = CountingTable()
    store = store_of(table)
    filled(store)
    store.forget(0, {"nobody"})  # builds the reverse map: one read of the whole index
    table.reads = 0
    for partition in range(N):
        store.forget(partition, {"c6"})
    assert table.reads == sum(1 for n in range(40) if n % 7 == 6)


def test_writes_after_the_map_is_built_are_followed_and_a_reset_rebuilds_it() -> None:
    table = CountingTable()
    store = store_of(table)
    filled(store)
    store.forget(0, {"nobody"})
    late = FanoutIndex()
    late, _ = fanout.subscribe(late, "late", T0)
    store.put("feature:late", late)
    assert store.forget(partition_for("feature:late", N), {"late"}) == 1
    assert "late" not in store.get("feature:late").subscribers
    table["feature:behind-its-back"] = fanout.subscribe(FanoutIndex(), "late", T0)[0].model_dump(
        mode="json"
    )  # a restore the store did not see: read again after the next rebalance
    store.reset()
    assert store.forget(partition_for("feature:behind-its-back", N), {"late"}) == 1


def test_a_publisher_is_erased_from_the_kept_publications() -> None:
    store = store_of({})
    index, _ = fanout.publish(FanoutIndex(), *release("feature:1", "shipper", T0))
    store.put("feature:1", index)
    assert store.forget(partition_for("feature:1", N), {"shipper"}) == 1
    assert store.get("feature:1").publications == []
