"""Issue 13: no input breaks the decoder or the engine (the fuzz of tests/fuzzing.py).

A few thousand cases here; tests/bench/fuzz_decode_engine.py runs 100,000 or more.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings

from tests.fuzzing import check_case, raw_cases


@settings(
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw_cases)
def test_decode_and_engine_never_raise(raws: Sequence[bytes]) -> None:
    check_case(raws)
