"""The simulator: a seeded population of customers living through a simulated period.

``generate`` is pure (no Kafka, no clock): the same arguments give the same bytes, in
event-time order. ``generate_load`` is a flat mix for benchmarks, where the number of
events and the number of distinct customers are chosen independently. Writing to
Kafka or a file lives in ``streams.sim.output``; the ``journeys simulate`` command below.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, NamedTuple

from streams.sim import names as ev
from streams.sim.effect import Effect
from streams.sim.formats import ENCODERS, FORMATS, Format, dumps, spoil
from streams.sim.life import (
    DAY,
    FEATURES,
    PLANS,
    PRE_SIGNUP_MAX,
    ZONES,
    Life,
    Profile,
    RawEvent,
    draw_profile,
)

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
MALFORMED_PREFIX = "malformed:"


class Message(NamedTuple):
    """One message for the touchpoints topic."""

    key: bytes | None
    value: bytes
    kind: str  # the canonical event type, or "malformed:<expected reject reason>"
    time: float  # event time, epoch seconds


def customer_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:07d}"


def _check(customers: int, days: float, malformed_share: float | Fraction, fmt: str) -> None:
    if customers < 0 or days <= 0:
        raise ValueError("customers must be >= 0 and days > 0")
    if not 0 <= malformed_share < 1:
        raise ValueError("malformed_share must be in [0, 1)")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")


def generate(
    seed: int,
    customers: int,
    days: float = 90,
    start: datetime = DEFAULT_START,
    malformed_share: float | Fraction = 0.01,
    fmt: Format = "canonical",
    *,
    anonymous_share: float = 0.3,
    id_prefix: str = "c",
    effect: Effect | None = None,
) -> Iterator[Message]:
    """Every touchpoint of ``customers`` customers over ``days`` days, in event-time order.

    Customers sign up uniformly over the period. Malformed messages are inserted so that
    after every message ``malformed == floor(total * malformed_share)`` exactly.
    ``effect``: treated customers of a journey reach a goal more often (``sim.effect``).
    """
    _check(customers, days, malformed_share, fmt)
    t0 = start.timestamp()
    end = t0 + days * DAY
    population = random.Random(f"{seed}:population")
    signups = sorted(t0 + population.random() * days * DAY for _ in range(customers))
    releases = _releases(population, t0, end)
    raw = _merge(seed, signups, end, anonymous_share, id_prefix, releases, effect)
    return _encode(raw, seed, malformed_share, fmt)


def _releases(rng: random.Random, t0: float, end: float) -> list[RawEvent]:
    """A few of the most requested features ship during the period."""
    shipped = rng.sample(FEATURES[:10], 4)
    out = []
    for feature in shipped:
        t = t0 + rng.uniform(0.6, 0.95) * (end - t0)
        props = {"feature_id": feature, "name": f"Feature {feature}"}
        out.append(RawEvent(t, ev.FEATURE_RELEASED, ev.RELEASE_SOURCE_ID, None, props))
    return sorted(out, key=lambda r: r.t)


Entry = tuple[float, int, int, RawEvent, Iterator[RawEvent], Profile | None]


def _merge(
    seed: int,
    signups: list[float],
    end: float,
    anonymous_share: float,
    id_prefix: str,
    releases: list[RawEvent],
    effect: Effect | None = None,
) -> Iterator[tuple[RawEvent, str, Profile | None]]:
    """(raw event, event id, profile) for the whole population, in time order."""
    heap: list[Entry] = []
    counters: dict[int, int] = {}

    def push(idx: int, it: Iterator[RawEvent], profile: Profile | None) -> None:
        raw = next(it, None)
        if raw is not None and raw.t < end:
            n = counters[idx] = counters.get(idx, 0) + 1
            heapq.heappush(heap, (raw.t, idx, n, raw, it, profile))

    push(-1, iter(releases), None)
    admitted = 0
    while True:
        while admitted < len(signups) and (
            not heap or signups[admitted] - PRE_SIGNUP_MAX <= heap[0][0]
        ):
            rng = random.Random(f"{seed}:{admitted}")
            cid = customer_id(id_prefix, admitted)
            drawn = draw_profile(rng, cid, signups[admitted], anonymous_share, effect)
            push(admitted, Life(rng, drawn, end).events(), drawn)
            admitted += 1
        if not heap:
            return
        _, idx, n, raw, it, profile = heapq.heappop(heap)
        owner = profile.customer_id if profile is not None else "release"
        yield raw, f"{owner}-{n}", profile
        push(idx, it, profile)


def _encode(
    raw: Iterator[tuple[RawEvent, str, Profile | None]],
    seed: int,
    malformed_share: float | Fraction,
    fmt: Format,
) -> Iterator[Message]:
    encoder = ENCODERS[fmt]
    share = Fraction(str(malformed_share))
    spoiler = random.Random(f"{seed}:malformed")
    malformed = 0
    for good, (event, event_id, profile) in enumerate(raw, start=1):
        tz, locale = (profile.timezone, profile.locale) if profile else (None, None)
        doc = encoder(event, event_id, tz, locale)
        key_id = event.customer_id if event.customer_id is not None else event.anonymous_id
        key = key_id.encode() if key_id is not None else None
        yield Message(key, dumps(doc), event.type, event.t)
        while malformed < int((good + malformed) * share):
            reason, value = spoil(doc, fmt, spoiler)
            malformed += 1
            yield Message(key, value, MALFORMED_PREFIX + reason, event.t)


_LOAD_MIX: tuple[tuple[str, int], ...] = (
    (ev.LOGGED_IN, 40),
    (ev.PAGE_VIEWED, 20),
    (ev.KEY_ACTION, 15),
    (ev.PURCHASE, 8),
    (ev.TICKET_OPENED, 4),
    (ev.CSAT, 4),
    (ev.NPS, 2),
    (ev.PAYMENT_FAILED, 2),
    (ev.SUBSCRIPTION_RENEWED, 2),
    (ev.DELIVERY_FAILED, 1),
    (ev.REFUND_ISSUED, 1),
    (ev.FEATURE_REQUESTED, 1),
)


def generate_load(
    seed: int,
    events: int,
    customers: int,
    days: float = 90,
    start: datetime = DEFAULT_START,
    fmt: Format = "canonical",
    id_prefix: str = "c",
    tag: str = "L",
    signed_up: bool = False,
) -> Iterator[Message]:
    """``events`` valid touchpoints spread uniformly over ``customers`` customers.

    A customer's first event is their sign-up; later ones follow a fixed mix. Event
    times advance evenly over ``days``, so the state holds up to ``customers`` keys.
    Event ids are ``<customer>-<tag><n>``: runs with different tags never collide.
    ``signed_up=True`` continues an earlier load: no customer signs up again.
    """
    _check(customers, days, 0, fmt)
    if customers < 1:
        raise ValueError("customers must be >= 1")
    rng = random.Random(f"{seed}:load")
    seen = bytearray(b"\x01" * customers if signed_up else customers)
    encoder = ENCODERS[fmt]
    types = [t for t, _ in _LOAD_MIX]
    weights = [w for _, w in _LOAD_MIX]
    t0, step = start.timestamp(), days * DAY / max(events, 1)
    for i in range(events):
        idx = rng.randrange(customers)
        cid = customer_id(id_prefix, idx)
        tz, locale, _ = ZONES[idx % len(ZONES)]
        if not seen[idx]:
            seen[idx] = 1
            type_ = ev.SIGNED_UP
        else:
            type_ = rng.choices(types, weights)[0]
        raw = RawEvent(t0 + i * step, type_, cid, None, _load_properties(rng, type_, i))
        doc = encoder(raw, f"{cid}-{tag}{i}", tz, locale)
        yield Message(cid.encode(), dumps(doc), type_, raw.t)


def _load_properties(rng: random.Random, type_: str, i: int) -> dict[str, Any]:
    if type_ in (ev.CSAT, ev.NPS):
        return {"score": rng.randint(1, 5) if type_ == ev.CSAT else rng.randint(0, 10)}
    if type_ in (ev.PURCHASE, ev.REFUND_ISSUED, ev.DELIVERY_FAILED):
        return {"order_id": f"o{i}", "amount": round(rng.uniform(5, 200), 2), "currency": "EUR"}
    if type_ == ev.FEATURE_REQUESTED:
        return {"feature_id": rng.choice(FEATURES)}
    if type_ in (ev.SUBSCRIPTION_RENEWED, ev.PAYMENT_FAILED):
        return {"plan": rng.choice(PLANS), "amount": 29.0, "renewal_date": "2026-06-01"}
    if type_ == ev.SIGNED_UP:
        return {"plan": "free"}
    return {}
