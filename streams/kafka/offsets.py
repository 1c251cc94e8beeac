"""How far a consumer group is behind: end offsets of topics, a group's committed offsets,
and the records between them (a transactional topic's markers not counted); and how
many members the group has once it is stable.

Used to tell when a worker has caught up: by the demo (done once the worker has read
everything sent) and the benchmark (throughput measured to the last commit; with
several workers, the load written once all of them have joined).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.kafka import retry
from streams.settings import Settings

__all__ = ["Offsets"]


class Offsets:
    """End offsets of topics and committed offsets of a group, summed over partitions."""

    def __init__(self, settings: Settings) -> None:
        self.config = settings.kafka_python_config()
        self.admin = KafkaAdminClient(**self.config)
        self.consumer = KafkaConsumer(**self.config, enable_auto_commit=False)
        self.reader = KafkaConsumer(
            **self.config, enable_auto_commit=False, isolation_level="read_committed"
        )

    def partitions(self, topic: str) -> list[TopicPartition]:
        deadline = time.monotonic() + 30
        while True:
            found = self.consumer.partitions_for_topic(topic)
            if found or time.monotonic() > deadline:
                return [TopicPartition(topic, p) for p in sorted(found or ())]
            time.sleep(0.2)

    def ends(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        tps = [tp for t in topics for tp in self.partitions(t)]
        return dict(retry.retry(lambda: self.consumer.end_offsets(tps)))

    def committed(self, group: str) -> dict[TopicPartition, int]:
        """Committed offsets; nothing while the group coordinator is still being set up
        (a fresh broker creates and loads the offsets topic on the first request: it
        answers ``CoordinatorLoadInProgressError``, ``NotCoordinatorError``... until then;
        the caller asks again)."""
        try:
            found = self.admin.list_group_offsets(group).get(group, {})
        except Exception as exc:
            if not retry.retriable(exc):
                raise
            return {}
        return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}

    def stable_members(self, group: str) -> int | None:
        """How many members ``group`` has when it is stable (every member has its
        partitions); ``None`` while it is rebalancing, empty or not there yet."""
        try:
            found = self.admin.describe_groups([group]).get(group, {})
        except Exception as exc:
            if not retry.retriable(exc):
                raise
            return None
        if found.get("group_state") != "Stable":
            return None
        return len(found.get("members") or [])

    def lag(self, group: str, topics: Iterable[str], markers: bool = False) -> int:
        """Records still to process. ``markers``: the topic is written in transactions,
        whose commit markers (any number of them) and aborted records take offsets but
        are no records: count only what a ``read_committed`` reader would get."""
        committed = self.committed(group)
        total = 0
        for tp, end in self.ends(topics).items():
            start = committed.get(tp, 0)
            if end <= start:
                continue
            total += self._records_between(tp, start, end) if markers else end - start
        return total

    def _records_between(self, tp: TopicPartition, start: int, end: int) -> int:
        """Committed records in [start, end); ``end - start`` when that can't be told in
        a short, bounded read (never less than the truth)."""
        reader = self.reader
        reader.assign([tp])
        reader.seek(tp, start)
        count = 0
        deadline = time.monotonic() + 2.0
        while reader.position(tp) < end and time.monotonic() < deadline:
            for records in reader.poll(timeout_ms=200).values():
                count += sum(1 for record in records if record.offset < end)
        if reader.position(tp) < end:
            return end - start
        return count

    def close(self) -> None:
        self.admin.close()
        self.consumer.close()
        self.reader.close()
