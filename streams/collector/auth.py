"""Write keys: who may send, checked the way the SDKs authenticate.

Segment's and RudderStack's SDKs send HTTP Basic authentication with the write key as the
user name and an empty password (``Authorization: Basic base64("KEY:")``); a password,
when one is sent, is ignored, as Segment does. Segment's Kotlin and Swift SDKs send no
header but end their batch with ``"writeKey": "KEY"``: a request without the header is
judged by that key, once its body is read (and before anything of it is stored).

The accepted keys come from the settings as secrets (``JOURNEYS_COLLECTOR_WRITE_KEYS``):
they are compared in constant time and never logged, and neither is what a client sent.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable

from pydantic import SecretStr

__all__ = ["WriteKeys", "basic_user"]


def basic_user(header: str | None) -> bytes | None:
    """The user name of an ``Authorization: Basic ...`` header, ``None`` for anything else."""
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, _, _password = decoded.partition(b":")
    return user or None


class WriteKeys:
    """The write keys a collector accepts."""

    def __init__(self, keys: Iterable[SecretStr]) -> None:
        self._keys = tuple(k.get_secret_value().encode() for k in keys if k.get_secret_value())

    def __len__(self) -> int:
        return len(self._keys)

    def allows(self, authorization: str | None) -> bool:
        """Whether the ``Authorization`` header carries one of the keys."""
        return self.allows_key(basic_user(authorization))

    def allows_key(self, key: bytes | str | None) -> bool:
        """Whether ``key`` is one of the keys."""
        if not key:
            return False
        user = key.encode() if isinstance(key, str) else key
        found = False
        for key in self._keys:  # every key compared: the time does not tell which matched
            found |= hmac.compare_digest(user, key)
        return found
