"""Oracle: what the live worker emitted equals, id for id, what replay computes.

A generated population goes through a real worker (event clock, so time moves only with
event time), then anonymous-then-identified customers (``tests/live/identities.py``:
events on both sides of the link, arriving in both orders, links across partitions,
chains through an alias); the triggers it committed (read with ``read_committed``) must
equal the triggers replay computes from what the worker read (the touchpoints topic,
each message processed where its key says, and the keyed topic, where the others were
re-keyed), and replaying single customers with the CLI must give exactly their triggers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from schemas.codec import isoformat_utc
from streams.cli import main
from streams.kafka.keys import partition_for
from streams.kafka.reader import KafkaReader
from streams.sim.population import DEFAULT_START, generate
from tests.live.identities import Identity, phases
from tests.live.oracle import replay_worker_input, settled_triggers
from tests.live.worker_harness import WorkerProcess

PARTITIONS = int(os.environ.get("ORACLE_PARTITIONS", "2"))
SEED = int(os.environ.get("ORACLE_SEED", "11"))
CUSTOMERS = int(os.environ.get("ORACLE_CUSTOMERS", "60"))
DAYS = float(os.environ.get("ORACLE_DAYS", "20"))


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap, Path(tmp_path_factory.mktemp("oracle")), partitions=PARTITIONS
    )
    w.start()
    try:
        yield w
    finally:
        w.stop()


def _identities(worker: WorkerProcess) -> list[Identity]:
    """Produce the identity customers' phases after the population (event times too),
    each once the worker is done with the previous one (its links in place)."""
    start = DEFAULT_START + timedelta(days=DAYS, hours=9)
    steps, stories = phases(worker, start)
    for number, phase in enumerate(steps, start=1):
        worker.produce(phase.messages)
        deadline = time.monotonic() + 60
        while not all(check() for check in phase.settled):
            assert time.monotonic() < deadline, f"identity phase {number}:\n{worker.log_tail()}"
            time.sleep(0.3)
    return stories


def test_live_triggers_equal_replay(worker: WorkerProcess, kafka_bootstrap: str, capsys) -> None:
    messages = list(generate(seed=SEED, customers=CUSTOMERS, days=DAYS))
    worker.produce((m.key, m.value) for m in messages)
    assert settled_triggers(worker), "the population should trigger something"
    stories = _identities(worker)
    live = settled_triggers(worker)
    for story in stories:
        keys = {story.anonymous, story.customer, story.final}
        got = [(t["customer_id"], t["rule"], t["cause"]["event_ids"]) for t in live]
        assert sorted(g for g in got if g[0] in keys) == sorted(story.expected), story

    with KafkaReader({"bootstrap_servers": kafka_bootstrap}) as reader:
        rekeyed = list(reader.read_topic(worker.topics["keyed"]))
    assert rekeyed, "some touchpoints are keyed otherwise and take the re-key hop"
    oracle = replay_worker_input(worker)
    replayed, watermark = oracle.triggers, oracle.watermark

    by_id_live = {t["trigger_id"]: t for t in live}
    by_id_replay = {t["trigger_id"]: t for t in replayed}
    assert len(by_id_live) == len(live), "the worker emitted a trigger twice"
    missing = sorted(by_id_live.keys() - by_id_replay.keys())
    extra = sorted(by_id_replay.keys() - by_id_live.keys())
    assert (missing, extra) == ([], []), (
        [by_id_live[i] for i in missing[:3]],
        [by_id_replay[i] for i in extra[:3]],
    )
    differing = [(by_id_live[i], by_id_replay[i]) for i in by_id_live]
    assert [
        {k: (a[k], b[k]) for k in a if a[k] != b[k]} | {"trigger_id": a["trigger_id"]}
        for a, b in differing
        if a != b
    ] == []
    causes = {t["cause"]["type"] for t in live}
    assert causes == {"event", "timer"}, "the population should exercise both kinds of rule"

    # The CLI, one customer at a time, gives exactly that customer's triggers; for a
    # customer with linked keys, those of every key linked with it.
    customers = [*sorted({t["customer_id"] for t in live})[:4], stories[0].final]
    for customer in customers:
        until = watermark[partition_for(customer, PARTITIONS)] - worker.timer_grace
        capsys.readouterr()
        code = main(
            [
                "replay", customer, "--topic-prefix", worker.prefix,
                "--bootstrap", kafka_bootstrap, "--advance-to", isoformat_utc(until),
                "--json", "--no-progress",
            ]
        )  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0
        got = [orjson.loads(x)["trigger"] for x in out.splitlines() if '"type":"trigger"' in x]
        story = next((i for i in stories if i.final == customer), None)
        cluster = {customer} if story is None else {story.anonymous, story.customer, customer}
        want = [t for t in live if t["customer_id"] in cluster]
        assert sorted(got, key=lambda t: t["trigger_id"]) == sorted(
            want, key=lambda t: t["trigger_id"]
        )
