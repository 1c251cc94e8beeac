"""Dead letters: rejected input kept, with the reason and where it came from.

A dead letter must itself fit in one Kafka message (our topics keep the broker default
``max.message.bytes``, about 1 MB, and base64 makes the payload a third larger). So it keeps
the original value whole up to :data:`MAX_DEAD_LETTER_PAYLOAD_BYTES` (256 KiB), and of a
larger value only that many leading bytes, with ``payload_truncated`` true; ``payload_size``
and ``payload_sha256`` always describe the whole original, so it can be recognised (and
found again in the input topic by its offset). The key is kept likewise up to
:data:`MAX_DEAD_LETTER_KEY_BYTES` and the message up to :data:`MAX_DEAD_LETTER_MESSAGE_CHARS`.
The largest dead letter is therefore under 400 KB once encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.events import UtcDatetime

DEADLETTER_SCHEMA_VERSION: Final = 1
MAX_DEAD_LETTER_PAYLOAD_BYTES: Final = 256 * 1024
"""Original value bytes a dead letter keeps: half the largest input the decoder accepts
(``schemas.events.MAX_MESSAGE_BYTES``), 342 KiB in base64."""
MAX_DEAD_LETTER_KEY_BYTES: Final = 16 * 1024
"""Original key bytes a dead letter keeps."""
MAX_DEAD_LETTER_MESSAGE_CHARS: Final = 4_000
"""Characters of the rejection message a dead letter keeps."""
MESSAGE_LIMIT: Final = 500
"""Characters of the message that the worker, replay and the tools write for an exception
or a validation error (its text can be long: a pydantic error lists every field)."""


def bounded(message: str) -> str:
    """``message`` cut to :data:`MESSAGE_LIMIT` characters."""
    return message[:MESSAGE_LIMIT]


def failure(exc: BaseException) -> str:
    """An exception as a dead letter's message (``processing_error``): its class, then
    its text, bounded; the worker and replay write it alike."""
    return bounded(f"{type(exc).__name__}: {exc}")


class RejectReason(StrEnum):
    """Why an input message (or one item of a batch) was not accepted."""

    INVALID_ENCODING = "invalid_encoding"  # not UTF-8, so not JSON text at all
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_LARGE = "too_large"
    UNKNOWN_FORMAT = "unknown_format"
    UNSUPPORTED_SEGMENT_TYPE = "unsupported_segment_type"
    MISSING_EVENT_ID = "missing_event_id"
    MISSING_IDENTITY = "missing_identity"
    INVALID_TIMESTAMP = "invalid_timestamp"
    NAIVE_TIMESTAMP = "naive_timestamp"
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"  # see schemas.events, "Time range"
    SCHEMA_VIOLATION = "schema_violation"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    FUTURE_TIMESTAMP = "future_timestamp"  # event time beyond the record time + the allowed skew
    TOO_LATE = "too_late"  # older than its journeys' allowed lateness: it would change nothing
    PROCESSING_ERROR = "processing_error"  # valid input the worker failed on (a defect)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected message or batch item.

    ``message`` names the field path and the problem, e.g.
    ``event_time: Input should have timezone info``; ``item_index`` is the position in a
    Segment ``batch`` envelope, None for a single message.
    """

    reason: RejectReason
    message: str
    item_index: int | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class DeadLetter(BaseModel):
    """A rejected input message (schema version 1), as written to the dead-letter topic.

    One dead letter per rejection: a batch with two bad items gives two dead letters that
    both carry the original payload and differ by ``item_index``. A payload larger than
    256 KiB (``MAX_DEAD_LETTER_PAYLOAD_BYTES``) is kept as its first 256 KiB only
    (``payload_truncated``), a key larger than 16 KiB likewise (``key_truncated``);
    ``payload_size`` and ``payload_sha256`` are the whole original's. Dead letters written
    before these fields existed have no ``payload_sha256`` and were never truncated.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = DEADLETTER_SCHEMA_VERSION
    reason: RejectReason
    message: str = Field(description="Field path and what is wrong with it")
    item_index: int | None = Field(
        default=None, ge=0, description="Index of the bad item in a Segment batch envelope"
    )
    payload_b64: str = Field(
        description="The original message value, base64 (RFC 4648); only its first "
        f"{MAX_DEAD_LETTER_PAYLOAD_BYTES} bytes when payload_truncated"
    )
    payload_size: int = Field(ge=0, description="Length of the whole original value in bytes")
    payload_truncated: bool = Field(
        default=False, description="Whether payload_b64 holds only the first bytes of the value"
    )
    payload_sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{64}$",
        description="SHA-256 of the whole original value, lower-case hex",
    )
    key_b64: str | None = Field(
        default=None,
        description="The original key, base64; only its first "
        f"{MAX_DEAD_LETTER_KEY_BYTES} bytes when key_truncated",
    )
    key_size: int | None = Field(
        default=None, ge=0, description="Length of the whole original key in bytes"
    )
    key_truncated: bool = Field(
        default=False, description="Whether key_b64 holds only the first bytes of the key"
    )
    topic: str | None = Field(default=None, description="Topic the input was read from")
    partition: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0)
    seen_at: UtcDatetime = Field(description="When the processor rejected it")

    @field_validator("payload_b64", "key_b64")
    @classmethod
    def _is_base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("not valid base64") from exc
        return value

    def payload(self) -> bytes:
        """The original message value, byte for byte (its prefix when truncated)."""
        return base64.b64decode(self.payload_b64)

    def key(self) -> bytes | None:
        """The original message key, byte for byte (its prefix when truncated)."""
        return None if self.key_b64 is None else base64.b64decode(self.key_b64)


def dead_letter(
    raw: bytes,
    rejection: Rejection,
    *,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    key: bytes | str | None,
    seen_at: datetime,
) -> DeadLetter:
    """The dead letter for ``raw`` rejected as ``rejection`` (``seen_at`` must be aware).

    Large values, keys and messages are cut to the bounds in the module docstring."""
    key_bytes = key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key
    message = rejection.message
    if len(message) > MAX_DEAD_LETTER_MESSAGE_CHARS:
        message = message[: MAX_DEAD_LETTER_MESSAGE_CHARS - 1] + "\u2026"
    return DeadLetter(
        reason=rejection.reason,
        message=message,
        item_index=rejection.item_index,
        payload_b64=_b64(raw[:MAX_DEAD_LETTER_PAYLOAD_BYTES]),
        payload_size=len(raw),
        payload_truncated=len(raw) > MAX_DEAD_LETTER_PAYLOAD_BYTES,
        payload_sha256=hashlib.sha256(raw).hexdigest(),
        key_b64=None if key_bytes is None else _b64(key_bytes[:MAX_DEAD_LETTER_KEY_BYTES]),
        key_size=None if key_bytes is None else len(key_bytes),
        key_truncated=key_bytes is not None and len(key_bytes) > MAX_DEAD_LETTER_KEY_BYTES,
        topic=topic,
        partition=partition,
        offset=offset,
        seen_at=seen_at,
    )
