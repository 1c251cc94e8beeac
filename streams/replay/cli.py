"""``journeys replay CUSTOMER_ID``: one customer's journey, step by step, from Kafka or a file.

Reads the customer's touchpoints (only the key's partition of the keyed topic, from a
start time found with offsets-for-times up to the end captured at start, or ``--until``),
or a file, runs the same engine and definition as the worker and prints a timeline.
Writes nothing anywhere unless ``--emit TOPIC`` is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from schemas.codec import dumps
from schemas.triggers import Trigger
from streams.kafka.reader import KafkaReadError
from streams.replay.inputs import (
    customer_items,
    identity_keys,
    read_input,
    topic_name,
)
from streams.replay.options import ReadSpec, add_common_options, settings_of
from streams.replay.timeline import Arrival, Item, TimelineRecord, Unreadable, timeline
from streams.subcommand import Subparsers, add_command

EXIT_OK = 0
EXIT_ERROR = 2


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "replay",
        run,
        help="replay one customer's journey from Kafka or a file and print the timeline",
        description=__doc__,
    )
    parser.add_argument("customer_id", metavar="CUSTOMER_ID")
    add_common_options(parser)
    parser.add_argument(
        "--json", action="store_true", help="JSON Lines, one record per step, instead of a table"
    )
    parser.add_argument(
        "--show-properties",
        action="store_true",
        help="include event properties and traits (and raw dead-letter bytes)",
    )
    parser.add_argument(
        "--emit",
        metavar="TOPIC",
        help="also send the replayed triggers to TOPIC (keyed by customer id)",
    )


def _names(item: Item, keys: set[str]) -> bool:
    """Whether ``item`` is an event or a dead letter of one of ``keys``."""
    if isinstance(item, Arrival):
        return item.event.key in keys
    return isinstance(item, Unreadable) and item.key in keys


def run(args: argparse.Namespace) -> int:
    customer: str = args.customer_id
    try:
        spec = ReadSpec.of(args, settings_of(args), kafka=not args.file or bool(args.emit))
        definitions = spec.worker.definitions(spec.definitions)
        read = read_input(
            spec,
            lambda reader, since, until: customer_items(
                spec, reader, customer, since=since, until=until
            ),
        )
    except KafkaReadError as exc:
        print(f"journeys replay: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, OSError) as exc:
        print(f"journeys replay: {exc}", file=sys.stderr)
        return EXIT_ERROR
    keys = identity_keys(read.items, customer)
    if not any(_names(i, keys) for i in read.items):
        where = spec.file or topic_name(spec)
        print(f"journeys replay: no events for customer {customer!r} in {where}", file=sys.stderr)
        return EXIT_OK
    records = timeline(
        definitions,
        read.items,
        until=read.until,
        fanout=read.fanout,
        show_properties=args.show_properties,
        keep=keys.__contains__,
        suppress_days=spec.worker.erasure_suppress_days,
        clock=spec.worker.clock(),
    )
    triggers = print_records(records, as_json=args.json, show_properties=args.show_properties)
    if args.emit:
        try:
            emit(spec, args.emit, triggers)
        except Exception as exc:  # kafka-python raises many types; report them all the same
            print(f"journeys replay: --emit to {args.emit} failed: {exc}", file=sys.stderr)
            return EXIT_ERROR
        print(f"journeys replay: sent {len(triggers)} triggers to {args.emit}", file=sys.stderr)
    return EXIT_OK


def print_records(
    records: Iterable[TimelineRecord], *, as_json: bool, show_properties: bool
) -> list[Trigger]:
    """Write the timeline to stdout (table or JSON Lines); return the triggers in it."""
    triggers: list[Trigger] = []
    out = sys.stdout
    if not as_json:
        out.write(f"{'time':<27} {'type':<10} detail\n")
    for record in records:
        if record["type"] == "trigger":
            triggers.append(Trigger.model_validate(record["trigger"]))
        if as_json:
            out.write(orjson.dumps(record).decode() + "\n")
        else:
            out.write(table_row(record, show_properties=show_properties) + "\n")
    out.flush()
    return triggers


def table_row(record: TimelineRecord, *, show_properties: bool = False) -> str:
    """One line of the readable table: time | type | detail."""
    kind = record["type"]
    if kind == "event":
        detail = _event_detail(record, show_properties=show_properties)
    else:
        detail = _DETAILS.get(kind, _deadletter_detail)(record)
    return f"{record['time'] or '-':<27} {kind:<10} {detail}"


def _event_detail(record: TimelineRecord, *, show_properties: bool) -> str:
    detail = f"{record['event_type']} ({record['event_id']})"
    if record["customer_id"] is None:
        detail += f" anonymous {record['anonymous_id']}"
    if record["status"] != "processed":
        detail += f" [{record['status']}]"
    if show_properties:
        props = {"properties": record["properties"], "traits": record["traits"]}
        detail += " " + orjson.dumps(props).decode()
    return detail


def _transition_detail(record: TimelineRecord) -> str:
    detail = f"{record['rule']}: {record['stage_before']} -> {record['stage_after']}"
    return detail if record["kind"] == "move" else detail + f" ({record['kind']})"


def _change_detail(record: TimelineRecord) -> str:
    def shown(value: Any) -> str:
        return "unset" if value is None else orjson.dumps(value).decode()

    old, new = shown(record["old"]), shown(record["new"])
    return f"{record['rule']}: {record['attribute']} {old} -> {new}"


def _merge_detail(record: TimelineRecord) -> str:
    return f"{record['merged_id']} merged into {record['customer_id']} ({record['event_id']})"


def _erasure_detail(record: TimelineRecord) -> str:
    detail = f"{record['customer_id']} erased ({record['request_id']})"
    if record["linked_ids"]:
        detail += f" with {', '.join(record['linked_ids'])}"
    if record["suppressed_until"]:
        detail += f", events before {record['suppressed_until']} dropped"
    return detail


def _note_detail(record: TimelineRecord) -> str:
    return f"{record['journey']}: {record['note']}"


def _trigger_detail(record: TimelineRecord) -> str:
    t: dict[str, Any] = record["trigger"]
    detail = f"{t['kind']} by {t['rule']} id={t['trigger_id']}{_variant(t)}"
    if t.get("deliver_after"):
        detail += f" deferred until {t['deliver_after']} (quiet hours)"
    if t.get("holdout"):
        detail += " holdout"
    return detail


def _suppressed_detail(record: TimelineRecord) -> str:
    variant = _variant(record.get("trigger") or {})
    return f"{record['kind']} by {record['rule']}: {record['reason']}{variant}"


def _variant(trigger: dict[str, Any]) -> str:
    """`` variant=NAME (experiment)`` for a trigger of an experiment, else nothing."""
    if not trigger.get("variant"):
        return ""
    return f" variant={trigger['variant']} ({trigger['experiment']})"


def _deadletter_detail(record: TimelineRecord) -> str:
    return f"{record['origin']}: {record['reason']}: {record['message']}"


_DETAILS: dict[str, Callable[[TimelineRecord], str]] = {
    "merge": _merge_detail,
    "erasure": _erasure_detail,
    "transition": _transition_detail,
    "change": _change_detail,
    "note": _note_detail,
    "trigger": _trigger_detail,
    "suppressed": _suppressed_detail,
}


def emit(spec: ReadSpec, topic: str, triggers: Sequence[Trigger]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(
        **spec.kafka_config,
        acks="all",
        bootstrap_timeout_ms=int(spec.timeout * 1000),
        request_timeout_ms=int(spec.timeout * 1000),
    )
    try:
        for trigger in triggers:
            producer.send(topic, key=trigger.customer_id.encode(), value=dumps(trigger))
        producer.flush(timeout=spec.timeout)
    finally:
        producer.close(timeout=spec.timeout)
