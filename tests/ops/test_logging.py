"""Structured logs: JSON lines, configurable level, no event properties or traits."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from schemas.events import TouchpointEvent
from streams.ops.logs import logging_config, safe_event

SECRET = "jane@example.com"


@pytest.fixture
def event() -> TouchpointEvent:
    return TouchpointEvent(
        event_id="e-1", customer_id="c-1", type="Order Completed",
        event_time="2026-03-01T12:00:00Z", properties={"email": SECRET, "total": 12},
        traits={"name": "Jane", "phone": SECRET},
    )  # fmt: skip


@pytest.fixture
def capture() -> Iterator[io.StringIO]:
    """Applies a config, then points its handler at a buffer; restores logging after."""
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


def _configure(buffer: io.StringIO, level: str, fmt: str) -> logging.Logger:
    logging.config.dictConfig(logging_config(level, fmt))  # type: ignore[arg-type]
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    return logging.getLogger("journeys.test")


def test_json_lines_with_extras_and_no_payload(
    capture: io.StringIO, event: TouchpointEvent
) -> None:
    log = _configure(capture, "info", "json")
    log.info("processed %s", event, extra={"event": event, "traits": {"x": SECRET}, "n": 2})
    log.debug("hidden at info")
    lines = capture.getvalue().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["level"] == "info"
    assert doc["logger"] == "journeys.test"
    assert doc["n"] == 2
    assert doc["event"] == {
        "event_id": "e-1", "type": "order_completed", "customer_id": "c-1",
        "event_time": "2026-03-01T12:00:00+00:00", "source": "api",
    }  # fmt: skip
    assert "traits" not in doc
    assert SECRET not in lines[0]
    assert "Jane" not in lines[0]


def test_nested_payload_keys_are_dropped(capture: io.StringIO) -> None:
    log = _configure(capture, "debug", "json")
    log.debug("raw", extra={"message_value": {"type": "x", "properties": {"email": SECRET}}})
    doc = json.loads(capture.getvalue())
    assert doc["message_value"] == {"type": "x"}


def test_exceptions_are_one_json_line(capture: io.StringIO) -> None:
    log = _configure(capture, "warning", "json")
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    (line,) = capture.getvalue().splitlines()
    doc = json.loads(line)
    assert doc["level"] == "error"
    assert "ValueError: bad" in doc["exc"]


def test_text_format_redacts_too(capture: io.StringIO, event: TouchpointEvent) -> None:
    log = _configure(capture, "INFO", "text")
    log.info("processed %s", event)
    text = capture.getvalue()
    assert "INFO journeys.test: processed {'event_id': 'e-1'" in text
    assert SECRET not in text


def test_safe_event_keeps_no_payload(event: TouchpointEvent) -> None:
    assert set(safe_event(event)) == {"event_id", "type", "customer_id", "event_time", "source"}


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        logging_config("chatty", "json")
