"""Fixtures of the report tests: simulated populations with a known effect, as files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from journeys import Journey, default_journey
from streams.replay.inputs import decode_file
from streams.replay.timeline import Item
from streams.sim.effect import Effect
from streams.sim.population import DEFAULT_START, generate

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "journeys" / "samples" / "report" / "welcome_ab.yaml"
# A population where the known lift is measured precisely: half of the customers in
# the control group (the default journey keeps 5%: 30 of 600, too few for a test).
SEED, CUSTOMERS, DAYS, HOLDOUT = 2, 1200, 30.0, 50.0
END = DEFAULT_START + timedelta(days=DAYS)


def half_held_out() -> Journey:
    """The default journey with a 50% control group (same name: same buckets)."""
    d = default_journey()
    rails = d.guard_rails.model_copy(update={"holdout_percent": HOLDOUT})
    return d.model_copy(update={"guard_rails": rails})


@cache
def population(lift: float, customers: int = CUSTOMERS, days: float = DAYS) -> bytes:
    """JSON Lines of a seeded population whose treated customers are ``lift`` more likely
    to activate (treated: outside the 50% control group of the default journey)."""
    effect = Effect("activation", lift, "lifecycle", HOLDOUT) if lift else None
    messages = generate(SEED, customers, days, malformed_share=0, effect=effect)
    return b"".join(m.value + b"\n" for m in messages)


def items(data: bytes, until: datetime = END) -> list[Item]:
    return list(decode_file(data, "sim.jsonl", judged_at=until))


@pytest.fixture
def population_file(tmp_path: Path) -> Callable[..., Path]:
    """``population_file(lift, customers=..., days=...)``: the population as a file."""

    def make(lift: float = 0.0, customers: int = CUSTOMERS, days: float = DAYS) -> Path:
        path = tmp_path / f"sim-{lift}-{customers}-{days}.jsonl"
        path.write_bytes(population(lift, customers, days))
        return path

    return make
