"""Issue 13, the engine's side: extreme but schema-valid dates never raise.

Event times cannot leave the contract's range (1970 to 2200, ``schemas.events``); the
values that still reach the engine's date arithmetic are attributes (free-form
properties and traits) and the ends of that range. A date the engine cannot compute a
due time with becomes a note and its rule is not armed; every other rule works as usual.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from journeys import CustomerState, default_journey, driver, dump_state
from schemas import TouchpointEvent, dumps
from tests.journeys.factories import build, make_event, play

DEFAULT = default_journey()
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)


def off_calendar(rule: str, attribute: str, raw: str) -> str:
    return (
        f"{rule}: {attribute}: {raw!r} gives no due time within the engine's calendar "
        "(before 2200-01-01), not armed"
    )


@pytest.mark.parametrize(
    "when", [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)]
)
def test_an_event_in_year_9999_or_year_1_never_reaches_the_engine(when: datetime) -> None:
    with pytest.raises(ValidationError, match="timestamp_out_of_range"):
        make_event("signed_up", when)


def test_renewal_date_0001_01_02_is_noted_and_not_armed() -> None:
    event = make_event("subscription_started", NEW_YEAR, renewal_date="0001-01-02")
    played = play(DEFAULT, [event])
    assert played.statuses == ["processed"]
    assert played.state is not None
    assert played.state.attributes["renewal_date"] == "0001-01-02"  # kept, as sent
    assert "renewal_reminder_30d" not in played.state.timers
    assert "renewal_reminder_7d" not in played.state.timers
    assert played.notes == [
        off_calendar("renewal_reminder_30d", "renewal_date", "0001-01-02"),
        off_calendar("renewal_reminder_7d", "renewal_date", "0001-01-02"),
    ]


@pytest.mark.parametrize("zone", [None, "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_birthday_9999_12_31_is_noted_and_not_armed(zone: str | None) -> None:
    event = make_event("identify", NEW_YEAR, traits={"birthday": "9999-12-31"}, timezone=zone)
    played = play(DEFAULT, [event], until=NEW_YEAR + timedelta(days=400))
    assert played.state is not None
    assert played.state.attributes["birthday"] == "9999-12-31"
    assert "birthday" not in played.state.timers
    assert off_calendar("birthday", "birthday", "9999-12-31") in played.notes
    assert [t.rule for t in played.triggers if t.rule == "birthday"] == []


def test_a_far_date_is_not_armed_but_a_real_one_replaces_it() -> None:
    played = play(
        DEFAULT,
        [
            make_event("subscription_started", NEW_YEAR, renewal_date="9999-12-31"),
            make_event(
                "subscription_renewed", NEW_YEAR + timedelta(hours=1), renewal_date="2026-03-01"
            ),
        ],
        until=datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert off_calendar("renewal_reminder_30d", "renewal_date", "9999-12-31") in played.notes
    assert [t.rule for t in played.triggers if t.rule.startswith("renewal_reminder")] == [
        "renewal_reminder_30d",
        "renewal_reminder_7d",
    ]


def test_datetime_attributes_at_the_ends_of_the_calendar() -> None:
    journey = build(
        {
            "attributes": {"since": {"type": "datetime"}},
            "rules": [
                {
                    "id": "remember",
                    "when": {"event": {"type": "x"}},
                    "then": {"set": {"since": {"property": "since"}}},
                },
                {
                    "id": "anniversary",
                    "when": {"date": {"attribute": "since", "yearly": True, "at": "09:00"}},
                    "then": {"emit": {"kind": "moments.anniversary"}},
                },
            ],
        }
    )
    played = play(
        journey,
        [
            # year 10000 once in UTC, year 0 once in UTC: not datetimes the engine can use
            make_event("x", NEW_YEAR, since="9999-12-31T23:00:00-05:00"),
            make_event("x", NEW_YEAR, since="0001-01-01T00:00:00+05:00"),
            # a real instant in year 9999: kept, but it has no next anniversary
            make_event("x", NEW_YEAR, since="9999-12-31T12:00:00Z", timezone="Asia/Tokyo"),
        ],
        until=NEW_YEAR + timedelta(days=800),
    )
    assert played.notes[:2] == [
        "remember: since: '9999-12-31T23:00:00-05:00' is not a datetime, ignored",
        "remember: since: '0001-01-01T00:00:00+05:00' is not a datetime, ignored",
    ]
    assert off_calendar("anniversary", "since", "9999-12-31T12:00:00Z") in played.notes
    assert played.state is not None and played.state.timers == {}
    assert played.triggers == []


@pytest.mark.parametrize(
    ("when", "zone"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), "Pacific/Pago_Pago"),  # UTC-11: still 1969 there
        (datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "Pacific/Kiritimati"),  # +14
    ],
)
def test_the_ends_of_the_contract_range_run_every_rule(when: datetime, zone: str) -> None:
    """Signup (quiet hours, a trial end), activity, a birthday and a renewal at the first
    and the last instant the contract accepts; then every timer fires in turn."""
    events = [
        make_event(
            "signed_up",
            when,
            timezone=zone,
            trial_end=(when + timedelta(days=10)).date().isoformat(),
            plan="pro",
        ),
        make_event("identify", when, timezone=zone, traits={"birthday": "1999-12-31"}),
        make_event(
            "subscription_started",
            when,
            timezone=zone,
            renewal_date=(when + timedelta(days=40)).date().isoformat(),
        ),
        make_event("csat_submitted", when, timezone=zone, score=1),
    ]
    states: dict[str, CustomerState] = {}
    for event in events:
        states = driver.on_event([DEFAULT], states, event).states
    woken = 0
    due = driver.due(states)
    while due is not None and woken < 50:  # at risk, lapsed, birthdays, reminders...
        states = driver.on_time([DEFAULT], states, due).states
        woken += 1
        due = driver.due(states)
    assert woken > 3


def test_event_model_rejects_what_the_engine_could_not_compute_with() -> None:
    with pytest.raises(ValidationError):
        TouchpointEvent(
            event_id="e",
            customer_id="c",
            type="x",
            event_time=datetime(2200, 1, 1, tzinfo=UTC),
        )


def test_sums_beyond_64_bits_stay_encodable() -> None:
    big = 2**64 - 1  # the largest integer the contract carries
    played = play(
        DEFAULT,
        [make_event("order_completed", NEW_YEAR + timedelta(minutes=i), amount=big) for i in (1, 2)]
        + [
            make_event("order_completed", NEW_YEAR + timedelta(minutes=i), amount=1e308)
            for i in (3, 4)
        ],
    )
    assert played.state is not None
    spend = played.state.attributes["lifetime_spend"]
    assert spend == float(2 * big + 1e308)  # a float once beyond 64 bits
    assert played.notes == ["order_completed: lifetime_spend: adding 1e+308 overflows, ignored"]
    dumps(dump_state(played.state))  # the worker writes it with the one codec
