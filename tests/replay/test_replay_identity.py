"""Replay of identities: links, merges as steps, chains, fan-out following the link.

An anonymous key linked to its customer (an identify, any event carrying both ids, a
Segment alias) is merged into the customer's states once and its later events are the
customer's, whichever order the anonymous events and the link arrive in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from journeys import default_journey, in_holdout
from schemas import TouchpointEvent, Trigger, trigger_id
from streams.replay.inputs import decode_items, identity_keys
from streams.replay.timeline import Arrival, Replayer, Step, delivered
from tests.replay.conftest import CliRunner

J = default_journey()
T0 = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
C, A = "cust-0", "anon-1"  # cust-0: not in the holdout


def at(hours: float = 0, days: float = 0) -> str:
    return (T0 + timedelta(days=days, hours=hours)).isoformat().replace("+00:00", "Z")


def seg(kind: str, mid: str, when: str, **fields: Any) -> dict[str, Any]:
    """A Segment message (track, identify, alias...), as sources send them."""
    return {"type": kind, "messageId": mid, "timestamp": when, **fields}


def events(*messages: dict[str, Any]) -> list[TouchpointEvent]:
    out: list[TouchpointEvent] = []
    for i, message in enumerate(messages):
        for item in decode_items(orjson.dumps(message), f"m{i}", received_at=T0 + timedelta(60)):
            assert isinstance(item, Arrival), item
            out.append(item.event)
    return out


def replay(items: list[TouchpointEvent]) -> tuple[Replayer, list[Step]]:
    replayer = Replayer([J])
    steps = [s for e in items for s in replayer.event(e)]
    return replayer, steps


def triggers(steps: list[Step]) -> list[Trigger]:
    return [t for s in steps for _, o in s.outcomes for t in o.triggers]


def fired(steps: list[Step]) -> list[tuple[str, str, str]]:
    return [(t.customer_id, t.rule, t.cause.key) for t in triggers(steps)]


SIGNUP = seg("track", "s1", at(1), event="Signed Up", userId=C)
ORDER = seg("track", "o1", at(2), event="Order Completed", userId=C, properties={"amount": 500})
IDENTIFY = seg("identify", "i1", at(3), userId=C, anonymousId=A)
BEFORE = seg("page", "a-p1", at(0), anonymousId=A, name="Pricing")
LATE_ORDER = seg(
    "track", "a-o2", at(4), event="Order Completed", anonymousId=A, properties={"amount": 600}
)
AFTER = seg("page", "a-p2", at(5), anonymousId=A, name="Docs")


def test_anonymous_events_after_the_identify_are_applied_to_the_customer() -> None:
    # Before: server-side tracking after an identify (anonymous id only) made a new
    # orphan anonymous state, merged only if a later event carried both ids again.
    assert not in_holdout(C, "lifecycle", 5)
    replayer, steps = replay(events(BEFORE, SIGNUP, ORDER, IDENTIFY, LATE_ORDER, AFTER))
    assert set(replayer.states) == {C} and replayer.links == {A: C}
    state = replayer.states[C]["lifecycle"]
    assert (state.events, state.attributes["lifetime_spend"], state.attributes["tier"]) == (
        6,
        1100,
        "vip",
    )
    assert fired(steps) == [(C, "welcome", "event:s1"), (C, "vip", "event:a-o2")]
    late = next(s for s in steps if s.event.event_id == "a-o2")
    assert (late.forwarded, late.event.customer_id, late.event.anonymous_id) == (A, C, None)
    kinds = [(s.kind, s.customer, s.merged) for s in steps if s.kind != "event"]
    assert kinds == [("wake", A, None), ("merge", C, A)]


def test_the_anonymous_order_arriving_before_the_identify_crosses_vip_at_the_merge() -> None:
    # The same events, the anonymous order read before the identify (it happened after
    # it, but arrived first): applied to the anonymous state, then merged, and the merge
    # crosses the threshold. Either way: one state, one VIP, the same totals.
    replayer, steps = replay(events(BEFORE, SIGNUP, ORDER, LATE_ORDER, IDENTIFY, AFTER))
    assert set(replayer.states) == {C}
    state = replayer.states[C]["lifecycle"]
    assert (state.events, state.attributes["lifetime_spend"]) == (6, 1100)
    assert fired(steps) == [(C, "welcome", "event:s1"), (C, "vip", "event:i1")]
    vip = [t for s in steps for _, o in s.outcomes for t in delivered(o) if t.rule == "vip"]
    assert vip[0].trigger_id == trigger_id(C, "lifecycle", 1, "vip", "event:i1")


def test_a_chain_of_links_ends_at_the_final_customer_and_never_loops() -> None:
    c2 = "cust-2"
    alias = seg("alias", "al1", at(6), userId=c2, previousId=C)  # C is now known as c2
    back = seg("alias", "al2", at(9), userId=C, previousId=c2)  # contradicts it: no loop
    later = [
        seg("page", "a-p3", at(7), anonymousId=A, name="Blog"),  # A -> C -> c2
        seg("track", "c-k1", at(8), event="Key Action", userId=C),  # C -> c2
        back,
        seg("page", "c2-p1", at(10), userId=c2, name="Home"),
    ]
    replayer, steps = replay(events(BEFORE, SIGNUP, IDENTIFY, alias, *later))
    assert replayer.links == {A: C, C: c2}
    assert set(replayer.states) == {c2}
    assert [replayer.customer_of(k) for k in (A, C, c2)] == [c2, c2, c2]
    state = replayer.states[c2]["lifecycle"]
    assert (state.customer_id, state.stage, state.events) == (c2, "active", 8)
    forwarded = [(s.event.event_id, s.forwarded) for s in steps if s.forwarded is not None]
    assert forwarded == [("a-p3", A), ("c-k1", C), ("al2", C)]
    assert fired(steps) == [
        (C, "welcome", "event:s1"),
        (c2, "activated", "event:c-k1"),
    ]


def test_an_anonymous_id_is_linked_once() -> None:
    other = seg("identify", "i2", at(4), userId="cust-9", anonymousId=A)  # a shared device
    replayer, _ = replay(events(BEFORE, SIGNUP, IDENTIFY, other, AFTER))
    assert replayer.links == {A: C}
    assert replayer.states[C]["lifecycle"].events == 4  # the page views, sign-up, identify
    assert replayer.states["cust-9"]["lifecycle"].events == 1


def _voc(*extra: dict[str, Any]) -> list[Step]:
    asked = seg(
        "track", "fr-a", at(0), event="Feature Requested", anonymousId=A,
        properties={"feature_id": "dark-mode"},
    )  # fmt: skip
    release = seg(
        "track", "rel-1", at(days=10), event="Feature Released", userId="product",
        properties={"feature_id": "dark-mode", "name": "Dark mode"},
    )  # fmt: skip
    identified = seg("identify", "i-v", at(days=2), userId=C, anonymousId=A)
    _, steps = replay(events(asked, SIGNUP, identified, *extra, release))
    return steps


def test_you_asked_we_built_reaches_the_customer_who_asked_anonymously() -> None:
    # Before: the release went to the anonymous id of a customer who identified eight
    # days before it (the subscription stayed under the anonymous key).
    steps = _voc()
    built = [t for t in triggers(steps) if t.rule == "you_asked_we_built"]
    assert [(t.customer_id, t.cause.event_ids) for t in built] == [
        (C, ["rel-1/feature_requests/cust-0"])
    ]
    derived = next(s for s in steps if s.derived)
    assert (derived.forwarded, derived.event.event_id) == (A, "rel-1/feature_requests/cust-0")


def test_asking_again_once_identified_is_served_once() -> None:
    again = seg(
        "track", "fr-c", at(days=3), event="Feature Requested", userId=C,
        properties={"feature_id": "dark-mode"},
    )  # fmt: skip
    steps = _voc(again)
    built = [t for t in triggers(steps) if t.rule == "you_asked_we_built"]
    assert len(built) == 1
    assert [s.status for s in steps if s.derived] == ["processed", "duplicate"]


def test_the_cli_timeline_shows_the_merge_and_the_linked_keys_events(
    journeys_cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "segment.jsonl"
    messages = (BEFORE, SIGNUP, ORDER, LATE_ORDER, IDENTIFY, AFTER)
    path.write_bytes(b"\n".join(orjson.dumps(m) for m in messages))
    result = journeys_cli("replay", C, "--file", str(path), "--no-timers", "--json")
    assert result.code == 0, result.err
    records = result.records()
    shown = [
        (r["type"], r.get("event_id") or r.get("rule"), r.get("origin")) for r in records
        if r["type"] in ("event", "merge", "trigger")
    ]  # fmt: skip
    assert shown == [
        ("event", "a-p1", "segment.jsonl:1"),
        ("event", "s1", "segment.jsonl:2"),
        ("trigger", None, None),
        ("event", "o1", "segment.jsonl:3"),
        ("event", "a-o2", "segment.jsonl:4"),
        ("event", "i1", "segment.jsonl:5"),
        ("merge", "i1", "segment.jsonl:5"),
        ("trigger", None, None),
        ("event", "a-p2", "segment.jsonl:6 (linked anon-1)"),
    ]
    merge = next(r for r in records if r["type"] == "merge")
    assert (merge["customer_id"], merge["merged_id"]) == (C, A)
    after = [r for r in records if r["type"] not in ("event", "merge") and r["time"] == at(3)]
    assert [(r["type"], r.get("rule"), r.get("attribute")) for r in after] == [
        ("change", "merge", "last_seen_at"),
        ("change", "merge", "orders"),
        ("change", "merge", "lifetime_spend"),
        ("change", "vip", "tier"),
        ("trigger", None, None),
        ("note", None, None),
    ]
    (note,) = [r["note"] for r in after if r["type"] == "note"]
    assert note == (
        f"cohort and variants: assigned as {A!r} (its entry was the earliest of the merged "
        f"identities), no longer as {C!r}"
    )
    assert identity_keys([Arrival(e, "") for e in events(*messages)], C) == {C, A}
    table = journeys_cli("replay", C, "--file", str(path), "--no-timers")
    assert "merge      anon-1 merged into cust-0 (i1)" in table.out
