"""Shared pytest fixtures.

Live tests (everything under ``tests/live/``, auto-marked ``live``) talk to a
real Kafka broker:

* ``KAFKA_BOOTSTRAP_SERVERS`` set -> that cluster is used as is;
* otherwise ``deploy/kafka/kafka.sh start`` is run once per session (a no-op
  when the local broker already runs) and its bootstrap address is used.

The broker is never stopped here: one broker serves the whole session and
later sessions; ``.ci/run`` stops the one it started.
"""

from __future__ import annotations

import os
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The test process runs the engine as pure Python (tests patch its functions, and the
# pure modules are what coverage and tracebacks read); the processes it starts (workers,
# tools) keep the compiled engine when it is built and current, as in production.
# tests/journeys/test_native.py runs the engine's tests again with JOURNEYS_NATIVE=require,
# which is kept. journeys.native reads the variable once, when the package is first
# imported: here, before any test module.
_native = os.environ.get("JOURNEYS_NATIVE")
if _native != "require":
    os.environ["JOURNEYS_NATIVE"] = "off"
import journeys  # noqa: E402, F401
from tests.scripts import KAFKA_SH, run_script  # noqa: E402

if _native is None:
    del os.environ["JOURNEYS_NATIVE"]
else:
    os.environ["JOURNEYS_NATIVE"] = _native

LIVE_DIR = Path(__file__).resolve().parent / "live"

# First start may fetch jars from Maven Central; kafka.sh bounds every wait.
_KAFKA_SH_TIMEOUT_S = 900

NewTopicFactory = Callable[..., str]

# kafka-python 3.0.x builds its protocol classes at import time with
# importlib.resources.read_text/open_text, deprecated since Python 3.11; under
# the project's "error" warning filter any first `import kafka` (test module or
# code under test, e.g. streams.kafka.reader) would fail collection.  Import it
# once here with exactly that warning ignored; `import kafka` loads every
# protocol module the clients use, so later imports are warning-free.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"(read_text|open_text) is deprecated",
        category=DeprecationWarning,
    )
    import kafka  # noqa: F401


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = pytest.mark.live
    for item in items:
        if LIVE_DIR in item.path.resolve().parents:
            item.add_marker(live)


def _kafka_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return run_script(KAFKA_SH, args, timeout=_KAFKA_SH_TIMEOUT_S)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of the Kafka broker for this session."""
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if env:
        return env
    started = _kafka_sh("start")
    if started.returncode != 0:
        detail = (started.stderr.strip() or started.stdout.strip()).splitlines()
        pytest.fail(
            "could not start the local Kafka broker with deploy/kafka/kafka.sh start: "
            + (detail[-1] if detail else f"exit code {started.returncode}"),
            pytrace=False,
        )
    bootstrap = _kafka_sh("bootstrap").stdout.strip()
    assert bootstrap, "deploy/kafka/kafka.sh bootstrap printed nothing"
    return bootstrap


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> Iterator[Any]:
    """One kafka-python ``KafkaAdminClient`` for the session."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=kafka_bootstrap,
        client_id="journeys-tests-admin",
        request_timeout_ms=15_000,
    )
    try:
        yield admin
    finally:
        admin.close()


@pytest.fixture(scope="session")
def new_topic(kafka_admin: Any) -> NewTopicFactory:
    """Factory: ``new_topic(name_prefix, partitions=1, configs=None) -> name``.

    Creates a uniquely named topic (``<prefix>-<12 hex>``), waits until every
    partition has a leader and returns the name, so no test ever reads data
    left by an earlier run.  Topics are not deleted afterwards
    (``kafka.sh start --clean`` wipes everything).
    """

    def make(
        name_prefix: str,
        partitions: int = 1,
        configs: dict[str, str] | None = None,
    ) -> str:
        name = f"{name_prefix}-{uuid.uuid4().hex[:12]}"
        kafka_admin.create_topics(
            {
                name: {
                    "num_partitions": partitions,
                    "replication_factor": 1,
                    "configs": dict(configs or {}),
                }
            },
            timeout_ms=15_000,
            wait_for_metadata=True,
        )
        return name

    return make
