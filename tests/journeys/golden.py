"""Golden outputs of the journey engine: inputs and every output, recorded once.

The engine is meant to stay bit-for-bit stable: stored states (tables, changelogs) are
read back by later versions and trigger ids must never change. This module drives
``journeys.driver`` the way replay does (``on_event`` per event, ``absorb`` when an event
links an anonymous key, fan-out subscriptions and publications through
``journeys.fanout``, ``on_time`` wake-ups at due times) and records, per step, the
combined status, every outcome (triggers with their ids, suppressed triggers,
transitions, attribute changes, notes), the JSON of every changed state and the next due
time. ``tests/journeys/test_golden.py`` replays the recorded inputs and compares the
outputs byte for byte (as canonical JSON), so any change to what the engine computes,
down to an int that became a float, fails.

Inputs, stored with the outputs (the test never imports ``streams``, which is moving):

* ``sim-load``: the benchmark mix (``generate_load``), decoded as the worker decodes it;
* ``sim-population``: the population simulator (sign-ups, anonymous visitors merged on
  identify, feature requests and releases);
* ``random-*``: seeded random stories over the default journey and a definition with the
  odd timer paths (``factories.ODD``, declaring a per-customer cap across both) driven
  together: late and duplicate events, zone changes, odd attribute values, anonymous
  keys merged later, fan-out, states reloaded from JSON (as after a cache miss) and
  states of an older definition version.

Regenerate (only when an output change is intended, and say so in the commit):

    .venv/bin/python -m tests.journeys.golden
"""

from __future__ import annotations

import heapq
import lzma
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from journeys import Journey, default_journey, driver, fanout
from journeys.definition import Deployment, FrequencyCap
from journeys.fanout import FanoutIndex
from journeys.state import CustomerState, dump_state, load_state
from schemas import TouchpointEvent
from schemas.codec import isoformat_utc
from tests.journeys.factories import (
    DATES,
    DEFAULT_KINDS,
    ODD,
    ODD_KINDS,
    T0,
    ZONES,
    customer_in_holdout,
)

GOLDEN = Path(__file__).resolve().parent / "data" / "golden.jsonl.xz"
FORMAT = 1

Record = dict[str, Any]


def definitions_of(case: str) -> list[Journey]:
    default = default_journey()
    return [default, odd_deployed()] if case.startswith("random") else [default]


@cache
def odd_deployed() -> Journey:
    """``ODD`` declaring the random cases' deployment settings: a per-customer cap of 3
    marketing triggers per 7 days over both journeys (``deployment.frequency_cap``)."""
    cap = FrequencyCap(max=3, within=timedelta(days=7))
    return ODD.model_copy(update={"deployment": Deployment(frequency_cap=cap)})


# -- serialising outputs (independent of the engine's own types) --------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat_utc(moment)


def outcome_json(outcome: Any) -> Record:
    return {
        "status": outcome.status,
        "triggers": [t.model_dump(mode="json") for t in outcome.triggers],
        "suppressed": [
            {
                "rule": s.rule,
                "kind": s.kind,
                "reason": s.reason,
                "trigger": s.trigger.model_dump(mode="json"),
            }
            for s in outcome.suppressed
        ],
        "transitions": [
            [t.rule, t.stage_before, t.stage_after, _iso(t.at), t.kind] for t in outcome.transitions
        ],
        "deferred": [t.trigger_id for t in outcome.deferred],
        "changes": [[c.rule, c.name, c.old, c.new] for c in outcome.changes],
        "notes": list(outcome.notes),
    }


def driven_json(op: str, key: str, done: driver.Driven) -> Record:
    return {
        "op": op,
        "key": key,
        "status": done.status,
        "changed": list(done.changed),
        "outcomes": [[name, outcome_json(o)] for name, o in done.outcomes],
        "states": {name: dump_state(done.states[name]) for name in done.changed},
        "due": _iso(driver.due(done.states)),
    }


# -- the harness: replay's loop, with wake-ups at due times -------------------------------


class Harness:
    """Per-key states driven like replay; every call's outputs appended to ``out``."""

    def __init__(self, definitions: Sequence[Journey]) -> None:
        self.definitions = list(definitions)
        self.states: dict[str, dict[str, CustomerState]] = {}
        self.index: dict[str, FanoutIndex] = {}
        self.wakeups: list[tuple[datetime, str]] = []
        self.out: list[Record] = []

    def event(self, event: TouchpointEvent) -> None:
        self.wake(event.event_time)
        self._event(event)

    def _event(self, event: TouchpointEvent) -> None:
        key = event.key
        done = driver.on_event(self.definitions, self.states.get(key, {}), event)
        self._keep(key, done.states)
        self.out.append(driven_json("event", key, done))
        if done.status != "processed":
            return
        anonymous = driver.link_of(event)
        others = self.states.pop(anonymous, None) if anonymous is not None else None
        if others:
            merged = driver.absorb(self.definitions, key, self.states[key], others)
            self._keep(key, merged)
            self.out.append(
                {
                    "op": "absorb",
                    "key": key,
                    "states": {n: dump_state(s) for n, s in sorted(merged.items())},
                    "due": _iso(driver.due(merged)),
                }
            )
        for one in fanout.derive(self.index, self.definitions, event):
            self.out.append({"op": "derived", "event": one.model_dump(mode="json")})
            self._event(one)

    def wake(self, until: datetime) -> None:
        """Wake every key due at or before ``until``, each at its own due time."""
        while self.wakeups and self.wakeups[0][0] <= until:
            at, key = heapq.heappop(self.wakeups)
            states = self.states.get(key)
            if states is None or driver.due(states) != at:
                continue  # stale entry: rescheduled or merged away
            done = driver.on_time(self.definitions, states, at)
            self._keep(key, done.states)
            self.out.append(driven_json("time", key, done))

    def reload(self, key: str, version_shift: int = 0) -> None:
        """The key's states read back from their JSON (optionally of another version)."""
        states = self.states.get(key)
        if not states:
            return
        back: dict[str, CustomerState] = {}
        for name, state in states.items():
            obj = dump_state(state)
            obj["journey_version"] += version_shift
            back[name] = load_state(obj)
        self._keep(key, back)
        self.out.append({"op": "reload", "key": key, "shift": version_shift})

    def _keep(self, key: str, states: dict[str, CustomerState]) -> None:
        self.states[key] = states
        due = driver.due(states)
        if due is not None:
            heapq.heappush(self.wakeups, (due, key))


# -- inputs ---------------------------------------------------------------------------------

Op = tuple[str, Any]  # ("event", TouchpointEvent) | ("wake", datetime) | ("reload", (key, n))


def run(definitions: Sequence[Journey], ops: Sequence[Op]) -> list[Record]:
    harness = Harness(definitions)
    for kind, arg in ops:
        if kind == "event":
            harness.event(arg)
        elif kind == "wake":
            harness.wake(arg)
        else:
            harness.reload(*arg)
    return harness.out


def sim_events() -> Iterator[tuple[str, list[TouchpointEvent]]]:
    from schemas.decode import decode_touchpoints

    try:
        from streams.sim.population import generate, generate_load
    except ImportError:  # pragma: no cover - the layout before streams/ was reorganised
        from streams.sim import generate, generate_load  # type: ignore[no-redef]

    received = datetime(2026, 6, 1, tzinfo=UTC)

    def decoded(values: Iterator[Any]) -> list[TouchpointEvent]:
        out: list[TouchpointEvent] = []
        for message in values:
            out.extend(decode_touchpoints(message.value, received_at=received).events)
        return out

    yield "sim-load", decoded(generate_load(11, 2_400, 240))
    yield "sim-population", decoded(generate(5, 24, days=60))


def random_ops(seed: int, n: int) -> list[Op]:
    """A seeded story over several keys: mostly in time order, with late and duplicate
    events, zone changes, odd values, anonymous keys identified later, fan-out, reloads."""
    rng = random.Random(seed)
    held = customer_in_holdout(default_journey(), prefix="h")
    customers = ["c-0", "c-1", held]
    anonymous = ["a-0", "a-1"]
    kinds = DEFAULT_KINDS + ODD_KINDS + [("feature_requested", {}), ("feature_released", {})]
    ops: list[Op] = []
    t = T0
    for i in range(n):
        t += timedelta(minutes=rng.choice([0, 1, 30, 600, 1440, 3 * 1440, rng.randint(0, 12960)]))
        when = t - timedelta(hours=rng.choice([0, 0, 0, 5, 30, 60]))
        roll = rng.random()
        if roll < 0.04:
            ops.append(("wake", when - timedelta(minutes=rng.randint(0, 4320))))
            continue
        if roll < 0.07:
            ops.append(("reload", (rng.choice(customers + anonymous), rng.choice([0, 0, -1]))))
            continue
        kind, props = rng.choice(kinds)
        props = dict(props)
        if kind in ("go", "t"):
            props[kind[0]] = rng.choice(DATES)
        for name in ("trial_end", "renewal_date"):
            if name in props and rng.random() < 0.5:
                props[name] = rng.choice(DATES)
        if kind.startswith("feature_"):
            props["feature_id"] = rng.choice(["f1", "f2", 3, True])
        if "score" in props:
            props["score"] = rng.choice([0, 1, 2, 5, 6, 10, "2", None, 2.5])
        customer: str | None = rng.choice(customers)
        anon = None
        if rng.random() < 0.2:
            anon = rng.choice(anonymous)
            if rng.random() < 0.6:
                customer = None
        dup = i > 0 and rng.random() < 0.1
        zone = rng.choice(ZONES)
        traits = {"birthday": rng.choice(DATES)} if kind == "identify" else {}
        event = TouchpointEvent.model_validate(
            {
                "event_id": f"id{rng.randint(0, i - 1)}" if dup else f"id{i}",
                "customer_id": customer,
                "anonymous_id": anon,
                "type": kind,
                "event_time": when,
                "properties": props,
                "traits": traits,
                "context": {"timezone": zone} if zone else {},
            }
        )
        ops.append(("event", event))
    ops.append(("wake", t + timedelta(days=rng.randint(0, 900))))
    return ops


def cases() -> Iterator[tuple[str, list[Op]]]:
    for name, events in sim_events():
        ops: list[Op] = [("event", e) for e in events]
        ops.append(("wake", events[-1].event_time + timedelta(days=400)))
        yield name, ops
    for seed in range(24):
        yield f"random-{seed}", random_ops(seed, 120)


# -- the file -------------------------------------------------------------------------------


def encode_op(op: Op) -> Record:
    kind, arg = op
    if kind == "event":
        return {"event": arg.model_dump(mode="json")}
    if kind == "wake":
        return {"wake": isoformat_utc(arg)}
    return {"reload": list(arg)}


def decode_op(obj: Record) -> Op:
    if "event" in obj:
        return "event", TouchpointEvent.model_validate(obj["event"])
    if "wake" in obj:
        return "wake", datetime.fromisoformat(obj["wake"])
    key, shift = obj["reload"]
    return "reload", (key, shift)


def canonical(value: Any) -> bytes:
    """Byte-exact form of a JSON value (keys in their order, ints stay ints)."""
    return orjson.dumps(value)


def write(path: Path = GOLDEN) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [canonical({"format": FORMAT})]
    for name, ops in cases():
        outputs = run(definitions_of(name), ops)
        lines.append(
            canonical({"case": name, "ops": [encode_op(o) for o in ops], "outputs": outputs})
        )
    with lzma.open(path, "wb", preset=9 | lzma.PRESET_EXTREME) as f:
        f.write(b"\n".join(lines) + b"\n")


def read(path: Path = GOLDEN) -> Iterator[tuple[str, list[Op], list[Any]]]:
    """(case name, inputs, recorded outputs) per case."""
    with lzma.open(path, "rb") as f:
        lines = f.read().splitlines()
    header = orjson.loads(lines[0])
    if header.get("format") != FORMAT:
        raise ValueError(f"golden file format {header!r}, expected {FORMAT}")
    for line in lines[1:]:
        obj = orjson.loads(line)
        yield obj["case"], [decode_op(o) for o in obj["ops"]], obj["outputs"]


if __name__ == "__main__":
    write()
    size = GOLDEN.stat().st_size
    steps = sum(len(outputs) for _, _, outputs in read())
    print(f"wrote {GOLDEN} ({size:,} bytes, {steps:,} recorded steps)")
