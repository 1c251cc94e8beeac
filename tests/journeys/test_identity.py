"""Identity merges as an engine step (issue 14, item 2): the rules see the merged state.

Stories on the default journey, driven through ``journeys.driver`` the way the worker and
replay drive it: each key stepped with its own events, then, at the event that links an
anonymous key to its customer, ``driver.on_merge`` at that event's time. Exact triggers,
ids included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from journeys import AttributeChange, Transition, default_journey, driver, in_holdout
from journeys.driver import Driven, States
from journeys.fanout import FanoutAction, fanout_event
from schemas import TouchpointEvent, trigger_id
from tests.journeys.factories import at, customer_in_holdout, customer_outside_holdout, ev, iso

J = default_journey()
C = customer_outside_holdout(J, "cust")
A = "anon-1"


def anon(event_id: str, type_: str, when: datetime, **properties: Any) -> TouchpointEvent:
    return TouchpointEvent(
        event_id=event_id, anonymous_id=A, type=type_, event_time=when, properties=properties
    )


def identify(event_id: str, when: datetime, customer: str = C) -> TouchpointEvent:
    return TouchpointEvent(
        event_id=event_id, customer_id=customer, anonymous_id=A, type="identify", event_time=when
    )


def run(events: list[TouchpointEvent], states: dict[str, States] | None = None) -> list[Driven]:
    """Step each event on its key; at a linking event, merge the linked key in."""
    keys: dict[str, States] = states if states is not None else {}
    done: list[Driven] = []
    for event in events:
        stepped = driver.on_event([J], keys.get(event.key, {}), event)
        keys[event.key] = stepped.states
        done.append(stepped)
        linked = driver.link_of(event)
        if linked is not None and linked in keys:
            theirs = keys.pop(linked)
            merged = driver.on_merge(
                [J], event.key, keys[event.key], theirs, event.event_time, event.event_id
            )
            keys[event.key] = merged.states
            done.append(merged)
    return done


def triggers(done: list[Driven]) -> list[tuple[str, str, str, str | None]]:
    return [
        (t.trigger_id, t.rule, t.cause.key, iso(t.emitted_at))
        for d in done
        for _, o in d.outcomes
        for t in o.triggers
    ]


def test_anonymous_spend_merged_in_crosses_the_vip_threshold_at_the_merge() -> None:
    # Before: lifetime_spend 1,100 after the merge and no growth.vip, then none at +10
    # either (the next step compared 1,100 to 1,110: no crossing).
    assert C == "cust-0"
    done = run(
        [
            anon("a-o1", "order_completed", at(), amount=600),
            ev("s1", "signed_up", at(hours=1), customer=C),
            ev("o1", "order_completed", at(hours=2), customer=C, amount=500),
            identify("i1", at(hours=3)),
            ev("o2", "order_completed", at(hours=4), customer=C, amount=10),
        ]
    )
    assert triggers(done) == [
        ("6816435b-3961-5660-b430-38093c1b8be8", "welcome", "event:s1", "2025-03-03T13:00:00Z"),
        ("a905306f-2542-51d9-a8df-5ec71356cdf5", "vip", "event:i1", "2025-03-03T15:00:00Z"),
    ]
    assert triggers(done)[1][0] == trigger_id(C, "lifecycle", 1, "vip", "event:i1")
    merge = done[4]
    assert merge.changed == ("lifecycle",)
    [(_, outcome)] = merge.outcomes
    [vip] = outcome.triggers
    assert (vip.kind, vip.customer_id, vip.attributes) == (
        "growth.vip",
        C,
        {"lifetime_spend": 1100},
    )
    assert (vip.stage_before, vip.stage_after) == ("onboarding", "onboarding")
    assert outcome.changes == [
        AttributeChange("merge", "orders", 1, 2, at(hours=3)),
        AttributeChange("merge", "lifetime_spend", 500, 1100, at(hours=3)),
        AttributeChange("vip", "tier", None, "vip", at(hours=3)),
    ]
    assert outcome.transitions == []  # the customer's stage is further than the prospect's
    state = done[-1].states["lifecycle"]
    assert state.attributes["lifetime_spend"] == 1110 and state.attributes["tier"] == "vip"
    assert state.cap_history == [at(hours=1), at(hours=3)]  # the merge trigger counts


def test_a_side_already_past_the_threshold_fired_there_and_not_again_at_the_merge() -> None:
    # The customer is aliased to a new user id: the new id's record (no spend) absorbs one
    # that crossed 1,000 already. The person has been a VIP since; nothing crosses.
    done = run(
        [
            ev("v-o1", "order_completed", at(), customer=C, amount=1500),
            TouchpointEvent(
                event_id="v-al1", customer_id="cust-new", anonymous_id=C, type="aliased",
                event_time=at(hours=1),
            ),
        ]
    )  # fmt: skip
    assert [r[1:3] for r in triggers(done)] == [("vip", "event:v-o1")]
    [(_, outcome)] = done[-1].outcomes
    assert [(c.name, c.old, c.new) for c in outcome.changes if c.name == "lifetime_spend"] == [
        ("lifetime_spend", None, 1500)
    ]
    assert done[-1].states["lifecycle"].attributes["tier"] == "vip"


def test_a_customer_in_the_holdout_has_the_merge_trigger_reported_suppressed() -> None:
    held = customer_in_holdout(J, "held")
    assert in_holdout(held, "lifecycle", 5)
    done = run(  # the customer entered first: the cohort is the customer id's (held)
        [
            ev("h-o2", "order_completed", at(), customer=held, amount=500),
            anon("h-o1", "order_completed", at(hours=1), amount=600),
            identify("h-i1", at(hours=2), customer=held),
        ]
    )
    [(_, outcome)] = done[-1].outcomes
    assert outcome.triggers == []
    assert [(s.rule, s.reason, s.trigger.holdout) for s in outcome.suppressed] == [
        ("vip", "holdout", True)
    ]


def test_the_anonymous_stage_is_taken_by_a_prospect_with_a_transition_of_the_merge() -> None:
    done = run(
        [
            anon("k-a1", "key_action", at()),  # active without signing up
            ev("k-p1", "page_viewed", at(hours=1), customer=C),
            identify("k-i1", at(hours=2)),
        ]
    )
    [(_, outcome)] = done[-1].outcomes
    assert outcome.transitions == [Transition("merge", "prospect", "active", at(hours=2))]
    assert [(c.rule, c.name, c.old, c.new) for c in outcome.changes] == [
        ("merge", "activated_at", None, "2025-03-03T12:00:00Z")
    ]
    state = done[-1].states["lifecycle"]
    assert (state.stage, state.stage_entered_at) == ("active", at())
    assert state.timers["at_risk"] == at(hours=1, days=14)  # from the latest activity of both


def test_a_window_completed_by_the_merge_fires_at_the_merge() -> None:
    tickets = [
        anon("t1", "support_ticket_opened", at()),
        anon("t2", "support_ticket_opened", at(days=2)),
        ev("t3", "support_ticket_opened", at(days=3), customer=C),
    ]
    done = run([*tickets, identify("w-i1", at(days=3, hours=1))])
    assert triggers(done) == [
        (
            trigger_id(C, "lifecycle", 1, "repeated_tickets", "event:t1,t2,t3"),
            "repeated_tickets",
            "event:t1,t2,t3",
            "2025-03-06T13:00:00Z",
        )
    ]
    assert "repeated_tickets" not in done[-1].states["lifecycle"].windows  # reset: true


def test_a_window_one_side_filled_alone_does_not_fire_again_at_the_merge() -> None:
    # churn_risk: two bad experiences within 30 days (no reset): it fired for the
    # anonymous key; the merged hits hold no window with a hit of the customer's.
    bad = [anon("b1", "delivery_failed", at()), anon("b2", "delivery_failed", at(days=1))]
    page = ev("b-p1", "page_viewed", at(days=1, hours=1), customer=C)
    done = run([*bad, page, identify("b-i1", at(days=1, hours=2))])
    fired = [(t.customer_id, t.rule) for d in done[:2] for _, o in d.outcomes for t in o.triggers]
    assert fired == [(A, "failed_delivery"), (A, "failed_delivery"), (A, "churn_risk")]
    [(_, merge)] = done[-1].outcomes
    assert merge.triggers == merge.suppressed == []
    # One of them the customer's: the merge completes the window.
    mixed = [bad[0], ev("b3", "delivery_failed", at(days=1), customer=C)]
    done = run([*mixed, identify("b-i2", at(days=1, hours=2))])
    [(_, merge)] = done[-1].outcomes
    assert [(t.rule, t.cause.key) for t in merge.triggers] == [("churn_risk", "event:b1,b3")]


def test_a_merge_that_crosses_nothing_reports_its_changes_only() -> None:
    done = run(
        [
            anon("p-a1", "page_viewed", at()),
            ev("p-s1", "signed_up", at(hours=1), customer=C),
            identify("p-i1", at(hours=2)),
        ]
    )
    [(_, outcome)] = done[-1].outcomes
    assert (outcome.triggers, outcome.suppressed, outcome.transitions) == ([], [], [])
    assert outcome.changes == [
        AttributeChange("merge", "last_seen_at", None, "2025-03-03T12:00:00Z", at(hours=2))
    ]
    assert done[-1].states["lifecycle"].events == 3


def test_a_journey_only_the_linked_key_has_is_taken_over_with_no_step() -> None:
    theirs = driver.on_event([J], {}, anon("r-a1", "page_viewed", at())).states
    done = driver.on_merge([J], C, {}, theirs, at(hours=1), "r-i1")
    assert done.outcomes == [] and done.changed == ("lifecycle",)
    assert done.states["lifecycle"].customer_id == C


def test_an_event_read_for_a_linked_key_becomes_the_customers() -> None:
    page = anon("f-a1", "page_viewed", at())
    assert driver.forwarded(page, C).model_dump() == {
        **page.model_dump(),
        "customer_id": C,
        "anonymous_id": None,  # the link is known: no new one to make
    }
    # An event that states a link of its own keeps it (C linked on to D: A links to D).
    linking = identify("f-i1", at())
    assert driver.link_of(driver.forwarded(linking, "cust-d")) == A
    # A fan-out event derived for the anonymous key is the one derived for the customer.
    action = FanoutAction(
        action="publish", index="feature_requests", key="dm", derived_type="built", clear=True
    )
    release = ev("rel-1", "feature_released", at(1), customer="product", feature_id="dm")
    for_anon = fanout_event(action, release, A)
    assert for_anon.event_id == f"rel-1/feature_requests/{A}"
    assert driver.forwarded(for_anon, C) == fanout_event(action, release, C)


@pytest.mark.parametrize(
    ("customer", "anonymous", "fires"),
    [
        (500, 600, True),  # 1,100: neither side had crossed 1,000
        (500, 500, True),  # exactly 1,000 counts (up: from below to >=)
        (900, 50, False),  # 950
        (None, 1100, False),  # the anonymous side crossed (and fired) already
        (1200, 100, False),  # the customer had crossed already
        (None, 600, False),  # taken as it is: 600
    ],
)
def test_the_vip_threshold_at_a_merge(customer: int | None, anonymous: int, fires: bool) -> None:
    events = [anon("x-o1", "order_completed", at(), amount=anonymous)]
    events.append(ev("x-s1", "signed_up", at(hours=1), customer=C))
    if customer is not None:
        events.append(ev("x-o2", "order_completed", at(hours=2), customer=C, amount=customer))
    done = run([*events, identify("x-i1", at(hours=3))])
    [(_, outcome)] = done[-1].outcomes
    assert [t.rule for t in outcome.triggers] == (["vip"] if fires else [])
    total = (customer or 0) + anonymous
    assert done[-1].states["lifecycle"].attributes["lifetime_spend"] == total
