"""Benchmark baselines: pass every record from one topic to another, nothing else.

* ``faust``: a faust agent (concurrency 1, memory store, no web server), tuned the way the
  worker is: the same processing guarantee, commit interval, producer linger and batch
  size, poll size, batches (``take_events``, one lock per batch), no terminal spinner (it
  forces DEBUG logging); under exactly-once with the worker's transaction fixes
  (:mod:`streams.worker.eos`: faust's own transaction manager cannot send to a topic the
  app does not consume);
* ``aiokafka``: a raw consume-and-produce loop (manual commit after each batch's sends).

Run as ``python -m streams.bench.baselines {faust|aiokafka} INPUT OUTPUT GROUP``; the
bootstrap servers and security come from the ``JOURNEYS_*`` settings. SIGTERM stops.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from typing import Any

from streams.settings import Settings


def run_faust(settings: Settings, source: str, sink: str, group: str) -> int:
    """The faust pass-through; its data directory (faust's default is ``<group>-data`` in
    the working directory) is a temporary one, removed when it stops."""
    import faust

    from streams.worker import eos
    from streams.worker.config import faust_credentials

    datadir = tempfile.mkdtemp(prefix=f"{group}-")
    app = faust.App(
        group,
        broker=settings.broker_url,
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=datadir,
        processing_guarantee=settings.processing_guarantee,
        broker_commit_interval=settings.commit_interval_seconds,
        producer_linger=settings.producer_linger_ms / 1000,
        producer_max_batch_size=settings.producer_max_batch_size,
        broker_max_poll_records=settings.consumer_max_poll_records,
        consumer_max_fetch_size=settings.consumer_max_fetch_bytes,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
        topic_disable_leader=True,
        worker_redirect_stdouts=False,
    )
    src = app.topic(source, key_serializer="raw", value_serializer="raw")
    dst = app.topic(sink, key_serializer="raw", value_serializer="raw")

    guard = eos.install(app) if settings.processing_guarantee == "exactly_once" else eos.Guard()

    @app.agent(src)
    async def passthrough(stream: Any) -> None:
        batches = stream.take_events(settings.batch_max_events, settings.batch_window_seconds)
        async for batch in batches:
            async with guard.lock:
                for event in batch:
                    with eos.acting_for(event):
                        await dst.send(key=event.key, value=event.value)
                guard.finish_batch(batch)

    worker = faust.Worker(app, loglevel="warning", redirect_stdouts=False)
    worker.spinner = None  # as in the journey worker: no DEBUG logging forced
    try:
        worker.execute_from_commandline()
    finally:
        shutil.rmtree(datadir, ignore_errors=True)
    return 0


async def run_aiokafka(settings: Settings, source: str, sink: str, group: str) -> int:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from streams.kafka import retry

    common: dict[str, Any] = dict(settings.kafka_python_config())
    consumer = AIOKafkaConsumer(
        source,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2_000,
        **common,
    )
    producer = AIOKafkaProducer(linger_ms=5, max_batch_size=256 * 1024, acks=1, **common)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await retry.start(consumer)
    await retry.start(producer)
    try:
        while not stopping.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=2_000)
            sends = [
                await producer.send(sink, record.value, key=record.key)
                for records in batches.values()
                for record in records
            ]
            if sends:
                await asyncio.gather(*sends)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.bench.baselines")
    parser.add_argument("kind", choices=("faust", "aiokafka"))
    parser.add_argument("source")
    parser.add_argument("sink")
    parser.add_argument("group")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.kind == "faust":
        sys.argv = [sys.argv[0], "worker"]  # faust's worker reads its own argv
        return run_faust(settings, args.source, args.sink, args.group)
    return asyncio.run(run_aiokafka(settings, args.source, args.sink, args.group))


if __name__ == "__main__":
    raise SystemExit(main())
