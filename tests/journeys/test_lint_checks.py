"""``journeys lint``: the graph checks and ``--previous``, with exact messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeys import DefinitionError, load_definition
from journeys.graph import why_never
from journeys.lint import main
from journeys.predicates import EventMatch

SAMPLES = Path(__file__).parents[2] / "journeys" / "samples" / "versions"
HEAD = "name: demo\nversion: 1\nstages: [a, b]\ninitial_stage: a\n"
# a -> b and back: every stage reachable, every stage with a way out
LOOP = (
    "  - {id: go, stages: [a], when: {event: {type: go}}, then: {move_to: b}}\n"
    "  - {id: back, stages: [b], when: {event: {type: back}}, then: {move_to: a}}\n"
)


def lint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, stages: str = "[a, b]"
) -> tuple[int, list[str], list[str]]:
    """Lint ``demo.yaml`` (HEAD + body): exit status, stdout lines, stderr lines."""
    path = tmp_path / "demo.yaml"
    path.write_text(HEAD.replace("[a, b]", stages) + body)
    status = main([str(path)])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


ERRORS = [
    (
        "rules:\n" + LOOP + "  - id: vip\n"
        "    when: {event: {type: nps, where: [{property: score, gte: 9}, "
        "{property: score, lte: 6}]}}\n"
        "    then: {emit: {kind: advocacy.vip}}\n",
        [
            "demo.yaml: rules[2].when.event: can never match: no value of property 'score' "
            "passes gte: 9, lte: 6: the rule never fires (line 9)"
        ],
    ),
    (
        "rules:\n" + LOOP + "  - {id: none, when: {event: {type: []}}, then: {move_to: a}}\n"
        "  - id: plan\n    when: {window: {event: {type: x, where: [{trait: plan, eq: pro}, "
        "{trait: plan, eq: team}]}, count: 2, within: 1d}}\n"
        "    then: {emit: {kind: growth.plan}}\n"
        "  - {id: nowhere, stages: [], when: {event: {type: x}}, then: {move_to: b}}\n",
        [
            "demo.yaml: rules[2].when.event: can never match: 'type' is an empty list: the "
            "rule never fires (line 8)",
            "demo.yaml: rules[3].when.window.event: can never match: no value of trait 'plan' "
            "passes eq: 'pro', eq: 'team': the rule never fires (line 10)",
            "demo.yaml: rules[4].stages: empty: the rule never fires (omit it for every stage) "
            "(line 12)",
        ],
    ),
    (
        "matchers:\n  paid: [{type: order, where: [{property: amount, in: []}]}]\n"
        "rules:\n" + LOOP + "  - {id: paid, when: {event: {matcher: paid}}, then: {move_to: b}}\n"
        "  - id: idle\n    when: {inactivity: {of: {type: x, where: [{property: p, exists: "
        "false}, {property: p, gt: 1}]}, for: 2d}}\n    then: {emit: {kind: engagement.idle}}\n"
        "exits: [{name: gone, event: {type: [], where: []}}]\n"
        "guard_rails: {reentry: {policy: always, on: {type: back, where: [{property: n, lt: 1, "
        "gt: 2}]}}}\n",
        [
            "demo.yaml: matchers.paid[0]: can never match: no value of property 'amount' passes "
            "in: [] (line 6)",
            "demo.yaml: rules[2].when: matcher 'paid' can never match: the rule never fires "
            "(line 10)",
            "demo.yaml: rules[3].when.inactivity.of: can never match: no value of property 'p' "
            "passes exists: false, gt: 1: inactivity always counts from the stage entry "
            "(line 12)",
            "demo.yaml: exits[0].event: can never match: 'type' is an empty list: nobody exits "
            "this way (line 14)",
            "demo.yaml: guard_rails.reentry.on: can never match: no value of property 'n' "
            "passes lt: 1, gt: 2: nobody re-enters (line 15)",
        ],
    ),
    (
        "rules:\n" + LOOP + "migrate: {old: c}\n",
        ["demo.yaml: migrate.old: unknown stage 'c' (line 8)"],  # refused at load too
    ),
]


@pytest.mark.parametrize(("body", "expected"), ERRORS)
def test_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: list[str]
) -> None:
    status, out, err = lint(tmp_path, capsys, body)
    assert (status, out, err) == (1, [], expected)


def test_the_graph_checks_are_lints_the_worker_loads_what_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(HEAD + ERRORS[0][0])
    assert load_definition(path).rules[2].id == "vip"  # runs; it never fires
    path.write_text(HEAD + ERRORS[-1][0])
    with pytest.raises(DefinitionError):
        load_definition(path)


def test_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = (
        "attributes: {spend: {type: number}, renewal: {type: date}}\n"
        "rules:\n"
        "  - {id: go, stages: [a], when: {event: {type: go}}, then: {move_to: b}}\n"
        "  - {id: lost, stages: [c], when: {event: {type: x}}, then: {move_to: a}}\n"
        "  - {id: vip, when: {threshold: {attribute: spend, value: 9}}, then: "
        "{emit: {kind: growth.vip}}}\n"
        "  - {id: renew, when: {date: {attribute: renewal}}, then: {emit: {kind: renewal.x}}}\n"
    )
    status, out, err = lint(tmp_path, capsys, body, stages="[a, b, c]")
    assert (status, out) == (0, ["demo.yaml: ok (demo v1, 4 rules, 5 warnings)"])
    assert err == [
        "demo.yaml: stages[2]: warning: stage 'c' is unreachable: no rule moves a customer "
        "into it from the initial stage 'a' (line 3)",
        "demo.yaml: stages[1]: warning: stage 'b' has no way out: no rule moves a customer "
        "out of it, it is not an exit stage and no exit condition is on an event (line 3)",
        "demo.yaml: rules[1].stages: warning: every stage is unreachable: the rule never "
        "fires (line 8)",
        "demo.yaml: rules[2].when.threshold.attribute: warning: no rule sets 'spend': the "
        "rule fires only on a value written by another version (line 9)",
        "demo.yaml: rules[3].when.date.attribute: warning: no rule sets 'renewal': the rule "
        "fires only on a value written by another version (line 10)",
    ]


def test_an_exit_stage_is_a_way_out_and_a_migrate_target_is_reachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (
        "rules:\n  - {id: go, stages: [a], when: {event: {type: go}}, then: {move_to: b}}\n"
        "  - {id: back, stages: [c], when: {event: {type: x}}, then: {move_to: a}}\n"
        "exits: [{name: done, stage: b, reason: goal}]\n"
    )
    status, out, err = lint(tmp_path, capsys, body, stages="[a, b, c]")
    # b is an exit stage: a way out; c is entered by no rule
    assert (status, out) == (0, ["demo.yaml: ok (demo v1, 2 rules, 2 warnings)"])
    assert [line.split(": warning: ")[1].split(":")[0] for line in err] == [
        "stage 'c' is unreachable",
        "every stage is unreachable",
    ]
    parked = body + "migrate: {old: c}\n"  # c: where customers of stage old now go
    assert lint(tmp_path, capsys, parked, stages="[a, b, c]") == (
        0,
        ["demo.yaml: ok (demo v1, 2 rules)"],
        [],
    )


def test_a_migrate_into_a_goal_stage_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its customers exit without reaching the goal (test_versions.py): before, lint was
    silent and the engine counted them converted."""
    body = (
        "rules:\n  - {id: go, stages: [a], when: {event: {type: go}}, then: {move_to: b}}\n"
        "  - {id: back, stages: [c], when: {event: {type: x}}, then: {move_to: a}}\n"
        "exits: [{name: done, stage: b, reason: goal}, {name: gone, stage: c}]\n"
        "migrate: {old: b, older: c}\n"
    )
    status, out, err = lint(tmp_path, capsys, body, stages="[a, b, c]")
    assert (status, out) == (0, ["demo.yaml: ok (demo v1, 2 rules, 1 warning)"])
    assert err == [
        "demo.yaml: migrate.old: warning: stage 'b' is a goal stage (exit 'done'): customers "
        "of another version moved there from 'old' leave the journey without reaching the "
        "goal (an exit, never counted as converted) (line 9)"
    ]


MATCHES = [
    ({"type": "x", "where": [{"property": "s", "ne": "a", "in": ["a", "b"]}]}, None),
    ({"where": [{"property": "s", "exists": False}, {"property": "s", "eq": None}]}, None),
    ({"where": [{"property": "n", "gt": 0.5, "lt": 1.5}, {"property": "n", "eq": 1}]}, None),
    ({"where": [{"property": "n", "gt": 1}, {"property": "m", "lt": 0}]}, None),
    ({"where": [{"property": "n", "gte": 1, "lte": 1}]}, None),
    ({"where": [{"trait": "a.b", "exists": True}, {"trait": "a", "exists": False}]}, None),
    (
        {"where": [{"property": "n", "gt": 1, "lte": 1}]},
        "no value of property 'n' passes lte: 1, gt: 1",
    ),
    (
        {"where": [{"property": "n", "ne": 1, "gt": 0.5, "lt": 1.5}, {"property": "n", "eq": 1}]},
        "no value of property 'n' passes ne: 1, lt: 1.5, gt: 0.5, eq: 1",
    ),
    (
        {"where": [{"property": "f", "ne": True, "in": [True]}]},
        "no value of property 'f' passes ne: true, in: [true]",
    ),
    (
        {"where": [{"property": "n", "exists": True, "eq": None}]},
        "no value of property 'n' passes eq: null, exists: true",
    ),
    (
        {"where": [{"property": "n", "gt": 1, "in": ["2", True]}]},
        "no value of property 'n' passes in: [\"2\", true], gt: 1",
    ),
]


@pytest.mark.parametrize(("match", "why"), MATCHES)
def test_contradictions_are_found_and_only_them(match: dict[str, object], why: str | None) -> None:
    # decided on representative values (each constant, each interval between the numbers
    # named, null, absent, another value) with the engine's own compiled predicates
    assert why_never(EventMatch.model_validate(match)) == why


def test_the_default_journey_has_no_finding(capsys: pytest.CaptureFixture[str]) -> None:
    definitions = Path(__file__).parents[2] / "journeys" / "definitions"
    assert main([str(definitions)]) == 0
    assert capsys.readouterr().err == ""


# -- --previous: the next version of a deployed journey ------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_dropped_stage_needs_a_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = str(SAMPLES / "trial.v1.yaml")
    assert main([str(SAMPLES / "trial.v2.yaml"), "--previous", old]) == 0
    assert capsys.readouterr().out == "trial.v2.yaml: ok (trial v2, 3 rules, after v1)\n"
    text = (SAMPLES / "trial.v2.yaml").read_text()
    unmapped = write(tmp_path, "trial.yaml", text.replace("migrate: {trial: onboarding}\n", ""))
    assert main([unmapped, "--previous", old]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"trial.yaml: stages: stage 'trial' of version 1 ({old}) is dropped without a "
        "mapping: its customers would go to the initial stage 'visitor'; add migrate: "
        "{trial: STAGE} (line 5)"
    ]
    assert main([unmapped]) == 0  # without --previous, nothing to compare


def test_a_stage_an_older_version_mapped_stays_mapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v2 = str(SAMPLES / "trial.v2.yaml")
    text = (SAMPLES / "trial.v2.yaml").read_text().replace("version: 2", "version: 3")
    v3 = write(tmp_path, "trial.yaml", text.replace("migrate: {trial: onboarding}\n", ""))
    assert main([v3, "--previous", v2]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"trial.yaml: migrate: stage 'trial', mapped by version 2 ({v2}), is dropped without "
        "a mapping: customers of older versions may still be in it; keep migrate: "
        "{trial: onboarding} (line 3)"
    ]


def test_the_version_must_grow_with_the_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v2 = str(SAMPLES / "trial.v2.yaml")
    text = (SAMPLES / "trial.v2.yaml").read_text()
    older = write(tmp_path, "older.yaml", text.replace("version: 2", "version: 1"))
    assert main([older, "--previous", v2]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"older.yaml: version: 1 is older than version 2 ({v2}) (line 4)"
    ]
    same = write(
        tmp_path,
        "same.yaml",
        text.replace("[visitor, onboarding, customer]", "[visitor, onboarding, customer, lost]"),
    )
    assert main([same, "--previous", v2]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"same.yaml: version: the stages differ from version 2 ({v2}) but the version is the "
        "same: customers are migrated only to a new version (line 4)",
        "same.yaml: stages[3]: warning: stage 'lost' is unreachable: no rule moves a customer "
        "into it from the initial stage 'visitor' (line 5)",
    ]
    assert main([v2, "--previous", v2]) == 0  # unchanged


def test_stages_customers_stay_in_are_reachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Version 2 keeps a stage no rule enters any more, for its customers: with --previous
    # lint knows they are there; without, it warns.
    text = (SAMPLES / "trial.v2.yaml").read_text()
    text = text.replace("[visitor, onboarding, customer]", "[visitor, trial, onboarding, customer]")
    text = text.replace("migrate: {trial: onboarding}\n", "")
    legacy = "  - {id: legacy, stages: [trial], when: {event: {type: key_action}}, then: "
    legacy += "{move_to: onboarding}}\n"
    text = text.replace("exits:", legacy + "exits:")
    phased = write(tmp_path, "trial.yaml", text)
    assert main([phased, "--previous", str(SAMPLES / "trial.v1.yaml")]) == 0
    assert capsys.readouterr().err == ""
    assert main([phased]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "trial.yaml: stages[1]: warning: stage 'trial' is unreachable: no rule moves a "
        "customer into it from the initial stage 'visitor' (line 5)",
        "trial.yaml: rules[3].stages: warning: every stage is unreachable: the rule never "
        "fires (line 20)",
    ]


def test_previous_files_are_checked_and_matched_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write(tmp_path, "broken.yaml", HEAD + "rules: 3\n")
    other = write(tmp_path, "other.yaml", HEAD)
    v2 = str(SAMPLES / "trial.v2.yaml")
    assert main([v2, "--previous", broken]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "broken.yaml (previous): rules: Input should be a valid list (line 5)"
    ]
    assert main([v2, "--previous", other]) == 0
    captured = capsys.readouterr()
    assert captured.out == "trial.v2.yaml: ok (trial v2, 3 rules)\n"
    assert captured.err == f"{other}: warning: journey 'demo' is not among the files linted\n"
