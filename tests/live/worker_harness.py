"""A real ``journeys worker`` subprocess and Kafka helpers for the live worker tests.

Each test module starts its own worker with a unique topic prefix and app id, so runs
never see each other's data; topics are read with ``read_committed``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.topics import by_role, topic_specs
from streams.kafka.keys import partition_for
from streams.settings import ENV_PREFIX, Settings
from streams.worker.launch import WorkerLaunch

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerProcess:
    """One worker subprocess with its own prefix, app id, state dir and web port."""

    def __init__(
        self,
        bootstrap: str,
        tmp: Path,
        *,
        partitions: int = 2,
        store: str = "memory://",
        clock: str = "event",
        env: dict[str, str] | None = None,
        prefix: str | None = None,
        name: str = "",
    ) -> None:
        self.prefix = prefix or f"t{uuid.uuid4().hex[:10]}"
        self.name = name
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.port = free_port()
        self._args: dict[str, Any] = {"partitions": partitions, "store": store, "clock": clock}
        self._env = dict(env or {})
        suffix = f"{self.prefix}-{name}" if name else self.prefix
        self.log_path = tmp / f"worker-{suffix}.log"
        # ``env``: JOURNEYS_* variables are settings (the environment's own read too, as
        # the worker would), anything else goes to the process's environment as it is
        fields = {
            k.removeprefix(ENV_PREFIX).lower(): v
            for k, v in self._env.items()
            if k.startswith(ENV_PREFIX)
        }
        self.settings = Settings(
            **{
                "bootstrap_servers": bootstrap,
                "topic_prefix": self.prefix,
                "app_id": self.prefix,
                "partitions": partitions,
                "store": store,
                "data_dir": tmp / f"data-{suffix}",
                "clock": clock,
                "web_port": self.port,
                "commit_interval_seconds": 0.5,
                "timer_interval_seconds": 0.5,
                "session_timeout_seconds": 6,
                **fields,
            }
        )
        self.port = self.settings.web_port  # a JOURNEYS_WEB_PORT in ``env`` wins
        self.launch = WorkerLaunch(self.settings)
        others = {k: v for k, v in self._env.items() if not k.startswith(ENV_PREFIX)}
        self._base = {**os.environ, "PYTHONUNBUFFERED": "1", **others}
        self.env = self.launch.env(self._base)
        self.topics = {
            role: spec.name for role, spec in by_role(topic_specs(self.prefix, partitions)).items()
        }
        self.timer_grace = timedelta(seconds=self.settings.timer_grace_seconds)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def peer(self, tmp: Path, name: str, env: dict[str, str] | None = None) -> WorkerProcess:
        """Another worker of the same app (same prefix, app id and topics: one consumer
        group), with its own state dir, log and web port."""
        return WorkerProcess(
            self.bootstrap,
            tmp,
            **self._args,
            env={**self._env, **(env or {})},
            prefix=self.prefix,
            name=name,
        )

    # -- process -------------------------------------------------------------------

    def start(self, timeout: float = 90.0, *, wait: bool = True) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.proc = self.launch.start(log, base=self._base)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}):\n{self.log_tail()}")
            status, _ = self.get("/readyz")
            if status == 200:
                return
            time.sleep(0.3)
        raise TimeoutError(f"worker not ready in {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> float:
        """Send ``sig`` and wait for the exit; returns the seconds it took."""
        assert self.proc is not None
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        return time.monotonic() - start

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def get(self, path: str) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                return exc.code, json.loads(body)
            except ValueError:
                return exc.code, body
        except (OSError, ValueError):
            return 0, None

    # -- Kafka ---------------------------------------------------------------------

    def produce(self, messages: Iterable[tuple[str | bytes | None, Any]]) -> None:
        """Send ``(key, value)`` to the touchpoints topic; dict values as JSON."""
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            for key, value in messages:
                k = key.encode() if isinstance(key, str) else key
                v = value if isinstance(value, bytes) else json.dumps(value).encode()
                producer.send(self.topics["touchpoints"], key=k, value=v)
            producer.flush()
        finally:
            producer.close()

    def partition_of(self, key: str) -> int:
        return partition_for(key, self.partitions)

    def read(self, role: str, *, expect: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every committed record of ``role``'s topic, waiting until ``expect`` are there."""
        return [json.loads(v) for _, v in self.read_records(role, expect=expect, timeout=timeout)]

    def read_records(
        self,
        role: str,
        *,
        expect: int,
        timeout: float = 30.0,
        settle: float = 1.0,
        keys: set[str] | None = None,
    ) -> list[tuple[bytes | None, bytes]]:
        """Committed records of ``role``'s topic (only ``keys`` when given), waiting until
        ``expect`` are there, then ``settle`` seconds more so that extras show too."""
        wanted = None if keys is None else {k.encode() for k in keys}
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        topic = self.topics[role]
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            records: list[tuple[bytes | None, bytes]] = []
            deadline = time.monotonic() + timeout
            settle_until: float | None = None
            while time.monotonic() < deadline:
                batch = consumer.poll(timeout_ms=200)
                for recs in batch.values():
                    records.extend(
                        (r.key, r.value) for r in recs if wanted is None or r.key in wanted
                    )
                if len(records) >= expect:
                    # keep reading a little: more than expected is a failure too
                    settle_until = settle_until or time.monotonic() + settle
                    if time.monotonic() >= settle_until:
                        break
            return records
        finally:
            consumer.close()
