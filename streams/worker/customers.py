"""The customer store: the ``customers`` table, its decoded-state cache and stage counts.

One object owns every access to the per-customer journey states, so the views of them
cannot drift apart: the table (JSON per journey, changelog-backed), the writes of the
current batch not in the table yet (:class:`Pending`, flushed once per batch), an LRU
:class:`StateCache` of decoded states, and :class:`StageCounts` (customers per journey
and stage, for the stage gauge).

Why a cache: the table holds JSON, and validating it on every event cost more than a
third of the engine step. It is valid because the journey agent is the single writer of
its partitions' keys: what it wrote is what the table holds. It is cleared whenever
partitions are assigned or revoked, so a key that moved away and came back is read from
the (recovered) table again.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys import Journey
from journeys.driver import States
from journeys.state import dump_state, load_state
from journeys.timers import stored_next_due
from schemas import codec as contract_codec

TableValue = dict[str, dict[str, Any]]  # journey name -> CustomerState JSON: a table value
DEFAULT_CACHE_SIZE = 20_000


class StateCache:
    """Decoded states of the customers processed last (LRU), with the table value they are."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[TableValue, States]] = OrderedDict()

    def get(self, key: str) -> tuple[TableValue, States] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, record: TableValue, states: States) -> None:
        if self.size <= 0:
            return
        self._entries[key] = (record, states)
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class StageCounts:
    """Customers per (journey, stage) on this worker, per partition: rebuilt from the
    table for a partition newly assigned, then kept up to date by every write, so the
    gauge never needs a scan; a partition that moves away takes its counts with it."""

    def __init__(self) -> None:
        self.counts: dict[int | None, dict[str, Counter[str]]] = {}

    def reset(self, partitions: Iterable[int | None]) -> None:
        """Forget the counts of ``partitions`` (moved away, or about to be recounted)."""
        for partition in partitions:
            self.counts.pop(partition, None)

    def keep_only(self, partitions: Iterable[int]) -> None:
        """Forget the counts of every partition but ``partitions``."""
        kept = set(partitions)
        for partition in [p for p in self.counts if p not in kept]:
            del self.counts[partition]

    def update(self, partition: int | None, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """A value of ``partition`` changed from ``old`` to ``new`` (``{}``: none)."""
        counts = self.counts.get(partition)
        if counts is None:
            counts = self.counts[partition] = {}
        for journey, state in old.items():
            stages = counts.get(journey)
            if stages is None:
                stages = counts[journey] = Counter()
            stages[state.get("stage", "?")] -= 1
        for journey, state in new.items():
            stages = counts.get(journey)
            if stages is None:
                stages = counts[journey] = Counter()
            stages[state.get("stage", "?")] += 1

    def current(self) -> dict[str, dict[str, int]]:
        """Customers per stage of each journey (stages with none left out)."""
        total: dict[str, Counter[str]] = {}
        for counts in self.counts.values():
            for journey, stages in counts.items():
                total.setdefault(journey, Counter()).update(stages)
        return {
            journey: {stage: n for stage, n in stages.items() if n > 0}
            for journey, stages in total.items()
        }


@dataclass(slots=True)
class Pending:
    """A key changed in the current batch, not written to the table yet."""

    base: TableValue  # the table value before the batch (what the changelog holds)
    states: States  # every journey's state now
    changed: set[str]  # the journeys whose state differs from ``base``
    origin: object  # the event it changed for: its table write acts for it
    deleted: bool = False
    fresh: bool = False  # deleted in this batch: written again, it holds ``states`` only


Scope = Callable[[object], AbstractContextManager[object]]


class CustomerStore:
    """The ``customers`` table of the journey agent, with its cache and stage counts.

    Writes are kept back until :meth:`flush`, which the agent calls once per batch: a
    customer with several events (or an event and a wake-up) in a batch costs one table
    write and one changelog record, whatever its number of changes. ``table`` is a faust
    table in the worker (a plain dict in tests of the store alone); only the journey
    agent's stream may write it (faust refuses writes elsewhere). ``current`` tells the
    event being processed (``faust.current_event``): a key's table write acts for the
    event it changed for, so that it lands in that event's partition and transaction.
    """

    def __init__(
        self,
        table: MutableMapping[str, Any],
        definitions: Sequence[Journey],
        cache_size: int = DEFAULT_CACHE_SIZE,
        current: Callable[[], object] = lambda: None,
        partition_of: Callable[[str], int] | None = None,
    ) -> None:
        self.table = table
        self.names = tuple(d.name for d in definitions)
        self.cache = StateCache(cache_size)
        self.stages = StageCounts()
        self.pending: dict[str, Pending] = {}
        self.current = current
        self.partition_of = partition_of

    def partition(self, key: str, origin: object) -> int | None:
        """The partition ``key``'s write for the event ``origin`` goes to: the event's
        (the table is co-partitioned with its input), else ``partition_of`` (a store
        outside faust), else unknown."""
        partition = getattr(getattr(origin, "message", None), "partition", None)
        if isinstance(partition, int):
            return partition
        return None if self.partition_of is None else self.partition_of(key)

    def decode(self, record: TableValue) -> States:
        """The states of ``record`` for the running definitions (validated, migrated)."""
        return {name: load_state(record[name]) for name in self.names if name in record}

    def _stored(self, key: str) -> tuple[TableValue, States]:
        """``key``'s table value and its decoded states: from the cache, else the table."""
        entry = self.cache.get(key)
        if entry is None:
            record: TableValue = self.table.get(key) or {}
            entry = (record, self.decode(record))
            self.cache.put(key, *entry)
        return entry

    def states(self, key: str) -> States:
        """Every journey's state of ``key``, changes of this batch included."""
        pending = self.pending.get(key)
        return pending.states if pending is not None else self._stored(key)[1]

    def record(self, key: str) -> TableValue:
        """``key``'s value as the table will hold it after the batch (``{}``: none)."""
        pending = self.pending.get(key)
        if pending is None:
            return self._stored(key)[0]
        return {} if pending.deleted else _merged(pending)

    def write(self, key: str, states: States, changed: Sequence[str]) -> None:
        """Keep the new ``states`` of ``key``; the ``changed`` journeys are written at
        :meth:`flush`."""
        if not changed:
            return
        pending = self.pending.get(key)
        if pending is None:
            base = self._stored(key)[0]
            self.pending[key] = Pending(base, dict(states), set(changed), self.current())
        else:
            pending.states = dict(states)
            pending.changed.update(changed)
            pending.deleted = False

    def forget(self, key: str) -> None:
        """Delete ``key`` (its states moved elsewhere, or erased), at :meth:`flush`; a
        write of ``key`` later in the batch starts from nothing."""
        pending = self.pending.get(key)
        base = pending.base if pending is not None else self._stored(key)[0]
        self.pending[key] = Pending(base, {}, set(), self.current(), deleted=True, fresh=True)
        self.cache.drop(key)

    def flush(self, scope: Scope) -> int:
        """Write every pending key to the table, each within ``scope(origin)``; returns
        the number of keys written. Reassigning a key writes the changelog (mutating a
        value in place would not). A table that writes encoded values (the worker's
        ``TrackedTable`` under exactly-once: ``writes_encoded``) gets each value as its
        JSON bytes, encoded once here, with the changelog record beside it."""
        table, cache, stages = self.table, self.cache, self.stages
        encoded = getattr(table, "writes_encoded", None)
        set_encoded = table.set_encoded if encoded is not None and encoded() else None  # type: ignore[attr-defined]  # a TrackedTable's
        dumps = contract_codec.dumps
        for key, pending in self.pending.items():
            with scope(pending.origin):
                if pending.deleted:
                    if key in table:
                        del table[key]
                    stages.update(self.partition(key, pending.origin), pending.base, {})
                    continue
                new = _merged(pending)
                if set_encoded is not None:  # the value encoded once, no per-key faust work
                    set_encoded(key.encode(), dumps(new))
                else:
                    table[key] = new
                stages.update(self.partition(key, pending.origin), pending.base, new)
                cache.put(key, new, pending.states)
        written = len(self.pending)
        self.pending.clear()
        return written

    def view(self, key: str) -> TableValue | None:
        """The value of ``key`` as stored (the customer view), or None."""
        record = self.table.get(key)
        return record or None

    def snapshot(
        self, partitions: frozenset[int], partition_of: Callable[[str], int]
    ) -> Iterator[tuple[int, str, TableValue]]:
        """``(partition, key, value)`` of every non-empty table value of ``partitions`` as
        it is at this call (the batch's pending writes aside), read lazily (rebuilding
        the timer index): a RocksDB store gives a snapshot; another store (tests), a copy."""
        store = getattr(self.table, "data", None)
        snapshot_items = getattr(store, "snapshot_items", None)
        if snapshot_items is None:
            copied = [
                (partition_of(key), key, record) for key, record in self.table.items() if record
            ]
            yield from ((p, key, record) for p, key, record in copied if p in partitions)
            return
        loads = contract_codec.loads
        for partition, key, value in snapshot_items(partitions):
            record = loads(value)
            if record:
                yield partition, key.decode(), record

    def due(self, record: TableValue) -> datetime | None:
        """The earliest due time of ``record``'s running journeys, without loading them
        (``journeys.timers.stored_next_due``; equal to the engine's ``due``)."""
        earliest = None
        for name in self.names:  # a loop: the rebuild calls this for every customer
            state = record.get(name)
            if state is not None:
                due = stored_next_due(state)
                if due is not None and (earliest is None or due < earliest):
                    earliest = due
        return earliest

    def reset(self) -> None:
        """Partitions were assigned or revoked: the cache may hold keys that moved. Pending
        writes stay: the batch that made them flushes them (into its transactions)."""
        self.cache.clear()


def _merged(pending: Pending) -> TableValue:
    new: TableValue = {} if pending.fresh else dict(pending.base)
    for name in pending.changed:
        new[name] = dump_state(pending.states[name])
    return new
