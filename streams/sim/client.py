"""Which device sends each of a person's events, under which ids.

A person's life (``sim.life``) says what happened and when; this module says who told
us. Every person signs up in a browser (analytics.js: every message carries that
browser's ``anonymousId``, and the ``userId`` once the page has called ``identify``);
some also use the mobile app (its own ``anonymousId``, identified at its first use);
the backend (analytics-python) sends what only it knows (orders, subscriptions,
tickets, surveys) under the ``userId`` alone. An anonymous-first sign-up is tracked
before ``identify``, which follows in the same session, or for some first on another
device (the confirmation link opened on a phone) and in the first browser only at the
next visit: until then the two keys are two states, as in production.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace

from streams.sim import names as ev
from streams.sim.life import DAY, HOUR, RawEvent
from streams.sim.traffic import Realistic

Device = str
WEB: Device = "web"  # the browser the person signs up in
OTHER: Device = "other"  # a second browser that identifies first (anonymous-first only)
APP: Device = "app"  # the mobile app
SERVER: Device = "server"  # the backend
DEVICES: tuple[Device, ...] = (WEB, OTHER, APP, SERVER)

_WEB_TYPES = frozenset({ev.IDENTIFY, ev.PAGE_VIEWED, ev.SIGNED_UP, ev.FEATURE_REQUESTED})


@dataclass(frozen=True, slots=True)
class Devices:
    """A person's devices: their anonymous ids, clock offsets, and how they sign up."""

    customer_id: str
    web: str
    other: str | None
    app: str | None
    app_os: str
    anonymous_first: bool
    browses: bool  # anonymous page views before the sign-up
    skew: tuple[tuple[Device, float], ...]  # (device, seconds its clock is ahead)

    @property
    def entry_key(self) -> str:
        """The id the engine assigns the person's cohort by, and so the one whose control
        group decides (and a known effect follows) whether the person is treated: the
        anonymous id of the browser they sign up in. Their first message carries it,
        alone (anonymous first) or beside the ``userId`` (a sign-up identified at once),
        and the engine assigns a journey entry made by either by that anonymous id."""
        return self.web

    def anonymous_id(self, device: Device) -> str | None:
        return {WEB: self.web, OTHER: self.other, APP: self.app}.get(device)

    def clock(self, device: Device) -> float:
        return dict(self.skew).get(device, 0.0)


def _anonymous_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def draw_devices(rng: random.Random, customer_id: str, traffic: Realistic) -> Devices:
    """The person's devices, from the person's own client generator."""
    first = rng.random() < traffic.anonymous_first
    other = first and rng.random() < traffic.other_device
    has_app = rng.random() < traffic.app
    browses = first or rng.random() < traffic.browsing
    web = _anonymous_id(rng)
    skew = []
    for device in (WEB, OTHER, APP):
        if rng.random() < traffic.skewed:
            skew.append((device, rng.choice((-1, 1)) * rng.uniform(5.0, traffic.skew_max)))
    return Devices(
        customer_id=customer_id,
        web=web,
        other=_anonymous_id(rng) if other else None,
        app=_anonymous_id(rng) if has_app else None,
        app_os=rng.choice(("ios", "android")),
        anonymous_first=first,
        browses=browses,
        skew=tuple(skew),
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One SDK call: the event (with the ids the device sends), its device, its id."""

    device: Device
    event: RawEvent
    message_id: str


def message_id(rng: random.Random, device: Device) -> str:
    """analytics.js ids are ``ajs-next-`` and 32 hex digits; the others UUIDs."""
    bits = rng.getrandbits(128)
    return f"ajs-next-{bits:032x}" if device in (WEB, OTHER) else str(uuid.UUID(int=bits))


class Router:
    """Turns one person's life, event by event in time order, into SDK calls."""

    def __init__(self, devices: Devices, rng: random.Random, end: float) -> None:
        self.d = devices
        self.rng = rng
        self.end = end
        self.identified: dict[Device, float] = {SERVER: float("-inf")}
        self.calls: list[Call] = []

    def route(self, event: RawEvent) -> None:
        if event.type == ev.IDENTIFY:
            self._sign_up_identify(event)
            return
        device = self._device(event)
        if device == APP and APP not in self.identified:
            self.identified[APP] = event.t - 1.0  # the app identifies at its first use
            self._call(APP, replace(event, t=event.t - 1.0, type=ev.IDENTIFY, properties={}))
        self._call(device, event)

    def _device(self, event: RawEvent) -> Device:
        app = self.d.app is not None
        if event.type == ev.KEY_ACTION and app:
            return APP
        if event.type == ev.LOGGED_IN and app and event.properties.get("device") != "web":
            return APP
        if event.type in _WEB_TYPES or event.type in (ev.KEY_ACTION, ev.LOGGED_IN):
            return WEB
        return SERVER

    def _sign_up_identify(self, event: RawEvent) -> None:
        """The identify of the sign-up: at once, or after it for anonymous-first ones."""
        if not self.d.anonymous_first:
            self.identified[WEB] = event.t
            self._call(WEB, event)
            return
        signed_up = event.t + 1.0  # Life tracks "Signed Up" a second after it
        latest = (signed_up + self.end) / 2  # identified within the period
        rng = self.rng
        if self.d.other is None:
            self._identify(WEB, min(signed_up + rng.uniform(5, 900), latest), event)
            return
        self._identify(OTHER, min(signed_up + rng.uniform(120, 2 * HOUR), latest), event)
        no_traits = replace(event, traits={})
        self._identify(WEB, min(signed_up + rng.uniform(6 * HOUR, 3 * DAY), latest), no_traits)

    def _identify(self, device: Device, t: float, event: RawEvent) -> None:
        self.identified[device] = t
        self._call(device, replace(event, t=t))

    def _call(self, device: Device, event: RawEvent) -> None:
        """The event as ``device`` sends it: its anonymousId, the userId once known."""
        known = self.identified.get(device)
        user = self.d.customer_id if known is not None and event.t >= known else None
        sent = replace(event, customer_id=user, anonymous_id=self.d.anonymous_id(device))
        self.calls.append(Call(device, sent, message_id(self.rng, device)))


def route(devices: Devices, events: list[RawEvent], rng: random.Random, end: float) -> list[Call]:
    """Every call of a person's life (time order per device; re-timed identifies)."""
    router = Router(devices, rng, end)
    for event in events:
        router.route(event)
    return sorted(router.calls, key=lambda call: call.event.t)
