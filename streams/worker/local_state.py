"""Local state after a crash: under exactly-once, a RocksDB store is kept only if the
worker stopped cleanly.

faust writes table values to RocksDB when the agent sets them, before the transaction
that carries their changelog records commits. After a crash (SIGKILL, OOM) the local
store can therefore hold state of aborted transactions: the input is processed again,
the engine sees its own event ids in that state, calls the events duplicates, and
the triggers of the aborted transaction are lost. Kafka Streams has the same problem
and the same answer: without a clean-shutdown checkpoint, wipe the local store and
restore it from the (read_committed) changelog. See streams/worker/eos/DESIGN.md.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from streams.settings import Settings

log = logging.getLogger(__name__)

MARKER = ".clean-shutdown"


def needs_checkpoint(settings: Settings) -> bool:
    return settings.store.startswith("rocksdb://") and settings.processing_guarantee == (
        "exactly_once"
    )


def prepare_local_state(app: Any, settings: Settings) -> bool:
    """Before the worker starts: drop local tables unless the last stop was clean.

    Returns whether local state was discarded. The marker is consumed, so that a crash
    of this run leads to a wipe at the next start.
    """
    if not needs_checkpoint(settings):
        return False
    tabledir = Path(app.conf.tabledir)
    marker = tabledir / MARKER
    if marker.exists():
        marker.unlink()
        return False
    if tabledir.exists() and any(tabledir.iterdir()):
        shutil.rmtree(tabledir)
        log.warning(
            "no clean-shutdown checkpoint in %s: local state discarded, "
            "restoring from the changelog",
            tabledir,
        )
        return True
    return False


def mark_clean_shutdown(app: Any, settings: Settings) -> None:
    """After a graceful stop that committed everything: keep the local tables."""
    if needs_checkpoint(settings):
        tabledir = Path(app.conf.tabledir)
        tabledir.mkdir(parents=True, exist_ok=True)
        (tabledir / MARKER).touch()
