"""``journeys diff`` on the default journey: moving a nudge day changes exactly that rule
(and what the frequency cap lets through), and the same definition changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeys import default_journey
from streams.sim.population import generate
from tests.replay.conftest import CliRunner

REPO = Path(__file__).resolve().parents[2]
LIFECYCLE = REPO / "journeys" / "definitions" / "lifecycle.yaml"
UNTIL = "2026-03-01T00:00:00Z"


def _moved_nudge(tmp: Path) -> Path:
    """The default definition with nudge_day_3 moved to day 4 (a text edit keeps the YAML
    exactly as written; PyYAML would read its ``on:`` keys as booleans)."""
    head, rest = LIFECYCLE.read_text().split("id: nudge_day_3", 1)
    assert "for: 3d" in rest.split("- id:", 1)[0]
    target = tmp / "lifecycle-day-4.yaml"
    target.write_text(head + "id: nudge_day_3" + rest.replace("for: 3d", "for: 4d", 1))
    return target


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("population") / "population.jsonl"
    path.write_bytes(b"\n".join(m.value for m in generate(seed=5, customers=80, days=30)))
    return path


def test_default_against_itself_is_unchanged(journeys_cli: CliRunner, population: Path) -> None:
    assert default_journey().name == "lifecycle"
    result = journeys_cli(
        "diff", "--definition", str(LIFECYCLE), "--file", str(population), "--until", UNTIL
    )
    assert result.code == 0, result.err


def test_moved_nudge_day_is_reported(
    journeys_cli: CliRunner, population: Path, tmp_path: Path
) -> None:
    new = _moved_nudge(tmp_path)
    result = journeys_cli(
        "diff", "--definition", str(new), "--file", str(population), "--until", UNTIL, "--json"
    )
    assert result.code == 1, result.err
    report = json.loads(result.out)
    nudge = report["rules"]["nudge_day_3"]
    assert nudge.get("changed", 0) > 0
    assert nudge.get("added", 0) == 0  # a later nudge can only be reached less often
    for example in report["examples"]["nudge_day_3"].get("changed", []):
        moved_fields = {"cause.due_at", "cause_time", "emitted_at"}
        assert moved_fields <= set(example["fields"]) <= moved_fields | {"deliver_after"}
        base, moved = example["base"], example["definition"]
        assert moved["emitted_at"] > base["emitted_at"]
