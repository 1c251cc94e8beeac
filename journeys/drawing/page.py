"""The map with what is drawn beside it, as HTML: one section per journey, or a page.

Beside the SVG (:mod:`.svg`), tables: the rules that fire in every stage and what they
send (with the triggers sent and held out, when measured), the rules that only write
attributes, the exits from any stage, the guard rails and the re-entry, and the
measured transitions the map does not draw (merges, re-entries, exits). ``journeys lint
--map`` writes :func:`page`; ``journeys report --html`` puts :func:`section` in its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from journeys.drawing.model import JourneyMap, Send
from journeys.drawing.svg import FlowDoc, counts, draw

STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;"
    "color:#1d2430;padding:0 1rem}.map-scroll{overflow-x:auto}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.2rem .6rem;"
    "text-align:left}thead th{border-bottom:1px solid #99a}.note{color:#556}"
    ".warning{color:#b45309}"
)


def section(
    m: JourneyMap,
    flow: FlowDoc | None = None,
    warnings: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The map of one journey and its side tables; ``notes``: lint's warnings in words."""
    out = [f'<div class="map-scroll">{draw(m, flow, warnings)}</div>']
    out += [f'<p class="warning">⚠ {_e(n)}</p>' for n in notes]
    head = ["rule", "when", "condition", "sends", "priority"]
    rows = [
        [c.rule, c.when, c.condition, c.send.kind if c.send else "-", _rails(c.send)]
        for c in m.everywhere
    ]
    if flow is not None:
        head += ["sent", "held out"]
        for row, card in zip(rows, m.everywhere, strict=True):
            found = next((r for r in flow["rules"] if r["rule"] == card.rule), None)
            sent = counts(found["sent"], flow["cohorts"]) if found else "0"
            row += [sent, f"{sum(found['held_out'].values()):,}" if found else "0"]
    if rows:
        rules = "1 rule that sends" if len(rows) == 1 else f"{len(rows)} rules that send"
        out.append(f"<h4>In every stage ({rules} without moving)</h4>")
        out.append(_table(head, rows, "everywhere"))
    if m.updates:
        out.append(
            f'<p class="note">Rules that only update attributes: {_e(", ".join(m.updates))}.</p>'
        )
    for name, condition, reason in m.exits:
        out.append(
            f'<p class="note">Leaves from any stage: {_e(name)} on {_e(condition)} ({reason}).</p>'
        )
    if m.notes:
        out.append(f'<p class="note">Guard rails: {_e("; ".join(m.notes))}.</p>')
    if flow is not None:
        other = [t for t in flow["transitions"] if not t["drawn"] and t["customers"]["all"]]
        if other:
            out.append("<h4>Other transitions measured</h4>")
            out.append(
                _table(
                    ["rule", "kind", "from", "to", "customers"],
                    [
                        [
                            t["rule"],
                            t["kind"],
                            t["from"],
                            t["to"],
                            counts(t["customers"], flow["cohorts"]),
                        ]
                        for t in other
                    ],
                    "transitions",
                )
            )
    return "\n".join(out)


def page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """One self-contained page: (heading, section) per journey."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    for heading, body in sections:
        parts += [f"<section><h2>{_e(heading)}</h2>", body, "</section>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _rails(send: Send | None) -> str:
    if send is None:
        return "-"
    return send.priority + (", quiet hours" if send.quiet else "")


def _table(head: list[str], rows: list[list[str]], kind: str) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{kind}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _e(value: object) -> str:
    return escape(str(value))
