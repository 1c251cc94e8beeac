"""Acting for one event of a batch: faust's "current event", set by us.

faust decides where a table write goes (the store's partition, the changelog partition,
the source-partition check) and which transaction a send joins
(:class:`~streams.worker.eos.transactions.SourceTransactionManager`) from
``faust.current_event()``, a context variable its stream sets per event it yields. A
batched agent (``Stream.take_events``) gets its events from a buffer filled by another
task, so that variable is not set where the agent runs (why table writes from ``take()``
fail upstream, faust-streaming #497). :class:`acting_for` sets it for the block that
processes one event, and restores it after, the same way faust's own iteration sets it
(a weak reference to the event).
"""

from __future__ import annotations

import weakref
from contextvars import Token
from types import TracebackType
from typing import Any

import faust.streams as faust_streams


class acting_for:
    """``with acting_for(event):``: ``faust.current_event()`` is ``event`` inside."""

    __slots__ = ("_event", "_token")

    def __init__(self, event: Any) -> None:
        self._event = event
        self._token: Token[Any] | None = None

    def __enter__(self) -> None:
        current = faust_streams._current_event  # noqa: SLF001  faust's context variable, no public setter
        self._token = current.set(weakref.ref(self._event))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            faust_streams._current_event.reset(self._token)  # noqa: SLF001  see __enter__
            self._token = None
