"""The demo's population and its closing lines: the default journey's measured lift.

The demo streams a simulated population in which treated customers (outside the default
journey's 5% control group) get a known effect (``--effect``, by default 10 points more
likely to activate: ``streams.sim.effect``). At the end, ``journeys report``'s
measurement (:mod:`streams.report`, the replay engine over the same messages, no side
effects) says what lift the journey shows, with its 95% interval, so the demo ends with
the question a marketer asks first: did the journey change what customers do?
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import timedelta

from streams.replay.inputs import decode_file
from streams.replay.options import WorkerRules
from streams.report.measure import Doc, report
from streams.report.tally import tally
from streams.report.text import lift_text, pct
from streams.sim import realistic
from streams.sim.cli import effect_from
from streams.sim.population import DEFAULT_START, Message, generate
from streams.sim.traffic import traffic_from


def messages(args: argparse.Namespace) -> list[Message]:
    """The demo's population (the same list for the worker and the measurement): by
    default what web and app SDKs really send (``--traffic realistic``: anonymous-first
    sign-ups, app batches delayed, retries, in arrival order), else tidy traffic."""
    traffic = traffic_from(args) if getattr(args, "traffic", "tidy") != "tidy" else None
    if traffic is not None:
        arrivals = realistic(
            args.seed,
            args.customers,
            args.days,
            traffic=traffic,
            malformed_share=0.01,
            effect=effect_from(args),
        )
        return [arrival.message for arrival in arrivals]
    return list(
        generate(
            args.seed,
            args.customers,
            args.days,
            fmt=args.format,
            id_prefix="c",
            effect=effect_from(args),
        )
    )


def measured(args: argparse.Namespace, sent: list[Message], worker: WorkerRules) -> Doc:
    """The report of the ``worker``'s deployed journeys over ``sent`` (its partition
    clock, its future-skew bound), time advanced to the period end."""
    end = DEFAULT_START + timedelta(days=args.days)
    data = b"\n".join(m.value for m in sent)
    items = decode_file(data, "demo", judged_at=end, max_future_skew=worker.max_future_skew)
    found = tally(worker.deployed(), items, until=end, clock=worker.clock())
    return report(found, until=end)


def lift_lines(doc: Doc, effect: str | None) -> Iterator[str]:
    """The first journey's goals: rates by cohort and the lift with its interval."""
    journey = doc["journeys"][0]
    confidence = doc["methods"]["confidence"]
    yield ""
    yield (
        f"measured lift of {journey['journey']} (journeys report over the same events; "
        f"{confidence:.0%} intervals, Newcombe):"
    )
    for goal in journey["goals"]:
        t, h = goal["cohorts"]["treated"], goal["cohorts"]["holdout"]
        rates = (
            f"treated {pct(t['rate'])} ({t['reached']:,}/{t['customers']:,}), "
            f"holdout {pct(h['rate'])} ({h['reached']:,}/{h['customers']:,})"
        )
        found = lift_text(goal["lift"]) if goal["lift"] is not None else "no control group"
        yield f"  goal {goal['goal']}: {rates}: lift {found}"
    if effect and effect != "none":
        yield f"  (simulated: treated customers got the effect {effect}; try --effect none)"
