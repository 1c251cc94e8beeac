"""Which partition a key lands on: Kafka's default partitioner, for tools that must know.

The timer index rebuild, the live tests and the replay oracle need the partition of a
customer key without a producer at hand; this is the Java client's (and faust's, and
kafka-python's) default: murmur2 of the key bytes, made positive, modulo partitions.
"""

from __future__ import annotations

from kafka.partitioner.default import murmur2


def partition_for(key: str | bytes, partitions: int) -> int:
    """The partition of ``key`` under the default partitioner (murmur2, positive, modulo)."""
    data = key.encode() if isinstance(key, str) else key
    return int((murmur2(data) & 0x7FFFFFFF) % partitions)
