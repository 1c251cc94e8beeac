"""The customer store: writes kept back and flushed once per key per batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from journeys import default_journey, driver
from journeys.state import dump_state
from schemas import codec
from schemas.events import TouchpointEvent
from streams.worker.customers import CustomerStore

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
JOURNEY = default_journey()


class CountingTable(dict[str, Any]):
    """A dict that counts writes and deletes, as the changelog would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(("set", key))
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.writes.append(("del", key))
        super().__delitem__(key)


def signup(store: CustomerStore, customer: str, event_id: str, type_: str = "signed_up") -> None:
    event = TouchpointEvent(event_id=event_id, customer_id=customer, type=type_, event_time=T0)
    done = driver.on_event([JOURNEY], store.states(customer), event)
    store.write(customer, done.states, done.changed)


def test_several_changes_of_a_key_in_a_batch_are_one_table_write_each_in_its_origins_scope() -> (
    None
):
    table = CountingTable()
    now = ["event-1"]
    store = CustomerStore(table, [JOURNEY], current=lambda: now[0])
    signup(store, "c1", "e1")
    now[0] = "event-2"
    signup(store, "c1", "e2", "page_viewed")
    now[0] = "event-3"
    signup(store, "c2", "e3")
    assert table.writes == [] and store.states("c1")[JOURNEY.name].events == 2
    scopes: list[object] = []

    @contextmanager
    def scope(origin: object) -> Iterator[None]:
        scopes.append(origin)
        yield

    assert store.flush(scope) == 2
    assert table.writes == [("set", "c1"), ("set", "c2")]
    assert scopes == ["event-1", "event-3"]  # each key's first change in the batch
    assert table["c1"] == {JOURNEY.name: dump_state(store.states("c1")[JOURNEY.name])}
    assert store.stages.current() == {JOURNEY.name: {"onboarding": 2}}
    assert store.flush(scope) == 0 and len(table.writes) == 2


def test_a_forgotten_key_is_deleted_at_the_flush_and_reads_empty_before() -> None:
    table = CountingTable()
    store = CustomerStore(table, [JOURNEY])
    signup(store, "anon-1", "e1", "page_viewed")
    store.flush(lambda _: contextmanager(lambda: iter([None]))())
    record = store.record("anon-1")
    assert list(record) == [JOURNEY.name]
    store.forget("anon-1")
    assert store.record("anon-1") == {} and store.states("anon-1") == {}
    assert "anon-1" in table  # not yet
    store.flush(lambda _: contextmanager(lambda: iter([None]))())
    assert "anon-1" not in table and table.writes[-1] == ("del", "anon-1")
    assert store.stages.current() == {JOURNEY.name: {}}


def test_a_key_forgotten_then_written_in_one_batch_holds_only_its_new_states() -> None:
    """An erasure, then a new event of the same id in the batch: nothing of the erased
    record (another journey's state included) comes back with the new one."""

    @contextmanager
    def scope(origin: object) -> Iterator[None]:
        yield

    table = CountingTable()
    store = CustomerStore(table, [JOURNEY])
    signup(store, "c1", "e0")
    signup(store, "c1", "e1", "page_viewed")
    store.flush(scope)
    table["c1"] = {**table["c1"], "retired": {"stage": "x"}}  # a journey no longer running
    store.cache.clear()
    store.forget("c1")
    assert store.record("c1") == {}
    signup(store, "c1", "e2")
    store.flush(scope)
    assert set(table["c1"]) == {JOURNEY.name}
    assert table["c1"][JOURNEY.name]["events"] == 1
    assert store.stages.current()[JOURNEY.name] == {"onboarding": 1}


class EncodedTable(CountingTable):
    """A table that takes encoded writes (as the worker's ``TrackedTable`` does under
    exactly-once), recording each with the scope it was made in."""

    def __init__(self, scopes: list[object]) -> None:
        super().__init__()
        self.scopes = scopes
        self.encoded: list[tuple[bytes, bytes, object]] = []

    def writes_encoded(self) -> bool:
        return True

    def set_encoded(self, key: bytes, value: bytes) -> None:
        self.encoded.append((key, value, self.scopes[-1]))


def test_a_table_taking_encoded_writes_gets_each_value_encoded_once_as_the_codec_writes_it() -> (
    None
):
    scopes: list[object] = []
    table = EncodedTable(scopes)
    now = ["event-1"]
    store = CustomerStore(table, [JOURNEY], current=lambda: now[0])
    signup(store, "c1", "e1")
    now[0] = "event-2"
    signup(store, "c2", "e2")

    @contextmanager
    def scope(origin: object) -> Iterator[None]:
        scopes.append(origin)
        yield

    assert store.flush(scope) == 2
    assert table.writes == []  # no dict write: the values went encoded
    expected = {
        key: codec.dumps({JOURNEY.name: dump_state(store.states(key)[JOURNEY.name])})
        for key in ("c1", "c2")
    }
    assert table.encoded == [
        (b"c1", expected["c1"], "event-1"),
        (b"c2", expected["c2"], "event-2"),
    ]
    assert store.record("c1") == {JOURNEY.name: dump_state(store.states("c1")[JOURNEY.name])}
