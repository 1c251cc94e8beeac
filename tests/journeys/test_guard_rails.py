"""Guard rails: cooldown, frequency cap, quiet hours, holdout, exit, goal, re-entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from journeys import Journey, default_journey, holdout_bucket, in_holdout
from tests.journeys.factories import (
    at,
    build,
    customer_in_holdout,
    customer_outside_holdout,
    ev,
    make_event,
    play,
)


def emitting(guard_rails: dict[str, Any] | None = None, **emit: Any) -> Journey:
    return build(
        {
            "rules": [
                {
                    "id": "m",
                    "when": {"event": {"type": "m"}},
                    "then": {"emit": {"kind": "advocacy.ask", **emit}},
                },
                {
                    "id": "s",
                    "when": {"event": {"type": "s"}},
                    "then": {"emit": {"kind": "recovery.fix"}},
                },
            ],
            "guard_rails": guard_rails or {},
        }
    )


def test_cooldown_per_rule_both_sides_in_event_time() -> None:
    journey = emitting(cooldown="3d")
    played = play(
        journey,
        [
            make_event("m", at(0)),
            make_event("m", at(2.9)),
            make_event("m", at(3)),
            make_event("m", at(4)),
        ],
    )
    assert [t.emitted_at for t in played.triggers] == [at(0), at(3)]
    assert played.suppressed_rows() == [
        ("m", "cooldown", "2025-03-06T09:36:00Z"),
        ("m", "cooldown", "2025-03-07T12:00:00Z"),
    ]


def test_frequency_cap_is_rolling_and_exempts_service() -> None:
    journey = emitting({"frequency_cap": {"max": 2, "within": "7d"}})
    played = play(
        journey,
        [
            make_event("m", at(0)),
            make_event("m", at(1)),
            make_event("m", at(6.9)),
            make_event("s", at(6.95)),
            make_event("m", at(7)),
            make_event("m", at(8)),
            make_event("m", at(8.5)),
        ],
    )
    assert [(t.rule, t.emitted_at) for t in played.triggers] == [
        ("m", at(0)),
        ("m", at(1)),
        ("s", at(6.95)),
        ("m", at(7)),
        ("m", at(8)),
    ]
    assert played.suppressed_rows() == [
        ("m", "frequency_cap", "2025-03-10T09:36:00Z"),
        ("m", "frequency_cap", "2025-03-12T00:00:00Z"),
    ]
    assert played.state is not None
    assert played.state.cap_history == [at(0), at(1), at(7), at(8)]
    later = play(journey, [make_event("m", at(30))], state=played.state)
    assert later.state is not None
    assert later.state.cap_history == [at(30)]  # pruned: window + allowed lateness


def test_frequency_cap_counts_a_late_trigger_in_every_window() -> None:
    journey = emitting({"frequency_cap": {"max": 2, "within": "7d"}})
    # 0 and 6 are fine; a late one at 5 would make [0, 6] hold three.
    played = play(journey, [make_event("m", at(0)), make_event("m", at(6)), make_event("m", at(5))])
    assert [s.reason for s in played.suppressed] == ["frequency_cap"]


@pytest.mark.parametrize(
    ("local", "zone", "deliver_after"),
    [
        ("2025-03-03T20:59:00", "Europe/Paris", None),
        ("2025-03-03T21:00:00", "Europe/Paris", "2025-03-04T08:00:00"),
        ("2025-03-03T23:30:00", "Europe/Paris", "2025-03-04T08:00:00"),
        ("2025-03-04T03:00:00", "Europe/Paris", "2025-03-04T08:00:00"),
        ("2025-03-04T07:59:00", "Europe/Paris", "2025-03-04T08:00:00"),
        ("2025-03-04T08:00:00", "Europe/Paris", None),
        # The night the clocks go forward: 08:00 CEST is 06:00 UTC.
        ("2025-03-30T01:00:00", "Europe/Paris", "2025-03-30T08:00:00"),
        ("2025-03-03T22:00:00", None, "2025-03-04T08:00:00"),  # unknown zone: UTC
    ],
)
def test_quiet_hours_defer_to_local_end(
    local: str, zone: str | None, deliver_after: str | None
) -> None:
    tz = ZoneInfo(zone or "UTC")
    moment = datetime.fromisoformat(local).replace(tzinfo=tz)
    journey = emitting({"quiet_hours": {"start": "21:00", "end": "08:00"}})
    played = play(
        journey,
        [make_event("m", moment, timezone=zone), make_event("s", moment, timezone=zone)],
    )
    marketing, service = played.triggers
    expected = None if deliver_after is None else datetime.fromisoformat(deliver_after)
    assert marketing.deliver_after == (expected and expected.replace(tzinfo=tz))
    assert service.deliver_after is None


def test_deferred_triggers_are_listed_and_still_delivered() -> None:
    journey = emitting({"quiet_hours": {"start": "21:00", "end": "08:00"}})
    from journeys import step

    _, outcome = step(journey, None, make_event("m", at(hours=10)))  # 22:00 UTC
    assert outcome.triggers == outcome.deferred
    assert outcome.triggers[0].deliver_after == at(1, hours=-4)


def test_quiet_hours_can_cover_service_or_skip_a_rule() -> None:
    journey = emitting(
        {"quiet_hours": {"start": "21:00", "end": "08:00", "priorities": ["marketing", "service"]}},
        quiet_hours=False,
    )
    played = play(journey, [make_event("m", at(hours=10)), make_event("s", at(hours=10))])
    assert [t.deliver_after for t in played.triggers] == [None, at(1, hours=-4)]


def test_holdout_is_deterministic_marked_and_counted() -> None:
    journey = default_journey()
    held = customer_in_holdout(journey)
    assert holdout_bucket(held, "lifecycle") < 500
    assert in_holdout(held, "lifecycle", 5) and not in_holdout(held, "other-journey", 0)
    played = play(
        journey,
        [
            make_event("nps_submitted", at(), customer=held, score=10),
            make_event("nps_submitted", at(1), customer=held, score=10),
        ],
    )
    assert played.triggers == []
    assert [(s.rule, s.reason, s.trigger.holdout) for s in played.suppressed] == [
        ("review_ask", "holdout", True),
        ("review_ask", "cooldown", False),  # the held-out ask still starts the cooldown
    ]
    treated = customer_outside_holdout(journey)
    assert not in_holdout(treated, "lifecycle", 5)


def test_service_triggers_reach_the_holdout_group_by_default() -> None:
    journey = default_journey()
    held = customer_in_holdout(journey)
    played = play(
        journey,
        [
            make_event("csat_submitted", at(), customer=held, score=1),
            make_event("nps_submitted", at(1), customer=held, score=10),
        ],
    )
    assert [(t.rule, t.priority, t.holdout) for t in played.triggers] == [
        ("low_csat", "service", False)
    ]
    assert [(s.rule, s.reason) for s in played.suppressed] == [("review_ask", "holdout")]


def test_holdout_can_cover_service_triggers_too() -> None:
    base = default_journey()
    rails = base.guard_rails.model_copy(update={"holdout_priorities": ["marketing", "service"]})
    journey = base.model_copy(update={"guard_rails": rails})
    held = customer_in_holdout(journey)
    played = play(journey, [make_event("csat_submitted", at(), customer=held, score=1)])
    assert played.triggers == []
    assert [(s.rule, s.reason, s.trigger.holdout) for s in played.suppressed] == [
        ("low_csat", "holdout", True)
    ]


def test_holdout_share_is_close_to_the_percentage() -> None:
    held = sum(in_holdout(f"cust-{i}", "lifecycle", 5) for i in range(20_000))
    assert 900 <= held <= 1100


def test_exit_suppresses_everything_after() -> None:
    journey = default_journey()
    c = customer_outside_holdout(journey)
    played = play(
        journey,
        [
            ev("s1", "signed_up", at(), customer=c),
            ev("x1", "account_closed", at(0.5), customer=c),
            ev("q1", "csat_submitted", at(2), customer=c, score=1),
        ],
        until=at(30),
    )
    assert [t.rule for t in played.triggers] == ["welcome"]
    assert played.suppressed_rows() == [("low_csat", "exit", "2025-03-05T12:00:00Z")]
    assert [(t.rule, t.kind) for t in played.transitions] == [
        ("welcome", "move"),
        ("exit:account_closed", "exit"),
    ]
    assert played.state is not None and played.state.timers == {}


def test_reentry_after_the_waiting_time() -> None:
    journey = default_journey()
    c = customer_outside_holdout(journey)
    played = play(
        journey,
        [
            ev("s1", "signed_up", at(), customer=c),
            ev("x1", "account_closed", at(0.5), customer=c),
            ev("s2", "signed_up", at(10), customer=c),
            ev("s3", "signed_up", at(40), customer=c),
        ],
    )
    assert [(t.rule, t.cause.key) for t in played.triggers] == [
        ("welcome", "event:s1"),
        ("welcome", "event:s3"),
    ]
    assert played.suppressed_rows() == [("welcome", "reentry", "2025-03-13T12:00:00Z")]
    assert played.transitions[-2].kind == "reentry"
    assert played.state is not None
    assert (played.state.entries, played.state.stage) == (2, "onboarding")


@pytest.mark.parametrize(("policy", "welcomed"), [("never", 1), ("always", 2)])
def test_reentry_policies(policy: str, welcomed: int) -> None:
    journey = build(
        {
            "rules": [
                {
                    "id": "w",
                    "when": {"event": {"type": "join"}},
                    "then": {"move_to": "done", "emit": {"kind": "onboarding.welcome"}},
                }
            ],
            "exits": [{"name": "left", "event": {"type": "leave"}}],
            "guard_rails": {"reentry": {"policy": policy}},
        }
    )
    played = play(
        journey, [make_event("join", at()), make_event("leave", at(1)), make_event("join", at(2))]
    )
    assert len(played.triggers) == welcomed
    assert [s.reason for s in played.suppressed] == (["exit"] if policy == "never" else [])


def test_exit_on_reaching_a_goal_stage() -> None:
    journey = build(
        {
            "rules": [
                {
                    "id": "buy",
                    "when": {"event": {"type": "buy"}},
                    "then": {"move_to": "done", "emit": {"kind": "growth.thanks"}},
                },
                {
                    "id": "nag",
                    "when": {"inactivity": {"for": "1d"}},
                    "then": {"emit": {"kind": "engagement.nag"}},
                },
            ],
            "exits": [{"name": "bought", "stage": "done", "reason": "goal"}],
        }
    )
    played = play(journey, [make_event("buy", at())], until=at(5))
    assert [t.rule for t in played.triggers] == ["buy"]  # the goal rule's own trigger is sent
    assert played.state is not None
    assert (played.state.exit_reason, played.state.exit_name) == ("goal", "bought")
    assert played.state.timers == {}
