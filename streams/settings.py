"""One settings object for the worker, read from ``JOURNEYS_*`` environment variables
and, optionally, a settings file.

Where a value comes from, highest first: keyword arguments (the CLI options), the
``JOURNEYS_*`` environment variables, the settings file, the defaults. The settings
file is named by ``JOURNEYS_SETTINGS_FILE`` (or ``journeys worker --settings FILE``)
and is TOML (``.toml``), YAML (``.yaml``/``.yml``), JSON (``.json``) with the field
names as keys (``bootstrap_servers = "k1:9092"``; an unknown key is an error, so a typo
is never silently ignored), or a dotenv file (``.env``) with ``JOURNEYS_*`` names.
Relative paths in it are relative to the working directory, as in the environment.

List settings (``JOURNEYS_JOURNEY_PATHS=/a.yaml,/b.yaml``) are plain separated strings
in the environment (``NoDecode``: pydantic-settings would otherwise JSON-decode them and
fail on a plain path); a JSON list is still accepted there, and in a TOML/YAML/JSON file
they are lists.

Secrets are ``SecretStr`` so that neither ``repr()`` nor logging ever shows them.
The same object yields the faust credentials and the kafka-python admin arguments,
so that faust, aiokafka and the admin client all speak to Kafka the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from schemas.topics import DEFAULT_RETENTION_DAYS
from streams.ops.logs import LogFormat

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
    min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of every topic it creates (changelogs included): "
        "an acks=all write is acknowledged once this many replicas hold it; empty: the "
        "replication factor minus one, at least 1",
    )
    store: str = Field(default="rocksdb://", description="rocksdb:// or memory://")
    data_dir: Path = Path("var/worker")
    standby_replicas: int = Field(default=1, ge=0)
    journey_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="definition files, separated by ',' or ':'; empty: the built-in default",
    )
    settings_file: Path | None = Field(
        default=None, description="TOML, YAML, JSON or .env file; the environment overrides it"
    )

    # Processing
    processing_guarantee: Guarantee = "exactly_once"
    native: Literal["auto", "off", "require"] = Field(
        default="auto",
        description="the engine's compiled modules (journeys.native, built by ./run setup): "
        "auto uses them when built and current, off never, require refuses to start "
        "without them; read by the journeys package when it is first imported",
    )
    commit_interval_seconds: float = Field(
        default=0.1,
        gt=0,
        description="how often offsets and outputs commit (one transaction per source "
        "partition under exactly-once): Kafka Streams' default under exactly-once; "
        "consumers reading read_committed see triggers at most this much later",
    )
    max_future_skew_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="how far an event time may be ahead of its record's time: later "
        "events are dead-lettered (future_timestamp) and never move a partition's clock",
    )
    batch_max_events: int = Field(
        default=1000,
        ge=1,
        description="most events the journey agent takes at once: one lock, one offset "
        "booking and one table write per key per batch",
    )
    batch_window_seconds: float = Field(
        default=0.02,
        gt=0,
        description="how long the journey agent waits to fill a batch: the latency it adds "
        "at most when the input is slow",
    )
    producer_linger_ms: float = Field(
        default=5.0,
        ge=0,
        description="how long the producer waits to batch records: fewer produce requests "
        "(one per source partition's transaction and destination partition)",
    )
    producer_max_batch_size: int = Field(
        default=256 * 1024,
        ge=1024,
        description="bytes per produce batch and partition (Kafka's default 16 KiB fills "
        "with ~40 triggers)",
    )
    consumer_max_poll_records: int = Field(
        default=2000,
        ge=1,
        description="records fetched per poll: enough to fill a batch in one poll",
    )
    consumer_max_fetch_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="bytes fetched per partition and request",
    )
    state_cache_size: int = Field(
        default=20_000,
        ge=0,
        description="decoded customer states kept in memory per worker (~10 KB each)",
    )
    rocksdb_memory_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=8 * 1024 * 1024,
        description="RocksDB block cache and memtables of the whole worker, all tables",
    )
    clock: Clock = Field(default="live", description="live: wall clock when idle; event: only")
    timer_interval_seconds: float = Field(default=1.0, gt=0)
    idle_grace_seconds: float = Field(
        default=5.0, ge=0, description="live clock: the watermark trails the wall clock by this"
    )
    timer_grace_seconds: float = Field(
        default=600.0,
        ge=0,
        description="a time-based rule fires once its partition's time has passed its due "
        "time by this much, so that a customer's own events delayed less than this (app "
        "SDKs batch and flush minutes late) are applied first; replay, diff and report "
        "move time the same way",
    )
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0)
    session_timeout_seconds: float = Field(
        default=10.0, ge=6, description="a killed worker's partitions move after this"
    )
    group_instance_id: str | None = Field(
        default=None,
        description="static group membership (a stable id per worker, e.g. its StatefulSet "
        "pod name): a restarted worker takes its partitions back without waiting for the "
        "session timeout; a worker that stops for good holds them until that timeout",
    )

    # Personal data: erasure policy and retention (README, "Personal data")
    erasure_suppress_days: float = Field(
        default=0.0,
        ge=0,
        description="after an erasure, drop the erased ids' events older than the request "
        "plus this many days (counted, never dead-lettered); 0: later events start afresh",
    )
    retention_inputs_days: float = Field(
        default=DEFAULT_RETENTION_DAYS["inputs"],
        gt=0,
        description="retention of the touchpoints, keyed, wakeups and erasures topics, "
        "applied when they are created (how far back replay from Kafka reaches)",
    )
    retention_triggers_days: float = Field(
        default=DEFAULT_RETENTION_DAYS["triggers"],
        gt=0,
        description="retention of the trigger topics, applied when they are created",
    )
    retention_deadletters_days: float = Field(
        default=DEFAULT_RETENTION_DAYS["deadletters"],
        gt=0,
        description="retention of the dead-letter topic (original bytes: personal data), "
        "applied when it is created",
    )
    retention_audit_days: float = Field(
        default=DEFAULT_RETENTION_DAYS["audit"],
        gt=0,
        description="retention of the erasure audit topic (ids, no other data), applied "
        "when it is created",
    )
    changelog_delete_retention_days: float = Field(
        default=1.0,
        gt=0,
        description="how long a table changelog keeps a tombstone (an erased or deleted "
        "key) after compaction (delete.retention.ms; Kafka's default); set when faust "
        "creates the changelog topic",
    )
    changelog_max_compaction_lag_days: float = Field(
        default=7.0,
        gt=0,
        description="longest time a value overwritten or erased stays in a table changelog "
        "before compaction removes it (max.compaction.lag.ms); set when faust creates it",
    )

    # Web (customer view, health) and metrics
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: str = "info"
    log_format: LogFormat = Field(default="text", description="text or json (one object a line)")
    stats_interval_seconds: float = Field(
        default=10.0, gt=0, description="how often the state store gauges are refreshed"
    )

    # Collector (``journeys collect``): Segment's HTTP tracking API in front of the topics
    collector_host: str = Field(default="127.0.0.1", description="address of the collector")
    collector_port: int = Field(default=8088, ge=1, le=65535)
    collector_write_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="write keys the collector accepts, separated by ','; none: it will not start",
    )
    collector_max_in_flight_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        description="request bytes held at once, until the broker acknowledges them; "
        "beyond: 503 with Retry-After",
    )
    collector_produce_timeout_seconds: float = Field(
        default=10.0, gt=0, description="longest wait for the broker's acknowledgement: then 503"
    )
    collector_retry_after_seconds: int = Field(
        default=1, ge=0, description="the Retry-After of a 503 (busy, broker not reachable)"
    )
    collector_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins whose pages may send from a browser (CORS), separated by ','; "
        "exact origins (https://shop.example.com) or '*' for any; none: browser requests "
        "(those with an Origin header) are refused with 403",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then the settings file."""
        file_settings = SettingsFileSource(settings_cls, init_settings, env_settings)
        return init_settings, env_settings, dotenv_settings, file_settings, file_secret_settings

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("rocksdb://", "memory://")):
            raise ValueError("store must be rocksdb:// or memory://")
        return value

    @field_validator("journey_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        """``/a.yaml,/b.yaml`` or ``/a.yaml:/b.yaml``; a JSON list is accepted too."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    return json.loads(value)
                except ValueError as exc:
                    raise ValueError(f"journey_paths: not a JSON list: {exc}") from exc
            return [p.strip() for p in value.replace(",", ":").split(":") if p.strip()]
        return value

    @field_validator("collector_write_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """``key1,key2`` (a JSON list works too), blanks dropped. Never an error: pydantic
        would show the value, a secret, in it."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            if isinstance(value, str):
                return [k.strip() for k in value.split(",") if k.strip()]
        if isinstance(value, list | tuple):
            return [k if isinstance(k, SecretStr) else str(k) for k in value]
        return value

    @field_validator("collector_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """``https://a.example,https://b.example`` (a JSON list works too), blanks dropped,
        a trailing ``/`` removed: a browser's ``Origin`` header never has one."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise ValueError(f"collector_allowed_origins: not a JSON list: {exc}") from exc
            else:
                value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(o).strip().rstrip("/") for o in value if str(o).strip()]
        return value

    @model_validator(mode="after")
    def _sasl_complete(self) -> Settings:
        if self.security_protocol.startswith("SASL_") and (
            self.sasl_username is None or self.sasl_password is None
        ):
            raise ValueError("SASL needs JOURNEYS_SASL_USERNAME and JOURNEYS_SASL_PASSWORD")
        return self

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> Settings:
        if self.insync_replicas > self.replication_factor:
            raise ValueError(
                "JOURNEYS_MIN_INSYNC_REPLICAS above JOURNEYS_REPLICATION_FACTOR: every "
                "acks=all write would be refused"
            )
        return self

    @property
    def broker_url(self) -> str:
        """faust broker URL list: ``kafka://h1:p1;kafka://h2:p2``."""
        hosts = [h.strip() for h in self.bootstrap_servers.split(",") if h.strip()]
        return ";".join(f"kafka://{h}" for h in hosts)

    def retention_days(self) -> dict[str, float]:
        """Days each retention class of topic keeps records (``schemas.topics``)."""
        return {
            "inputs": self.retention_inputs_days,
            "triggers": self.retention_triggers_days,
            "deadletters": self.retention_deadletters_days,
            "audit": self.retention_audit_days,
        }

    @property
    def insync_replicas(self) -> int:
        """``min.insync.replicas`` of the topics created: the setting, else the replication
        factor minus one (at least 1): one broker may be down and writes go on, and an
        acknowledged write is on two brokers as soon as the factor is 3."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return max(self.replication_factor - 1, 1)

    def changelog_configs(self) -> dict[str, str]:
        """Topic configs of the table changelogs faust creates (tombstones, compaction,
        durability)."""
        day_ms = 24 * 3600 * 1000
        return {
            "min.insync.replicas": str(self.insync_replicas),
            "delete.retention.ms": str(round(self.changelog_delete_retention_days * day_ms)),
            "max.compaction.lag.ms": str(round(self.changelog_max_compaction_lag_days * day_ms)),
        }

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


class SettingsFileSource(PydanticBaseSettingsSource):
    """The values of the settings file named by ``settings_file`` (keyword or environment)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        init: PydanticBaseSettingsSource,
        env: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._init, self._env = init, env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        path = self._init().get("settings_file") or self._env().get("settings_file")
        if not path:
            return {}
        return read_settings_file(Path(path), self.settings_cls)


def read_settings_file(path: Path, settings_cls: type[BaseSettings] = Settings) -> dict[str, Any]:
    """The settings in ``path`` by field name; the format follows the file's suffix."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise SettingsError(f"settings file {path} does not exist")
    if suffix == ".env" or path.name == ".env":
        return DotEnvSettingsSource(settings_cls, env_file=path)()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise SettingsError(
                f"settings file {path}: unknown format (use .toml, .yaml, .yml, .json or .env)"
            )
    except (ValueError, yaml.YAMLError) as exc:  # TOMLDecodeError, JSONDecodeError
        raise SettingsError(f"settings file {path}: {exc}") from exc
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path}: expected a mapping of setting names")
    unknown = sorted(set(data) - set(settings_cls.model_fields) - {"settings_file"})
    if unknown:
        raise SettingsError(f"settings file {path}: unknown settings {', '.join(unknown)}")
    data.pop("settings_file", None)
    return data


Option = tuple[str, str, str]  # (command-line option, settings field, help)


def add_setting_options(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """Command-line options that override settings fields (the help names the variable)."""
    for option, field, text in options:
        env = ENV_PREFIX + field.upper()
        parser.add_argument(option, dest=field, default=None, help=f"{text} (env {env})")


def setting_overrides(args: argparse.Namespace, options: Sequence[Option]) -> dict[str, Any]:
    """The settings fields given on the command line (:func:`add_setting_options`)."""
    return {
        field: getattr(args, field)
        for _, field, _ in options
        if getattr(args, field, None) is not None
    }
