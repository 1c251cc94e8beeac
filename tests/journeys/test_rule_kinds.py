"""Each rule kind on a small definition of its own."""

from __future__ import annotations

from typing import Any

import pytest

from journeys import Journey
from tests.journeys.factories import at, build, ev, make_event, play


def one_rule(when: dict[str, Any], **extra: Any) -> Journey:
    rule = {"id": "r", "when": when, "then": {"emit": {"kind": "engagement.x"}}, **extra}
    return build({"rules": [rule]})


# -- event rules and predicates -------------------------------------------------------

PREDICATES = [
    ({"property": "score", "eq": 3}, {"score": 3}, True),
    ({"property": "score", "eq": 3}, {"score": 3.0}, True),
    ({"property": "flag", "eq": 1}, {"flag": True}, False),
    ({"property": "flag", "eq": True}, {"flag": True}, True),
    ({"property": "plan", "ne": "free"}, {}, True),
    ({"property": "plan", "in": ["pro", "team"]}, {"plan": "team"}, True),
    ({"property": "plan", "in": ["pro", "team"]}, {"plan": "free"}, False),
    ({"property": "plan", "not_in": ["free"]}, {"plan": "pro"}, True),
    ({"property": "score", "lte": 2}, {"score": 2}, True),
    ({"property": "score", "lt": 2}, {"score": 2}, False),
    ({"property": "score", "gt": 8, "lte": 10}, {"score": 9.5}, True),
    ({"property": "score", "gte": 9}, {"score": "10"}, False),  # strings are not numbers
    ({"property": "score", "gte": 9}, {"score": True}, False),
    ({"property": "score", "gte": 9}, {}, False),
    ({"property": "order.total", "gt": 100}, {"order": {"total": 150}}, True),
    ({"property": "order.total", "gt": 100}, {"order": 150}, False),
    ({"property": "coupon", "exists": True}, {"coupon": "X"}, True),
    ({"property": "coupon", "exists": True}, {"coupon": None}, False),
    ({"property": "coupon", "exists": False}, {}, True),
]


@pytest.mark.parametrize(("predicate", "properties", "fires"), PREDICATES)
def test_predicates(predicate: dict[str, Any], properties: dict[str, Any], fires: bool) -> None:
    journey = one_rule({"event": {"type": "rated", "where": [predicate]}})
    played = play(journey, [make_event("rated", at(), **properties)])
    assert bool(played.triggers) is fires


def test_trait_predicate_and_type_normalisation() -> None:
    journey = one_rule(
        {"event": {"type": "Order Completed", "where": [{"trait": "vip", "eq": True}]}}
    )
    played = play(journey, [make_event("orderCompleted", at(), traits={"vip": True})])
    assert [t.kind for t in played.triggers] == ["engagement.x"]


def test_stage_filter_sees_the_stage_at_arrival() -> None:
    journey = build(
        {
            "rules": [
                {
                    "id": "a",
                    "stages": ["new"],
                    "when": {"event": {"type": "go"}},
                    "then": {"move_to": "done", "emit": {"kind": "engagement.a"}},
                },
                {
                    "id": "b",
                    "stages": ["done"],
                    "when": {"event": {"type": "go"}},
                    "then": {"emit": {"kind": "engagement.b"}},
                },
            ]
        }
    )
    first = play(journey, [make_event("go", at())])
    assert [t.rule for t in first.triggers] == ["a"]
    assert [(t.stage_before, t.stage_after) for t in first.triggers] == [("new", "done")]
    assert [(x.rule, x.stage_before, x.stage_after) for x in first.transitions] == [
        ("a", "new", "done")
    ]
    second = play(journey, [make_event("go", at(1))], state=first.state)
    assert [t.rule for t in second.triggers] == ["b"]


def test_set_modes_and_coercion_notes() -> None:
    journey = build(
        {
            "attributes": {
                "first": {"type": "datetime"},
                "last": {"type": "datetime"},
                "renewal": {"type": "date"},
                "n": {"type": "number"},
            },
            "rules": [
                {
                    "id": "r",
                    "when": {"event": {"type": "x"}},
                    "then": {
                        "set": {
                            "first": {"event_time": True, "mode": "if_unset"},
                            "last": {"event_time": True, "mode": "max"},
                            "renewal": {"property": "renewal"},
                            "n": {"property": "n"},
                        }
                    },
                },
            ],
        }
    )
    played = play(
        journey,
        [
            make_event("x", at(1), renewal="2025-06-30T10:00:00+02:00", n="42"),
            make_event("x", at(0), renewal="not a date", n=[1]),
        ],
    )
    assert played.state is not None
    assert played.state.attributes == {
        "first": "2025-03-04T12:00:00Z",
        "last": "2025-03-04T12:00:00Z",
        "renewal": "2025-06-30",
        "n": 42,
    }
    assert played.notes == [
        "r: renewal: 'not a date' is not a date, ignored",
        "r: n: [1] is not a number, ignored",
    ]


# -- inactivity -----------------------------------------------------------------------


def test_inactivity_since_last_event_rearms_on_each_match() -> None:
    journey = one_rule({"inactivity": {"of": {"type": "visit"}, "for": "2d"}})
    played = play(
        journey,
        [make_event("visit", at()), make_event("visit", at(1)), make_event("other", at(2.5))],
        until=at(10),
    )
    assert [t.emitted_at for t in played.triggers] == [at(3)]
    assert played.triggers[0].cause.key == "timer:r@2025-03-06T12:00:00+00:00"


def test_inactivity_since_stage_entry_is_disarmed_by_a_match() -> None:
    journey = build(
        {
            "rules": [
                {"id": "enter", "when": {"event": {"type": "join"}}, "then": {"move_to": "done"}},
                {
                    "id": "r",
                    "stages": ["done"],
                    "when": {
                        "inactivity": {"of": {"type": "act"}, "for": "1d", "since": "stage_entry"}
                    },
                    "then": {"emit": {"kind": "onboarding.nudge"}},
                },
            ]
        }
    )
    quiet = play(journey, [make_event("join", at())], until=at(5))
    assert [t.emitted_at for t in quiet.triggers] == [at(1)]
    acted = play(journey, [make_event("join", at()), make_event("act", at(0.5))], until=at(5))
    assert acted.triggers == []


def test_inactivity_overdue_when_armed_fires_at_once() -> None:
    journey = build(
        {
            "rules": [
                {"id": "enter", "when": {"event": {"type": "join"}}, "then": {"move_to": "done"}},
                {
                    "id": "r",
                    "stages": ["done"],
                    "when": {"inactivity": {"of": {"type": "visit"}, "for": "1d"}},
                    "then": {"emit": {"kind": "engagement.idle"}},
                },
            ]
        }
    )
    played = play(journey, [make_event("visit", at()), make_event("join", at(3))], until=at(3))
    assert [t.emitted_at for t in played.triggers] == [at(3)]


# -- dates ----------------------------------------------------------------------------


def date_journey(when: dict[str, Any]) -> Journey:
    return build(
        {
            "attributes": {"d": {"type": "date"}},
            "rules": [
                {
                    "id": "set",
                    "when": {"event": {"type": "set"}},
                    "then": {"set": {"d": {"property": "d"}}},
                },
                {"id": "r", "when": {"date": when}, "then": {"emit": {"kind": "renewal.x"}}},
            ],
        }
    )


def test_date_after_offset_at_local_time() -> None:
    journey = date_journey({"attribute": "d", "offset_days": 2, "at": "18:30"})
    played = play(
        journey, [make_event("set", at(), d="2025-03-10", timezone="Asia/Kolkata")], until=at(30)
    )
    assert [t.emitted_at for t in played.triggers] == [at(9, hours=1)]  # 18:30 IST = 13:00Z


def test_date_moves_when_the_time_zone_changes() -> None:
    journey = date_journey({"attribute": "d", "at": "09:00"})
    played = play(
        journey,
        [
            make_event("set", at(), d="2025-03-10", timezone="Europe/Paris"),
            make_event("ping", at(1), timezone="America/New_York"),
        ],
        until=at(30),
    )
    assert [t.emitted_at.isoformat() for t in played.triggers] == ["2025-03-10T13:00:00+00:00"]


def test_date_changed_fires_the_new_occurrence_once() -> None:
    journey = date_journey({"attribute": "d", "offset_days": -1})
    played = play(
        journey,
        [make_event("set", at(), d="2025-03-10"), make_event("set", at(1), d="2025-03-20")],
        until=at(60),
    )
    assert [t.emitted_at.isoformat() for t in played.triggers] == ["2025-03-19T09:00:00+00:00"]


def test_yearly_fires_every_year_from_the_next() -> None:
    journey = date_journey({"attribute": "d", "yearly": True, "at": "09:00"})
    played = play(journey, [make_event("set", at(), d="2025-03-04")], until=at(800))
    assert [t.emitted_at.isoformat() for t in played.triggers] == [
        "2026-03-04T09:00:00+00:00",
        "2027-03-04T09:00:00+00:00",
    ]


# -- windows --------------------------------------------------------------------------


def window(count: int, within: str, **extra: Any) -> Journey:
    return one_rule(
        {"window": {"event": {"type": "bad"}, "count": count, "within": within, **extra}}
    )


def test_window_counts_within_inclusive_and_resets() -> None:
    journey = window(2, "30d")
    played = play(
        journey,
        [
            ev("a", "bad", at()),
            ev("b", "bad", at(30)),
            ev("c", "bad", at(31)),
            ev("d", "bad", at(70)),
        ],
    )
    assert [t.cause.key for t in played.triggers] == ["event:a,b"]


def test_window_without_reset_fires_on_every_full_window() -> None:
    journey = window(2, "10d", reset=False)
    played = play(journey, [ev("a", "bad", at()), ev("b", "bad", at(1)), ev("c", "bad", at(2))])
    assert [t.cause.key for t in played.triggers] == ["event:a,b", "event:b,c"]


def test_window_includes_a_late_event_at_its_place() -> None:
    journey = window(3, "5d")
    played = play(journey, [ev("a", "bad", at(10)), ev("b", "bad", at(12)), ev("c", "bad", at(11))])
    assert [t.cause.key for t in played.triggers] == ["event:a,c,b"]
    assert played.triggers[0].emitted_at == at(11)


# -- thresholds -----------------------------------------------------------------------


def threshold(crosses: str) -> Journey:
    return build(
        {
            "attributes": {"spend": {"type": "number"}},
            "rules": [
                {
                    "id": "add",
                    "when": {"event": {"type": "buy"}},
                    "then": {"increment": {"spend": {"property": "amount"}}},
                },
                {
                    "id": "r",
                    "when": {"threshold": {"attribute": "spend", "value": 100, "crosses": crosses}},
                    "then": {"emit": {"kind": "growth.x"}},
                },
            ],
        }
    )


def test_threshold_up_fires_on_each_crossing() -> None:
    buys = [50, 50, 10, -80, 90]  # 50, 100 (cross), 110, 30, 120 (cross)
    played = play(threshold("up"), [make_event("buy", at(i), amount=a) for i, a in enumerate(buys)])
    assert [t.emitted_at for t in played.triggers] == [at(1), at(4)]


def test_threshold_down() -> None:
    buys = [150, -60, -10]  # 150, 90 (cross down), 80
    played = play(
        threshold("down"), [make_event("buy", at(i), amount=a) for i, a in enumerate(buys)]
    )
    assert [t.emitted_at for t in played.triggers] == [at(1)]
