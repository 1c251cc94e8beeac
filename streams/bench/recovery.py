"""Recovery at scale: a worker with ``--customers`` customers in RocksDB is SIGKILLed
mid-stream; how long until it is ready again, how much memory, and is anything lost or
repeated?

1. **Seed** (not timed): the journey states of ``--customers`` customers, made by the
   engine from a simulated history of ``--templates`` customers (each seeded customer
   is a template's state under its own id), are written to the ``customers`` changelog
   topic and to the worker's local RocksDB, as a worker that had processed them would
   have left them (the changelog offset each partition's store reflects included).
2. **Start**: the worker starts on that local state; ``start_to_ready_s``.
3. **Load**: ``--events`` events over every customer (each one's state read from
   RocksDB, past any cache); then ``--kill-events`` more, and a SIGKILL while they are
   processed (some output committed, some not).
4. **Restart** on the same data directory: ``kill_to_ready_s`` (SIGKILL to ``/readyz``
   answering 200: tables recovered, partitions assigned) and ``kill_to_caught_up_s``
   (to the group having committed every event), the RSS then and the peak.
5. **Check**: every trigger id in the trigger topic (``read_committed``) once.
6. **Stop**: SIGTERM; ``sigterm_to_exit_s`` and the exit code (3: the shutdown timeout
   cut the graceful stop short).

With ``--empty-disk`` the restart finds no local state (a lost disk): the whole changelog
is restored (``streams.worker.eos.restore``); ``restored_records``, ``restore_s`` and
``restore_records_per_s`` are read from the worker's log.

Writes a JSON file and prints the figures. Needs a running broker.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import rocksdict

import journeys
from journeys import driver
from journeys.state import dump_state
from schemas.decode import decode_touchpoints
from schemas.topics import TopicSpec, by_role, topic_specs
from streams.bench.outputs import peak_rss_bytes
from streams.kafka.admin import ensure_topics
from streams.kafka.config import producer_config
from streams.kafka.keys import partition_for
from streams.kafka.offsets import Offsets
from streams.ops.processes import free_port
from streams.settings import Settings
from streams.sim.output import produce
from streams.sim.population import customer_id, generate_load
from streams.worker.launch import WorkerLaunch, overridden

PARTITIONS = 4
CHANGELOG = "{app_id}-customers-changelog"
READY_TIMEOUT_S = 600.0
FORMAT_MARKER = ".committed-store-v1"  # streams.worker.local_state.FORMAT
CURRENT_AT = "JOURNEYS-CURRENT-AT"  # streams.worker.eos.store.CURRENT_AT: the store's age


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--templates", type=int, default=500, help="distinct simulated histories")
    parser.add_argument("--events", type=int, default=20_000, help="events before the kill phase")
    parser.add_argument("--kill-events", type=int, default=20_000, help="events the kill lands in")
    parser.add_argument("--kill-after", type=float, default=2.0, help="seconds into that phase")
    parser.add_argument("--output", type=Path, default=Path("bench-results/recovery.json"))
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--static", action="store_true", help="static group membership (a group instance id)"
    )
    parser.add_argument(
        "--group",
        action="store_true",
        help="two workers: one joins the seeded one, then dies with its disk "
        "(streams.bench.recovery_group)",
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="events/s during --group's join and takeover"
    )
    parser.add_argument(
        "--empty-disk",
        action="store_true",
        help="the restart finds no local state (a lost disk): the whole changelog is restored",
    )


def templates(definitions: list[journeys.Journey], count: int) -> list[tuple[str, bytes]]:
    """(customer id, table value) of ``count`` simulated customers after their history."""
    now = datetime.now(UTC)
    states: dict[str, dict[str, Any]] = defaultdict(dict)
    for message in generate_load(3, count * 12, count, id_prefix="tpl", tag="T"):
        for event in decode_touchpoints(message.value, received_at=now).events:
            key = event.key
            driven = driver.on_event(definitions, states[key], event)
            states[key] = driven.states
    return [
        (key, orjson.dumps({name: dump_state(s) for name, s in customer.items()}))
        for key, customer in sorted(states.items())
    ]


def seeded(shapes: list[tuple[str, bytes]], customers: int) -> Iterator[tuple[str, bytes]]:
    for i in range(customers):
        template_id, value = shapes[i % len(shapes)]
        key = customer_id("rc", i)
        yield key, value.replace(template_id.encode(), key.encode())


async def seed(
    settings: Settings, customers: int, shapes: list[tuple[str, bytes]]
) -> dict[int, int]:
    """The changelog records and the local RocksDB of ``customers`` customers; returns the
    last changelog offset per partition."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**producer_config(settings))
    await producer.start()
    tabledir = Path(settings.data_dir) / settings.app_id / "v1" / "tables"
    tabledir.mkdir(parents=True, exist_ok=True)
    (tabledir / FORMAT_MARKER).touch()
    options = rocksdict.Options(raw_mode=True)
    dbs = {
        p: rocksdict.Rdict(str(tabledir / f"customers-{p}.db"), options=options)
        for p in range(PARTITIONS)
    }
    batches = {p: rocksdict.WriteBatch(raw_mode=True) for p in range(PARTITIONS)}
    last: dict[int, int] = {}
    topic = CHANGELOG.format(app_id=settings.app_id)
    pending: list[asyncio.Future[Any]] = []

    def acked(fut: asyncio.Future[Any]) -> None:
        meta = fut.result()
        last[meta.partition] = max(last.get(meta.partition, -1), meta.offset)

    try:
        for n, (key, value) in enumerate(seeded(shapes, customers), 1):
            partition = partition_for(key, PARTITIONS)
            fut = await producer.send(topic, value, key=key.encode(), partition=partition)
            fut.add_done_callback(acked)
            pending.append(fut)
            batches[partition].put(key.encode(), value)
            if n % 20_000 == 0:
                await asyncio.gather(*pending)
                pending.clear()
                for p, batch in batches.items():
                    dbs[p].write(batch)
                    batches[p] = rocksdict.WriteBatch(raw_mode=True)
                print(f"  seeded {n:,}", end="\r", flush=True)
        await asyncio.gather(*pending)
        await producer.flush()
    finally:
        await producer.stop()
    for p, db in dbs.items():
        db.write(batches[p])
        db.put(b"__faust\x00offset__", str(last.get(p, -1)).encode())
        db.close()
        (tabledir / f"customers-{p}.db" / CURRENT_AT).write_text(repr(time.time()))
    print()
    return last


def create_changelog(settings: Settings) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(**settings.kafka_python_config())
    try:
        admin.create_topics(
            [
                NewTopic(
                    CHANGELOG.format(app_id=settings.app_id),
                    PARTITIONS,
                    1,
                    topic_configs={"cleanup.policy": "compact"},
                )
            ]
        )
    finally:
        admin.close()


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """A worker of ``settings`` (:mod:`streams.worker.launch`), its output appended to
    ``log``."""
    with log.open("ab") as out:
        return WorkerLaunch(settings).start(out)


def wait_ready(port: int, proc: subprocess.Popen[bytes], began: float) -> float:
    url = f"http://127.0.0.1:{port}/readyz"
    while time.monotonic() - began < READY_TIMEOUT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - began
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError("worker not ready")


BULK_DONE = re.compile(
    rb"bulk restore(?: of (\w+) partitions)?: (\d+) records in ([\d.]+) s \((\d+) records/s\)"
)


def bulk_restored(log: Path, since: int, title: str | None = None) -> dict[str, float]:
    """The bulk restores the worker logged after byte ``since`` of ``log`` (of ``title``
    partitions, active or standby; ``None``: all): records, seconds (the restores of
    one recovery run one after another), records/s."""
    with log.open("rb") as f:
        f.seek(since)
        found = [
            (int(n), float(s))
            for kind, n, s, _ in BULK_DONE.findall(f.read())
            if title is None or kind.decode() in (title, "")
        ]
    records = sum(n for n, _ in found)
    seconds = sum(s for _, s in found)
    return {
        "restored_records": records,
        "restore_s": round(seconds, 2),
        "restore_records_per_s": round(records / seconds) if seconds else 0,
    }


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def wait_caught_up(
    offsets: Offsets, group: str, topics: list[tuple[str, bool]], began: float
) -> float:
    while time.monotonic() - began < READY_TIMEOUT_S:
        if sum(offsets.lag(group, [topic], markers) for topic, markers in topics) == 0:
            return time.monotonic() - began
        time.sleep(0.1)
    raise TimeoutError("worker did not catch up")


def trigger_ids(settings: Settings, topic: str) -> Counter[str]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**settings.kafka_python_config(), isolation_level="read_committed")
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        ids: Counter[str] = Counter()
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    ids[orjson.loads(record.value)["trigger_id"]] += 1
        return ids
    finally:
        consumer.close()


@dataclass(frozen=True)
class Bench:
    """One run's names and places: its topics and group (``prefix``), the seeded data
    directory, the settings of the benchmark's own clients."""

    run_id: str
    prefix: str
    data_dir: Path
    settings: Settings
    specs: dict[str, TopicSpec]

    def worker_settings(
        self, data_dir: Path, port: int, standbys: int = 0, **fields: Any
    ) -> Settings:
        """A worker's settings: this run's topics and group, ``data_dir``, ``port``,
        ``standbys``, and any other ``fields``."""
        return overridden(
            self.settings,
            store="rocksdb://",
            data_dir=data_dir,
            clock="event",
            processing_guarantee="exactly_once",
            web_port=port,
            log_level="info",
            standby_replicas=standbys,
            **fields,
        )


def prepare() -> Bench:
    """Names for a new run (nothing created yet)."""
    run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    prefix = f"bench-recovery-{run_id}"
    data_dir = Path(tempfile.mkdtemp(prefix="journeys-recovery-"))
    settings = Settings().model_copy(
        update={
            "topic_prefix": prefix,
            "app_id": prefix,
            "partitions": PARTITIONS,
            "data_dir": data_dir,
        }
    )
    specs = by_role(topic_specs(prefix, PARTITIONS))
    return Bench(run_id, prefix, data_dir, settings, specs)


def seed_run(bench: Bench, args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Create the run's topics and seed ``args.customers`` customers (changelog and the
    local store in ``bench.data_dir``); adds the state size and seed time to ``result``."""
    ensure_topics(bench.settings)
    create_changelog(bench.settings)
    definitions = [journeys.default_journey()]
    t0 = time.monotonic()
    shapes = templates(definitions, args.templates)
    result["mean_state_bytes"] = round(sum(len(v) for _, v in shapes) / len(shapes))
    asyncio.run(seed(bench.settings, args.customers, shapes))
    result["seed_s"] = round(time.monotonic() - t0, 1)
    print(f"seeded {args.customers:,} customers in {result['seed_s']} s")


@dataclass(frozen=True)
class Single:
    """One single-worker run: its names, its worker's settings, port and log, its figures."""

    bench: Bench
    args: argparse.Namespace
    worker: Settings
    port: int
    log: Path
    result: dict[str, Any]

    @property
    def progress(self) -> list[tuple[str, bool]]:
        """The topics whose committed offsets say the worker has caught up (markers or not)."""
        specs = self.bench.specs
        return [(specs["touchpoints"].name, False), (specs["keyed"].name, True)]

    def send_events(self, seed: int, events: int, tag: str) -> None:
        """``events`` events over every seeded customer to the touchpoints topic."""
        messages = generate_load(
            seed, events, self.args.customers, id_prefix="rc", tag=tag, signed_up=True
        )
        config = producer_config(self.bench.settings)
        asyncio.run(produce(messages, self.bench.specs["touchpoints"].name, config))


def new_single(args: argparse.Namespace) -> Single:
    """Names, port, worker settings and log of a new run (nothing measured yet)."""
    bench = prepare()
    port = free_port()
    instance = f"{bench.prefix}-worker-0" if args.static else None
    worker = bench.worker_settings(bench.data_dir, port, group_instance_id=instance)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    log = args.output.with_suffix(".log")
    log.unlink(missing_ok=True)
    result: dict[str, Any] = {
        "customers": args.customers,
        "empty_disk": args.empty_disk,
        "partitions": PARTITIONS,
        "run_id": bench.run_id,
    }
    return Single(bench, args, worker, port, log, result)


def start_seeded(run: Single) -> subprocess.Popen[bytes]:
    """``start_to_ready_s`` and ``rss_ready_bytes``: the worker started on the seeded disk."""
    began = time.monotonic()
    proc = start_worker(run.worker, run.log)
    run.result["start_to_ready_s"] = round(wait_ready(run.port, proc, began), 2)
    run.result["rss_ready_bytes"] = rss_bytes(proc.pid)
    print(f"start to ready: {run.result['start_to_ready_s']} s")
    return proc


def load_all(run: Single, proc: subprocess.Popen[bytes], offsets: Offsets) -> None:
    """``rss_after_load_bytes``: the worker's RSS once ``--events`` events are committed."""
    run.send_events(5, run.args.events, "A")
    wait_caught_up(offsets, run.bench.prefix, run.progress, time.monotonic())
    run.result["rss_after_load_bytes"] = rss_bytes(proc.pid)


def kill_mid_load(run: Single, proc: subprocess.Popen[bytes]) -> float:
    """``peak_rss_first_bytes`` at a SIGKILL ``--kill-after`` s into ``--kill-events``."""
    run.send_events(6, run.args.kill_events, "B")
    time.sleep(run.args.kill_after)
    run.result["peak_rss_first_bytes"] = peak_rss_bytes(proc.pid)
    proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    proc.wait()
    if run.args.empty_disk:
        shutil.rmtree(run.bench.data_dir / run.bench.prefix, ignore_errors=True)
    return killed


def restart(run: Single, offsets: Offsets, killed: float) -> subprocess.Popen[bytes]:
    """``kill_to_ready_s``, the restore, ``kill_to_caught_up_s`` and the RSS of the restart."""
    restarted_at = run.log.stat().st_size
    proc = start_worker(run.worker, run.log)
    result = run.result
    result["kill_to_ready_s"] = round(wait_ready(run.port, proc, killed), 2)
    result["rss_after_restart_bytes"] = rss_bytes(proc.pid)
    result.update(bulk_restored(run.log, restarted_at))
    caught_up = wait_caught_up(offsets, run.bench.prefix, run.progress, killed)
    result["kill_to_caught_up_s"] = round(caught_up, 2)
    result["rss_caught_up_bytes"] = rss_bytes(proc.pid)
    result["peak_rss_bytes"] = peak_rss_bytes(proc.pid)
    return proc


def count_triggers(bench: Bench, result: dict[str, Any]) -> None:
    """``triggers`` and ``duplicate_trigger_ids``: the trigger topic's ids (``read_committed``)."""
    ids = trigger_ids(bench.settings, bench.specs["triggers"].name)
    result["triggers"] = sum(ids.values())
    result["duplicate_trigger_ids"] = sum(1 for n in ids.values() if n > 1)


def stop(run: Single, proc: subprocess.Popen[bytes]) -> None:
    """``sigterm_to_exit_s`` and ``sigterm_exit_code``: SIGTERM to the worker's exit."""
    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    run.result["sigterm_exit_code"] = proc.wait(timeout=120)
    run.result["sigterm_to_exit_s"] = round(time.monotonic() - stopping, 2)


def report(run: Single) -> None:
    """The run's figures: written to ``--output`` as JSON, and printed."""
    args, r = run.args, run.result
    args.output.write_bytes(orjson.dumps(r, option=orjson.OPT_INDENT_2))
    mib = 2**20
    print(
        f"customers {args.customers:,} (mean state {r['mean_state_bytes']} bytes)\n"
        f"start to ready {r['start_to_ready_s']} s; SIGKILL to ready {r['kill_to_ready_s']} s,"
        f" to caught up {r['kill_to_caught_up_s']} s"
        f"{' (empty disk)' if args.empty_disk else ''}\n"
        f"bulk restore {r['restored_records']:,} records in {r['restore_s']} s"
        f" ({r['restore_records_per_s']:,} records/s)\n"
        f"RSS ready {r['rss_ready_bytes'] / mib:.0f} MiB, after load"
        f" {r['rss_after_load_bytes'] / mib:.0f} MiB, after restart"
        f" {r['rss_caught_up_bytes'] / mib:.0f} MiB,"
        f" peak {(r['peak_rss_bytes'] or 0) / mib:.0f} MiB"
        f" (before the kill {(r['peak_rss_first_bytes'] or 0) / mib:.0f} MiB)\n"
        f"triggers {r['triggers']:,}, duplicate ids {r['duplicate_trigger_ids']}\n"
        f"SIGTERM to exit {r['sigterm_to_exit_s']} s, exit code {r['sigterm_exit_code']}\n"
        f"written to {args.output}"
    )


def main(args: argparse.Namespace) -> int:
    """One worker's recovery (``--group``: :func:`streams.bench.recovery_group.main`,
    which tests/bench/bench_recovery.py calls instead)."""
    if args.group:
        raise SystemExit("--group runs streams.bench.recovery_group.main")
    run = new_single(args)
    try:
        seed_run(run.bench, args, run.result)
        proc = start_seeded(run)
        offsets = Offsets(run.bench.settings)
        load_all(run, proc, offsets)
        killed = kill_mid_load(run, proc)
        proc = restart(run, offsets, killed)
        count_triggers(run.bench, run.result)
        stop(run, proc)
        offsets.close()
    finally:
        if not args.keep:
            shutil.rmtree(run.bench.data_dir, ignore_errors=True)
    report(run)
    return 0 if run.result["duplicate_trigger_ids"] == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="recovery", description=__doc__)
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
