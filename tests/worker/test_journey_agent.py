"""The journey agent in-process: state written back, triggers sent, duplicates ignored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import default_journey, driver, in_holdout
from schemas import codec
from schemas.events import TouchpointEvent
from schemas.internal import MergeRequest
from schemas.triggers import Trigger
from tests.worker.fixtures import close, processed, runtime

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def event(event_id: str, customer: str, type_: str, **fields: object) -> bytes:
    e = TouchpointEvent(
        event_id=event_id, customer_id=customer, type=type_, event_time=T0, **fields
    )
    return codec.dumps(e)


def test_a_signup_writes_state_and_sends_the_welcome_to_both_topics() -> None:
    asyncio.run(_signup())


async def _signup() -> None:
    rt = runtime([default_journey()])
    customer = next(f"c{i}" for i in range(100) if not in_holdout(f"c{i}", "lifecycle", 5))
    agent = rt.registered.journey_agent
    async with agent.test_context() as a:
        for _ in range(2):  # the second is a redelivery: a duplicate, nothing sent
            await a.put(event("e1", customer, "signed_up"), key=customer)
    close(rt)
    [(key, data)] = rt.out.triggers.messages  # the bytes the topic gets, encoded once
    trigger = Trigger.model_validate_json(data)
    assert key == customer and trigger.kind == "onboarding.welcome"
    assert rt.out.families["onboarding"].messages == [(customer, data)]
    assert rt.customers.table[customer]["lifecycle"]["stage"] == "onboarding"
    assert len(rt.due_index) == 1  # the day-1 nudge is scheduled
    text = rt.metrics.render().decode()
    assert 'journeys_events_consumed_total{event_type="signed_up",outcome="duplicate"} 1.0' in text


def test_an_identify_asks_the_anonymous_key_for_its_state() -> None:
    asyncio.run(_identify())


async def _identify() -> None:
    rt = runtime([default_journey()])
    agent = rt.registered.journey_agent
    async with agent.test_context() as a:
        raw = event("e2", "cust-9", "identify", anonymous_id="anon-9")
        await a.put(raw, key="cust-9")
        await processed(rt, a)
    close(rt)
    [(key, request)] = rt.out.wakeups.messages
    assert key == "anon-9"
    assert request == MergeRequest(
        anonymous_id="anon-9", customer_id="cust-9", event_id="e2", at=T0
    )


def test_the_state_cache_is_the_table_and_follows_merges_and_clears() -> None:
    asyncio.run(_cache())


async def _cache() -> None:
    from journeys.state import load_state
    from schemas.internal import MergeState

    rt = runtime([default_journey()])
    agent = rt.registered.journey_agent
    cache, table = rt.customers.cache, rt.customers.table
    async with agent.test_context() as a:
        anonymous = TouchpointEvent(
            event_id="p1", anonymous_id="anon-5", type="page_viewed", event_time=T0
        )
        await a.put(codec.dumps(anonymous), key="anon-5")
        await a.put(event("s1", "cust-5", "signed_up"), key="cust-5")
        await processed(rt, a)
        for key in ("anon-5", "cust-5"):  # cached states are what the table holds
            record, states = cache.get(key) or ({}, {})
            assert record == table[key]
            assert states == {n: load_state(obj) for n, obj in table[key].items()}
        # internal messages are told apart by their kind, whatever topic they come from
        request = MergeRequest(anonymous_id="anon-5", customer_id="cust-5", event_id="i1")
        await a.put(codec.dumps(request), key="anon-5")
        await processed(rt, a)
        [(key, forwarded)] = [m for m in rt.out.wakeups.messages if isinstance(m[1], MergeState)]
        assert key == "cust-5" and forwarded.anonymous_id == "anon-5"
        assert "anon-5" not in table and cache.get("anon-5") is None
        await a.put(codec.dumps(forwarded), key="cust-5")
        await processed(rt, a)
        record, states = cache.get("cust-5") or ({}, {})
        assert record == table["cust-5"] and states["lifecycle"].events == 2
        rt.customers.reset()
        assert len(cache) == 0
    close(rt)


def test_time_based_rules_fire_inline_when_an_event_moves_the_partitions_time() -> None:
    asyncio.run(_inline_timers())


async def _inline_timers() -> None:
    rt = runtime([default_journey()])
    first, other = [f"c{i}" for i in range(100) if not in_holdout(f"c{i}", "lifecycle", 5)][:2]
    agent = rt.registered.journey_agent
    async with agent.test_context() as a:
        await a.put(event("e1", first, "signed_up"), key=first)
        await processed(rt, a)
        assert [Trigger.model_validate_json(v).kind for _, v in rt.out.triggers.messages] == [
            "onboarding.welcome"
        ]
        later = TouchpointEvent(
            event_id="e2", customer_id=other, type="page_viewed",
            event_time=T0 + timedelta(days=1, hours=1),
        )  # fmt: skip
        await a.put(codec.dumps(later), key=other)  # same partition: its time moves on
        await processed(rt, a)
    close(rt)
    kinds = [(k, Trigger.model_validate_json(v).kind) for k, v in rt.out.triggers.messages]
    assert kinds == [(first, "onboarding.welcome"), (first, "onboarding.nudge_day_1")]
    assert rt.out.wakeups.messages == []  # no round trip through the wakeups topic
    get = rt.metrics.registry.get_sample_value
    assert get("journeys_timer_wakeups_total", {"path": "inline"}) == 1
    assert get("journeys_timer_wakeups_total", {"path": "topic"}) == 0


class FailingOn:
    """The engine, failing on one event id the way a defect would."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.on_time, self.on_merge = driver.on_time, driver.on_merge
        self.forwarded = driver.forwarded
        self.due, self.link_of = driver.due, driver.link_of
        self.overtaken = driver.overtaken

    def on_event(self, definitions: Any, states: Any, event: TouchpointEvent, /) -> Any:
        if event.event_id == self.event_id:
            raise OverflowError("date value out of range")
        return driver.on_event(definitions, states, event)


def test_an_unexpected_error_dead_letters_the_event_and_the_batch_goes_on() -> None:
    asyncio.run(_contained())


async def _contained() -> None:
    rt = runtime([default_journey()], engine=FailingOn("bad"))
    customers = [f"c{i}" for i in range(100) if not in_holdout(f"c{i}", "lifecycle", 5)][:2]
    agent = rt.registered.journey_agent
    async with agent.test_context() as a:
        await a.put(event("bad", customers[0], "signed_up"), key=customers[0])
        await a.put(event("good", customers[1], "signed_up"), key=customers[1])
        await processed(rt, a)
    close(rt)
    [(key, letter)] = rt.out.deadletters.messages
    assert key in (customers[0], customers[0].encode()) and letter.reason == "processing_error"
    assert letter.message == "OverflowError: date value out of range"
    assert letter.payload() == event("bad", customers[0], "signed_up")
    [(welcomed, _)] = rt.out.triggers.messages
    assert welcomed == customers[1] and customers[0] not in rt.customers.table
    get = rt.metrics.registry.get_sample_value
    assert get("journeys_dead_letters_total", {"reason": "processing_error"}) == 1


def test_an_event_later_than_the_allowed_lateness_is_dead_lettered_too_late() -> None:
    asyncio.run(_too_late())


async def _too_late() -> None:
    rt = runtime([default_journey()])
    agent = rt.registered.journey_agent
    stale = event("e0", "c-late", "page_viewed")  # T0
    async with agent.test_context() as a:
        recent = TouchpointEvent(
            event_id="e1", customer_id="c-late", type="page_viewed",
            event_time=T0 + timedelta(days=30),
        )  # fmt: skip
        await a.put(codec.dumps(recent), key="c-late")
        await a.put(stale, key="c-late")
        await processed(rt, a)
    close(rt)
    [(_, letter)] = rt.out.deadletters.messages
    assert letter.reason == "too_late" and letter.payload() == stale
    assert letter.message == (
        "event e0: event_time 2026-11-02T12:00:00Z is older than its journeys' allowed lateness"
    )
    get = rt.metrics.registry.get_sample_value
    assert get("journeys_dead_letters_total", {"reason": "too_late"}) == 1
    late = {"event_type": "page_viewed", "outcome": "late"}
    assert get("journeys_events_consumed_total", late) == 1
    dead = {"event_type": "page_viewed", "outcome": "dead_lettered"}
    assert get("journeys_events_consumed_total", dead) == 0
