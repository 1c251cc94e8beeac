"""The deployment's frequency cap: per customer, over the triggers of every journey.

Issue 14: two journeys that each cap at 3 per 7 days sent one customer 6 marketing
triggers in 27 hours. ``deployment.frequency_cap`` (declared once, here in the first
definition) caps the customer across journeys; ``journeys.driver`` enforces it, so the
worker and replay enforce it identically. Service triggers are exempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from journeys import Journey, driver
from journeys.state import dump_state, load_state
from schemas import TouchpointEvent
from tests.journeys.factories import at, build, ev, iso

CAP = {"frequency_cap": {"max": 3, "within": "7d"}}


def journey(name: str, event: str, *, deployment: bool = False, **extra: Any) -> Journey:
    """A journey sending ``<name>.<event>``-like marketing triggers, capped at 3 per 7 days."""
    rules: list[dict[str, Any]] = [
        {
            "id": event,
            "when": {"event": {"type": event}},
            "then": {"emit": {"kind": f"engagement.{event}"}},
        },
        {
            "id": f"{event}_fix",
            "when": {"event": {"type": f"{event}_problem"}},
            "then": {"emit": {"kind": "recovery.fix"}},
        },
        *extra.pop("rules", []),
    ]
    data: dict[str, Any] = {"name": name, "rules": rules, "guard_rails": CAP, **extra}
    if deployment:
        data["deployment"] = CAP
    return build(data)


TIPS = journey("tips", "tip", deployment=True)
PROMOS = journey("promos", "promo")
STORY = [
    ev("a1", "tip", at(hours=0), customer="c-1"),
    ev("b1", "promo", at(hours=3), customer="c-1"),
    ev("a2", "tip", at(hours=9), customer="c-1"),
    ev("b2", "promo", at(hours=15), customer="c-1"),
    ev("s1", "promo_problem", at(hours=20), customer="c-1"),
    ev("a3", "tip", at(hours=21), customer="c-1"),
    ev("b3", "promo", at(hours=27), customer="c-1"),
]


def drive(
    definitions: list[Journey], steps: list[TouchpointEvent | datetime]
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """(delivered, suppressed, states) of a customer driven like the worker and replay."""
    states: dict[str, Any] = {}
    delivered, suppressed = [], []
    for item in steps:
        if isinstance(item, datetime):
            done = driver.on_time(definitions, states, item)
        else:
            done = driver.on_event(definitions, states, item)
        states = done.states
        for _, outcome in done.outcomes:
            delivered += outcome.triggers
            suppressed += outcome.suppressed
    return delivered, suppressed, states


def test_two_journeys_no_longer_send_six_in_27_hours() -> None:
    delivered, suppressed, states = drive([TIPS, PROMOS], STORY)
    assert [(t.trigger_id, t.journey, t.kind, iso(t.emitted_at)) for t in delivered] == [
        ("075f64f3-45ec-5400-80e5-e6774629c0b2", "tips", "engagement.tip", "2025-03-03T12:00:00Z"),
        (
            "62ee7f0c-d2fd-5d99-8d78-d33198d980a0",
            "promos",
            "engagement.promo",
            "2025-03-03T15:00:00Z",
        ),
        ("0b55ddfc-9d51-51f7-9817-4bd5cfbcab1a", "tips", "engagement.tip", "2025-03-03T21:00:00Z"),
        (
            "c3fe4d91-06eb-5bed-a831-b9d466dc993d",
            "promos",
            "recovery.fix",
            "2025-03-04T08:00:00Z",
        ),  # service: exempt
    ]
    assert [(s.trigger.trigger_id, s.rule, s.reason) for s in suppressed] == [
        ("92c99934-3432-5b3d-a708-ec316bd79068", "promo", "frequency_cap"),
        ("0d9a3466-05b2-5279-9722-85838b8bbbc4", "tip", "frequency_cap"),
        ("2bbe81b3-d428-5d10-ae56-c93558cf35f6", "promo", "frequency_cap"),
    ]
    # each journey keeps what it sent under the deployment's cap (the driver adds them up)
    assert states["tips"].customer_cap_history == [at(hours=0), at(hours=9)]
    assert states["promos"].customer_cap_history == [at(hours=3)]


def test_without_a_deployment_cap_each_journey_caps_only_itself() -> None:
    tips = journey("tips", "tip")  # no deployment section anywhere
    delivered, suppressed, states = drive([tips, PROMOS], STORY)
    assert len([t for t in delivered if t.priority == "marketing"]) == 6
    assert suppressed == []
    assert all(s.customer_cap_history == [] for s in states.values())
    assert "customer_cap_history" not in dump_state(states["tips"])  # states unchanged


def test_timers_count_and_are_capped_across_journeys() -> None:
    idle = {
        "id": "idle",
        "when": {"inactivity": {"of": {"type": "promo"}, "for": "1d"}},
        "then": {"emit": {"kind": "engagement.idle"}},
    }
    promos = journey("promos", "promo", rules=[idle])
    steps: list[TouchpointEvent | datetime] = [
        ev("b1", "promo", at(hours=0), customer="c-2"),
        ev("a1", "tip", at(hours=1), customer="c-2"),
        ev("a2", "tip", at(hours=2), customer="c-2"),
        at(days=2),  # promos' idle timer, due at 1 day: the customer has had 3 this week
        ev("a3", "tip", at(days=8), customer="c-2"),
    ]
    delivered, suppressed, _ = drive([TIPS, promos], steps)
    assert [(t.rule, iso(t.emitted_at)) for t in delivered] == [
        ("promo", "2025-03-03T12:00:00Z"),
        ("tip", "2025-03-03T13:00:00Z"),
        ("tip", "2025-03-03T14:00:00Z"),
        ("tip", "2025-03-11T12:00:00Z"),
    ]
    assert [(s.rule, s.reason, iso(s.trigger.emitted_at)) for s in suppressed] == [
        ("idle", "frequency_cap", "2025-03-04T12:00:00Z")
    ]


def test_merged_states_keep_both_sides_history_and_states_round_trip() -> None:
    anonymous = TouchpointEvent(
        event_id="n1", anonymous_id="anon-1", type="tip", event_time=at(hours=1)
    )
    theirs = driver.on_event([TIPS, PROMOS], {}, anonymous).states
    mine = driver.on_event([TIPS, PROMOS], {}, ev("m1", "tip", at(hours=2), customer="c-3")).states
    merged = driver.absorb([TIPS, PROMOS], "c-3", mine, theirs)
    assert merged["tips"].customer_cap_history == [at(hours=1), at(hours=2)]
    stored = dump_state(merged["tips"])
    assert stored["customer_cap_history"] == ["2025-03-03T13:00:00Z", "2025-03-03T14:00:00Z"]
    assert load_state(stored) == merged["tips"]


def test_the_cap_is_the_first_declared_one() -> None:
    assert driver.customer_cap([PROMOS]) is None
    cap = driver.customer_cap([PROMOS, TIPS])
    assert cap is not None and (cap.max, cap.within.days, cap.priorities) == (3, 7, ["marketing"])


def idler(name: str, after: str, *, deployment: dict[str, Any] | None = None) -> Journey:
    data: dict[str, Any] = {
        "name": name,
        "rules": [
            {
                "id": "idle",
                "when": {"inactivity": {"of": {"type": "ping"}, "for": after}},
                "then": {"emit": {"kind": f"engagement.{name}"}},
            }
        ],
    }
    if deployment is not None:
        data["deployment"] = deployment
    return build(data)


def test_timers_compete_in_due_time_order_however_the_key_is_woken() -> None:
    # The later journey's timer is due first: it takes the one place in the window,
    # whether the key was woken in between (live, at watermarks) or not (replay).
    late = idler("late", "2d")
    early = idler("early", "1d", deployment={"frequency_cap": {"max": 1, "within": "7d"}})
    start, later = ev("g1", "go", at(), customer="c-4"), ev("g2", "go", at(3), customer="c-4")
    wakes: list[list[TouchpointEvent | datetime]] = [
        [start, later],
        [start, at(1), at(2), later],
        [start, at(2.5), later],
        [start, at(1.5), later],
    ]
    for steps in wakes:
        delivered, suppressed, states = drive([late, early], steps)
        assert [(t.journey, iso(t.emitted_at)) for t in delivered] == [
            ("early", "2025-03-04T12:00:00Z")
        ], steps
        assert [(s.trigger.journey, s.reason) for s in suppressed] == [("late", "frequency_cap")], (
            steps
        )
        assert states["late"].clock == states["early"].clock == at(3)
