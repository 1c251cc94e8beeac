"""Recovery with two workers (``bench_recovery.py --group``): a worker joins a group whose
one worker holds ``--customers`` customers, then one of the two dies for good, disk
included. New customers sign up at ``--rate`` events/s throughout (each sign-up emits a
trigger).

1. **Seed** as :mod:`streams.bench.recovery` does; worker A starts on the seeded disk
   (one standby replica per partition, as deployed) and catches up with the first load.
2. **Join**: worker B starts on an empty disk. ``joiner_ready_s`` (B's ``/readyz`` 200),
   ``joiner_serving_s`` (B's partitions caught up: every event older than a second
   committed), B's bulk restores (from its log), ``joiner_standbys_current_s`` (A's and
   B's standby copies at most a second of input behind, ``journeys_standby_lag_records``),
   and the **stall**: per partition, the longest time its committed offset stood still
   while it had events to process, for A's partitions (does the group stall?) and B's.
3. **Takeover**: once A's and B's standbys are current, SIGKILL B and delete its data
   directory. ``takeover_first_trigger_s``: SIGKILL to the first trigger (read with
   ``read_committed``) of a customer of B's partitions; ``takeover_first_commit_s``: to
   the first commit of one of B's partitions; ``takeover_caught_up_s``: to every
   partition caught up. A's restores after the kill are read from its log.
4. **Check**: every trigger id once.

Group offsets and topic ends are sampled every 0.25 s by the benchmark's own clients.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from streams.bench.recovery import (
    PARTITIONS,
    READY_TIMEOUT_S,
    Bench,
    bulk_restored,
    count_triggers,
    prepare,
    rss_bytes,
    seed_run,
    start_worker,
    wait_ready,
)
from streams.kafka.config import producer_config
from streams.kafka.keys import partition_for
from streams.kafka.offsets import Offsets
from streams.ops.processes import free_port
from streams.settings import Settings
from streams.sim.output import produce
from streams.sim.population import generate_load

SAMPLE_S = 0.25
CAUGHT_UP_WITHIN_S = 1.0  # caught up: every event older than this is committed
WAIT_S = 600.0
WARM_S = 10.0  # of load through worker A alone before B joins


class Load:
    """Events at ``rate`` a second to the touchpoints topic, from a thread, until stopped."""

    def __init__(self, bench: Bench, rate: float) -> None:
        self.stopped = threading.Event()
        self.bench, self.rate = bench, rate
        self.thread = threading.Thread(target=self._run, name="load", daemon=True)

    def _messages(self) -> Iterator[Any]:
        # new customers signing up (a trigger each), at the start of the seeded
        # histories: the partitions' time stays behind the seeded customers' timers (at
        # 90 days it would wake nearly all of them at once)
        for message in generate_load(7, 10**6, 10**6, 1, id_prefix="nc", tag="G", signed_up=False):
            if self.stopped.is_set():
                return
            yield message

    def _run(self) -> None:
        topic = self.bench.specs["touchpoints"].name
        config = producer_config(self.bench.settings)
        asyncio.run(produce(self._messages(), topic, config, rate=self.rate))

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)


@dataclass
class Sample:
    at: float
    committed: dict[int, int]
    ends: dict[int, int]


@dataclass
class Watch:
    """The group's committed offsets and the touchpoints topic's ends, sampled."""

    bench: Bench
    samples: list[Sample] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, name="watch", daemon=True).start()

    def _run(self) -> None:
        offsets = Offsets(self.bench.settings)
        topic = self.bench.specs["touchpoints"].name
        try:
            while not self.stopped.is_set():
                at = time.monotonic()
                ends = {tp.partition: n for tp, n in offsets.ends([topic]).items()}
                committed = {
                    tp.partition: n
                    for tp, n in offsets.committed(self.bench.prefix).items()
                    if tp.topic == topic
                }
                self.samples.append(Sample(at, committed, ends))
                self.stopped.wait(max(SAMPLE_S - (time.monotonic() - at), 0.0))
        finally:
            offsets.close()

    def caught_up(self, partitions: set[int], since: float) -> float | None:
        """The first sample time after ``since`` at which every event of ``partitions``
        produced more than a second before is committed."""
        for sample in self.samples:
            if sample.at < since + CAUGHT_UP_WITHIN_S:
                continue
            before = self._at(sample.at - CAUGHT_UP_WITHIN_S)
            if all(sample.committed.get(p, 0) >= before.ends.get(p, 0) for p in partitions):
                return sample.at
        return None

    def first_commit(self, partitions: set[int], since: float) -> float | None:
        """The first sample time at which one of ``partitions`` committed more than it had
        a sampling period after ``since`` (a commit of the dead worker in flight at the
        kill is not counted)."""
        base = self._at(since + SAMPLE_S).committed
        for sample in self.samples:
            if sample.at > since + SAMPLE_S and any(
                sample.committed.get(p, 0) > base.get(p, 0) for p in partitions
            ):
                return sample.at
        return None

    def stall(self, partitions: set[int], start: float, end: float) -> dict[str, float]:
        """Per partition, the longest time in ``[start, end]`` its committed offset stood
        still while it had events to process."""
        longest = dict.fromkeys(partitions, 0.0)
        since: dict[int, float] = {}
        last: dict[int, int] = {}
        for sample in self.samples:
            if not start <= sample.at <= end:
                continue
            for p in partitions:
                done = sample.committed.get(p, 0)
                waiting = sample.ends.get(p, 0) > done
                if done != last.get(p) or not waiting:
                    since[p] = sample.at
                last[p] = done
                longest[p] = max(longest[p], sample.at - since[p])
        return {str(p): round(s, 2) for p, s in sorted(longest.items())}

    def _at(self, when: float) -> Sample:
        found = self.samples[0]
        for sample in self.samples:
            if sample.at > when:
                break
            found = sample
        return found


class FirstTrigger:
    """The first trigger (``read_committed``) of a customer of ``partitions`` after start."""

    def __init__(self, bench: Bench, partitions: set[int]) -> None:
        self.bench, self.partitions = bench, partitions
        self.seen_at: float | None = None
        self.read = 0  # triggers read (of any partition) before the first one of ours
        self.stopped = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="triggers", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(30)

    def _run(self) -> None:
        config = self.bench.settings.kafka_python_config()
        consumer = KafkaConsumer(**config, isolation_level="read_committed")
        topic = self.bench.specs["triggers"].name
        try:
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(tps)
            consumer.seek_to_end(*tps)
            for tp in tps:
                consumer.position(tp)
            self.ready.set()
            while self.seen_at is None and not self.stopped.is_set():
                for records in consumer.poll(timeout_ms=100).values():
                    for record in records:
                        self.read += 1
                        customer = orjson.loads(record.value)["customer_id"]
                        if partition_for(customer, PARTITIONS) in self.partitions:
                            self.seen_at = time.monotonic()
                            break
        finally:
            self.ready.set()
            consumer.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


SERIES = re.compile(rb'^(journeys_\w+)\{partition="(\d+)",topic="([^"]+)"\} ([\d.e+-]+)$', re.M)


def scrape(port: int) -> dict[str, dict[tuple[str, int], float]]:
    """The worker's per-partition series: name -> {(topic, partition): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read()
    out: dict[str, dict[tuple[str, int], float]] = {}
    for name, partition, topic, value in SERIES.findall(body):
        out.setdefault(name.decode(), {})[(topic.decode(), int(partition))] = float(value)
    return out


def active_partitions(port: int, topic: str) -> set[int]:
    """The input partitions a worker consumes (its consumer lag series)."""
    lags = scrape(port).get("journeys_consumer_lag_messages", {})
    return {p for (t, p) in lags if t == topic}


def standby_lag(port: int) -> dict[tuple[str, int], float]:
    return scrape(port).get("journeys_standby_lag_records", {})


def wait_standbys_current(ports: list[int], began: float, within: float) -> float | None:
    """Seconds since ``began`` until every worker on ``ports`` has standby partitions and
    each is at most ``within`` records behind (a second of input: with events streaming
    in, a standby is rarely 0 behind at the moment of a scrape); ``None`` after
    :data:`WAIT_S`."""
    while time.monotonic() - began < WAIT_S:
        try:
            lags = [standby_lag(port) for port in ports]
        except OSError:
            lags = []
        if lags and all(lag and max(lag.values()) <= within for lag in lags):
            return time.monotonic() - began
        time.sleep(0.5)
    return None


def wait_partitions(port: int, topic: str, count: int) -> set[int]:
    """The worker's input partitions once it consumes ``count`` of them."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            found = active_partitions(port, topic)
        except OSError:
            found = set()
        if len(found) == count:
            return found
        time.sleep(0.25)
    raise TimeoutError(f"worker on port {port} never held {count} partitions")


def since(t: float | None, began: float) -> float | None:
    return None if t is None else round(t - began, 2)


@dataclass
class GroupRun:
    """One two-worker run: its places, ports and logs, its own clients, its workers, its figures."""

    args: argparse.Namespace
    bench: Bench
    data_b: Path
    port_a: int
    port_b: int
    worker_a: Settings
    worker_b: Settings
    log_a: Path
    log_b: Path
    result: dict[str, Any]
    watch: Watch
    load: Load
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def new_group_run(args: argparse.Namespace) -> GroupRun:
    """Names, ports, worker settings, logs and clients of a new run (nothing started yet)."""
    bench = prepare()
    data_b = Path(tempfile.mkdtemp(prefix="journeys-recovery-b-"))
    port_a, port_b = free_port(), free_port()
    worker_a = bench.worker_settings(bench.data_dir, port_a, standbys=1)
    worker_b = bench.worker_settings(data_b, port_b, standbys=1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    log_a, log_b = args.output.with_suffix(".a.log"), args.output.with_suffix(".b.log")
    log_a.unlink(missing_ok=True)
    log_b.unlink(missing_ok=True)
    result: dict[str, Any] = {
        "customers": args.customers,
        "mode": "group",
        "rate_events_per_s": args.rate,
        "partitions": PARTITIONS,
        "run_id": bench.run_id,
    }
    return GroupRun(
        args,
        bench,
        data_b,
        port_a,
        port_b,
        worker_a,
        worker_b,
        log_a,
        log_b,
        result,
        Watch(bench),
        Load(bench, args.rate),
    )


def start_a(run: GroupRun) -> subprocess.Popen[bytes]:
    """``a_start_to_ready_s``: worker A on the seeded disk; then the load, A alone caught up."""
    began = time.monotonic()
    proc_a = start_worker(run.worker_a, run.log_a)
    run.procs.append(proc_a)
    run.result["a_start_to_ready_s"] = round(wait_ready(run.port_a, proc_a, began), 2)
    print(f"A: start to ready {run.result['a_start_to_ready_s']} s")
    run.watch.start()
    run.load.start()
    time.sleep(WARM_S)
    watch_until(run.watch, set(range(PARTITIONS)), time.monotonic())
    return proc_a


def join_b(
    run: GroupRun, proc_a: subprocess.Popen[bytes]
) -> tuple[subprocess.Popen[bytes], set[int]]:
    """``joiner_*``, ``join_stall_s`` and the RSS after: worker B joins on an empty disk."""
    result, topic = run.result, run.bench.specs["touchpoints"].name
    joined = time.monotonic()
    proc_b = start_worker(run.worker_b, run.log_b)
    run.procs.append(proc_b)
    ready_b = wait_ready(run.port_b, proc_b, joined)
    result["joiner_ready_s"] = round(ready_b, 2)
    mine = wait_partitions(run.port_b, topic, PARTITIONS // 2)
    theirs = set(range(PARTITIONS)) - mine
    result["joiner_partitions"] = sorted(mine)
    serving = watch_until(run.watch, mine, joined + ready_b)
    result["joiner_serving_s"] = round(serving + ready_b, 2)
    print(f"B: ready {result['joiner_ready_s']} s, serving {result['joiner_serving_s']} s")
    result["joiner_restore_active"] = bulk_restored(run.log_b, 0, "active")
    result["joiner_restore_standby"] = bulk_restored(run.log_b, 0, "standby")
    current = wait_standbys_current([run.port_a, run.port_b], joined, run.args.rate)
    result["joiner_standbys_current_s"] = None if current is None else round(current, 2)
    print(f"standbys of both current {result['joiner_standbys_current_s']} s after the join")
    settled = time.monotonic()
    result["join_stall_s"] = {
        "kept_by_a": run.watch.stall(theirs, joined, settled),
        "moved_to_b": run.watch.stall(mine, joined, settled),
    }
    result["rss_a_after_join_bytes"] = rss_bytes(proc_a.pid)
    result["rss_b_after_join_bytes"] = rss_bytes(proc_b.pid)
    return proc_b, mine


def takeover(run: GroupRun, proc_b: subprocess.Popen[bytes], mine: set[int]) -> None:
    """``takeover_*``: B dies with its disk, A takes ``mine`` (B's partitions) over."""
    result, watch = run.result, run.watch
    first = FirstTrigger(run.bench, mine)
    first.start()
    a_log_at = run.log_a.stat().st_size
    killed = time.monotonic()
    proc_b.send_signal(signal.SIGKILL)
    proc_b.wait()
    shutil.rmtree(run.data_b, ignore_errors=True)
    caught = watch_until(watch, set(range(PARTITIONS)), killed)
    first.stop()
    result["takeover_first_trigger_s"] = since(first.seen_at, killed)
    result["takeover_triggers_read"] = first.read
    result["takeover_first_commit_s"] = since(watch.first_commit(mine, killed), killed)
    result["takeover_caught_up_s"] = round(caught, 2)
    result["takeover_stall_s"] = watch.stall(mine, killed, time.monotonic())
    result["takeover_restore"] = bulk_restored(run.log_a, a_log_at, "active")
    print(
        f"takeover: first trigger {result['takeover_first_trigger_s']} s, first commit "
        f"{result['takeover_first_commit_s']} s, caught up {result['takeover_caught_up_s']} s"
    )


def check(run: GroupRun, proc_a: subprocess.Popen[bytes]) -> None:
    """``triggers``, ``duplicate_trigger_ids`` and ``rss_a_end_bytes``, once the load is done."""
    run.load.stop()
    watch_until(run.watch, set(range(PARTITIONS)), time.monotonic())
    count_triggers(run.bench, run.result)
    run.result["rss_a_end_bytes"] = rss_bytes(proc_a.pid)


def shut_down(run: GroupRun) -> None:
    """The load and the sampling stopped, the live workers SIGTERMed, the data removed."""
    run.load.stop()
    run.watch.stopped.set()
    for proc in run.procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
    if not run.args.keep:
        shutil.rmtree(run.bench.data_dir, ignore_errors=True)
        shutil.rmtree(run.data_b, ignore_errors=True)


def report(run: GroupRun) -> None:
    """The run's figures: written to ``--output`` as JSON, and printed."""
    run.args.output.write_bytes(orjson.dumps(run.result, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(run.result, option=orjson.OPT_INDENT_2).decode())
    print(f"written to {run.args.output}")


def main(args: argparse.Namespace) -> int:
    """Two workers' recovery: seed, start A, join B, B's takeover by A, check, report."""
    run = new_group_run(args)
    try:
        seed_run(run.bench, args, run.result)
        proc_a = start_a(run)
        proc_b, mine = join_b(run, proc_a)
        takeover(run, proc_b, mine)
        check(run, proc_a)
    finally:
        shut_down(run)
    report(run)
    return 0 if run.result["duplicate_trigger_ids"] == 0 else 1


def watch_until(watch: Watch, partitions: set[int], began: float) -> float:
    """Seconds from ``began`` until ``partitions`` are caught up (:meth:`Watch.caught_up`)."""
    while time.monotonic() - began < WAIT_S:
        found = watch.caught_up(partitions, began)
        if found is not None:
            return found - began
        time.sleep(SAMPLE_S)
    raise TimeoutError(f"partitions {sorted(partitions)} did not catch up")
