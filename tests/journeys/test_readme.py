"""Every example of journeys/README.md prints what the page shows (tests/journeys/readme.py)."""

from __future__ import annotations

import pytest

from tests.journeys.readme import README, examples, run

EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("command", "printed"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_example(monkeypatch: pytest.MonkeyPatch, command: str, printed: str) -> None:
    # the built-in default journey and the default future skew, whatever the environment
    monkeypatch.delenv("JOURNEYS_JOURNEY_PATHS", raising=False)
    monkeypatch.delenv("JOURNEYS_MAX_FUTURE_SKEW_SECONDS", raising=False)
    assert run(command) == printed
