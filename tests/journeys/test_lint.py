"""Definition errors: exact messages from `journeys lint`, and the JSON Schema in sync."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from journeys import (
    DefinitionError,
    default_journey,
    deployed_definitions,
    json_schema,
    load_definition,
    load_definitions,
)
from journeys.lint import main, register
from journeys.loader import SCHEMA_FILE, schema_text
from schemas.triggers import TRIGGER_FAMILIES

HEAD = "name: demo\nversion: 1\nstages: [a, b]\ninitial_stage: a\n"
ATTRS = "attributes:\n  spend: {type: number}\n  label: {type: string}\n"

CASES = [
    (
        "rules:\n  - id: r\n    when: {event: {evnt: x}}\n    then: {move_to: b}\n",
        ["demo.yaml: rules[0].when.event: unknown field 'evnt' (line 7)"],
    ),
    (
        "rules:\n  - id: r\n    when: {inactivity: {for: 3x}}\n    then: {move_to: b}\n",
        [
            "demo.yaml: rules[0].when.inactivity.for: bad duration '3x': expected e.g. 30d, "
            "12h, 1d12h, 15m, 2w (line 7)"
        ],
    ),
    (
        "rules:\n  - id: r\n    when: {inactivity: {for: 0d}}\n    then: {move_to: b}\n",
        ["demo.yaml: rules[0].when.inactivity.for: bad duration '0d': must be positive (line 7)"],
    ),
    (
        "rules:\n  - id: r\n    when: {event: {type: x}, threshold: {attribute: s, value: 1}}\n"
        "    then: {move_to: b}\n",
        [
            "demo.yaml: rules[0].when: exactly one of event, inactivity, date, window, threshold "
            "is required (line 7)"
        ],
    ),
    (
        "rules:\n  - id: Bad-Id\n    when: {event: {type: x}}\n",
        [
            "demo.yaml: rules[0].id: bad name 'Bad-Id': use a-z, 0-9 and _, from a letter (line 6)",
            "demo.yaml: rules[0]: missing required field 'then' (line 6)",
        ],
    ),
    (
        "rules:\n  - id: r\n    when: {event: {type: x}}\n"
        "    then: {move_to: c, emit: {kind: sales.hi}}\n"
        "  - id: r\n    stages: [z]\n    when: {event: {type: x}}\n"
        "    then: {emit: {kind: hello}}\n",
        [
            "demo.yaml: rules[0].then.move_to: unknown stage 'c' (line 8)",
            "demo.yaml: rules[0].then.emit.kind: unknown trigger family 'sales' (one of: "
            + ", ".join(TRIGGER_FAMILIES)
            + ") (line 8)",
            "demo.yaml: rules[1].id: duplicate rule id 'r' (line 9)",
            "demo.yaml: rules[1].stages[0]: unknown stage 'z' (line 10)",
            "demo.yaml: rules[1].then.emit.kind: bad trigger kind 'hello': expected family.name "
            "(line 12)",
        ],
    ),
    (
        ATTRS + "rules:\n  - id: r\n    when: {threshold: {attribute: label, value: 3}}\n"
        "    then: {emit: {kind: growth.x}}\n"
        "  - id: d\n    when: {date: {attribute: renewal}}\n    then: {emit: {kind: renewal.x}}\n"
        "  - id: s\n    when: {event: {matcher: nope}}\n    then: {increment: {label: {by: 1}}, "
        "set: {other: {value: 1}}}\n",
        [
            "demo.yaml: rules[0].when.threshold.attribute: attribute 'label' is a string, "
            "expected number (line 10)",
            "demo.yaml: rules[1].when.date.attribute: unknown attribute 'renewal' (declare it "
            "under 'attributes') (line 13)",
            "demo.yaml: rules[2].when.event.matcher: unknown matcher 'nope' (line 16)",
            "demo.yaml: rules[2].then.set.other: unknown attribute 'other' (declare it under "
            "'attributes') (line 17)",
            "demo.yaml: rules[2].then.increment.label: attribute 'label' is a string, expected "
            "number (line 17)",
        ],
    ),
    (
        "rules:\n  - id: r\n    when: {event: {type: x}}\n    then: {}\n",
        [
            "demo.yaml: rules[0].then: does nothing: give at least one of set, increment, unset, "
            "move_to, emit (line 8)"
        ],
    ),
    (
        "guard_rails: {quiet_hours: {start: '25:00', end: '08:00'}, holdout_percent: 120}\n",
        [
            "demo.yaml: guard_rails.quiet_hours.start: bad time of day '25:00': expected HH:MM, "
            "e.g. 09:00 (line 5)",
            "demo.yaml: guard_rails.holdout_percent: Input should be less than or equal to 100 "
            "(line 5)",
        ],
    ),
    (
        "stages: [\n",
        ["demo.yaml: invalid YAML: expected the node content, but found '<stream end>' (line 6)"],
    ),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_lint_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: list[str]
) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(HEAD + body)
    assert main([str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == expected
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    assert info.value.lines() == expected


def test_lint_ok_and_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definitions = Path(__file__).parents[2] / "journeys" / "definitions"
    assert main([str(definitions)]) == 0
    assert capsys.readouterr().out == "lifecycle.yaml: ok (lifecycle v1, 34 rules)\n"
    assert main([str(tmp_path)]) == 1
    assert main([str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}: no .yaml files",
        f"{tmp_path / 'missing.yaml'}: no such file",
    ]


def test_register_adds_the_lint_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="journeys")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lint", "--schema"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Journey"


def test_yaml_1_2_booleans_keep_on_as_a_key() -> None:
    assert default_journey().guard_rails.reentry.on is not None


def test_schema_file_is_in_sync() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "regenerate: .venv/bin/python -m journeys.lint --schema > journeys/definition.schema.json"
    )
    assert json_schema()["properties"]["rules"]["type"] == "array"


def test_trigger_families_match_the_topic_registry() -> None:
    from schemas.topics import TRIGGER_FAMILIES as TOPIC_FAMILIES

    assert TRIGGER_FAMILIES == TOPIC_FAMILIES


def test_every_default_rule_kind_and_family_is_used() -> None:
    journey = default_journey()
    assert {r.when.kind for r in journey.rules} == {
        "event",
        "inactivity",
        "date",
        "window",
        "threshold",
    }
    families = {r.then.emit.family for r in journey.rules if r.then.emit is not None}
    assert families == set(TRIGGER_FAMILIES)


def test_a_journey_name_defined_twice_is_refused_naming_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "lifecycle.yaml", tmp_path / "copy.yaml"
    first.write_text(HEAD)
    second.write_text("# a copy\n" + HEAD)
    expected = [
        f"copy.yaml: name: journey 'demo' is also defined in {first}: names must be unique (line 2)"
    ]
    assert main([str(first), str(second)]) == 1
    captured = capsys.readouterr()
    assert errors(captured.err) == expected
    assert captured.out == "lifecycle.yaml: ok (demo v1, 0 rules, 2 warnings)\n"
    with pytest.raises(DefinitionError) as info:
        load_definitions([first, second])  # what the worker and replay load
    assert info.value.lines() == expected
    assert [j.name for j in load_definitions([first])] == ["demo"]
    assert [j.name for j in deployed_definitions([first])] == ["demo"]
    assert deployed_definitions([]) == [default_journey()]  # none given: the default


def test_the_deployment_settings_are_declared_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cap = "deployment: {frequency_cap: {max: 3, within: 7d}}\n"
    one, same, other = (tmp_path / f"{n}.yaml" for n in ("one", "same", "other"))
    one.write_text(HEAD + cap)
    same.write_text(HEAD.replace("demo", "same") + cap)
    other.write_text(HEAD.replace("demo", "other") + cap.replace("7d", "1d"))
    assert len(load_definitions([one, same])) == 2  # declared identically: fine
    expected = [
        f"other.yaml: deployment.frequency_cap: differs from the one declared in {one}: the "
        "deployment's settings are declared once (line 5)"
    ]
    assert main([str(one), str(same), str(other)]) == 1
    assert errors(capsys.readouterr().err) == expected
    with pytest.raises(DefinitionError) as info:
        load_definitions([one, other])
    assert info.value.lines() == expected


def errors(err: str) -> list[str]:
    """The error lines (HEAD alone has graph warnings: test_lint_checks.py)."""
    return [line for line in err.splitlines() if ": warning: " not in line]
