"""Exactly-once fixes for faust's transaction manager (see streams/EXACTLY_ONCE.md).

faust 0.15.3 keeps one transactional producer per (topic group, partition) and commits
a partition's consumed offsets in that producer's transaction. Three things break
exactly-once; each is fixed here, where it happens:

1. ``TransactionManager.send`` picks the transaction from the *destination* partition,
   and ``group_for_topic`` raises ``KeyError`` for a topic the app does not consume
   (triggers, dead letters). Here a send made while processing an event joins the
   transaction of the event's *source* partition, whose offset commits with it. A table
   changelog write (sent later from faust's buffer, outside the event) keeps the
   destination rule: its partition is the source event's partition, so it is the same
   transaction. Any other send outside an event (timer wake-ups, idempotent) goes
   through the plain idempotent producer, so that it is visible without waiting for a
   commit.
2. The commit does not wait for faust's send buffer, where table changelog writes
   wait, so a state write could fall into the next transaction, after the triggers it
   produced. :class:`TrackedTable` records every changelog write; the commit waits for
   them all before committing.
3. The commit runs concurrently with the agents, so a transaction could hold half of
   an event's output. Agents process each event under :attr:`Guard.lock` and ack it
   before releasing the lock; the commit takes the same lock, so a transaction holds
   whole events, with their offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import faust
from faust.tables.table import Table
from faust.transport.consumer import TransactionManager
from faust.types import TP


class Guard:
    """One per app: an agent holds the lock for one event, a commit for the commit."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self.pending: set[asyncio.Future[Any]] = set()

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:  # created lazily, inside the worker's event loop
            self._lock = asyncio.Lock()
        return self._lock

    def track(self, fut: asyncio.Future[Any]) -> None:
        self.pending.add(fut)
        fut.add_done_callback(self.pending.discard)

    async def drain(self) -> None:
        """Wait until every tracked changelog write is acknowledged by the broker."""
        while self.pending:
            await asyncio.gather(*list(self.pending))


def guard_of(app: Any) -> Guard:
    guard = getattr(app, "eos_guard", None)
    if guard is None:
        guard = Guard()
        app.eos_guard = guard  # one per app instance
    return guard


class TrackedTable(Table[Any, Any]):
    """A faust table whose changelog writes the commit waits for."""

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        fut = super().send_changelog(*args, **kwargs)
        guard_of(self.app).track(fut)
        return fut


class SourceTransactionManager(TransactionManager):
    """faust's transaction manager with each event's output atomic with its offset."""

    def _tid(self, topic: str, partition: int) -> str | None:
        try:
            group = self.app.assignor.group_for_topic(topic)
        except KeyError:
            return None
        tid = f"{self.app.conf.id}-{group}-{partition}"
        producers = self.producer._transaction_producers  # type: ignore[attr-defined]
        return tid if tid in producers else None

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        tid: str | None = None
        event = faust.current_event()
        if event is not None:
            tid = self._tid(event.message.topic, event.message.partition)
        elif topic.endswith("-changelog") and partition is not None:
            tid = self._tid(topic, partition)
        return await self.producer.send(
            topic, key, value, partition, timestamp, headers, transactional_id=tid
        )

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        guard = guard_of(self.app)
        async with guard.lock:
            await guard.drain()
            return bool(await super().commit(offsets, start_new_transaction))


def install(app: faust.App) -> Guard:
    """Use the fixed transaction manager in ``app`` (before the worker starts)."""
    setattr(app.transport, "TransactionManager", SourceTransactionManager)  # noqa: B010
    return guard_of(app)
