"""Whether Kafka can be used with these settings, and if not, why, in one line.

Kafka clients retry every failed connection alike and report the last one vaguely:
kafka-python's admin client goes on bootstrapping for its whole timeout after the broker
has rejected the password, aiokafka says only "Unable to bootstrap". Here one connection
is made to each bootstrap server the way the clients make theirs (TCP, TLS, ApiVersions,
SASL, then one metadata request), with aiokafka's connection (faust's client), and a
failure becomes :class:`KafkaUnavailable`: the servers, the cause, and the setting to
check. What retrying cannot fix (credentials, certificates, a security protocol that does
not match the listener) is reported at once; the rest (refused, no answer, a closed
connection) is retried until the deadline when the caller asks for it.

A closed connection is told apart by asking the listener what it speaks: a TLS handshake
(does it speak TLS?), a plaintext ApiVersions (does it speak plaintext?) and a SASL
handshake (does it want SASL, with which mechanisms?). No credentials are sent by those.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiokafka.conn import AIOKafkaConnection, create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.protocol.admin import SaslHandShakeRequest
from aiokafka.protocol.metadata import MetadataRequest

__all__ = [
    "Failure",
    "KafkaUnavailable",
    "assess_durability",
    "attempt",
    "check",
    "describe",
    "durability_warnings",
    "explain",
    "servers_text",
    "wait_until_usable",
]

_PROBE_TIMEOUT_S = 3.0
_SECURITY = "JOURNEYS_SECURITY_PROTOCOL"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one server could not be used; ``permanent``: retrying will not help."""

    cause: str
    permanent: bool


class KafkaUnavailable(Exception):
    """Kafka cannot be used with these settings; ``str()`` is one line naming the cause."""

    def __init__(self, servers: str, cause: str, *, permanent: bool) -> None:
        super().__init__(f"cannot reach Kafka at {servers}: {cause}")
        self.servers, self.cause, self.permanent = servers, cause, permanent


def servers_text(config: dict[str, Any]) -> str:
    servers = config.get("bootstrap_servers", "")
    return ",".join(servers) if isinstance(servers, list | tuple) else str(servers)


def _host_port(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    if not host:  # no port given: Kafka's default
        return server.strip().strip("[]"), 9092
    return host.strip("[]"), int(port)


def check(
    config: dict[str, Any],
    *,
    timeout_s: float = 10.0,
    retry: bool = True,
    on_retry: Callable[[KafkaUnavailable, float], None] | None = None,
) -> float:
    """:func:`wait_until_usable` for synchronous code.

    On a loop of its own that is never made the thread's current one (``asyncio.run``
    would leave "no current event loop" behind for faust's worker, which starts next);
    called from a thread that runs a loop (a tool's coroutine), on a thread of its own,
    as a loop cannot run inside another.
    """

    def run() -> float:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(
                wait_until_usable(config, timeout_s=timeout_s, retry=retry, on_retry=on_retry)
            )
        finally:
            loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop here: the usual case
        return run()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


async def wait_until_usable(
    config: dict[str, Any],
    *,
    timeout_s: float = 10.0,
    retry: bool = True,
    on_retry: Callable[[KafkaUnavailable, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Return once a server answers, with the seconds spent waiting for one (0.0 when the
    first try worked); raise :class:`KafkaUnavailable` otherwise.

    With ``retry``, failures that may pass are tried again until ``timeout_s``;
    ``on_retry(error, seconds_left)`` is called when the cause first shows and whenever
    it changes (a log line per change of state, not per attempt).
    """
    began = clock()
    deadline = began + timeout_s
    last: str | None = None
    pause = 0.25
    while True:
        error = await attempt(config, timeout_s=max(0.5, min(timeout_s, _PROBE_TIMEOUT_S * 2)))
        if error is None:
            return 0.0 if last is None else clock() - began
        left = deadline - clock()
        if error.permanent or not retry or left <= 0:
            raise error
        if on_retry is not None and error.cause != last:
            on_retry(error, left)
        last = error.cause
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 2.0)


async def attempt(config: dict[str, Any], *, timeout_s: float = 6.0) -> KafkaUnavailable | None:
    """One try of each bootstrap server: ``None`` when one is usable, else why none is."""
    failures: dict[str, Failure] = {}
    for server in (s.strip() for s in servers_text(config).split(",")):
        if server:
            host, port = _host_port(server)
            failure = await _try_server(host, port, config, timeout_s)
            if failure is None:
                return None
            failures[server] = failure
    if not failures:
        return KafkaUnavailable("(none)", "no bootstrap servers configured", permanent=True)
    causes = {f.cause for f in failures.values()}
    if len(causes) == 1:  # one server, or all failing alike: the cause once
        cause = causes.pop()
    else:
        cause = "; ".join(f"{server}: {f.cause}" for server, f in failures.items())
    permanent = all(f.permanent for f in failures.values())
    return KafkaUnavailable(servers_text(config), cause, permanent=permanent)


async def _try_server(
    host: str, port: int, config: dict[str, Any], timeout_s: float
) -> Failure | None:
    try:
        conn = await asyncio.wait_for(_connect(host, port, config, timeout_s), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
        return await explain(exc, host, port, config, timeout_s)
    try:  # authenticated: the metadata request shows the listener lets it in
        await asyncio.wait_for(conn.send(MetadataRequest([])), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        return await explain(exc, host, port, config, timeout_s)
    finally:
        conn.close()
    return None


async def _connect(
    host: str, port: int, config: dict[str, Any], timeout_s: float, **override: Any
) -> AIOKafkaConnection:
    settings = {
        "security_protocol": config.get("security_protocol", "PLAINTEXT"),
        "ssl_context": config.get("ssl_context"),
        "sasl_mechanism": config.get("sasl_mechanism"),
        "sasl_plain_username": config.get("sasl_plain_username"),
        "sasl_plain_password": config.get("sasl_plain_password"),
        **override,
    }
    conn: AIOKafkaConnection = await create_conn(
        host,
        port,
        client_id=str(config.get("client_id", "journeys-preflight")),
        request_timeout_ms=int(timeout_s * 1000),
        **settings,
    )
    return conn


async def explain(
    exc: BaseException, host: str, port: int, config: dict[str, Any], timeout_s: float
) -> Failure:
    """The cause of ``exc`` in words, and whether retrying could help."""
    protocol = str(config.get("security_protocol", "PLAINTEXT"))
    mechanism = config.get("sasl_mechanism")
    if isinstance(exc, SaslAuthenticationFailed | AuthenticationFailedError):
        said = str(exc).split(": ", 1)[-1]
        user = config.get("sasl_plain_username")
        return Failure(
            f"authentication failed for user {user!r} with {mechanism} (broker: {said}); "
            "check JOURNEYS_SASL_USERNAME and JOURNEYS_SASL_PASSWORD",
            permanent=True,
        )
    if isinstance(exc, IllegalSaslStateError):  # a SASL handshake on a listener without SASL
        return Failure(
            f"the listener does not use SASL but the security protocol is {protocol}; set "
            f"{_SECURITY} to {protocol.removeprefix('SASL_')}",
            permanent=True,
        )
    if isinstance(exc, UnsupportedSaslMechanismError):
        offered = await _sasl_mechanisms(host, port, config)
        return Failure(
            f"the broker does not offer SASL mechanism {mechanism} (it offers "
            f"{', '.join(offered or ['?'])}); check JOURNEYS_SASL_MECHANISM",
            permanent=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure(
            f"the broker's TLS certificate is not trusted ({exc.verify_message}); check "
            "JOURNEYS_SSL_CAFILE (and JOURNEYS_SSL_CHECK_HOSTNAME for a name mismatch)",
            permanent=True,
        )
    if isinstance(exc, ConnectionRefusedError):
        return Failure(
            "connection refused (is the broker running, is the address right?)",
            permanent=False,
        )
    if isinstance(exc, socket.gaierror):
        return Failure(f"cannot resolve host {host!r} ({exc.strerror})", permanent=False)
    if isinstance(exc, TimeoutError):
        return Failure(f"no answer within {timeout_s:.0f} s", permanent=False)
    return await _explain_closed(exc, host, port, config, protocol)


async def _explain_closed(
    exc: BaseException, host: str, port: int, config: dict[str, Any], protocol: str
) -> Failure:
    """A connection set up, then reset or closed: most often a protocol mismatch."""
    tls = protocol in ("SSL", "SASL_SSL")
    if not tls and await _speaks_tls(host, port):
        return Failure(
            f"the listener speaks TLS but the security protocol is "
            f"{protocol}; set {_SECURITY} to SSL or SASL_SSL",
            permanent=True,
        )
    if tls and await _speaks_plaintext(host, port):
        return Failure(
            f"the listener does not speak TLS but the security protocol "
            f"is {protocol}; set {_SECURITY} to PLAINTEXT or SASL_PLAINTEXT",
            permanent=True,
        )
    if not protocol.startswith("SASL_"):
        offered = await _sasl_mechanisms(host, port, config)
        if offered:
            return Failure(
                f"the listener wants SASL ({', '.join(offered)}) but the "
                f"security protocol is {protocol}; set {_SECURITY} to SASL_{protocol}",
                permanent=True,
            )
    if isinstance(exc, ssl.SSLError):
        return Failure(
            f"TLS handshake failed ({exc.reason or exc}); check the JOURNEYS_SSL_* settings",
            permanent=True,
        )
    return Failure(
        f"the broker closed the connection ({describe(exc)}); check that {_SECURITY} "
        f"({protocol}) matches the broker's listener",
        permanent=False,
    )


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line (kafka-python and aiokafka put the type in ``str``)."""
    text = " ".join(str(exc).split()).removeprefix(f"{type(exc).__name__}: ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _speaks_tls(host: str, port: int) -> bool:
    """Whether a TLS handshake succeeds (no certificate check: only the protocol counts)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), _PROBE_TIMEOUT_S
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    return True


async def _speaks_plaintext(host: str, port: int) -> bool:
    """Whether the listener answers ApiVersions without TLS."""
    try:
        conn = await asyncio.wait_for(
            create_conn(host, port, request_timeout_ms=int(_PROBE_TIMEOUT_S * 1000)),
            _PROBE_TIMEOUT_S,
        )
    except (KafkaError, OSError, TimeoutError):
        return False
    conn.close()
    return True


async def _sasl_mechanisms(host: str, port: int, config: dict[str, Any]) -> list[str] | None:
    """The SASL mechanisms the listener offers (a handshake, no credentials), else None."""
    protocol = str(config.get("security_protocol", "PLAINTEXT"))
    plain = "SSL" if protocol in ("SSL", "SASL_SSL") else "PLAINTEXT"
    try:
        conn = await asyncio.wait_for(
            _connect(host, port, config, _PROBE_TIMEOUT_S, security_protocol=plain),
            _PROBE_TIMEOUT_S,
        )
    except (KafkaError, OSError, TimeoutError):
        return None
    try:
        response = await asyncio.wait_for(
            conn.send(SaslHandShakeRequest("PLAIN")), _PROBE_TIMEOUT_S
        )
    except (KafkaError, OSError, TimeoutError):
        return None
    finally:
        conn.close()
    mechanisms: list[str] = list(response.enabled_mechanisms)
    return mechanisms or None


# --- durability: could an acknowledged write be lost? ------------------------------------
_DURABILITY_KEYS = ("min.insync.replicas", "unclean.leader.election.enable")


def durability_warnings(config: dict[str, Any], settings: Any, topics: list[str]) -> list[str]:
    """What in the cluster's settings would let a write acknowledged to ``acks=all``
    producers be lost, for ``topics`` (created with ``settings``): one line each.

    Reads the topics' effective configs (broker defaults included) with kafka-python's
    admin client; a cluster that does not answer is reported as one line too."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(**config)
    try:
        brokers = len(admin.describe_cluster().get("brokers", ()))
        keys = dict.fromkeys(_DURABILITY_KEYS)
        found = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=keys) for name in topics],
            config_filter="all",
        )
    except Exception as exc:  # a warning, never a failure of the start
        return [f"durability not checked: {describe(exc)}"]
    finally:
        admin.close()
    configs = {
        name: {key: str(entry.get("value")) for key, entry in values.items()}
        for name, values in found.get("topic", {}).items()
    }
    return assess_durability(settings.replication_factor, brokers, configs)


def assess_durability(
    replication_factor: int,
    brokers: int,
    topic_configs: dict[str, dict[str, str]],
) -> list[str]:
    """The lines of :func:`durability_warnings`, from what was read (pure).

    A write acknowledged to ``acks=all`` survives the loss of a broker's disk only when
    at least two replicas held it (``min.insync.replicas`` >= 2, so a replication factor
    of at least 2, 3 to go on writing while a broker is down), and when no replica that
    missed it can become leader (``unclean.leader.election.enable`` false)."""
    lines: list[str] = []
    if replication_factor < 2:
        lines.append(
            f"JOURNEYS_REPLICATION_FACTOR is {replication_factor}: every acknowledged write "
            "is on one broker only, a lost disk loses it (use 3 on a real cluster)"
        )
    if brokers and brokers < replication_factor:
        lines.append(
            f"{brokers} broker(s) for JOURNEYS_REPLICATION_FACTOR {replication_factor}: "
            "topics cannot be created with every replica"
        )
    weak, unclean = [], []
    for name, values in sorted(topic_configs.items()):
        insync = int(values.get("min.insync.replicas") or "1")
        if replication_factor >= 2 and insync < 2:
            weak.append(f"{name} ({insync})")
        if values.get("unclean.leader.election.enable", "false").lower() == "true":
            unclean.append(name)
    if weak:
        lines.append(
            "min.insync.replicas below 2, an acks=all write can be acknowledged by the "
            "leader alone and lost with its disk: "
            + ", ".join(weak)
            + " (set JOURNEYS_MIN_INSYNC_REPLICAS; a topic that exists already: "
            "kafka-configs --alter --add-config min.insync.replicas=N)"
        )
    if unclean:
        lines.append(
            "unclean.leader.election.enable is true, a replica that missed acknowledged "
            "writes can become leader: " + ", ".join(unclean)
        )
    return lines
