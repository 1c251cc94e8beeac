"""One simulated customer's life: a lazy, time-ordered stream of raw events.

Each customer owns a ``random.Random`` seeded from the run seed and the customer's
index, so that a customer's life does not depend on the rest of the population.
Recurring behaviour (logins, purchases, support, renewals) are processes that
schedule their next occurrence on a small per-customer heap; only the next few
events of a customer exist at any time, so memory stays flat for long periods.
"""

from __future__ import annotations

import functools
import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streams.sim import names as ev
from streams.sim.effect import Effect

DAY = 86_400.0
HOUR = 3_600.0
PRE_SIGNUP_MAX = 3 * DAY  # anonymous activity starts at most this long before sign-up

# (IANA zone, locale, weight): customers in many time zones.
ZONES: tuple[tuple[str, str, int], ...] = (
    ("America/New_York", "en-US", 14),
    ("America/Chicago", "en-US", 7),
    ("America/Los_Angeles", "en-US", 9),
    ("America/Sao_Paulo", "pt-BR", 5),
    ("America/Mexico_City", "es-MX", 4),
    ("Europe/London", "en-GB", 8),
    ("Europe/Paris", "fr-FR", 7),
    ("Europe/Berlin", "de-DE", 7),
    ("Europe/Madrid", "es-ES", 4),
    ("Europe/Warsaw", "pl-PL", 3),
    ("Africa/Lagos", "en-NG", 3),
    ("Africa/Johannesburg", "en-ZA", 2),
    ("Asia/Kolkata", "en-IN", 8),
    ("Asia/Singapore", "en-SG", 3),
    ("Asia/Tokyo", "ja-JP", 5),
    ("Asia/Shanghai", "zh-CN", 4),
    ("Australia/Sydney", "en-AU", 4),
    ("Pacific/Auckland", "en-NZ", 1),
    ("Asia/Kathmandu", "ne-NP", 1),
    ("America/St_Johns", "en-CA", 1),
)
PLANS = ("starter", "team", "business")
FEATURES = tuple(f"F-{n:03d}" for n in range(1, 31))
CSAT_WEIGHTS = (8, 7, 15, 30, 40)  # scores 1..5
NPS_WEIGHTS = (3, 2, 2, 3, 3, 6, 6, 14, 20, 21, 20)  # scores 0..10
PAGES = ("/", "/pricing", "/features", "/docs", "/blog", "/signup")


@dataclass(frozen=True, slots=True)
class RawEvent:
    """An event before encoding: times are epoch seconds, ids already assigned."""

    t: float
    type: str
    customer_id: str | None
    anonymous_id: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    channel: str = "web"


@dataclass(frozen=True, slots=True)
class Profile:
    """Who the customer is (drawn once from their own generator)."""

    customer_id: str
    anonymous_id: str | None
    signup: float
    timezone: str
    locale: str
    activates: bool
    login_rate: float  # logins per day at sign-up
    decay_days: float
    churn_at: float | None
    returns_at: float | None
    spend: float  # median order amount
    conversion_shift: float = 0.0  # a simulated effect on converting after a trial


def draw_profile(
    rng: random.Random,
    customer_id: str,
    signup: float,
    anon_share: float,
    effect: Effect | None = None,
    entry_key: str | None = None,
) -> Profile:
    """Who the customer is; ``effect``: a known effect on the treated (``sim.effect``),
    decided by the key the person's journey starts under (``entry_key``; by default the
    anonymous id of a visitor who browsed before signing up, else the customer id): the
    engine's assignment of the cohort.

    The draws are made in a fixed order whatever the effect (the activation draw, then
    the login rate's normal deviate...), so that an effect changes only the treated
    customers whose activation draw falls in the shifted band."""
    timezone, locale, _ = rng.choices(ZONES, weights=[z[2] for z in ZONES])[0]
    activation_draw = rng.random()
    deviate = rng.normalvariate(0.0, 1.0)  # lognormvariate's own draw, kept in its place
    churn_at = signup + rng.expovariate(1 / (30 * DAY)) if rng.random() < 0.35 else None
    returns_at = None
    if churn_at is not None and rng.random() < 0.3:
        returns_at = churn_at + rng.uniform(20, 60) * DAY
    anonymous_id = f"anon-{rng.getrandbits(64):016x}" if rng.random() < anon_share else None
    if entry_key is None:
        entry_key = customer_id if anonymous_id is None else anonymous_id
    activation = effect.shift("activation", entry_key) if effect is not None else 0.0
    activates = activation_draw < 0.6 + activation
    rate = math.exp(math.log(1.0 if activates else 0.25) + deviate * 0.5)
    return Profile(
        customer_id=customer_id,
        anonymous_id=anonymous_id,
        signup=signup,
        timezone=timezone,
        locale=locale,
        activates=activates,
        login_rate=rate,
        decay_days=rng.uniform(20, 120),
        churn_at=churn_at,
        returns_at=returns_at,
        spend=(250.0 if rng.random() < 0.05 else 35.0)
        * (1 + (effect.shift("spend", entry_key) if effect is not None else 0.0)),
        conversion_shift=effect.shift("conversion", entry_key) if effect is not None else 0.0,
    )


def _date(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).date().isoformat()


class Life:
    """The events of one customer, in time order, up to ``end`` (exclusive)."""

    def __init__(self, rng: random.Random, profile: Profile, end: float) -> None:
        self.rng = rng
        self.p = profile
        self.end = end
        self._heap: list[tuple[float, int, Callable[[float], RawEvent | None]]] = []
        self._seq = 0
        self._orders = 0
        self._tickets = 0

    # -- scheduling ------------------------------------------------------------------
    def at(self, t: float, action: Callable[[float], RawEvent | None]) -> None:
        if t < self.end:
            self._seq += 1
            heapq.heappush(self._heap, (t, self._seq, action))

    def emit(self, t: float, type_: str, **properties: Any) -> None:
        self.at(t, lambda now: self.raw(now, type_, properties))

    def raw(self, t: float, type_: str, properties: dict[str, Any]) -> RawEvent:
        return RawEvent(t, type_, self.p.customer_id, self.p.anonymous_id, properties)

    def events(self) -> Iterator[RawEvent]:
        self._plan()
        while self._heap:
            t, _, action = heapq.heappop(self._heap)
            event = action(t)
            if event is not None:
                yield event

    # -- the plan ----------------------------------------------------------------------
    def _plan(self) -> None:
        p, rng = self.p, self.rng
        if p.anonymous_id is not None:
            t = p.signup - rng.uniform(0.05, 1.0) * PRE_SIGNUP_MAX
            for _ in range(rng.randint(1, 6)):
                page = rng.choice(PAGES)
                self.at(t, functools.partial(self._anonymous_page, page=page))
                t += rng.uniform(30, 4 * HOUR)
        birthday = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        traits = {"plan": "free", "birthday": birthday, "locale": p.locale}
        self.at(p.signup, lambda now: self._identified(now, ev.IDENTIFY, {}, traits))
        self.emit(p.signup + 1, ev.SIGNED_UP, plan="free", method=rng.choice(("email", "google")))
        if p.activates:
            delay = min(rng.lognormvariate(math.log(20 * HOUR), 1.2), 20 * DAY)
            self.emit(p.signup + delay, ev.KEY_ACTION, action="first_project", first=True)
            self.at(p.signup + delay + rng.uniform(1, 20) * DAY, self._purchase)
        self.at(p.signup + rng.expovariate(p.login_rate / DAY), self._login)
        if rng.random() < 0.4:
            self._trial(p.signup + rng.uniform(60, HOUR))
        elif p.activates and rng.random() < 0.15:
            self._subscribe(p.signup + rng.uniform(1, 10) * DAY, rng.choice(PLANS))
        self.at(p.signup + rng.expovariate(1 / (60 * DAY)), self._ticket)
        if rng.random() < 0.4:
            self.emit(p.signup + rng.uniform(25, 35) * DAY, ev.NPS, score=self._nps())
        if rng.random() < 0.06:
            feature = rng.choice(FEATURES[: 10 if rng.random() < 0.7 else 30])
            self.emit(p.signup + rng.uniform(1, 30) * DAY, ev.FEATURE_REQUESTED, feature_id=feature)

    def _identified(
        self, t: float, type_: str, props: dict[str, Any], traits: dict[str, Any]
    ) -> RawEvent:
        return RawEvent(t, type_, self.p.customer_id, self.p.anonymous_id, props, traits)

    def _anonymous_page(self, t: float, page: str) -> RawEvent:
        return RawEvent(t, ev.PAGE_VIEWED, None, self.p.anonymous_id, {"path": page})

    def _active(self, t: float) -> bool:
        p = self.p
        return (
            p.churn_at is None or t < p.churn_at or (p.returns_at is not None and t >= p.returns_at)
        )

    def _rate(self, t: float) -> float:
        """Logins per second at time t: decaying engagement, a fresh start on return."""
        p = self.p
        since = t - (p.returns_at if p.returns_at is not None and t >= p.returns_at else p.signup)
        return p.login_rate / DAY * (0.15 + 0.85 * math.exp(-since / (p.decay_days * DAY)))

    def _login(self, t: float) -> RawEvent | None:
        rng, p = self.rng, self.p
        if not self._active(t):
            # Skip the silent period; a returning customer logs in again on return.
            if p.returns_at is not None and t < p.returns_at:
                self.at(p.returns_at, self._login)
            return None
        self.at(t + rng.expovariate(self._rate(t)), self._login)
        if rng.random() < 0.5:
            self.emit(t + rng.uniform(5, 120), ev.PAGE_VIEWED, path=rng.choice(PAGES[1:5]))
        if p.activates and rng.random() < 0.3:
            self.emit(
                t + rng.uniform(60, 1800), ev.KEY_ACTION, action="project_update", first=False
            )
        return self.raw(t, ev.LOGGED_IN, {"device": rng.choice(("web", "ios", "android"))})

    def _purchase(self, t: float) -> RawEvent | None:
        rng = self.rng
        self.at(t + rng.expovariate(1 / (25 * DAY)), self._purchase)
        if not self._active(t):
            return None
        self._orders += 1
        order = f"{self.p.customer_id}-o{self._orders}"
        amount = round(rng.lognormvariate(math.log(self.p.spend), 0.8), 2)
        roll = rng.random()
        if roll < 0.03:
            self.emit(t + rng.uniform(1, 4) * DAY, ev.DELIVERY_FAILED, order_id=order)
            self.at(t + rng.uniform(4, 5) * DAY, lambda now: self._ticket(now, False))
        elif roll < 0.05:
            self.emit(t + rng.uniform(3, 10) * DAY, ev.REFUND_ISSUED, order_id=order, amount=amount)
        return self.raw(t, ev.PURCHASE, {"order_id": order, "amount": amount, "currency": "EUR"})

    def _ticket(self, t: float, recurring: bool = True) -> RawEvent | None:
        rng = self.rng
        if recurring:
            self.at(t + rng.expovariate(1 / (50 * DAY)), self._ticket)
        self._tickets += 1
        ticket = f"{self.p.customer_id}-t{self._tickets}"
        closed = t + rng.uniform(1, 48) * HOUR
        self.emit(closed, ev.TICKET_CLOSED, ticket_id=ticket)
        if rng.random() < 0.6:
            score = rng.choices(range(1, 6), weights=CSAT_WEIGHTS)[0]
            self.emit(closed + rng.uniform(60, 6 * HOUR), ev.CSAT, score=score, ticket_id=ticket)
        topic = rng.choice(("billing", "bug", "how_to", "delivery"))
        return self.raw(t, ev.TICKET_OPENED, {"ticket_id": ticket, "topic": topic})

    def _nps(self) -> int:
        return self.rng.choices(range(11), weights=NPS_WEIGHTS)[0]

    def _trial(self, t: float) -> None:
        rng, p = self.rng, self.p
        trial_end = t + 14 * DAY
        self.emit(t, ev.TRIAL_STARTED, plan="team", trial_end=_date(trial_end))
        if rng.random() < (0.5 if p.activates else 0.15) + p.conversion_shift:
            self._subscribe(trial_end - rng.uniform(0, 2) * DAY, "team")
        else:
            self.emit(trial_end, ev.TRIAL_ENDED, plan="team", converted=False)

    def _subscribe(self, t: float, plan: str) -> None:
        renewal = t + 30 * DAY
        seats = self.rng.randint(1, 3) if plan == "starter" else self.rng.randint(2, 40)
        props = {"plan": plan, "renewal_date": _date(renewal), "seats": seats}
        self.at(t, lambda now: self.raw(now, ev.SUBSCRIPTION_STARTED, props))
        self.at(renewal, lambda now: self._renew(now, plan, 1))

    def _renew(self, t: float, plan: str, attempt: int) -> RawEvent:
        rng = self.rng
        amount = {"starter": 9.0, "team": 29.0, "business": 99.0}[plan]
        invoice = f"{self.p.customer_id}-i{int(t) // 86_400}"
        if not self._active(t) and rng.random() < 0.5:
            if rng.random() < 0.2:
                self.emit(t + rng.uniform(1, 7) * DAY, ev.ACCOUNT_CLOSED, reason="churned")
            return self.raw(t, ev.SUBSCRIPTION_CANCELLED, {"plan": plan, "reason": "voluntary"})
        if rng.random() < 0.1:
            if attempt < 3:
                self.at(t + 3 * DAY, lambda now: self._renew(now, plan, attempt + 1))
            else:
                self.emit(t + HOUR, ev.SUBSCRIPTION_CANCELLED, plan=plan, reason="payment")
            return self.raw(
                t,
                ev.PAYMENT_FAILED,
                {"plan": plan, "amount": amount, "attempt": attempt, "invoice_id": invoice},
            )
        renewal = t + 30 * DAY
        self.at(renewal, lambda now: self._renew(now, plan, 1))
        props = {
            "plan": plan,
            "amount": amount,
            "renewal_date": _date(renewal),
            "invoice_id": invoice,
        }
        return self.raw(t, ev.SUBSCRIPTION_RENEWED, props)
