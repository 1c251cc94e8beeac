"""Fixtures of the worker tests: a fresh metrics registry per test."""

from __future__ import annotations

import pytest

from streams.ops.metrics import Metrics


@pytest.fixture
def metrics() -> Metrics:
    """Metrics with a registry of their own (never the process-global one)."""
    return Metrics(known_event_types=("signed_up", "key_action", "csat_submitted"))
