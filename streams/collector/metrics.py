"""Prometheus metrics of a collector, prefix ``journeys_collector_``, base units.

Counted at the edge, once per request and per acknowledged message, on a registry of the
collector's own. Label values come from small known sets: the routes (the eight
endpoints under any of their paths, the three probes, ``other`` for every other path;
:mod:`~streams.collector.routes`), HTTP status codes, the two destination topics and
the decoder's reason codes; never a customer id, never a path, never a write key.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from streams.collector.routes import ROUTES
from streams.ops import labels as ml

__all__ = ["CollectorMetrics"]

PREFIX = "journeys_collector"
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
DESTINATIONS = ("touchpoints", "deadletters")


class CollectorMetrics:
    """Every metric of one collector."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Requests answered, by route (a tracking endpoint, a probe, else other) and "
            "HTTP status code, refusals included (401, 403, 404, 405...).",
            ["endpoint", "code"],
            registry=r,
        )
        self.messages = Counter(
            f"{PREFIX}_messages",
            "Messages acknowledged by the broker, by destination: touchpoints (accepted) "
            "or deadletters (rejected by the decoder).",
            ["destination"],
            registry=r,
        )
        self.dead_letters = Counter(
            f"{PREFIX}_dead_letters",
            "Messages sent to the dead-letter topic, by the decoder's reason code.",
            ["reason"],
            registry=r,
        )
        self.received_bytes = Counter(
            f"{PREFIX}_received_bytes",
            "Request body bytes read, as sent (compressed when gzip).",
            registry=r,
        )
        self.accepted_bytes = Counter(
            f"{PREFIX}_accepted_bytes",
            "Bytes of the messages written to the touchpoints topic and acknowledged.",
            registry=r,
        )
        self.produce_seconds = Histogram(
            f"{PREFIX}_produce_duration_seconds",
            "From the first send of a request's messages to the broker's last acknowledgement.",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time to answer a request, by route.",
            ["endpoint"],
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_in_flight_bytes",
            "Request bytes held until the broker acknowledges them.",
            registry=r,
        )
        self.in_flight_limit = Gauge(
            f"{PREFIX}_in_flight_limit_bytes",
            "The in-flight budget: beyond it requests are answered 503 with Retry-After.",
            registry=r,
        )
        self.connected = Gauge(
            f"{PREFIX}_producer_connected",
            "1 once the producer has connected to the broker and the topics exist, else 0.",
            registry=r,
        )
        for route in ROUTES:
            self.request_seconds.labels(route)
        for destination in DESTINATIONS:
            self.messages.labels(destination)

    def dead_lettered(self, reason: str) -> None:
        self.dead_letters.labels(ml.reason_code(reason)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
