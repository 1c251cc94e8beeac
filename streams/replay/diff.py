"""``journeys diff``: what-if of a deployment change over the same events.

Replays many customers (a file, or a topic and time range) under two deployments, the
``--base`` files and the ``--definition`` files (both repeatable; no ``--base``: the
deployed definitions, and the same with the ``--definition`` files in place of their
namesakes; see ``streams.replay.deployment``), each with its own per-customer frequency
cap over every journey, and reports per journey the triggers added, removed and
changed, with counts per rule and a few examples each. A journey with no counterpart
of its name on the other side is warned of. Exit code 0 when nothing changed, 1 when
something did, 2 on an error, so that it can gate a definition change in CI.

Triggers are matched by journey, customer, rule, cause (event ids, or timer name) and
occurrence, not by trigger id: a version bump changes every id but is not a change of
behaviour, and moving a nudge from day 3 to day 4 shows as one changed trigger, not a
removal plus an addition. ``changed`` lists the fields that differ (``trigger_id`` and
``journey_version`` ignored).

An event or wake-up the engine raises on under either definition (a defect, what the
worker dead-letters as ``processing_error``) is counted and reported with its first
messages; the other customers are still compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from journeys import Journey
from journeys.clock import PartitionClock
from schemas.triggers import Trigger
from streams.kafka.reader import KafkaReadError
from streams.replay.cli import EXIT_ERROR
from streams.replay.deployment import Deployment, sides, unmatched
from streams.replay.erasure import Erasure
from streams.replay.inputs import read_input, topic_items
from streams.replay.options import ReadSpec, add_common_options, settings_of
from streams.replay.timeline import Arrival, Item, Replayer, Tick, Unreadable, delivered
from streams.subcommand import Subparsers, add_command

EXIT_SAME = 0
EXIT_CHANGED = 1
_IGNORED = frozenset({"trigger_id", "journey_version"})

Identity = tuple[str, str, str, str, tuple[str, ...], int]


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "diff",
        run,
        help="what-if: triggers added, removed and changed by a definition change",
        description=__doc__,
    )
    parser.add_argument(
        "--base",
        metavar="PATH",
        action="append",
        help="a definition of the deployment to compare with, repeatable (default: the "
        "deployed ones, JOURNEYS_JOURNEY_PATHS, else the built-in default journey)",
    )
    add_common_options(parser)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per rule and change (3)"
    )


def _examples() -> dict[str, dict[str, list[Any]]]:
    return defaultdict(lambda: defaultdict(list))


@dataclass
class JourneyDiff:
    """One journey's part of the diff: its versions, triggers and changes per rule."""

    base_version: int | None = None  # None: no journey of that name on the side
    new_version: int | None = None
    base_triggers: int = 0
    new_triggers: int = 0
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, dict[str, list[Any]]] = field(default_factory=_examples)

    @property
    def changed(self) -> bool:
        return any(sum(c.values()) for c in self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "base_version": self.base_version,
            "version": self.new_version,
            "base_triggers": self.base_triggers,
            "triggers": self.new_triggers,
            "changed": self.changed,
            "rules": {rule: dict(sorted(c.items())) for rule, c in sorted(self.counts.items())},
            "examples": {rule: dict(e) for rule, e in sorted(self.examples.items())},
        }


@dataclass
class Report:
    """The whole diff: ``counts`` and ``examples`` by rule over every journey (as for
    one journey), ``journeys`` the same per journey, in deployment order."""

    events: int = 0
    deadletters: int = 0
    customers: int = 0
    base_triggers: int = 0
    new_triggers: int = 0
    seconds: float = 0.0
    errors: dict[str, list[str]] = field(default_factory=lambda: {"base": [], "definition": []})
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, dict[str, list[Any]]] = field(default_factory=_examples)
    journeys: dict[str, JourneyDiff] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    deployments: dict[str, str] = field(default_factory=dict)  # side -> description

    @property
    def changed(self) -> bool:
        return any(sum(c.values()) for c in self.counts.values())

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "events": self.events,
            "deadletters": self.deadletters,
            "customers": self.customers,
            "base_triggers": self.base_triggers,
            "triggers": self.new_triggers,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "processing_errors": {side: len(found) for side, found in self.errors.items()},
            "rules": {rule: dict(sorted(c.items())) for rule, c in sorted(self.counts.items())},
            "examples": {rule: dict(e) for rule, e in sorted(self.examples.items())},
            "journeys": {name: j.as_json() for name, j in self.journeys.items()},
            "deployments": self.deployments,
            "warnings": self.warnings,
        }


def run(args: argparse.Namespace) -> int:
    if not args.definition:
        print("journeys diff: give at least one --definition PATH", file=sys.stderr)
        return EXIT_ERROR
    try:
        spec = ReadSpec.of(args, settings_of(args), kafka=not args.file)
        base, new = sides(args.base, spec.definitions, deployed=spec.worker.journey_paths)
        read = read_input(
            spec, lambda reader, since, until: topic_items(spec, reader, since=since, until=until)
        )
    except (KafkaReadError, ValueError, OSError) as exc:
        print(f"journeys diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report = compare(
        base,
        new,
        read.items,
        until=read.until,
        fanout=read.fanout,
        limit=args.examples,
        clock=spec.worker.clock,
        suppress_days=spec.worker.erasure_suppress_days,
    )
    for warning in report.warnings:
        print(f"journeys diff: warning: {warning}", file=sys.stderr)
    if args.json:
        sys.stdout.write(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        print_report(report)
    print(
        f"journeys diff: {report.events} events replayed under both definitions in "
        f"{report.seconds:.2f} s ({report.events_per_s:,.0f} events/s)",
        file=sys.stderr,
    )
    return EXIT_CHANGED if report.changed else EXIT_SAME


Definitions = Journey | Sequence[Journey] | Deployment


def _journeys(definitions: Definitions) -> list[Journey]:
    if isinstance(definitions, Journey):
        return [definitions]
    if isinstance(definitions, Deployment):
        return definitions.journeys
    return list(definitions)


def replay_triggers(
    definitions: Definitions,
    items: Sequence[Item],
    until: datetime | None,
    *,
    fanout: bool = True,
    errors: list[str] | None = None,
    clock: PartitionClock | None = None,
    suppress_days: float = 0.0,
) -> list[Trigger]:
    """Every trigger the worker would send for ``items`` under ``definitions`` (one
    journey, or a deployment: its journeys together, its per-customer cap over them);
    what the engine raised on is appended to ``errors`` (``origin: Class: message``);
    ``suppress_days``: the worker's ``JOURNEYS_ERASURE_SUPPRESS_DAYS``."""
    replayer = Replayer(
        _journeys(definitions),
        fanout=fanout,
        suppress_days=suppress_days,
        clock=clock,
    )
    triggers: list[Trigger] = []
    found: list[str] = [] if errors is None else errors
    for item in items:
        if isinstance(item, Erasure):  # the erased ids start afresh, as live
            replayer.erasures.apply(replayer, item.request)
        elif isinstance(item, Arrival | Tick):
            steps = replayer.event(item.event) if isinstance(item, Arrival) else replayer.tick(item)
            for done in steps:
                if done.error is not None:
                    found.append(f"{item_origin(item)}: {done.error}")
                triggers.extend(t for _, o in done.outcomes for t in delivered(o))
    if until is not None:
        for _, _, outcome in replayer.advance(until):
            triggers.extend(delivered(outcome))
    found.extend(f"wake-up of {key}: {message}" for key, message in replayer.errors)
    return triggers


def item_origin(item: Arrival | Tick) -> str:
    return item.origin if isinstance(item, Arrival) else f"partition of {item.key}"


def identities(triggers: Iterable[Trigger]) -> dict[Identity, Trigger]:
    """Triggers by (journey, customer, rule, cause type, cause ids or timer, occurrence)."""
    ordered = sorted(
        triggers, key=lambda t: (t.journey, t.customer_id, t.rule, t.emitted_at, t.trigger_id)
    )
    seen: Counter[tuple[str, str, str, str, tuple[str, ...]]] = Counter()
    out: dict[Identity, Trigger] = {}
    for t in ordered:
        cause = tuple(t.cause.event_ids) if t.cause.type == "event" else (t.cause.timer or "",)
        base = (t.journey, t.customer_id, t.rule, t.cause.type, cause)
        out[(*base, seen[base])] = t
        seen[base] += 1
    return out


def changed_fields(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    fields: list[str] = []
    for name in sorted(set(old) | set(new)):
        if not prefix and name in _IGNORED:
            continue
        a, b = old.get(name), new.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            fields.extend(changed_fields(a, b, f"{prefix}{name}."))
        elif a != b:
            fields.append(prefix + name)
    return fields


def compare(
    base: Definitions,
    new: Definitions,
    items: Sequence[Item],
    *,
    until: datetime | None,
    fanout: bool = True,
    limit: int = 3,
    clock: Callable[[], PartitionClock] | None = None,
    suppress_days: float = 0.0,
) -> Report:
    """The diff of ``items`` replayed under ``base`` and under ``new`` (a journey each,
    or a deployment each), per journey and over all of them; ``clock`` makes each
    side's partition clock (time moved as the worker moves it), none: per key only;
    ``suppress_days`` as for :func:`replay_triggers`."""
    started = time.perf_counter()
    before, after = Deployment(_journeys(base)), Deployment(_journeys(new))
    report = Report(warnings=unmatched(before, after))
    report.deployments = {"base": before.describe(), "definition": after.describe()}
    for name in dict.fromkeys([*before.names, *after.names]):
        old_j, new_j = before.get(name), after.get(name)
        report.journeys[name] = JourneyDiff(
            old_j.version if old_j else None, new_j.version if new_j else None
        )
    report.events = sum(1 for i in items if isinstance(i, Arrival))
    report.deadletters = sum(1 for i in items if isinstance(i, Unreadable))
    report.customers = len({i.event.key for i in items if isinstance(i, Arrival)})
    sides = (("base", base), ("definition", new))
    old, now = (
        identities(
            replay_triggers(
                side,
                items,
                until,
                fanout=fanout,
                errors=report.errors[name],
                clock=None if clock is None else clock(),
                suppress_days=suppress_days,
            )
        )
        for name, side in sides
    )
    report.seconds = time.perf_counter() - started
    report.base_triggers, report.new_triggers = len(old), len(now)
    for key in old:
        report.journeys[key[0]].base_triggers += 1
    for key in now:
        report.journeys[key[0]].new_triggers += 1

    def note(change: str, t: Trigger, example: dict[str, Any]) -> None:
        part = report.journeys[t.journey]
        for counts, examples in ((report.counts, report.examples), (part.counts, part.examples)):
            counts[t.rule][change] += 1
            if len(examples[t.rule][change]) < limit:
                examples[t.rule][change].append(example)

    for key in sorted(old.keys() | now.keys()):
        was, is_ = old.get(key), now.get(key)
        if was is None and is_ is not None:
            note("added", is_, is_.model_dump(mode="json"))
        elif is_ is None and was is not None:
            note("removed", was, was.model_dump(mode="json"))
        elif was is not None and is_ is not None:
            b, a = was.model_dump(mode="json"), is_.model_dump(mode="json")
            fields = changed_fields(b, a)
            if fields:
                note("changed", is_, {"fields": fields, "base": b, "definition": a})
    return report


def print_report(report: Report) -> None:
    print(f"base:       {report.deployments['base']}: {report.base_triggers} triggers")
    print(f"definition: {report.deployments['definition']}: {report.new_triggers} triggers")
    print(
        f"input:      {report.events} events of {report.customers} customers, "
        f"{report.deadletters} unreadable"
    )
    for warning in report.warnings:
        print(f"warning:    {warning}")
    for side, found in report.errors.items():
        if found:
            print(f"processing errors under the {side}: {len(found)}, e.g. {found[0]}")
    several = len(report.journeys) > 1
    if several:
        print()
        for name, part in report.journeys.items():
            versions = f"{_version(part.base_version)} -> {_version(part.new_version)}"
            print(
                f"journey {name} {versions}: {part.base_triggers} -> {part.new_triggers} "
                "triggers" + ("" if part.changed else ", unchanged")
            )
    if not report.changed:
        print("no trigger added, removed or changed")
        return
    rows = [
        (f"{name}: {rule}" if several else rule, counts, part.examples[rule])
        for name, part in report.journeys.items()
        for rule, counts in sorted(part.counts.items())
    ]
    print(f"\n{'rule':<32} {'added':>7} {'removed':>7} {'changed':>7}")
    for rule, counts, _ in rows:
        print(f"{rule:<32} {counts['added']:>7} {counts['removed']:>7} {counts['changed']:>7}")
    print("\nexamples:")
    for rule, _, changes in rows:
        for change, examples in sorted(changes.items()):
            for example in examples:
                print(f"  {change:<8} {rule}: {example_line(change, example)}")


def _version(version: int | None) -> str:
    return "-" if version is None else f"v{version}"


def example_line(change: str, example: dict[str, Any]) -> str:
    if change == "changed":
        b, a = example["base"], example["definition"]
        diffs = ", ".join(f"{f}: {_get(b, f)} -> {_get(a, f)}" for f in example["fields"])
        return f"customer {a['customer_id']} {diffs}"
    return f"customer {example['customer_id']} {example['kind']} at {example['emitted_at']}"


def _get(obj: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None  # type: ignore[assignment]
    return obj
