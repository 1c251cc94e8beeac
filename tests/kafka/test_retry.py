"""The one retry rule of our Kafka clients: retriable errors again, others at once."""

from __future__ import annotations

import asyncio

import aiokafka.errors
import kafka.errors
import pytest

from streams.kafka import retry


@pytest.fixture(autouse=True)
def _short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "FIRST_PAUSE_S", 0.001)
    monkeypatch.setattr(retry, "MAX_PAUSE_S", 0.002)


@pytest.mark.parametrize(
    "error",
    [
        kafka.errors.CoordinatorLoadInProgressError("OffsetFetchResponse failed for group"),
        kafka.errors.NotCoordinatorError(),
        kafka.errors.CoordinatorNotAvailableError(),
        kafka.errors.NodeNotReadyError(),
        aiokafka.errors.CoordinatorLoadInProgressError(),
        aiokafka.errors.NotCoordinatorError(),
        aiokafka.errors.KafkaConnectionError(),
    ],
)
def test_a_coordinator_still_loading_is_retried(error: Exception) -> None:
    failures = [error, error]
    seen: list[BaseException] = []

    def operation() -> str:
        if failures:
            raise failures.pop()
        return "done"

    assert retry.retry(operation, on_retry=seen.append) == "done"
    assert seen == [error, error]


def test_other_errors_are_raised_at_once() -> None:
    calls = []

    def operation() -> None:
        calls.append(1)
        raise kafka.errors.TopicAuthorizationFailedError()

    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        retry.retry(operation)
    assert len(calls) == 1
    assert not retry.retriable(ValueError("not Kafka"))


def test_past_the_deadline_the_last_error_is_raised() -> None:
    def operation() -> None:
        raise kafka.errors.CoordinatorLoadInProgressError()

    with pytest.raises(kafka.errors.CoordinatorLoadInProgressError):
        retry.retry(operation, deadline_s=0.02)


def test_async_operations_and_client_start_are_retried() -> None:
    class Client:
        def __init__(self) -> None:
            self.tries = 0

        async def start(self) -> None:
            self.tries += 1
            if self.tries < 3:
                raise aiokafka.errors.KafkaConnectionError()

    client = Client()
    asyncio.run(retry.start(client, deadline_s=5))
    assert client.tries == 3
