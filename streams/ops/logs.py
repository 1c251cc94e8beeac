"""Logging of a worker: plain text or one JSON object per line, level configurable.

Event properties and traits are never logged: :class:`RedactFilter` (installed on the
handler by :func:`logging_config`) replaces any touchpoint event passed as a log
argument or ``extra`` value by :func:`safe_event`, and drops ``properties`` and
``traits`` keys from ``extra`` mappings. Log an event with
``log.info("processed", extra={"event": safe_event(event)})`` or simply
``extra={"event": event}``.

:func:`logging_config` returns a ``logging.config.dictConfig`` dictionary; pass it to
faust's worker (``faust.Worker(app, logging_config=...)``), which applies it in
place of its own colour logging, or call :func:`configure_logging` outside faust.
"""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

__all__ = [
    "REDACTED_KEYS",
    "JsonFormatter",
    "LogFormat",
    "RedactFilter",
    "configure_logging",
    "logging_config",
    "safe_event",
]

LogFormat = Literal["text", "json"]

REDACTED_KEYS = frozenset({"properties", "traits"})
_SAFE_EVENT_FIELDS = (
    "event_id",
    "type",
    "customer_id",
    "anonymous_id",
    "event_time",
    "source",
    "channel",
)
# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _is_event(value: object) -> bool:
    fields = getattr(type(value), "model_fields", None)
    return isinstance(fields, Mapping) and fields.keys() >= REDACTED_KEYS


def safe_event(event: Any) -> dict[str, Any]:
    """The loggable part of a touchpoint event: ids, type, times and source, no payload."""
    out: dict[str, Any] = {}
    for name in _SAFE_EVENT_FIELDS:
        value = getattr(event, name, None)
        if value is not None:
            out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _redact(value: Any, depth: int = 0) -> Any:
    if _is_event(value):
        return safe_event(value)
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {k: _redact(v, depth + 1) for k, v in value.items() if str(k) not in REDACTED_KEYS}
    # Only plain lists and tuples are rebuilt: a named tuple (aiokafka's TopicPartition)
    # cannot be built from one iterable, and it never holds an event.
    if type(value) is list:
        return [_redact(v, depth + 1) for v in value]
    if type(value) is tuple:
        return tuple(_redact(v, depth + 1) for v in value)
    return value


class RedactFilter(logging.Filter):
    """Replaces events in log arguments and ``extra`` by their safe summary."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._redact_record(record)
        except Exception:  # a log filter must never break the code that logs
            record.args = ()
            record.msg = f"{record.msg} [arguments withheld: could not be redacted]"
        return True

    def _redact_record(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = _redact(record.args)
        for key in list(record.__dict__):
            if key in _RECORD_ATTRS:
                continue
            if key in REDACTED_KEYS:
                del record.__dict__[key]
            else:
                record.__dict__[key] = _redact(record.__dict__[key])


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(doc, default=str).decode()


def _level(level: str | int) -> str:
    if isinstance(level, int):
        return logging.getLevelName(level)
    name = level.strip().upper()
    if name == "WARN":
        name = "WARNING"
    if not isinstance(logging.getLevelName(name), int):
        raise ValueError(f"unknown log level {level!r}")
    return name


def logging_config(level: str | int = "info", fmt: LogFormat = "text") -> dict[str, Any]:
    """A ``dictConfig`` dictionary: root logger at ``level`` to stderr, ``fmt`` lines."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if fmt == "json" else {"format": _TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": f"{__name__}.RedactFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["redact"],
            }
        },
        "root": {"level": _level(level), "handlers": ["default"]},
    }


def configure_logging(level: str | int = "info", fmt: LogFormat = "text") -> None:
    """Apply :func:`logging_config` to the process."""
    logging.config.dictConfig(logging_config(level, fmt))
