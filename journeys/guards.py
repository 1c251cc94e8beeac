"""Guard rails applied to every trigger a rule emits.

In this order, the first that applies decides:

1. ``exit`` / ``goal`` / ``reentry``: the customer has left the journey (or the rule
   reached its goal), decided by the caller;
2. ``cooldown``: the rule emitted less than its cooldown ago (either side in event time);
3. ``frequency_cap``: a capped priority (marketing by default; service is exempt) and
   the customer already has ``max`` capped triggers in some window of length ``within``
   that contains this one; first the journey's own cap (its triggers), then the
   deployment's per-customer cap (:class:`CustomerCap`: the triggers of every journey of
   the customer, the other journeys' given by the caller, ``journeys.driver``);
4. ``holdout``: the customer is in the journey's control group and the trigger's
   priority is one the group is held out of (``holdout_priorities``, marketing by
   default: service messages reach everyone); the trigger is marked
   ``holdout=True`` and reported as suppressed. It still counts for cooldowns and the
   cap, so the control group's would-be sequence is exactly the treated one's.

A trigger that passes gets ``deliver_after`` when it falls in quiet hours (local time of
the customer's zone, UTC when unknown): deferred to the end of the quiet hours, never
dropped.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from journeys.compiled import Compiled, EmitPlan
from journeys.definition import FrequencyCap
from journeys.experiments import bucket
from journeys.outcome import Cohort, Reason
from journeys.state import CustomerState
from journeys.timeutil import quiet_end, zone


@dataclass(init=False, slots=True)
class CustomerCap:
    """The deployment's per-customer cap for one engine call, and what the customer's
    other journeys already sent under it (their ``customer_cap_history``). Its
    ``__init__`` is spelled out for the compiled engine (see :mod:`journeys.outcome`)."""

    cap: FrequencyCap
    others: tuple[datetime, ...]

    def __init__(self, cap: FrequencyCap, others: tuple[datetime, ...] = ()) -> None:
        self.cap = cap
        self.others = others

    def counts(self, plan: EmitPlan) -> bool:
        return plan.priority in self.cap.priorities


@lru_cache(maxsize=65536)
def holdout_bucket(customer_id: str, journey: str) -> int:
    """Bucket 0..9999 from sha256 of customer id and journey name (stable everywhere)."""
    return bucket(customer_id, journey)


def in_holdout(customer_id: str, journey: str, percent: float) -> bool:
    """Whether the customer is in the journey's control group (``percent`` of customers)."""
    return percent > 0 and holdout_bucket(customer_id, journey) < round(percent * 100)


def cohort(c: Compiled, assignment_id: str) -> Cohort:
    """The customer's group in the journey: ``holdout`` (the control group) or
    ``treated``, by their assignment id (``CustomerState.assignment_id``)."""
    return "holdout" if in_holdout(assignment_id, c.name, c.holdout_percent) else "treated"


def guard(
    c: Compiled,
    state: CustomerState,
    rule: str,
    plan: EmitPlan,
    at: datetime,
    customer: CustomerCap | None = None,
) -> Reason | None:
    """The guard rail that suppresses this trigger, or None (exit is the caller's)."""
    if plan.cooldown is not None:
        last = state.cooldowns.get(rule)
        if last is not None and abs(at - last) < plan.cooldown:
            return "cooldown"
    if plan.capped and c.cap is not None and not _fits(state.cap_history, at, c.cap):
        return "frequency_cap"
    if customer is not None and customer.counts(plan):
        sent = [*state.customer_cap_history, *customer.others]
        if not _fits(sent, at, customer.cap):
            return "frequency_cap"
    if plan.held and in_holdout(state.assignment_id, c.name, c.holdout_percent):
        return "holdout"
    return None


def record(
    c: Compiled,
    state: CustomerState,
    rule: str,
    plan: EmitPlan,
    at: datetime,
    customer: CustomerCap | None = None,
) -> None:
    """Note an emitted (or held-out) trigger for cooldowns and the caps. Replaces the
    containers it changes (the engine's working copy shares them with its input)."""
    if plan.cooldown is not None:
        last = state.cooldowns.get(rule)
        if last is None or at > last:
            state.cooldowns = {**state.cooldowns, rule: at}
    cap = c.cap
    if plan.capped and cap is not None:
        history = state.cap_history = list(state.cap_history)
        insort(history, at)
        # No later trigger can be earlier than the lateness horizon: older entries are moot.
        horizon = state.watermark - c.lateness - cap.within
        while history and history[0] <= horizon:
            history.pop(0)
    if customer is not None and customer.counts(plan):
        sent = state.customer_cap_history = list(state.customer_cap_history)
        insort(sent, at)
        horizon = state.watermark - c.lateness - customer.cap.within
        while sent and sent[0] <= horizon:
            sent.pop(0)


def deliver_after(
    c: Compiled, state: CustomerState, plan: EmitPlan, at: datetime
) -> datetime | None:
    quiet = c.quiet
    if not plan.quiet or quiet is None:
        return None
    return quiet_end(at, quiet.start, quiet.end, zone(state.timezone))


def _fits(history: list[datetime], at: datetime, cap: FrequencyCap) -> bool:
    """Whether adding ``at`` keeps every window of length ``within`` at ``max`` or fewer."""
    within: timedelta = cap.within
    near = [t for t in history if abs(t - at) < within]
    if len(near) < cap.max:
        return True
    times = sorted([*near, at])
    for i, start in enumerate(times):
        if start > at:
            break
        end = start + within
        count = sum(1 for t in times[i:] if t < end)
        if at < end and count > cap.max:
            return False
    return True
