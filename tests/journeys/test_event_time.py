"""Event-time semantics: duplicates, late and out-of-order events, timers, next_due."""

from __future__ import annotations

from dataclasses import replace

from journeys import Journey, advance, dump_state, next_due, step
from tests.journeys.factories import at, build, ev, make_event, play


def idle_journey(**time: object) -> Journey:
    return build(
        {
            "rules": [
                {
                    "id": "hello",
                    "when": {"event": {"type": "hello"}},
                    "then": {"emit": {"kind": "engagement.hello"}},
                },
                {
                    "id": "idle",
                    "when": {"inactivity": {"of": {"type": "visit"}, "for": "1d"}},
                    "then": {"emit": {"kind": "engagement.idle"}},
                },
            ],
            "time": time or {},
        }
    )


def test_duplicate_event_id_has_no_effect() -> None:
    journey = idle_journey()
    state, first = step(journey, None, ev("a", "hello", at()))
    again, outcome = step(journey, state, ev("a", "hello", at(0.5)))
    assert (first.status, outcome.status) == ("processed", "duplicate")
    assert again is state
    assert outcome.triggers == [] and outcome.suppressed == []


def test_late_event_is_counted_only() -> None:
    journey = idle_journey(allowed_lateness="1d")
    state, _ = step(journey, None, ev("a", "hello", at(5)))
    later, outcome = step(journey, state, ev("b", "hello", at(3.9)))
    assert outcome.status == "late"
    assert later.late_events == 1
    assert replace(later, late_events=state.late_events) == state
    within, outcome = step(journey, state, ev("c", "hello", at(4)))
    assert outcome.status == "processed"
    assert [t.emitted_at for t in outcome.triggers] == [at(4)]
    assert within.watermark == at(5)


def test_inactivity_counts_from_the_latest_match_not_the_latest_arrival() -> None:
    journey = idle_journey()
    played = play(journey, [ev("a", "visit", at(2)), ev("b", "visit", at(1.5))], until=at(10))
    assert [t.emitted_at for t in played.triggers] == [at(3)]


def test_step_fires_timers_due_at_or_before_the_event_first() -> None:
    journey = idle_journey()
    state, _ = step(journey, None, ev("a", "visit", at()))
    _, outcome = step(journey, state, ev("b", "visit", at(1)))
    assert [t.rule for t in outcome.triggers] == ["idle"]
    assert outcome.triggers[0].emitted_at == at(1)
    _, outcome = step(journey, state, ev("c", "visit", at(0.99)))
    assert outcome.triggers == []


def test_advance_fires_in_due_order_each_at_its_due_time() -> None:
    journey = build(
        {
            "rules": [
                {
                    "id": "late",
                    "when": {"inactivity": {"for": "3d"}},
                    "then": {"emit": {"kind": "engagement.b"}},
                },
                {
                    "id": "early",
                    "when": {"inactivity": {"for": "1d"}},
                    "then": {"emit": {"kind": "engagement.a"}},
                },
                {
                    "id": "tie",
                    "when": {"inactivity": {"for": "3d"}},
                    "then": {"emit": {"kind": "engagement.c"}},
                },
            ]
        }
    )
    state, _ = step(journey, None, make_event("x", at()))
    assert next_due(state) == at(1)
    state, outcome = advance(journey, state, at(10))
    assert [(t.rule, t.emitted_at) for t in outcome.triggers] == [
        ("early", at(1)),
        ("late", at(3)),
        ("tie", at(3)),
    ]
    assert next_due(state) is None
    assert state.clock == at(10)


def test_advance_with_nothing_due_returns_the_same_state() -> None:
    journey = idle_journey()
    state, _ = step(journey, None, make_event("hello", at()))
    same, outcome = advance(journey, state, at(-1))
    assert same is state and outcome.triggers == []


def test_dedup_memory_is_bounded() -> None:
    journey = idle_journey(dedup_capacity=16, allowed_lateness="1h")
    state = None
    for i in range(100):
        state, _ = step(journey, state, ev(f"e{i}", "hello", at(minutes=i * 10)))
    assert state is not None
    assert len(state.seen) <= 16
    # The oldest ids are forgotten, but they are older than the lateness: rejected as late.
    _, outcome = step(journey, state, ev("e0", "hello", at()))
    assert outcome.status == "late"
    _, outcome = step(journey, state, ev("e99", "hello", at(minutes=990)))
    assert outcome.status == "duplicate"


def test_time_zone_is_taken_from_in_order_events_only() -> None:
    journey = idle_journey()
    played = play(
        journey,
        [
            make_event("hello", at(1), timezone="Europe/Paris"),
            make_event("hello", at(0.5), timezone="Asia/Tokyo"),
            make_event("hello", at(2)),
        ],
    )
    assert played.state is not None and played.state.timezone == "Europe/Paris"


def test_the_input_state_is_never_mutated() -> None:
    journey = idle_journey()
    state, _ = step(journey, None, make_event("visit", at()))
    before = dump_state(state)
    step(journey, state, make_event("hello", at(2)))
    advance(journey, state, at(5))
    assert dump_state(state) == before
