"""Re-entry starts a fresh entry: per-entry state is reset, per-customer state is kept.

The two stories of issue 14, on the default journey, with the exact triggers (ids
included), then each field of the state on a small definition (the table in
journeys/README.md, "Entry and re-entry").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from journeys import AttributeChange, default_journey
from tests.journeys.factories import at, build, customer_outside_holdout, ev, iso, play

J = default_journey()
C = customer_outside_holdout(J)  # "c-0": no holdout, so every trigger is delivered


def rows(played: Any) -> list[tuple[str, str, str, str | None]]:
    """(trigger id, rule, cause key, emitted at) per delivered trigger."""
    return [(t.trigger_id, t.rule, t.cause.key, iso(t.emitted_at)) for t in played.triggers]


def first_entry() -> list[Any]:
    """Sign up, activate, close the account ten days later."""
    return [
        ev("s1", "signed_up", at(), customer=C, plan="pro"),
        ev("k1", "key_action", at(0.5), customer=C),
        ev("x1", "account_closed", at(10), customer=C),
    ]


def test_signing_up_again_two_months_later_sends_the_welcome_only() -> None:
    # Before: the second welcome came with a move to lapsed and engagement.win_back in
    # the same second (the inactivity clock still ran from the first entry).
    played = play(J, [*first_entry(), ev("s2", "signed_up", at(70), customer=C, plan="team")])
    assert C == "c-0"
    assert rows(played) == [
        ("f31c7cae-e336-5b65-a4d9-1d3cf011e6d0", "welcome", "event:s1", "2025-03-03T12:00:00Z"),
        ("f22b6fa2-4b1b-5b12-bfb6-da18ba0d7865", "activated", "event:k1", "2025-03-04T00:00:00Z"),
        ("8d2ef59e-460c-5362-a950-a2599ce2582a", "welcome", "event:s2", "2025-05-12T12:00:00Z"),
    ]
    assert played.suppressed == []
    assert [(t.rule, t.stage_before, t.stage_after, t.kind) for t in played.transitions] == [
        ("welcome", "prospect", "onboarding", "move"),
        ("activated", "onboarding", "active", "move"),
        ("exit:account_closed", "active", "active", "exit"),
        ("reentry", "active", "prospect", "reentry"),
        ("welcome", "prospect", "onboarding", "move"),
    ]
    state = played.state
    assert state is not None
    assert (state.stage, state.entries, state.entered_at) == ("onboarding", 2, at(70))
    # The lapse is 45 days after the new stage entry, not due at once.
    assert state.timers["lapsed"] == at(115)


def test_a_customer_activated_in_the_first_entry_gets_the_second_entrys_nudges() -> None:
    # Before: every nudge of the second entry was suppressed with reason exit (the first
    # entry's activated_at, the nudges' goal, was still set).
    played = play(
        J,
        [*first_entry(), ev("s2", "signed_up", at(70), customer=C, plan="team")],
        until=at(78),
    )
    assert rows(played)[2:] == [
        ("8d2ef59e-460c-5362-a950-a2599ce2582a", "welcome", "event:s2", "2025-05-12T12:00:00Z"),
        (
            "60913c01-7068-5b74-852d-5ebc8a9c41c7",
            "nudge_day_1",
            "timer:nudge_day_1@2025-05-13T12:00:00+00:00",
            "2025-05-13T12:00:00Z",
        ),
        (
            "29e0bfa1-c8fa-5d62-86d5-ba4df3d51c21",
            "nudge_day_3",
            "timer:nudge_day_3@2025-05-15T12:00:00+00:00",
            "2025-05-15T12:00:00Z",
        ),
        (
            "bd914796-058a-50fb-9bfa-2d7cb4772d94",
            "nudge_day_7",
            "timer:nudge_day_7@2025-05-19T12:00:00+00:00",
            "2025-05-19T12:00:00Z",
        ),
    ]
    assert played.suppressed == []


def test_the_reentry_unsets_the_goal_attributes_and_says_so() -> None:
    from journeys import step

    state = None
    for event in first_entry():
        state, _ = step(J, state, event)
    assert state is not None
    activated = state.attributes["activated_at"]
    state, outcome = step(J, state, ev("s2", "signed_up", at(70), customer=C, plan="team"))
    assert outcome.changes[0] == AttributeChange("reentry", "activated_at", activated, None, at(70))
    # signup_at is the customer's (its first sign-up), plan is set again by the welcome.
    assert state.attributes["signup_at"] == iso_t(at())
    assert state.attributes["plan"] == "team"
    assert "activated_at" not in state.attributes


SMALL = build(
    {
        "stages": ["new", "busy"],
        "attributes": {
            "done_at": {"type": "datetime"},  # a goal: per entry by default
            "kept_goal": {"type": "datetime", "scope": "customer"},
            "visits": {"type": "number", "merge": "sum"},  # per customer by default
            "round_visits": {"type": "number", "scope": "entry"},
        },
        "rules": [
            {
                "id": "visit",
                "when": {"event": {"type": "visit"}},
                "then": {
                    "increment": {"visits": {"by": 1}, "round_visits": {"by": 1}},
                    "move_to": "busy",
                    "emit": {"kind": "engagement.visit", "cooldown": "60d"},
                },
            },
            {
                "id": "done",
                "when": {"event": {"type": "done"}},
                "then": {
                    "set": {"done_at": {"event_time": True}, "kept_goal": {"event_time": True}}
                },
            },
            {
                "id": "three",
                "when": {"window": {"event": {"type": "ping"}, "count": 3, "within": "90d"}},
                "then": {"emit": {"kind": "engagement.three"}},
            },
            {
                "id": "nag",
                "goal": "done_at",
                "when": {"inactivity": {"of": {"type": "visit"}, "for": "5d"}},
                "then": {"emit": {"kind": "engagement.nag"}},
            },
            {
                "id": "nag_kept",
                "goal": "kept_goal",
                "when": {"inactivity": {"of": {"type": "visit"}, "for": "5d"}},
                "then": {"emit": {"kind": "engagement.nag_kept"}},
            },
        ],
        "exits": [{"name": "gone", "event": {"type": "leave"}}],
        "guard_rails": {
            "frequency_cap": {"max": 5, "within": "90d"},
            "reentry": {"policy": "always", "on": {"type": "visit"}},
        },
    }
)


def test_per_entry_state_is_reset_and_per_customer_state_kept() -> None:
    played = play(
        SMALL,
        [
            ev("v1", "visit", at(), customer="k", timezone="Europe/Paris"),
            ev("p1", "ping", at(1), customer="k"),
            ev("p2", "ping", at(2), customer="k"),
            ev("d1", "done", at(3), customer="k"),
            ev("l1", "leave", at(4), customer="k"),
            ev("v2", "visit", at(20), customer="k"),
        ],
    )
    state = played.state
    assert state is not None
    # per entry: stage and its clock, entry, exit, window counts, inactivity anchors, fired
    # timers, scope-entry attributes (the goal done_at, round_visits)
    assert (state.stage, state.stage_entered_at, state.entered_at) == ("busy", at(20), at(20))
    assert (state.exited_at, state.exit_reason, state.entries) == (None, None, 2)
    assert state.windows == {} and state.fired == {}
    assert state.last_match == {"nag": at(20), "nag_kept": at(20)}
    assert state.attributes == {"visits": 2, "round_visits": 1, "kept_goal": iso_t(at(3))}
    # per customer: cooldowns (the second visit's trigger is within 60 days), the cap
    # history, engine time, zone, recent ids, counters
    assert [(s.rule, s.reason) for s in played.suppressed] == [("visit", "cooldown")]
    assert state.cooldowns == {"visit": at()} and state.cap_history == [at()]
    assert (state.timezone, state.watermark, state.events) == ("Europe/Paris", at(20), 6)
    assert set(state.seen) == {"v1", "p1", "p2", "d1", "l1", "v2"}
    # the goal of this entry is not reached: its nag is sent again; kept_goal is the
    # customer's, so nag_kept stays at its goal
    later = play(SMALL, [], until=at(30), state=state)
    assert [t.rule for t in later.triggers] == ["nag"]
    assert later.suppressed_rows() == [("nag_kept", "goal", "2025-03-28T12:00:00Z")]


def test_window_counts_start_over_with_the_entry() -> None:
    played = play(
        SMALL,
        [
            ev("p1", "ping", at(1), customer="k"),
            ev("p2", "ping", at(2), customer="k"),
            ev("l1", "leave", at(3), customer="k"),
            ev("v2", "visit", at(4), customer="k"),
            ev("p3", "ping", at(5), customer="k"),
        ],
    )
    assert [t.rule for t in played.triggers] == ["visit"]  # no "three" from p1, p2, p3


def iso_t(moment: datetime) -> str:
    """A datetime attribute's stored form."""
    return moment.isoformat().replace("+00:00", "Z")
