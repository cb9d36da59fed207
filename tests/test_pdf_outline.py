"""PDF reports a reader can navigate and a screen reader can read: a bookmark for every section heading,
nested by level and titled as the heading reads, and a tagged PDF in the report's language.

The PDFs are printed by a real headless Chromium (``make test`` installs Debian's ``chromium``) and read
back with pypdf, independently of how evalkit wrote them.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from evalkit.render import PdfPrinter
from conftest import EPOCH, run_evalkit

LANGS = {"en": "en", "zh": "zh-Hans"}  # report language -> the PDF's /Lang


class _Headings(HTMLParser):
    """The h1-h6 headings inside ``<main>`` as (level, text as the reader sees it)."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._main = 0
        self._level = 0
        self._text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self._main += 1
        elif self._main and len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._level, self._text = int(tag[1]), []

    def handle_endtag(self, tag):
        if tag == "main":
            self._main -= 1
        elif self._level and tag == f"h{self._level}":
            self.found.append((self._level, " ".join("".join(self._text).split())))
            self._level = 0

    def handle_data(self, data):
        if self._level:
            self._text.append(data)


def _bookmarks(reader: PdfReader) -> list[tuple[int, str, int]]:
    """Every bookmark as (depth, title, page index), in order."""
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def runs(small_province, tmp_path_factory) -> tuple[str, dict[str, Path]]:
    """One county's report and the province overview, as HTML and PDF, in English and in Chinese."""
    code = sorted(pd.read_parquet(small_province / "regions.parquet", columns=["county_code"]).county_code)[0]
    out = tmp_path_factory.mktemp("outline")
    folders = {}
    for lang in LANGS:
        done = run_evalkit("batch", str(small_province), "--out", str(out), "--lang", lang, "--counties", code,
                           "--jobs", "1", "--pdf", "yes", "--no-progress", env={"EVALKIT_CACHE": str(out / "cache")})
        assert done.returncode == 0, done.stderr
        folders[lang] = out / f"small-2025-{lang}"
    return code, folders


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("report", ["county", "overview"])
def test_every_section_heading_is_a_bookmark_titled_as_it_reads(runs, lang, report):
    code, folders = runs
    name = code if report == "county" else "overview"
    headings = _Headings((folders[lang] / f"{name}.html").read_text(encoding="utf-8")).found
    assert sum(level == 2 for level, _ in headings) >= 4 and headings[0][0] == 1
    if report == "county":
        assert any(level == 3 for level, _ in headings)  # so that the nesting is tested
    reader = PdfReader(folders[lang] / f"{name}.pdf")
    marks = _bookmarks(reader)
    # the report's title at the top, its h2 sections under it, their h3 subsections under those
    assert [(depth, title) for depth, title, _ in marks] == [(level - 1, text) for level, text in headings]
    for _, title, page in marks:  # a bookmark opens the page the heading is on
        assert _squash(title) in _squash(reader.pages[page].extract_text()), (title, page)


@pytest.mark.parametrize("lang", LANGS)
def test_pdfs_are_tagged_for_screen_readers_in_the_report_language(runs, lang):
    code, folders = runs
    for name in (code, "overview"):
        root = PdfReader(folders[lang] / f"{name}.pdf").trailer["/Root"]
        assert "/StructTreeRoot" in root and root["/StructTreeRoot"]["/K"]
        assert root["/MarkInfo"]["/Marked"].value is True
        assert root["/Lang"] == LANGS[lang]


def test_a_heading_that_wraps_keeps_its_spaces_in_its_bookmark(tmp_path):
    page = tmp_path / "wrap.html"
    page.write_text("<!doctype html><html lang=en><title>x</title><h1>Report</h1>"
                    "<h2 style='width: 5em'>A long heading that wraps over lines</h2><p>Text.</p>", encoding="utf-8")
    with PdfPrinter() as printer:
        printer.print(page, tmp_path / "wrap.pdf")
    marks = _bookmarks(PdfReader(tmp_path / "wrap.pdf"))
    assert [(depth, title) for depth, title, _ in marks] == [(0, "Report"), (1, "A long heading that wraps over lines")]


def test_the_same_page_gives_the_same_pdf_whatever_was_printed_before(runs, tmp_path, monkeypatch):
    """The batch printed the county with a fresh browser; here it is printed after the overview, twice."""
    code, folders = runs
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    county = tmp_path / f"{code}.html"
    shutil.copy(folders["zh"] / f"{code}.html", county)
    with PdfPrinter() as printer:
        printer.print(folders["zh"] / "overview.html", tmp_path / "overview.pdf")
        printer.print(county, tmp_path / "first.pdf")
        printer.print(folders["en"] / "overview.html", tmp_path / "overview-en.pdf")
        printer.print(county, tmp_path / "second.pdf")
    batch = (folders["zh"] / f"{code}.pdf").read_bytes()
    assert (tmp_path / "first.pdf").read_bytes() == batch
    assert (tmp_path / "second.pdf").read_bytes() == batch
    assert (tmp_path / "overview.pdf").read_bytes() == (folders["zh"] / "overview.pdf").read_bytes()
