"""``journeys diff`` over whole deployments: every journey of each side together, with
the deployment's per-customer cap, reported per journey (issue 22, "diff sees one
journey": on a capped pair it predicted triggers the deployment never sends).

The pair of journeys/README.md ("Caps and cooldowns"): the default journey and
``newsletter.yaml``, 3 marketing messages per customer per 7 days over both. Version 2
of the newsletter adds a welcome for readers: in the deployment, that message takes the
third place of the window and the lifecycle journey's day-1 nudge is lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.replay.deployment import Deployment, sides
from streams.replay.diff import compare, replay_triggers
from streams.replay.inputs import decode_file
from streams.replay.timeline import Item
from tests.replay.conftest import CliRunner

REPO = Path(__file__).resolve().parents[2]
LIFECYCLE = REPO / "journeys" / "definitions" / "lifecycle.yaml"
NEWSLETTER = REPO / "journeys" / "samples" / "replay" / "newsletter.yaml"
EVENTS = REPO / "journeys" / "samples" / "replay" / "cross_journey_cap.jsonl"
UNTIL = "2026-03-04T13:00:00Z"
# what the deployment sends (journeys/README.md: `journeys replay c-0 --file
# cross_journey_cap.jsonl --definition lifecycle.yaml --definition newsletter.yaml`)
SENT = [
    ("welcome", "1403032e-52d1-5317-bb6b-eef5d99f3cf1"),
    ("digest", "8b7ea472-1337-5d15-995e-894400b6128e"),
    ("nudge_day_1", "adcd4f28-22c8-589d-86d6-7c550f087a8e"),
    ("dunning", "845a9301-52a0-5966-ac42-63a6d364b616"),
]


@pytest.fixture
def newsletter_v2(tmp_path: Path) -> Path:
    text = NEWSLETTER.read_text().replace("version: 1", "version: 2")
    welcome = (
        "rules:\n  - id: reader_welcome\n    when: {event: {type: signed_up}}\n"
        "    then: {emit: {kind: engagement.reader_welcome}}\n"
    )
    path = tmp_path / "newsletter.v2.yaml"
    path.write_text(text.replace("rules:\n", welcome, 1))
    return path


def items() -> list[Item]:
    return list(decode_file(EVENTS.read_bytes(), EVENTS.name, judged_at=AT))


AT = datetime(2026, 3, 4, 13, tzinfo=UTC)  # UNTIL


def test_the_deployment_side_sends_what_the_deployment_sends() -> None:
    """Before: one journey alone, the newsletter sent 3 digests; deployed with the
    lifecycle journey it sends 1 (and the nudge, the welcome, the dunning message)."""
    base, _ = sides([str(LIFECYCLE), str(NEWSLETTER)], [str(NEWSLETTER)])
    sent = replay_triggers(base, items(), AT)
    assert sorted((t.rule, t.trigger_id) for t in sent) == sorted(SENT)
    alone = replay_triggers(base.journeys[1], items(), AT)
    assert [t.rule for t in alone] == ["digest", "digest", "digest"]


def _diff(cli: CliRunner, *argv: str) -> tuple[int, dict[str, object], str]:
    result = cli("diff", *argv, "--file", str(EVENTS), "--advance-to", UNTIL, "--json")
    return result.code, json.loads(result.out), result.err


def test_diff_of_the_deployment_reports_per_journey(
    journeys_cli: CliRunner, newsletter_v2: Path
) -> None:
    code, report, err = _diff(
        journeys_cli,
        *("--base", str(LIFECYCLE), "--base", str(NEWSLETTER)),
        *("--definition", str(LIFECYCLE), "--definition", str(newsletter_v2)),
    )
    assert code == 1, err
    assert (report["base_triggers"], report["triggers"]) == (4, 4)
    assert report["deployments"] == {
        "base": "lifecycle v1, newsletter v1; deployment cap 3 per 7d",
        "definition": "lifecycle v1, newsletter v2; deployment cap 3 per 7d",
    }
    journeys = report["journeys"]
    assert isinstance(journeys, dict)
    summary = {
        name: (j["base_version"], j["version"], j["base_triggers"], j["triggers"], j["rules"])
        for name, j in journeys.items()
    }
    assert summary == {
        "lifecycle": (1, 1, 3, 2, {"nudge_day_1": {"removed": 1}}),
        "newsletter": (1, 2, 1, 2, {"reader_welcome": {"added": 1}}),
    }
    (lost,) = journeys["lifecycle"]["examples"]["nudge_day_1"]["removed"]
    assert lost["trigger_id"] == "adcd4f28-22c8-589d-86d6-7c550f087a8e"
    assert report["warnings"] == [] and "warning" not in err


def test_without_base_the_deployed_definitions_are_the_base(
    journeys_cli: CliRunner, newsletter_v2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change replaces its namesake in the deployment; the other journey stays."""
    explicit = _diff(
        journeys_cli,
        *("--base", str(LIFECYCLE), "--base", str(NEWSLETTER)),
        *("--definition", str(LIFECYCLE), "--definition", str(newsletter_v2)),
    )[1]
    monkeypatch.setenv("JOURNEYS_JOURNEY_PATHS", f"{LIFECYCLE},{NEWSLETTER}")
    code, deployed, err = _diff(journeys_cli, "--definition", str(newsletter_v2))
    assert code == 1, err
    for report in (explicit, deployed):
        report.pop("seconds")
        report.pop("events_per_s")
    assert deployed == explicit
    base, new = sides(None, [str(newsletter_v2)], deployed=[LIFECYCLE, NEWSLETTER])
    assert [(j.name, j.version) for j in new.journeys] == [("lifecycle", 1), ("newsletter", 2)]
    assert isinstance(base, Deployment) and base.names == ["lifecycle", "newsletter"]


def test_unrelated_journeys_are_warned_of(journeys_cli: CliRunner) -> None:
    code, report, err = _diff(
        journeys_cli, "--base", str(NEWSLETTER), "--definition", str(LIFECYCLE)
    )
    warning = (
        "comparing unrelated journeys: the base is 'newsletter', the definition 'lifecycle'; "
        "every trigger of one counts as removed, of the other as added"
    )
    assert code == 1 and report["warnings"] == [warning]
    assert f"journeys diff: warning: {warning}" in err


def test_a_journey_missing_on_one_side_is_warned_of(journeys_cli: CliRunner) -> None:
    code, report, err = _diff(
        journeys_cli,
        *("--base", str(LIFECYCLE), "--base", str(NEWSLETTER)),
        *("--definition", str(LIFECYCLE)),
    )
    assert code == 1, err
    assert report["warnings"] == [
        "base journey 'newsletter' has no counterpart among the definitions: its triggers "
        "count as removed"
    ]
    # a side's cap is its own definitions': lifecycle.yaml declares none
    assert report["deployments"] == {
        "base": "lifecycle v1, newsletter v1; deployment cap 3 per 7d",
        "definition": "lifecycle v1",
    }


def test_compare_takes_one_journey_or_a_deployment() -> None:
    base, new = sides([str(LIFECYCLE), str(NEWSLETTER)], [str(LIFECYCLE), str(NEWSLETTER)])
    report = compare(base, new, items(), until=AT)
    assert not report.changed and report.base_triggers == 4
    single = compare(base.journeys[0], new.journeys[0], items(), until=AT)
    assert list(single.journeys) == ["lifecycle"] and single.base_triggers == 3
