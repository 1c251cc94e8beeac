"""Factories for journey tests: events, times, customers in or out of the holdout."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import (
    CustomerState,
    Journey,
    Outcome,
    Suppressed,
    Transition,
    advance,
    in_holdout,
    parse_definition,
    step,
)
from schemas import TouchpointEvent, Trigger

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday, noon UTC
_ids = itertools.count(1)


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """T0 plus an offset."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def make_event(
    type_: str,
    when: datetime | None = None,
    *,
    customer: str = "c-treated",
    event_id: str | None = None,
    timezone: str | None = None,
    traits: dict[str, Any] | None = None,
    **properties: Any,
) -> TouchpointEvent:
    """A canonical event; ids are sequential unless given."""
    return TouchpointEvent(
        event_id=event_id or f"e{next(_ids)}",
        customer_id=customer,
        type=type_,
        event_time=when or T0,
        properties=properties,
        traits=traits or {},
        context={"timezone": timezone} if timezone else {},
    )


def customer_outside_holdout(journey: Journey, prefix: str = "c") -> str:
    for i in range(10_000):
        cid = f"{prefix}-{i}"
        if not in_holdout(cid, journey.name, journey.guard_rails.holdout_percent):
            return cid
    raise AssertionError("no customer outside the holdout")


def customer_in_holdout(journey: Journey, prefix: str = "c") -> str:
    for i in range(100_000):
        cid = f"{prefix}-{i}"
        if in_holdout(cid, journey.name, journey.guard_rails.holdout_percent):
            return cid
    raise AssertionError("no customer in the holdout")


Step = TouchpointEvent | datetime  # an event to step, or a time to advance to


@dataclass
class Played:
    """What a story produced, in order."""

    state: CustomerState | None = None
    triggers: list[Trigger] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.triggers += outcome.triggers
        self.suppressed += outcome.suppressed
        self.transitions += outcome.transitions
        self.notes += outcome.notes

    def rows(self) -> list[tuple[str, str, str | None, str | None, str]]:
        """(rule, kind, emitted_at, deliver_after, cause key) per delivered trigger."""
        return [
            (t.rule, t.kind, iso(t.emitted_at), iso(t.deliver_after), t.cause.key)
            for t in self.triggers
        ]

    def suppressed_rows(self) -> list[tuple[str, str, str | None]]:
        return [(s.rule, s.reason, iso(s.trigger.emitted_at)) for s in self.suppressed]


def play(
    journey: Journey,
    steps: Sequence[Step],
    *,
    until: datetime | None = None,
    state: CustomerState | None = None,
) -> Played:
    """Step events and advance to times, in the order given; then advance to ``until``."""
    played = Played(state=state)
    for item in [*steps, *([until] if until is not None else [])]:
        if isinstance(item, TouchpointEvent):
            played.state, outcome = step(journey, played.state, item)
            played.statuses.append(outcome.status)
        else:
            assert played.state is not None, "advance needs a state: step an event first"
            played.state, outcome = advance(journey, played.state, item)
        played.add(outcome)
    return played


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ev(event_id: str, type_: str, when: datetime, **kwargs: Any) -> TouchpointEvent:
    """An event with an explicit id (stories name their events)."""
    return make_event(type_, when, event_id=event_id, **kwargs)


def build(data: dict[str, Any]) -> Journey:
    """A small definition for one test (defaults: two stages, no guard rails)."""
    base: dict[str, Any] = {
        "name": "test",
        "version": 1,
        "stages": ["new", "done"],
        "initial_stage": "new",
    }
    return parse_definition({**base, **data})


# Date rules with offsets, yearly rules of a datetime and a date attribute, inactivity of
# both kinds with and without stage filters: the paths the default journey leaves out.
ODD = build(
    {
        "stages": ["new", "busy", "done"],
        "attributes": {
            "d": {"type": "date"},
            "t": {"type": "datetime"},
            "s": {"type": "date"},
        },
        "rules": [
            {
                "id": "go",
                "stages": ["new"],
                "when": {"event": {"type": "go"}},
                "then": {"move_to": "busy", "set": {"d": {"property": "d"}}},
            },
            {"id": "back", "when": {"event": {"type": "back"}}, "then": {"move_to": "new"}},
            {
                "id": "set_t",
                "when": {"event": {"type": "t"}},
                "then": {"set": {"t": {"property": "t"}, "s": {"property": "t"}}},
            },
            {
                "id": "idle",
                "when": {"inactivity": {"for": "2d"}},
                "then": {"emit": {"kind": "moments.idle"}},
            },
            {
                "id": "quiet",
                "stages": ["busy"],
                "when": {
                    "inactivity": {"of": {"type": "ping"}, "for": "1d", "since": "stage_entry"}
                },
                "then": {"emit": {"kind": "moments.quiet"}, "move_to": "done"},
            },
            {
                "id": "late_date",
                "when": {"date": {"attribute": "d", "offset_days": 400, "at": "23:30"}},
                "then": {"emit": {"kind": "moments.late"}},
            },
            {
                "id": "early_year",
                "stages": ["busy", "done"],
                "when": {"date": {"attribute": "d", "yearly": True, "offset_days": -380}},
                "then": {"emit": {"kind": "moments.early"}},
            },
            {
                "id": "t_year",
                "when": {"date": {"attribute": "t", "yearly": True, "offset_days": 2}},
                "then": {"emit": {"kind": "moments.t_year"}},
            },
            {
                "id": "s_day",
                "when": {"date": {"attribute": "s", "offset_days": -1, "at": "00:15"}},
                "then": {"emit": {"kind": "moments.s_day"}},
            },
        ],
        "exits": [{"name": "stop", "event": {"type": "stop"}, "reason": "exit"}],
        "guard_rails": {"reentry": {"policy": "after", "after": "3d", "on": {"type": "go"}}},
        "time": {"allowed_lateness": "2d", "dedup_capacity": 16},
    }
)

DATES = [
    "2025-03-20",
    "2025-03-05",
    "2024-02-29",
    "2025-12-31T23:30:00Z",
    "2025-03-04T02:00:00+05:00",
    "not a date",
    20250320,
    None,
    ["2025-03-20"],
]
ZONES = [None, "Europe/Paris", "America/New_York", "Pacific/Kiritimati", "Asia/Kolkata"]

DEFAULT_KINDS: list[tuple[str, dict[str, Any]]] = [
    ("signed_up", {"trial_end": "2025-03-20"}),
    ("signed_up", {}),
    ("key_action", {}),
    ("page_viewed", {}),
    ("csat_submitted", {"score": 1}),
    ("nps_submitted", {"score": 10}),
    ("payment_failed", {}),
    ("subscription_started", {"renewal_date": "2025-04-15", "seats": 12}),
    ("subscription_renewed", {"renewal_date": "2025-03-12"}),
    ("trial_started", {"trial_end": "2025-03-08"}),
    ("order_completed", {"amount": 700}),
    ("account_closed", {}),
    ("identify", {}),
]
ODD_KINDS: list[tuple[str, dict[str, Any]]] = [
    ("go", {}),
    ("back", {}),
    ("ping", {}),
    ("t", {}),
    ("stop", {}),
    ("other", {}),
]
