"""The report as tables for a terminal (pure: lines of text from the report document)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.report.measure import Doc


def lines(doc: Doc) -> Iterator[str]:
    src = doc["input"]
    span = f"{src['first_event'] or '-'} .. {src['last_event'] or '-'}"
    yield (
        f"journeys report: {src['events']:,} events ({src['unreadable']:,} unreadable, "
        f"{untimed(src)}{src['processing_errors']:,} processing errors), {span}, time "
        f"advanced to {src['advanced_to'] or '-'}"
    )
    m = doc["methods"]
    yield (
        f"{m['confidence']:.0%} intervals: rates {m['rate']}; absolute lift "
        f"{m['absolute_lift']}; relative lift {m['relative_lift']}"
    )
    for journey in doc["journeys"]:
        yield ""
        yield from journey_lines(journey)


def untimed(src: Doc) -> str:
    """``N untimed, `` when the input had untimed events (a file that states no time:
    not replayed, so not measured), else nothing."""
    count = src.get("untimed", 0)
    text = f"{count:,} untimed (no time stated, not replayed), " if count else ""
    late = src.get("after_cutoff", 0)
    text += f"{late:,} after the cut-off (not replayed), " if late else ""
    erased = src.get("erasures", 0)
    return text + (f"{erased:,} erasure requests applied, " if erased else "")


def journey_lines(j: Doc) -> Iterator[str]:
    c = j["customers"]
    control = (
        f"{c['holdout']:,} holdout: {j['holdout_percent']:g}% control group"
        if j["holdout_percent"]
        else "no control group"
    )
    name = f"{j['journey']} v{j['version']}"
    yield f"{name}: {c['all']:,} customers ({c['treated']:,} treated, {control})"
    yield ""
    yield f"  {'stage funnel':<20} {'customers':>9} {'share':>7} {'treated':>8} {'holdout':>8}"
    for row in j["funnel"]:
        yield (
            f"  {row['stage']:<20} {row['customers']:>9,} {pct(row['share']):>7} "
            f"{pct(row['treated']['share']):>8} {pct(row['holdout']['share']):>8}"
        )
    for goal in j["goals"]:
        yield ""
        yield from goal_lines(goal)
    value = j.get("value")
    if value is not None and any(c["total"] for c in value["cohorts"].values()):
        yield ""
        yield "  revenue per customer  " + ", ".join(
            f"{name} {c['per_customer'] or 0:,.2f} ({c['customers']:,})"
            for name, c in value["cohorts"].items()
        )
        if value["difference"] is not None:
            yield f"    treated vs holdout: {money_text(value['difference'])}"
    yield ""
    yield f"  {'triggers':<36} {'sent':>7}  suppressed"
    for t in j["triggers"]:
        why = ", ".join(f"{reason} {n:,}" for reason, n in t["suppressed"].items()) or "-"
        yield f"  {t['kind']:<36} {t['sent']:>7,}  {why}"


def goal_lines(goal: Doc) -> Iterator[str]:
    yield f"  goal {goal['goal']} ({goal['kind']})"
    yield _header("cohort")
    for name, arm in goal["cohorts"].items():
        yield _row(name, arm)
    if goal["lift"] is not None:
        yield f"    lift treated vs holdout: {lift_text(goal['lift'])}"
    for experiment in goal["experiments"]:
        yield f"    experiment {experiment['experiment']} (baseline: {experiment['baseline']})"
        yield "  " + _header("arm") + f" {'lift vs baseline'}"
        for arm in experiment["arms"]:
            extra = lift_text(arm["lift"]) if arm["lift"] is not None else "-"
            yield "  " + _row(f"{arm['arm']} ({arm['cohort']})", arm) + f" {extra}"


def _header(first: str) -> str:
    return (
        f"    {first:<20} {'customers':>9} {'reached':>8} {'rate':>7} "
        f"{'95% interval':>17} {'median to goal':>14}"
    )


def _row(name: str, arm: Doc) -> str:
    interval = arm["interval"]
    shown = f"[{pct(interval[0])}, {pct(interval[1])}]" if interval else "-"
    return (
        f"    {name:<20} {arm['customers']:>9,} {arm['reached']:>8,} {pct(arm['rate']):>7} "
        f"{shown:>17} {hours(arm['median_hours_to_goal']):>14}"
    )


def lift_text(lift: Doc) -> str:
    lo, hi = lift["absolute_interval"]
    text = f"{points(lift['absolute'])} [{points(lo)}, {points(hi)}]"
    if lift["relative"] is not None:
        text += f", relative {signed_pct(lift['relative'])}"
        if lift["relative_interval"] is not None:
            rlo, rhi = lift["relative_interval"]
            text += f" [{signed_pct(rlo)}, {signed_pct(rhi)}]"
    return text


def pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def signed_pct(value: float) -> str:
    return f"{value:+.1%}"


def points(value: float) -> str:
    """A difference of two rates, in percentage points."""
    return f"{value * 100:+.1f} pts"


def hours(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def money_text(diff: Doc | None) -> str:
    """``+3.20 per customer [-1.10, +7.50], relative +12.0%`` (Welch's 95% interval)."""
    if diff is None:
        return "-"
    lo, hi = diff["interval"]
    rel = diff["relative"]
    tail = f", relative {rel * 100:+.1f}%" if rel is not None else ""
    return f"{diff['absolute']:+,.2f} per customer [{lo:+,.2f}, {hi:+,.2f}]{tail}"
