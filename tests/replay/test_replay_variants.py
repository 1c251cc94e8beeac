"""Replay shows each customer's variant, on sent and on held-out triggers."""

from __future__ import annotations

from pathlib import Path

import orjson

from journeys import in_holdout
from journeys.experiments import cuts, variant_of
from tests.replay.conftest import CliRunner

SAMPLE = Path(__file__).resolve().parents[2] / "journeys" / "samples" / "report" / "welcome_ab.yaml"
RANGES = cuts({"short": 50, "long": 50})


def _customer(held: bool) -> str:
    return next(
        c for c in (f"c-{i}" for i in range(1000)) if in_holdout(c, "welcome_ab", 20) == held
    )


def test_replay_shows_the_assignment(journeys_cli: CliRunner, tmp_path: Path) -> None:
    treated, held = _customer(False), _customer(True)
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b"".join(
            orjson.dumps(
                {"event_id": f"e-{c}", "customer_id": c, "type": "signed_up",
                 "event_time": "2026-03-02T10:00:00Z"}
            ) + b"\n"
            for c in (treated, held)
        )
    )  # fmt: skip
    for customer, line in ((treated, "trigger "), (held, "suppressed ")):
        variant = variant_of(RANGES, customer, "welcome_ab", "welcome_copy")
        result = journeys_cli(
            "replay", customer, "--file", str(events), "--definition", str(SAMPLE),
            "--advance-to", "2026-03-02T12:00:00Z",
        )  # fmt: skip
        assert result.code == 0, result.err
        (row,) = [r for r in result.out.splitlines() if line in r]
        assert row.endswith(f"variant={variant} (welcome_copy)"), row
        json = journeys_cli(
            "replay", customer, "--file", str(events), "--definition", str(SAMPLE),
            "--advance-to", "2026-03-02T12:00:00Z", "--json",
        )  # fmt: skip
        (record,) = [r for r in json.records() if r["type"] == line.strip()]
        trigger = record["trigger"]
        assert (trigger["experiment"], trigger["variant"]) == ("welcome_copy", variant)
