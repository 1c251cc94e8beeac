"""Rates, lifts and their 95% intervals, from counts alone (no dependency, no randomness).

* a rate k/n: the **Wilson score interval** (Wilson 1927), which stays inside [0, 1] and
  keeps its coverage for small n and rates near 0 or 1, unlike the Wald interval;
* the absolute lift p1 - p0 of two independent rates: **Newcombe's hybrid score
  interval** (Newcombe 1998, method 10), built from the two Wilson intervals;
* the relative lift p1/p0 - 1: the **Katz log interval** of the risk ratio (Katz et al.
  1978), exp(ln(p1/p0) +- z sqrt(1/k1 - 1/n1 + 1/k0 - 1/n0)) - 1; none when either
  side reached nothing (the ratio's log is unbounded).

Each is a 95% interval for one comparison; the report makes several (every goal, every
variant), so a few intervals excluding zero are expected by chance alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054
METHODS = {
    "rate": "Wilson score interval",
    "absolute_lift": "Newcombe hybrid score interval (method 10) for a difference of proportions",
    "relative_lift": "Katz log interval for a ratio of proportions",
}

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Rate:
    """``reached`` of ``customers``; ``rate`` None when there are no customers."""

    reached: int
    customers: int

    @property
    def rate(self) -> float | None:
        return self.reached / self.customers if self.customers else None

    @property
    def interval(self) -> Interval | None:
        return wilson(self.reached, self.customers)


@dataclass(frozen=True, slots=True)
class Lift:
    """``treated`` against ``control``: absolute (difference) and relative (ratio - 1)."""

    absolute: float
    absolute_interval: Interval
    relative: float | None
    relative_interval: Interval | None


def wilson(k: int, n: int, z: float = Z) -> Interval | None:
    """Wilson score interval of k successes in n trials (None when n is 0)."""
    if n <= 0:
        return None
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    lower = 0.0 if k == 0 else max(0.0, centre - half)  # exact at the ends, no rounding
    upper = 1.0 if k == n else min(1.0, centre + half)
    return lower, upper


def newcombe(k1: int, n1: int, k0: int, n0: int, z: float = Z) -> Interval | None:
    """Newcombe's hybrid score interval of p1 - p0 (None when either n is 0)."""
    w1, w0 = wilson(k1, n1, z), wilson(k0, n0, z)
    if w1 is None or w0 is None:
        return None
    p1, p0 = k1 / n1, k0 / n0
    (l1, u1), (l0, u0) = w1, w0
    d = p1 - p0
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2),
    )


def katz(k1: int, n1: int, k0: int, n0: int, z: float = Z) -> Interval | None:
    """Katz log interval of p1/p0 - 1 (None unless both sides reached something)."""
    if min(k1, k0) <= 0 or min(n1, n0) <= 0:
        return None
    ratio = (k1 / n1) / (k0 / n0)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)
    return ratio * math.exp(-z * se) - 1, ratio * math.exp(z * se) - 1


def lift(treated: Rate, control: Rate) -> Lift | None:
    """The lift of ``treated`` over ``control``; None when either has no customers."""
    p1, p0 = treated.rate, control.rate
    interval = newcombe(treated.reached, treated.customers, control.reached, control.customers)
    if p1 is None or p0 is None or interval is None:
        return None
    relative = p1 / p0 - 1 if p0 > 0 else None
    ratio = katz(treated.reached, treated.customers, control.reached, control.customers)
    return Lift(p1 - p0, interval, relative, ratio)


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
