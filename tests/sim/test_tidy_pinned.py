"""The tidy traffic (the default) is pinned byte for byte.

The demo, the benchmarks, the golden journey outputs and the report tests all read the
simulator's default output: a new traffic profile must leave it exactly as it was. The
digests below were taken before realistic traffic existed; update them on purpose only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from streams.sim.effect import Effect
from streams.sim.population import Message, generate, generate_load


def _digest(messages: Iterable[Message]) -> str:
    h = hashlib.sha256()
    for m in messages:
        for part in (m.key or b"-", m.value, m.kind.encode(), repr(m.time).encode()):
            h.update(part)
            h.update(b"\0")
        h.update(b"\n")
    return h.hexdigest()


PINNED = {
    "canonical": "3b65acdcc34199cdde879013ebb1d41cb07c916fa672966da5e717d5661c8315",
    "segment": "d60ae9c7bfd67ead45e05311d6cac56272b41c03b3002ca2a7a503cca0f18407",
    # changed on purpose (issue 22): an effect follows the person's entry key (the
    # anonymous id of a visitor who browsed first), as the engine's cohort now does
    "effect": "363482273071b93fa0cc2c44c12e6eb6b8b72477e4042d4bf4d73375b077a813",
    "load": "4274620454bd406063245a9caf6dd813d94389d74065b3d4812e61ad9144c8af",
    "load-segment": "c7c1ce541b93bf2eff8523ea250b1f7df4871cc3b06da4057ef8855c6c865afe",
}


def _run(case: str) -> Iterable[Message]:
    if case == "canonical":
        return generate(7, 300, days=60)
    if case == "segment":
        return generate(7, 300, days=60, fmt="segment")
    if case == "effect":
        return generate(3, 300, days=60, effect=Effect("activation", 0.2, "lifecycle", 50.0))
    if case == "load":
        return generate_load(2, 3000, 500)
    return generate_load(2, 3000, 500, fmt="segment")


@pytest.mark.parametrize("case", sorted(PINNED))
def test_default_output_is_unchanged(case: str) -> None:
    assert _digest(_run(case)) == PINNED[case]


CLI_SHA256 = "579416c423e1fdf5f92e84654e7ad49f6bcf2b592786804fc1f85ee046887cf0"


@pytest.mark.parametrize("extra", [[], ["--traffic", "tidy"]])
def test_default_command_output_is_unchanged(tmp_path: Path, extra: list[str]) -> None:
    from streams.cli import main

    out = tmp_path / "tidy.jsonl"
    argv = ["simulate", "--customers", "200", "--days", "30", "--seed", "5"]
    assert main([*argv, "--format", "segment", "--output", str(out), *extra]) == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() == CLI_SHA256
