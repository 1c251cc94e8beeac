"""The in-flight budget."""

from __future__ import annotations

import pytest

from streams.collector.budget import Budget


def test_take_what_fits_and_give_it_back() -> None:
    budget = Budget(100)
    assert budget.take(60)
    assert not budget.take(41)  # nothing taken by a refusal
    assert budget.used == 60
    assert budget.take(40)
    budget.give(100)
    assert budget.used == 0


def test_misuse_is_an_error() -> None:
    with pytest.raises(ValueError):
        Budget(0)
    budget = Budget(10)
    with pytest.raises(ValueError):
        budget.give(1)
    with pytest.raises(ValueError):
        budget.take(-1)
