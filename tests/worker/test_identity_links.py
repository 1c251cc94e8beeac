"""Identity links through the journey agent in-process, across partitions.

What the worker sends to its own keyed and wakeups topics is put back into the agent
(:func:`pump`: the round trips a broker makes), so a link takes its real path: the
linking event at the customer's partition, the ``MergeRequest`` at the anonymous key's,
the ``MergeState`` back at the customer's. Each story's triggers equal, id for id,
what replay (``streams.replay.timeline.Replayer``) computes from the same events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from journeys import default_journey
from schemas import codec
from schemas.events import TouchpointEvent
from schemas.internal import MergeRequest, MergeState
from schemas.triggers import Trigger
from streams.kafka.keys import partition_for
from streams.replay.timeline import Replayer, delivered
from streams.worker.links import linked_to
from streams.worker.runtime import Runtime
from tests.worker import loop
from tests.worker.fixtures import processed
from tests.worker.loop import Worker, at_hours, keys_on

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PARTITIONS = 2
J = default_journey()


A = keys_on(0, "anon", J.name, PARTITIONS)[0]
C, C2 = keys_on(1, "cust", J.name, PARTITIONS, 2)


tp = at_hours(T0)


def story(body: Callable[[Worker], Awaitable[None]], **settings: Any) -> Runtime:
    return loop.story(body, [J], PARTITIONS, **settings)


def replayed(events: list[TouchpointEvent]) -> tuple[Replayer, list[str]]:
    replayer = Replayer([J])
    ids = [
        t.trigger_id
        for e in events
        for s in replayer.event(e)
        for _, o in s.outcomes
        for t in delivered(o)
    ]
    return replayer, ids


BEFORE = [
    tp("a-o1", 0, "order_completed", anonymous_id=A, properties={"amount": 600}),
    tp("s1", 1, "signed_up", customer_id=C),
    tp("o1", 2, "order_completed", customer_id=C, properties={"amount": 500}),
    tp("i1", 3, "identify", customer_id=C, anonymous_id=A),
]
AFTER = [
    tp("a-o2", 4, "order_completed", anonymous_id=A, properties={"amount": 10}),
    tp("a-p1", 5, "page_viewed", anonymous_id=A),
]


def test_a_link_across_partitions_merges_once_and_later_anonymous_events_follow_it() -> None:
    assert partition_for(A, PARTITIONS) != partition_for(C, PARTITIONS)
    seen: dict[str, Any] = {}

    async def body(w: Worker) -> None:
        await w.send(*BEFORE)
        seen["triggers"] = [(t.customer_id, t.rule, t.cause.key) for t in w.triggers()]
        seen["link"] = w.rt.links.get(A)
        await w.send(*AFTER)
        seen["forwarded"] = [(k, e.event_id, e.customer_id) for k, e in w.rt.out.keyed.messages]

    rt = story(body)
    assert seen["triggers"] == [(C, "welcome", "event:s1"), (C, "vip", "event:i1")]
    assert seen["link"] == {"linked_to": C, "event_id": "i1", "at": "2026-03-02T15:00:00Z"}
    assert seen["forwarded"] == [(C, "a-o2", C), (C, "a-p1", C)]  # re-keyed, then stepped
    assert set(rt.customers.table) == {C}  # no orphan anonymous state
    state = rt.customers.table[C]["lifecycle"]
    assert (state["events"], state["attributes"]["lifetime_spend"]) == (6, 1110)
    replayer, ids = replayed(BEFORE + AFTER)
    assert [Trigger.model_validate_json(v).trigger_id for _, v in rt.out.triggers.messages] == ids
    assert replayer.states[C]["lifecycle"].events == 6


def test_a_merge_request_is_idempotent_and_the_first_link_wins() -> None:
    async def body(w: Worker) -> None:
        await w.send(*BEFORE)
        sent = len(w.rt.out.wakeups.messages)
        for customer in (C, "cust-other"):  # again, then to someone else
            await w.put(A, MergeRequest(anonymous_id=A, customer_id=customer, event_id="x"))
        await processed(w.rt, w.agent)
        assert w.rt.out.wakeups.messages[sent:] == []
        assert linked_to(w.rt, A) == C

    story(body)


def test_a_chain_of_links_forwards_hop_by_hop_to_the_final_customer() -> None:
    alias = tp("al1", 6, "aliased", customer_id=C2, anonymous_id=C)  # C is now known as C2
    later = [
        tp("a-p2", 7, "page_viewed", anonymous_id=A),  # A -> C -> C2
        tp("c-k1", 8, "key_action", customer_id=C),  # C -> C2
        tp("al2", 9, "aliased", customer_id=C, anonymous_id=C2),  # the other way: no loop
    ]
    events = [*BEFORE, alias, *later]

    async def body(w: Worker) -> None:
        await w.send(*events)

    rt = story(body)
    assert set(rt.customers.table) == {C2}
    assert (linked_to(rt, A), linked_to(rt, C), linked_to(rt, C2)) == (C, C2, None)
    hops = [(k, e.event_id) for k, e in rt.out.keyed.messages]
    assert hops == [(C, "a-p2"), (C2, "a-p2"), (C2, "c-k1"), (C2, "al2")]
    replayer, ids = replayed(events)
    assert [Trigger.model_validate_json(v).trigger_id for _, v in rt.out.triggers.messages] == ids
    assert rt.customers.table[C2]["lifecycle"]["events"] == 8
    assert replayer.states[C2]["lifecycle"].events == 8


def test_a_loop_made_by_racing_links_is_cut_at_its_smallest_key() -> None:
    x, y = C, C2  # x < y

    async def body(w: Worker) -> None:
        await w.send(
            tp("x1", 0, "signed_up", customer_id=x), tp("y1", 1, "key_action", customer_id=y)
        )
        # Both links requested before either is known: x -> y and y -> x.
        await w.put(x, MergeRequest(anonymous_id=x, customer_id=y, event_id="l1", at=T0))
        await w.put(y, MergeRequest(anonymous_id=y, customer_id=x, event_id="l2", at=T0))
        await w.pump()
        await w.send(tp("y2", 2, "page_viewed", customer_id=y))

    rt = story(body)
    assert set(rt.customers.table) == {x}
    assert (linked_to(rt, x), linked_to(rt, y)) == (None, x)
    assert rt.customers.table[x]["lifecycle"]["events"] == 3
    kinds = [type(v).__name__ for _, v in rt.out.wakeups.messages]
    assert kinds.count("MergeState") == 3  # both handed over, y's passed back to x


def test_a_subscription_made_anonymously_is_served_to_the_customer() -> None:
    asked = tp("fr-a", 0, "feature_requested", anonymous_id=A, properties={"feature_id": "dm"})
    release = tp(
        "rel-1", 200, "feature_released", customer_id="product",
        properties={"feature_id": "dm", "name": "Dark mode"},
    )  # fmt: skip
    events = [asked, *BEFORE, release]

    async def body(w: Worker) -> None:
        await w.send(*events)

    rt = story(body)
    sent = [Trigger.model_validate_json(v) for _, v in rt.out.triggers.messages]
    built = [(t.customer_id, t.cause.event_ids) for t in sent if t.rule == "you_asked_we_built"]
    assert built == [(C, ["rel-1/feature_requests/" + C])]
    _, ids = replayed(events)
    assert [Trigger.model_validate_json(v).trigger_id for _, v in rt.out.triggers.messages] == ids


def test_merge_states_of_the_first_version_still_merge() -> None:
    async def body(w: Worker) -> None:
        await w.send(tp("s1", 1, "signed_up", customer_id=C))
        anon = tp("p1", 0, "page_viewed", anonymous_id=A)
        await w.send(anon)
        record = w.rt.customers.record(A)
        old = MergeState(anonymous_id=A, customer_id=C, event_id="i0", states=record)
        raw = {k: v for k, v in old.model_dump(mode="json").items() if k not in ("at", "via")}
        await w.put(C, codec.dumps(raw))
        await w.pump()

    rt = story(body)
    assert rt.customers.table[C]["lifecycle"]["events"] == 2
