"""The engine's outputs equal the recorded golden outputs, byte for byte.

Inputs and outputs are in ``tests/journeys/data/golden.jsonl.xz`` (see
``tests/journeys/golden.py``, which also regenerates it). Every step's status, outcomes
(trigger ids included), changed states' JSON and next due time must be identical.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from tests.journeys.golden import Op, canonical, definitions_of, read, run


@cache
def recorded() -> dict[str, tuple[list[Op], list[Any]]]:
    return {name: (ops, outputs) for name, ops, outputs in read()}


CASES = ["sim-load", "sim-population", *(f"random-{seed}" for seed in range(24))]


def test_every_case_is_recorded() -> None:
    assert sorted(recorded()) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_same_as_golden(name: str) -> None:
    ops, expected = recorded()[name]
    actual = run(definitions_of(name), ops)
    for i, (got, want) in enumerate(zip(actual, expected, strict=False)):
        if canonical(got) != canonical(want):
            diff = {k: (got.get(k), want.get(k)) for k in want if got.get(k) != want.get(k)}
            raise AssertionError(f"{name}: step {i} ({want.get('op')}) differs: {diff!r:.4000}")
    assert len(actual) == len(expected)
