"""An unreachable broker: one clear line on stderr and exit code 2, within a bounded time."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", ["replay", "diff"])
def test_unreachable_broker_fails_fast_and_clearly(command: str, story_definition: Path) -> None:
    bootstrap = f"127.0.0.1:{_closed_port()}"
    args = ["c-1"] if command == "replay" else ["--base", str(story_definition)]
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            command,
            *args,
            "--definition",
            str(story_definition),
            "--bootstrap",
            bootstrap,
            "--topic",
            "t",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"journeys {command}: cannot reach Kafka at")
    assert bootstrap in lines[0]
