"""``journeys diff``: exit codes 0/1 and counts per rule between two definitions."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.replay.conftest import CliRunner

UNTIL = "2026-01-20T00:00:00Z"


def _modified(source: Path, target: Path, change: dict[str, object]) -> Path:
    """A copy of the definition at ``source`` with ``change`` applied to rules by id."""
    doc = yaml.safe_load(source.read_text())
    for rule in doc["rules"]:
        if rule["id"] in change:
            change[rule["id"]](rule)  # type: ignore[operator]
    target.write_text(yaml.safe_dump(doc))
    return target


def _diff(cli: CliRunner, base: Path, new: Path, events: Path, *extra: str):
    return cli(
        "diff",
        "--base",
        str(base),
        "--definition",
        str(new),
        "--file",
        str(events),
        "--until",
        UNTIL,
        *extra,
    )


def test_same_definition_exits_0(
    journeys_cli: CliRunner, story_definition: Path, story_events: Path
) -> None:
    result = _diff(journeys_cli, story_definition, story_definition, story_events)
    assert result.code == 0, result.err
    assert "no trigger added, removed or changed" in result.out
    assert "events/s" in result.err


def test_version_bump_alone_is_no_change(
    journeys_cli: CliRunner, story_definition: Path, story_events: Path, tmp_path: Path
) -> None:
    doc = yaml.safe_load(story_definition.read_text())
    doc["version"] = 2
    bumped = tmp_path / "v2.yaml"
    bumped.write_text(yaml.safe_dump(doc))
    assert _diff(journeys_cli, story_definition, bumped, story_events).code == 0


def test_changes_are_counted_per_rule_and_exit_1(
    journeys_cli: CliRunner, story_definition: Path, story_events: Path, tmp_path: Path
) -> None:
    def later_nudge(rule: dict) -> None:
        rule["when"]["inactivity"]["for"] = "2d12h"

    def no_cooldown(rule: dict) -> None:
        del rule["then"]["emit"]["cooldown"]

    def no_welcome(rule: dict) -> None:
        del rule["then"]["emit"]

    new = _modified(
        story_definition,
        tmp_path / "new.yaml",
        {"nudge": later_nudge, "recovery": no_cooldown, "welcome": no_welcome},
    )
    result = _diff(journeys_cli, story_definition, new, story_events, "--json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert report["changed"] is True
    # c-1 and c-2 both sign up; only c-1 is nudged before activating, c-2 never activates.
    assert report["rules"] == {
        "nudge": {"changed": 2},
        "recovery": {"added": 1},
        "welcome": {"removed": 2},
    }
    changed = report["examples"]["nudge"]["changed"][0]
    assert changed["fields"] == ["cause.due_at", "cause_time", "emitted_at"]
    assert report["events"] == 6 and report["deadletters"] == 2 and report["customers"] == 2

    table = _diff(journeys_cli, story_definition, new, story_events)
    assert table.code == 1
    assert "nudge" in table.out and "removed" in table.out
    assert "cause.due_at: 2026-01-07T10:00:00Z -> 2026-01-07T22:00:00Z" in table.out


def test_diff_needs_one_definition(journeys_cli: CliRunner, story_events: Path) -> None:
    result = journeys_cli("diff", "--file", str(story_events))
    assert result.code == 2
    assert "--definition" in result.err
