"""``journeys lint PATH...``: validate definition files, explain every error.

Exit status 0 when every file is valid, 1 when any is not, 2 on usage errors.
A directory means every ``*.yaml``/``*.yml`` file in it. The files given are checked as
one deployment too: no journey name twice, deployment settings declared once.
``--schema`` prints the JSON Schema of the format instead (for editors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from journeys.definition import Journey
from journeys.loader import DefinitionError, check_together, load_definition, schema_text


def lint(paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    files: list[Path] = []
    status = 0
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not found:
                print(f"{raw}: no .yaml files", file=err)
                status = 1
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            print(f"{raw}: no such file", file=err)
            status = 1
    loaded: list[tuple[Path, Journey]] = []
    for f in files:
        try:
            loaded.append((f, load_definition(f)))
        except DefinitionError as e:
            _report(e, err)
            status = 1
        except (OSError, UnicodeDecodeError) as e:
            print(f"{f.name}: cannot read: {e}", file=err)
            status = 1
    faulty: set[str] = set()
    for error in check_together(loaded):
        _report(error, err)
        faulty.add(error.source)
        status = 1
    for f, journey in loaded:
        if f.name in faulty:
            continue
        print(
            f"{f.name}: ok ({journey.name} v{journey.version}, {len(journey.rules)} rules)",
            file=out,
        )
    return status


def _report(error: DefinitionError, err: TextIO) -> None:
    for line in error.lines():
        print(line, file=err)


def _run(args: argparse.Namespace) -> int:
    if args.schema:
        sys.stdout.write(schema_text())
        return 0
    if not args.paths:
        print("journeys lint: give at least one PATH (or --schema)", file=sys.stderr)
        return 2
    return lint(args.paths, sys.stdout, sys.stderr)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition file or folder")
    parser.add_argument("--schema", action="store_true", help="print the JSON Schema and exit")
    parser.set_defaults(func=_run)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``lint`` subcommand (sets ``func``)."""
    parser = subparsers.add_parser(
        "lint", help="validate journey definition files", description=__doc__
    )
    _arguments(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journeys lint", description=__doc__)
    _arguments(parser)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
