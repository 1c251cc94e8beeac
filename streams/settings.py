"""One settings object for the worker, read from ``JOURNEYS_*`` environment variables.

Secrets are ``SecretStr`` so that neither ``repr()`` nor logging ever shows them.
The same object yields the faust credentials and the kafka-python admin arguments,
so that faust, aiokafka and the admin client all speak to Kafka the same way.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
Clock = Literal["live", "event"]
Guarantee = Literal["exactly_once", "at_least_once"]

ENV_PREFIX = "JOURNEYS_"


class Settings(BaseSettings):
    """Everything a worker needs to know; every field has a ``JOURNEYS_`` variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=None, extra="ignore", frozen=True
    )

    # Kafka connection and security
    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    # Application identity, topics and state
    app_id: str = Field(default="journeys", description="consumer group and transactional ids")
    topic_prefix: str = Field(default="journeys", pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=8, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    store: str = Field(default="rocksdb://", description="rocksdb:// or memory://")
    data_dir: Path = Path("var/worker")
    standby_replicas: int = Field(default=1, ge=0)
    journey_paths: list[Path] = Field(
        default_factory=list, description="definition files; empty: the built-in default"
    )

    # Processing
    processing_guarantee: Guarantee = "exactly_once"
    commit_interval_seconds: float = Field(default=1.0, gt=0)
    clock: Clock = Field(default="live", description="live: wall clock when idle; event: only")
    timer_interval_seconds: float = Field(default=1.0, gt=0)
    idle_grace_seconds: float = Field(
        default=5.0, ge=0, description="live clock: the watermark trails the wall clock by this"
    )
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0)
    session_timeout_seconds: float = Field(
        default=10.0, ge=6, description="a killed worker's partitions move after this"
    )

    # Web (customer view, health) and metrics
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: str = "info"

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("rocksdb://", "memory://")):
            raise ValueError("store must be rocksdb:// or memory://")
        return value

    @field_validator("journey_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p for p in value.replace(",", ":").split(":") if p]
        return value

    @model_validator(mode="after")
    def _sasl_complete(self) -> Settings:
        if self.security_protocol.startswith("SASL_") and (
            self.sasl_username is None or self.sasl_password is None
        ):
            raise ValueError("SASL needs JOURNEYS_SASL_USERNAME and JOURNEYS_SASL_PASSWORD")
        return self

    @property
    def broker_url(self) -> str:
        """faust broker URL list: ``kafka://h1:p1;kafka://h2:p2``."""
        hosts = [h.strip() for h in self.bootstrap_servers.split(",") if h.strip()]
        return ";".join(f"kafka://{h}" for h in hosts)

    @property
    def bootstrap_list(self) -> list[str]:
        return [h.strip() for h in self.bootstrap_servers.split(",") if h.strip()]

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context for SSL and SASL_SSL, else ``None``."""
        if self.security_protocol not in ("SSL", "SASL_SSL"):
            return None
        context = ssl.create_default_context(
            purpose=ssl.Purpose.SERVER_AUTH,
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
        )
        context.check_hostname = self.ssl_check_hostname
        if self.ssl_certfile is not None:
            password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
            context.load_cert_chain(
                str(self.ssl_certfile),
                str(self.ssl_keyfile) if self.ssl_keyfile else None,
                password=password,
            )
        return context

    def faust_credentials(self) -> Any:
        """faust credentials (``broker_credentials``), or ``None`` for PLAINTEXT."""
        import faust

        context = self.ssl_context()
        if self.security_protocol.startswith("SASL_"):
            assert self.sasl_password is not None  # checked by _sasl_complete
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password.get_secret_value(),
                ssl_context=context,
                mechanism=self.sasl_mechanism,
            )
        if context is not None:
            return faust.SSLCredentials(context)
        return None

    def kafka_python_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (admin, test consumers)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_list,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            config["ssl_context"] = context
        if self.security_protocol.startswith("SASL_"):
            assert self.sasl_password is not None
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return config

    def describe(self) -> dict[str, Any]:
        """The settings for a log line: secrets masked by ``SecretStr``."""
        return {k: (str(v) if isinstance(v, SecretStr) else v) for k, v in self}
