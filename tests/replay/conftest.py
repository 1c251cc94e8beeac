"""Fixtures of the replay tests: the story journey and its events, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from streams.cli import main

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def records(self) -> list[dict[str, object]]:
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]


CliRunner = Callable[..., CliResult]


@pytest.fixture
def story_definition() -> Path:
    return DATA / "story.yaml"


@pytest.fixture
def story_events() -> Path:
    return DATA / "story.jsonl"


@pytest.fixture
def journeys_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``journeys_cli("replay", "c-1", ...)``: run the command in-process, capture output."""
    monkeypatch.delenv("JOURNEYS_JOURNEY_PATHS", raising=False)

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
