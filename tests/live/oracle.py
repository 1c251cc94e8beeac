"""The live oracle: what replay computes from exactly what a worker read.

Shared by the live tests that compare a worker's committed triggers with replay
(``test_replay_oracle``, ``test_faults``).
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from journeys import default_journey
from journeys.clock import PartitionClock
from schemas.events import TouchpointEvent
from streams.kafka.keys import key_text, partition_for
from streams.kafka.reader import KafkaReader, KafkaRecord
from streams.replay.inputs import record_items
from streams.replay.timeline import Arrival, Replayer, delivered
from tests.live.worker_harness import WorkerProcess


@dataclass
class Replayed:
    """What replay computes from what the worker read."""

    triggers: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)  # event id -> combined status
    notes: dict[str, list[str]] = field(default_factory=dict)  # event id -> engine notes
    watermark: dict[int, datetime] = field(default_factory=dict)  # partition -> its clock


def replay_worker_input(
    worker: WorkerProcess,
    keep: Callable[[TouchpointEvent], bool] = lambda _: True,
    *,
    grace: timedelta | None = None,
) -> Replayed:
    """Replay of what the worker read (the oracle of ``test_replay_oracle``): each
    touchpoint processed where its key says, the others from the keyed topic, in record
    time order, time moved per partition as the worker moves it (``grace``: its timer
    grace, the worker's own by default), so customers are woken at the same partition
    times; then each partition's keys advanced to its clock less the grace (the latest
    event time read there, the worker's event clock). ``keep`` selects the events
    replayed (and moving the clocks).

    A touchpoint of a linked key (an anonymous id after its identify) that the worker
    re-keyed to its customer is read from the keyed topic too (where the worker wrote
    it, rewritten for the customer), not from the touchpoints topic: the worker did not
    process it where it read it. Replay links keys at the linking event itself, so
    touchpoints of a linked key the worker processed before its link landed (one round
    trip later) are forwarded by replay at once: producers keep the two apart in time
    (journeys/README.md, "Replay and live")."""
    out = Replayed()
    keys_of: dict[int, set[str]] = defaultdict(set)
    arrivals: list[tuple[int, int, int, Arrival]] = []
    for r, item in _processed_where_read(worker):
        if not keep(item.event):
            continue
        at = item.event.event_time
        out.watermark[r.partition] = max(out.watermark.get(r.partition, at), at)
        keys_of[r.partition].add(item.event.key)
        arrivals.append((r.timestamp_ms, r.partition, r.offset, item))
    arrivals.sort(key=lambda a: a[:3])
    grace = worker.timer_grace if grace is None else grace
    clock = PartitionClock(functools.partial(partition_for, partitions=worker.partitions), grace)
    replayer = Replayer([default_journey()], fanout=False, clock=clock)
    for *_, item in arrivals:
        for done in replayer.event(item.event):
            if done.kind == "event":  # not the wake-up or merge of a link it made
                out.status[done.event.event_id] = done.status
                out.notes[done.event.event_id] = [n for _, o in done.outcomes for n in o.notes]
            out.triggers += [
                t.model_dump(mode="json") for _, o in done.outcomes for t in delivered(o)
            ]
    for partition, until in out.watermark.items():
        for _, _, outcome in replayer.advance(until - grace, keys_of[partition]):
            out.triggers += [t.model_dump(mode="json") for t in delivered(outcome)]
    return out


def _processed_where_read(worker: WorkerProcess) -> Iterator[tuple[KafkaRecord, Arrival]]:
    """Every event the worker processed, with the record it read it from: touchpoints
    whose key is their identity, then everything of the keyed topic."""
    with KafkaReader({"bootstrap_servers": worker.bootstrap}) as reader:
        keyed = list(reader.read_topic(worker.topics["keyed"]))
        sources = list(reader.read_topic(worker.topics["touchpoints"]))
    keyed_as: dict[str, set[str]] = defaultdict(set)  # event id -> keys in the keyed topic
    for r in keyed:
        for item in record_items(r, keyed=True):
            if isinstance(item, Arrival):
                keyed_as[item.event.event_id].add(item.event.key)
    for r in sources:
        for item in record_items(r, keyed=False):
            if not isinstance(item, Arrival):
                continue  # rejected: a dead letter
            if item.event.key != key_text(r.key):
                continue  # re-keyed: read from the keyed topic
            if keyed_as.get(item.event.event_id, set()) - {item.event.key}:
                continue  # a linked key's: re-keyed to its customer, in the keyed topic
            yield r, item
    for r in keyed:
        for item in record_items(r, keyed=True):
            if isinstance(item, Arrival):
                yield r, item


def settled_triggers(
    worker: WorkerProcess, quiet_s: float = 6.0, limit_s: float = 120.0
) -> list[dict[str, Any]]:
    """The committed triggers, read until nothing new has arrived for ``quiet_s``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        raw = worker.read_records("triggers", expect=len(seen) + 1, timeout=quiet_s, settle=0.5)
        now = [orjson.loads(value) for _, value in raw]
        if len(now) == len(seen) and seen:
            return now
        seen = now
    raise AssertionError(f"triggers never settled:\n{worker.log_tail()}")
