"""``journeys collect``: run the Segment-compatible HTTP collector.

Options override the ``JOURNEYS_*`` environment variables named in their help, which
override the settings file (``--settings FILE``). The write keys come from
``JOURNEYS_COLLECTOR_WRITE_KEYS`` only (a secret has no place on a command line).

SIGTERM (or SIGINT) stops it gracefully, in this order: ``/readyz`` turns 503 and new
requests are answered 503 with ``Retry-After``; the listener closes and the requests in
flight finish (their acknowledgements awaited); the producer sends what it still holds
and disconnects. All of it within ``JOURNEYS_SHUTDOWN_TIMEOUT_SECONDS``.

Exit codes: 0 after a graceful stop; 2 when it cannot start: no write key, or Kafka
refuses these settings for good (credentials, certificates, a security protocol that does
not match the listener; one error line names the cause); 3 when the graceful stop ran
out of time. A broker that is merely unreachable is waited for, serving 503 meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

from streams.settings import (
    ENV_PREFIX,
    Option,
    Settings,
    add_setting_options,
    setting_overrides,
)
from streams.subcommand import Subparsers, add_command

if TYPE_CHECKING:
    from aiohttp import web

    from streams.collector.app import Collector
    from streams.collector.producer import Producer

log = logging.getLogger(__name__)

EXIT_CANNOT_START = 2
EXIT_STOP_TIMEOUT = 3
_RUNNER_SHARE = 0.8  # of the shutdown timeout, for the requests in flight; the rest: flush

# (option, settings field, help); type conversions are left to the settings model
OPTIONS: tuple[Option, ...] = (
    ("--settings", "settings_file", "settings file: .toml, .yaml, .json or .env"),
    ("--bootstrap-servers", "bootstrap_servers", "Kafka bootstrap servers, host:port[,...]"),
    ("--topic-prefix", "topic_prefix", "prefix of every topic name"),
    ("--partitions", "partitions", "partitions of the topics it creates (the worker's)"),
    ("--host", "collector_host", "address to listen on"),
    ("--port", "collector_port", "port of the tracking API, /healthz, /readyz, /metrics"),
    ("--log-level", "log_level", "debug, info, warning, error"),
    ("--log-format", "log_format", "text, or json: one JSON object a line"),
)


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(**setting_overrides(args, OPTIONS))


def secrets(settings: Settings) -> list[str]:
    """The values no log line may show: the write keys and the Kafka passwords."""
    found = [k.get_secret_value() for k in settings.collector_write_keys]
    found += [
        s.get_secret_value() for s in (settings.sasl_password, settings.ssl_key_password) if s
    ]
    return found


def run(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT; the exit code."""
    import prometheus_client

    from streams.ops.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, secrets(settings))
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    if not settings.collector_write_keys:
        log.error(
            "no write key configured: set %sCOLLECTOR_WRITE_KEYS (separated by ','); the "
            "collector accepts no unauthenticated traffic",
            ENV_PREFIX,
        )
        return EXIT_CANNOT_START
    return asyncio.run(serve(settings))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Listen, connect, serve until ``stop`` is set (or a signal), then stop gracefully."""
    from aiohttp import web

    from streams.collector.app import Collector, create_app
    from streams.collector.producer import Producer
    from streams.kafka.preflight import KafkaUnavailable

    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    producer = Producer(settings)
    collector = Collector(settings, producer)
    runner = web.AppRunner(
        create_app(collector),
        access_log=None,  # one line per request is no log; /metrics counts them
        auto_decompress=False,  # gzip is inflated by the collector, within the limits
        handle_signals=False,
        shutdown_timeout=settings.shutdown_timeout_seconds * _RUNNER_SHARE,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.collector_host, settings.collector_port, backlog=1024)
    await site.start()
    log.info(
        "collector listening on http://%s:%s, %d write key(s), browser pages from %s, Kafka at %s",
        settings.collector_host,
        settings.collector_port,
        len(collector.keys),
        ", ".join(settings.collector_allowed_origins) or "no origin",
        producer.servers,
    )
    connecting = asyncio.create_task(producer.connect())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if connecting.done() and not connecting.cancelled() and connecting.exception() is not None:
        error = connecting.exception()
        log.error("%s", error)
        code = EXIT_CANNOT_START if isinstance(error, KafkaUnavailable) else 1
    else:
        await stopped
    stopped.cancel()
    connecting.cancel()
    return await _stop(collector, runner, producer, settings.shutdown_timeout_seconds) or code


async def _stop(
    collector: Collector, runner: web.AppRunner, producer: Producer, seconds: float
) -> int:
    """The graceful stop, numbered as it must happen; ``EXIT_STOP_TIMEOUT`` when late."""
    log.info("stopping: finishing the requests in flight")
    try:
        async with asyncio.timeout(seconds):
            # 1. not ready, no new work: answered 503 with Retry-After
            collector.stopping = True
            # 2. the listener closes; requests in flight finish, their acks awaited
            await runner.cleanup()
            # 3. whatever the producer still holds is sent; then it disconnects
            await producer.stop()
    except TimeoutError:
        log.error("graceful stop exceeded %.1f s, exiting", seconds)
        return EXIT_STOP_TIMEOUT
    log.info("collector stopped")
    return 0


def main(args: argparse.Namespace) -> int:
    return run(settings_from_args(args))


def register(subparsers: Subparsers) -> None:
    """Add the ``collect`` subcommand."""
    parser = add_command(
        subparsers,
        "collect",
        main,
        help="run the Segment-compatible HTTP collector (SDKs in, touchpoints topic out)",
        description=__doc__,
    )
    add_setting_options(parser, OPTIONS)
