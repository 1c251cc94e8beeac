"""Realistic traffic: the population's touchpoints as the SDKs send them, in arrival order.

The same people live the same kind of lives as in tidy traffic (``sim.population``:
the same sign-up times, the same behaviour model), but each event is sent by one of the
person's devices (``sim.client``), reaches the collector when that device's SDK sends
it (``sim.delivery``), and is stored as the collector stores it (``sim.sdk``: a Segment
message with ``receivedAt``). The result is in the order the collector receives the
messages, which is not event order: app batches arrive late, retries twice.

A known effect (``sim.effect``) follows the person, whatever key an event is under:
whether the person is treated is decided on the key of their first message
(:attr:`~streams.sim.client.Devices.entry_key`), the id their journey starts under,
and changes the draws of their life as in tidy traffic.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from typing import NamedTuple

from streams.sim import names as ev
from streams.sim.client import SERVER, Call, Devices, draw_devices, message_id, route
from streams.sim.delivery import Request, deliver
from streams.sim.effect import Effect
from streams.sim.formats import dumps, spoil
from streams.sim.life import DAY, Life, RawEvent, draw_profile
from streams.sim.population import (
    DEFAULT_START,
    MALFORMED_PREFIX,
    Message,
    _check,
    _releases,
    customer_id,
)
from streams.sim.sdk import message
from streams.sim.traffic import Realistic


class Arrival(NamedTuple):
    """One message as the collector receives it.

    ``at``: when (epoch seconds, the message's ``receivedAt``); ``message``: key, value,
    kind and the true event time; ``person``: whose life it is (the customer id, or the
    source of a non-person event); ``device``: web, other, app or server; ``retry``: a
    second copy of an earlier message (same ``messageId``)."""

    at: float
    message: Message
    person: str
    device: str
    retry: bool


def realistic(
    seed: int,
    customers: int,
    days: float = 90,
    start: datetime = DEFAULT_START,
    traffic: Realistic | None = None,
    *,
    malformed_share: float | Fraction = 0.0,
    id_prefix: str = "c",
    effect: Effect | None = None,
) -> list[Arrival]:
    """Every message of ``customers`` people over ``days`` days, in arrival order.

    Pure and seeded: the same arguments give the same list. Every event is within the
    period; a late one may arrive after its end (by at most ``traffic.latest`` seconds,
    a retry a minute more). ``malformed_share``: spoiled
    copies inserted (as ``generate`` does) after good messages, with the same arrival.
    """
    traffic = traffic or Realistic()
    _check(customers, days, malformed_share, "segment")
    t0 = start.timestamp()
    end = t0 + days * DAY
    population = random.Random(f"{seed}:population")
    signups = sorted(t0 + population.random() * days * DAY for _ in range(customers))
    out = _product_team(_releases(population, t0, end), random.Random(f"{seed}:releases"))
    for index, signup in enumerate(signups):
        out.extend(
            _person(seed, index, customer_id(id_prefix, index), signup, end, traffic, effect)
        )
    out.sort(key=lambda a: a.at)
    return _spoiled(out, seed, malformed_share)


def _person(
    seed: int,
    index: int,
    cid: str,
    signup: float,
    end: float,
    traffic: Realistic,
    effect: Effect | None,
) -> list[Arrival]:
    rng = random.Random(f"{seed}:{index}")
    client = random.Random(f"{seed}:{index}:client")
    who = draw_devices(client, cid, traffic)
    drawn = draw_profile(
        rng, who.entry_key, signup, 1.0 if who.browses else 0.0, effect, who.entry_key
    )
    profile = replace(drawn, customer_id=cid, anonymous_id=who.web if who.browses else None)
    calls = route(who, list(Life(rng, profile, end).events()), client, end)
    requests = deliver(calls, traffic, client)
    return _arrivals(requests, cid, who, profile.timezone, profile.locale)


def _arrivals(
    requests: list[Request],
    person: str,
    who: Devices | None,
    zone: str | None = None,
    locale: str | None = None,
) -> list[Arrival]:
    out = []
    for request in requests:
        for call in request.calls:
            doc = message(call, request, who, zone, locale)
            key = call.event.customer_id or call.event.anonymous_id
            value = Message(
                key.encode() if key else None, dumps(doc), call.event.type, call.event.t
            )
            out.append(Arrival(request.arrival, value, person, call.device, request.retry))
    return out


def _product_team(releases: list[RawEvent], rng: random.Random) -> list[Arrival]:
    """Feature releases: sent by the product team's backend, at once."""
    out = []
    for raw in releases:
        call = Call(SERVER, raw, message_id(rng, SERVER))
        sent = raw.t + rng.uniform(0.01, 0.5)
        request = Request(SERVER, sent, sent + rng.uniform(0.005, 0.1), (call,))
        out.extend(_arrivals([request], ev.RELEASE_SOURCE_ID, None))
    return out


def _spoiled(good: list[Arrival], seed: int, malformed_share: float | Fraction) -> list[Arrival]:
    """Spoiled copies after good messages, so that after each good message's copies
    ``malformed == floor(total * share)`` exactly, as in tidy traffic."""
    share = Fraction(str(malformed_share))
    if not share:
        return good
    import orjson

    spoiler = random.Random(f"{seed}:malformed")
    out: list[Arrival] = []
    malformed = 0
    for count, arrival in enumerate(good, start=1):
        out.append(arrival)
        while malformed < int((count + malformed) * share):
            reason, value = spoil(orjson.loads(arrival.message.value), "segment", spoiler)
            malformed += 1
            spoilt = arrival.message._replace(value=value, kind=MALFORMED_PREFIX + reason)
            out.append(arrival._replace(message=spoilt, retry=False))
    return out
