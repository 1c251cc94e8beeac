"""``journeys diff``: what-if of a journey definition change over the same events.

Replays many customers (a file, or a topic and time range) under ``--base`` and
``--definition`` and reports the triggers added, removed and changed, with counts per
rule and a few examples each. Exit code 0 when nothing changed, 1 when something did,
2 on an error, so that it can gate a definition change in CI.

Triggers are matched by customer, rule, cause (event ids, or timer name) and occurrence,
not by trigger id: a version bump changes every id but is not a change of behaviour, and
moving a nudge from day 3 to day 4 shows as one changed trigger, not a removal plus an
addition. ``changed`` lists the fields that differ (``trigger_id`` and
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from journeys import Journey
from schemas.triggers import Trigger
from streams.kafka.reader import KafkaReadError
from streams.replay.cli import EXIT_ERROR
from streams.replay.erasure import Erasure
from streams.replay.inputs import (
    add_common_options,
    deployed_definitions,
    derives_fanout,
    erasure_suppress_days,
    load_definitions,
    read_input,
    topic_items,
)
from streams.replay.timeline import Arrival, Item, Replayer, Unreadable, delivered

EXIT_SAME = 0
EXIT_CHANGED = 1
_IGNORED = frozenset({"trigger_id", "journey_version"})

Identity = tuple[str, str, str, tuple[str, ...], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="what-if: triggers added, removed and changed by a definition change",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base", metavar="PATH", help="the definition to compare with (default: the deployed one)"
    )
    add_common_options(parser)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per rule and change (3)"
    )
    parser.set_defaults(func=run)


@dataclass
class Report:
    events: int = 0
    deadletters: int = 0
    customers: int = 0
    base_triggers: int = 0
    new_triggers: int = 0
    seconds: float = 0.0
    errors: dict[str, list[str]] = field(default_factory=lambda: {"base": [], "definition": []})
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, dict[str, list[Any]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

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
        }


def run(args: argparse.Namespace) -> int:
    if not args.definition or len(args.definition) != 1:
        print("journeys diff: give exactly one --definition PATH", file=sys.stderr)
        return EXIT_ERROR
    try:
        (new,) = load_definitions(args.definition)
        base = load_definitions([args.base])[0] if args.base else deployed_by_name(new.name)
        items, clock = read_input(
            args, lambda since, until: topic_items(args, since=since, until=until)
        )
    except (KafkaReadError, ValueError, OSError) as exc:
        print(f"journeys diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report = compare(
        base,
        new,
        items,
        until=clock,
        fanout=derives_fanout(args),
        limit=args.examples,
    )
    if args.json:
        sys.stdout.write(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        print_report(report, base, new)
    print(
        f"journeys diff: {report.events} events replayed under both definitions in "
        f"{report.seconds:.2f} s ({report.events_per_s:,.0f} events/s)",
        file=sys.stderr,
    )
    return EXIT_CHANGED if report.changed else EXIT_SAME


def deployed_by_name(name: str) -> Journey:
    """The deployed definition of the journey called ``name``."""
    for definition in deployed_definitions():
        if definition.name == name:
            return definition
    raise ValueError(f"no deployed journey is called {name!r}; give --base PATH")


def replay_triggers(
    definition: Journey,
    items: Sequence[Item],
    until: datetime | None,
    *,
    fanout: bool = True,
    errors: list[str] | None = None,
) -> list[Trigger]:
    """Every trigger the worker would send for ``items`` under ``definition``; what the
    engine raised on is appended to ``errors`` (``origin: Class: message``)."""
    replayer = Replayer([definition], fanout=fanout, suppress_days=erasure_suppress_days())
    triggers: list[Trigger] = []
    found: list[str] = [] if errors is None else errors
    for item in items:
        if isinstance(item, Erasure):  # the erased ids start afresh, as live
            replayer.erasures.apply(replayer, item.request)
        elif isinstance(item, Arrival):
            for done in replayer.event(item.event):
                if done.error is not None:
                    found.append(f"{item.origin}: {done.error}")
                triggers.extend(t for _, o in done.outcomes for t in delivered(o))
    if until is not None:
        for _, _, outcome in replayer.advance(until):
            triggers.extend(delivered(outcome))
        found.extend(f"wake-up of {key}: {message}" for key, message in replayer.errors)
    return triggers


def identities(triggers: Iterable[Trigger]) -> dict[Identity, Trigger]:
    """Triggers by (customer, rule, cause type, cause ids or timer, occurrence)."""
    ordered = sorted(triggers, key=lambda t: (t.customer_id, t.rule, t.emitted_at, t.trigger_id))
    seen: Counter[tuple[str, str, str, tuple[str, ...]]] = Counter()
    out: dict[Identity, Trigger] = {}
    for t in ordered:
        cause = tuple(t.cause.event_ids) if t.cause.type == "event" else (t.cause.timer or "",)
        base = (t.customer_id, t.rule, t.cause.type, cause)
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
    base: Journey,
    new: Journey,
    items: Sequence[Item],
    *,
    until: datetime | None,
    fanout: bool = True,
    limit: int = 3,
) -> Report:
    started = time.perf_counter()
    report = Report()
    report.events = sum(1 for i in items if isinstance(i, Arrival))
    report.deadletters = sum(1 for i in items if isinstance(i, Unreadable))
    report.customers = len({i.event.key for i in items if isinstance(i, Arrival)})
    old = identities(
        replay_triggers(base, items, until, fanout=fanout, errors=report.errors["base"])
    )
    now = identities(
        replay_triggers(new, items, until, fanout=fanout, errors=report.errors["definition"])
    )
    report.seconds = time.perf_counter() - started
    report.base_triggers, report.new_triggers = len(old), len(now)

    def note(change: str, rule: str, example: dict[str, Any]) -> None:
        report.counts[rule][change] += 1
        if len(report.examples[rule][change]) < limit:
            report.examples[rule][change].append(example)

    for key in sorted(old.keys() | now.keys()):
        before, after = old.get(key), now.get(key)
        if before is None and after is not None:
            note("added", after.rule, after.model_dump(mode="json"))
        elif after is None and before is not None:
            note("removed", before.rule, before.model_dump(mode="json"))
        elif before is not None and after is not None:
            b, a = before.model_dump(mode="json"), after.model_dump(mode="json")
            fields = changed_fields(b, a)
            if fields:
                note("changed", after.rule, {"fields": fields, "base": b, "definition": a})
    return report


def print_report(report: Report, base: Journey, new: Journey) -> None:
    print(f"base:       {describe(base)}: {report.base_triggers} triggers")
    print(f"definition: {describe(new)}: {report.new_triggers} triggers")
    print(
        f"input:      {report.events} events of {report.customers} customers, "
        f"{report.deadletters} unreadable"
    )
    for side, found in report.errors.items():
        if found:
            print(f"processing errors under the {side}: {len(found)}, e.g. {found[0]}")
    if not report.changed:
        print("no trigger added, removed or changed")
        return
    print(f"\n{'rule':<32} {'added':>7} {'removed':>7} {'changed':>7}")
    for rule, counts in sorted(report.counts.items()):
        print(f"{rule:<32} {counts['added']:>7} {counts['removed']:>7} {counts['changed']:>7}")
    print("\nexamples:")
    for rule, changes in sorted(report.examples.items()):
        for change, examples in sorted(changes.items()):
            for example in examples:
                print(f"  {change:<8} {rule}: {example_line(change, example)}")


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


def describe(definition: Journey) -> str:
    return f"{definition.name} v{definition.version}"
