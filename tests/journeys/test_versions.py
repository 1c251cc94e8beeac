"""A new version of a journey: where its in-flight customers go (``migrate``).

Stories on the two versions of ``journeys/samples/versions/trial.*.yaml`` (the example of
journeys/README.md, "Versions and migrate"): a customer in the trial stage of version 1
meets version 2, which renamed the stage to onboarding, with and without the mapping.
Each move is a transition of kind ``version_upgrade`` at the state's engine time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from journeys import CustomerState, Journey, dump_state, load_definition, parse_definition
from journeys import advance as journey_advance
from journeys import driver as journey_driver
from journeys import step as journey_step
from tests.journeys.factories import Played, at, ev, iso, play

SAMPLES = Path(__file__).parents[2] / "journeys" / "samples" / "versions"
V1 = load_definition(SAMPLES / "trial.v1.yaml")
V2 = load_definition(SAMPLES / "trial.v2.yaml")


def v2(**changes: Any) -> Journey:
    """Version 2 with top-level fields changed (None: removed)."""
    data = yaml.safe_load((SAMPLES / "trial.v2.yaml").read_text())
    for name, value in changes.items():
        if value is None:
            data.pop(name)
        else:
            data[name] = value
    return parse_definition(data)


def in_trial() -> CustomerState:
    """Version 1: trial started at T0, last seen a day later (its engine time)."""
    played = play(
        V1,
        [
            ev("t1", "trial_started", at(), customer="k"),
            ev("p1", "page_viewed", at(1), customer="k"),
        ],
    )
    assert played.state is not None
    assert (played.state.stage, played.state.clock) == ("trial", at(1))
    assert played.state.timers == {"trial_nudge": at(3)}
    return played.state


def after_upgrade(definition: Journey) -> Played:
    """Version ``definition`` sees the customer again on day 2, who subscribes on day 5."""
    steps = [
        ev("p2", "page_viewed", at(2), customer="k"),
        ev("s1", "subscription_started", at(5), customer="k"),
    ]
    return play(definition, steps, state=in_trial())


def moves(played: Played) -> list[tuple[str, str, str, str | None, str]]:
    return [(t.rule, t.stage_before, t.stage_after, iso(t.at), t.kind) for t in played.transitions]


def sent(played: Played) -> list[tuple[str, str, str, str | None, int]]:
    return [
        (t.trigger_id, t.rule, t.cause.key, iso(t.emitted_at), t.journey_version)
        for t in played.triggers
    ]


def test_a_renamed_stage_takes_its_customers_along() -> None:
    played = after_upgrade(V2)
    assert moves(played) == [
        # at the state's engine time (day 1), not when version 2 first sees it (day 2)
        ("version_upgrade", "trial", "onboarding", "2025-03-04T12:00:00Z", "version_upgrade"),
        ("subscribed", "onboarding", "customer", "2025-03-08T12:00:00Z", "move"),
        ("exit:converted", "customer", "customer", "2025-03-08T12:00:00Z", "goal"),
    ]
    # The move is a stage entry: the nudge counts 3 days from it (day 4), not from the
    # trial's start (version 1's pending nudge, day 3, belonged to a rule that is gone).
    assert sent(played) == [
        (
            "cb0a9c0c-0734-5bf5-b4fd-dd47769ee5f3",
            "onboarding_nudge",
            "timer:onboarding_nudge@2025-03-07T12:00:00+00:00",
            "2025-03-07T12:00:00Z",
            2,
        ),
        (
            "eb6d83a8-8117-59df-9cee-b541849d137b",
            "subscribed",
            "event:s1",
            "2025-03-08T12:00:00Z",
            2,
        ),
    ]
    assert played.notes == [] and played.suppressed == []
    assert played.state is not None and played.state.journey_version == 2


def test_without_migrate_a_dropped_stage_sends_its_customers_to_the_initial_stage() -> None:
    # What `journeys lint trial.v2.yaml --previous trial.v1.yaml` refuses
    # (test_lint_checks.py): the customer lands in visitor, where subscribing does nothing.
    played = after_upgrade(v2(migrate=None))
    assert moves(played) == [
        ("version_upgrade", "trial", "visitor", "2025-03-04T12:00:00Z", "version_upgrade")
    ]
    assert played.notes == [
        "stage 'trial' of version 1 is not in version 2 and has no migrate mapping: initial stage"
    ]
    assert played.triggers == [] and played.suppressed == []
    assert played.state is not None and played.state.stage == "visitor"


def test_a_stage_that_still_exists_keeps_its_customers_and_its_clock() -> None:
    same = V1.model_dump(by_alias=True, exclude_defaults=True) | {"version": 2}
    played = play(parse_definition(same), [], until=at(4), state=in_trial())
    assert moves(played) == []  # no move, no record
    assert sent(played) == [
        (
            "8dbbfaa4-1703-5207-b275-906cf657f249",
            "trial_nudge",
            "timer:trial_nudge@2025-03-06T12:00:00+00:00",
            "2025-03-06T12:00:00Z",  # 3 days after the trial's start, as in version 1
            2,
        )
    ]
    assert played.state is not None
    assert (played.state.stage, played.state.stage_entered_at) == ("trial", at())


def test_a_mapping_wins_over_a_stage_of_the_same_name_and_enters_an_exit_stage() -> None:
    kept = v2(stages=["visitor", "trial", "onboarding", "customer"], migrate={"trial": "customer"})
    played = play(kept, [], until=at(4), state=in_trial())
    assert moves(played) == [
        ("version_upgrade", "trial", "customer", "2025-03-04T12:00:00Z", "version_upgrade"),
        ("exit:converted", "customer", "customer", "2025-03-04T12:00:00Z", "exit"),
    ]
    assert played.triggers == [] and played.state is not None
    assert played.state.exit_reason == "exit"


def test_an_upgrade_into_a_goal_stage_never_counts_as_reaching_the_goal() -> None:
    """migrate moved the in-flight customer there; it did not convert (issue 22: the
    report counted such customers converted). An exit, with a note, and no goal."""
    into_goal = v2(migrate={"trial": "customer"})
    state, outcome = journey_advance(into_goal, in_trial(), at(2))
    assert [(t.rule, t.stage_after, t.kind) for t in outcome.transitions] == [
        ("version_upgrade", "customer", "version_upgrade"),
        ("exit:converted", "customer", "exit"),
    ]
    assert outcome.goals == []
    assert outcome.notes == [
        "version_upgrade into goal stage 'customer': exit 'converted' counted as an exit, "
        "not a goal (migrate moved the customer there)"
    ]
    assert (state.exit_reason, state.exit_name) == ("exit", "converted")


def test_a_rule_entering_a_goal_stage_still_reaches_the_goal() -> None:
    state, outcome = journey_step(
        V2, in_trial(), ev("s1", "subscription_started", at(5), customer="k")
    )
    assert [(g.name, g.at) for g in outcome.goals] == [("converted", at(5))]
    assert state.exit_reason == "goal"


def test_the_move_does_not_depend_on_when_the_customer_is_next_seen() -> None:
    # Live, a wake-up at the partition's watermark may see the state first; replay sees
    # it at the next event. Same moves, same triggers, same state.
    direct = after_upgrade(V2)
    woken = play(
        V2,
        [
            at(1.5),
            *[
                ev("p2", "page_viewed", at(2), customer="k"),
                ev("s1", "subscription_started", at(5), customer="k"),
            ],
        ],
        state=in_trial(),
    )
    assert moves(woken) == moves(direct) and sent(woken) == sent(direct)
    assert direct.state is not None and woken.state is not None
    assert dump_state(woken.state) == dump_state(direct.state)


def test_the_driver_reports_the_move_as_the_worker_and_replay_see_it() -> None:
    done = journey_driver.on_event(
        [V2], {"trial": in_trial()}, ev("p2", "page_viewed", at(2), customer="k")
    )
    [(name, outcome)] = done.outcomes
    assert name == "trial" and done.changed == ("trial",)
    assert [(t.rule, t.stage_before, t.stage_after, t.kind) for t in outcome.transitions] == [
        ("version_upgrade", "trial", "onboarding", "version_upgrade")
    ]
