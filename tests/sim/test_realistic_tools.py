"""Realistic traffic with a known effect, and through the command line, replay and report."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from journeys import in_holdout
from streams.sim import Arrival, realistic
from streams.sim import names as ev
from streams.sim.client import draw_devices
from streams.sim.effect import Effect
from streams.sim.population import MALFORMED_PREFIX
from streams.sim.traffic import Realistic

SEED, CUSTOMERS, DAYS = 6, 300, 30.0
EFFECT = Effect("activation", 0.3, "lifecycle", 50.0)


def by_person(arrivals: list[Arrival]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = defaultdict(list)
    for a in arrivals:
        out[a.person].append(a.message.value)
    return out


def activated(values: list[bytes]) -> bool:
    docs = (orjson.loads(v) for v in values)
    return any(d.get("event") == "Key Action" and d["properties"]["first"] for d in docs)


def test_the_effect_follows_the_person_by_the_anonymous_id_of_their_first_message() -> None:
    plain = realistic(SEED, CUSTOMERS, DAYS)
    treated = realistic(SEED, CUSTOMERS, DAYS, effect=EFFECT)
    before, after = by_person(plain), by_person(treated)
    first_key: dict[str, bytes | None] = {}  # the anonymous id the first message carries
    for a in sorted(plain, key=lambda a: a.message.time):
        anonymous = orjson.loads(a.message.value).get("anonymousId")  # none: the publisher
        first_key.setdefault(a.person, None if anonymous is None else anonymous.encode())
    changed, now_active, by_anonymous_key = 0, 0, 0
    for index in range(CUSTOMERS):
        cid = f"c{index:07d}"
        who = draw_devices(random.Random(f"{SEED}:{index}:client"), cid, Realistic())
        assert first_key[cid] == who.entry_key.encode()
        if in_holdout(who.entry_key, "lifecycle", 50.0):
            assert after[cid] == before[cid]
        elif after[cid] != before[cid]:
            changed += 1
            assert not activated(before[cid])  # only customers who did not activate change
            now_active += activated(after[cid])  # unless their key action is past the end
            by_anonymous_key += in_holdout(cid, "lifecycle", 50.0)
    assert changed > CUSTOMERS * 0.5 * 0.3 * 0.4 * 0.6 and now_active > changed * 0.7
    assert by_anonymous_key > 0  # treated by their anonymous key, held out by their id


def _simulate(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    from streams.cli import main

    out = tmp_path / "realistic.jsonl"
    argv = ["simulate", "--seed", str(SEED), "--customers", "60", "--days", "20"]
    return main([*argv, "--traffic", "realistic", "--output", str(out), *extra]), out


def test_simulate_command_writes_the_api_s_messages(tmp_path: Path) -> None:
    code, out = _simulate(tmp_path, "--delay", "1h:3h", "--retry-share", "0.1")
    assert code == 0
    traffic = Realistic(delay_median=3600, delay_max=3 * 3600, retry=0.1)
    expected = realistic(SEED, 60, 20, traffic=traffic, malformed_share=0.01)
    assert out.read_bytes().splitlines() == [a.message.value for a in expected]


@pytest.mark.parametrize("extra", [("--format", "canonical"), ("--load", "100")])
def test_realistic_traffic_refuses_what_it_cannot_be(
    tmp_path: Path, extra: tuple[str, str]
) -> None:
    assert _simulate(tmp_path, *extra)[0] == 2


def test_report_reads_realistic_traffic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from streams.cli import main

    _, out = _simulate(tmp_path)
    lines = out.read_bytes().splitlines()
    malformed = sum(
        a.message.kind.startswith(MALFORMED_PREFIX)
        for a in realistic(SEED, 60, 20, malformed_share=0.01)
    )
    capsys.readouterr()
    assert main(["report", "--file", str(out), "--json", "--no-timers"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input"]["unreadable"] == malformed > 0
    assert report["input"]["events"] == len(lines) - malformed


def test_replay_follows_an_anonymous_first_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from streams.cli import main

    _, out = _simulate(tmp_path, "--anonymous-first", "1")
    anonymous = next(
        d
        for d in map(orjson.loads, out.read_bytes().splitlines())
        if d.get("event") == "Signed Up" and "userId" not in d
    )
    person = next(
        d["userId"]
        for d in map(orjson.loads, out.read_bytes().splitlines())
        if d.get("type") == "identify" and d.get("anonymousId") == anonymous["anonymousId"]
    )
    capsys.readouterr()
    assert main(["replay", person, "--file", str(out), "--no-timers"]) == 0
    shown = capsys.readouterr().out
    assert f"{anonymous['anonymousId']} merged into {person}" in shown
    assert ev.SIGNED_UP in shown
