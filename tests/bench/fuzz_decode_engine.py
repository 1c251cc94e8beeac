"""Fuzz the decoder and the engine together at length (issue 13): 100,000 cases by default.

Draws cases from ``tests.fuzzing.raw_cases`` (random bytes, truncated and deeply nested
JSON, wrong types, extreme numbers and dates, Segment messages with every field wrong)
and runs each through ``tests.fuzzing.check_case``: decode never raises and gives only
known reasons; every event steps through the default journey, wakes at its due time, and
its states and triggers encode. Failures are collected, not shrunk, so the run goes on;
prints the number of cases, what they gave, and each distinct failure with one input.
Exits 1 when any case failed.

    python tests/bench/fuzz_decode_engine.py [--cases 100000] [--seed 13]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.fuzzing import Tally, check_case, raw_cases  # noqa: E402


def run(cases: int, seed_value: int) -> tuple[Tally, dict[str, tuple[int, list[bytes], str]]]:
    tally = Tally()
    failures: dict[str, tuple[int, list[bytes], str]] = {}  # signature -> (count, input, tb)

    @seed(seed_value)
    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(raw_cases)
    def fuzz(raws: Sequence[bytes]) -> None:
        try:
            check_case(raws, tally)
        except Exception as exc:  # collected: the run goes on
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            signature = f"{type(exc).__name__} at {frame.filename}:{frame.lineno}"
            count, first, text = failures.get(signature, (0, list(raws), ""))
            failures[signature] = (count + 1, first, text or traceback.format_exc())

    fuzz()
    return tally, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tally, failures = run(args.cases, args.seed)
    elapsed = time.perf_counter() - started
    failed = sum(count for count, _, _ in failures.values())
    print(
        f"cases: {tally.cases}  messages: {tally.messages}  events: {tally.events}  "
        f"wake-ups: {tally.wake_ups}  merges: {tally.merges}  failures: {failed}  "
        f"({elapsed:.0f} s)"
    )
    print("rejections by reason:")
    for reason, count in sorted(tally.reasons.items(), key=lambda item: -item[1]):
        print(f"  {reason:28} {count}")
    for signature, (count, raws, text) in failures.items():
        print(f"\nFAILURE x{count}: {signature}\n  input: {raws!r:.600}\n{text}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
