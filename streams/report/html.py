"""The report as one self-contained HTML page: tables plus inline SVG charts.

No script, no stylesheet, font or image from elsewhere: the page is one file that opens
offline and can be mailed. Per journey: the stage funnel (a bar per stage, the treated
and holdout shares beside it), and per goal the rates by cohort and arm with their
intervals, and the lift chart (each comparison's absolute lift as a point with its
95% interval, around a zero line: an interval that crosses zero is no evidence of an
effect). Every number drawn is also written, so the page reads without the charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from journeys import Journey
from journeys.drawing import journey_map
from journeys.drawing.page import section
from streams.report.measure import Doc
from streams.report.text import hours, lift_text, money_text, pct, untimed

WIDTH = 720
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:72rem;color:#1d2430;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ccd}
h3{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{padding:.2rem .6rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:1px solid #99a}
.note{color:#556;font-size:.9rem}svg{display:block;margin:.5rem 0}
svg text{font:12px system-ui,sans-serif;fill:#1d2430}
"""
TREATED, HOLDOUT, NEUTRAL = "#2f6fdf", "#e07b39", "#8892a6"


def page(doc: Doc, definitions: Sequence[Journey] = ()) -> str:
    """The page; ``definitions``: the journeys measured, to draw their maps."""
    drawn = {(d.name, d.version): d for d in definitions}
    src, m = doc["input"], doc["methods"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Journeys report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Journeys report</h1>",
        f'<p class="note" id="input">{src["events"]:,} events ({src["unreadable"]:,} '
        f"unreadable, {_e(untimed(src))}{src['processing_errors']:,} processing errors) from "
        f"{_e(src['first_event'])} to {_e(src['last_event'])}; time advanced to "
        f"{_e(src['advanced_to'])}.</p>",
        f'<p class="note" id="methods">{m["confidence"]:.0%} intervals. Rates: '
        f"{_e(m['rate'])}. Absolute lift: {_e(m['absolute_lift'])}. Relative lift: "
        f"{_e(m['relative_lift'])}. Revenue per customer: {_e(m['revenue_difference'])}; "
        f"revenue: {_e(', '.join(m['revenue']['properties']))} of "
        f"{_e(', '.join(m['revenue']['events']))} since entry. Unit: {_e(m['unit'])}.</p>",
    ]
    for journey in doc["journeys"]:
        parts.append(_journey(journey, drawn.get((journey["journey"], journey["version"]))))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _journey(j: Doc, definition: Journey | None) -> str:
    c = j["customers"]
    name = f"{j['journey']} v{j['version']}"
    control = (
        f"{c['holdout']:,} in the holdout ({j['holdout_percent']:g}% control group)"
        if j["holdout_percent"]
        else "no control group"
    )
    out = [
        f'<section id="journey-{_e(j["journey"])}">',
        f"<h2>{_e(name)}</h2>",
        f"<p>{c['all']:,} customers: {c['treated']:,} treated, {control}.</p>",
        "<h3>Stage funnel</h3>",
        _funnel_svg(j),
        _table(
            ["stage", "customers", "share", "treated", "holdout"],
            [
                [
                    r["stage"],
                    f"{r['customers']:,}",
                    pct(r["share"]),
                    pct(r["treated"]["share"]),
                    pct(r["holdout"]["share"]),
                ]
                for r in j["funnel"]
            ],
            "funnel",
        ),
    ]
    out.append("<h3>Map, with the measured flow</h3>")
    out.append(_map(j, definition))
    out.append(_value(j["value"], "Revenue per customer", "value"))
    for goal in j["goals"]:
        out.append(_goal(goal))
    out.append("<h3>Triggers per kind</h3>")
    out.append(
        _table(
            ["kind", "sent", "suppressed"],
            [
                [
                    t["kind"],
                    f"{t['sent']:,}",
                    ", ".join(f"{r} {n:,}" for r, n in t["suppressed"].items()) or "-",
                ]
                for t in j["triggers"]
            ],
            "triggers",
        )
    )
    out.append("</section>")
    return "\n".join(out)


def _goal(goal: Doc) -> str:
    out = [f"<h3>Goal {_e(goal['goal'])} ({_e(goal['kind'])})</h3>"]
    rows = [_arm_cells(name, arm) for name, arm in goal["cohorts"].items()]
    out.append(_table(_ARM_HEAD, rows, "goal"))
    comparisons: list[tuple[str, Doc]] = []
    if goal["lift"] is not None:
        out.append(f'<p class="lift">Lift, treated vs holdout: {_e(lift_text(goal["lift"]))}</p>')
        comparisons.append(("treated vs holdout", goal["lift"]))
    for experiment in goal["experiments"]:
        base = experiment["baseline"]
        out.append(f"<p>Experiment <b>{_e(experiment['experiment'])}</b>, baseline {_e(base)}:</p>")
        rows = []
        for arm in experiment["arms"]:
            cells = _arm_cells(f"{arm['arm']} ({arm['cohort']})", arm)
            cells.append(lift_text(arm["lift"]) if arm["lift"] is not None else "-")
            rows.append(cells)
            if arm["lift"] is not None:
                comparisons.append(
                    (f"{experiment['experiment']}: {arm['arm']} vs {base}", arm["lift"])
                )
        out.append(_table([*_ARM_HEAD, "lift vs baseline"], rows, "experiment"))
    if comparisons:
        out.append(_lift_svg(goal["goal"], comparisons))
    out.append(_value(goal["value"], "Revenue per customer who reached it", "goal-value"))
    return "\n".join(out)


def _map(j: Doc, definition: Journey | None) -> str:
    """The journey's map (:mod:`journeys.drawing`) with the flow this report measured."""
    if definition is None:
        return '<p class="note">No definition given for the map.</p>'
    return section(journey_map(definition), j["flow"])


def _value(value: Doc, title: str, kind: str) -> str:
    """Revenue per customer per cohort and arm, and the difference with its interval."""
    rows = [_money_cells(name, c) for name, c in value["cohorts"].items()]
    out = [f"<h4>{_e(title)}</h4>", _table(_MONEY_HEAD, rows, kind)]
    if value["difference"] is not None:
        out.append(
            f'<p class="{kind}-difference">Treated vs holdout: '
            f"{_e(money_text(value['difference']))}</p>"
        )
    for experiment in value["experiments"]:
        rows = [
            [*_money_cells(f"{a['arm']} ({a['cohort']})", a), money_text(a["difference"])]
            for a in experiment["arms"]
        ]
        out.append(f"<p>Experiment <b>{_e(experiment['experiment'])}</b>:</p>")
        out.append(_table([*_MONEY_HEAD, "vs first arm"], rows, f"{kind}-experiment"))
    return "\n".join(out)


_MONEY_HEAD = ["group", "customers", "buyers", "revenue", "per customer"]


def _money_cells(name: str, c: Doc) -> list[str]:
    per = c["per_customer"]
    return [
        name,
        f"{c['customers']:,}",
        f"{c['buyers']:,}",
        f"{c['total']:,.2f}",
        "-" if per is None else f"{per:,.2f}",
    ]


_ARM_HEAD = ["group", "customers", "reached", "rate", "95% interval", "median time to goal"]


def _arm_cells(name: str, arm: Doc) -> list[str]:
    interval = arm["interval"]
    shown = f"{pct(interval[0])} to {pct(interval[1])}" if interval else "-"
    return [
        name,
        f"{arm['customers']:,}",
        f"{arm['reached']:,}",
        pct(arm["rate"]),
        shown,
        hours(arm["median_hours_to_goal"]),
    ]


def _table(head: list[str], rows: list[list[str]], kind: str) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{kind}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _funnel_svg(j: Doc) -> str:
    rows = j["funnel"]
    left, bar_w, row_h = 150, 380, 30
    height = row_h * len(rows) + 30
    label = f"Stage funnel of {j['journey']}: share of customers who reached each stage"
    out = [_svg_open(height, label)]
    for i, r in enumerate(rows):
        y = 20 + i * row_h
        share = r["share"] or 0.0
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{_e(r["stage"])}</text>')
        out.append(
            f'<rect x="{left}" y="{y + 2}" width="{share * bar_w:.1f}" height="12" '
            f'fill="{NEUTRAL}"><title>{_e(r["stage"])}: {pct(share)}</title></rect>'
        )
        for k, (cohort, colour) in enumerate((("treated", TREATED), ("holdout", HOLDOUT))):
            s = r[cohort]["share"]
            if s is not None:
                out.append(
                    f'<rect x="{left}" y="{y + 15 + k * 5}" width="{s * bar_w:.1f}" height="4" '
                    f'fill="{colour}"><title>{_e(r["stage"])}, {cohort}: {pct(s)}</title></rect>'
                )
        out.append(
            f'<text x="{left + bar_w + 10}" y="{y + 15}">{r["customers"]:,} ({pct(share)})</text>'
        )
    out.append(
        f'<text x="{left}" y="12">all</text>'
        f'<text x="{left + 40}" y="12" style="fill:{TREATED}">treated</text>'
        f'<text x="{left + 100}" y="12" style="fill:{HOLDOUT}">holdout</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _lift_svg(goal: str, comparisons: list[tuple[str, Doc]]) -> str:
    """Absolute lift (percentage points) with its interval, one row per comparison."""
    left, plot_w, row_h = 230, 360, 28
    bounds = [float(v) for _, lift in comparisons for v in lift["absolute_interval"]] + [0.0]
    lo, hi = min(bounds), max(bounds)
    span = (hi - lo) or 0.01
    lo, hi = lo - span * 0.08, hi + span * 0.08

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * plot_w

    height = row_h * len(comparisons) + 40
    out = [_svg_open(height, f"Lift on {goal}, percentage points, with 95% intervals")]
    zero = x(0.0)
    out.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="6" y2="{height - 24}" stroke="#99a" '
        'stroke-dasharray="4 3"/>'
        f'<text x="{zero:.1f}" y="{height - 8}" text-anchor="middle">0</text>'
        f'<text x="{left}" y="{height - 8}" text-anchor="middle">{lo * 100:+.1f}</text>'
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="middle">'
        f"{hi * 100:+.1f} pts</text>"
    )
    for i, (name, lift) in enumerate(comparisons):
        y = 10 + i * row_h + row_h / 2
        a, b = lift["absolute_interval"]
        colour = TREATED if a > 0 or b < 0 else NEUTRAL
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{_e(name)}</text>')
        out.append(
            f'<line x1="{x(a):.1f}" x2="{x(b):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<circle cx="{x(lift["absolute"]):.1f}" cy="{y:.1f}" r="5" fill="{colour}">'
            f"<title>{_e(name)}: {_e(lift_text(lift))}</title></circle>"
        )
        shown = f"{lift['absolute'] * 100:+.1f} pts"
        out.append(f'<text x="{left + plot_w + 12}" y="{y + 4:.1f}">{shown}</text>')
    out.append("</svg>")
    return "".join(out)


def _svg_open(height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{_e(label)}">'
        f"<title>{_e(label)}</title>"
    )


def _e(value: Any) -> str:
    return escape("-" if value is None else str(value))
