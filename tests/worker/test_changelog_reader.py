"""Stopping the changelog read-back reader (``eos.consumer._stop``): aiokafka 0.14 can
raise a CancelledError of its own from ``stop()``; that must not end table recovery,
while a real cancellation of the caller still goes through."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.eos import consumer


class Reader:
    async def stop(self) -> None:
        raise asyncio.CancelledError  # what aiokafka's NoGroupCoordinator.close lets out


def test_a_cancelled_error_of_aiokafkas_own_is_not_a_cancellation() -> None:
    async def main() -> str:
        await consumer._stop(Reader())  # type: ignore[arg-type]
        return "went on"

    assert asyncio.run(main()) == "went on"


def test_a_cancellation_of_the_caller_goes_through() -> None:
    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # requested: the next await raises, and cancelling() says so
        await consumer._stop(Reader())  # type: ignore[arg-type]

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
