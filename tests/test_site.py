"""The site a batch writes (index, county reports, province overview), opened in a real headless Chromium.

Uses the ``small_batch`` run of the small synthetic province (conftest.py) and one county rendered in
Chinese.  Every page must load without a console error or warning, a page error, a failed request or
any request outside the file system.  Screenshots go to reports/test-screenshots/ (site-*.png).
Needs Chromium (``make test`` installs it): fails, never skips, without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import expect

from evalkit.indicators import catalogue
from evalkit.report.i18n import t
from evalkit.report.overview import KEY_FIGURES
from browser import (DESKTOP, EMBEDDED_FONT, PHONE, assert_embedded_font_only, browser,  # noqa: F401
                     follow_contents_links, open_page, screenshot, visible_column, wait_for_fonts)
from conftest import run_evalkit

COUNTIES = ["090102", "090121", "090202", "090221"]
COUNTY = "090202"
#: What must never show in a report: the notebook's code, tracebacks, the kernel's own messages.
CODE_OR_NOISE = ("county_code =", "data_dir =", "import evalkit", "Traceback (most recent call last)", "ERROR!",
                 "History logging")


def _numbers_then_missing(keys: list[str | None], descending: bool = False) -> bool:
    """Whether the sort keys are numbers in order, then the missing ones (None)."""
    numbers = [float(k) for k in keys if k is not None]
    return (numbers == sorted(numbers, reverse=descending)
            and keys == [k for k in keys if k is not None] + [None] * (len(keys) - len(numbers)))


def _wide_tables_scroll_in_their_box(page) -> None:
    """The page itself does not scroll sideways; a table wider than the screen scrolls inside its box."""
    width = page.evaluate("innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"
    boxes = page.locator(".table-wrap")
    wide = [boxes.nth(i) for i in range(boxes.count())
            if boxes.nth(i).evaluate("b => b.scrollWidth > b.clientWidth + 1")]
    assert wide, "no table is wider than a phone: this check checks nothing"
    for box in wide:
        assert box.evaluate("b => getComputedStyle(b).overflowX") in ("auto", "scroll")
        assert box.evaluate("b => b.getBoundingClientRect().right") <= width + 1
        moved = box.evaluate("b => { b.scrollLeft = 80; const moved = b.scrollLeft; b.scrollLeft = 0; return moved; }")
        assert moved > 0


def _figure_texts_outside_their_figure(page) -> list[str]:
    """Texts of inline SVG figures that stick out of their figure (cut off on screen)."""
    return page.evaluate("""() => [...document.querySelectorAll('figure svg text')].filter(e => {
            const r = e.getBoundingClientRect(), s = e.closest('svg').getBoundingClientRect();
            return r.width > 0 && (r.left < s.left - 1 || r.right > s.right + 1 || r.top < s.top - 1
                                   || r.bottom > s.bottom + 1);
        }).map(e => e.textContent.trim())""")


def _lines(page, selector: str) -> dict[str, int]:
    """How many lines on screen the text of each element matching ``selector`` takes, by its text."""
    return dict(page.evaluate("""selector => [...document.querySelectorAll(selector)].map(e => {
            const range = document.createRange();
            range.selectNodeContents(e);
            const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
            return [e.textContent.trim(), tops.size];
        })""", selector))


def _broken_across_lines(page, selector: str) -> list[str]:
    """Texts of the elements matching ``selector`` that take more than one line on screen."""
    return [text for text, lines in _lines(page, selector).items() if lines > 1]


# --- the index page ------------------------------------------------------------------------------

def test_index_lists_every_county_with_links_to_existing_files(browser, small_batch):
    page, problems = open_page(browser, small_batch / "index.html", **DESKTOP)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert visible_column(page, 0) == COUNTIES
    statuses = page.locator("#counties tbody td.status")
    assert statuses.all_text_contents() == [t("index.status_ok", "en")] * len(COUNTIES)

    hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    files = [unquote(urlsplit(h).path) for h in hrefs if not h.startswith("#")]
    for code in COUNTIES:
        assert f"{code}.html" in files and f"{code}.pdf" in files
    assert "overview.html" in files
    assert [f for f in files if not (small_batch / f).is_file()] == []
    screenshot(page, "site-index-desktop.png")
    assert problems == []


def test_index_sorts_by_satisfaction_and_finds_a_county_by_name(browser, small_batch):
    page, problems = open_page(browser, small_batch / "index.html", **DESKTOP)
    header = page.locator("#counties thead th", has_text="Satisfaction rate")
    column = header.evaluate("th => th.cellIndex")
    original = visible_column(page, column)

    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = visible_column(page, column)
    assert _numbers_then_missing(ascending) and ascending != original
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert _numbers_then_missing(visible_column(page, column), descending=True)

    row = page.locator("#counties tbody tr", has=page.locator("td", has_text=COUNTY))
    name = row.locator("th").get_attribute("data-sort")  # the county's name, as the table shows it
    search = page.get_by_role("searchbox")
    search.press_sequentially(name)
    assert visible_column(page, 0) == [COUNTY]
    expect(page.locator("#no-match")).to_be_hidden()
    search.fill("")
    assert sorted(visible_column(page, 0)) == COUNTIES
    assert problems == []


def test_a_county_link_on_the_index_opens_its_report(browser, small_batch):
    page, problems = open_page(browser, small_batch / "index.html", **DESKTOP)
    row = page.locator("#counties tbody tr", has=page.locator("td", has_text=COUNTY))
    name = row.locator("th").get_attribute("data-sort")
    row.get_by_role("link", name=t("index.open_html", "en"), exact=True).click()
    page.wait_for_load_state("load")
    wait_for_fonts(page)
    assert page.url == (small_batch / f"{COUNTY}.html").as_uri()
    expect(page.locator("main h1")).to_contain_text(name)
    page.get_by_role("link", name=t("page.back_to_index", "en"), exact=True).click()
    page.wait_for_load_state("load")
    assert page.url == (small_batch / "index.html").as_uri()
    row.locator("th").get_by_role("link", name=name, exact=True).click()  # the county's name opens it too
    page.wait_for_load_state("load")
    assert page.url == (small_batch / f"{COUNTY}.html").as_uri()
    assert problems == []


def test_index_reads_on_a_phone(browser, small_batch):
    page, problems = open_page(browser, small_batch / "index.html", **PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("innerWidth") + 1
    expect(page.get_by_role("searchbox")).to_be_visible()
    screenshot(page, "site-index-phone.png")
    assert problems == []


# --- a county report -----------------------------------------------------------------------------

def test_county_report_loads_cleanly_and_its_contents_links_reach_their_headings(browser, small_batch):
    page, problems = open_page(browser, small_batch / f"{COUNTY}.html", **DESKTOP)
    assert page.evaluate("document.documentElement.lang") == "en"
    followed = follow_contents_links(page)
    assert len(followed) >= 10 and len(set(followed)) == len(followed)
    screenshot(page, "site-report-desktop.png")
    assert problems == []


@pytest.mark.parametrize("page_name", [f"{code}.html" for code in COUNTIES] + ["overview.html"])
def test_report_shows_no_code_and_no_program_output(browser, small_batch, page_name):
    page, problems = open_page(browser, small_batch / page_name, **DESKTOP)
    text = page.locator("body").inner_text()
    assert [noise for noise in CODE_OR_NOISE if noise in text] == []
    assert page.locator("main pre").count() == 0  # report content is tables, figures and prose
    assert problems == []


def test_county_report_reads_on_a_phone(browser, small_batch):
    page, problems = open_page(browser, small_batch / f"{COUNTY}.html", **PHONE)
    _wide_tables_scroll_in_their_box(page)
    figures = page.locator("figure svg, figure img")
    assert figures.count() > 0
    assert max(figures.evaluate_all("fs => fs.map(f => f.getBoundingClientRect().right)")) <= 390 + 1
    screenshot(page, "site-report-phone.png")
    assert problems == []


@pytest.mark.parametrize("page_name", [f"{COUNTY}.html", "overview.html"])
def test_figure_labels_are_not_cut_off(browser, small_batch, page_name):
    page, problems = open_page(browser, small_batch / page_name, **DESKTOP)
    assert page.locator("figure svg text").count() > 0
    assert _figure_texts_outside_their_figure(page) == []
    assert problems == []


# --- the province overview -----------------------------------------------------------------------

def test_overview_loads_cleanly_and_its_contents_links_reach_their_headings(browser, small_batch):
    page, problems = open_page(browser, small_batch / "overview.html", **DESKTOP)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert len(follow_contents_links(page)) >= 3
    screenshot(page, "site-overview-desktop.png")
    assert problems == []


def test_overview_headings_are_short_and_named_in_full_below(browser, small_batch):
    """The overview's widest table heads its columns with short names (a full name took four lines) and
    gives the full names in a note; it refers to the county reports for the method, having no appendix A."""
    page, problems = open_page(browser, small_batch / "overview.html", **DESKTOP)
    lines = _lines(page, "#counties ~ .table-wrap table thead th")
    assert len(lines) > 5 and max(lines.values()) <= 2, lines
    note = page.locator("#counties ~ p.note").first.text_content()
    for indicator, _ in KEY_FIGURES:
        assert catalogue().loc[indicator, "en"] in note, indicator
    assert page.locator("h2", has_text="Appendix").count() == 0
    expect(page.locator("main")).to_contain_text("Appendix A of each county report")
    assert problems == []


def test_overview_reads_on_a_phone(browser, small_batch):
    page, problems = open_page(browser, small_batch / "overview.html", **PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("innerWidth") + 1
    screenshot(page, "site-overview-phone.png")
    assert problems == []


# --- a report in Chinese -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chinese_report(small_province, tmp_path_factory) -> Path:
    """One county rendered in Chinese with ``evalkit render --lang zh``: its HTML page (the PDF beside it)."""
    out = tmp_path_factory.mktemp("zh")
    done = run_evalkit("render", COUNTY, "--data", str(small_province), "--out", str(out), "--lang", "zh",
                       env={"EVALKIT_CACHE": str(out / "cache")})
    assert done.returncode == 0, done.stderr
    [page] = out.glob(f"*/{COUNTY}.html")
    return page


def test_chinese_report_draws_every_chinese_character_with_the_embedded_font(browser, chinese_report):
    page, problems = open_page(browser, chinese_report, **DESKTOP)
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    page.locator("figure svg text").filter(has_text=re.compile(r"[\u4e00-\u9fff]")).first.evaluate(
        "e => e.setAttribute('data-probe', '')")
    for selector in ("main h1", "main h2", "#toc-title", "figure svg text[data-probe]"):
        assert_embedded_font_only(page, selector)
    follow_contents_links(page)
    screenshot(page, "site-report-zh-desktop.png")
    assert problems == []


def test_chinese_figure_labels_are_not_cut_off(browser, chinese_report):
    page, problems = open_page(browser, chinese_report, **DESKTOP)
    assert _figure_texts_outside_their_figure(page) == []
    assert problems == []


def test_chinese_table_headings_and_labels_are_not_broken_across_lines(browser, chinese_report):
    """Chinese may break between any two characters: a tier (投入) or a comparison (较差) must not stack
    one character over the other, nor a column heading (层级, 与市州比较) on a desktop screen."""
    page, problems = open_page(browser, chinese_report, **DESKTOP)
    labels = page.locator("table td.label, table td.cmp")
    assert labels.count() > 20 and labels.filter(has_text=re.compile(r"[\u4e00-\u9fff]{2}")).count() == labels.count()
    for tier in ("input", "process", "output", "outcome"):  # every tier cell is a label, in each table
        assert (page.locator("table td").filter(has_text=re.compile(f"^{t('tier.' + tier, 'zh')}$")).count()
                == labels.filter(has_text=re.compile(f"^{t('tier.' + tier, 'zh')}$")).count() > 0)
    towns = page.locator("#reach ~ .table-wrap").first.locator("tbody tr")  # each township's name is a label
    assert towns.count() > 0 and towns.locator("td.label").count() == towns.count()
    assert _broken_across_lines(page, "table td.label, table td.cmp") == []
    assert _broken_across_lines(page, "table.report-table thead th") == []
    page, problems_phone = open_page(browser, chinese_report, **PHONE)
    assert _broken_across_lines(page, "table td.label, table td.cmp, table th.label") == []
    assert problems == problems_phone == []


@pytest.fixture(scope="module")
def chinese_overview(small_province, tmp_path_factory) -> Path:
    """The province overview in Chinese (``evalkit batch --lang zh`` of one county, without PDFs)."""
    out = tmp_path_factory.mktemp("zh-batch")
    done = run_evalkit("batch", str(small_province), "--out", str(out), "--lang", "zh", "--counties", COUNTY,
                       "--pdf", "no", "--jobs", "1", "--no-progress", env={"EVALKIT_CACHE": str(out / "cache")})
    assert done.returncode == 0, done.stderr
    return out / "small-2025-zh" / "overview.html"


def test_chinese_overview_keeps_place_names_and_short_headings_on_one_line(browser, chinese_overview):
    """The overview's widest table (every county's key figures) must not stack 铺牛市 as 铺牛 / 市, nor its
    short headings (县（市、区）) one piece under the other."""
    page, problems = open_page(browser, chinese_overview, **DESKTOP)
    counties = page.locator("#counties ~ .table-wrap").first.locator("tbody tr")  # name and prefecture: labels
    assert counties.count() > 1 and counties.locator("td.label").count() == 2 * counties.count()
    assert page.locator("thead th.label").filter(has_text=t("index.county", "zh")).count() > 0
    assert _broken_across_lines(page, "table td.label, table td.cmp, table th.label") == []
    assert problems == []


def test_index_shows_every_column_and_report_link_on_a_laptop_screen(browser, small_batch, chinese_overview):
    """On a 1280-pixel screen the index's table fits its page in either language: no column, and none of the
    report links at its right end, is hidden off to the side."""
    for index in (small_batch / "index.html", chinese_overview.parent / "index.html"):
        page, problems = open_page(browser, index, **DESKTOP)
        box = page.locator(".table-wrap").filter(has=page.locator("#counties"))
        assert box.evaluate("b => [b.scrollWidth, b.clientWidth]") == box.evaluate("b => [b.clientWidth, b.clientWidth]")
        links = page.locator("#counties tbody td.link a")
        assert links.count() > 0
        for i in range(links.count()):
            right = links.nth(i).evaluate("a => a.getBoundingClientRect().right")
            assert right <= DESKTOP["viewport"]["width"], links.nth(i).get_attribute("href")
        assert problems == []


def test_chinese_index_of_one_county_says_one_county(browser, chinese_overview):
    page, problems = open_page(browser, chinese_overview.parent / "index.html", **DESKTOP)
    expect(page.locator(".subtitle")).to_have_text(t("index.subtitle_one", "zh", year=2025))
    assert problems == []


def test_chinese_report_reads_on_a_phone(browser, chinese_report):
    page, problems = open_page(browser, chinese_report, **PHONE)
    _wide_tables_scroll_in_their_box(page)
    screenshot(page, "site-report-zh-phone.png")
    assert problems == []


def test_chinese_pdf_embeds_the_cjk_font(chinese_report):
    pdf_file = chinese_report.with_suffix(".pdf")
    assert pdf_file.is_file(), "evalkit render made no PDF (it needs Chromium)"
    pdf = pdf_file.read_bytes()
    assert pdf.startswith(b"%PDF")
    fonts = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([\w-]+)", pdf))
    assert EMBEDDED_FONT.encode() in fonts, fonts


def test_index_shows_every_countys_grade_and_rank_interval(small_batch, small_province):
    from evalkit.framework import load_framework
    from evalkit.report.data import province_data

    scores = province_data(small_province, small_batch.parent / "cache").scores(2025).counties
    page = (small_batch / "index.html").read_text(encoding="utf-8")
    names = load_framework().grade_frame().set_index("grade")["en"]
    for row in scores.to_dict("records"):
        assert f"{names[row['grade']]} ({row['grade_probability']:.0%})" in page
        assert f"{row['rank']} ({row['rank_lower']}–{row['rank_upper']})" in page
