"""Local state at start: a RocksDB store kept across stops and crashes, unless an older
version wrote it.

Under exactly-once the local stores hold only what committed, with the changelog offset
they reflect (:class:`~streams.worker.eos.store.CommittedStore`): after a SIGKILL the
worker keeps them and reads the changelog tail from that offset. Versions before it
wrote a value when the agent set it, before its transaction committed, and so kept a
store only after a clean stop (a ``.clean-shutdown`` marker). A table directory without
the format marker :data:`FORMAT` is such a store, possibly ahead of the changelog: it is
wiped once and restored from the (read_committed) changelog. See
streams/worker/eos/DESIGN.md.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from streams.settings import Settings

log = logging.getLogger(__name__)

FORMAT = ".committed-store-v1"
LEGACY_MARKER = ".clean-shutdown"


def needs_checkpoint(settings: Settings) -> bool:
    return settings.store.startswith("rocksdb://") and settings.processing_guarantee == (
        "exactly_once"
    )


def prepare_local_state(app: Any, settings: Settings) -> bool:
    """Before the worker starts: keep the local tables if this version wrote them, else
    wipe them (unless an older version stopped cleanly). Returns whether they were wiped."""
    if not needs_checkpoint(settings):
        return False
    tabledir = Path(app.conf.tabledir)
    marker, legacy = tabledir / FORMAT, tabledir / LEGACY_MARKER
    wiped = False
    stale = not marker.exists() and not legacy.exists()
    if stale and tabledir.exists() and any(tabledir.iterdir()):
        shutil.rmtree(tabledir)
        wiped = True
        log.warning(
            "local state in %s was written before its transactions committed: "
            "discarded, restoring from the changelog",
            tabledir,
        )
    tabledir.mkdir(parents=True, exist_ok=True)
    legacy.unlink(missing_ok=True)
    marker.touch()
    return wiped
