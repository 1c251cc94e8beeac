"""A/B variants and goal measures: deterministic assignment, the trigger carries it, the
weights are linted; goals and entries reported with the customer's cohort."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from journeys import DefinitionError, Journey, in_holdout, load_definition
from journeys.experiments import cuts, variant_bucket, variant_of
from journeys.guards import holdout_bucket
from journeys.lint import main as lint_main
from tests.journeys.factories import at, make_event, step

AB = """
name: ab
version: 1
stages: [new, welcomed, active, gone]
initial_stage: new
attributes:
  activated_at: {type: datetime}
rules:
  - id: welcome
    stages: [new]
    when: {event: {type: signed_up}}
    then:
      move_to: welcomed
      emit: {kind: onboarding.welcome, experiment: copy, variants: {short: 30, long: 70}}
  - id: nudge
    goal: activated_at
    when: {event: {type: page_viewed}}
    then:
      emit: {kind: onboarding.nudge, experiment: copy, variants: {short: 30, long: 70}}
  - id: plain
    when: {event: {type: login}}
    then: {emit: {kind: engagement.hello}}
  - id: activated
    when: {event: {type: key_action}}
    then:
      set: {activated_at: {event_time: true, mode: if_unset}}
      move_to: active
exits:
  - {name: subscribed, event: {type: subscription_started}, reason: goal}
  - {name: closed, event: {type: account_closed}}
guard_rails:
  holdout_percent: 20
  reentry: {policy: always, on: {type: signed_up}}
"""


def _ab(folder: Path, text: str = AB) -> Journey:
    """The definition ``text`` as loaded from a file (YAML 1.2, as the worker loads it)."""
    path = folder / f"ab-{len(list(folder.iterdir()))}.yaml"
    path.write_text(text)
    return load_definition(path)


def _reference_bucket(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def test_buckets_are_sha256_of_customer_journey_and_experiment() -> None:
    for customer in ("c-0", "c-44", "user-é"):
        assert variant_bucket(customer, "ab", "copy") == _reference_bucket(customer, "ab", "copy")
        assert holdout_bucket(customer, "lifecycle") == _reference_bucket(customer, "lifecycle")
    assert in_holdout("c-44", "lifecycle", 5) and not in_holdout("c-0", "lifecycle", 5)


def test_variants_follow_the_weights_in_and_out_of_the_holdout() -> None:
    ranges = cuts({"short": 30, "long": 70})
    assert ranges == (("short", 3000), ("long", 10_000))
    customers = [f"c-{i}" for i in range(6000)]
    held = [c for c in customers if in_holdout(c, "ab", 20)]
    for group in (customers, held):
        counts = Counter(variant_of(ranges, c, "ab", "copy") for c in group)
        assert abs(counts["short"] / len(group) - 0.3) < 0.03, counts


def test_the_trigger_carries_the_variant_sent_or_held_out(tmp_path: Path) -> None:
    journey = _ab(tmp_path)
    seen = Counter()
    for i in range(60):
        customer = f"c-{i}"
        _, outcome = step(journey, None, make_event("signed_up", at(), customer=customer))
        found = [*outcome.triggers, *(s.trigger for s in outcome.suppressed)]
        (trigger,) = found
        expected = variant_of(cuts({"short": 30, "long": 70}), customer, "ab", "copy")
        assert (trigger.experiment, trigger.variant) == ("copy", expected)
        assert trigger.holdout == in_holdout(customer, "ab", 20)
        seen[trigger.holdout] += 1
    assert seen[True] and seen[False]


def test_one_experiment_one_variant_per_customer_and_plain_triggers_have_none(
    tmp_path: Path,
) -> None:
    journey = _ab(tmp_path)
    for i in range(20):
        customer = f"c-{i}"
        state, first = step(journey, None, make_event("signed_up", at(), customer=customer))
        state, second = step(journey, state, make_event("page_viewed", at(1), customer=customer))
        _, plain = step(journey, state, make_event("login", at(2), customer=customer))
        a = [*first.triggers, *(s.trigger for s in first.suppressed)][0]
        b = [*second.triggers, *(s.trigger for s in second.suppressed)][0]
        assert a.variant == b.variant and a.experiment == b.experiment == "copy"
        c = [*plain.triggers, *(s.trigger for s in plain.suppressed)][0]
        assert (c.experiment, c.variant) == (None, None)
        assert "experiment" not in c.model_fields_set


def test_stable_across_versions_and_rule_renames_not_experiment_renames(tmp_path: Path) -> None:
    base = _ab(tmp_path)
    v2 = _ab(tmp_path, AB.replace("version: 1", "version: 2").replace("id: welcome", "id: hello"))
    renamed = _ab(tmp_path, AB.replace("experiment: copy", "experiment: copy_2026"))

    def variants(journey: Journey) -> list[str | None]:
        out = []
        for i in range(200):
            event = make_event("signed_up", at(), customer=f"c-{i}", event_id="e")
            _, outcome = step(journey, None, event)
            out.append([*outcome.triggers, *(s.trigger for s in outcome.suppressed)][0].variant)
        return out

    assert variants(v2) == variants(base)
    assert variants(renamed) != variants(base)


def test_the_experiment_defaults_to_the_rule_id_and_ids_do_not_change(tmp_path: Path) -> None:
    plain = _ab(
        tmp_path, AB.replace(", experiment: copy, variants: {short: 30, long: 70}}", "}", 1)
    )
    default = _ab(tmp_path, AB.replace(", experiment: copy, variants", ", variants", 1))
    event = make_event("signed_up", at(), customer="c-1", event_id="e1")
    (_, a), (_, b) = step(plain, None, event), step(default, None, event)
    ta = [*a.triggers, *(s.trigger for s in a.suppressed)][0]
    tb = [*b.triggers, *(s.trigger for s in b.suppressed)][0]
    assert tb.experiment == "welcome" and ta.experiment is None
    assert ta.trigger_id == tb.trigger_id


def test_goals_and_entries_are_reported_with_the_cohort(tmp_path: Path) -> None:
    journey = _ab(tmp_path)
    customer = "c-3"
    cohort = "holdout" if in_holdout(customer, "ab", 20) else "treated"
    state, first = step(journey, None, make_event("signed_up", at(), customer=customer))
    assert first.entered == cohort and first.goals == []
    state, later = step(journey, state, make_event("login", at(0, 1), customer=customer))
    assert later.entered is None
    state, goal = step(journey, state, make_event("key_action", at(0, 5), customer=customer))
    assert [(g.name, g.since_entry, g.cohort) for g in goal.goals] == [
        ("activated_at", timedelta(hours=5), cohort)
    ]
    state, again = step(journey, state, make_event("key_action", at(0, 6), customer=customer))
    assert again.goals == []  # already set: reached once per entry
    state, won = step(journey, state, make_event("subscription_started", at(1), customer=customer))
    assert [(g.name, g.since_entry) for g in won.goals] == [("subscribed", timedelta(days=1))]
    state, back = step(journey, state, make_event("signed_up", at(3), customer=customer))
    assert back.entered == cohort  # a re-entry is an entry
    _, goal = step(journey, state, make_event("key_action", at(3, 2), customer=customer))
    assert [(g.name, g.since_entry) for g in goal.goals] == [("activated_at", timedelta(hours=2))]


def test_a_journey_without_holdout_has_only_treated_customers(tmp_path: Path) -> None:
    journey = _ab(tmp_path, AB.replace("holdout_percent: 20", "holdout_percent: 0"))
    for i in range(50):
        _, outcome = step(journey, None, make_event("key_action", at(), customer=f"c-{i}"))
        assert outcome.entered == "treated"
        assert [g.cohort for g in outcome.goals] == ["treated"]


WEIGHTS = [
    (
        "{short: 50, long: 40}",
        "rules[0].then.emit.variants: weights add up to 90: they are percents of customers, "
        "make them add up to 100 (line 14)",
    ),
    ("{only: 100}", "rules[0].then.emit.variants: needs at least two variants (line 14)"),
    (
        "{short: 0, long: 100}",
        "rules[0].then.emit.variants.short: Input should be greater than or equal to 1 (line 14)",
    ),
]


@pytest.mark.parametrize(("weights", "message"), WEIGHTS)
def test_lint_checks_the_weights(
    weights: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ab.yaml"
    path.write_text(AB.replace("{short: 30, long: 70}}", weights + "}", 1))
    assert lint_main([str(path)]) == 1
    assert f"ab.yaml: {message}" in capsys.readouterr().err.splitlines()
    with pytest.raises(DefinitionError):
        load_definition(path)


def test_lint_checks_experiments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ab.yaml"
    text = AB.replace("{short: 30, long: 70}}", "{short: 50, long: 50}}", 1)
    text = text.replace(
        "emit: {kind: engagement.hello}", "emit: {kind: engagement.hello, experiment: x}"
    )
    path.write_text(text)
    assert lint_main([str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "ab.yaml: rules[1].then.emit.variants: experiment 'copy' has other variants in "
        "rules[0] ('welcome'): rules sharing an experiment need the same variants and "
        "weights, in the same order (line 19)",
        "ab.yaml: rules[2].then.emit.experiment: an experiment needs variants "
        "(variants: {a: 50, b: 50}) (line 22)",
    ]


def test_the_sample_experiment_lints() -> None:
    sample = Path(__file__).parents[2] / "journeys" / "samples" / "report" / "welcome_ab.yaml"
    assert lint_main([str(sample)]) == 0
