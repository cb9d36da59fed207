"""Report pages, the index page and PDFs, checked as files and in a real headless Chromium.

The browser tests need Chromium (``make test`` installs Debian's ``chromium``); they fail, never
skip, without it.
"""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib
import nbformat
import psutil
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from playwright.sync_api import expect

from evalkit.errors import EvalkitError
from evalkit.render import (BrowserMissing, IndexColumn, IndexEntry, PdfPrinter, find_chromium, index_html,
                            notebook_to_html)
from evalkit.report.fonts import use_in_matplotlib
from evalkit.report.i18n import t
from browser import (PHONE, assert_embedded_font_only, browser, follow_contents_links, open_page,  # noqa: F401
                     screenshot, visible_column)

HOSTILE = """</title><script>alert("x")</script>'&amp;"""
FILLER = "\n\n".join(["社工站为低保、特困和留守儿童提供个案、小组与社区服务。Stations serve registered groups."] * 12)


def _bars() -> Figure:
    fig = Figure(figsize=(5, 3), dpi=80)
    ax = fig.subplots()
    ax.bar(["芙蓉区", "天心区", "岳麓区"], [91.2, 85.0, 88.4])
    ax.set_title("服务满意率（%）")
    return fig


def _notebook() -> nbformat.NotebookNode:
    """An executed report-like notebook: headings, English and Chinese text, a table, a matplotlib PNG
    and a matplotlib SVG whose text is left as text (drawn by the page's font)."""
    use_in_matplotlib()
    png, svg = io.BytesIO(), io.StringIO()
    FigureCanvasAgg(_bars()).print_png(png)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "test"}):
        _bars().savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    figure = f"<figure>{svg.getvalue()[svg.getvalue().index('<svg'):]}<figcaption>图 1</figcaption></figure>"
    table = ("<h2>二、满意度 Satisfaction</h2><p>满意率为 91.2%。</p><h3>分组 Groups</h3>"
             "<table><thead><tr><th>群体</th><th>满意率</th><th>区间</th></tr></thead><tbody>"
             + "".join(f"<tr><td>低保 {i}</td><td>90.{i}</td><td>86.0–93.{i}</td></tr>" for i in range(5))
             + "</tbody></table>")
    nb = new_notebook(cells=[
        new_markdown_cell(f"# 芙蓉区评估报告\n\n## 一、概况 Overview\n\n{FILLER}\n\n### 覆盖 Coverage\n\n{FILLER}"),
        new_code_cell("secret_code_cell = 1", execution_count=1, outputs=[
            new_output("display_data", data={"text/html": table + figure, "text/plain": "<table>"}),
            new_output("display_data", data={"image/png": base64.b64encode(png.getvalue()).decode(),
                                             "text/plain": "<Figure>"},
                       metadata={"image/png": {"alt": "三个区的服务满意率"}}),
            new_output("stream", name="stderr", text="FutureWarning: noise for the log only\n"),
        ]),
        new_markdown_cell(f"## 一、概况 Overview\n\n{FILLER}\n\n### 服务 Services\n\n{FILLER}"),
        new_markdown_cell("## Notes for notebook users\n\nRun me in JupyterLab.", metadata={"tags": ["remove-cell"]}),
        new_code_cell("debug()", metadata={"tags": ["remove-output"]},
                      outputs=[new_output("stream", name="stdout", text="debugging output\n")]),
    ])
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


ENTRIES = [
    IndexEntry("430102", ("芙蓉区", "Furong District"), "长沙市", "ok", {"sat": ("91.2%", 91.2)},
               "430102.html", "430102.pdf"),
    IndexEntry("430103", ("天心区", "Tianxin District"), "长沙市", "skipped", {"sat": ("—", None)}, "430103.html"),
    IndexEntry("430202", ("荷塘区",), "株洲市", "ok", {"sat": ("85.0%", 85.0)}, "430202.html", "430202.pdf"),
    IndexEntry("430203", ("芦淞区",), "株洲市", "failed", {}),
    IndexEntry("430204", ("石峰区",), "株洲市", "ok", {"sat": ("85.0%", 85.0)}, "430204.html"),
    IndexEntry("430302", (HOSTILE, "Yuhu <b>bold</b>"), "湘潭市 \"quoted\"", "missing", {"sat": ("9.5%", 9.5)}),
]


def _index(lang: str = "zh") -> str:
    return index_html(ENTRIES, [IndexColumn("sat", "满意率")], lang=lang, title=t("index.title", lang, province="示例省"),
                      subtitle=t("index.subtitle", lang, n=len(ENTRIES), year=2025), synthetic=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder with a report page and an index page, as a batch writes them."""
    folder = tmp_path_factory.mktemp("site")
    html = notebook_to_html(_notebook(), lang="zh", title="芙蓉区评估报告", synthetic=True, index_href="index.html")
    (folder / "430102.html").write_text(html, encoding="utf-8")
    (folder / "index.html").write_text(_index(), encoding="utf-8")
    return folder


class _Page(HTMLParser):
    """Everything the checks need from a page: tags with attributes, ids, style text, texts."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self.title = ""
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if attrs.get("style"):
            self.styles.append(attrs["style"])
        self._in.append(tag)

    def handle_endtag(self, tag):
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data):
        if self._in and self._in[-1] == "style":
            self.styles.append(data)
        if self._in and self._in[-1] == "title":
            self.title += data

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if "id" in a]


def _outside(page: str) -> list[str]:
    """Every reference in ``page`` that is not an #anchor, a data: URL or a relative path."""
    parsed = _Page(page)
    urls = [v for _, a in parsed.tags for k, v in a.items()
            if k in ("src", "href", "srcset", "poster", "data", "action", "formaction") and v is not None]
    for style in parsed.styles:
        urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", style)
        urls += [f"@import {m}" for m in re.findall(r"@import\s+([^;]+)", style)]
    return [u for u in urls if not (u.startswith(("#", "data:")) or not (urlsplit(u).scheme or u.startswith("/")))]


def test_report_page_is_self_contained_and_shows_no_code(site):
    page = (site / "430102.html").read_text(encoding="utf-8")
    assert _outside(page) == []
    assert not re.search(r"<(script|link|iframe|object|embed)\b", page)
    assert "secret_code_cell" not in page and "In&nbsp;[" not in page and "FutureWarning" not in page
    assert "notebook users" not in page and "debugging output" not in page  # tagged remove-cell, remove-output
    img = re.search(r"<img\b[^>]*>", page).group(0)  # the PNG, embedded, with its alternative text
    assert 'alt="三个区的服务满意率"' in img and 'src="data:image/png;base64,' in img


def test_report_page_has_viewport_print_styles_and_language(site):
    page = (site / "430102.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page and '<meta charset="utf-8">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    print_css = page[page.index("@media print"):]
    assert re.search(r"@page\s*{\s*size: A4", print_css) and "nav," in print_css and "break-inside: avoid" in print_css
    assert t("page.synthetic_banner", "zh") in page and 'href="index.html"' in page


def test_table_of_contents_links_to_unique_heading_ids(site):
    parsed = _Page((site / "430102.html").read_text(encoding="utf-8"))
    ids = parsed.ids()
    assert len(ids) == len(set(ids))
    toc = [a["href"] for tag, a in parsed.tags if tag == "a" and a.get("href", "").startswith("#")][1:]  # skip link
    assert len(toc) == 6  # 一、概况, 覆盖, 二、满意度, 分组, 一、概况 (again), 服务
    assert all(href[1:] in ids for href in toc) and len(set(toc)) == len(toc)


def test_same_notebook_gives_the_same_bytes_in_a_fresh_process(site, tmp_path):
    nb_file = tmp_path / "report.ipynb"
    nbformat.write(_notebook(), nb_file)
    code = ("import nbformat, sys; from evalkit.render import notebook_to_html; "
            "sys.stdout.buffer.write(notebook_to_html(nbformat.read(sys.argv[1], 4), lang='zh', "
            "title='芙蓉区评估报告', synthetic=True, index_href='index.html').encode())")
    fresh = subprocess.run([sys.executable, "-c", code, str(nb_file)], capture_output=True, check=True).stdout
    assert fresh == (site / "430102.html").read_bytes()


@pytest.mark.filterwarnings("ignore:Non-unique cell id")
def test_duplicate_cell_ids_do_not_make_pages_differ():
    nb = _notebook()
    nb.cells.append(nbformat.from_dict(dict(nb.cells[1])))  # nbconvert gives the copy a random id
    assert notebook_to_html(nb, lang="en", title="x") == notebook_to_html(nb, lang="en", title="x")


def test_an_image_without_alternative_text_gets_a_placeholder():
    nb = _notebook()
    png = nb.cells[1].outputs[1]
    png.metadata = {}  # no alt from the notebook
    page = notebook_to_html(nb, lang="en", title="x")
    img = re.search(r"<img\b[^>]*>", page).group(0)
    assert 'alt="No description has been provided for this image"' in img and img.count("alt=") == 1


def test_hostile_values_are_escaped():
    page = notebook_to_html(_notebook(), lang="en", title=HOSTILE)
    assert _Page(page).title == HOSTILE and "<script" not in page
    index = _index("en")
    parsed = _Page(index)
    assert [tag for tag, _ in parsed.tags].count("script") == 1  # the page's own
    assert HOSTILE not in index and "<b>bold</b>" not in index
    rows = [a["data-search"] for tag, a in parsed.tags if tag == "tr" and "data-search" in a]
    assert rows[-1] == f"430302 {HOSTILE} yuhu <b>bold</b> 湘潭市 \"quoted\"".lower()


@pytest.mark.parametrize("href", ["https://example.org/a.html", "//example.org/a.html", "/etc/passwd",
                                  "../other/a.html", "javascript:alert(1)"])
def test_links_must_be_relative_file_names(href):
    with pytest.raises(ValueError, match="must be a relative file name"):
        index_html([IndexEntry("430102", ("芙蓉区",), "长沙市", "ok", html=href)], lang="en", title="x")
    with pytest.raises(ValueError, match="must be a relative file name"):
        notebook_to_html(new_notebook(), lang="en", title="x", index_href=href)


def test_a_page_reaching_outside_is_refused():
    nb = new_notebook(cells=[new_markdown_cell("![logo](https://example.org/logo.png)")])
    with pytest.raises(EvalkitError, match=r"would reach outside itself \(https://example.org/logo.png\)"):
        notebook_to_html(nb, lang="en", title="x")


def test_index_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="status 'done' is not one of failed, missing, ok, skipped"):
        index_html([IndexEntry("430102", ("芙蓉区",), "长沙市", "done")], lang="en", title="x")


def test_index_page_is_self_contained(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    assert _outside(page) == [] and "http://" not in page and "https://" not in page
    assert [tag for tag, _ in _Page(page).tags if tag in ("script", "link", "iframe")] == ["script"]  # inline
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert t("index.status_failed", "zh") in page and 'class="status status-failed"' in page


# --- in a real browser -------------------------------------------------------------------------

def test_report_in_browser(browser, site):
    page, problems = open_page(browser, site / "430102.html", viewport={"width": 1280, "height": 720})
    assert len(follow_contents_links(page)) == 6
    page.evaluate("""() => [...document.querySelectorAll('svg text')]
        .find(e => /[\u4e00-\u9fff]/.test(e.textContent)).setAttribute('data-probe', '')""")
    for selector in ("#toc-title", ".banner", "main h1", "main h3", "svg text[data-probe]"):
        assert_embedded_font_only(page, selector)
    screenshot(page, "report-desktop.png")
    assert problems == []


def _quote_width(page) -> float:
    """The width, in em, of the first “ in the page's main text."""
    return page.evaluate("""() => {
        const walk = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
        for (let node = walk.nextNode(); node; node = walk.nextNode()) {
            const i = node.textContent.indexOf('\u201c');
            if (i < 0) continue;
            const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
            return r.getBoundingClientRect().width / parseFloat(getComputedStyle(node.parentElement).fontSize);
        }
        return null; }""")


def test_english_quotes_are_latin_and_chinese_ones_full_width(browser, tmp_path):
    """The page font is Chinese: it draws “ ” ‘ ’ full-width, as Chinese is set. On an English page that
    left wide gaps (“Better” , “similar”); there they take their Latin widths, in Chinese their full ones."""
    widths = {}
    for lang, text in (("en", "“Better”, “similar” and ‘worse’ compare the county."),
                       ("zh", "“满意率”与“覆盖率”。")):
        nb = new_notebook(cells=[new_markdown_cell(f"# Title\n\n{text}")])
        (tmp_path / f"{lang}.html").write_text(notebook_to_html(nb, lang=lang, title="t"), encoding="utf-8")
        page, problems = open_page(browser, tmp_path / f"{lang}.html", viewport={"width": 1280, "height": 720})
        widths[lang] = _quote_width(page)
        assert problems == []
    assert widths["en"] < 0.6, widths
    assert widths["zh"] > 0.9, widths


def test_report_reads_on_a_phone(browser, site):
    page, problems = open_page(browser, site / "430102.html", **PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # wide tables scroll inside their box
    assert page.evaluate("document.querySelector('main img').getBoundingClientRect().width") <= 390
    screenshot(page, "report-phone.png")
    assert problems == []


def test_index_sorts_and_searches_in_browser(browser, site):
    page, problems = open_page(browser, site / "index.html", viewport={"width": 1280, "height": 720})
    sat = page.locator("#counties thead th").nth(4)
    sat.locator("button").click()
    expect(sat).to_have_attribute("aria-sort", "ascending")
    assert visible_column(page, 4) == ["9.5", "85.0", "85.0", "91.2", None, None]
    assert visible_column(page, 0)[1:3] == ["430202", "430204"]  # ties keep their order
    sat.locator("button").click()
    expect(sat).to_have_attribute("aria-sort", "descending")
    assert visible_column(page, 4) == ["91.2", "85.0", "85.0", "9.5", None, None]
    assert visible_column(page, 0)[1:3] == ["430202", "430204"]
    code = page.locator("#counties thead th").nth(0)
    code.locator("button").click()
    expect(sat).to_have_attribute("aria-sort", "none")
    assert visible_column(page, 0) == sorted(e.code for e in ENTRIES)
    code.locator("button").click()
    assert visible_column(page, 0) == sorted((e.code for e in ENTRIES), reverse=True)

    search = page.get_by_role("searchbox")
    search.fill("株洲")
    assert sorted(visible_column(page, 0)) == ["430202", "430203", "430204"]
    expect(page.locator("#no-match")).to_be_hidden()
    search.fill("tianxin")
    assert visible_column(page, 0) == ["430103"]
    search.fill("430302 yuhu")
    assert visible_column(page, 0) == ["430302"]
    search.fill("no such county")
    assert visible_column(page, 0) == []
    expect(page.locator("#no-match")).to_be_visible()
    search.fill("")
    assert len(visible_column(page, 0)) == len(ENTRIES)
    assert_embedded_font_only(page, "h1")
    screenshot(page, "index-desktop.png")
    assert problems == []


def test_index_reads_on_a_phone(browser, site):
    page, problems = open_page(browser, site / "index.html", **PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_embedded_font_only(page, "#counties tbody th")
    screenshot(page, "index-phone.png")
    assert problems == []


# --- PDF -----------------------------------------------------------------------------------------

def test_pdf_printer_prints_many_reports_with_one_browser(site, tmp_path):
    with PdfPrinter() as printer:
        printer.print(site / "430102.html", tmp_path / "430102.pdf")
        printer.print(site / "index.html", tmp_path / "index.pdf")
        assert printer.launches == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["430102.pdf", "index.pdf"]  # no temporary files left
    report = (tmp_path / "430102.pdf").read_bytes()
    assert report.startswith(b"%PDF") and (tmp_path / "index.pdf").read_bytes().startswith(b"%PDF")
    assert re.search(rb"/FontName\s*/[A-Z]{6}\+NotoSansCJKsc-Regular", report)


def _browser_processes() -> list[psutil.Process]:
    """The main process of every Chromium this test process started (through playwright's driver)."""
    found = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "chrom" in p.name() and "chrom" not in p.parent().name():
                found.append(p)
        except psutil.NoSuchProcess:  # a short-lived helper process that exited meanwhile
            pass
    return found


def test_pdf_printer_survives_a_browser_crash(site, tmp_path):
    with PdfPrinter() as printer:
        printer.print(site / "index.html", tmp_path / "first.pdf")
        for process in _browser_processes():
            try:
                process.kill()
                process.wait(10)
            except psutil.NoSuchProcess:
                pass
        printer.print(site / "index.html", tmp_path / "second.pdf")
        assert printer.launches == 2
    assert (tmp_path / "second.pdf").read_bytes().startswith(b"%PDF")


def test_missing_browser_is_explained(monkeypatch):
    names = ("chromium", "chromium-browser", "google-chrome")
    path = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep)
                           if not any((Path(d) / n).exists() for n in names))
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("EVALKIT_CHROMIUM", "/nonexistent")
    assert find_chromium() is None
    with pytest.raises(BrowserMissing, match=r"EVALKIT_CHROMIUM is '/nonexistent', which is not an executable"
                       r".*apt-get install chromium.*EVALKIT_CHROMIUM=/path/to/chrome.*HTML reports are made"):
        PdfPrinter()
    monkeypatch.delenv("EVALKIT_CHROMIUM")
    with pytest.raises(BrowserMissing, match="none of chromium, chromium-browser, google-chrome is on PATH"):
        PdfPrinter()
    assert issubclass(BrowserMissing, EvalkitError)
