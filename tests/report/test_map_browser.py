"""The maps as a person sees them: rendered by headless Chromium (Debian's ``chromium``),
a screenshot taken, and the labels, counts and SVG elements read from the DOM it built.

Skipped only where the ``chromium`` command is absent (``apt-get install chromium``).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from journeys import default_journey, load_definition
from journeys.lint import main as lint_main
from streams.report.html import page
from streams.report.measure import report
from streams.report.tally import tally
from tests.report.conftest import END, REPO, SAMPLE, items, population

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs chromium (apt-get install chromium)"
)


@cache
def _report() -> tuple[dict[str, Any], str]:
    definitions = [default_journey(), load_definition(SAMPLE)]
    doc = report(tally(definitions, items(population(0.1, 400, 60.0)), until=END), until=END)
    return doc, page(doc, definitions)


def _chromium(tmp_path: Path, html: str, *flags: str) -> str:
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            *flags,
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _texts(dom: str, svg_id: str) -> list[str]:
    """The visible text of one SVG's ``<text>`` elements (their tooltips left out)."""
    svg = dom.split(f'id="{svg_id}"')[1].split("</svg>")[0]
    found = re.findall(r"<text[^>]*>(?:<title>.*?</title>)?(.*?)</text>", svg)
    return [t.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") for t in found]


def test_the_reports_map_shows_the_jsons_counts(tmp_path: Path) -> None:
    doc, html = _report()
    dom = _chromium(tmp_path, html, "--dump-dom")
    lifecycle = doc["journeys"][0]
    flow = lifecycle["flow"]
    texts = _texts(dom, "jm-lifecycle")
    for stage in flow["stages"]:
        c = stage["customers"]
        assert stage["stage"] in texts
        assert f"reached: {c['all']:,} (T {c['treated']:,} · H {c['holdout']:,})" in texts
    took = [t for t in texts if t.startswith("took it")]
    drawn = [t for t in flow["transitions"] if t["drawn"]]
    assert len(took) == len(drawn) == 9
    welcome = next(t for t in drawn if t["rule"] == "welcome")["customers"]
    assert (
        f"took it: {welcome['all']:,} (T {welcome['treated']:,} · H {welcome['holdout']:,})"
        in texts
    )
    assert "no activity for 45d" in texts and "→ engagement.win_back" in texts
    assert "marketing · quiet hours" in texts
    assert dom.count('class="journey-map"') == 2  # one map per journey
    svg = dom.split('id="jm-lifecycle"')[1].split("</svg>")[0]
    assert svg.count('class="stage"') == 5 and svg.count('class="arrow"') == 9
    assert "Revenue per customer" in dom and "Treated vs holdout:" in dom


def test_the_reports_map_screenshot(tmp_path: Path) -> None:
    _, html = _report()
    shot = tmp_path / "report.png"
    _chromium(tmp_path, html, f"--screenshot={shot}", "--window-size=1200,2400")
    assert _png_size(shot) == (1200, 2400)
    assert shot.stat().st_size > 50_000  # a page with charts, not a blank one


def test_the_lint_map_in_the_browser(tmp_path: Path) -> None:
    target = tmp_path / "lint.html"
    lint_main([str(REPO / "journeys/samples/lint/checks.yaml"), "--map", str(target)])
    dom = _chromium(tmp_path, target.read_text(), "--dump-dom")
    texts = _texts(dom, "jm-checks")
    assert {"visitor", "trial", "churned"} <= set(texts)
    assert "⚠ is unreachable" in texts and "⚠ has no way out" in texts
    assert "error: rules[1].when.event" in dom
    shot = tmp_path / "lint.png"
    _chromium(tmp_path, target.read_text(), f"--screenshot={shot}", "--window-size=1000,900")
    assert _png_size(shot) == (1000, 900)


def test_the_maps_need_nothing_from_elsewhere(tmp_path: Path) -> None:
    _, html = _report()
    dom = _chromium(tmp_path, html, "--dump-dom")
    assert "<script" not in dom and "<img" not in dom and "<link" not in dom
    assert not re.search(r"url\((?!#)|@import|https?://(?!www\.w3\.org/2000/svg)", html)
