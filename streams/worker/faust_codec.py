"""The one faust codec for every value this worker writes: orjson via ``schemas.codec``.

Registered once under :data:`CODEC_NAME`; every topic and table of the app uses it for
values (the raw touchpoints topic excepted: it is read as bytes so that nothing can fail
in deserialisation before the journey agent sees it).
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs

from schemas import codec as contract_codec

CODEC_NAME = "journeys-json"


class JsonCodec(codecs.Codec):
    """pydantic models and plain JSON values to orjson bytes, and back to plain values."""

    def _dumps(self, obj: Any) -> bytes:
        return contract_codec.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return contract_codec.loads(s)


def register() -> str:
    """Register the codec with faust (idempotent) and return its name."""
    if not isinstance(codecs.codecs.get(CODEC_NAME), JsonCodec):
        codecs.register(CODEC_NAME, JsonCodec())
    return CODEC_NAME
