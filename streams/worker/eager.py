"""Eager steps: run a coroutine up to its first suspension in the caller, as Python 3.12's
eager tasks do, so that one which finishes without waiting costs no task at all.

faust's fetcher hands each fetched record to the conductor inside
``Service.wait_first(callback(message), suspend_flow.wait())``: four tasks created, a
wait, three cancelled, and four turns of the event loop per record, where the callback
almost always finishes at once (the stream's buffer has room, the flow is not
suspended). :func:`first_step` runs the callback to its first suspension; only when it
does suspend (a full buffer, a paused flow) is the rest, :class:`Started`, awaited the
way faust awaits it (:class:`streams.worker.eos.StableOffsetConsumer.wait_first`).
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Started:
    """A coroutine stepped once already (it yielded ``pending``), awaitable from there: the
    event loop's task drives it on exactly as if it had started it."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self.coro, self.pending
        self.pending = None
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation and the like: the coroutine's
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def first_step(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run ``coro`` until it finishes or first suspends: ``(True, its result)``, or
    ``(False, Started)`` to await for the rest. An exception it raises is raised here."""
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, Started(coro, pending)
