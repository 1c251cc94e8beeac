"""The redaction filter must never raise, whatever a library passes as log arguments."""

from __future__ import annotations

import logging
from typing import NamedTuple

from aiokafka.structs import TopicPartition

from streams.ops.logs import RedactFilter


class Odd(NamedTuple):
    a: int
    b: int


def _record(*args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.WARNING, __file__, 1, "msg %s %s", args, None)


def test_named_tuples_in_arguments_are_kept_as_they_are() -> None:
    tp = TopicPartition("topic", 3)
    record = _record(tp, {tp: 1})
    assert RedactFilter().filter(record) is True
    assert record.getMessage() == f"msg {tp} {{{tp!r}: 1}}"
    assert record.args is not None and record.args[0] is tp


def test_a_failure_inside_the_filter_withholds_arguments_instead_of_raising() -> None:
    class Boom(dict[str, int]):
        def items(self):  # type: ignore[override]
            raise RuntimeError("boom")

    record = _record(Boom(a=1), Odd(1, 2))
    assert RedactFilter().filter(record) is True
    assert record.args == ()
    assert "arguments withheld" in record.getMessage()
