"""``journeys report``: what the journeys did, measured, over a file or a topic range.

Replays the events (a file, or the worker's input topics between ``--since`` and
``--until``) through the same engine and definitions as the worker, with no side
effects, then reports per journey: the stage funnel, every goal's rate by cohort
(treated, holdout) and by variant, with its absolute and relative lift over the control
group and 95% intervals (rates: Wilson score; absolute lift: Newcombe's hybrid score
interval; relative lift: Katz log interval), the time from entry to goal, and the
triggers per kind. A table on the terminal, ``--json`` for one JSON document, ``--html
FILE`` for one self-contained page with charts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from streams.kafka.reader import KafkaReadError
from streams.replay.inputs import read_input, topic_items
from streams.replay.options import ReadSpec, add_common_options, settings_of
from streams.report.html import page
from streams.report.measure import Doc, report
from streams.report.tally import tally
from streams.report.text import lines
from streams.subcommand import Subparsers, add_command

EXIT_OK = 0
EXIT_ERROR = 2


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "report",
        run,
        help="measure the journeys over a file or a topic range: funnel, goals, lift, variants",
        description=__doc__,
    )
    add_common_options(parser)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--html", metavar="FILE", help="also write the report as one self-contained HTML page"
    )


def run(args: argparse.Namespace) -> int:
    try:
        spec = ReadSpec.of(args, settings_of(args), kafka=not args.file)
        definitions = spec.worker.definitions(spec.definitions)
        read = read_input(
            spec,
            lambda reader, since, until: topic_items(spec, reader, since=since, until=until),
            judge_by_cutoff=False,
        )
    except (KafkaReadError, ValueError, OSError) as exc:
        print(f"journeys report: {exc}", file=sys.stderr)
        return EXIT_ERROR
    found = tally(
        definitions,
        read.items,
        until=read.until,
        fanout=read.fanout,
        clock=spec.worker.clock(),
        suppress_days=spec.worker.erasure_suppress_days,
    )
    doc = report(found, until=read.until)
    if args.html:
        try:
            Path(args.html).write_text(page(doc, definitions), encoding="utf-8")
        except OSError as exc:
            print(f"journeys report: cannot write {args.html}: {exc}", file=sys.stderr)
            return EXIT_ERROR
    write(doc, as_json=args.json)
    if args.html:
        print(f"journeys report: wrote {args.html}", file=sys.stderr)
    return EXIT_OK


def write(doc: Doc, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines(doc)))
    sys.stdout.flush()
