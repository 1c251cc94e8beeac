"""``journeys lint PATH... [--previous OLD...]``: validate definition files, explain every error.

Exit status 0 when every file is valid, 1 when any is not, 2 on usage errors.
A directory means every ``*.yaml``/``*.yml`` file in it. The files given are checked as
one deployment too: no journey name twice, deployment settings declared once. Then the
graph checks (``journeys.graph``): errors (a match that can never hold, a rule with no
stage) and warnings (an unreachable stage, a stage with no way out, a rule that runs
only in unreachable stages, a time rule on an attribute no rule writes; exit status 0).
``--previous OLD`` (file or folder, repeatable): the deployed definitions; a journey of
the same name is checked as its next version (``journeys.versions``): a higher version,
and every stage its customers may be in still there or mapped by ``migrate``.
``--map FILE`` also writes one HTML page with each journey drawn (``journeys.drawing``),
lint's warnings marked on it.
``--schema`` prints the JSON Schema of the format instead (for editors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from journeys.definition import Journey
from journeys.drawing import journey_map
from journeys.drawing.page import page, section
from journeys.graph import findings
from journeys.loader import (
    DefinitionError,
    check_together,
    load_definition,
    located,
    schema_text,
)
from journeys.semantics import Issue
from journeys.versions import kept_stages, upgrade_issues

Loaded = list[tuple[Path, Journey]]


def lint(
    paths: Sequence[str],
    out: TextIO,
    err: TextIO,
    previous: Sequence[str] = (),
    map_to: str | None = None,
) -> int:
    files, status = _files(paths, err)
    loaded, unread = _load(files, err)
    status |= unread
    faulty: set[str] = set()
    for error in check_together(loaded):
        _report(error, err)
        faulty.add(error.source)
        status = 1
    earlier, failed = _previous(previous, err)
    status |= failed
    for path, journey in loaded:
        before = earlier.pop(journey.name, None)
        if path.name not in faulty:
            status |= _check(path, journey, before, out, err)
    if not unread:  # else the file that did not load may be the journey's next version
        for name, (path, _) in earlier.items():
            print(f"{path}: warning: journey '{name}' is not among the files linted", file=err)
    if map_to is not None:
        status |= _write_map(map_to, loaded, err)
    return status


def _write_map(target: str, loaded: Loaded, err: TextIO) -> int:
    """One page with the map of every journey that loaded, lint's warnings on it: a
    stage warned of is marked, and every finding is written under its map."""
    sections = []
    for path, journey in loaded:
        marks: dict[str, list[str]] = {}
        notes = []
        for found in findings(journey):
            notes.append(f"{found.severity}: {found.path}: {found.message}")
            if found.path.startswith("stages["):
                stage = journey.stages[int(found.path[7:].split("]")[0])]
                marks.setdefault(stage, []).append(_short(found.message))
        heading = f"{journey.name} v{journey.version} ({path.name})"
        sections.append((heading, section(journey_map(journey), None, marks, notes)))
    try:
        Path(target).write_text(page("Journey maps", sections), encoding="utf-8")
    except OSError as e:
        print(f"{target}: cannot write the map: {e}", file=err)
        return 1
    return 0


def _short(message: str) -> str:
    """``stage 'x' is unreachable: ...`` -> ``unreachable``: the mark on the stage."""
    return message.split(": ")[0].split("' ", 1)[-1]


def _files(paths: Sequence[str], err: TextIO) -> tuple[list[Path], int]:
    """The files named, folders expanded; status 1 for a name that is neither."""
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
    return files, status


def _load(files: list[Path], err: TextIO, label: str = "") -> tuple[Loaded, int]:
    loaded: Loaded = []
    status = 0
    for f in files:
        try:
            loaded.append((f, load_definition(f)))
        except DefinitionError as e:
            _report(DefinitionError(e.source + label, e.issues) if label else e, err)
            status = 1
        except (OSError, UnicodeDecodeError) as e:
            print(f"{f.name}{label}: cannot read: {e}", file=err)
            status = 1
    return loaded, status


def _previous(paths: Sequence[str], err: TextIO) -> tuple[dict[str, tuple[Path, Journey]], int]:
    """The deployed definitions by journey name (the first of a name)."""
    files, status = _files(paths, err)
    loaded, failed = _load(files, err, " (previous)")
    earlier: dict[str, tuple[Path, Journey]] = {}
    for path, journey in loaded:
        earlier.setdefault(journey.name, (path, journey))
    return earlier, status | failed


def _check(
    path: Path,
    journey: Journey,
    before: tuple[Path, Journey] | None,
    out: TextIO,
    err: TextIO,
) -> int:
    """The version and graph checks of one valid file; its ``ok`` line if no error."""
    errors: list[Issue] = []
    warnings: list[Issue] = []
    kept: frozenset[str] = frozenset()
    if before is not None:
        errors += upgrade_issues(before[1], journey, str(before[0]))
        kept = kept_stages(before[1], journey)
    for found in findings(journey, kept):
        if found.severity == "error":
            errors.append((found.path, found.message))
        else:
            warnings.append((found.path, f"warning: {found.message}"))
    for issues in (errors, warnings):
        if issues:
            _report(located(path, issues), err, by_line=True)
    if errors:
        return 1
    rules = len(journey.rules)
    summary = f"{journey.name} v{journey.version}, {rules} rule{'' if rules == 1 else 's'}"
    if before is not None:
        summary += f", after v{before[1].version}"
    if warnings:
        summary += f", {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
    print(f"{path.name}: ok ({summary})", file=out)
    return 0


def _report(error: DefinitionError, err: TextIO, *, by_line: bool = False) -> None:
    lines = error.lines()
    if by_line:  # in file order (a check's findings come in the check's order)
        order = sorted(range(len(lines)), key=lambda i: (error.issues[i][2] or 0, i))
        lines = [lines[i] for i in order]
    for line in lines:
        print(line, file=err)


def _run(args: argparse.Namespace) -> int:
    if args.schema:
        sys.stdout.write(schema_text())
        return 0
    if not args.paths:
        print("journeys lint: give at least one PATH (or --schema)", file=sys.stderr)
        return 2
    return lint(args.paths, sys.stdout, sys.stderr, args.previous, args.map)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="definition file or folder")
    parser.add_argument(
        "--previous",
        action="append",
        default=[],
        metavar="OLD",
        help="the deployed definition file or folder (repeatable): each journey of the "
        "same name is checked as its next version",
    )
    parser.add_argument("--schema", action="store_true", help="print the JSON Schema and exit")
    parser.add_argument(
        "--map",
        metavar="FILE",
        help="also write FILE: one HTML page with the map of each journey (stages, the "
        "rules between them, what they send), lint's warnings marked on it",
    )
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
