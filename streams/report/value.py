"""Value, not only conversion: revenue per customer, treated against holdout.

What counts as revenue is decided here, once: an event of a type in
:data:`REVENUE_EVENTS` (``order_completed``: what Segment's ecommerce spec calls "Order
Completed", and what the default journey sums into ``lifetime_spend``) carrying, in this
order of preference, ``revenue`` (Segment's spec: the order's revenue) or ``amount``
(what the default journey and the simulator send), a number or a decimal string. Its
currency is not converted: a report is read in one currency. Refunds, failed payments
and subscription charges are not order revenue and are left out (a ``payment_failed``
carries an ``amount`` too, which is why the event type decides, not the property).

A customer's revenue is the sum over their orders from their entry into the journey to
the report's cut-off (a linked anonymous key's orders are its customer's; a redelivered
order counts once). The unit is the customer, zero for one who bought nothing, so that
the mean over a cohort is revenue per customer and the difference of two cohorts'
means is what the journey added per customer. Interval: Welch's
(:mod:`streams.report.means`).

Per goal, the same over the customers who reached the goal: what a converted customer
is worth in each cohort. That comparison is descriptive only (the journey also changes
who converts, so the two groups are not alike); the journey-wide comparison is the
causal one.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from journeys.outcome import Cohort
from schemas import TouchpointEvent
from streams.report.means import Difference, Sample, welch

REVENUE_EVENTS = frozenset({"order_completed"})
REVENUE_PROPERTIES = ("revenue", "amount")
METHOD = (
    "Welch's t interval for a difference of means (unequal variances, Welch-Satterthwaite "
    "degrees of freedom)"
)
Doc = dict[str, Any]


def revenue(event: TouchpointEvent) -> float | None:
    """The revenue an event brings, or None when it brings none."""
    if event.type not in REVENUE_EVENTS:
        return None
    for name in REVENUE_PROPERTIES:
        value = event.properties.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            continue
        if amount.is_finite():
            return float(amount)
    return None


def value_doc(groups: dict[Cohort, list[float]], *, holdout: bool) -> Doc:
    """Revenue per customer per cohort and, with a control group, the difference."""
    samples = {c: Sample.of(v) for c, v in groups.items()}
    found = welch(samples["treated"], samples["holdout"]) if holdout else None
    return {
        "cohorts": {c: summary(groups[c]) for c in groups},
        "difference": difference(found, samples["holdout"].mean),
    }


def summary(values: list[float]) -> Doc:
    s = Sample.of(values)
    return {
        "customers": s.n,
        "buyers": sum(1 for v in values if v > 0),
        "total": _round(sum(values)),
        "per_customer": _round(s.mean) if s.n else None,
        "sd": _round(s.variance**0.5) if s.n > 1 else None,
    }


def difference(found: Difference | None, base: float) -> Doc | None:
    """The difference as JSON, and relative to ``base`` (the baseline's mean)."""
    if found is None:
        return None
    return {
        "absolute": _round(found.estimate),
        "interval": [_round(v) for v in found.interval],
        "df": _round(found.df),
        "relative": _round(found.estimate / base) if base else None,
    }


def arms(arms: Iterable[tuple[str, Cohort, list[float]]]) -> list[Doc]:
    """Each arm's revenue per customer and its difference from the first arm."""
    rows = list(arms)
    if not rows:
        return []
    base = Sample.of(rows[0][2])
    out = []
    for k, (arm, cohort, values) in enumerate(rows):
        found = welch(Sample.of(values), base) if k else None
        out.append(
            {
                "arm": arm,
                "cohort": cohort,
                **summary(values),
                "difference": difference(found, base.mean),
            }
        )
    return out


def _round(value: float) -> float:
    return round(value, 6)
