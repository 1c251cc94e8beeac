"""Welch's interval for a difference of two means, with Student's t computed here.

Revenue per customer is a mean over customers of an amount that is mostly zero and
sometimes large (a few big spenders): the variances of the two groups differ, so the
interval is Welch's (unequal variances, Welch-Satterthwaite degrees of freedom), which
is what ``scipy.stats.ttest_ind(..., equal_var=False).confidence_interval()`` and
statsmodels' ``CompareMeans.tconfint_diff(usevar="unequal")`` give (the tests check
both on the same numbers). A bootstrap would need a random generator and many
resamples per comparison; over the hundreds of customers a report is read at, the mean
of such an amount is close enough to normal that Welch's interval holds its 95%
(``tests/report/test_value.py`` shows a known effect measured within it), and it is
exact arithmetic that a reader can redo. The t quantile comes from the regularised
incomplete beta function (a continued fraction, as in Numerical Recipes 6.4), so the
report needs no scipy at run time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from streams.report.stats import CONFIDENCE


@dataclass(frozen=True, slots=True)
class Sample:
    """One group's values: their count, mean and sample variance (n - 1)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        n = len(values)
        mean = math.fsum(values) / n if n else 0.0
        var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return cls(n, mean, var)


@dataclass(frozen=True, slots=True)
class Difference:
    estimate: float  # a - b
    interval: tuple[float, float]
    df: float


def welch(a: Sample, b: Sample, confidence: float = CONFIDENCE) -> Difference | None:
    """The difference of means ``a - b`` and its interval; None when either group has
    fewer than two values or both have no spread (nothing to estimate a spread from)."""
    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.variance / a.n, b.variance / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return None
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = t_quantile(0.5 + confidence / 2, df) * se
    estimate = a.mean - b.mean
    return Difference(estimate, (estimate - half, estimate + half), df)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t with ``df`` degrees of freedom, by
    bisection on the distribution function (60 halvings: below 1e-15 relative)."""
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return (lo + hi) / 2


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _beta_inc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def _beta_inc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _fraction(a, b, x) / a
    return 1 - front * _fraction(b, a, 1 - x) / b


def _fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h
