"""Message keys: the customer key a message key stands for, and the partition it lands on.

The timer index rebuild, the live tests and the replay oracle need the partition of a
customer key without a producer at hand: :func:`partition_for` is the Java client's (and
faust's, and kafka-python's) default partitioner, murmur2 of the key bytes, made
positive, modulo partitions.
"""

from __future__ import annotations

from kafka.partitioner.default import murmur2

_HASHES: dict[str | bytes, int] = {}  # key -> positive murmur2 of its bytes
_HASHES_LIMIT = 4_096  # entries, cleared (not evicted) beyond: the repeats are an event's


def partition_for(key: str | bytes, partitions: int) -> int:
    """The partition of ``key`` under the default partitioner (murmur2, positive, modulo).

    murmur2 is pure Python (a few microseconds a key) and the worker asks it for the
    same customer's key once per record (each trigger goes to two topics): the hashes
    of recent keys are kept."""
    positive = _HASHES.get(key)
    if positive is None:
        if len(_HASHES) >= _HASHES_LIMIT:
            _HASHES.clear()
        data = key.encode() if isinstance(key, str) else key
        positive = _HASHES[key] = murmur2(data) & 0x7FFFFFFF
    return positive % partitions


def key_text(key: bytes | str | None) -> str | None:
    """A message key as the customer key it stands for (None: none, or not UTF-8)."""
    if key is None or isinstance(key, str):
        return key
    try:
        return key.decode()
    except UnicodeDecodeError:
        return None
