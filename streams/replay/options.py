"""The options of ``journeys replay``, ``diff`` and ``report``, and what they become: a
frozen, typed :class:`ReadSpec`, built once at the command line's edge from the parsed
arguments and one :class:`~streams.settings.Settings`.

Below that edge nothing reads the environment: the readers of :mod:`streams.replay.inputs`
take the spec, and the engine's driving code takes the values it holds (the worker's
partition count and timer grace, its future-skew bound, its erasure suppression, its
deployed definitions: :class:`WorkerRules`, what a replay must do as the worker does).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from journeys import Journey, deployed_definitions, load_definitions
from journeys.clock import PartitionClock
from streams.kafka.keys import partition_for
from streams.settings import Settings

__all__ = ["ReadSpec", "WorkerRules", "add_common_options", "settings_of"]


@dataclass(frozen=True, slots=True)
class WorkerRules:
    """The worker's settings a replay follows, so that replay equals live: its deployed
    definitions (``JOURNEYS_JOURNEY_PATHS``, none: the built-in default journey), its
    partition count and timer grace (how it moves time), the future-skew bound it
    rejects events beyond, and how long an erasure suppresses older events."""

    journey_paths: tuple[Path, ...]
    partitions: int
    timer_grace: timedelta
    max_future_skew: timedelta
    erasure_suppress_days: float

    @classmethod
    def of(
        cls, settings: Settings, *, partitions: int | None = None, timer_grace: float | None = None
    ) -> WorkerRules:
        """The settings' values, ``partitions`` and ``timer_grace`` (seconds; the options
        ``--partitions`` and ``--timer-grace``) in place of theirs when given."""
        count = partitions or settings.partitions
        grace = settings.timer_grace_seconds if timer_grace is None else timer_grace
        if count < 1 or grace < 0:
            raise ValueError("--partitions must be at least 1 and --timer-grace at least 0")
        return cls(
            journey_paths=tuple(settings.journey_paths),
            partitions=count,
            timer_grace=timedelta(seconds=grace),
            max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
            erasure_suppress_days=settings.erasure_suppress_days,
        )

    def clock(self) -> PartitionClock:
        """A fresh partition clock (:class:`journeys.clock.PartitionClock`) as the worker's:
        its partition count and timer grace, with the key contract's partitioner."""
        return PartitionClock(
            functools.partial(partition_for, partitions=self.partitions), self.timer_grace
        )

    def deployed(self) -> list[Journey]:
        """What the worker runs: the files of ``journey_paths``, else the built-in default."""
        return deployed_definitions(self.journey_paths)

    def definitions(self, paths: Sequence[str]) -> list[Journey]:
        """The ``--definition`` files (checked as one deployment, as the worker checks its
        own: no journey name twice), else the deployed definitions."""
        return load_definitions([Path(p) for p in paths]) if paths else self.deployed()


@dataclass(frozen=True, slots=True)
class ReadSpec:
    """What a replay, diff or report reads, and how (the options of
    :func:`add_common_options`, resolved against the settings).

    ``kafka``: the Kafka clients' arguments (``--bootstrap`` over the settings), None
    when the command touches no broker (a file read, nothing sent); ``topic_prefix``:
    ``--topic-prefix``, else the worker's; times as given (parsed against the time the
    input is read: :func:`streams.replay.inputs.read_input`)."""

    file: str | None
    topic: str | None
    topic_prefix: str
    kafka: Mapping[str, Any] | None
    since: str | None
    until: str | None
    advance_to: str | None
    no_timers: bool
    timeout: float
    progress: bool | None
    definitions: tuple[str, ...]
    worker: WorkerRules

    @classmethod
    def of(cls, args: argparse.Namespace, settings: Settings, *, kafka: bool) -> ReadSpec:
        """The spec of the parsed options ``args`` (:func:`add_common_options`) with the
        worker's ``settings`` (``--bootstrap`` already applied); ``kafka``: whether the
        command may use the broker (the Kafka arguments are built only then: a TLS file
        is read only by a command that connects). ``ValueError`` for a bad value."""
        return cls(
            file=args.file,
            topic=args.topic,
            topic_prefix=args.topic_prefix or settings.topic_prefix,
            kafka=settings.kafka_python_config() if kafka else None,
            since=args.since,
            until=args.until,
            advance_to=args.advance_to,
            no_timers=args.no_timers,
            timeout=args.timeout,
            progress=args.progress,
            definitions=tuple(args.definition or ()),
            worker=WorkerRules.of(
                settings, partitions=args.partitions, timer_grace=args.timer_grace
            ),
        )

    @property
    def kafka_config(self) -> dict[str, Any]:
        """The Kafka clients' arguments; ``ValueError`` when the spec was built for none."""
        if self.kafka is None:
            raise ValueError("this command reads no broker")
        return dict(self.kafka)


def settings_of(args: argparse.Namespace) -> Settings:
    """The one :class:`Settings` of a command run, ``--bootstrap`` over the environment's."""
    bootstrap: str | None = args.bootstrap
    return Settings() if bootstrap is None else Settings(bootstrap_servers=bootstrap)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Input, time range, definition and broker options shared by replay and diff."""
    source = parser.add_argument_group("input (a file, or Kafka)")
    source.add_argument(
        "--file",
        metavar="PATH",
        help="JSON Lines of canonical or Segment messages, or a Segment batch export ('-': stdin)",
    )
    source.add_argument(
        "--topic",
        help="one topic to read (default: what the worker reads: the touchpoints and the "
        "keyed touchpoints topics)",
    )
    source.add_argument(
        "--topic-prefix",
        metavar="PREFIX",
        help="the worker's topic prefix (default: JOURNEYS_TOPIC_PREFIX, else journeys)",
    )
    source.add_argument(
        "--bootstrap",
        metavar="SERVERS",
        help="host:port[,host:port] (default: JOURNEYS_BOOTSTRAP_SERVERS)",
    )
    source.add_argument(
        "--since", metavar="TIME", help="first record time: ISO-8601 or 7d, 12h (default: all)"
    )
    source.add_argument("--until", metavar="TIME", help="last record time (default: the end, now)")
    source.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on an unreachable or stalled broker after this long (default 10)",
    )
    progress = source.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None, help="always")
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never (default: on a tty)"
    )
    parser.add_argument(
        "--definition",
        metavar="PATH",
        action="append",
        help="journey definition file, repeatable (default: the deployed ones, "
        "JOURNEYS_JOURNEY_PATHS, else the built-in default journey)",
    )
    clock = parser.add_argument_group("time, as the worker moves it")
    clock.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="the worker's partition count: a file's customers share partition time as "
        "they do in the worker (default: JOURNEYS_PARTITIONS, 8)",
    )
    clock.add_argument(
        "--timer-grace",
        type=float,
        metavar="SECONDS",
        help="timers fire once their partition's time has passed them by this much "
        "(default: JOURNEYS_TIMER_GRACE_SECONDS, 600)",
    )
    timers = parser.add_mutually_exclusive_group()
    timers.add_argument(
        "--advance-to",
        metavar="TIME",
        help="engine time reached after the last event: time-based rules due by then fire "
        "(default: --until, else now)",
    )
    timers.add_argument(
        "--no-timers",
        action="store_true",
        help="do not advance engine time after the last event",
    )
