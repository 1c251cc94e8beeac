"""Running the repository's own shell scripts from tests (``deploy/kafka/kafka.sh``,
``deploy/local.sh``): from the repository root, no input, output captured, the exit
status left to the caller."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
KAFKA_SH = REPO_ROOT / "deploy" / "kafka" / "kafka.sh"


def run_script(
    script: Path, args: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``script ARGS`` (in ``env``, else this process's environment)."""
    return subprocess.run(
        [str(script), *args],
        cwd=REPO_ROOT,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
