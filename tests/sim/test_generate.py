"""The simulator is a pure, seeded generator: exact counts, determinism, valid output."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction

import orjson
import pytest

from schemas.decode import decode_touchpoints
from streams.sim import names as ev
from streams.sim.population import MALFORMED_PREFIX, generate, generate_load

RECEIVED = datetime(2026, 6, 1, tzinfo=UTC)


def _digest(messages) -> str:
    h = hashlib.sha256()
    for m in messages:
        h.update(m.key or b"-")
        h.update(m.value)
    return h.hexdigest()


@pytest.mark.parametrize("fmt", ["canonical", "segment"])
def test_same_seed_gives_identical_bytes(fmt):
    first = list(generate(11, 150, days=60, fmt=fmt))
    again = list(generate(11, 150, days=60, fmt=fmt))
    assert first == again
    assert _digest(generate(12, 150, days=60, fmt=fmt)) != _digest(first)


def test_seeded_counts_are_pinned():
    """A change to the behaviour model shows up here first (update on purpose only)."""
    kinds = Counter(m.kind for m in generate(7, 100))
    assert kinds[ev.SIGNED_UP] == 100
    assert kinds[ev.IDENTIFY] == 100
    assert sum(kinds.values()) == PINNED_TOTAL
    assert sum(n for k, n in kinds.items() if k.startswith(MALFORMED_PREFIX)) == PINNED_MALFORMED


PINNED_TOTAL = 4665
PINNED_MALFORMED = 46


def test_messages_are_in_event_time_order():
    times = [m.time for m in generate(3, 200)]
    assert times == sorted(times)


@pytest.mark.parametrize("share", ["0", "0.01", "0.05", "0.333"])
def test_malformed_share_is_exact_after_every_message(share):
    s = Fraction(share)
    bad = [m.kind.startswith(MALFORMED_PREFIX) for m in generate(5, 120, 45, malformed_share=s)]
    malformed = 0
    for total, is_bad in enumerate(bad, start=1):
        malformed += is_bad
        if total == len(bad) or not bad[total]:  # after each good message's malformed follow-ups
            assert malformed == int(total * s)
    assert len(bad) > 1_000 and (malformed > 0) == (s > 0)


@pytest.mark.parametrize("fmt", ["canonical", "segment"])
def test_decoder_accepts_good_and_rejects_malformed_with_the_announced_reason(fmt):
    reasons: Counter[str] = Counter()
    for m in generate(9, 150, malformed_share=0.05, fmt=fmt):
        decoded = decode_touchpoints(m.value, received_at=RECEIVED)
        if m.kind.startswith(MALFORMED_PREFIX):
            assert decoded.events == []
            [rejection] = decoded.rejections
            assert rejection.reason.value == m.kind.removeprefix(MALFORMED_PREFIX), m.value
            reasons[rejection.reason.value] += 1
        else:
            assert decoded.rejections == [], m.value
            [event] = decoded.events
            assert event.type == m.kind
            assert m.key == event.key.encode()
    assert len(reasons) == 6  # every kind of damage occurs


def test_population_shape():
    messages = [m for m in generate(21, 400) if not m.kind.startswith(MALFORMED_PREFIX)]
    docs = [orjson.loads(m.value) for m in messages]
    assert len({d["event_id"] for d in docs}) == len(docs)
    customers = {d["customer_id"] for d in docs if d["type"] == ev.SIGNED_UP}
    assert len(customers) == 400
    zones = {d["context"].get("timezone") for d in docs} - {None}
    assert len(zones) >= 15
    anonymous_only = [d for d in docs if "customer_id" not in d]
    assert anonymous_only and all(d["type"] == ev.PAGE_VIEWED for d in anonymous_only)
    linked = {d["anonymous_id"] for d in docs if d["type"] == ev.IDENTIFY and "anonymous_id" in d}
    assert {d["anonymous_id"] for d in anonymous_only} <= linked
    assert 0.2 < len(linked) / 400 < 0.4
    identifies = [d for d in docs if d["type"] == ev.IDENTIFY]
    assert all("birthday" in d["traits"] for d in identifies)
    kinds = Counter(d["type"] for d in docs)
    for needed in (
        ev.KEY_ACTION,
        ev.PURCHASE,
        ev.TRIAL_STARTED,
        ev.SUBSCRIPTION_RENEWED,
        ev.PAYMENT_FAILED,
        ev.CSAT,
        ev.NPS,
        ev.FEATURE_REQUESTED,
        ev.FEATURE_RELEASED,
        ev.DELIVERY_FAILED,
        ev.REFUND_ISSUED,
    ):
        assert kinds[needed] > 0, needed
    # engagement decays: more logins in the first month than in the last
    logins = sorted(
        datetime.fromisoformat(d["event_time"]) for d in docs if d["type"] == ev.LOGGED_IN
    )
    start = datetime(2026, 1, 5, tzinfo=UTC)
    per_signup_month = Counter((t - start).days // 30 for t in logins)
    assert per_signup_month[0] > 0 and per_signup_month[2] > 0


def test_scores_and_amounts_have_the_right_types():
    for m in generate(4, 200, malformed_share=0):
        d = orjson.loads(m.value)
        props = d["properties"]
        if d["type"] == ev.CSAT:
            assert props["score"] in range(1, 6)
        elif d["type"] == ev.NPS:
            assert props["score"] in range(11)
        elif d["type"] == ev.PURCHASE:
            assert isinstance(props["amount"], float) and props["amount"] > 0
        elif d["type"] == ev.TRIAL_STARTED:
            assert datetime.fromisoformat(props["trial_end"])


def test_load_generator_counts_and_key_space():
    messages = list(generate_load(2, 5_000, 1_000))
    assert len(messages) == 5_000
    keys = Counter(m.key for m in messages)
    assert len(keys) <= 1_000
    first: dict[bytes | None, str] = {}
    for m in messages:
        first.setdefault(m.key, m.kind)
    assert set(first.values()) == {ev.SIGNED_UP}
    assert list(generate_load(2, 5_000, 1_000)) == messages
    for m in messages[:200]:
        assert decode_touchpoints(m.value, received_at=RECEIVED).rejections == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"customers": -1}, "customers"),
        ({"customers": 1, "malformed_share": 1.0}, "malformed_share"),
        ({"customers": 1, "fmt": "avro"}, "format"),
    ],
)
def test_bad_arguments_fail_early(kwargs, error):
    with pytest.raises(ValueError, match=error):
        generate(1, **kwargs)


def test_simulate_command_writes_json_lines(tmp_path, capsys):
    from streams.cli import main

    out = tmp_path / "touchpoints.jsonl"
    code = main(["simulate", "--customers", "30", "--seed", "3", "--output", str(out)])
    assert code == 0
    lines = out.read_bytes().splitlines()
    assert lines == [m.value for m in generate(3, 30)]
    assert f"simulate: {len(lines)} messages" in capsys.readouterr().err
