"""Eager steps (streams.worker.eager) and the consumer's eager record delivery
(StableOffsetConsumer.wait_first): a delivery that finishes at once costs no task and
wins, one that waits goes on as mode's wait_first would run it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mode.utils.locks import Event

from streams.worker.eager import Started, first_step
from streams.worker.eos import StableOffsetConsumer


async def returns_at_once(log: list[str]) -> str:
    log.append("ran")
    return "done"


async def waits_for(future: asyncio.Future[str], log: list[str]) -> str:
    log.append("before")
    try:
        value = await future
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    log.append("after")
    await asyncio.sleep(0)  # a bare yield to the loop after the first suspension
    log.append("after a yield")
    return value + "!"


def test_a_coroutine_that_never_waits_runs_to_its_result_in_the_first_step() -> None:
    log: list[str] = []
    assert first_step(returns_at_once(log)) == (True, "done")
    assert log == ["ran"]


def test_an_exception_before_the_first_suspension_is_raised_by_the_step() -> None:
    async def fails() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        first_step(fails())


def test_a_coroutine_that_waits_goes_on_where_it_stopped_when_awaited() -> None:
    async def main() -> tuple[str, list[str]]:
        log: list[str] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        finished, rest = first_step(waits_for(future, log))
        assert not finished and isinstance(rest, Started)
        assert log == ["before"]  # ran up to the await, in the caller
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        assert log == ["before"] and not task.done()
        future.set_result("value")
        return await task, log

    assert asyncio.run(main()) == ("value!", ["before", "after", "after a yield"])


def test_an_exception_after_the_first_suspension_reaches_the_awaiting_task() -> None:
    async def main() -> None:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        _, rest = first_step(waits_for(future, []))
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        future.set_exception(ValueError("broken"))
        with pytest.raises(ValueError, match="broken"):
            await task

    asyncio.run(main())


def test_cancelling_the_awaiting_task_cancels_the_coroutine_where_it_waits() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        _, rest = first_step(waits_for(future, log))
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert future.cancelled()  # the coroutine's await was cancelled, as in a task
        return log

    assert asyncio.run(main()) == ["before", "cancelled"]


# -- the consumer's record delivery


def consumer() -> Any:
    """The worker's consumer class, without a transport: wait_first needs only its
    events and its loop."""
    c = StableOffsetConsumer.__new__(StableOffsetConsumer)
    c.suspend_flow = asyncio.Event()
    c._stopped, c._crashed = Event(), Event()  # mode's Service sets these
    c._loop = asyncio.get_running_loop()
    return c


def test_a_delivery_that_finishes_at_once_wins_without_a_task() -> None:
    async def main() -> None:
        c = consumer()
        log: list[str] = []
        delivery = returns_at_once(log)
        suspend = c.suspend_flow.wait()
        created: list[object] = []
        loop = asyncio.get_running_loop()
        factory = loop.get_task_factory()

        def counted(lp: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
            created.append(coro)
            return asyncio.Task(coro, loop=lp, **kw)

        loop.set_task_factory(counted)
        try:
            result = await c.wait_first(delivery, suspend)
        finally:
            loop.set_task_factory(factory)
        assert (result.done, result.results, result.stopped) == ([delivery], ["done"], False)
        assert log == ["ran"] and created == []
        assert suspend.cr_frame is None  # closed, never run: no "never awaited" warning

    asyncio.run(main())


def test_a_delivery_that_waits_is_finished_by_mode_wait_first() -> None:
    async def main() -> tuple[Any, list[str]]:
        c = consumer()
        log: list[str] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, "late")
        result = await c.wait_first(waits_for(future, log), c.suspend_flow.wait())
        return result, log

    result, log = asyncio.run(main())
    assert (result.results, result.stopped) == (["late!"], False)
    assert log == ["before", "after", "after a yield"]


def test_a_waiting_delivery_gives_way_when_the_flow_is_suspended() -> None:
    async def main() -> tuple[Any, list[str], bool]:
        c = consumer()
        log: list[str] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, c.suspend_flow.set)
        result = await c.wait_first(waits_for(future, log), c.suspend_flow.wait())
        await asyncio.sleep(0)
        return result, log, future.cancelled()

    result, log, cancelled = asyncio.run(main())
    assert (result.results, result.stopped) == ([True], False)  # the flow's event won
    assert log == ["before", "cancelled"] and cancelled  # mode cancelled the delivery


def test_a_suspended_flow_delivers_the_way_mode_does() -> None:
    """With the flow suspended already, nothing runs eagerly: mode's wait_first decides
    (both finish in its first turn: both win)."""

    async def main() -> tuple[Any, list[str]]:
        c = consumer()
        c.suspend_flow.set()
        log: list[str] = []
        result = await c.wait_first(returns_at_once(log), c.suspend_flow.wait())
        return result, log

    result, log = asyncio.run(main())
    assert sorted(map(str, result.results)) == ["True", "done"] and log == ["ran"]
