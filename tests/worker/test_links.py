"""Fan-out through the journey agent in-process: the index decides in event time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import default_journey
from journeys.fanout import load_index
from schemas import codec
from schemas.events import TouchpointEvent
from schemas.internal import FanoutPublish, FanoutSubscribe
from tests.worker.fixtures import close, processed, runtime

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = "feature_requests:dark-mode"
RELEASE = TouchpointEvent(
    event_id="rel-1",
    customer_id="product",
    type="feature_released",
    event_time=T0,
    properties={"feature_id": "dark-mode", "name": "Dark mode"},
)
ACTION = {
    "action": "publish",
    "index": "feature_requests",
    "key": "dark-mode",
    "derived_type": "requested_feature_released",
    "clear": True,
}
MESSAGES: dict[str, Any] = {
    "pub": FanoutPublish(index_key=KEY, event=RELEASE, action=ACTION),
    "ann": FanoutSubscribe(index_key=KEY, customer_id="ann", at=T0 - timedelta(days=2)),
    "bob": FanoutSubscribe(index_key=KEY, customer_id="bob", at=T0),
    "dan": FanoutSubscribe(index_key=KEY, customer_id="dan", at=T0 + timedelta(minutes=1)),
}


async def _run(order: list[str]) -> tuple[list[tuple[Any, Any]], Any]:
    rt = runtime([default_journey()])
    agent = rt.registered.journey_agent
    async with agent.test_context() as a:
        for name in order:
            await a.put(codec.dumps(MESSAGES[name].model_dump(mode="json")), key=KEY)
        await processed(rt, a)
    close(rt)
    return rt.out.keyed.messages, load_index(rt.fanout.table[KEY])


def test_release_before_or_after_the_requests_derives_the_same_events() -> None:
    expected = [
        (c, f"rel-1/feature_requests/{c}", "requested_feature_released", T0) for c in ("ann", "bob")
    ]
    for order in (
        ["ann", "bob", "dan", "pub"],
        ["pub", "dan", "bob", "ann"],
        ["bob", "pub", "dan", "ann"],
    ):
        sent, index = asyncio.run(_run(order))
        got = sorted((k, e.event_id, e.type, e.event_time) for k, e in sent)
        assert got == expected, order
        assert index.subscribers == {"dan": T0 + timedelta(minutes=1)}, order
        assert [p.event.event_id for p in index.publications] == ["rel-1"]


def test_a_subscription_without_a_time_counts_as_made_before_any_release() -> None:
    legacy = {"kind": "fanout_subscribe", "index_key": KEY, "customer_id": "old"}
    MESSAGES["legacy"] = FanoutSubscribe.model_validate(legacy)
    try:
        sent, _ = asyncio.run(_run(["pub", "legacy"]))
    finally:
        del MESSAGES["legacy"]
    assert [(k, e.event_id) for k, e in sent] == [("old", "rel-1/feature_requests/old")]
