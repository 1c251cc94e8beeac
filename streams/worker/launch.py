"""How a worker process is started from a :class:`~streams.settings.Settings`: its command
line and its environment, in one place for the demo, the benchmark and the live tests.

A child process reads its settings from ``JOURNEYS_*`` variables (``streams.settings``),
so the parent writes every setting there, each as the child parses it back: numbers and
paths as text, booleans as ``true``/``false``, lists as JSON, secrets revealed (the child
needs them; they travel in its environment, never on its command line). A setting that is
``None`` is left out, and so is every settings variable the parent inherited, so the
child's settings are exactly the parent's object, whatever the parent's environment held.
The settings file, already read into that object, is not named again. A ``JOURNEYS_*``
variable that names no setting passes through untouched.

:func:`overridden` builds such an object from another plus a few fields, validated as
the command line's are (``"3"`` for a number is fine, a wrong value an error here rather
than in the child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import SecretStr

from streams.settings import ENV_PREFIX, Settings

__all__ = ["CLI", "WorkerLaunch", "overridden", "process_env", "settings_env"]

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI: tuple[str, ...] = ("-m", "streams.cli")
"""The interpreter arguments that run the ``journeys`` command."""
NOT_PASSED = frozenset({"settings_file"})
SETTINGS_VARIABLES = frozenset(ENV_PREFIX + name.upper() for name in Settings.model_fields)


def overridden(settings: Settings, **fields: Any) -> Settings:
    """``settings`` with ``fields`` replaced, all validated again (no environment read)."""
    return Settings.model_validate({**settings.model_dump(exclude=set(NOT_PASSED)), **fields})


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting of ``settings`` as the ``JOURNEYS_*`` variable a child reads it from."""
    env: dict[str, str] = {}
    for name, value in settings:
        if value is None or name in NOT_PASSED:
            continue
        env[ENV_PREFIX + name.upper()] = _text(value)
    return env


def process_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process that reads ``settings``: ``base`` (this process's
    environment by default) without its settings variables, plus every setting."""
    inherited = os.environ if base is None else base
    kept = {k: v for k, v in inherited.items() if k not in SETTINGS_VARIABLES}
    return {**kept, **settings_env(settings)}


def _text(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps([_text(v) for v in value])
    return str(value)


@dataclass(frozen=True)
class WorkerLaunch:
    """One ``journeys worker`` process: its settings, its options after ``worker``, and
    what runs the command (``entry``: the interpreter's arguments before ``worker``, e.g.
    a profiler or :mod:`streams.bench.gcwatch` in front of the ``journeys`` command)."""

    settings: Settings
    options: tuple[str, ...] = ()
    entry: tuple[str, ...] = CLI

    @property
    def argv(self) -> list[str]:
        return [sys.executable, *self.entry, "worker", *self.options]

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """:func:`process_env` of the settings over ``base`` (this process's environment)."""
        return process_env(self.settings, base)

    def start(
        self,
        log: IO[bytes] | int | None,
        *,
        cwd: Path | None = REPO_ROOT,
        base: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """The process, started in ``cwd`` (``None``: this process's), its output and
        errors to ``log``, no input."""
        return subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=self.env(base),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
