"""One ``journeys`` subcommand added: the shape every command module's ``register`` shares.

``streams.cli`` (the entry point) calls each command module's ``register(subparsers)``;
the module adds its parser with :func:`add_command` (name, one-line help, its docstring
as the description, the function that runs it) and then its own options. A leaf: it
imports nothing of ours, so a command module never imports the entry point back.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

__all__ = ["Run", "Subparsers", "add_command"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001  argparse names no public type for it
Run = Callable[[argparse.Namespace], int]
"""What a subcommand runs: the parsed arguments in, the exit code out."""


def add_command(
    subparsers: Subparsers,
    name: str,
    run: Run,
    *,
    help: str,
    description: str | None,
    wrap: bool = False,
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``, which runs ``run``; ``description`` (usually
    the module docstring) shown as written, or re-wrapped with ``wrap``."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.HelpFormatter if wrap else argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)
    return parser
