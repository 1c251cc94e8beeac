"""Merging two states of one journey: anonymous activity into the identified customer."""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import JsonValue

from journeys.definition import Journey
from journeys.state import CustomerState
from journeys.timers import rearm
from journeys.values import combine, integral


def merge(definition: Journey, into: CustomerState, other: CustomerState) -> CustomerState:
    """``into`` (the identified customer) absorbing ``other`` (its anonymous past).

    Identity, exit and stage are ``into``'s, except that a customer still in the initial
    stage takes ``other``'s stage. Attributes merge by their declared policy (keep: into's
    value, else other's; sum, max, min). Event ids, windows, cooldowns, cap histories and
    match times are unions (latest times win); timers are re-armed.
    """
    for s in (into, other):
        if s.journey != definition.name:
            raise ValueError(f"state of journey {s.journey!r} given to {definition.name!r}")
    attrs: dict[str, JsonValue] = dict(into.attributes)
    for name, value in other.attributes.items():
        spec = definition.attributes.get(name)
        mine = attrs.get(name)
        if mine is None or spec is None:
            attrs.setdefault(name, value)
        elif (
            spec.merge == "sum" and isinstance(mine, int | float) and isinstance(value, int | float)
        ):
            total = integral(mine + value)
            if not (isinstance(total, float) and math.isinf(total)):  # else keep into's
                attrs[name] = total
        elif spec.merge in ("max", "min"):
            attrs[name] = combine(spec.merge, mine, value, spec.type)
    take_other = into.stage == definition.initial_stage and other.stage != into.stage
    merged = into.copy()
    merged.stage = other.stage if take_other else into.stage
    merged.stage_entered_at = other.stage_entered_at if take_other else into.stage_entered_at
    merged.entered_at = min(into.entered_at, other.entered_at)
    merged.clock = max(into.clock, other.clock)
    merged.watermark = max(into.watermark, other.watermark)
    merged.timezone = into.timezone or other.timezone
    merged.attributes = attrs
    merged.last_match = _latest(into.last_match, other.last_match)
    merged.windows = {
        k: sorted({*into.windows.get(k, ()), *other.windows.get(k, ())})
        for k in sorted(into.windows.keys() | other.windows.keys())
    }
    merged.cooldowns = _latest(into.cooldowns, other.cooldowns)
    merged.cap_history = sorted([*into.cap_history, *other.cap_history])
    merged.customer_cap_history = sorted([*into.customer_cap_history, *other.customer_cap_history])
    merged.fired = _latest(into.fired, other.fired)
    merged.seen = {**other.seen, **into.seen}
    merged.timers = {}
    merged.events = into.events + other.events
    merged.late_events = into.late_events + other.late_events
    rearm(definition, merged, merged.clock)
    return merged


def _latest(a: dict[str, datetime], b: dict[str, datetime]) -> dict[str, datetime]:
    out = dict(a)
    for k, v in b.items():
        if k not in out or v > out[k]:
            out[k] = v
    return out
