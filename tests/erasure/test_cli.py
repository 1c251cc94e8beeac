"""``journeys erase`` without a broker: its arguments, and the exit code of an error."""

from __future__ import annotations

import pytest

from streams.cli import main


def test_a_reason_longer_than_the_contract_allows_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["erase", "c-1", "--reason", "x" * 501]) == 2
    assert "at most 500 characters" in capsys.readouterr().err


def test_an_unreachable_broker_is_an_error_within_the_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["erase", "c-1", "--bootstrap", "127.0.0.1:1", "--timeout", "1"]) == 2
    assert "cannot reach Kafka" in capsys.readouterr().err
