"""Which route a request is for, as a bounded label: metrics and logs never carry a path.

The tracking endpoints are reached under every prefix the SDKs build: ``/v1/<name>``
(Segment's HTTP API, the server SDKs, RudderStack's), ``/<name>`` (analytics.js 2.0
appends its short names to ``apiHost``, which may or may not end in ``/v1``) and
``/beacon/v1/<name>`` (RudderStack's JavaScript SDK when it sends with
``navigator.sendBeacon``, the write key in the query string). A name is a full endpoint
name or one of analytics.js 2.0's short names (:data:`~streams.collector.messages.ALIASES`).
Every other path is ``other``: a scanner's thousand paths make one label value.
"""

from __future__ import annotations

from typing import Final

from streams.collector.messages import ENDPOINTS, canonical

__all__ = ["OTHER", "PREFIXES", "PROBES", "ROUTES", "route_of", "tracking_endpoint"]

PREFIXES: Final = ("/v1/", "/beacon/v1/", "/")
PROBES: Final = ("healthz", "readyz", "metrics")
OTHER: Final = "other"
ROUTES: Final = ENDPOINTS + PROBES + (OTHER,)


def tracking_endpoint(path: str) -> str | None:
    """The tracking endpoint ``path`` stands for (``/v1/t`` -> ``track``), else ``None``."""
    for prefix in PREFIXES:
        if path.startswith(prefix):
            name = path[len(prefix) :].rstrip("/")
            if name and "/" not in name:
                return canonical(name)
    return None


def route_of(path: str) -> str:
    """The label of ``path``: its endpoint, a probe's name, else :data:`OTHER`."""
    endpoint = tracking_endpoint(path)
    if endpoint is not None:
        return endpoint
    name = path.strip("/")
    return name if name in PROBES else OTHER
