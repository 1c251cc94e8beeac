"""``journeys worker``: run one stream-processing worker.

Options override the ``JOURNEYS_*`` environment variables named in their help, which
override the settings file (``--settings FILE``, see :mod:`streams.settings`). SIGTERM
(or SIGINT) stops the worker gracefully: faust commits, flushes and leaves the group;
if that takes longer than ``JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS`` the process exits anyway.

Exit codes: 0 after a graceful stop; 2 when Kafka cannot be used at start (one error
line names the cause: refused, wrong credentials, untrusted certificate, a security
protocol that does not match the listener); 3 when the graceful stop ran out of time.
"""

from __future__ import annotations

import argparse
import gc
import logging
from pathlib import Path

from journeys import native
from streams.settings import (
    ENV_PREFIX,
    Option,
    Settings,
    add_setting_options,
    setting_overrides,
)
from streams.subcommand import Subparsers, add_command

log = logging.getLogger(__name__)

EXIT_KAFKA_UNAVAILABLE = 2

# (option, settings field, help); type conversions are left to the settings model
OPTIONS: tuple[Option, ...] = (
    ("--settings", "settings_file", "settings file: .toml, .yaml, .json or .env"),
    ("--bootstrap-servers", "bootstrap_servers", "Kafka bootstrap servers, host:port[,...]"),
    ("--app-id", "app_id", "consumer group and transactional id prefix"),
    ("--topic-prefix", "topic_prefix", "prefix of every topic name"),
    ("--partitions", "partitions", "partitions of the processor's topics"),
    ("--store", "store", "state store: rocksdb:// or memory://"),
    ("--data-dir", "data_dir", "where RocksDB state lives"),
    ("--clock", "clock", "live (wall clock when idle) or event (event time only)"),
    ("--processing-guarantee", "processing_guarantee", "exactly_once or at_least_once"),
    ("--web-port", "web_port", "port of the customer view, /healthz, /readyz, /metrics"),
    ("--metrics-port", "metrics_port", "extra port serving /metrics only"),
    ("--log-level", "log_level", "debug, info, warning, error"),
    ("--log-format", "log_format", "text, or json: one JSON object a line"),
)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = setting_overrides(args, OPTIONS)
    if getattr(args, "journey", None):
        overrides["journey_paths"] = args.journey
    return Settings(**overrides)


def run(settings: Settings) -> int:
    """Create the topics, build the app and run it until stopped."""
    import prometheus_client

    from streams.kafka import admin
    from streams.kafka.preflight import KafkaUnavailable
    from streams.ops.logs import configure_logging, logging_config
    from streams.worker import local_state
    from streams.worker.app import create_app
    from streams.worker.bounded_worker import BoundedWorker

    # the same configuration faust's worker applies, already for what happens before it
    secrets = _secrets(settings)
    configure_logging(settings.log_level, settings.log_format, secrets)
    # no ``*_created`` gauge beside every counter and histogram: in the text format each
    # is one more series per label set for Prometheus to store, and nothing reads them
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    try:
        admin.ensure_topics(settings)
    except KafkaUnavailable as exc:
        log.error("%s", exc)
        return EXIT_KAFKA_UNAVAILABLE
    rt = create_app(settings)
    tune_gc()
    log.info("worker settings: %s", settings.describe())
    engine = native.status()
    log.info("journey engine: %s", engine.describe())
    if settings.native == "require" and not engine.active:  # set in a file, not the env
        raise native.NativeUnavailable(f"native=require: engine runs {engine.describe()}")
    Path(rt.app.conf.datadir).mkdir(parents=True, exist_ok=True)
    local_state.prepare_local_state(rt.app, settings)
    if settings.metrics_port is not None:
        from streams.ops.health import serve_metrics

        serve_metrics(rt.metrics, settings.web_host, settings.metrics_port)

    worker = BoundedWorker(
        rt.app,
        stop_timeout=settings.shutdown_timeout_seconds,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level, settings.log_format, secrets),
        redirect_stdouts=False,
        override_logging=True,
    )
    worker.execute_from_commandline()
    return 0


GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: what the worker built at start (definitions,
    compiled rules, faust's app) is frozen out of every later collection, and the young
    generation is collected every 20,000 allocations instead of 700. Per event the
    worker allocates a few hundred short-lived objects, nearly all freed by reference
    counting; the default threshold ran a young collection every few events (about 10%
    of the engine's time, measured with the collector off)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _secrets(settings: Settings) -> list[str]:
    """The values no log line may show (Kafka clients log requests at debug level)."""
    return [s.get_secret_value() for s in (settings.sasl_password, settings.ssl_key_password) if s]


def main(args: argparse.Namespace) -> int:
    return run(settings_from_args(args))


def register(subparsers: Subparsers) -> None:
    """Add the ``worker`` subcommand."""
    parser = add_command(
        subparsers, "worker", main, help="run a stream-processing worker", description=__doc__
    )
    add_setting_options(parser, OPTIONS)
    parser.add_argument(
        "--journey",
        action="append",
        default=None,
        help=f"journey definition file, repeatable (env {ENV_PREFIX}JOURNEY_PATHS)",
    )
