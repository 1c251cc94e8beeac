"""The pure multi-key replayer: the worker's engine calls over a sequence of events.

Replay (``journeys replay``), diff (``journeys diff``) and the report (``journeys
report``) drive this one :class:`Replayer`; the live oracle tests check it against the
worker, trigger id for trigger id. It keeps one state per key and calls
:mod:`journeys.driver` the way the worker's journey agent does: ``on_event`` per event in
partition order, the identity links and merges, fan-out, erasures
(:mod:`journeys.erasures`) and, with a :class:`~journeys.clock.PartitionClock`, the
wake-ups of every customer at its partition's time less the timer grace. Pure, like the
rest of :mod:`journeys`: no Kafka, no clock, no I/O; what it returns (:class:`Step`) is
turned into records by ``streams.replay.timeline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from journeys import driver, fanout
from journeys.clock import PartitionClock
from journeys.definition import Journey
from journeys.erasures import Erasures
from journeys.fanout import FanoutIndex
from journeys.outcome import Outcome
from journeys.state import CustomerState
from schemas.deadletters import MESSAGE_LIMIT, RejectReason, failure
from schemas.events import TouchpointEvent

__all__ = ["MESSAGE_LIMIT", "PROCESSING_ERROR", "Replayer", "Step", "Tick", "failure"]

PROCESSING_ERROR = str(RejectReason.PROCESSING_ERROR)


@dataclass(frozen=True, slots=True)
class Tick:
    """Another key's event read from the partition of ``key`` (the key replayed): it
    moves that partition's time (and wakes who is due), as it did in the worker, without
    being replayed itself (a one-customer replay from Kafka)."""

    key: str
    event: TouchpointEvent


@dataclass(frozen=True, slots=True)
class Step:
    """One event through every definition: its combined status and each journey's outcome.

    ``error``: the engine raised (status ``processing_error``, no outcomes): the exception
    class and its bounded message. ``forwarded``: the key the event was read for, linked
    to the event's customer (the event as that customer processes it,
    ``driver.forwarded``).

    Two more kinds of step follow an event that links a key to its customer (``event``
    is that linking event): ``kind="wake"``, the linked key's timers due by then
    (``key``: the linked key), and ``kind="merge"``, the merge step (``key``: the
    customer; ``merged``: the linked key). A ``wake`` step also follows an event that
    moved its partition's time (``event``: that event, any key's; ``key``: the key
    woken; ``at``: the time it was woken at)."""

    event: TouchpointEvent
    status: str
    outcomes: list[tuple[str, Outcome]]
    derived: bool = False
    error: str | None = None
    kind: Literal["event", "wake", "merge"] = "event"
    key: str | None = None
    merged: str | None = None
    forwarded: str | None = None
    at: datetime | None = None

    @property
    def customer(self) -> str:
        """The key whose states the step changed."""
        return self.event.key if self.key is None else self.key


class Replayer:
    """Per-key journey states, driven by the same :mod:`journeys.driver` calls as the
    worker's journey agent.

    * each event goes through every definition (``driver.on_event``); the combined status
      is the first one that is not ``duplicate``;
    * identity links (the worker's link table, :mod:`streams.worker.links`): after a
      processed event that links a key to its customer (``driver.link_of``: an anonymous
      id, an alias's previous id), that key is linked to the customer at once, its
      timers due by the event's time fire (a ``wake`` step), and its states are merged
      into the customer's (``driver.on_merge``, a ``merge`` step). A key is linked once
      (the first link wins). An event read later for a linked key is the customer's
      (``driver.forwarded``), following chains (a customer aliased to another) to the
      final customer. The worker does the same through its ``MergeRequest`` and
      ``MergeState`` messages, so it lands later there: see ``journeys/README.md``
      ("Replay and live") for exactly where the two can differ;
    * with ``fanout`` (input not read from the keyed topic, where the worker already wrote
      the derived events), subscribing and publishing events go through the same
      ``journeys.fanout.subscribe``/``publish`` as in the worker (event-time rule:
      subscribers since at or before a publication get it, whichever comes first in the
      input); the events they derive are stepped right after the event;
    * with ``clock`` (:class:`journeys.clock.PartitionClock`), time moves as in the
      worker: every event moves its key's partition's watermark, and the partition's keys
      due by the watermark less the timer grace are woken right after it (``wake``
      steps), so a timer fires before a customer's own event delayed longer than the
      grace exactly as it did live; without it, a key's timers fire only before its own
      next event and at ``advance``;
    * ``advance`` wakes every key whose ``next_due`` is at or before the time given
      (``driver.on_time``);
    * an engine call that raises leaves the key's states as they were: a step of status
      ``processing_error`` (events) or an entry in ``errors`` (wake-ups), and replay goes
      on with the next event or key.
    """

    def __init__(
        self,
        definitions: Sequence[Journey],
        *,
        fanout: bool = True,
        suppress_days: float = 0.0,
        clock: PartitionClock | None = None,
    ) -> None:
        self.definitions = list(definitions)
        self.fanout = fanout
        self.clock = clock
        self.erasures = Erasures(suppress_days)  # erasures in the input, as the worker's
        self.states: dict[str, dict[str, CustomerState]] = {}
        self.index: dict[str, FanoutIndex] = {}
        self.links: dict[str, str] = {}  # linked key -> the customer it was linked to
        self.errors: list[tuple[str, str]] = []  # (key, failure) of wake-ups that raised

    def event(self, event: TouchpointEvent) -> list[Step]:
        if self.erasures.drops(event):  # an erased id's, within its suppression period
            return [Step(event, "erased", [])]
        read_for = event.key
        key = self.customer_of(read_for)
        if key != read_for:
            event = driver.forwarded(event, key)
        forwarded = read_for if key != read_for else None
        try:
            done = driver.on_event(self.definitions, self.states.get(key, {}), event)
        except Exception as exc:  # a defect: dead-lettered as the worker does, replay goes on
            return [Step(event, PROCESSING_ERROR, [], error=failure(exc), forwarded=forwarded)]
        self.states[key] = done.states
        steps = [Step(event, done.status, done.outcomes, forwarded=forwarded)]
        if done.status == "processed":
            try:
                steps.extend(self._link(key, event))
            except Exception as exc:  # the event itself was applied; its merge was not
                steps.append(Step(event, PROCESSING_ERROR, [], error=failure(exc)))
            if self.fanout:
                steps.extend(self._fanout(event))
        if self.clock is not None:
            self.clock.schedule(key, driver.due(self.states[key]))
            steps.extend(self._wake(self.clock.observe(key, event.event_time), event))
        return steps

    def tick(self, tick: Tick) -> list[Step]:
        """Another key's event moved the time of ``tick.key``'s partition: wake who is
        due there."""
        if self.clock is None:
            return []
        partition = self.clock.partition_of(tick.key)
        self.clock.tick(partition, tick.event.event_time)
        return self._wake(partition, tick.event)

    def _wake(self, partition: int, cause: TouchpointEvent) -> list[Step]:
        """Wake the keys of ``partition`` due by its fire time (the worker's inline timers)."""
        assert self.clock is not None
        at, woken = self.clock.pop_due(partition)
        steps: list[Step] = []
        for key in woken:
            states = self.states.get(key)
            if not states or at is None:
                continue
            try:
                done = driver.on_time(self.definitions, states, at)
            except Exception as exc:  # a defect: reported, the other keys go on
                self.errors.append((key, failure(exc)))
                continue
            self.states[key] = done.states
            self.clock.schedule(key, driver.due(done.states))
            if done.outcomes:
                steps.append(Step(cause, "processed", done.outcomes, kind="wake", key=key, at=at))
        return steps

    def customer_of(self, key: str) -> str:
        """The final customer of ``key``: along its links (itself when not linked)."""
        seen = {key}
        while (target := self.links.get(key)) is not None and target not in seen:
            seen.add(target)
            key = target
        return key

    def _link(self, key: str, event: TouchpointEvent) -> list[Step]:
        """Link the key ``event`` names to ``key`` (its customer, final) and merge it."""
        linked = driver.link_of(event)
        if linked is None or linked in self.links:
            return []  # no link, or linked already (the first link wins)
        self.links[linked] = key
        others = self.states.pop(linked, None)
        if self.clock is not None:
            self.clock.schedule(linked, None)
        if not others:
            return []
        at = event.event_time
        woken = driver.on_time(self.definitions, others, at)
        steps = [Step(event, "processed", woken.outcomes, kind="wake", key=linked)]
        merged = driver.on_merge(
            self.definitions, key, self.states[key], woken.states, at, event.event_id
        )
        self.states[key] = merged.states
        steps.append(
            Step(event, "processed", merged.outcomes, kind="merge", key=key, merged=linked)
        )
        return steps

    def _fanout(self, event: TouchpointEvent) -> list[Step]:
        steps: list[Step] = []
        for one in fanout.derive(self.index, self.definitions, event):
            steps.extend(replace(s, derived=True) for s in self.event(one))
        return steps

    def advance(
        self, until: datetime, keys: Iterable[str] | None = None
    ) -> Iterator[tuple[str, str, Outcome]]:
        """Fire what is due at or before ``until`` (for ``keys``, default all), keys sorted.

        Yields ``(key, journey, outcome)``; a key whose wake-up raised is left as it was
        and listed in ``errors``.
        """
        for key in sorted(self.states if keys is None else set(keys) & self.states.keys()):
            try:
                done = driver.on_time(self.definitions, self.states[key], until)
            except Exception as exc:  # a defect: reported, the other keys go on
                self.errors.append((key, failure(exc)))
                continue
            self.states[key] = done.states
            for name, outcome in done.outcomes:
                yield key, name, outcome
