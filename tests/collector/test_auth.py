"""Write keys: HTTP Basic as the SDKs send it, secrets compared, nothing else accepted."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from streams.collector.auth import WriteKeys, basic_user


def header(credentials: str, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(credentials.encode()).decode()}"


def test_the_user_name_is_the_key_and_a_password_is_ignored() -> None:
    assert basic_user(header("k1:")) == b"k1"
    assert basic_user(header("k1:anything")) == b"k1"
    assert basic_user(header("k1:", scheme="basic")) == b"k1"


@pytest.mark.parametrize(
    "value",
    [None, "", "Basic", "Bearer abc", "Basic !!!not-base64", header(":password"), header("")],
)
def test_anything_else_has_no_user(value: str | None) -> None:
    assert basic_user(value) is None


def test_only_configured_keys_are_allowed() -> None:
    keys = WriteKeys([SecretStr("k1"), SecretStr("k2"), SecretStr("")])
    assert len(keys) == 2
    assert keys.allows(header("k1:")) and keys.allows(header("k2:"))
    assert not keys.allows(header("k3:"))
    assert not keys.allows(header("k1x:"))
    assert not keys.allows(None)
    assert not WriteKeys([]).allows(header(":"))
