"""The decode agent in-process (faust ``test_context``, memory://, no broker)."""

from __future__ import annotations

import asyncio
import json

from schemas.deadletters import DeadLetter
from schemas.events import TouchpointEvent
from tests.worker.fixtures import close, runtime


def test_good_events_are_rekeyed_by_customer_and_bad_bytes_dead_lettered() -> None:
    asyncio.run(_good_and_bad())


async def _good_and_bad() -> None:
    rt = runtime()
    good = {
        "event_id": "e1",
        "anonymous_id": "anon-1",
        "type": "Page Viewed",
        "event_time": "2026-11-01T10:00:00Z",
    }
    agent = rt.registered.decode_agent
    async with agent.test_context() as a:
        await a.put(json.dumps(good).encode(), key=b"whatever")
        await a.put(b"\xff\xfe not json", key=b"k2")
        await a.put(None, key=None)
    close(rt)
    [(key, event)] = rt.out.keyed.messages
    assert key == "anon-1"
    assert isinstance(event, TouchpointEvent) and event.type == "page_viewed"
    letters = [v for _, v in rt.out.deadletters.messages]
    assert [type(v) for v in letters] == [DeadLetter, DeadLetter]
    assert letters[0].payload() == b"\xff\xfe not json"
    assert letters[0].key() == b"k2"
    assert letters[1].payload() == b""
    text = rt.metrics.render().decode()
    assert 'journeys_dead_letters_total{reason="invalid_json"} 2.0' in text
