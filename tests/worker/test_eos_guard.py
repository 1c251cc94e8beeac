"""The commit's offsets come from the events the agents finished, read under the lock
(streams/EXACTLY_ONCE.md finding 10)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TP

from streams.worker.eos import Guard

A0, A1, B0 = TP("a", 0), TP("a", 1), TP("b", 0)


@dataclass
class Message:
    tp: TP
    offset: int


@dataclass
class Event:
    message: Message
    acked: list[bool] = field(default_factory=list)

    def ack(self) -> None:
        self.acked.append(True)


def test_finish_acks_the_event_and_records_the_offset_after_it() -> None:
    guard = Guard()
    event = Event(Message(A0, 41))
    guard.finish(event)
    assert event.acked == [True]
    assert guard.to_commit({A0, A1}) == {A0: 42}


def test_to_commit_gives_only_what_advanced_since_the_last_commit() -> None:
    guard = Guard()
    guard.finish(Event(Message(A0, 4)))
    guard.finish(Event(Message(A1, 9)))
    guard.committed.update(guard.to_commit({A0, A1}))
    assert guard.to_commit({A0, A1}) == {}
    guard.finish(Event(Message(A1, 10)))
    assert guard.to_commit({A0, A1}) == {A1: 11}


def test_to_commit_leaves_out_partitions_not_assigned() -> None:
    guard = Guard()
    guard.finish(Event(Message(A0, 4)))
    guard.finish(Event(Message(B0, 7)))
    assert guard.to_commit({B0}) == {B0: 8}


def test_a_rebalance_forgets_partitions_that_moved_away() -> None:
    guard = Guard()
    guard.finish(Event(Message(A0, 4)))
    guard.finish(Event(Message(A1, 5)))
    guard.committed.update(guard.to_commit({A0, A1}))
    guard.keep_only({A1})
    assert guard.finished == {A1: 6} and guard.committed == {A1: 6}
    # back here later, from a lower committed offset: nothing stale is committed
    guard.keep_only({A0, A1})
    assert guard.to_commit({A0, A1}) == {}


def test_events_seen_again_after_a_seek_never_move_the_commit_back() -> None:
    guard = Guard()
    for offset in range(10, 20):
        guard.finish(Event(Message(A0, offset)))
    assert guard.to_commit({A0}) == {A0: 20}
    guard.finish(Event(Message(A0, 12)))  # a rebalance kept A0 here; faust sought it back
    assert guard.to_commit({A0}) == {A0: 20}
    guard.finish(Event(Message(A0, 20)))
    assert guard.to_commit({A0}) == {A0: 21}
