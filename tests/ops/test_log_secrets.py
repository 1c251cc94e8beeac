"""No secret in any log line, whatever spelling a library logs it in, at any level.

Measured on a SASL_SSL broker at debug level: kafka-python's admin client logs its whole
configuration, SASL password included, and both Kafka clients log every request, which
for SASL/PLAIN holds ``\\x00user\\x00password``.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from streams.ops.logs import MASK, logging_config, mask_secrets

PASSWORD = "s3cr3t-Canary"
ODD = "pa's\"s\\w\u00f6rd"  # quotes, a backslash and a non-ASCII letter: repr changes them


@pytest.fixture
def buffer() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    out = io.StringIO()
    yield out
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


def _configure(buffer: io.StringIO, fmt: str, secrets: list[str]) -> logging.Logger:
    logging.config.dictConfig(logging_config("debug", fmt, secrets))  # type: ignore[arg-type]
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    return logging.getLogger("kafka.admin.client")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_masked_in_arguments_bytes_extras_and_tracebacks(
    buffer: io.StringIO, fmt: str
) -> None:
    log = _configure(buffer, fmt, [PASSWORD, ODD])
    log.debug("Starting with configuration: %s", {"sasl_plain_password": PASSWORD})
    log.debug(
        "Request 3: SaslAuthenticateRequest(auth_bytes=%r)", b"\x00journeys\x00" + PASSWORD.encode()
    )
    log.debug("odd: %s %r %r", ODD, ODD, ODD.encode())
    log.info("with extra", extra={"config": {"password": PASSWORD}})
    try:
        raise ValueError(f"login failed for {PASSWORD}")
    except ValueError:
        log.exception("failed")
    text = buffer.getvalue()
    assert len(text.splitlines()) >= 5
    assert PASSWORD not in text
    assert PASSWORD.encode().hex() not in text
    for spelling in (ODD, repr(ODD)[1:-1], repr(ODD.encode())[2:-1]):
        assert spelling not in text, spelling
    assert text.count(MASK) >= (7 if fmt == "json" else 6)  # text lines show no extras
    if fmt == "json":
        for line in text.splitlines():
            json.loads(line)  # masking keeps every line valid JSON


def test_without_secrets_nothing_changes(buffer: io.StringIO) -> None:
    log = _configure(buffer, "text", [])
    log.info("password=%s", "visible")
    assert "password=visible" in buffer.getvalue()


def test_empty_secrets_are_ignored() -> None:
    assert mask_secrets("nothing here", ()) == "nothing here"
    config = logging_config("info", "text", ["", PASSWORD])
    assert config["formatters"]["default"]["secrets"] == [PASSWORD]


def test_the_longest_spelling_goes_first(buffer: io.StringIO) -> None:
    # one secret inside another: neither may leave a fragment of the other behind
    log = _configure(buffer, "text", ["abcd", "abcdefgh"])
    log.info("x abcdefgh y abcd z")
    assert buffer.getvalue().rstrip().endswith(f"x {MASK} y {MASK} z")
