"""``journeys simulate``: a seeded population (or a flat load) to Kafka, a file or stdout."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from schemas.topics import by_role, topic_specs
from streams.kafka import preflight
from streams.kafka.config import producer_config
from streams.settings import Settings
from streams.sim.effect import Effect, parse_effect
from streams.sim.formats import FORMATS, Format
from streams.sim.output import produce, write_lines
from streams.sim.population import DEFAULT_START, Message, generate, generate_load
from streams.sim.realistic import realistic
from streams.sim.traffic import add_traffic_arguments, traffic_from
from streams.subcommand import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "simulate",
        main,
        help="generate a seeded customer population to Kafka or a file",
        description="Write simulated touchpoints (canonical or Segment JSON) to the "
        "touchpoints topic, a file (JSON lines) or stdout.",
        wrap=True,
    )
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--customers", type=int, default=1_000, help="population size")
    parser.add_argument("--days", type=float, default=90.0, help="simulated period (days)")
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=DEFAULT_START,
        help="period start, ISO 8601 with offset (default 2026-01-05T00:00Z)",
    )
    parser.add_argument("--malformed-share", type=float, default=0.01)
    parser.add_argument("--anonymous-share", type=float, default=0.3)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="canonical (default) or segment; realistic traffic is Segment's",
    )
    parser.add_argument(
        "--load",
        type=int,
        metavar="EVENTS",
        default=None,
        help="flat benchmark load: EVENTS events over --customers customers",
    )
    parser.add_argument("--id-prefix", default="c", help="customer id prefix")
    parser.add_argument(
        "--output",
        default="kafka",
        help="'kafka' (the touchpoints topic), a file path, or '-' for stdout",
    )
    parser.add_argument("--topic", help="topic (default: touchpoints under JOURNEYS_TOPIC_PREFIX)")
    parser.add_argument("--bootstrap-servers", help="Kafka (default: JOURNEYS_BOOTSTRAP_SERVERS)")
    parser.add_argument("--rate", type=float, default=None, help="messages/s (default: max)")
    add_traffic_arguments(parser)
    add_effect_arguments(parser)


def add_effect_arguments(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    group = parser.add_argument_group("a known effect (checks what journeys report measures)")
    group.add_argument(
        "--effect",
        metavar="GOAL+CHANGE",
        default=default,
        help="treated customers reach a goal more (or less) often: activation+0.10 makes "
        "them 10 points more likely to activate; goals: activation, conversion, and spend "
        "(spend+0.20: every order 20% larger); 'none' "
        f"(default {default or 'none'})",
    )
    group.add_argument(
        "--effect-journey",
        metavar="NAME",
        default="lifecycle",
        help="the journey whose control group is not treated (default lifecycle)",
    )
    group.add_argument(
        "--effect-holdout",
        metavar="PERCENT",
        type=float,
        default=None,
        help="that journey's holdout_percent (default: the default journey's)",
    )


def effect_from(args: argparse.Namespace) -> Effect | None:
    """The ``--effect`` options as an Effect (None without ``--effect``)."""
    if not args.effect or args.effect == "none":
        return None
    percent = args.effect_holdout
    if percent is None:
        from journeys import default_journey

        percent = default_journey().guard_rails.holdout_percent
    return parse_effect(args.effect, args.effect_journey, percent)


def messages_from(args: argparse.Namespace) -> Iterator[Message]:
    traffic = traffic_from(args)
    if traffic is not None:
        if args.load is not None or args.format == "canonical":
            raise ValueError("realistic traffic is Segment messages of a population (no --load)")
        return (
            arrival.message
            for arrival in realistic(
                args.seed,
                args.customers,
                args.days,
                args.start,
                traffic,
                malformed_share=args.malformed_share,
                id_prefix=args.id_prefix,
                effect=effect_from(args),
            )
        )
    fmt: Format = "canonical" if args.format is None else args.format
    if args.load is not None:
        return generate_load(
            args.seed,
            args.load,
            args.customers,
            args.days,
            args.start,
            fmt,
            args.id_prefix,
        )
    return generate(
        args.seed,
        args.customers,
        args.days,
        args.start,
        args.malformed_share,
        fmt,
        anonymous_share=args.anonymous_share,
        id_prefix=args.id_prefix,
        effect=effect_from(args),
    )


def main(args: argparse.Namespace) -> int:
    try:
        messages = messages_from(args)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    if args.output == "kafka":
        overrides = {"bootstrap_servers": args.bootstrap_servers} if args.bootstrap_servers else {}
        settings = Settings(**overrides)
        topic = args.topic or by_role(topic_specs(settings.topic_prefix))["touchpoints"].name
        config = producer_config(settings)
        try:
            preflight.check(config, retry=False)
        except preflight.KafkaUnavailable as exc:
            print(f"simulate: {exc}", file=sys.stderr)
            return 2
        stats = asyncio.run(produce(messages, topic, config, args.rate))
        where = f"{topic} on {settings.bootstrap_servers}"
    elif args.output == "-":
        stats = write_lines(messages, sys.stdout.buffer)
        where = "stdout"
    else:
        with Path(args.output).open("wb") as out:
            stats = write_lines(messages, out)
        where = args.output
    rate = stats.messages / stats.seconds if stats.seconds else 0.0
    print(
        f"simulate: {stats.messages} messages ({stats.malformed} malformed) to {where} "
        f"in {stats.seconds:.1f} s ({rate:,.0f}/s)",
        file=sys.stderr,
    )
    return 0
