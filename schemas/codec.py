"""The one JSON codec of the processor (orjson), used for every Kafka value and key.

Rules:

* A pydantic model is written as ``model.model_dump(mode="json")``: field names as declared,
  ``None`` fields included, so consumers see every field of the schema.
* Datetimes are RFC 3339 in UTC with a ``Z`` suffix and microseconds when non-zero
  (``2026-11-02T09:15:00Z``, ``2026-11-02T09:15:00.250000Z``), in models and in plain
  objects alike. A naive datetime in a plain object is refused (``TypeError``): our
  contracts carry instants, never wall-clock times.
* ``Decimal`` is written as a JSON string (``"59.90"``), never as a float, so no precision
  is lost; see :mod:`schemas.money` for the money rule.
* :func:`loads` returns plain JSON values (dict, list, str, int, float, bool, None); the
  caller validates them with the model it expects.

faust registration lives in ``streams`` (a ``faust.Codec`` subclass calling these two
functions); this package never imports faust.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = ["dumps", "isoformat_utc", "loads"]

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def isoformat_utc(value: datetime) -> str:
    """``value`` as RFC 3339 UTC with ``Z``; refuses naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"naive datetime {value.isoformat()} cannot be encoded")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, frozenset | set):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: BaseModel | Any) -> bytes:
    """``value`` (a pydantic model or plain data) as compact UTF-8 JSON bytes.

    Raises ``TypeError`` for what JSON cannot carry (naive datetimes, arbitrary objects).
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:  # surface our own reason (e.g. a naive datetime)
        if isinstance(exc.__cause__, TypeError):
            raise exc.__cause__ from None
        raise


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Plain JSON values from ``data``; raises ``orjson.JSONDecodeError`` (a ValueError)."""
    return orjson.loads(data)
