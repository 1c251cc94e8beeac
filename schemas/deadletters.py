"""Dead letters: rejected input kept losslessly, with the reason and where it came from."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.events import UtcDatetime

DEADLETTER_SCHEMA_VERSION: Final = 1


class RejectReason(StrEnum):
    """Why an input message (or one item of a batch) was not accepted."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_LARGE = "too_large"
    UNKNOWN_FORMAT = "unknown_format"
    UNSUPPORTED_SEGMENT_TYPE = "unsupported_segment_type"
    MISSING_EVENT_ID = "missing_event_id"
    MISSING_IDENTITY = "missing_identity"
    INVALID_TIMESTAMP = "invalid_timestamp"
    NAIVE_TIMESTAMP = "naive_timestamp"
    SCHEMA_VIOLATION = "schema_violation"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
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
    both carry the whole original payload and differ by ``item_index``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = DEADLETTER_SCHEMA_VERSION
    reason: RejectReason
    message: str = Field(description="Field path and what is wrong with it")
    item_index: int | None = Field(
        default=None, ge=0, description="Index of the bad item in a Segment batch envelope"
    )
    payload_b64: str = Field(description="The original message value, base64 (RFC 4648)")
    payload_size: int = Field(ge=0, description="Length of the original value in bytes")
    key_b64: str | None = Field(default=None, description="The original key, base64")
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
        """The original message value, byte for byte."""
        return base64.b64decode(self.payload_b64)

    def key(self) -> bytes | None:
        """The original message key, byte for byte."""
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
    """The dead letter for ``raw`` rejected as ``rejection`` (``seen_at`` must be aware)."""
    key_bytes = key.encode() if isinstance(key, str) else key
    return DeadLetter(
        reason=rejection.reason,
        message=rejection.message,
        item_index=rejection.item_index,
        payload_b64=_b64(raw),
        payload_size=len(raw),
        key_b64=None if key_bytes is None else _b64(key_bytes),
        topic=topic,
        partition=partition,
        offset=offset,
        seen_at=seen_at,
    )
