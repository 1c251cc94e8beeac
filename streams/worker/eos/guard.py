"""The agents' lock and the offsets of the events they finished (findings 3 and 10).

faust's commit runs concurrently with the agents, and reads the offsets to commit before
our commit can take any lock: a transaction could hold half of an event's output, or
the whole output of an event without its offset. So an agent processes each event under
:attr:`Guard.lock` and, still under it, records the offset after the event
(:meth:`Guard.finish`); the commit takes the same lock and commits those offsets, so a
transaction holds whole events, each with its offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from faust.types import TP


class Guard:
    """One per app: an agent holds the lock for one event, a commit for the commit.

    It also keeps, per source partition, the offset after the last event an agent
    finished (:meth:`finish`, under the lock). The commit sends *these* offsets to the
    transactions, read under the same lock, instead of the ones faust read before the
    lock was taken (finding 10): so a transaction holds exactly the output of the events
    whose offsets it commits.
    """

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self.pending: set[asyncio.Future[Any]] = set()
        self.finished: dict[TP, int] = {}
        self.committed: dict[TP, int] = {}
        self.failed: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        """A batch failed after part of its output may have joined the open transactions:
        nothing may commit any more (the worker stops; its successor aborts them and
        processes the batch again from the committed offsets)."""
        if self.failed is None:
            self.failed = exc

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:  # created lazily, inside the worker's event loop
            self._lock = asyncio.Lock()
        return self._lock

    def track(self, fut: asyncio.Future[Any]) -> None:
        """Remember a changelog write until the broker acknowledges it."""
        self.pending.add(fut)
        fut.add_done_callback(self.pending.discard)

    async def drain(self) -> None:
        """Wait until every tracked changelog write is acknowledged by the broker."""
        while self.pending:
            await asyncio.gather(*list(self.pending))

    def finish(self, event: Any) -> None:
        """``event`` is processed and all its output sent: ack it, record its offset.

        Call it while holding :attr:`lock`, after the event's last send. The recorded
        offset never goes back: after a rebalance that leaves a partition here, faust seeks
        it to its committed offset and the agents see events again whose output is already
        in the open transaction; committing a lower offset after that would make a restart
        process them once more, though their output is committed."""
        event.ack()
        message = event.message
        tp = message.tp
        self.finished[tp] = max(self.finished.get(tp, 0), message.offset + 1)

    def finish_batch(self, events: Iterable[Any]) -> None:
        """:meth:`finish` for a batch: ack each event, record per partition its highest
        offset + 1, in one pass over the batch and one update per partition.

        Same rules as :meth:`finish`: under :attr:`lock`, after the batch's last send; the
        recorded offset never goes back."""
        highest: dict[TP, int] = {}
        for event in events:
            event.ack()
            message = event.message
            tp = message.tp
            after = message.offset + 1
            if after > highest.get(tp, 0):
                highest[tp] = after
        finished = self.finished
        for tp, after in highest.items():
            if after > finished.get(tp, 0):
                finished[tp] = after

    def to_commit(self, assigned: set[TP]) -> dict[TP, int]:
        """The offsets finished since the last commit, of partitions still assigned."""
        return {
            tp: offset
            for tp, offset in self.finished.items()
            if tp in assigned and self.committed.get(tp) != offset
        }

    def keep_only(self, assigned: set[TP]) -> None:
        """Forget the offsets of partitions no longer assigned here (a rebalance)."""
        for book in (self.finished, self.committed):
            for tp in [tp for tp in book if tp not in assigned]:
                del book[tp]


def guard_of(app: Any) -> Guard:
    """The app's one :class:`Guard`, created on first use."""
    guard = getattr(app, "eos_guard", None)
    if guard is None:
        guard = Guard()
        app.eos_guard = guard  # one per app instance
    return guard
