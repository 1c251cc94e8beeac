"""An outage is logged once per kind and interval, with a count, not once per reconnect."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator

import pytest

from streams.ops.logs import RepeatFilter, logging_config

REFUSED = "Unable connect to node with id %s: %s"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(
    message: str = REFUSED,
    *args: object,
    name: str = "aiokafka",
    level: int = logging.ERROR,
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args or None, None)


def _refused(node: int = 1) -> logging.LogRecord:
    return _record(REFUSED, node, f"[Errno 111] Connect call failed ('127.0.0.1', 9{node}092)")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repeats(clock: Clock) -> RepeatFilter:
    return RepeatFilter(interval_s=30.0, clock=clock)


def test_first_of_a_kind_passes_repeats_are_held_then_counted(
    repeats: RepeatFilter, clock: Clock
) -> None:
    assert repeats.filter(_refused())
    for _ in range(800):  # ten seconds of an outage, measured: ~80 lines a second
        clock.now += 0.0125
        assert not repeats.filter(_refused())
    clock.now += 30.0
    summary = _refused()
    assert repeats.filter(summary)
    assert summary.getMessage().endswith("[800 more like this in the last 40 s]")
    assert "Connect call failed" in summary.getMessage()
    clock.now += 1.0
    assert not repeats.filter(_refused())  # a new interval began with the summary


def test_numbers_do_not_make_a_new_kind(repeats: RepeatFilter) -> None:
    assert repeats.filter(_refused(1))
    assert not repeats.filter(_refused(2))  # other node, other port: the same outage
    assert repeats.filter(_record("lost %r", "<Conn at 0x7f3a9c2b1d60>"))
    assert not repeats.filter(_record("lost %r", "<Conn at 0x7f3a9c2b4e10>"))


def test_kinds_are_per_logger_level_and_message(repeats: RepeatFilter) -> None:
    assert repeats.filter(_refused())
    assert repeats.filter(_record("Unable to update metadata from [%s]", 1))
    assert repeats.filter(_record(REFUSED, 1, "x", name="aiokafka.consumer.fetcher"))
    assert repeats.filter(_record(REFUSED, 1, "x", level=logging.WARNING))


def test_a_quiet_kind_is_logged_plainly_again(repeats: RepeatFilter, clock: Clock) -> None:
    assert repeats.filter(_refused())
    clock.now += 31.0
    again = _refused()
    assert repeats.filter(again)
    assert "more like this" not in again.getMessage()  # nothing was held back


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("aiokafka", logging.INFO),
        ("aiokafka", logging.DEBUG),
        ("streams.worker.main", logging.ERROR),
        ("kafkaesque", logging.ERROR),  # a prefix only counts up to a dot
    ],
)
def test_other_loggers_and_quieter_levels_pass_untouched(
    repeats: RepeatFilter, name: str, level: int
) -> None:
    for _ in range(5):
        assert repeats.filter(_record("same", name=name, level=level))


def test_library_families_are_watched(repeats: RepeatFilter) -> None:
    for name in ("aiokafka.conn", "kafka.net.manager", "faust.worker", "mode.timers"):
        assert repeats.filter(_record("down", name=name))
        assert not repeats.filter(_record("down", name=name))


def test_the_number_of_kinds_is_bounded(clock: Clock) -> None:
    repeats = RepeatFilter(interval_s=30.0, clock=clock, max_kinds=3)
    for word in ("a", "b", "c", "d"):
        assert repeats.filter(_record(word))
    assert repeats.filter(_record("a"))  # forgotten, so logged again
    assert not repeats.filter(_record("d"))


def test_a_record_whose_message_cannot_be_built_passes(repeats: RepeatFilter) -> None:
    broken = _record("%d", "not a number")
    assert repeats.filter(broken)


@pytest.fixture
def buffer() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    out = io.StringIO()
    yield out
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


def test_the_worker_logging_config_holds_repeats_back(buffer: io.StringIO) -> None:
    logging.config.dictConfig(logging_config("debug", "text"))
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    library = logging.getLogger("aiokafka")
    for node in range(200):
        library.error(REFUSED, node % 3, "[Errno 111] Connect call failed")
        library.debug("reconnecting to %s", node)
    lines = buffer.getvalue().splitlines()
    assert sum(" ERROR aiokafka: " in line for line in lines) == 1
    assert sum(" DEBUG aiokafka: " in line for line in lines) == 200
