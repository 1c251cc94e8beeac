"""The examples of journeys/README.md are real output, kept so by a test.

Each fenced ``console`` block whose first line is ``$ journeys ...`` is a command run from
the repository root, and the rest of the block is what it prints (stdout and stderr, in
the order written). ``tests/journeys/test_readme.py`` runs every one and compares.

Regenerate the outputs (only when a change of behaviour is intended, and say so):

    .venv/bin/python -m tests.journeys.readme
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "journeys" / "README.md"
EXAMPLE = re.compile(r"(```console\n\$ (journeys [^\n]*)\n)(.*?)(```)", re.DOTALL)


def examples(text: str) -> list[tuple[str, str]]:
    """(command, printed output) per example, in the order of the page."""
    return [(m.group(2), m.group(3)) for m in EXAMPLE.finditer(text)]


def run(command: str) -> str:
    """What ``command`` prints, run in process from the repository root."""
    from streams.cli import main

    out = io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        main(shlex.split(command)[1:])
    return out.getvalue()


def regenerate(path: Path = README) -> int:
    """Rewrite every example's output with what its command prints now; how many."""
    text = path.read_text(encoding="utf-8")
    path.write_text(
        EXAMPLE.sub(lambda m: m.group(1) + run(m.group(2)) + m.group(4), text), encoding="utf-8"
    )
    return len(examples(text))


if __name__ == "__main__":
    print(f"{README}: {regenerate()} examples written")
