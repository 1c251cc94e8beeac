"""Erasure through the journey agent in-process, across partitions.

What the worker sends to its own keyed and wakeups topics is put back into the agent on
the partition it was sent to (:meth:`Worker.pump`: the round trips a broker makes), so
an erasure takes its real path: the request on the customer's partition, ``EraseLinked``
on the anonymous key's, ``EraseSubscriptions`` on every partition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import default_journey
from schemas import codec
from schemas.erasure import ErasureConfirmation, ErasureRequest
from schemas.internal import EraseLinked
from schemas.triggers import Trigger
from streams.replay.diff import replay_triggers
from streams.replay.erasure import Erasure
from streams.replay.timeline import Arrival
from streams.worker.intake import from_erasures
from streams.worker.runtime import Runtime
from tests.worker import loop
from tests.worker.loop import Worker, at_hours, keys_on

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PARTITIONS = 2
J = default_journey()


A = keys_on(0, "anon", J.name, PARTITIONS)[0]
C, OTHER = keys_on(1, "cust", J.name, PARTITIONS, 2)


tp = at_hours(T0)


def request(request_id: str = "r1", customer: str = C, hours: float = 10) -> ErasureRequest:
    at = T0 + timedelta(hours=hours)
    return ErasureRequest(request_id=request_id, customer_id=customer, requested_at=at)


def story(body: Callable[[Worker], Awaitable[None]], **settings: Any) -> Runtime:
    return loop.story(body, [J], PARTITIONS, clock="event", **settings)


KNOWN = [
    tp("a-o1", 0, "order_completed", anonymous_id=A, properties={"amount": 600}),
    tp("a-fr", 0.5, "feature_requested", anonymous_id=A, properties={"feature_id": "dm"}),
    tp("s1", 1, "signed_up", customer_id=C),  # a day-1 nudge is pending
    tp("i1", 3, "identify", customer_id=C, anonymous_id=A),  # A merged into C
    tp("c-fr", 4, "feature_requested", customer_id=C, properties={"feature_id": "tabs"}),
    tp("o-s1", 5, "signed_up", customer_id=OTHER),  # on C's partition: not erased
]


def subscribers(rt: Runtime) -> dict[str, set[str]]:
    found = {}
    for key, value in rt.fanout.table.items():
        found[key] = {*value["subscribers"], *value["served"]}
    return found


def test_an_erasure_deletes_states_links_subscriptions_and_timer_and_confirms_once() -> None:
    seen: dict[str, Any] = {}

    async def body(w: Worker) -> None:
        await w.send(*KNOWN)
        seen["before"] = (set(w.rt.customers.table), subscribers(w.rt), w.rt.links.merged(C))
        await w.send(request())
        seen["triggers"] = len(w.triggers())
        # time passes on C's partition (its nudge was due), the features ship
        await w.send(
            tp("o-k", 48, "key_action", customer_id=OTHER),
            tp("rel-1", 50, "feature_released", customer_id="product",
               properties={"feature_id": "dm"}),
            tp("rel-2", 51, "feature_released", customer_id="product",
               properties={"feature_id": "tabs"}),
        )  # fmt: skip
        seen["after"] = [(t.customer_id, t.rule) for t in w.triggers()[seen["triggers"] :]]

    rt = story(body)
    tables, subs, merged = seen["before"]
    assert tables == {C, OTHER} and merged == [A]
    assert subs == {"feature_requests:dm": {A}, "feature_requests:tabs": {C}}
    assert set(rt.customers.table) == {OTHER, "product"}
    assert rt.customers.view(C) is None and rt.customers.view(A) is None
    assert dict(rt.links.table) == {}
    assert all(not s for s in subscribers(rt).values() if s is not None)
    # time passed there (OTHER's own nudge fired), yet no nudge, no "you asked" for C or A
    assert ("nudge_day_1" in {r for _, r in seen["after"]}) and {c for c, _ in seen["after"]} == {
        OTHER
    }
    (confirmation,) = rt.out.audit.messages
    assert confirmation[0] == C
    done = ErasureConfirmation.model_validate(confirmation[1])
    assert (done.request_id, done.customer_id, done.journeys, done.linked_ids) == (
        "r1", C, ["lifecycle"], [A],
    )  # fmt: skip
    assert done.timer_cleared and done.subscriptions_cleared and done.suppressed_until is None
    assert "600" not in confirmation[1].model_dump_json()  # nothing of the erased data
    get = rt.metrics.registry.get_sample_value
    assert get("journeys_erasures_total", {"step": "request"}) == 1
    assert get("journeys_erasures_total", {"step": "linked"}) == 1
    assert get("journeys_erasure_subscriptions_removed_total") == 2


def test_later_events_start_afresh_by_default_and_a_second_request_erases_nothing() -> None:
    async def body(w: Worker) -> None:
        await w.send(*KNOWN, request())
        await w.send(tp("s2", 20, "page_viewed", customer_id=C), request("r2", hours=30))
        await w.send(tp("a-p", 40, "page_viewed", anonymous_id=A))

    rt = story(body)
    first, second = (ErasureConfirmation.model_validate(v) for _, v in rt.out.audit.messages)
    assert first.linked_ids == [A]
    assert (second.journeys, second.linked_ids) == (["lifecycle"], [])
    assert set(rt.customers.table) == {OTHER, A}  # A no longer linked: a new anonymous state
    assert rt.customers.table[A]["lifecycle"]["events"] == 1


def test_with_a_suppression_period_the_erased_ids_events_are_dropped_until_it_ends() -> None:
    until = T0 + timedelta(hours=10, days=1)

    async def body(w: Worker) -> None:
        await w.send(*KNOWN, request())
        await w.send(
            tp("s2", 20, "signed_up", customer_id=C),  # dropped
            tp("a-p", 21, "page_viewed", anonymous_id=A),  # dropped
        )
        assert set(w.rt.suppressions.table) == {A, C}
        await w.send(tp("o-p", 40, "page_viewed", customer_id=OTHER))  # C's partition: past
        assert set(w.rt.suppressions.table) == {A}
        await w.send(tp("s3", 41, "signed_up", customer_id=C))  # afresh

    rt = story(body, erasure_suppress_days=1)
    (done,) = (ErasureConfirmation.model_validate(v) for _, v in rt.out.audit.messages)
    assert done.suppressed_until == until
    assert rt.metrics.registry.get_sample_value("journeys_erasure_suppressed_events_total") == 2
    assert set(rt.customers.table) == {OTHER, C}
    assert rt.customers.table[C]["lifecycle"]["events"] == 1


def test_a_request_keyed_otherwise_is_handled_on_the_customers_partition() -> None:
    async def body(w: Worker) -> None:
        await w.send(*KNOWN)
        await w.put(OTHER, request(customer=A))  # another key; A is linked to C
        await w.pump()

    rt = story(body)
    (done,) = (ErasureConfirmation.model_validate(v) for _, v in rt.out.audit.messages)
    # A's state was merged into C's: what was erased there is what A's erasure erased
    assert (done.customer_id, done.journeys, done.linked_ids, done.timer_cleared) == (
        A, ["lifecycle"], [C], True,
    )  # fmt: skip
    assert set(rt.customers.table) == {OTHER}  # erasing a linked id erases its customer


def confirmed(rt: Runtime) -> list[tuple[str, str, list[str], list[str], bool]]:
    """(audit key, customer id, journeys, linked ids, timer cleared) per confirmation."""
    found = []
    for key, value in rt.out.audit.messages:
        done = ErasureConfirmation.model_validate(value)
        found.append((key, done.customer_id, done.journeys, done.linked_ids, done.timer_cleared))
    return found


def test_naming_an_anonymous_id_confirms_what_its_identity_held() -> None:
    """Before: ``journeys: []`` and ``timer_cleared: false``, although C's state (A's,
    merged) and its pending nudge were deleted."""

    async def body(w: Worker) -> None:
        await w.send(*KNOWN, request(customer=A))

    rt = story(body)
    assert confirmed(rt) == [(A, A, ["lifecycle"], [C], True)]
    assert set(rt.customers.table) == {OTHER} and dict(rt.links.table) == {}
    assert all(not s for s in subscribers(rt).values())  # A's and C's requests both gone


X = keys_on(0, "aliased", J.name, PARTITIONS)[0]  # a user id aliased to C


def test_naming_an_aliased_id_confirms_what_its_identity_held() -> None:
    async def body(w: Worker) -> None:
        await w.send(
            tp("x-s", 0, "signed_up", customer_id=X),  # X's state, a nudge pending
            tp("x-al", 2, "aliased", customer_id=C, anonymous_id=X),  # X merged into C
        )
        await w.send(request(customer=X, hours=3))

    rt = story(body)
    assert confirmed(rt) == [(X, X, ["lifecycle"], [C], True)]
    assert set(rt.customers.table) == set() and dict(rt.links.table) == {}


def test_an_id_linked_through_another_confirms_where_the_state_is() -> None:
    """A identified as X, X later aliased to C: A's state is C's, two links away."""

    async def body(w: Worker) -> None:
        await w.send(
            tp("a-p", 0, "page_viewed", anonymous_id=A),
            tp("x-s", 1, "signed_up", customer_id=X, anonymous_id=A),  # A merged into X
            tp("x-al", 2, "aliased", customer_id=C, anonymous_id=X),  # X merged into C
        )
        await w.send(request(customer=A, hours=3))

    rt = story(body)
    assert confirmed(rt) == [(A, A, ["lifecycle"], [X, C], True)]  # reached, by name
    assert set(rt.customers.table) == set() and dict(rt.links.table) == {}


def test_naming_the_customer_confirms_in_the_requests_own_transaction() -> None:
    """Unchanged: the state is under the id named; the anonymous id is passed the
    erasure without the request (no second confirmation)."""

    async def body(w: Worker) -> None:
        await w.send(*KNOWN, request())

    rt = story(body)
    assert confirmed(rt) == [(C, C, ["lifecycle"], [A], True)]
    sent = [EraseLinked.model_validate(v) for _, v in rt.out.wakeups.messages if _linked(v)]
    assert [(m.key, m.confirm) for m in sent] == [(A, None)]


def _linked(value: Any) -> bool:
    return isinstance(value, EraseLinked) or (
        isinstance(value, dict) and value.get("kind") == "erase_linked"
    )


def test_the_erasures_topic_holds_requests_keyed_by_the_id() -> None:
    raw = codec.dumps(request())
    assert from_erasures(C.encode(), raw).erasure == request()
    assert from_erasures(None, raw).rejections[0].reason == "schema_violation"
    assert from_erasures(C.encode(), b'{"kind": "erasure_request"}').rejections


def test_the_worker_sends_what_replay_computes_with_the_erasure_in_the_input() -> None:
    later = [
        tp("s2", 20, "signed_up", customer_id=C),
        tp("a-p", 21, "page_viewed", anonymous_id=A),
        tp("o-k", 60, "key_action", customer_id=OTHER),
    ]

    async def body(w: Worker) -> None:
        await w.send(*KNOWN, request(), *later)

    rt = story(body)
    items: list[Any] = [Arrival(e, "test") for e in KNOWN]
    items += [Erasure(request(), "test"), *(Arrival(e, "test") for e in later)]
    until = T0 + timedelta(hours=60)  # the worker's partitions reached that by the end
    want = sorted(t.trigger_id for t in replay_triggers(J, items, until))
    sent = [Trigger.model_validate_json(v) for _, v in rt.out.triggers.messages]
    assert sorted(t.trigger_id for t in sent) == want
    assert [t.rule for t in sent].count("welcome") == 3  # C twice (afresh), OTHER
