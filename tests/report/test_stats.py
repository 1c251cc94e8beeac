"""The intervals against published values (Newcombe 1998) and their invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.report.stats import Rate, katz, lift, median, newcombe, wilson


def _close(got: tuple[float, float] | None, want: tuple[float, float]) -> None:
    assert got is not None
    assert got == pytest.approx(want, abs=5e-5)


def test_wilson_matches_newcombe_1998_table_i() -> None:
    """Newcombe, Two-sided confidence intervals for the single proportion (1998), Table I."""
    _close(wilson(81, 263), (0.2553, 0.3662))
    _close(wilson(15, 148), (0.0624, 0.1605))
    _close(wilson(0, 20), (0.0, 0.1611))
    _close(wilson(1, 29), (0.0061, 0.1718))
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("counts", "want"),
    [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0)),
        ((10, 10, 0, 10), (0.6075, 1.0)),
    ],
)
def test_newcombe_matches_newcombe_1998_method_10(
    counts: tuple[int, int, int, int], want: tuple[float, float]
) -> None:
    """Newcombe, Interval estimation for the difference between independent proportions
    (1998), Table II, method 10 (score interval, no continuity correction)."""
    _close(newcombe(*counts), want)


def test_katz_is_the_log_interval_of_the_ratio() -> None:
    # 20/100 vs 10/100: ratio 2, se = sqrt(1/20 - 1/100 + 1/10 - 1/100) = sqrt(0.13)
    lo, hi = katz(20, 100, 10, 100) or (0.0, 0.0)
    assert (lo + 1) * (hi + 1) == pytest.approx(4.0)
    assert hi + 1 == pytest.approx(2 * 2.718281828 ** (1.959964 * 0.13**0.5), rel=1e-5)
    assert katz(0, 100, 10, 100) is None


def test_lift_of_two_rates() -> None:
    found = lift(Rate(30, 100), Rate(20, 100))
    assert found is not None
    assert found.absolute == pytest.approx(0.1)
    assert found.relative == pytest.approx(0.5)
    assert lift(Rate(3, 10), Rate(0, 0)) is None
    no_base = lift(Rate(3, 10), Rate(0, 10))
    assert no_base is not None and no_base.relative is None


def test_median() -> None:
    assert median([]) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5


@given(
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_intervals_hold_their_estimate(a: tuple[int, int], b: tuple[int, int]) -> None:
    (k1, n1), (k0, n0) = a, b
    lo, hi = wilson(k1, n1) or (2.0, -1.0)
    assert 0.0 <= lo <= k1 / n1 <= hi <= 1.0
    dlo, dhi = newcombe(k1, n1, k0, n0) or (2.0, -1.0)
    assert -1.0 <= dlo <= k1 / n1 - k0 / n0 <= dhi <= 1.0
