"""An SDK call as the collector stores it: a Segment message, the way each SDK builds it.

Browsers send what analytics.js (``@segment/analytics-next``) sends: ``context`` with
``library``, ``locale``, ``timezone``, ``userAgent`` and ``page``; the app what Segment's
Kotlin and Swift SDKs send (``app``, ``device``, ``os``); the backend what
analytics-python sends (``library`` only: it knows no locale or zone). ``sentAt`` is the
device's clock when the request left; the collector adds ``receivedAt`` (its own clock).

A device whose clock is off sends ``originalTimestamp`` (its clock) instead of
``timestamp``: the decoder then corrects it by ``receivedAt - sentAt``, as Segment does,
and the event time is the true one plus the network latency. (The decoder takes a
``timestamp`` as it is, the rule for servers that state an event's time, so a skewed
device sending one would put its events at the wrong time for good.)
"""

from __future__ import annotations

from typing import Any

from streams.sim import names as ev
from streams.sim.client import APP, OTHER, SERVER, WEB, Call, Devices
from streams.sim.delivery import Request
from streams.sim.formats import iso, title

SITE = "https://app.example.com"
_LIBRARIES = {
    WEB: {"name": "analytics.js", "version": "npm:next-1.72.0"},
    OTHER: {"name": "analytics.js", "version": "npm:next-1.72.0"},
    SERVER: {"name": "analytics-python", "version": "2.3.3"},
    "ios": {"name": "analytics-swift", "version": "1.6.2"},
    "android": {"name": "analytics-kotlin", "version": "1.16.3"},
}
_AGENTS = {
    WEB: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    OTHER: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
}
_CHANNELS = {WEB: "browser", OTHER: "browser", APP: "mobile", SERVER: "server"}
_OS = {
    "ios": ("iOS", "18.1", "Apple", "iPhone15,2"),
    "android": ("Android", "14", "Google", "Pixel 8"),
}


def _page(call: Call) -> dict[str, str]:
    e = call.event
    if e.type == ev.PAGE_VIEWED:
        path = str(e.properties.get("path", "/"))
    else:
        path = "/signup" if e.type in (ev.SIGNED_UP, ev.IDENTIFY) else "/app"
    return {"path": path, "referrer": "", "search": "", "title": "Example", "url": SITE + path}


def _context(call: Call, who: Devices, zone: str | None, locale: str | None) -> dict[str, Any]:
    device = call.device
    if device == SERVER:
        return {"library": _LIBRARIES[SERVER]}
    context: dict[str, Any] = {}
    if device == APP:
        name, version, maker, model = _OS[who.app_os]
        context["library"] = _LIBRARIES[who.app_os]
        context["app"] = {"name": "Example", "version": "4.2.0", "build": "420"}
        context["device"] = {"id": who.app, "manufacturer": maker, "model": model}
        context["os"] = {"name": name, "version": version}
    else:
        context["library"] = _LIBRARIES[device]
        context["page"] = _page(call)
        context["userAgent"] = _AGENTS[device]
    if locale is not None:
        context["locale"] = locale
    if zone is not None:
        context["timezone"] = zone
    return context


def _body(call: Call) -> dict[str, Any]:
    e = call.event
    if e.type == ev.IDENTIFY:
        return {"type": "identify", "traits": e.traits}
    if e.type == ev.PAGE_VIEWED and call.device != APP:
        return {
            "type": "page",
            "name": str(e.properties.get("path", "/")),
            "properties": e.properties,
        }
    return {"type": "track", "event": title(e.type), "properties": e.properties}


def message(
    call: Call,
    request: Request,
    who: Devices | None,
    zone: str | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """``call`` as stored once ``request`` arrived (``who``: None for a non-person
    source such as the product team, which sends from a server)."""
    e = call.event
    doc = _body(call)
    doc["messageId"] = call.message_id
    if e.customer_id is not None:
        doc["userId"] = e.customer_id
    if e.anonymous_id is not None:
        doc["anonymousId"] = e.anonymous_id
    skew = who.clock(call.device) if who is not None else 0.0
    if skew:
        doc["originalTimestamp"] = iso(e.t + skew)
    else:
        doc["timestamp"] = iso(e.t)
    doc["sentAt"] = iso(request.sent + skew)
    doc["channel"] = _CHANNELS[call.device]
    if who is None:
        doc["context"] = {"library": _LIBRARIES[SERVER]}
    else:
        doc["context"] = _context(call, who, zone, locale)
    doc["receivedAt"] = iso(request.arrival)
    return doc
