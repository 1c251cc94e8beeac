"""The deployment's frequency cap across journeys, on the real broker: the worker sends
exactly what the engine test (tests/journeys/test_customer_cap.py) derives, ids included,
and counts the suppressions."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.journeys.test_customer_cap import CAP, STORY
from tests.live.worker_harness import WorkerProcess


def definition(name: str, event: str, *, deployment: bool = False) -> dict[str, Any]:
    """The engine test's journeys (``test_customer_cap.journey``), as a file would hold them."""
    data: dict[str, Any] = {
        "name": name,
        "version": 1,
        "stages": ["new", "done"],
        "initial_stage": "new",
        "guard_rails": CAP,
        "rules": [
            {
                "id": event,
                "when": {"event": {"type": event}},
                "then": {"emit": {"kind": f"engagement.{event}"}},
            },
            {
                "id": f"{event}_fix",
                "when": {"event": {"type": f"{event}_problem"}},
                "then": {"emit": {"kind": "recovery.fix"}},
            },
        ],
    }
    if deployment:
        data["deployment"] = CAP
    return data


def test_two_journeys_share_one_cap_on_the_broker(kafka_bootstrap: str, tmp_path: Path) -> None:
    paths = []
    for data in (definition("tips", "tip", deployment=True), definition("promos", "promo")):
        path = tmp_path / f"{data['name']}.yaml"
        path.write_text(yaml.safe_dump(data))
        paths.append(str(path))
    worker = WorkerProcess(
        kafka_bootstrap, tmp_path, partitions=2, env={"JOURNEYS_JOURNEY_PATHS": ",".join(paths)}
    )
    worker.start()
    try:
        worker.produce(
            [(e.customer_id, json.loads(e.model_dump_json(exclude_none=True))) for e in STORY]
        )
        got = worker.read("triggers", expect=4, timeout=60)
        assert sorted((t["trigger_id"], t["journey"], t["kind"]) for t in got) == sorted(
            [
                ("075f64f3-45ec-5400-80e5-e6774629c0b2", "tips", "engagement.tip"),
                ("62ee7f0c-d2fd-5d99-8d78-d33198d980a0", "promos", "engagement.promo"),
                ("0b55ddfc-9d51-51f7-9817-4bd5cfbcab1a", "tips", "engagement.tip"),
                ("c3fe4d91-06eb-5bed-a831-b9d466dc993d", "promos", "recovery.fix"),
            ]
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        suppressed = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if line.startswith("journeys_triggers_suppressed_total{")
        }
        by_journey = {k: v for k, v in suppressed.items() if 'reason="frequency_cap"' in k}
        assert sum(by_journey.values()) == 3, suppressed
    finally:
        worker.stop()
