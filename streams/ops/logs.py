"""Logging of a worker: plain text or one JSON object per line, level configurable.

Event properties and traits are never logged: :class:`RedactFilter` (installed on the
handler by :func:`logging_config`) replaces any touchpoint event passed as a log
argument or ``extra`` value by :func:`safe_event`, and drops ``properties`` and
``traits`` keys from ``extra`` mappings. Log an event with
``log.info("processed", extra={"event": safe_event(event)})`` or simply
``extra={"event": event}``.

Secrets are never logged either: Kafka clients log every request at debug level, and a
SASL/PLAIN authentication request carries the password. Both formatters take the
process's secrets (``logging_config(..., secrets=[...])``, the worker passes its SASL and
key passwords) and replace them, in any spelling a log line can show (plain, ``repr``,
bytes ``repr``), by ``**********`` in the finished line, tracebacks included.

An outage must not flood the log: aiokafka logs every failed reconnect, fetch and
heartbeat (measured: about 80 lines a second with the broker down). :class:`RepeatFilter`
lets the first warning or error of each kind from the Kafka and faust libraries through,
holds back the same kind for ``interval_s`` and then logs it once more with the number
held back; a kind is its logger, level and message with the numbers (and hexadecimal
addresses) taken out.

:func:`logging_config` returns a ``logging.config.dictConfig`` dictionary; pass it to
faust's worker (``faust.Worker(app, logging_config=...)``), which applies it in
place of its own colour logging, or call :func:`configure_logging` outside faust.
"""

from __future__ import annotations

import logging
import logging.config
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

__all__ = [
    "MASK",
    "REDACTED_KEYS",
    "REPEAT_LOGGERS",
    "JsonFormatter",
    "LogFormat",
    "RedactFilter",
    "RepeatFilter",
    "TextFormatter",
    "configure_logging",
    "logging_config",
    "mask_secrets",
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

MASK = "**********"
# Libraries whose repeated warnings and errors are held back (an outage repeats them).
REPEAT_LOGGERS = ("aiokafka", "kafka", "faust", "mode")
REPEAT_INTERVAL_S = 30.0
_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+")  # ids, ports, counts, addresses


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


@dataclass(slots=True)
class _Held:
    """One kind of message: when its current window began, how many were held back."""

    since: float
    held: int = 0


class RepeatFilter(logging.Filter):
    """Lets one warning or error of each kind from ``loggers`` through per ``interval_s``.

    The first of a kind is logged as is; the same kind within ``interval_s`` is held back
    and counted; the first one after the interval is logged with the count appended and
    starts a new interval. Debug and info records, and other loggers, pass untouched.
    """

    def __init__(
        self,
        interval_s: float = REPEAT_INTERVAL_S,
        loggers: Iterable[str] = REPEAT_LOGGERS,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1000,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._prefixes = tuple(loggers)
        self._clock = clock
        self._max_kinds = max_kinds
        self._kinds: dict[tuple[str, int, str], _Held] = {}
        self._lock = threading.Lock()

    def _watched(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self._prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not self._watched(record.name):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the formatter's problem, not ours
            return True
        kind = (record.name, record.levelno, _NUMBERS.sub("#", message))
        now = self._clock()
        with self._lock:
            held = self._kinds.get(kind)
            if held is None or now - held.since >= self.interval_s:
                self._remember(kind, now)
                if held is not None and held.held:
                    record.msg = (
                        f"{message} [{held.held} more like this in the last "
                        f"{now - held.since:.0f} s]"
                    )
                    record.args = ()
                return True
            held.held += 1
            return False

    def _remember(self, kind: tuple[str, int, str], now: float) -> None:
        self._kinds.pop(kind, None)
        if len(self._kinds) >= self._max_kinds:  # forget the oldest kind (insertion order)
            del self._kinds[next(iter(self._kinds))]
        self._kinds[kind] = _Held(now)


def _spellings(secrets: Iterable[str]) -> tuple[str, ...]:
    """Each secret as a log line may show it: as is, inside a ``repr`` (either quote
    escaped) or a bytes ``repr``, and each of those JSON-escaped (the JSON formatter)."""
    found: set[str] = set()
    for secret in filter(None, secrets):
        forms = {secret, repr(secret)[1:-1], repr(secret.encode())[2:-1]}
        bare = {f.replace("\\'", "'").replace('\\"', '"') for f in forms}
        quoted = (
            bare | {f.replace("'", "\\'") for f in bare} | {f.replace('"', '\\"') for f in bare}
        )
        found |= quoted | {orjson.dumps(f).decode()[1:-1] for f in quoted}
    return tuple(sorted(found, key=len, reverse=True))  # longest first: no partial leftovers


def mask_secrets(line: str, spellings: tuple[str, ...]) -> str:
    """``line`` with every spelling of a secret replaced by :data:`MASK`."""
    for spelling in spellings:
        if spelling in line:
            line = line.replace(spelling, MASK)
    return line


class TextFormatter(logging.Formatter):
    """The plain text line, with the secrets masked."""

    def __init__(
        self, fmt: str | None = None, datefmt: str | None = None, secrets: Iterable[str] = ()
    ) -> None:
        super().__init__(fmt, datefmt)
        self._spellings = _spellings(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record), self._spellings)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extras, exc; secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._spellings = _spellings(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(self._format(record), self._spellings)

    def _format(self, record: logging.LogRecord) -> str:
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


def logging_config(
    level: str | int = "info", fmt: LogFormat = "text", secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """A ``dictConfig`` dictionary: root logger at ``level`` to stderr, ``fmt`` lines,
    repeats of library warnings held back, events redacted, ``secrets`` masked."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"()": f"{__name__}.TextFormatter", "fmt": _TEXT_FORMAT}
    )
    formatter["secrets"] = [s for s in secrets if s]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "repeats": {"()": f"{__name__}.RepeatFilter"},
            "redact": {"()": f"{__name__}.RedactFilter"},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["repeats", "redact"],
            }
        },
        "root": {"level": _level(level), "handlers": ["default"]},
    }


def configure_logging(
    level: str | int = "info", fmt: LogFormat = "text", secrets: Iterable[str] = ()
) -> None:
    """Apply :func:`logging_config` to the process."""
    logging.config.dictConfig(logging_config(level, fmt, secrets))
