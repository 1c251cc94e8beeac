"""The customer store: the ``customers`` table, its decoded-state cache and stage counts.

One object owns every access to the per-customer journey states, so the three views of
them cannot drift apart: the table (JSON per journey, changelog-backed), an LRU
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
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any

from journeys import Journey
from journeys.state import CustomerState, dump_state, load_state

Record = dict[str, dict[str, Any]]  # journey name -> CustomerState JSON (the table's value)
States = dict[str, CustomerState]  # journey name -> decoded state
DueOf = Callable[[Mapping[str, CustomerState]], datetime | None]
DEFAULT_CACHE_SIZE = 50_000


class StateCache:
    """Decoded states of the customers processed last (LRU), with the table value they are."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[Record, States]] = OrderedDict()

    def get(self, key: str) -> tuple[Record, States] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, record: Record, states: States) -> None:
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
    """Customers per (journey, stage) on this worker: rebuilt on assignment, then kept
    up to date by every write, so the gauge never needs a scan."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def reset(self) -> None:
        self.counts.clear()

    def update(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for journey, state in old.items():
            self.counts.setdefault(journey, Counter())[state.get("stage", "?")] -= 1
        for journey, state in new.items():
            self.counts.setdefault(journey, Counter())[state.get("stage", "?")] += 1

    def current(self) -> dict[str, dict[str, int]]:
        """Customers per stage of each journey (stages with none left out)."""
        return {
            journey: {stage: n for stage, n in stages.items() if n > 0}
            for journey, stages in self.counts.items()
        }


class CustomerStore:
    """The ``customers`` table of the journey agent, with its cache and stage counts.

    ``table`` is a faust table in the worker (a plain dict in tests of the store alone);
    only the journey agent's stream may write it (faust refuses writes elsewhere).
    """

    def __init__(
        self,
        table: MutableMapping[str, Any],
        definitions: Sequence[Journey],
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.table = table
        self.names = tuple(d.name for d in definitions)
        self.cache = StateCache(cache_size)
        self.stages = StageCounts()

    def decode(self, record: Record) -> States:
        """The states of ``record`` for the running definitions (validated, migrated)."""
        return {name: load_state(record[name]) for name in self.names if name in record}

    def read(self, key: str) -> tuple[Record, States]:
        """``key``'s table value and its decoded states: from the cache, else the table."""
        entry = self.cache.get(key)
        if entry is None:
            record: Record = self.table.get(key) or {}
            entry = (record, self.decode(record))
            self.cache.put(key, *entry)
        return entry

    def write(self, key: str, record: Record, states: States, changed: Sequence[str]) -> None:
        """Write the ``changed`` journeys of ``key`` (reassigning the key writes the
        changelog; mutating the value in place would not)."""
        if changed:
            new: Record = dict(record)
            for name in changed:
                new[name] = dump_state(states[name])
            self.table[key] = new
            self.stages.update(record, new)
            record = new
        self.cache.put(key, record, states)

    def forget(self, key: str, record: Record) -> None:
        """Delete ``key`` (its states moved elsewhere)."""
        self.cache.drop(key)
        if key in self.table:
            del self.table[key]
        self.stages.update(record, {})

    def view(self, key: str) -> Record | None:
        """The table value of ``key`` as stored (the customer view), or None."""
        record = self.table.get(key)
        return record or None

    def records(self) -> Iterator[tuple[str, Record]]:
        """Every non-empty local table value (rebuilding the timer index)."""
        for key, record in self.table.items():
            if record:
                yield key, record

    def reset(self) -> None:
        """Partitions were assigned or revoked: the cache may hold keys that moved."""
        self.cache.clear()
