"""The ``journeys`` command: one entry point, one subcommand per module.

Each command module exposes ``register(subparsers)``, which adds its subparser and
sets ``func`` (a callable taking the parsed arguments and returning an exit code).
Modules are imported lazily so that ``journeys lint`` never imports faust.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from streams.subcommand import Subparsers

# (subcommand, module providing register()) in the order shown by --help.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("demo", "streams.demo.cli"),
    ("worker", "streams.worker.main"),
    ("collect", "streams.collector.main"),
    ("replay", "streams.replay.cli"),
    ("diff", "streams.replay.diff"),
    ("erase", "streams.erasure.cli"),
    ("report", "streams.report.cli"),
    ("lint", "journeys.lint"),
    ("native", "journeys.native"),
    ("simulate", "streams.sim.cli"),
    ("bench", "streams.bench.cli"),
    ("schemas", "schemas.generate"),
)


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeys",
        description="Customer journey event-stream processor. "
        "Settings come from JOURNEYS_* environment variables (see README).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, module_name in COMMANDS:
        if wanted is not None and wanted != name:
            # Only the chosen command's module is imported; others get a stub entry.
            sub.add_parser(name, help=f"(see 'journeys {name} --help')")
            continue
        module = importlib.import_module(module_name)
        register: Callable[[Subparsers], None] = module.register
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:
        # The reader went away (``journeys replay ... | head``): stop quietly, as Unix
        # tools do, without a traceback when Python flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it


if __name__ == "__main__":
    raise SystemExit(main())
