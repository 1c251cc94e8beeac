"""Small pieces of the replay CLI: time arguments, the progress bar, table rows."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from streams.replay.cli import table_row
from streams.replay.inputs import ProgressBar, parse_time

NOW = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("now", NOW),
        ("90s", NOW - timedelta(seconds=90)),
        ("15m", NOW - timedelta(minutes=15)),
        ("12h", NOW - timedelta(hours=12)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-01-05T10:00:00Z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05T11:00:00+01:00", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),  # naive means UTC
    ],
)
def test_parse_time(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text, NOW) == expected


def test_parse_time_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a time: 'yesterday'"):
        parse_time("yesterday", NOW)


def test_progress_bar_draws_on_its_stream_and_ends_the_line() -> None:
    stream = io.StringIO()
    bar = ProgressBar("scanning t", enabled=True, stream=stream)
    bar(0, 200)
    bar(200, 200)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\rscanning t [------------------------------] 0/200")
    assert "[##############################] 200/200 100%" in text
    assert text.endswith("\n")


def test_progress_bar_is_silent_when_disabled() -> None:
    stream = io.StringIO()
    bar = ProgressBar("scanning t", enabled=False, stream=stream)
    bar(5, 10)
    bar.close()
    assert stream.getvalue() == ""


def test_table_rows() -> None:
    trigger = {
        "trigger_id": "id-1",
        "kind": "onboarding.nudge",
        "rule": "nudge",
        "deliver_after": "2026-01-07T07:00:00Z",
        "holdout": False,
    }
    row = table_row({"type": "trigger", "time": "2026-01-06T23:00:00Z", "trigger": trigger})
    assert row.split(None, 2) == [
        "2026-01-06T23:00:00Z",
        "trigger",
        "onboarding.nudge by nudge id=id-1 deferred until 2026-01-07T07:00:00Z (quiet hours)",
    ]
    exit_row = table_row(
        {
            "type": "transition",
            "time": "2026-01-06T23:00:00Z",
            "rule": "churned",
            "kind": "exit",
            "stage_before": "active",
            "stage_after": "active",
        }
    )
    assert exit_row.endswith("churned: active -> active (exit)")
