"""The erasure contracts: a bounded request, a confirmation that names what, never the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from schemas import codec
from schemas.erasure import ErasureConfirmation, ErasureRequest, suppression_end

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_request_is_keyed_by_its_id_and_bounded() -> None:
    request = ErasureRequest(request_id="r1", customer_id="c-1", requested_at=AT)
    raw = codec.dumps(request)
    assert codec.loads(raw) == {
        "schema_version": 1, "kind": "erasure_request", "request_id": "r1",
        "customer_id": "c-1", "reason": None, "requested_at": "2026-11-02T09:00:00Z",
    }  # fmt: skip
    assert ErasureRequest.model_validate(codec.loads(raw)) == request
    for bad in (
        {"reason": "x" * 501},
        {"customer_id": ""},
        {"request_id": "r" * 201},
        {"email": "ada@example.com"},  # no other field: nothing personal rides along
        {"requested_at": "2026-11-02T09:00:00"},  # naive
    ):
        with pytest.raises(ValidationError):
            ErasureRequest.model_validate({**codec.loads(raw), **bad})


def test_a_confirmation_holds_what_was_erased_and_a_suppression_end() -> None:
    done = ErasureConfirmation(
        request_id="r1", customer_id="c-1", requested_at=AT, erased_at=AT,
        journeys=["lifecycle"], linked_ids=["anon-1"], timer_cleared=True,
        subscriptions_cleared=True, suppressed_until=suppression_end(AT, 30),
    )  # fmt: skip
    assert set(done.model_dump()) == {
        "schema_version", "kind", "request_id", "customer_id", "reason", "requested_at",
        "erased_at", "journeys", "linked_ids", "timer_cleared", "subscriptions_cleared",
        "suppressed_until",
    }  # fmt: skip
    assert done.suppressed_until == AT + timedelta(days=30)
    assert suppression_end(AT, 0) is None
