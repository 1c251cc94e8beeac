"""The connection check names the cause in one line and retries only what may pass.

No broker here: a closed port, a listener that hangs up at once, and the exceptions the
clients raise; the live module ``tests/live/test_security.py`` covers a real SASL_SSL
broker (wrong password, wrong protocol).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
)

from streams.kafka import admin
from streams.kafka.preflight import (
    KafkaUnavailable,
    attempt,
    check,
    describe,
    explain,
    wait_until_usable,
)
from streams.kafka.reader import KafkaReader, KafkaReadError
from streams.settings import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def refused() -> str:
    return f"127.0.0.1:{_closed_port()}"


@pytest.fixture
def hangs_up() -> Iterator[str]:
    """A listener that accepts and closes every connection at once."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    server.close()


def _config(servers: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap_servers": servers.split(","), **extra}


def test_refused_is_named_and_may_pass(refused: str) -> None:
    error = asyncio.run(attempt(_config(refused)))
    assert isinstance(error, KafkaUnavailable)
    assert str(error) == (
        f"cannot reach Kafka at {refused}: connection refused "
        "(is the broker running, is the address right?)"
    )
    assert not error.permanent


def test_servers_failing_alike_give_the_cause_once(refused: str) -> None:
    other = f"127.0.0.1:{_closed_port()}"
    error = asyncio.run(attempt(_config(f"{refused},{other}")))
    assert error is not None
    assert str(error).count("connection refused") == 1
    assert f"{refused},{other}" in str(error)


def test_servers_failing_differently_each_say_why(refused: str, hangs_up: str) -> None:
    error = asyncio.run(attempt(_config(f"{refused},{hangs_up}")))
    assert error is not None
    assert f"{refused}: connection refused" in error.cause
    assert f"{hangs_up}: the broker closed the connection" in error.cause


def test_a_listener_that_hangs_up_is_a_hint_at_the_protocol(hangs_up: str) -> None:
    error = asyncio.run(attempt(_config(hangs_up)))
    assert error is not None
    assert "closed the connection" in error.cause
    assert "JOURNEYS_SECURITY_PROTOCOL (PLAINTEXT)" in error.cause
    assert not error.permanent


def test_retries_until_the_deadline_logging_each_change_once(refused: str) -> None:
    seen: list[tuple[str, float]] = []
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable, match="connection refused"):
        check(
            _config(refused), timeout_s=1.5, on_retry=lambda e, left: seen.append((e.cause, left))
        )
    assert 1.0 <= time.monotonic() - started < 5
    assert len(seen) == 1  # the same cause at every try: said once
    assert 0 < seen[0][1] <= 1.5


def test_without_retry_the_first_failure_is_final(refused: str) -> None:
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable):
        check(_config(refused), timeout_s=30, retry=False)
    assert time.monotonic() - started < 2


def test_a_permanent_failure_is_not_retried() -> None:
    calls: list[KafkaUnavailable] = []
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable, match="no bootstrap servers"):
        asyncio.run(wait_until_usable(_config(""), timeout_s=30, on_retry=calls.append))
    assert time.monotonic() - started < 1
    assert calls == []


def _explain(exc: BaseException, **config: Any) -> Any:
    port = _closed_port()  # follow-up probes (TLS? SASL?) find nothing there
    return asyncio.run(explain(exc, "127.0.0.1", port, _config("x", **config), 5.0))


def test_rejected_credentials_are_final_and_name_the_user() -> None:
    exc = SaslAuthenticationFailed(
        "Authentication failed during authentication due to invalid credentials "
        "with SASL mechanism SCRAM-SHA-512"
    )
    failure = _explain(
        exc,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="journeys",
        sasl_plain_password="hunter2-secret",
    )
    assert failure.permanent
    assert failure.cause.startswith("authentication failed for user 'journeys' with SCRAM-SHA-512")
    assert "invalid credentials" in failure.cause
    assert "JOURNEYS_SASL_PASSWORD" in failure.cause
    assert "hunter2-secret" not in failure.cause


def test_an_untrusted_certificate_points_at_the_ca_file() -> None:
    exc = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify")
    exc.verify_message = "self-signed certificate in certificate chain"
    failure = _explain(exc, security_protocol="SASL_SSL")
    assert failure.permanent
    assert "not trusted (self-signed certificate in certificate chain)" in failure.cause
    assert "JOURNEYS_SSL_CAFILE" in failure.cause


def test_sasl_against_a_listener_without_sasl() -> None:
    failure = _explain(IllegalSaslStateError(), security_protocol="SASL_PLAINTEXT")
    assert failure.permanent
    assert "does not use SASL" in failure.cause
    assert failure.cause.endswith("set JOURNEYS_SECURITY_PROTOCOL to PLAINTEXT")


def test_an_unknown_host_may_resolve_later() -> None:
    failure = _explain(socket.gaierror(-2, "Name or service not known"))
    assert not failure.permanent
    assert failure.cause == "cannot resolve host '127.0.0.1' (Name or service not known)"


def test_describe_puts_the_type_once_and_on_one_line() -> None:
    assert describe(KafkaConnectionError("Connection at h:1 closed")) == (
        "KafkaConnectionError: Connection at h:1 closed"
    )
    assert describe(ValueError("two\nlines")) == "ValueError: two lines"
    assert describe(TimeoutError()) == "TimeoutError"


def test_replay_reader_names_the_cause(refused: str) -> None:
    with pytest.raises(KafkaReadError) as raised:
        KafkaReader({"bootstrap_servers": [refused]}, timeout_s=3)
    assert str(raised.value).startswith(f"cannot reach Kafka at {refused}: connection refused")


def test_ensure_topics_waits_once_then_fails_with_one_line(
    refused: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(bootstrap_servers=refused, security_protocol="PLAINTEXT")
    with caplog.at_level(logging.INFO), pytest.raises(KafkaUnavailable) as raised:
        admin.ensure_topics(settings, specs=[], timeout_s=1.5)
    assert "connection refused" in str(raised.value)
    waits = [r for r in caplog.records if r.name == "streams.kafka.admin"]
    assert len(waits) == 1 and waits[0].levelno == logging.WARNING
    assert "retrying for up to" in waits[0].getMessage()


def test_check_also_works_from_a_coroutine() -> None:
    """Tools call it from their own event loop (the bench sets up topics in one)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]  # bound, not listening: refused

    async def inside() -> str:
        try:
            check({"bootstrap_servers": f"127.0.0.1:{port}"}, timeout_s=2.0, retry=False)
        except KafkaUnavailable as exc:
            return str(exc)
        return "no error"

    assert "cannot reach Kafka at 127.0.0.1:" in asyncio.run(inside())
