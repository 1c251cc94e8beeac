"""``journeys demo --storefront`` as a person runs it: the real command as a subprocess
(its own worker and collector under a fresh prefix, on the real broker), the page opened
in headless Chromium and clicked, a screenshot taken, the triggers it shows equal to the
trigger topic (read_committed), then Ctrl-C to the whole process group as a terminal
sends it: exit code 0, nothing left running. About 20 s, most of it the worker's start."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from streams.ops.processes import free_port
from tests.collector.browser import REPO_ROOT, drive, require_browser
from tests.collector.harness import read_topic

pytestmark = pytest.mark.live


class Output:
    """The command's stdout and stderr, line by line, read on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        self._stream = stream
        self._thread = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Once the command has exited: the rest of its output, and the pipe closed."""
        self._thread.join(10)
        self._stream.close()

    def wait_for(self, pattern: str, proc: subprocess.Popen[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r}:\n{''.join(self.lines)}")


def test_the_storefront_command_clicked_shown_and_stopped_with_ctrl_c(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    require_browser()
    port = free_port()
    command = ["demo", "--storefront", "--storefront-port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", *command],
        env={**os.environ, "JOURNEYS_BOOTSTRAP_SERVERS": kafka_bootstrap},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    output = Output(proc)
    try:
        prefix = output.wait_for(r"^storefront: topics (\S+)\.\*", proc, 30).group(1)
        url = output.wait_for(r"^storefront: open (\S+)", proc, 90).group(1)
        assert url == f"http://127.0.0.1:{port}/"
        shot = tmp_path / "storefront.png"
        *_, customer, (anon, anon_shown), shown = drive(
            url,  # redirects to /?customer=<a fresh id>
            [
                {"waitFor": "document.getElementById('anon').textContent"},
                {"click": "#visit"},
                {"click": "#signup"},
                {"waitFor": "document.querySelectorAll('#triggers tr').length >= 1"},
                {"click": "#use"},
                {"click": "#late"},
                {"click": "#late"},
                {"waitFor": "document.querySelectorAll('#triggers tr').length >= 5"},
                {"waitFor": "new Promise(r => setTimeout(() => r(true), 1500))"},
                {"screenshot": str(shot)},
                {"eval": "new URLSearchParams(location.search).get('customer')"},
                {
                    "eval": "[new URLSearchParams(location.search).get('anon'),"
                    " document.getElementById('anon').textContent]"
                },
                {
                    "eval": "[...document.querySelectorAll('#triggers tr')].map(r => [r.cells[0]"
                    ".textContent, r.dataset.triggerId])"
                },
            ],
        )
        records = read_topic(
            kafka_bootstrap, f"{prefix}.triggers.v1", expect=5, settle=1.0, committed=True
        )
        topic = [
            [t["kind"], t["trigger_id"]]
            for key, t in ((k, json.loads(v)) for k, v in records)
            if key == customer.encode()
        ]
        assert shown == topic
        assert anon_shown == anon  # the SDK tracks the visitor under the page's anonymous id
        assert [kind for kind, _ in shown] == [
            "onboarding.welcome",
            "onboarding.activated",
            "recovery.failed_delivery",
            "recovery.failed_delivery",
            "recovery.churn_risk",
        ]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        assert proc.wait(30) == 0, "".join(output.lines)
        output.wait_for(r"^storefront: stopping$", proc, 5)
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # the worker and the collector are gone too
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        output.close()
    for log in (REPO_ROOT / "var" / "demo").glob(f"{prefix}-*.log"):
        log.unlink()
