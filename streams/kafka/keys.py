"""Message keys: the customer key a message key stands for, and the partition it lands on.

The timer index rebuild, the live tests and the replay oracle need the partition of a
customer key without a producer at hand: :func:`partition_for` is the Java client's (and
faust's, and kafka-python's) default partitioner, murmur2 of the key bytes, made
positive, modulo partitions.
"""

from __future__ import annotations

from kafka.partitioner.default import murmur2


def partition_for(key: str | bytes, partitions: int) -> int:
    """The partition of ``key`` under the default partitioner (murmur2, positive, modulo)."""
    data = key.encode() if isinstance(key, str) else key
    return int((murmur2(data) & 0x7FFFFFFF) % partitions)


def key_text(key: bytes | str | None) -> str | None:
    """A message key as the customer key it stands for (None: none, or not UTF-8)."""
    if key is None or isinstance(key, str):
        return key
    try:
        return key.decode()
    except UnicodeDecodeError:
        return None
