"""Live fault scenarios on the real broker, asserting exact sets (issue 13, item 7).

1. A flood of bad input of every class, interleaved with a generated population: each
   bad message is dead-lettered exactly once with its exact reason, the dead-letter
   counter says the same, two odd-but-valid events are processed (with an engine note),
   and the triggers the worker committed equal, id for id, what replay computes from
   what the worker read, and what replay computes without the flood.
2. One event dated five years ahead, on a partition where customers have pending
   onboarding nudges: dead-lettered ``future_timestamp``, it moves no clock (no nudge
   fires); an event two days after the sign-ups then fires exactly the day-1 nudges.

Each scenario runs its own worker (event clock, its own topics), so their partition
clocks, dead letters and counters never mix.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from journeys import in_holdout
from journeys.timeutil import off_calendar_note
from schemas.deadletters import MAX_DEAD_LETTER_PAYLOAD_BYTES
from schemas.triggers import Cause, trigger_id
from streams.kafka.offsets import Offsets
from streams.settings import Settings
from streams.sim.population import generate
from tests.live.oracle import replay_worker_input
from tests.live.worker_harness import WorkerProcess

pytestmark = [pytest.mark.live, pytest.mark.slow]

SEED = 13
CUSTOMERS = 40
DAYS = 15.0
FLOOD = "flood-"  # key, customer and event id prefix of everything the flood adds


@pytest.fixture
def worker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A fresh worker (event clock, two partitions) for one scenario."""
    w = WorkerProcess(kafka_bootstrap, tmp_path)
    w.start()
    try:
        yield w
    finally:
        w.stop()


# -- helpers ---------------------------------------------------------------------------


def wait_drained(worker: WorkerProcess, timeout: float = 60.0) -> None:
    """Until the worker's group has committed every record of its three inputs, twice in
    a row: everything it produced for them (one transaction per batch) is committed too."""
    offsets = Offsets(Settings(bootstrap_servers=worker.bootstrap))
    inputs = [worker.topics[r] for r in ("touchpoints", "keyed", "wakeups")]
    deadline = time.monotonic() + timeout
    quiet = 0
    try:
        while time.monotonic() < deadline:
            quiet = quiet + 1 if offsets.lag(worker.prefix, inputs, markers=True) == 0 else 0
            if quiet == 2:
                return
            time.sleep(0.5)
    finally:
        offsets.close()
    raise AssertionError(f"the worker did not drain its input:\n{worker.log_tail()}")


def metrics_dead_letters(worker: WorkerProcess) -> Counter[str]:
    """``journeys_dead_letters_total`` by reason, from the worker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    pattern = re.compile(r'^journeys_dead_letters_total\{reason="([^"]+)"\} ([0-9.e+]+)$', re.M)
    return Counter({reason: int(float(n)) for reason, n in pattern.findall(text) if float(n)})


def dead_letters(worker: WorkerProcess, expect: int) -> list[dict[str, Any]]:
    """The committed dead letters, once ``expect`` are there (plus a settle for extras)."""
    raw = worker.read_records("deadletters", expect=expect, timeout=30, settle=2.0)
    return [json.loads(v) for _, v in raw]


def letter_key(letter: dict[str, Any]) -> str | None:
    return None if letter["key_b64"] is None else base64.b64decode(letter["key_b64"]).decode()


def by_id(triggers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {t["trigger_id"]: t for t in triggers}
    assert len(found) == len(triggers), "a trigger id twice"
    return found


def assert_same_triggers(live: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    got, expected = by_id(live), by_id(want)
    missing = sorted(expected.keys() - got.keys())
    extra = sorted(got.keys() - expected.keys())
    assert (missing, extra) == ([], []), (
        [expected[i] for i in missing[:3]],
        [got[i] for i in extra[:3]],
    )
    assert got == expected


def canonical(
    event_id: str, customer: str, type_: str, at: datetime | str, **fields: Any
) -> dict[str, Any]:
    when = at if isinstance(at, str) else at.isoformat().replace("+00:00", "Z")
    return {
        "event_id": event_id,
        "customer_id": customer,
        "type": type_,
        "event_time": when,
        **fields,
    }


def encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


# -- 1. a bad-input flood mixed into valid traffic ---------------------------------------


@dataclass(frozen=True)
class Bad:
    """One bad message of the flood and the dead letter it must give."""

    key: str
    raw: bytes
    reason: str
    item_index: int | None = None


def flood(population: list[Any], now: datetime) -> tuple[list[Bad], list[tuple[str, bytes]]]:
    """The bad messages (with their expected dead letters) and the odd-but-valid ones;
    each has its own key (customer ``flood-<name>``, event id the same)."""
    inside = datetime.fromtimestamp(population[0].time, UTC) + timedelta(days=2)

    def page(name: str, at: datetime | str, **fields: Any) -> dict[str, Any]:
        return canonical(FLOOD + name, FLOOD + name, "page_viewed", at, **fields)

    segment = {"type": "track", "userId": f"{FLOOD}seg", "event": "Login"}
    batch = {
        "batch": [
            {**segment, "messageId": f"{FLOOD}seg-1", "timestamp": inside.isoformat()},
            {**segment, "timestamp": inside.isoformat()},  # no messageId
        ]
    }
    bad = [
        Bad(f"{FLOOD}json", b'{"event_id": "flood-json", "type": ', "invalid_json"),
        Bad(f"{FLOOD}utf8", b'{"event_id": "flood-\xff\xfe", "type": "x"}', "invalid_encoding"),
        Bad(f"{FLOOD}big", encode(page("big", inside, properties={"pad": "x" * 900_000})),
            "too_large"),
        Bad(f"{FLOOD}y9999", encode(page("y9999", "9999-06-01T00:00:00Z")),
            "timestamp_out_of_range"),
        Bad(f"{FLOOD}y1969", encode(page("y1969", "1969-12-31T23:59:59Z")),
            "timestamp_out_of_range"),
        Bad(f"{FLOOD}future", encode(page("future", now + timedelta(days=5 * 365))),
            "future_timestamp"),
        Bad(f"{FLOOD}batch", encode(batch), "missing_event_id", item_index=1),
    ]  # fmt: skip
    renewal = {"renewal_date": "0001-01-02", "plan": "pro"}
    odd = [
        (f"{FLOOD}renewal", encode(canonical(
            f"{FLOOD}renewal", f"{FLOOD}renewal", "subscription_started", inside,
            properties=renewal))),
        (f"{FLOOD}birthday", encode(canonical(
            f"{FLOOD}birthday", f"{FLOOD}birthday", "identified", inside,
            traits={"birthday": "9999-12-31"}))),
    ]  # fmt: skip
    return bad, odd


def too_late(population: list[Any]) -> tuple[int, Bad]:
    """An event of the population customer with the most messages keyed by its id, three
    days (the allowed lateness is two) before its latest such event; placed right after
    that one, so its customer's clock is there when it comes."""
    own = [
        (i, m)
        for i, m in enumerate(population)
        if m.key is not None and orjson.loads(m.value).get("customer_id") == m.key.decode()
    ]
    customer = Counter(m.key for _, m in own).most_common(1)[0][0]
    last, latest = max((i, m.time) for i, m in own if m.key == customer)
    at = datetime.fromtimestamp(latest, UTC) - timedelta(days=3)
    late = canonical(f"{FLOOD}late", customer.decode(), "page_viewed", at)
    return last + 1, Bad(customer.decode(), encode(late), "too_late")


def test_a_bad_input_flood_changes_nothing_for_the_valid_customers(
    worker: WorkerProcess,
) -> None:
    population = list(generate(seed=SEED, customers=CUSTOMERS, days=DAYS, malformed_share=0))
    bad, odd = flood(population, datetime.now(UTC))
    late_at, late = too_late(population)
    extra: list[tuple[str, bytes]] = [(b.key, b.raw) for b in bad] + odd
    messages: list[tuple[str | bytes | None, bytes]] = [(m.key, m.value) for m in population]
    messages.insert(late_at, (late.key, late.raw))
    step = len(messages) // (len(extra) + 1)
    for n, message in reversed(list(enumerate(extra, start=1))):  # spread through the stream
        messages.insert(n * step, message)
    worker.produce(messages)
    bad.append(late)

    # every bad message dead-lettered exactly once, with its exact reason
    letters = dead_letters(worker, expect=len(bad))
    wait_drained(worker)
    got = Counter((letter_key(d), d["reason"], d["item_index"]) for d in letters)
    assert got == Counter((b.key, b.reason, b.item_index) for b in bad)
    by_key = {letter_key(d): d for d in letters}
    for b in bad:
        letter = by_key[b.key]
        kept = b.raw if b.reason != "too_large" else b.raw[:MAX_DEAD_LETTER_PAYLOAD_BYTES]
        assert base64.b64decode(letter["payload_b64"]) == kept, b.key
        assert letter["payload_truncated"] is (kept != b.raw)
        assert letter["payload_size"] == len(b.raw)
        assert letter["payload_sha256"] == hashlib.sha256(b.raw).hexdigest()
        assert letter["topic"] == worker.topics["touchpoints"]
        assert letter["partition"] == worker.partition_of(b.key)
    assert metrics_dead_letters(worker) == Counter(b.reason for b in bad)

    # the odd-but-valid events: processed, each with its engine note; no timer armed
    replayed = replay_worker_input(worker)
    renewal = ["renewal_reminder_30d", "renewal_reminder_7d"]
    assert replayed.status[f"{FLOOD}renewal"] == "processed"
    assert replayed.notes[f"{FLOOD}renewal"] == [
        off_calendar_note(rule, "renewal_date", "0001-01-02") for rule in renewal
    ]
    assert replayed.status[f"{FLOOD}birthday"] == "processed"
    assert replayed.notes[f"{FLOOD}birthday"] == [
        off_calendar_note("birthday", "birthday", "9999-12-31")
    ]
    assert replayed.status[f"{FLOOD}seg-1"] == "processed"
    assert replayed.status[f"{FLOOD}late"] == "late"
    for customer, attribute, value in (
        (f"{FLOOD}renewal", "renewal_date", "0001-01-02"),
        (f"{FLOOD}birthday", "birthday", "9999-12-31"),
    ):
        status, body = worker.get(f"/customers/{customer}")
        assert status == 200, body
        state = body["journeys"]["lifecycle"]
        assert (state["events"], state["attributes"][attribute], state["timers"]) == (1, value, {})
    assert worker.get(f"/customers/{FLOOD}future")[0] == 404  # never reached its state

    # the triggers: live == replay of what the worker read == replay without the flood
    live = [json.loads(v) for _, v in worker.read_records(
        "triggers", expect=len(replayed.triggers), timeout=30, settle=2.0)]  # fmt: skip
    assert live, "the population should trigger something"
    assert_same_triggers(live, replayed.triggers)
    assert {t["cause"]["type"] for t in live} == {"event", "timer"}
    without = replay_worker_input(worker, keep=lambda e: not e.event_id.startswith(FLOOD))
    assert_same_triggers(live, without.triggers)
    assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()


# -- 2. one future-dated event beside pending timers -------------------------------------


def names_on(worker: WorkerProcess, base: str, partition: int, n: int) -> list[str]:
    """``n`` customer ids on ``partition``, none in the holdout (they get every trigger)."""
    names = (f"{base}-{worker.prefix}-{i}" for i in itertools.count())
    fits = (
        name
        for name in names
        if worker.partition_of(name) == partition and not in_holdout(name, "lifecycle", 5)
    )
    return list(itertools.islice(fits, n))


def rule_id(customer: str, rule: str, cause: Cause) -> str:
    return trigger_id(customer, "lifecycle", 1, rule, cause.key)


def test_a_future_dated_event_moves_no_clock_and_fires_no_pending_timer(
    worker: WorkerProcess,
) -> None:
    now = datetime.now(UTC)
    t0 = datetime.combine((now - timedelta(days=10)).date(), datetime.min.time(), UTC)
    t0 += timedelta(hours=12)  # noon UTC: the day-1 nudges fall outside the quiet hours
    partition = 1
    customers = names_on(worker, "pending", partition, 4)
    [other] = names_on(worker, "other", partition, 1)
    signups = [
        canonical(f"s-{n}", c, "signed_up", t0 + timedelta(minutes=n), properties={"plan": "pro"})
        for n, c in enumerate(customers)
    ]
    future = canonical("future-1", other, "page_viewed", now + timedelta(days=5 * 365))
    worker.produce([*((e["customer_id"], e) for e in signups), (other, future)])

    welcomes = {
        rule_id(c, "welcome", Cause(type="event", event_ids=[e["event_id"]]))
        for c, e in zip(customers, signups, strict=True)
    }
    [letter] = dead_letters(worker, expect=1)
    assert (letter_key(letter), letter["reason"]) == (other, "future_timestamp")
    assert (letter["topic"], letter["partition"]) == (worker.topics["touchpoints"], partition)
    assert base64.b64decode(letter["payload_b64"]) == encode(future)
    wait_drained(worker)
    got = worker.read_records("triggers", expect=len(welcomes), timeout=30, settle=3.0)
    assert [json.loads(v)["kind"] for _, v in got] == ["onboarding.welcome"] * len(customers)
    assert {json.loads(v)["trigger_id"] for _, v in got} == welcomes
    assert worker.get(f"/customers/{other}")[0] == 404  # it never reached a state

    later = canonical("later-1", other, "page_viewed", t0 + timedelta(days=2))
    worker.produce([(other, later)])
    nudges = {
        rule_id(
            c,
            "nudge_day_1",
            Cause(type="timer", timer="nudge_day_1", due_at=t0 + timedelta(days=1, minutes=n)),
        )
        for n, c in enumerate(customers)
    }
    expected = welcomes | nudges
    wait_drained(worker)
    got = worker.read_records("triggers", expect=len(expected), timeout=30, settle=2.0)
    found = [json.loads(v) for _, v in got]
    assert len(found) == len(expected), [t["kind"] for t in found]
    assert {t["trigger_id"] for t in found} == expected
    assert Counter(t["kind"] for t in found) == Counter(
        {"onboarding.welcome": len(customers), "onboarding.nudge_day_1": len(customers)}
    )
    assert metrics_dead_letters(worker) == Counter({"future_timestamp": 1})
