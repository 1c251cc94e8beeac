"""The report's input edges (issue 22): erasure requests are applied, not unreadable;
events past the cut-off are counted as such and not measured; a fan-out publisher is
not a customer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli import main


def _event(eid: str, customer: str, kind: str, at: str, **props: Any) -> dict[str, Any]:
    return {
        "event_id": eid,
        "customer_id": customer,
        "type": kind,
        "event_time": at,
        "properties": props,
    }


def _report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lines: list[dict[str, Any]], *argv: str
) -> dict[str, Any]:
    path = tmp_path / "input.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    capsys.readouterr()
    code = main(["report", "--file", str(path), "--json", *argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc: dict[str, Any] = orjson.loads(out.out)
    return doc


def test_an_erasure_request_is_applied_not_unreadable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    erasure = {
        "kind": "erasure_request",
        "request_id": "r-1",
        "customer_id": "c-1",
        "requested_at": "2026-03-03T00:00:00Z",
    }
    doc = _report(
        capsys,
        tmp_path,
        [
            _event("a", "c-1", "signed_up", "2026-03-02T10:00:00Z", plan="pro"),
            _event("b", "c-2", "signed_up", "2026-03-02T11:00:00Z", plan="pro"),
            erasure,
            _event("c", "c-1", "signed_up", "2026-03-04T10:00:00Z", plan="pro"),
        ],
        "--advance-to",
        "2026-03-05T00:00:00Z",
    )
    source = doc["input"]
    assert (source["events"], source["unreadable"], source["erasures"]) == (3, 0, 1)
    welcomes = next(t for t in doc["journeys"][0]["triggers"] if t["kind"] == "onboarding.welcome")
    assert welcomes["sent"] == 3  # c-1 erased, then a new state: welcomed again, as live


def test_events_past_the_cut_off_are_counted_and_not_measured(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = _report(
        capsys,
        tmp_path,
        [
            _event("a", "c-1", "signed_up", "2026-03-02T10:00:00Z", plan="pro"),
            _event("b", "c-2", "signed_up", "2026-03-02T11:30:00Z", plan="pro"),  # 30 min past
            _event("c", "c-3", "signed_up", "2026-03-05T10:00:00Z", plan="pro"),  # days past
        ],
        "--advance-to",
        "2026-03-02T11:00:00Z",
    )
    source = doc["input"]
    assert (source["events"], source["unreadable"], source["after_cutoff"]) == (1, 0, 2)
    assert source["last_event"] == "2026-03-02T10:00:00Z"
    assert doc["journeys"][0]["customers"]["all"] == 1


def test_a_fan_out_publisher_is_not_a_customer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = _report(
        capsys,
        tmp_path,
        [
            _event("a", "c-1", "signed_up", "2026-03-02T10:00:00Z", plan="pro"),
            _event("r", "c-1", "feature_requested", "2026-03-03T10:00:00Z", feature_id="dark"),
            _event(
                "p", "product-team", "feature_released", "2026-03-04T10:00:00Z", feature_id="dark"
            ),
        ],
        "--advance-to",
        "2026-03-05T00:00:00Z",
    )
    journey = doc["journeys"][0]
    assert journey["customers"]["all"] == 1  # c-1; product-team only published
    kinds = {t["kind"]: t for t in journey["triggers"]}
    assert kinds["voc.you_asked_we_built"]["sent"] == 1
