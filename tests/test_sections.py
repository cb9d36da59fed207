"""Section snapshots: the visible text of each section of one county's report, en and zh, against the
committed files in tests/snapshots/sections/, so that any change to what a reader sees (a figure, a
word, a row) shows up as a reviewable diff.

A change that is meant: rerun with ``EVALKIT_UPDATE_SNAPSHOTS=1`` to rewrite the snapshots, and
commit them with the change (``git diff tests/snapshots`` is the review).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evalkit import __version__
from evalkit.paths import SAMPLE
from evalkit.report import CountyReport
from evalkit.report import sections as sections_package
from evalkit.report.sections import SECTIONS

SNAPSHOTS = Path(__file__).parent / "snapshots" / "sections"
#: The fixed county and wave of the sample province (``make sample``) whose report the snapshots hold.
COUNTY, YEAR = "090102", 2025
#: A fixed build time for the provenance section.
EPOCH = "1767225600"
UPDATE = os.environ.get("EVALKIT_UPDATE_SNAPSHOTS") == "1"

#: Tags that start a line of their own in the text.
_BLOCKS = frozenset({"h1", "h2", "h3", "h4", "p", "li", "tr", "ul", "ol", "table", "figure", "figcaption", "header",
                     "caption", "div", "title", "text"})


class _Visible(HTMLParser):
    """The text a reader sees, one line per block (heading, paragraph, list item, table row, figure text),
    table cells separated by `` | ``; markup, styles and scripts dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = [[]]
        self.hidden = 0

    def _break(self) -> None:
        if self.lines[-1]:
            self.lines.append([])

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.hidden += 1
        if tag in _BLOCKS:
            self._break()
        if tag in ("td", "th") and self.lines[-1]:
            self.lines[-1].append(" | ")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.hidden -= 1
        if tag in _BLOCKS:
            self._break()

    def handle_data(self, data):
        if not self.hidden:
            self.lines[-1].append(data)

    def text(self) -> str:
        lines = (" ".join("".join(parts).split()) for parts in self.lines)
        return "\n".join(line for line in lines if line) + "\n"


def visible_text(html: str) -> str:
    """The visible text of a section's HTML (see :class:`_Visible`), with evalkit's version and the input
    files' hashes masked: a release, or a Parquet writer that stamps its own version into the sample's
    files, does not rewrite the provenance snapshot."""
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return re.sub(r"\b[0-9a-f]{16}\b", "<sha256>", parser.text().replace(__version__, "<version>"))


@pytest.fixture(scope="module", params=["en", "zh"])
def report(request):
    assert (SAMPLE / "survey.parquet").exists(), "the sample province is not generated: make sample (make test does)"
    return CountyReport.load(SAMPLE, COUNTY, year=YEAR, lang=request.param)


def _compare(name: str, lang: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.{lang}.txt"
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        return
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if old is None:
        pytest.fail(f"no snapshot {path.relative_to(Path(__file__).parent)}: run with EVALKIT_UPDATE_SNAPSHOTS=1 "
                    "to write it, and commit it.")
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True), text.splitlines(keepends=True),
                                        fromfile=f"snapshot {path.name}", tofile=f"now {path.name}"))
    pytest.fail(f"section {name!r} ({lang}) of county {COUNTY}, {YEAR} differs from its snapshot:\n{diff}\n"
                "If the change is meant, rerun with EVALKIT_UPDATE_SNAPSHOTS=1 and commit the snapshot.",
                pytrace=False)


@pytest.mark.parametrize("name", SECTIONS)
def test_section_text_matches_its_snapshot(report, name, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    _compare(name, report.lang, visible_text(str(report.section(name))))


def test_the_section_list_is_the_section_modules_and_the_report_methods():
    """Every module of report/sections/ is in SECTIONS (once), and each name is a method of CountyReport that
    renders that module's section, so a new section file cannot be forgotten in the list."""
    folder = Path(sections_package.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    assert len(set(SECTIONS)) == len(SECTIONS)
    assert sorted(SECTIONS) == modules
    for name in SECTIONS:
        assert getattr(CountyReport, name).__name__ == name
        assert getattr(CountyReport, name).__doc__


def test_a_changed_figure_shows_as_a_diff(report, monkeypatch):
    """The snapshot catches a changed figure: the county's coverage made one point higher fails the
    comparison, with the old and new lines in the message."""
    text = visible_text(str(report.section("indicator_table")))
    row = report._row(report._county, "coverage")
    monkeypatch.setitem(row, "value", row["value"] + 0.01)
    changed = visible_text(str(report.section("indicator_table")))
    assert changed != text
    monkeypatch.setattr(sys.modules[__name__], "UPDATE", False)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)differs from its snapshot.*\n-.*\n\+"):
        _compare("indicator_table", report.lang, changed)
