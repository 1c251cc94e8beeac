"""Hostile input for the decoder and the engine together (issue 13), and the one check.

:func:`raw_cases` draws what a Kafka topic can hold: random bytes, truncated and deeply
nested JSON, canonical events and Segment messages (single or batched) whose fields are
right, wrong in type, or extreme (integers beyond 64 bits, dates in year 1 or 9999,
offsets of 14 hours, attribute values the default journey computes dates with).
:func:`check_case` runs one case the way the worker does and raises on any broken
promise: decode never raises and gives only known reasons; every decoded event steps
through ``journeys.driver.on_event`` with the default journey (an anonymous key's
states merged in as replay does, ``driver.absorb``), the customer's states then wake at
their due time (``driver.on_time``), and the changed states and the triggers encode
(``schemas.dumps``, as the worker writes them), all without raising.

Used by tests/test_fuzz_decode_engine.py (a few thousand cases in the suite) and
tests/bench/fuzz_decode_engine.py (100,000 or more, on demand).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from journeys import CustomerState, default_journey, driver, dump_state
from schemas import RejectReason, decode_touchpoints, dumps

DEFAULT = default_journey()
RECEIVED_AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DECODER_REASONS = frozenset(RejectReason) - {RejectReason.PROCESSING_ERROR}

EXTREME_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+14:00",
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00+14:00",
    "2199-12-31T23:59:59.999999Z",
    "2199-12-31T23:59:59-12:00",
    "2200-01-01T00:00:00Z",
    "2024-02-29T09:00:00+05:45",
    "2026-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-11-02T09:15:00",
    "2026-11-02",
    "1762074900",
    "",
    "T",
]
EXTREME_DATES = [
    "0001-01-01",
    "0001-01-02",
    "0001-02-01",
    "9999-12-31",
    "9999-12-30",
    "9999-01-01",
    "2199-12-31",
    "2200-01-01",
    "2024-02-29",
    "1900-02-28",
    "2026-11-05",
    "2026-12-02",
    "2027-11-02",
]
EXTREME_NUMBERS: list[Any] = [
    2**64,
    2**64 - 1,
    -(2**63) - 1,
    -(2**63),
    10**30,
    -(10**40),
    2**53 + 1,
    1e308,
    -1e308,
    5e-324,
    0,
    -1,
    0.1,
]
ZONES = [
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Europe/London",
    "UTC",
    "Mars/Base",
    "",
]
EVENT_TYPES = [
    "signed_up",
    "trial_started",
    "subscription_started",
    "subscription_renewed",
    "payment_failed",
    "key_action",
    "session_started",
    "page_viewed",
    "order_completed",
    "seats_changed",
    "csat_submitted",
    "nps_submitted",
    "support_ticket_opened",
    "delivery_failed",
    "refund_issued",
    "feature_requested",
    "feature_released",
    "requested_feature_released",
    "account_closed",
    "Order Completed",
]
SEGMENT_TYPES = ["track", "identify", "page", "screen", "group", "alias"]
CUSTOMERS = ["c-1", "c-2", "a-1"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(EXTREME_NUMBERS)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)
random_instants = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.timezones(),
).map(lambda moment: moment.isoformat())
times = (
    st.sampled_from(EXTREME_TIMES)
    | random_instants
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | json_values
)
good_times = st.datetimes(
    min_value=datetime(2026, 10, 1), max_value=datetime(2027, 3, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
mostly_good_times = good_times | good_times | good_times | times
dates = (
    st.sampled_from(EXTREME_DATES)
    | st.dates().map(lambda day: day.isoformat())
    | random_instants
    | st.sampled_from(EXTREME_NUMBERS)
    | json_values
)
ids = st.sampled_from(CUSTOMERS) | st.sampled_from(CUSTOMERS) | st.text(max_size=4) | json_values
event_ids = st.uuids().map(str) | st.text(min_size=1, max_size=6) | json_values
zones = st.sampled_from(ZONES) | json_values
properties = st.fixed_dictionaries(
    {},
    optional={
        "renewal_date": dates,
        "trial_end": dates,
        "plan": st.sampled_from(["pro", "team"]) | json_values,
        "seats": st.sampled_from(EXTREME_NUMBERS) | st.integers() | json_values,
        "amount": st.sampled_from(EXTREME_NUMBERS) | st.floats() | json_values,
        "score": st.integers(-1, 11) | json_values,
        "feature_id": st.sampled_from(["f-1", "f-2"]) | json_values,
        "order_id": json_values,
    },
) | st.dictionaries(st.text(max_size=6), json_values, max_size=3)
traits = st.fixed_dictionaries(
    {}, optional={"birthday": dates, "plan": json_values, "signup_at": times}
)
canonical = st.fixed_dictionaries(
    {
        "event_id": event_ids,
        "customer_id": ids,
        "type": st.sampled_from(EVENT_TYPES) | json_values,
        "event_time": mostly_good_times,
    },
    optional={
        "schema_version": st.sampled_from([1, 1, 2, "1", True]),
        "anonymous_id": ids,
        "received_at": times,
        "source": json_values,
        "channel": json_values,
        "properties": properties | json_values,
        "traits": traits | json_values,
        "context": st.fixed_dictionaries({}, optional={"timezone": zones, "locale": json_values})
        | json_values,
        "extra": json_values,
    },
)
segment = st.fixed_dictionaries(
    {
        "type": st.sampled_from(SEGMENT_TYPES) | json_values,
        "messageId": event_ids | st.sampled_from(EXTREME_NUMBERS),
    },
    optional={
        "userId": ids | st.sampled_from(EXTREME_NUMBERS),
        "anonymousId": ids,
        "previousId": ids,
        "groupId": ids,
        "event": st.sampled_from(EVENT_TYPES) | json_values,
        "name": json_values,
        "category": json_values,
        "properties": properties | json_values,
        "traits": traits | json_values,
        "context": st.fixed_dictionaries(
            {},
            optional={
                "timezone": zones,
                "locale": json_values,
                "traits": traits | json_values,
                "library": json_values,
            },
        )
        | json_values,
        "timestamp": mostly_good_times,
        "originalTimestamp": times,
        "sentAt": times,
        "receivedAt": times,
        "channel": json_values,
        "integrations": json_values,
    },
)
# Valid envelopes (the engine runs on them) carrying extreme attribute values.
edge_times = st.sampled_from(
    [
        "1970-01-01T00:00:00Z",
        "1970-01-01T10:00:00+10:00",
        "2199-12-31T23:59:59.999999Z",
        "2199-12-31T20:00:00-03:59",
    ]
)
valid_times = good_times | good_times | good_times | edge_times
in_range_numbers = st.sampled_from([n for n in EXTREME_NUMBERS if -(2**63) <= n < 2**64])
valid_dates = (
    st.sampled_from(EXTREME_DATES)
    | st.dates().map(lambda day: day.isoformat())
    | random_instants
    | in_range_numbers
)
real_zones = st.sampled_from([zone for zone in ZONES if "/" in zone or zone == "UTC"])
valid_properties = st.fixed_dictionaries(
    {},
    optional={
        "renewal_date": valid_dates,
        "trial_end": valid_dates,
        "plan": st.sampled_from(["pro", "team"]),
        "seats": in_range_numbers | st.integers(0, 20),
        "amount": in_range_numbers | st.floats(0, 2_000),
        "score": st.integers(0, 10),
        "feature_id": st.sampled_from(["f-1", "f-2"]),
    },
)
valid_traits = st.fixed_dictionaries({}, optional={"birthday": valid_dates, "plan": st.text()})
valid_canonical = st.fixed_dictionaries(
    {
        "event_id": st.uuids().map(str),
        "customer_id": st.sampled_from(CUSTOMERS),
        "type": st.sampled_from(EVENT_TYPES),
        "event_time": valid_times,
    },
    optional={
        "anonymous_id": st.sampled_from(["a-1", "a-2"]),
        "received_at": valid_times,
        "properties": valid_properties,
        "traits": valid_traits,
        "context": st.fixed_dictionaries({}, optional={"timezone": real_zones}),
    },
)
valid_segment = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "track", "identify", "page"]),
        "messageId": st.uuids().map(str),
        "userId": st.sampled_from(CUSTOMERS),
        "event": st.sampled_from(EVENT_TYPES),
        "timestamp": valid_times,
    },
    optional={
        "properties": valid_properties,
        "traits": valid_traits,
        "context": st.fixed_dictionaries(
            {}, optional={"timezone": real_zones, "traits": valid_traits}
        ),
    },
)
batch = st.fixed_dictionaries(
    {"batch": st.lists(segment | segment | json_values, max_size=4) | json_values},
    optional={"sentAt": times, "context": json_values, "event_id": event_ids},
)
messages = (
    valid_canonical
    | valid_canonical
    | valid_canonical
    | valid_segment
    | valid_segment
    | st.fixed_dictionaries({"batch": st.lists(valid_segment | segment, max_size=4)})
    | canonical
    | segment
    | batch
    | json_values
)


def _encode(value: Any) -> bytes:
    """JSON text with exact integers of any size (orjson refuses those beyond 64 bits)."""
    return json.dumps(value).encode()


@st.composite
def _truncated(draw: st.DrawFn) -> bytes:
    raw = _encode(draw(messages))
    return raw[: draw(st.integers(0, len(raw)))]


@st.composite
def _corrupted(draw: st.DrawFn) -> bytes:
    raw = bytearray(_encode(draw(messages)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3", b"\x00", b"\\"]))
    return bytes(raw)


@st.composite
def _nested(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(1, 3_000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    inner = opener * depth + b"1" + closer * depth
    if draw(st.booleans()):
        inner = inner[: draw(st.integers(0, len(inner)))]
    where = draw(st.sampled_from(["top", "properties", "traits", "segment"]))
    if where == "top":
        return inner
    base = draw(canonical if where != "segment" else segment)
    key = "properties" if where == "segment" else where
    placeholder = f'"{key}": null'.encode()
    return _encode({**base, key: None}).replace(placeholder, placeholder[:-4] + inner, 1)


raw_messages = (
    st.binary(max_size=300)
    | messages.map(_encode)
    | messages.map(_encode)
    | messages.map(_encode)
    | messages.map(_encode)
    | messages.map(_encode)
    | _truncated()
    | _corrupted()
    | _nested()
)
raw_cases = st.lists(raw_messages, min_size=1, max_size=6)
"""One case: up to six raw messages, decoded and driven in order for a few customers."""


@dataclass
class Tally:
    """What the checked cases gave (the bench script prints it)."""

    cases: int = 0
    messages: int = 0
    events: int = 0
    wake_ups: int = 0
    merges: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def check_case(raws: Sequence[bytes], tally: Tally | None = None) -> None:
    """Decode and drive ``raws`` in order; raises AssertionError (or the bug) on failure."""
    tally = tally if tally is not None else Tally()
    tally.cases += 1
    states: dict[str, dict[str, CustomerState]] = {}
    for raw in raws:
        tally.messages += 1
        decoded = decode_touchpoints(raw, received_at=RECEIVED_AT)
        for rejection in decoded.rejections:
            assert rejection.reason in DECODER_REASONS, rejection
            assert "internal error" not in rejection.message, rejection.message
            tally.reasons[rejection.reason] = tally.reasons.get(rejection.reason, 0) + 1
        for event in decoded.events:
            tally.events += 1
            mine = states.get(event.key, {})
            done = driver.on_event([DEFAULT], mine, event)
            _encode_outcomes(done)
            mine = done.states
            anonymous = driver.link_of(event) if done.status == "processed" else None
            others = states.pop(anonymous, None) if anonymous is not None else None
            if others:  # the merge replay and the worker do (driver.absorb)
                mine = driver.absorb([DEFAULT], event.key, mine, others)
                tally.merges += 1
                for state in mine.values():
                    dumps(dump_state(state))
            due = driver.due(mine)
            if due is not None:
                tally.wake_ups += 1
                woken = driver.on_time([DEFAULT], mine, due)
                _encode_outcomes(woken)
                mine = woken.states
                later = driver.due(mine)
                assert later is None or later > due, (due, later)
            states[event.key] = mine


def _encode_outcomes(done: driver.Driven) -> None:
    """What the worker writes: the changed states and the delivered triggers."""
    for name in done.changed:
        dumps(dump_state(done.states[name]))
    for _, outcome in done.outcomes:
        for trigger in outcome.triggers:
            dumps(trigger)
