"""Replay reads only the key's partition: our partitioner must be the producers' one."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner

from streams.kafka import keys
from streams.kafka.keys import partition_for

KEYS = ["c-1", "c-2", "customer-000042", "anon-7f3a", "ü-ñicode", "x" * 200, ""]


@pytest.mark.parametrize("partitions", [1, 3, 8, 12, 64])
def test_same_partition_as_aiokafka_default_partitioner(partitions: int) -> None:
    aiokafka = DefaultPartitioner()
    all_partitions = list(range(partitions))
    for key in KEYS:
        expected = aiokafka(key.encode(), all_partitions, all_partitions)
        assert partition_for(key, partitions) == expected, key


def test_pinned_values() -> None:
    # Pinned so that a change of partitioner (or of key encoding) is noticed at once.
    keys = ("a", "b", "c", "customer-1")
    assert [partition_for(k, 8) for k in keys] == [4, 4, 2, 1]
    assert [partition_for(k, 100) for k in keys] == [24, 96, 94, 61]


def test_kept_hashes_give_the_same_partitions_as_fresh_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key asked again (as str or as bytes, for other partition counts, after the kept
    hashes were cleared at their limit) gets the partition a fresh hash gives."""
    monkeypatch.setattr(keys, "_HASHES_LIMIT", 3)
    keys._HASHES.clear()
    aiokafka = DefaultPartitioner()
    for _ in range(3):
        for key in KEYS:
            for partitions in (1, 8, 12):
                everything = list(range(partitions))
                expected = aiokafka(key.encode(), everything, everything)
                assert partition_for(key, partitions) == expected, key
                assert partition_for(key.encode(), partitions) == expected, key
    assert len(keys._HASHES) <= 3
