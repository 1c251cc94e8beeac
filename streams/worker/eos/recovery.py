"""Table recovery: bulk restore first, active and standby partitions (issue 25), and the
stream partitions sought before they are resumed (finding 11).

:class:`SeekFirstTableManager` is the app's ``TableManager`` (``streams.worker.config``);
it creates :class:`SeekFirstRecovery` where faust's creates its ``Recovery``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any, cast

from faust.app.base import App
from faust.stores.rocksdb import Store as RocksDBStore
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP

from streams.worker.eos.consumer import _stop
from streams.worker.eos.restore import progress_of, reader_for, restore

#: the share of faust's bound on each recovery step (``broker_request_timeout``, 90 s)
#: that the bulk restore may take; faust stops its recovery for good when a step
#: overruns it, so what is left then goes to faust's record-by-record recovery
BULK_SHARE = 0.75


class SeekFirstRecovery(Recovery):
    """faust's table recovery, with the stream partitions sought to their committed
    offsets *before* they are resumed (finding 11).

    faust 0.15.3 resumes the stream partitions and only then seeks them to the committed
    offsets, both after a table restore (``on_recovery_completed``) and without tables
    (``_resume_streams``). The fetcher is already running then (the restore needs it),
    so records fetched between the resume and the seek reach the agents while the seek,
    in the consumer thread, rewinds the position and resets faust's read offset under the
    running fetch loop. The loop then sees an offset jump, records it as a "gap" (faust
    counts gaps as acknowledged), and the next commit moves the committed offset past
    records no agent processed: seen after most restarts that had a changelog to
    restore, 15-40 touchpoints of a partition skipped and their triggers lost. Here the
    partitions are still paused while they are sought, so nothing reaches the agents from
    a position that is about to change.

    Both methods are faust's, with the seek moved before the resume into
    :meth:`_seek_then_resume`; ``tests/worker/test_faust_fingerprints.py`` pins faust's
    versions, so an upgrade re-checks them.
    """

    # faust private: Recovery._seek_offsets seeks the changelog partitions where faust's
    # recovery starts reading; for the actives it runs after their highwaters and persisted
    # offsets are known, before faust reads a record; for the standbys after the actives
    # are restored, before faust asks their highwaters and resumes them
    async def _seek_offsets(
        self, consumer: Any, tps: set[TP], offsets: Counter[TP], title: str
    ) -> None:
        """Bulk-restore the changelog partitions (:mod:`~streams.worker.eos.restore`) up to
        their highwaters, then let faust seek where the restore got to: faust's recovery
        reads only what was committed after it. Actives first (faust has their
        highwaters), then standbys (asked here): faust would read a standby record by
        record in the background, minutes at a million customers, while the partition's
        takeover copy is behind and its records compete with the streams for the CPU."""
        if title == "active":
            await self._bulk_restore(tps, offsets, self.active_highwaters, title)
        elif title == "standby" and tps:
            ends = await consumer.highwaters(*tps)  # the offset after the last committed
            highs = {tp: end - 1 for tp, end in ends.items() if end is not None}
            await self._bulk_restore(tps, offsets, highs, title)
        await super()._seek_offsets(consumer, tps, offsets, title)

    async def _bulk_restore(
        self, tps: set[TP], offsets: Counter[TP], highwaters: Mapping[TP, int], title: str
    ) -> None:
        ranges: dict[TP, tuple[int, int]] = {}
        targets: dict[TP, Any] = {}
        for tp in tps:
            table: Any = self.tp_to_table[tp]
            store = table.data
            high = highwaters.get(tp)
            persisted = offsets.get(tp)
            start = 0 if persisted is None or persisted < 0 else persisted + 1
            if isinstance(store, RocksDBStore) and high is not None and high >= start:
                ranges[tp], targets[tp] = (start, high + 1), store
        if not ranges:
            return
        progress = progress_of(self.app)
        deadline = progress.clock() + BULK_SHARE * self.app.conf.broker_request_timeout
        reader = reader_for(self.app)
        await reader.start()
        try:
            reached = await restore(reader, ranges, targets, progress, deadline, title)
        finally:
            await _stop(reader)
        for tp, offset in reached.items():
            offsets[tp] = offset  # faust's recovery goes on from there

    async def _seek_then_resume(self, generation_id: int) -> bool:
        """Seek the stream partitions while paused, then resume them and the fetcher;
        ``False`` when another rebalance started meanwhile."""
        app = self.app
        consumer = app.consumer
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning("Recovery rebalancing again")
            return False
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
            if app.consumer_generation_id != generation_id:
                self.log.warning("Recovery rebalancing again")
                return False
            consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        else:
            self.log.info("Resuming streams with empty assignment")
        self.completed.set()
        app.flow_control.resume()
        consumer.resume_flow()
        await cast(App, app)._fetcher.maybe_start()  # noqa: SLF001  faust's fetch loop, as faust's own recovery starts it
        return True

    # faust private: Recovery._resume_streams ends a rebalance with no table to restore
    async def _resume_streams(self, generation_id: int = 0) -> None:
        await self.app.on_rebalance_complete.send()
        if await self._seek_then_resume(generation_id):
            self.tables.on_actives_ready()
            self.tables.on_standbys_ready()
            self.app.on_rebalance_end()
            self.log.info("Worker ready")

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        if await self._seek_then_resume(generation_id):
            self.tables.on_actives_ready()
            if not self.app.assignor.assigned_standbys():
                self.tables.on_standbys_ready()
            self.app.on_rebalance_end()
            self.log.info("Worker ready")


class SeekFirstTableManager(TableManager):
    """faust's table manager, with :class:`SeekFirstRecovery`."""

    @property
    def recovery(self) -> Recovery:
        # faust private: TableManager._recovery holds the one Recovery, created on first use
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
