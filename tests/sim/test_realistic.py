"""Realistic traffic: exact properties of what the simulated SDKs send, and when."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
import pytest

from schemas.decode import decode_touchpoints
from streams.sim import Arrival, Realistic, realistic
from streams.sim import names as ev
from streams.sim.client import APP, OTHER, SERVER, WEB, Devices, draw_devices
from streams.sim.delivery import ACK_TIMEOUT, RETRY_LATEST
from streams.sim.formats import iso
from streams.sim.population import MALFORMED_PREFIX, customer_id
from streams.sim.traffic import parse_duration

SEED, CUSTOMERS, DAYS = 4, 400, 30.0


@cache
def traffic(seed: int = SEED, **knobs: float) -> tuple[Arrival, ...]:
    return tuple(realistic(seed, CUSTOMERS, DAYS, traffic=Realistic(**knobs)))  # type: ignore[arg-type]


def devices(seed: int = SEED, customers: int = CUSTOMERS, **knobs: float) -> dict[str, Devices]:
    knobbed = Realistic(**knobs)  # type: ignore[arg-type]
    out = {}
    for i in range(customers):
        cid = customer_id("c", i)
        out[cid] = draw_devices(random.Random(f"{seed}:{i}:client"), cid, knobbed)
    return out


def doc(a: Arrival) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(a.message.value)
    return parsed


def firsts(arrivals: tuple[Arrival, ...]) -> list[Arrival]:
    return [a for a in arrivals if not a.retry]


def test_same_seed_same_traffic_other_seed_other_traffic() -> None:
    assert realistic(9, 50, 10) == realistic(9, 50, 10)
    assert realistic(9, 50, 10) != realistic(10, 50, 10)


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_share_of_anonymous_first_sign_ups(share: float) -> None:
    who = devices(anonymous_first=share)
    sign_ups = [a for a in firsts(traffic(anonymous_first=share)) if a.message.kind == ev.SIGNED_UP]
    assert len(sign_ups) == CUSTOMERS
    anonymous = {a.person for a in sign_ups if "userId" not in doc(a)}
    assert anonymous == {cid for cid, d in who.items() if d.anonymous_first}
    for a in sign_ups:  # tracked under the browser's anonymousId, as analytics.js does
        assert doc(a)["anonymousId"] == who[a.person].web
        assert a.message.key == (who[a.person].web if a.person in anonymous else a.person).encode()
    if share in (0.0, 1.0):
        assert len(anonymous) == CUSTOMERS * share
    else:
        assert abs(len(anonymous) / CUSTOMERS - share) < 0.07


def test_every_identify_links_the_persons_own_ids_and_every_anonymous_id_is_linked() -> None:
    who = devices()
    linked: dict[str, set[str]] = defaultdict(set)
    seen: dict[str, set[str]] = defaultdict(set)
    for a in traffic():
        d = doc(a)
        if a.person == ev.RELEASE_SOURCE_ID:
            continue
        if "anonymousId" in d:
            seen[a.person].add(d["anonymousId"])
        if d["type"] == "identify":
            assert d["userId"] == a.person
            expected = {WEB: who[a.person].web, OTHER: who[a.person].other, APP: who[a.person].app}
            assert d["anonymousId"] == expected[a.device]
            linked[a.person].add(d["anonymousId"])
    assert seen == linked  # no anonymous id stays unlinked, none is shared by two people
    others = [cid for cid, d in who.items() if d.other is not None]
    assert others and all(who[c].other in linked[c] for c in others)


def test_anonymous_first_identify_comes_after_the_sign_up_sometimes_on_another_device() -> None:
    who = devices()
    sign_up: dict[str, float] = {}
    identified: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for a in firsts(traffic()):
        if a.message.kind == ev.SIGNED_UP:
            sign_up[a.person] = a.message.time
        elif a.message.kind == ev.IDENTIFY and a.device in (WEB, OTHER):
            identified[a.person].append((a.message.time, a.device))
    for cid, d in who.items():
        [(web_t, _)] = [x for x in identified[cid] if x[1] == WEB]
        if not d.anonymous_first:
            assert web_t < sign_up[cid]
        elif d.other is None:
            assert 5 <= web_t - sign_up[cid] <= 900
        else:
            [(other_t, _)] = [x for x in identified[cid] if x[1] == OTHER]
            assert sign_up[cid] < other_t < web_t


def test_delays_are_within_their_bounds() -> None:
    knobs = Realistic()
    app: list[float] = []
    for a in firsts(traffic()):
        delay = a.at - a.message.time
        assert delay > 0
        if a.device == APP:
            assert delay <= knobs.latest
            app.append(delay)
        else:
            assert delay <= (0.7 if a.device == SERVER else 1.6)
    assert max(app) > knobs.delay_median  # some flushes are held back for long
    assert sorted(app)[len(app) // 2] < knobs.flush_every  # most leave within a flush


def test_delay_knob_sets_the_held_back_flushes() -> None:
    hours = [
        a.at - a.message.time
        for a in traffic(delay_median=parse_duration("1h"), delay_max=parse_duration("3h"))
        if a.device == APP and not a.retry
    ]
    assert max(hours) <= 3 * 3600 + 2 and max(hours) > 3600
    assert all(a.at - a.message.time < 32 for a in firsts(traffic(offline=0.0)) if a.device == APP)


def test_app_events_arrive_in_batches_with_sent_at_after_timestamp() -> None:
    batches: Counter[tuple[str, float]] = Counter()
    for a in firsts(traffic()):
        if a.device == APP:
            d = doc(a)
            batches[(a.person, a.at)] += 1
            if "timestamp" in d:
                assert d["sentAt"] > d["timestamp"]
            assert d["context"]["library"]["name"] in ("analytics-kotlin", "analytics-swift")
    assert max(batches.values()) > 1
    assert max(batches.values()) <= Realistic().flush_at


@pytest.mark.parametrize("share", [0.0, 0.02, 0.2])
def test_duplicates_are_retries_with_identical_message_ids(share: float) -> None:
    arrivals = traffic(retry=share)
    by_id: dict[str, list[Arrival]] = defaultdict(list)
    for a in arrivals:
        by_id[doc(a)["messageId"]].append(a)
    twice = {m: copies for m, copies in by_id.items() if len(copies) > 1}
    assert all(len(copies) == 2 for copies in twice.values())
    assert len(twice) == sum(a.retry for a in arrivals)
    for first, again in twice.values():
        assert (first.retry, again.retry) == (False, True)
        assert first.message.key == again.message.key and first.message.kind == again.message.kind
        assert ACK_TIMEOUT - 1.5 < again.at - first.at <= RETRY_LATEST
        one, other = doc(first), doc(again)
        del one["sentAt"], one["receivedAt"], other["sentAt"], other["receivedAt"]
        assert one == other  # only the send and receive times differ
    if share == 0:
        assert not twice
    else:
        assert abs(len(twice) / len(arrivals) - share) < share / 2 + 0.01


def test_arrival_order_is_not_event_order() -> None:
    arrivals = traffic()
    assert [a.at for a in arrivals] == sorted(a.at for a in arrivals)
    for a in arrivals[:500]:
        assert doc(a)["receivedAt"] == iso(a.at)
    assert [a.message.time for a in arrivals] != sorted(a.message.time for a in arrivals)
    crossed = 0  # one person's events from two devices, the later one arriving first
    last: dict[str, dict[str, float]] = defaultdict(dict)
    for a in firsts(arrivals):
        latest = last[a.person]
        crossed += any(t > a.message.time for d, t in latest.items() if d != a.device)
        # one device sends in order; only requests under 1.5 s apart may overtake
        assert latest.get(a.device, 0.0) - a.message.time < 1.6
        latest[a.device] = max(latest.get(a.device, 0.0), a.message.time)
    assert crossed > CUSTOMERS // 4


def test_skewed_devices_send_their_own_clock_corrected_by_the_decoder() -> None:
    skewed = {cid: dict(d.skew) for cid, d in devices().items() if d.skew}
    assert 0 < len(skewed) < CUSTOMERS * 0.3
    checked = 0
    for a in firsts(traffic()):
        d = doc(a)
        off = skewed.get(a.person, {}).get(a.device)
        assert ("originalTimestamp" in d) == bool(off) != ("timestamp" in d)
        if off:
            checked += 1
            [event] = decode_touchpoints(a.message.value, received_at=datetime.now(UTC)).events
            assert 0 <= event.event_time.timestamp() - a.message.time <= 1.6
    assert checked > 0


def test_every_message_decodes_and_spoiled_ones_are_rejected_as_announced() -> None:
    arrivals = realistic(SEED, 200, DAYS, malformed_share=0.02)
    reasons: Counter[str] = Counter()
    for a in arrivals:
        decoded = decode_touchpoints(a.message.value, received_at=datetime.now(UTC))
        if a.message.kind.startswith(MALFORMED_PREFIX):
            [rejection] = decoded.rejections
            assert rejection.reason.value == a.message.kind.removeprefix(MALFORMED_PREFIX)
            reasons[rejection.reason.value] += 1
            continue
        assert decoded.rejections == [], a.message.value
        [event] = decoded.events
        assert event.type == a.message.kind
        assert a.message.key == event.key.encode()
        if "timestamp" in doc(a):
            assert abs(event.event_time.timestamp() - a.message.time) <= 0.001
    assert sum(reasons.values()) == int(len(arrivals) * 0.02) and len(reasons) >= 4


def test_bad_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="anonymous_first"):
        Realistic(anonymous_first=1.5)
    with pytest.raises(ValueError, match="median"):
        Realistic(delay_median=7200, delay_max=3600)
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")
    assert parse_duration("20m") == 1200 and parse_duration("2d") == 172_800
