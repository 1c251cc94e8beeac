"""State serialisation (versioned), merging, version adoption."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from journeys import Transition, default_journey, dump_state, load_state, merge, migrate, step
from tests.journeys.factories import at, build, ev, make_event, play

SAMPLE = Path(__file__).parents[2] / "journeys" / "samples" / "state.v1.json"


def test_stored_v1_sample_loads_and_round_trips() -> None:
    obj = json.loads(SAMPLE.read_text())
    state = load_state(obj)
    assert (state.schema_version, state.stage, state.timezone) == (1, "active", "Europe/Paris")
    assert dump_state(state) == obj
    assert state.model_dump(mode="json") == obj  # the name callers used before dump_state
    # and the engine carries on from it
    _, outcome = step(
        default_journey(),
        state,
        make_event("nps_submitted", at(7), customer=state.customer_id, score=10),
    )
    assert [t.kind for t in outcome.triggers] == ["advocacy.review_ask"]


def test_migrate_accepts_unversioned_and_rejects_unknown() -> None:
    obj = json.loads(SAMPLE.read_text())
    del obj["schema_version"]
    assert load_state(obj).schema_version == 1
    assert "schema_version" not in obj  # migrate does not mutate its input
    with pytest.raises(ValueError, match="unknown CustomerState schema_version 99"):
        migrate({**obj, "schema_version": 99})


def test_json_round_trip_after_a_story() -> None:
    played = play(
        default_journey(),
        [
            make_event("signed_up", at(), customer="c-0"),
            make_event("support_ticket_opened", at(1), customer="c-0"),
        ],
    )
    assert played.state is not None
    text = json.dumps(dump_state(played.state))
    assert load_state(json.loads(text)) == played.state


def test_merge_anonymous_into_identified() -> None:
    journey = default_journey()
    anon = play(
        journey,
        [
            ev("a1", "order_completed", at(), customer="anon-1", amount=700),
            ev("a2", "csat_submitted", at(1), customer="anon-1", score=1),
        ],
    )
    known = play(
        journey,
        [
            ev("k1", "order_completed", at(2), customer="c-0", amount=200),
            ev("k2", "delivery_failed", at(3), customer="c-0"),
        ],
    )
    assert anon.state is not None and known.state is not None
    merged = merge(journey, known.state, anon.state)
    assert merged.customer_id == "c-0"
    assert merged.attributes["lifetime_spend"] == 900
    assert merged.attributes["orders"] == 2
    assert merged.attributes["bad_experiences"] == 2
    assert set(merged.seen) == {"a1", "a2", "k1", "k2"}
    assert [i for _, i in merged.windows["churn_risk"]] == ["a2", "k2"]
    # the anonymous events are now duplicates for the customer
    _, outcome = step(journey, merged, ev("a1", "order_completed", at(4), customer="c-0", amount=1))
    assert outcome.status == "duplicate"
    # and crossing 1000 now counts the anonymous spend
    _, outcome = step(
        journey, merged, ev("k3", "order_completed", at(4), customer="c-0", amount=150)
    )
    assert [t.kind for t in outcome.triggers] == ["growth.vip"]


def test_merge_takes_the_anonymous_stage_when_the_customer_is_new() -> None:
    journey = default_journey()
    anon = play(journey, [ev("a1", "signed_up", at(), customer="anon-2")])
    known = play(journey, [ev("k1", "identify", at(0.1), customer="c-0")])
    assert anon.state is not None and known.state is not None
    merged = merge(journey, known.state, anon.state)
    assert merged.stage == "onboarding"
    assert merged.timers["nudge_day_1"] == at(1)


def test_a_state_from_an_older_version_is_adopted() -> None:
    v1 = build({"stages": ["new", "gone"], "rules": []})
    state, _ = step(v1, None, make_event("x", at()))
    state = replace(state, stage="gone")
    v2 = build({"version": 2, "rules": []})
    new, outcome = step(v2, state, make_event("x", at(1)))
    assert (new.journey_version, new.stage) == (2, "new")
    assert outcome.notes == [
        "stage 'gone' of version 1 is not in version 2 and has no migrate mapping: initial stage"
    ]
    assert outcome.transitions == [
        Transition("version_upgrade", "gone", "new", at(), "version_upgrade")
    ]  # at the state's engine time (test_versions.py: the stories)


def test_a_state_of_another_journey_is_refused() -> None:
    state, _ = step(build({}), None, make_event("x", at()))
    with pytest.raises(ValueError, match="state of journey 'test' given to 'lifecycle'"):
        step(default_journey(), state, make_event("x", at(1)))


def test_known_instant_writes_as_json_instant_and_remembers_nothing() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from journeys import state as module

    remembered = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    written = module.json_instant(remembered)  # remembered now
    size = len(module._ISO)
    for moment in (
        remembered,
        remembered + timedelta(microseconds=1),  # not remembered
        datetime(2031, 5, 6, tzinfo=UTC),
        remembered.astimezone(timezone(timedelta(hours=2))),  # another zone: never
    ):
        assert module.known_instant(moment) == module._isoformat(moment)
    assert module.known_instant(remembered) == written == "2031-05-06T07:08:09.123456Z"
    assert len(module._ISO) == size
