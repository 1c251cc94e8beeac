"""Retrying what a broker answers "not now": one rule for every Kafka client of ours.

A brand-new broker (a fresh machine, a test cluster, a restarted node) answers the first
group and transaction requests with retriable errors while it creates and loads its
internal topics: ``CoordinatorLoadInProgressError``, ``NotCoordinatorError``,
``CoordinatorNotAvailableError``, ``NodeNotReadyError``, a leader not elected yet. Both
client libraries mark such errors ``retriable``; their own retries cover some calls
(fetch, produce) but not others (the admin client's offset fetch, a client's start-up).
:func:`retry` and :func:`retry_async` run one operation again, with a growing pause,
until it succeeds, a non-retriable error is raised, or the deadline passes (then the
last error is raised as it was).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiokafka.errors
import kafka.errors

T = TypeVar("T")

DEADLINE_S = 60.0  # a fresh single broker is ready within seconds; a cluster, tens
FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 2.0

# Retriable whatever their ``retriable`` flag says (a connection not made yet: the
# broker starting, or a node of a cluster restarting).
_ALWAYS = (
    kafka.errors.NodeNotReadyError,
    kafka.errors.KafkaConnectionError,
    aiokafka.errors.KafkaConnectionError,
    aiokafka.errors.NoBrokersAvailable,
    aiokafka.errors.NodeNotReadyError,
)


def retriable(exc: BaseException) -> bool:
    """Whether ``exc`` is an error the broker may stop answering with on its own."""
    if isinstance(exc, _ALWAYS):
        return True
    if isinstance(exc, kafka.errors.KafkaError | aiokafka.errors.KafkaError):
        return bool(getattr(exc, "retriable", False))
    return False


def _pauses(deadline_s: float) -> Callable[[], float | None]:
    """The next pause (doubling up to ``MAX_PAUSE_S``), or None once past the deadline."""
    ends = time.monotonic() + deadline_s
    pause = FIRST_PAUSE_S

    def next_pause() -> float | None:
        nonlocal pause
        left = ends - time.monotonic()
        if left <= 0:
            return None
        now, pause = min(pause, left), min(pause * 2, MAX_PAUSE_S)
        return now

    return next_pause


def retry(
    operation: Callable[[], T],
    *,
    deadline_s: float = DEADLINE_S,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """``operation()``, run again after each retriable error until ``deadline_s``."""
    next_pause = _pauses(deadline_s)
    while True:
        try:
            return operation()
        except Exception as exc:
            pause = next_pause() if retriable(exc) else None
            if pause is None:
                raise
            if on_retry is not None:
                on_retry(exc)
            time.sleep(pause)


async def retry_async(
    operation: Callable[[], Awaitable[T]],
    *,
    deadline_s: float = DEADLINE_S,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """``await operation()``, awaited again after each retriable error until
    ``deadline_s``."""
    next_pause = _pauses(deadline_s)
    while True:
        try:
            return await operation()
        except Exception as exc:
            pause = next_pause() if retriable(exc) else None
            if pause is None:
                raise
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(pause)


async def start(client: object, *, deadline_s: float = DEADLINE_S) -> None:
    """``await client.start()`` for an aiokafka producer or consumer, retried. A start
    that failed leaves the client stopped (aiokafka closes it), so it can start again."""
    starter: Callable[[], Awaitable[None]] = client.start  # type: ignore[attr-defined]  # duck-typed: AIOKafkaProducer/Consumer
    await retry_async(starter, deadline_s=deadline_s)
