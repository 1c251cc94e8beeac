"""Anonymous-then-identified customers for the live oracle (issue 14, item 2).

Each customer has events on both sides of its link, arriving in both orders:

* **anonymous first**: the anonymous key spends 600 before the identify; the customer
  has spent 500: the merge crosses the VIP threshold (cause: the identify). After the
  link, anonymous-only events (server-side tracking) arrive, one of them with an event
  time before the link;
* **link first**: the customer's event carrying both ids comes before any anonymous
  event; then the anonymous key's events (one dated before the link), all of them the
  customer's: a customer order, then an anonymous order that crosses the VIP threshold
  at the customer (cause: the anonymous order);
* every third customer is then aliased to a new user id (Segment ``alias``) on
  whatever partition it hashes to, and events of the anonymous id and of the old user
  id follow the chain to the new one.

The anonymous id and the customer id are on different partitions. The phases are
produced one after the other, each once the worker applied the previous one's links:
the worker links one round trip after the linking event, replay at once
(journeys/README.md, "Replay and live").
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from journeys import in_holdout
from tests.live.worker_harness import WorkerProcess

Message = tuple[str, dict[str, Any]]
Check = Callable[[], bool]


@dataclass
class Phase:
    """Messages to produce together, and what shows the worker is done with them."""

    messages: list[Message] = field(default_factory=list)
    settled: list[Check] = field(default_factory=list)


@dataclass
class Identity:
    """One anonymous-then-identified customer and the triggers its story must give."""

    anonymous: str
    customer: str
    final: str  # the customer, or the user id it is aliased to
    expected: list[tuple[str, str, list[str]]]  # (customer id, rule, cause event ids)


def name_on(w: WorkerProcess, base: str, *, avoid: int | None = None) -> str:
    """An id starting with ``base``, not in the holdout, on another partition than ``avoid``."""
    for i in itertools.count():
        name = f"{base}-{w.prefix}-{i}"
        if w.partition_of(name) != avoid and not in_holdout(name, "lifecycle", 5):
            return name
    raise AssertionError("unreachable")


def seen_by(w: WorkerProcess, key: str, event_id: str) -> Check:
    """Whether ``key``'s state holds ``event_id`` (its event, or merged in)."""

    def check() -> bool:
        status, body = w.get(f"/customers/{key}")
        return status == 200 and event_id in body["journeys"]["lifecycle"]["seen"]

    return check


def linked(w: WorkerProcess, customer: str) -> Check:
    """Whether a link to ``customer`` is committed: the ``MergeState`` its linked key sent
    (in the transaction that wrote the link) is readable with ``read_committed``."""

    def check() -> bool:
        records = w.read_records("wakeups", expect=1, timeout=0.5, settle=0, keys={customer})
        return any(json.loads(v).get("kind") == "merge_state" for _, v in records)

    return check


def phases(w: WorkerProcess, start: datetime, count: int = 6) -> tuple[list[Phase], list[Identity]]:
    """The identity customers' messages in five phases, from ``start`` (event time)."""
    out = [Phase() for _ in range(5)]
    stories = []
    for k in range(count):
        customer = name_on(w, f"idc{k}")
        anonymous = name_on(w, f"ida{k}", avoid=w.partition_of(customer))
        final = name_on(w, f"idf{k}") if k % 3 == 0 else customer
        story = _story(k, anonymous, customer, final, start + timedelta(minutes=k))
        for phase, (messages, settled) in zip(out, story.phases, strict=True):
            phase.messages += messages
            phase.settled += [_check(w, *s) for s in settled]
        stories.append(Identity(anonymous, customer, final, story.expected))
    return out, stories


def _check(w: WorkerProcess, kind: str, key: str, event_id: str = "") -> Check:
    return linked(w, key) if kind == "linked" else seen_by(w, key, event_id)


@dataclass
class _Story:
    phases: list[tuple[list[Message], list[tuple[str, ...]]]]
    expected: list[tuple[str, str, list[str]]]


def _story(k: int, anonymous: str, customer: str, final: str, t: datetime) -> _Story:
    def seg(key: str, kind: str, mid: str, hours: float, **fields: Any) -> Message:
        when = (t + timedelta(hours=hours)).isoformat()
        return key, {"type": kind, "messageId": f"{mid}-{k}", "timestamp": when, **fields}

    def anon(mid: str, hours: float, kind: str = "track", **fields: Any) -> Message:
        return seg(anonymous, kind, mid, hours, anonymousId=anonymous, **fields)

    def user(mid: str, hours: float, key: str = customer, **fields: Any) -> Message:
        return seg(key, "track", mid, hours, userId=key, **fields)

    def order(amount: int) -> dict[str, Any]:
        return {"event": "Order Completed", "properties": {"amount": amount}}

    def ids(*mids: str) -> list[str]:
        return [f"{m}-{k}" for m in mids]

    welcome = (customer, "welcome", ids("s"))
    if k % 2 == 0:  # anonymous first
        before = [anon("ap", 0, "page", name="Pricing"), anon("ao", 0.5, **order(600))]
        first = [*before, user("s", 1, event="Signed Up"), user("o", 1.5, **order(500))]
        link = [seg(customer, "identify", "i", 2, userId=customer, anonymousId=anonymous)]
        after = [
            anon("ao2", 3, **order(50)),
            anon("al", 1.75, "page", name="Docs"),  # happened before the link, arrives after
            user("k", 4, event="Key Action"),
        ]
        settle_first = [("seen", customer, f"o-{k}"), ("seen", anonymous, f"ao-{k}")]
        settle_link = [("linked", customer), ("seen", customer, f"ao-{k}")]
        expected = [welcome, (customer, "vip", ids("i")), (customer, "activated", ids("k"))]
    else:  # link first: the anonymous key has no state when it is linked
        first = [user("s", 1, event="Signed Up")]
        link = [user("b", 2, event="Key Action", anonymousId=anonymous)]
        after = [
            anon("al", 0.5, "page", name="Pricing"),  # before the link, arrives after
            user("o", 3, **order(400)),
            anon("ao", 4, **order(700)),  # the customer's: crosses 1,000 there
        ]
        settle_first = [("seen", customer, f"s-{k}")]
        settle_link = [("linked", customer), ("seen", customer, f"b-{k}")]
        expected = [welcome, (customer, "activated", ids("b")), (customer, "vip", ids("ao"))]
    settle_after = [("seen", customer, m["messageId"]) for _, m in after]
    alias: list[Message] = []
    chained: list[Message] = []
    settle_alias: list[tuple[str, ...]] = []
    if final != customer:
        alias = [seg(final, "alias", "as", 5, userId=final, previousId=customer)]
        chained = [
            anon("ac", 6, "page", name="Blog"),  # anonymous -> customer -> final
            user("c", 7, event="CSAT Submitted", properties={"score": 1}),  # customer -> final
            user("f", 8, key=final, event="Page Viewed"),
        ]
        settle_alias = [("linked", final), ("seen", final, f"s-{k}")]
        expected.append((final, "low_csat", ids("c")))
    return _Story(
        [
            (first, settle_first),
            (link, settle_link),
            (after, settle_after),
            (alias, settle_alias),
            (chained, [("seen", final, m["messageId"]) for _, m in chained]),
        ],
        expected,
    )
