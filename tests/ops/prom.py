"""Test helpers for Prometheus: locating its tools, running processes, querying its API.

promtool and prometheus come from the Debian package (``deploy/prometheus/install.sh``).
When one is missing a test is skipped with that reason locally, and fails in CI
(``CI=true``), where the suite must run them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
INSTALL_HINT = "run deploy/prometheus/install.sh (installs the Debian prometheus package)"
DEADLINE_S = 120.0

Labels = tuple[tuple[str, str], ...]


def require(tool: str) -> str:
    """The path of ``tool`` (promtool, prometheus); skip locally, fail in CI, when absent."""
    path = shutil.which(tool)
    if path is not None:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{tool} is missing in CI: {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"{tool} is not installed; {INSTALL_HINT}")


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require("promtool"), *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """``(status, body)``; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(
    what: str,
    ok: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log: Path,
    poll: float = 0.5,
) -> None:
    """Wait until ``ok()``; fail with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + DEADLINE_S
    while not ok():
        if process.poll() is not None:
            pytest.fail(f"{what}: process exited {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: timed out after {DEADLINE_S} s:\n{tail(log)}")
        time.sleep(poll)


def query(base: str, expr: str) -> dict[Labels, float]:
    """Instant query against Prometheus at ``base``: ``{sorted label pairs: value}``."""
    status, body = http_get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert status == 200, body
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    return {
        tuple(sorted(item["metric"].items())): float(item["value"][1])
        for item in doc["data"]["result"]
    }


def scalar(base: str, expr: str) -> float | None:
    """The value of a one-series result, None when empty."""
    result = query(base, expr)
    return next(iter(result.values())) if result else None


def by_label(base: str, label: str, selector: str) -> dict[str, float]:
    """``sum by (label) (selector)`` as ``{label value: value}``."""
    result = query(base, f"sum by ({label}) ({selector})")
    return {dict(k).get(label, ""): v for k, v in result.items()}


def eventually(base: str, expr: str, expected: float | None) -> None:
    """Wait until ``expr`` equals ``expected``; fail with the last value seen."""
    deadline = time.monotonic() + DEADLINE_S
    value = scalar(base, expr)
    while value != expected:
        assert time.monotonic() < deadline, f"{expr} = {value}, expected {expected}"
        time.sleep(1.0)
        value = scalar(base, expr)
