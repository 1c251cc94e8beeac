"""Exactly-once on top of faust 0.15.3: each override in the module named by what it fixes.

- :mod:`~streams.worker.eos.guard`: the agents' lock and the offsets of the events they
  finished (:class:`Guard`);
- :mod:`~streams.worker.eos.transactions`: sends join the source partition's transaction,
  the commit in numbered steps, producers of moved partitions stopped
  (:class:`SourceTransactionManager`);
- :mod:`~streams.worker.eos.tables`: changelog writes tracked, raw ``str`` keys, local
  state of revoked partitions dropped (:class:`TrackedTable`);
- :mod:`~streams.worker.eos.store`: the local RocksDB written only with what committed,
  with the changelog offset it reflects, within one memory budget, discarded when older
  than the changelog's tombstone retention
  (:class:`CommittedStore`, :class:`RocksDBBudget`, :func:`set_tombstone_retention`);
- :mod:`~streams.worker.eos.consumer`: a changelog's end asked to the broker under
  ``read_committed`` (:class:`StableOffsetConsumer`);
- :mod:`~streams.worker.eos.recovery`: stream partitions sought before they are resumed
  (:class:`SeekFirstTableManager`).

DESIGN.md (next to this file) is the design as it is; FINDINGS.md the journal of what
broke and how it was found. ``tests/worker/test_faust_fingerprints.py`` pins the faust
and aiokafka code these overrides replace, copy or reach into.
"""

from __future__ import annotations

import faust

from streams.worker.eos.consumer import StableOffsetConsumer, StableOffsetConsumerThread
from streams.worker.eos.current import acting_for
from streams.worker.eos.guard import Guard, guard_of
from streams.worker.eos.produce import BatchedOutput
from streams.worker.eos.produce import attach as attach_batched_output
from streams.worker.eos.recovery import SeekFirstRecovery, SeekFirstTableManager
from streams.worker.eos.store import (
    CommittedStore,
    RocksDBBudget,
    budget_for,
    set_tombstone_retention,
)
from streams.worker.eos.tables import TrackedTable, drop_local_partitions
from streams.worker.eos.transactions import SourceTransactionManager

__all__ = [
    "BatchedOutput",
    "CommittedStore",
    "Guard",
    "RocksDBBudget",
    "SeekFirstRecovery",
    "SeekFirstTableManager",
    "SourceTransactionManager",
    "StableOffsetConsumer",
    "StableOffsetConsumerThread",
    "TrackedTable",
    "acting_for",
    "attach_batched_output",
    "budget_for",
    "drop_local_partitions",
    "guard_of",
    "install",
    "set_tombstone_retention",
]


def install(app: faust.App) -> Guard:
    """Use the fixed transaction manager and consumer in ``app`` (before the worker
    starts); the table and table manager classes are app settings
    (``streams.worker.config``)."""
    setattr(app.transport, "TransactionManager", SourceTransactionManager)  # noqa: B010
    setattr(app.transport, "Consumer", StableOffsetConsumer)  # noqa: B010
    return guard_of(app)
