"""The HTML report, rendered by a real browser (headless Chromium, Debian's ``chromium``):
what it shows, and that it needs nothing from elsewhere.

Skipped only where the ``chromium`` command is absent (``apt-get install chromium``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from journeys import default_journey, load_definition
from streams.report.html import page
from streams.report.measure import report
from streams.report.tally import tally
from streams.report.text import lift_text, pct
from tests.report.conftest import END, SAMPLE, items, population

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs chromium (apt-get install chromium)"
)


@cache
def _doc() -> dict[str, Any]:
    definitions = [default_journey(), load_definition(SAMPLE)]
    data = population(0.1, 400, 20.0)
    return report(tally(definitions, items(data), until=END), until=END)


class _Dom(HTMLParser):
    """Visible text per element (svg text included), element counts, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str, str | None]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(" ".join(data.split()))


def _render(tmp_path: Path) -> _Dom:
    """The DOM Chromium built from the page, as it dumps it after loading."""
    path = tmp_path / "report.html"
    path.write_text(page(_doc()), encoding="utf-8")
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<svg" in done.stdout, done.stderr[-2000:]
    dom = _Dom()
    dom.feed(done.stdout)
    return dom


@needs_chromium
def test_the_browser_shows_the_funnel_goals_lift_and_variants(tmp_path: Path) -> None:
    dom = _render(tmp_path)
    text = "\n".join(dom.text)
    doc = _doc()
    assert "Journeys report" in text
    for journey in doc["journeys"]:
        assert f"{journey['journey']} v{journey['version']}" in dom.text
        for row in journey["funnel"]:
            assert row["stage"] in dom.text  # the funnel chart's labels
        for goal in journey["goals"]:
            assert f"Goal {goal['goal']} ({goal['kind']})" in dom.text
            if goal["lift"] is not None:
                assert f"Lift, treated vs holdout: {lift_text(goal['lift'])}" in dom.text
            for cohort, arm in goal["cohorts"].items():
                assert cohort in dom.text and pct(arm["rate"]) in dom.text
    assert "welcome_copy: short vs control" in dom.text  # a lift chart row
    assert "Newcombe hybrid score interval" in text
    # one funnel per journey, one lift chart per goal with a comparison
    goals = sum(len(j["goals"]) for j in doc["journeys"])
    assert dom.tags["svg"] == len(doc["journeys"]) + goals
    assert dom.tags["circle"] >= goals


@needs_chromium
def test_the_page_needs_nothing_from_elsewhere(tmp_path: Path) -> None:
    dom = _render(tmp_path)
    assert dom.tags.get("script", 0) == 0 and dom.tags.get("link", 0) == 0
    assert dom.tags.get("img", 0) == 0 and dom.tags.get("iframe", 0) == 0
    for tag, name, value in dom.attrs:
        if name in ("src", "href", "xlink:href", "srcset", "action"):
            pytest.fail(f"<{tag} {name}={value!r}>: the page must be self-contained")
    source = page(_doc())
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", source)
