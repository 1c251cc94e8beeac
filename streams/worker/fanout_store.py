"""The ``fanout-index`` table: one :class:`~journeys.fanout.FanoutIndex` per index key.

One JSON value per index key (a feature id...), written only while a message keyed by
that key is processed (``FanoutSubscribe``, ``FanoutPublish``: the table is
co-partitioned with the journey agent's input), so in its partition, with its changelog
in that message's transaction. The index itself is changed only by the pure
``journeys.fanout`` functions; this store reads and writes it.

An erasure (:mod:`streams.worker.erasure`) removes the erased ids from every index key
that names them (waiting, served, or as a kept publication's publisher), on every
partition. Index keys are not derived from customer ids, so the erasure's keys cannot say
where to look; the store keeps a reverse map instead: per partition, each customer id ->
the index keys whose value names it. It is built from the table at the first erasure
after an assignment (one read of the local index, where there used to be one per
erasure message), then kept by every write through the store, so an erasure touches
only the index keys that name its ids. The map may hold more than the table (an id
removed from a value by a later write stays mapped): a key it names in vain is read and
left unwritten (``journeys.fanout.forget`` removes nothing), so the result is the full
scan's. It is dropped whenever partitions are assigned or revoked (:meth:`reset`): a
partition that moved, or a standby's store faust followed in the background, is read
again from the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from journeys import fanout
from journeys.fanout import FanoutIndex

Holders = dict[str, set[str]]  # customer id -> index keys whose value names it


class FanoutStore:
    """The fan-out index of this worker's partitions (``table``: a faust table in the
    worker, a dict in tests of the store alone), with its reverse map for erasures."""

    def __init__(self, table: MutableMapping[str, Any], partition_of: Callable[[str], int]) -> None:
        self.table = table
        self.partition_of = partition_of
        self._holders: dict[int, Holders] | None = None  # None: not built since a rebalance

    def get(self, key: str) -> FanoutIndex:
        """The index of ``key`` (empty: none)."""
        return fanout.load_index(self.table.get(key))

    def put(self, key: str, index: FanoutIndex) -> None:
        """Write the index of ``key`` (reassigned: the changelog gets it)."""
        self.table[key] = index.model_dump(mode="json")
        if self._holders is not None:
            self._note(self._holders, key, index)

    def forget(self, partition: int, customers: Iterable[str]) -> int:
        """Remove ``customers`` from every index key of ``partition`` that names them (an
        erasure); returns the number of entries removed."""
        holders = self._built().get(partition, {})
        erased = set(customers)
        named = sorted({key for c in erased for key in holders.pop(c, ())})
        removed = 0
        for key in named:
            index, count = fanout.forget(self.get(key), erased)
            if count:
                self.put(key, index)
                removed += count
        return removed

    def reset(self) -> None:
        """Partitions were assigned or revoked: rebuild the reverse map when next needed."""
        self._holders = None

    def _built(self) -> dict[int, Holders]:
        if self._holders is None:
            built: dict[int, Holders] = {}
            for key, value in list(self.table.items()):
                self._note(built, key, fanout.load_index(value))
            self._holders = built
        return self._holders

    def _note(self, holders: dict[int, Holders], key: str, index: FanoutIndex) -> None:
        names = {*index.subscribers, *index.served, *(p.event.key for p in index.publications)}
        if names:
            partition = holders.setdefault(self.partition_of(key), {})
            for name in names:
                partition.setdefault(name, set()).add(key)
