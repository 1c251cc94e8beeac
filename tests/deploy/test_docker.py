"""The worker image, read from its Dockerfile (no Docker engine here to build it)."""

from __future__ import annotations

import json
import re

from streams.cli import COMMANDS
from tests.deploy.files import DOCKERFILE


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def last(word: str) -> str:
    found = [args for w, args in instructions() if w == word]
    assert found, f"no {word} in the Dockerfile"
    return found[-1]


def test_entrypoint_is_a_journeys_subcommand() -> None:
    entrypoint = json.loads(last("ENTRYPOINT"))  # exec form: signals reach the worker
    assert entrypoint[0] == "journeys"
    assert entrypoint[1] in {name for name, _ in COMMANDS}
    assert entrypoint[1] == "worker"


def test_base_image_is_python_311_slim() -> None:
    args = [a for w, a in instructions() if w == "ARG" and a.startswith("PYTHON_IMAGE=")]
    assert args == ["PYTHON_IMAGE=python:3.11-slim"]
    assert all(a.split()[0] == "${PYTHON_IMAGE}" for w, a in instructions() if w == "FROM")


def test_runs_as_a_non_root_user() -> None:
    user = last("USER").split(":")[0]
    assert user not in {"root", "0"}


def test_healthcheck_calls_healthz() -> None:
    healthcheck = last("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "JOURNEYS_WEB_PORT" in healthcheck


def test_installs_the_project_and_binds_all_interfaces() -> None:
    runs = " ".join(a for w, a in instructions() if w == "RUN")
    assert "pip install ." in runs
    env = " ".join(a for w, a in instructions() if w == "ENV")
    assert "JOURNEYS_WEB_HOST=0.0.0.0" in env
    assert "JOURNEYS_DATA_DIR=/var/lib/journeys" in env


def test_build_context_is_allow_listed() -> None:
    lines = DOCKERFILE.with_name("Dockerfile.dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    assert ignore[1:6] == [
        "!pyproject.toml",
        "!README.md",
        "!journeys/",
        "!schemas/",
        "!streams/",
    ]
