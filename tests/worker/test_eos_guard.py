"""The commit's offsets come from the events the agents finished, read under the lock
(streams/worker/eos/FINDINGS.md finding 10)."""

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


def test_finish_batch_acks_every_event_and_records_each_partitions_highest_offset() -> None:
    guard = Guard()
    batch = [Event(Message(A0, 7)), Event(Message(A1, 3)), Event(Message(A0, 9))]
    batch += [Event(Message(A0, 8)), Event(Message(B0, 0))]
    guard.finish_batch(batch)
    assert [event.acked for event in batch] == [[True]] * 5
    assert guard.finished == {A0: 10, A1: 4, B0: 1}


def test_finish_batch_records_what_finish_one_at_a_time_would() -> None:
    offsets = [(A0, 4), (A1, 2), (A0, 5), (B0, 11), (A0, 3), (A1, 2)]
    one_by_one, batched = Guard(), Guard()
    for tp, offset in offsets:
        one_by_one.finish(Event(Message(tp, offset)))
    batched.finish_batch([Event(Message(tp, offset)) for tp, offset in offsets])
    assert batched.finished == one_by_one.finished


def test_finish_batch_never_moves_the_commit_back() -> None:
    guard = Guard()
    guard.finish_batch([Event(Message(A0, offset)) for offset in range(10, 20)])
    guard.committed.update(guard.to_commit({A0}))
    guard.finish_batch([Event(Message(A0, 12)), Event(Message(A0, 13))])  # seen again
    assert guard.finished == {A0: 20} and guard.to_commit({A0}) == {}


def test_finish_batch_of_nothing_records_nothing() -> None:
    guard = Guard()
    guard.finish_batch([])
    assert guard.finished == {} and guard.to_commit({A0}) == {}


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
