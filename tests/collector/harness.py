"""A real ``journeys collect`` subprocess, a TCP forwarder, and reading a topic back.

Each test module starts its own collector with a unique topic prefix on the session's
broker, so runs never see each other's data.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas.topics import by_role, topic_specs
from streams.ops.processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class CollectorProcess:
    """One collector subprocess with its own prefix, port, write keys and log."""

    def __init__(
        self,
        bootstrap: str,
        tmp: Path,
        *,
        keys: tuple[str, ...] = ("live-write-key",),
        prefix: str | None = None,
        partitions: int = 2,
        env: dict[str, str] | None = None,
    ) -> None:
        self.prefix = prefix or f"c{uuid.uuid4().hex[:10]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys = keys
        self.log_path = tmp / f"collector-{self.prefix}-{self.port}.log"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
        self.env = {
            **inherited,
            "JOURNEYS_BOOTSTRAP_SERVERS": bootstrap,
            "JOURNEYS_TOPIC_PREFIX": self.prefix,
            "JOURNEYS_PARTITIONS": str(partitions),
            "JOURNEYS_COLLECTOR_PORT": str(self.port),
            "JOURNEYS_COLLECTOR_WRITE_KEYS": ",".join(keys),
            "JOURNEYS_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.topics = {
            role: spec.name for role, spec in by_role(topic_specs(self.prefix, partitions)).items()
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, ready: bool = True, timeout: float = 60.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.collector"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.wait_for("/readyz" if ready else "/healthz", timeout)

    def wait_for(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited ({self.proc.returncode}):\n{self.log()}")
            if self.get(path)[0] == 200:
                return
            time.sleep(0.2)
        raise TimeoutError(f"collector: {path} not 200 within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        return int(self.proc.returncode)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path: str) -> tuple[int, Any]:
        status, _, body = self.request("GET", path)
        return status, body

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", path, body, headers)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), _json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), _json(exc.read())
        except OSError:
            return 0, {}, None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    expect: int,
    timeout: float = 30.0,
    settle: float = 1.0,
    committed: bool = False,
) -> list[tuple[bytes | None, bytes]]:
    """Every record of ``topic`` as ``(key, value)``, waiting until ``expect`` are there,
    then ``settle`` seconds more so that extras show too; ``committed``: only what
    transactions committed (the worker's outputs), as a downstream reader sees them."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed" if committed else "read_uncommitted",
    )
    try:
        deadline = time.monotonic() + timeout
        parts: set[int] = set()
        while not parts and time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic) or set()
            time.sleep(0 if parts else 0.2)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[tuple[bytes | None, bytes]] = []
        settle_until: float | None = None
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend((r.key, r.value) for r in batch)
            if len(records) >= expect:
                settle_until = settle_until or time.monotonic() + settle
                if time.monotonic() >= settle_until:
                    break
        return records
    finally:
        consumer.close()


class Forwarder:
    """A TCP forwarder from a local port to ``target`` (host:port), started on demand:
    until :meth:`start`, nothing listens on its port."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.port = free_port()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        with self._lock:
            self._sockets.append(server)
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, server: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(client)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.shutdown(socket.SHUT_RDWR)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        """Copy until either side ends, then end both (:meth:`close` closes them)."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
