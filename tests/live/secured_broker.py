"""A second local broker with a SASL/SCRAM-SHA-512 over TLS listener, for the security tests.

``deploy/kafka/kafka.sh`` with ``KAFKA_SECURITY=sasl_ssl`` in a state dir of its own, on
free ports, reusing the jars of the session broker; the client password is chosen here
(a canary that no log may show). Nothing here touches the session broker.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.settings import Settings
from tests.scripts import KAFKA_SH, REPO_ROOT, run_script


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_lib_dir() -> Path:
    """Where the session broker's jars are (``./run setup`` fetched them there)."""
    if os.environ.get("KAFKA_LIB_DIR"):
        return Path(os.environ["KAFKA_LIB_DIR"])
    return Path(os.environ.get("KAFKA_STATE_DIR") or REPO_ROOT / "var" / "kafka") / "lib"


def run_kafka_sh(
    args: tuple[str, ...] | list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``deploy/kafka/kafka.sh ARGS`` in ``env``, its output captured, no input."""
    return run_script(KAFKA_SH, args, env=env, timeout=timeout)


@dataclass
class SecuredBroker:
    """One SASL_SSL broker: ``start()`` it, read what a client needs, ``stop()`` it."""

    state_dir: Path
    password: str
    user: str = "journeys"
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.state_dir / "client.password"

    def kafka_sh_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "JOURNEYS_"))}
        env.update(
            KAFKA_SECURITY="sasl_ssl",
            KAFKA_STATE_DIR=str(self.state_dir),
            KAFKA_LIB_DIR=str(session_lib_dir()),
            KAFKA_PORT=str(self.port),
            KAFKA_CONTROLLER_PORT=str(self.controller_port),
            KAFKA_SASL_USER=self.user,
            KAFKA_SASL_PASSWORD_FILE=str(self.password_file),
            KAFKA_HEAP="-Xms128m -Xmx512m",
        )
        return env

    def kafka_sh(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return run_kafka_sh(args, self.kafka_sh_env(), timeout)

    def start(self) -> subprocess.CompletedProcess[str]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            self.password_file.write_text(self.password + "\n")
            self.password_file.chmod(0o600)
        return self.kafka_sh("start")

    def stop(self) -> subprocess.CompletedProcess[str]:
        return self.kafka_sh("stop", timeout=120)

    def client_env(self) -> dict[str, str]:
        """The ``JOURNEYS_*`` settings kafka.sh wrote for clients, plus the password."""
        env: dict[str, str] = {}
        for line in (self.state_dir / "client.env").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, value = line.partition("=")
                env[name] = value
        env["JOURNEYS_SASL_PASSWORD"] = self.password
        return env

    def settings(self, **overrides: Any) -> Settings:
        env = self.client_env()
        fields = {k.removeprefix("JOURNEYS_").lower(): v for k, v in env.items()}
        return Settings(**{**fields, **overrides})
