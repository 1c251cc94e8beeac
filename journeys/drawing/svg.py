"""The map as inline SVG: boxes for stages, labelled arrows for the rules that move.

Self-contained (no script, font or image from elsewhere; arrowheads are markers defined
in the SVG itself). Every label is text in the SVG, so a browser's find, a screen reader
and a test read the same words a person sees; a long line is cut with an ellipsis and
kept whole in the element's ``<title>`` (the browser's tooltip).

With a measured ``flow`` (what ``journeys report`` counted, see :data:`FlowDoc`) each stage
shows the customers who reached it and each goal's rate among them, each arrow the
customers who took it and the triggers its rule sent and held out, per cohort where the
journey has a control group; an arrow's width grows with its share of the customers.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from journeys.drawing.layout import Box, Link, Placed, layout
from journeys.drawing.model import Card, Edge, JourneyMap, Node
from journeys.timeutil import format_duration

FlowDoc = Mapping[str, Any]
"""``{"cohorts": [...], "stages": [{"stage", "customers": {cohort: n}, "goals": [{"goal",
"rate": {cohort: r}}]}], "transitions": [{"rule", "from", "to", "customers"}], "rules":
[{"rule", "sent": {cohort: n}, "held_out": {cohort: n}}]}``: cohort ``all``, ``treated``,
``holdout``; ``cohorts`` says which to show beside ``all``."""

CHAR, BOLD_CHAR, TITLE_CHAR, LINE, PAD, MIN_WIDTH, MAX_WIDTH = 6.3, 6.9, 7.8, 15.0, 8.0, 90.0, 250.0
MARGIN, TOP, LEGEND_WIDTH = 16.0, 40.0, 600.0
COLOURS = {
    "event": "#2f6fdf",
    "timer": "#7c4dcc",
    "window": "#0f8a7a",
    "threshold": "#c2410c",
    "date": "#a16207",
}
_STYLE = (
    ".jm-t{font:bold 13px system-ui,sans-serif;fill:#1d2430}"
    ".jm-l{font:11px system-ui,sans-serif;fill:#1d2430}"
    ".jm-b{font:bold 11px system-ui,sans-serif;fill:#1d2430}"
    ".jm-n{font:11px system-ui,sans-serif;fill:#556}"
    ".jm-w{font:bold 11px system-ui,sans-serif;fill:#b45309}"
)

Line = tuple[str, str]  # (text, css class)


def draw(
    m: JourneyMap,
    flow: FlowDoc | None = None,
    warnings: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The SVG of ``m``; ``warnings``: per stage, lint's words about it (marked)."""
    warned = warnings or {}
    node_lines = {n.stage: _node_lines(n, flow, warned.get(n.stage, ())) for n in m.nodes}
    groups = _groups(m.edges)
    edge_lines = [_edge_lines(group, flow) for group in groups]
    boxes = [_box(n.stage, node_lines[n.stage], TITLE_CHAR) for n in m.nodes]
    links = [
        Link(tuple(e.source for e in group), group[0].target, _box(f"e{i}", edge_lines[i], CHAR))
        for i, group in enumerate(groups)
    ]
    placed = layout(boxes, links)
    width = max(placed.width + 2 * MARGIN, LEGEND_WIDTH)
    height = placed.height + TOP + MARGIN
    uid = f"jm-{m.journey}"
    label = f"Map of journey {m.journey} v{m.version}: {len(m.nodes)} stages, {len(m.edges)} paths"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-map" id="{uid}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>',
        f"<defs><style>{_STYLE}</style>",
        *(_marker(uid, kind, colour) for kind, colour in COLOURS.items()),
        "</defs>",
        _legend(flow is not None and len(flow["cohorts"]) > 1),
    ]
    share = _shares(m, flow)
    for i, group in enumerate(groups):
        for e in group:
            out.append(_arrow(uid, e, placed.routes[(f"e{i}", e.source)], share.get(e.key)))
    for n in m.nodes:
        out.append(_node(n, placed, node_lines[n.stage], bool(warned.get(n.stage))))
    for i, group in enumerate(groups):
        for centre in placed.labels[f"e{i}"]:
            out.append(_label(group, centre, edge_lines[i]))
    out.append("</svg>")
    return "".join(out)


def counts(c: Mapping[str, int], cohorts: Sequence[str]) -> str:
    """``412`` or ``412 (T 390 · H 22)``: T treated, H holdout (the legend says so)."""
    split = " · ".join(f"{k[0].upper()} {c.get(k, 0):,}" for k in cohorts if k != "all")
    return f"{c.get('all', 0):,}" + (f" ({split})" if split else "")


def _node_lines(n: Node, flow: FlowDoc | None, warned: Sequence[str]) -> list[Line]:
    lines: list[Line] = [(n.stage, "jm-t")]
    roles = ["entry"] if n.initial else []
    if n.exit is not None:
        roles.append(f"{'goal' if n.goal else 'exit'}: {n.exit}")
    if roles:
        lines.append((", ".join(roles), "jm-n"))
    lines += [(f"⚠ {w}", "jm-w") for w in warned]
    for card in n.actions:
        lines += [(f"{card.rule} · {card.when}", "jm-b"), (card.condition, "jm-l")]
        lines += _send_lines(card)
    if flow is not None:
        cohorts = flow["cohorts"]
        stage = next((s for s in flow["stages"] if s["stage"] == n.stage), None)
        if stage is not None:
            lines.append((f"reached: {counts(stage['customers'], cohorts)}", "jm-b"))
            for goal in stage["goals"]:
                lines.append((f"{goal['goal']}: {_rates(goal['rate'], cohorts)}", "jm-l"))
        for card in n.actions:
            lines += _sent_lines(flow, card)
    return lines


def _groups(edges: Sequence[Edge]) -> list[list[Edge]]:
    """The edges of one rule into one stage: one label, an arrow from each source."""
    found: dict[tuple[str, str], list[Edge]] = {}
    for e in edges:
        found.setdefault((e.card.rule, e.target), []).append(e)
    return list(found.values())


def _edge_lines(group: list[Edge], flow: FlowDoc | None) -> list[Line]:
    card = group[0].card
    lines: list[Line] = [(f"{card.rule} · {card.when}", "jm-b"), (card.condition, "jm-l")]
    lines += _send_lines(card)
    if card.goal is not None and card.send is None:
        lines.append((f"sets goal {card.goal}", "jm-n"))
    if flow is not None:
        for e in group:
            took = counts(_took(flow, e.key), flow["cohorts"])
            where = f" from {e.source}" if len(group) > 1 else ""
            lines.append((f"took it{where}: {took}", "jm-b"))
        lines += _sent_lines(flow, card)
    return lines


def _send_lines(card: Card) -> list[Line]:
    if card.send is None:
        return []
    s = card.send
    extra = [s.priority, *(["quiet hours"] if s.quiet else [])]
    if s.cooldown is not None:
        extra.append(f"cooldown {format_duration(s.cooldown)}")
    if s.variants:
        extra.append("A/B " + "/".join(s.variants))
    return [(f"→ {s.kind}", "jm-l"), (" · ".join(extra), "jm-n")]


def _sent_lines(flow: FlowDoc, card: Card) -> list[Line]:
    if card.send is None:
        return []
    rule = next((r for r in flow["rules"] if r["rule"] == card.rule), None)
    if rule is None:
        return [(f"{card.rule}: none sent", "jm-n")]
    held = sum(rule["held_out"].values())
    text = f"{card.rule}: sent {counts(rule['sent'], flow['cohorts'])}"
    return [(text + (f"; held out {held:,}" if held else ""), "jm-n")]


def _took(flow: FlowDoc, key: tuple[str, str, str]) -> Mapping[str, int]:
    for t in flow["transitions"]:
        if (t["rule"], t["from"], t["to"]) == key:
            found: Mapping[str, int] = t["customers"]
            return found
    return {}


def _rates(rate: Mapping[str, float | None], cohorts: Sequence[str]) -> str:
    shown = [k for k in cohorts if k != "all"] or ["all"]
    return " · ".join(
        f"{k[0].upper()} {_pct(rate.get(k))}" if k != "all" else _pct(rate.get(k)) for k in shown
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _shares(m: JourneyMap, flow: FlowDoc | None) -> dict[tuple[str, str, str], float]:
    if flow is None:
        return {}
    entered = max((s["customers"].get("all", 0) for s in flow["stages"]), default=0)
    return {e.key: _took(flow, e.key).get("all", 0) / entered if entered else 0.0 for e in m.edges}


def _width(css: str) -> float:
    return TITLE_CHAR if css == "jm-t" else BOLD_CHAR if css in ("jm-b", "jm-w") else CHAR


def _box(id: str, lines: list[Line], first: float = CHAR) -> Box:
    widest = max(len(t) * _width(css) for t, css in lines)
    return Box(id, max(MIN_WIDTH, min(MAX_WIDTH, widest + 2 * PAD + 4)), len(lines) * LINE + PAD)


def _node(n: Node, placed: Placed, lines: list[Line], warned: bool) -> str:
    x, y = placed.boxes[n.stage]
    box = _box(n.stage, lines, TITLE_CHAR)
    left, top = x - box.width / 2 + MARGIN, y - box.height / 2 + TOP
    stroke = "#1f7a3a" if n.goal else "#2f6fdf" if n.initial else "#445"
    fill = "#fff4e5" if warned else "#eef7f0" if n.goal else "#ffffff"
    dash = ' stroke-dasharray="5 3"' if n.exit is not None and not n.goal else ""
    out = [f'<g class="stage" data-stage="{_e(n.stage)}">']
    out.append(
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" '
        f'rx="6" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{2.5 if n.goal or n.initial else 1.2}"{dash}/>'
    )
    if n.initial:  # the entry: a dot and a short arrow into the stage
        out.append(
            f'<circle cx="{left - 18:.1f}" cy="{top + 12:.1f}" r="5" fill="#2f6fdf">'
            "<title>customers enter here</title></circle>"
            f'<line x1="{left - 13:.1f}" y1="{top + 12:.1f}" x2="{left:.1f}" y2="{top + 12:.1f}" '
            'stroke="#2f6fdf" stroke-width="2"/>'
        )
    out.append(_text_lines(lines, left, top, box.width))
    out.append("</g>")
    return "".join(out)


def _label(group: list[Edge], centre: tuple[float, float], lines: list[Line]) -> str:
    e = group[0]
    x, y = centre
    box = _box("", lines, CHAR)
    left, top = x - box.width / 2 + MARGIN, y - box.height / 2 + TOP
    colour = COLOURS[e.card.when]
    return (
        f'<g class="path" data-rule="{_e(e.card.rule)}" '
        f'data-from="{_e(" ".join(x.source for x in group))}" '
        f'data-to="{_e(e.target)}"><rect x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="4" fill="#fbfbfd" stroke="{colour}" stroke-width="1"/>'
        f"{_text_lines(lines, left, top, box.width)}</g>"
    )


def _text_lines(lines: list[Line], left: float, top: float, width: float) -> str:
    out = []
    for k, (text, css) in enumerate(lines):
        room = int((width - 2 * PAD) / _width(css))
        shown = text if len(text) <= room else text[: max(room - 1, 1)] + "…"
        tip = f"<title>{_e(text)}</title>" if shown != text else ""
        y = top + PAD + LINE * (k + 1) - 4
        out.append(f'<text x="{left + PAD:.1f}" y="{y:.1f}" class="{css}">{tip}{_e(shown)}</text>')
    return "".join(out)


def _arrow(uid: str, e: Edge, points: list[tuple[float, float]], share: float | None) -> str:
    pts = [(x + MARGIN, y + TOP) for x, y in points]
    d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        mid = (y0 + y1) / 2
        d += f" C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}"
    colour = COLOURS[e.card.when]
    width = 1.5 + (8.0 * share if share else 0.0)
    dash = ' stroke-dasharray="6 4"' if e.card.when == "timer" else ""
    return (
        f'<path class="arrow" d="{d}" fill="none" stroke="{colour}" stroke-width="{width:.1f}"'
        f'{dash} marker-end="url(#{uid}-{e.card.when})"><title>{_e(e.card.text())}</title></path>'
    )


def _marker(uid: str, kind: str, colour: str) -> str:
    return (
        f'<marker id="{uid}-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _legend(cohorts: bool) -> str:
    out, x = ['<g class="legend">'], MARGIN
    for kind, colour in COLOURS.items():
        dash = ' stroke-dasharray="6 4"' if kind == "timer" else ""
        out.append(
            f'<line x1="{x:.0f}" y1="14" x2="{x + 22:.0f}" y2="14" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{x + 26:.0f}" y="18" class="jm-l">{kind}</text>'
        )
        x += 34 + len(kind) * CHAR + 14
    if cohorts:
        out.append(f'<text x="{x:.0f}" y="18" class="jm-n">T treated · H holdout</text>')
    out.append("</g>")
    return "".join(out)


def _e(value: object) -> str:
    return escape(str(value))
