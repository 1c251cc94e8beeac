"""The ``journeys`` dispatcher: every command registers, and a closed pipe is no crash."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from streams import cli


def test_every_command_registers_its_subparser() -> None:
    parser = cli.build_parser([])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == [name for name, _ in cli.COMMANDS]


def test_lint_does_not_import_faust() -> None:
    code = (
        "import sys; from streams import cli; cli.build_parser(['lint']); "
        "print('faust' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_reader_that_goes_away_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise BrokenPipeError

    real = cli.build_parser

    def parser_with_broken_command(argv: list[str]) -> argparse.ArgumentParser:
        parser = real(argv)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices["lint"].set_defaults(func=broken)
        return parser

    monkeypatch.setattr(cli, "build_parser", parser_with_broken_command)
    saved = os.dup(1)
    try:
        assert cli.main(["lint", "x.yaml"]) == 141
    finally:
        os.dup2(saved, 1)
        os.close(saved)
