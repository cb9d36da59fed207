"""Export executed notebooks as self-contained HTML pages and PDFs, and write the index page of a batch.

A report page is one HTML file that needs nothing else: no code cells, inline CSS, its figures as
``data:`` URLs, and the glyphs of the CJK font it uses embedded (:mod:`evalkit.report.fonts`), so it
reads the same offline, on a phone and on paper.  PDFs are printed from those pages by one headless
Chromium (:class:`PdfPrinter`) driven through playwright; without Chromium the HTML reports are still
made and :class:`BrowserMissing` says how to get PDFs too.

Every text on the pages comes from the catalogues (:func:`evalkit.report.i18n.t`); every value is
HTML-escaped by the templates (Jinja2 autoescaping), and links may only point inside the page or to
sibling files.
"""

from __future__ import annotations

import copy
import html
import math
import os
import re
import shutil
from collections import Counter
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Sequence
from urllib.parse import quote, urlsplit

import nbformat
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from . import __version__
from .errors import EvalkitError
from .io import write_atomic
from .report.fonts import font_face_css
from .report.i18n import catalogue, html_lang, t
from .report.index import IndexColumn, IndexEntry

__all__ = [
    "notebook_to_html",
    "IndexColumn",
    "IndexEntry",
    "index_html",
    "write_atomic",
    "find_chromium",
    "BrowserMissing",
    "PdfPrinter",
]

_THEME = Path(__file__).with_name("report") / "theme"
#: Names looked up on PATH, in order, when EVALKIT_CHROMIUM is not set.
_BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_STATUSES = ("failed", "missing", "ok", "skipped")  # sort order of the index's status column
_FONT_SLOT = "/*evalkit:font*/"
_HEADING = re.compile(r"<h([1-6])(\s[^>]*)?>(.*?)</h\1\s*>", re.S | re.I)
_ID = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_TAG = re.compile(r"<[^>]*>")
_ANCHOR_LINK = re.compile(r'<a class="anchor-link" href="[^"]*">[^<]*</a>')
_CELL_ID = re.compile(r' id="cell-id=[^"]*"')  # nbconvert's; it makes random ones for duplicate cell ids
_URL = re.compile(r"""\b(?:src|href|srcset|poster|data|action|formaction|xlink:href)\s*=\s*["']?([^"'\s>]+)"""
                  r"""|url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""", re.I)


class BrowserMissing(EvalkitError):
    """Raised when PDFs are asked for and no working headless Chromium is found."""


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(_THEME), autoescape=True, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


@cache
def _theme(name: str) -> str:
    return (_THEME / name).read_text(encoding="utf-8")


_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s/>])", re.I)


@cache
def _exporter():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from traitlets.config import Config

    class Exporter(HTMLExporter):
        """nbconvert's HTML exporter without its final BeautifulSoup pass, which took 0.2 s of a report's 0.23 s.

        That pass parses and re-serialises the whole page to give images without alternative text a
        placeholder (done here with a regular expression) and to make the cells of JupyterLab's page
        template focusable (the ``basic`` template used here has no such cells).
        """

        def from_notebook_node(self, nb, resources=None, **kw):
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name"))
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", self.filters.get("highlight_code",
                                                                    Highlight2HTML(pygments_lexer=lexer, parent=self)))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                                           parent=self, resources=resources))
            body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', body), resources

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = ("remove-cell",)
    config.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output",)
    # the notebook is validated once after the preprocessors, not after each of the twelve (0.06 s a page)
    return Exporter(config=config, template_name="basic", exclude_input=True, exclude_input_prompt=True,
                    exclude_output_prompt=True, embed_images=True, optimistic_validation=True)


def _relative_href(href: str | None) -> str | None:
    """``href`` percent-encoded, or a ValueError unless it is a relative path to a file beside the page."""
    if href is None:
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("/", "\\")) or ".." in Path(parts.path).parts:
        raise ValueError(f"link {href!r} must be a relative file name such as '430102.html'")
    return quote(href, safe="/#")


def _external_references(page: str) -> list[str]:
    """URLs in ``page`` that point outside it: anything but ``#anchors``, ``data:`` and relative paths."""
    found = []
    for match in _URL.finditer(page):
        url = html.unescape(next(g for g in match.groups() if g is not None))
        parts = urlsplit(url)
        if parts.scheme not in ("", "data") or parts.netloc or (not parts.scheme and url.startswith(("/", "\\"))):
            found.append(url)
    return sorted(set(found))


def _anchor(text: str) -> str:
    """An id for a heading, made as nbconvert makes them for Markdown headings."""
    return quote(text.replace(" ", "-"), safe="?/:@!$&'()*+,;=") or "section"


def _attr_id(attrs: str) -> str | None:
    """The value of the ``id`` attribute in a tag's attribute text, if any."""
    m = _ID.search(attrs)
    return html.unescape(next(g for g in m.groups() if g is not None)) if m else None


def _number_headings(body: str) -> tuple[str, list[dict]]:
    """Give every heading a unique id; return the body and the table of contents of its h2 and h3."""
    body = _ANCHOR_LINK.sub("", body)
    on_headings = Counter(_attr_id(m.group(2) or "") for m in _HEADING.finditer(body))
    elsewhere = Counter(_attr_id(m.group(0)) for m in _ID.finditer(body)) - on_headings
    used = {"report", "toc-title", *elsewhere}
    toc: list[dict] = []

    def fix(m: re.Match) -> str:
        level, attrs, inner = m.group(1), m.group(2) or "", m.group(3)
        text = " ".join(html.unescape(_TAG.sub("", inner)).split())
        base = _attr_id(attrs) or _anchor(text)
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}-{n}"
        used.add(ident)
        entry = {"id": ident, "text": text, "children": []}
        if level == "2" or (level == "3" and not toc):
            toc.append(entry)
        elif level == "3":
            toc[-1]["children"].append(entry)
        return f'<h{level} id="{html.escape(ident)}"{_ID.sub("", attrs)}>{inner}</h{level}>'

    return _HEADING.sub(fix, body), toc


def _texts(lang: str):
    """``t`` bound to one language, for the templates (a ValueError for an unknown language)."""
    catalogue(lang)
    return lambda key, **values: t(key, lang, **values)


def _with_font(page: str) -> str:
    """Put the font rule for every character of ``page`` into its font slot."""
    return page.replace(_FONT_SLOT, font_face_css(html.unescape(page)), 1)


def notebook_to_html(nb: nbformat.NotebookNode, *, lang: str, title: str, synthetic: bool = False,
                     index_href: str | None = None) -> str:
    """One self-contained HTML page from an executed notebook, without its code.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.  Markdown cells and outputs are shown; code, prompts and stderr
        streams are not, nor cells tagged ``remove-cell`` (notes for notebook users) and the
        outputs of cells tagged ``remove-output``.
    lang : str
        ``"en"`` or ``"zh"``: the language of the page's own texts and its ``lang`` attribute.
    title : str
        The page title (the browser tab, the PDF's title).
    synthetic : bool
        Show the banner saying the data are synthetic.
    index_href : str, optional
        Relative link back to the index page (``"index.html"``).

    Returns
    -------
    str
        The page; the same notebook always gives the same bytes.  Headings get unique ids, and
        the ``<h2>``/``<h3>`` headings make a table of contents.

    Raises
    ------
    EvalkitError
        When the page would load or link anything from outside itself (an image or a link on the web).
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    body, _ = _exporter().from_notebook_node(nb)
    body, toc = _number_headings(_CELL_ID.sub("", body))
    body = body.replace("<table", '<div class="table-wrap"><table').replace("</table>", "</table></div>")
    page = _templates().get_template("report.html.j2").render(
        t=_texts(lang), html_lang=html_lang(lang), version=__version__, title=title,
        synthetic=synthetic, index_href=_relative_href(index_href), toc=toc, body=Markup(body),
        css=Markup(_theme("base.css")), font_css=Markup(_FONT_SLOT))
    outside = _external_references(page)
    if outside:
        raise EvalkitError(f"The report '{title}' would reach outside itself ({', '.join(outside[:5])}); reports "
                           "must be self-contained: draw figures with matplotlib and write web addresses as text.")
    return _with_font(page)


def index_html(entries: Sequence[IndexEntry], columns: Sequence[IndexColumn] = (), *, lang: str, title: str,
               subtitle: str = "", synthetic: bool = False, overview_href: str | None = None,
               links: Sequence[tuple[str, str]] = ()) -> str:
    """The index page of a batch run: every county, sortable by any column and searchable.

    Parameters
    ----------
    entries : sequence of IndexEntry
        The counties, in the order first shown.
    columns : sequence of IndexColumn
        Key indicator columns, shown between the status and the links.
    lang : str
        ``"en"`` or ``"zh"``.
    title, subtitle : str
        Heading and line under it (e.g. ``t("index.title", lang, province=...)``).
    synthetic : bool
        Show the banner saying the data are synthetic.
    overview_href : str, optional
        Relative link to the province overview.
    links : sequence of (str, str)
        More relative links listed under the heading, as (text, href): a national index links each
        province's own index.  When any entry has a :attr:`IndexEntry.province`, a province column is
        shown (and searched) beside the prefecture.

    Returns
    -------
    str
        A self-contained page (inline CSS and script, embedded font): clicking a column header
        sorts by it (numbers numerically, missing values last, ties in the original order), and
        the search box keeps the rows whose code, names or prefecture contain every typed word.

    Examples
    --------
    >>> furong = IndexEntry("430102", ("芙蓉区", "Furong District"), "长沙市", "ok",
    ...                     {"satisfaction": ("91.2%", 91.2)}, html="430102.html", pdf="430102.pdf")
    >>> page = index_html([furong], [IndexColumn("satisfaction", "满意率")], lang="zh", title="县级评估报告")
    >>> '<td class="num" data-sort="91.2">91.2%</td>' in page
    True
    """
    national = any(e.province is not None for e in entries)
    header = [{"label": t(f"index.{key}", lang), "type": kind, "cls": ""}
              for key, kind in (("code", "text"), ("county", "text"), *((("province", "text"),) if national else ()),
                                ("prefecture", "text"), ("status", "number"))]
    header += [{"label": c.label, "type": "number", "cls": "num"} for c in columns]
    header += [{"label": t("index.html", lang), "type": None, "cls": ""},
               {"label": t("index.pdf", lang), "type": None, "cls": ""}]
    rows = []
    for e in entries:
        if e.status not in _STATUSES:
            raise ValueError(f"county {e.code}: status {e.status!r} is not one of {', '.join(_STATUSES)}")
        cells = []
        for c in columns:
            text, sort = e.values.get(c.key, ("—", None))
            finite = sort is not None and math.isfinite(sort)
            cells.append({"text": text, "sort": repr(float(sort)) if finite else None})
        rows.append({"code": e.code, "names": e.names, "prefecture": e.prefecture, "status": e.status,
                     "province": e.province if national else None,
                     "status_rank": _STATUSES.index(e.status), "cells": cells,
                     "search": " ".join([e.code, *e.names, *([e.province or ""] if national else []),
                                         e.prefecture]).lower(),
                     "html": _relative_href(e.html), "pdf": _relative_href(e.pdf)})
    page = _templates().get_template("index.html.j2").render(
        t=_texts(lang), html_lang=html_lang(lang), version=__version__, title=title, subtitle=subtitle,
        synthetic=synthetic, overview_href=_relative_href(overview_href), header=header, rows=rows,
        links=[(text, _relative_href(href)) for text, href in links],
        national=national,
        css=Markup(_theme("base.css") + _theme("index.css")), js=Markup(_theme("index.js")),
        font_css=Markup(_FONT_SLOT))
    return _with_font(page)


def find_chromium() -> str | None:
    """The Chromium to print PDFs with: ``$EVALKIT_CHROMIUM`` if set, else the first of
    ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH; ``None`` if there is none."""
    explicit = os.environ.get("EVALKIT_CHROMIUM")
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    return next((found for name in _BROWSERS if (found := shutil.which(name))), None)


def _missing_message(problem: str) -> str:
    return (f"Cannot print PDF reports: {problem}. Install Chromium (on Debian or Ubuntu: "
            "`sudo apt-get install chromium`) or set EVALKIT_CHROMIUM=/path/to/chrome. "
            "HTML reports are made either way.")


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \((D:\d{14}[^)]{0,8})\)")


def _pdf_dates(pdf: bytes, epoch: str | None) -> bytes:
    """``pdf`` with its creation and modification dates set to ``epoch`` (``SOURCE_DATE_EPOCH``), if given.

    Chromium stamps the print time into the document information; everything else it writes is the
    same for the same page, so with the dates fixed a PDF is reproducible byte for byte.  A date is
    replaced only by one of the same length, so that the cross-reference offsets stay right.

    >>> _pdf_dates(b"<</CreationDate (D:20261122104815+00'00')>>", "1764000000")
    b"<</CreationDate (D:20251124160000+00'00')>>"
    """
    if not epoch:
        return pdf
    import datetime as dt

    stamp = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).strftime("D:%Y%m%d%H%M%S+00'00'").encode()

    def fix(m: re.Match) -> bytes:
        return m.group(0).replace(m.group(2), stamp) if len(m.group(2)) == len(stamp) else m.group(0)

    return _PDF_DATE.sub(fix, pdf, count=2)


class PdfPrinter:
    """Print HTML reports to A4 PDFs with one headless Chromium, reused for every report.

    Use it as a context manager (``with PdfPrinter() as printer: printer.print(html, pdf)``) in one
    thread; the browser starts at the first print, prints every report in the same tab, and stops on
    exit.  A browser that crashed between two reports is started again once.

    Parameters
    ----------
    executable : str, optional
        The browser to run; by default :func:`find_chromium`.

    Raises
    ------
    BrowserMissing
        When no Chromium is found (here) or it does not start (at the first print).
    """

    def __init__(self, executable: str | None = None):
        self.executable = executable or find_chromium()
        if self.executable is None:
            explicit = os.environ.get("EVALKIT_CHROMIUM")
            raise BrowserMissing(_missing_message(
                f"EVALKIT_CHROMIUM is {explicit!r}, which is not an executable file" if explicit
                else f"none of {', '.join(_BROWSERS)} is on PATH and EVALKIT_CHROMIUM is not set"))
        #: How many times the browser was started (1 unless it crashed).
        self.launches = 0
        #: Set (from any thread) when the browser is about to be stopped from outside: it is not started again.
        self.stopping = False
        self._playwright = None
        self._browser = None
        self._page = None

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _launch(self) -> None:
        from playwright.sync_api import Error, sync_playwright

        if self.stopping:
            raise RuntimeError("the browser is being stopped")
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        try:
            self._browser = self._playwright.chromium.launch(executable_path=self.executable, args=args)
        except Error as err:
            raise BrowserMissing(_missing_message(
                f"{self.executable} did not start ({err.message.splitlines()[0]})")) from err
        self._page = self._browser.new_page()
        # laid out for paper from the start: no screen layout to compute and throw away (the PDF is the same)
        self._page.emulate_media(media="print")
        self.launches += 1

    def warm(self) -> None:
        """Start the browser now and print one tiny page, so that the first report's PDF does not wait."""
        if self._page is None or self._page.is_closed() or not self._browser.is_connected():
            self._launch()
        self._page.set_content("<!doctype html><title>warm-up</title><p>warm-up</p>")
        self._page.pdf(format="A4", print_background=True, prefer_css_page_size=True)

    def _pdf(self, html_path: Path) -> bytes:
        if self._page is None or self._page.is_closed() or not self._browser.is_connected():
            self._launch()
        # the page's text put into the open tab, not opened as a file: no navigation, no new document for the
        # browser to commit, and about half the CPU a print costs (the page is self-contained: nothing it
        # refers to is looked up beside the file)
        self._page.set_content(html_path.read_text(encoding="utf-8"), wait_until="load")
        self._page.evaluate("document.fonts.ready.then(() => document.fonts.size)")
        return self._page.pdf(format="A4", print_background=True, prefer_css_page_size=True)

    def print(self, html_path: str | Path, pdf_path: str | Path) -> None:
        """Print the page ``html_path`` (a self-contained HTML file, whatever its name) to ``pdf_path``
        (A4, with backgrounds), atomically."""
        from playwright.sync_api import Error

        html_path = Path(html_path)
        if not html_path.is_file():
            raise FileNotFoundError(f"no HTML report at {html_path} to print")
        try:
            pdf = self._pdf(html_path)
        except Error:
            self._close_browser()  # the browser crashed or hung up: start a fresh one, once
            pdf = self._pdf(html_path)
        write_atomic(pdf_path, _pdf_dates(pdf, os.environ.get("SOURCE_DATE_EPOCH")))

    def _close_browser(self) -> None:
        from playwright.sync_api import Error

        if self._browser is not None:
            try:
                self._browser.close()
            except Error:
                pass
            self._browser = self._page = None

    def close(self) -> None:
        """Stop the browser (and playwright's driver)."""
        self._close_browser()
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
