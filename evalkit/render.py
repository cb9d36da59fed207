"""Export executed notebooks as self-contained HTML pages and PDFs, and write the index page of a batch.

A report page is one HTML file that needs nothing else: no code cells, inline CSS, its figures as
``data:`` URLs, and the glyphs of the CJK font it uses embedded (:mod:`evalkit.report.fonts`), so it
reads the same offline, on a phone and on paper.  PDFs are printed from those pages by one headless
Chromium (:class:`PdfPrinter`) driven through playwright, tagged for screen readers and with a bookmark
for every heading; without Chromium the HTML reports are still made and :class:`BrowserMissing` says how
to get PDFs too.

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
               links: Sequence[tuple[str, str]] = (), overview_files: Sequence[tuple[str, str]] = ()) -> str:
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
    overview_files : sequence of (str, str)
        The overview's other files (PDF, Word) as (text, href), linked beside the overview's link.

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
    word = any(e.docx for e in entries)  # a Word column only where Word files were made
    if word:
        header.append({"label": t("index.docx", lang), "type": None, "cls": ""})
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
                     "html": _relative_href(e.html), "pdf": _relative_href(e.pdf),
                     "docx": _relative_href(e.docx) if word else None, "word": word})
    page = _templates().get_template("index.html.j2").render(
        t=_texts(lang), html_lang=html_lang(lang), version=__version__, title=title, subtitle=subtitle,
        synthetic=synthetic, overview_href=_relative_href(overview_href), header=header, rows=rows,
        overview_files=[(text, _relative_href(href)) for text, href in overview_files],
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


#: What every PDF is printed with: A4 (or the page's own @page size), backgrounds, tags for screen readers (the
#: structure tree, MarkInfo and /Lang from the page's ``lang``) and bookmarks made from the headings.
_PDF_OPTIONS = dict(format="A4", print_background=True, prefer_css_page_size=True, tagged=True, outline=True)
_STRUCT_ID = re.compile(rb"\(node(\d{8})\)")
_ID_TREE = re.compile(rb"/Limits \[\(node\d{8}\) \(node\d{8}\)\](\s*)/Names \[((?:\(node\d{8}\) \d+ 0 R ?)+)\]")
_BOOKMARK = re.compile(rb"(\d+) 0 obj\n<</Title (<[0-9A-Fa-f]*>|\((?:[^()\\]|\\.)*\))\n/Dest \[", re.S)
_XREF = re.compile(rb"xref\n0 (\d+)\n")
_STARTXREF = re.compile(rb"startxref\n(\d+)\n%%EOF\s*\Z")


def _struct_ids(pdf: bytes) -> bytes:
    """``pdf`` with the identifiers of its structure elements numbered from 1 in the order the elements are written.

    Chromium names a tagged element (a table header that cells refer to) after the browser's internal node
    number, which depends on what the tab showed before and on when the browser first asked for the number:
    the same page printed twice would differ.  The identifiers keep their length (so the cross-reference
    offsets stay right), and the /IDTree, a name tree, is sorted again by the new names.

    >>> _struct_ids(b"/ID (node00000401) /Headers [(node00000399)] /ID (node00000399)")
    b'/ID (node00000001) /Headers [(node00000002)] /ID (node00000002)'
    >>> _struct_ids(b"/Limits [(node00000009) (node00000008)] /Names [(node00000009) 7 0 R (node00000008) 5 0 R]")
    b'/Limits [(node00000001) (node00000002)] /Names [(node00000001) 7 0 R (node00000002) 5 0 R]'
    """
    order = dict.fromkeys([*re.findall(rb"/ID \(node(\d{8})\)", pdf), *_STRUCT_ID.findall(pdf)])
    rank = {n: b"%08d" % i for i, n in enumerate(order, 1)}
    pdf = _STRUCT_ID.sub(lambda m: b"(node" + rank[m.group(1)] + b")", pdf)

    def tree(m: re.Match) -> bytes:
        pairs = sorted(re.findall(rb"\(node(\d{8})\) (\d+ 0 R)", m.group(2)))
        names = b" ".join(b"(node%s) %s" % pair for pair in pairs)
        if not pairs or len(names) != len(m.group(2)):
            return m.group(0)
        return b"/Limits [(node%s) (node%s)]%s/Names [%s]" % (pairs[0][0], pairs[-1][0], m.group(1), names)

    return _ID_TREE.sub(tree, pdf)


def _pdf_text(token: bytes) -> str:
    """A PDF string token (``(literal)`` or ``<hex>``) as text (UTF-16 with its byte order mark, else Latin-1)."""
    if token.startswith(b"<"):
        raw = bytes.fromhex(token[1:-1].decode("ascii"))
    else:
        raw = re.sub(rb"\\([()\\])", rb"\1", token[1:-1])  # Skia escapes only these three in its strings
    return raw[2:].decode("utf-16-be", "replace") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def _heading_texts(page: str) -> list[str]:
    """The text of every heading of an HTML page, in order, as :func:`_number_headings` reads it."""
    return [" ".join(html.unescape(_TAG.sub("", m.group(3))).split()) for m in _HEADING.finditer(page)]


def _bookmark_titles(pdf: bytes, headings: Sequence[str]) -> bytes:
    """``pdf`` with each bookmark titled exactly as its heading reads on the page.

    Chromium titles a bookmark with the text it painted inside the heading, which it paints twice when the
    heading opens a page (the bookmark reads "TrendsTrends") and runs together where a heading wraps.  Each
    bookmark is matched, in order, with the next heading whose text is the bookmark's once or more, ignoring
    white space; its title is rewritten and the cross-reference table moved to match.  A PDF not laid out
    as Chromium's Skia writes it is returned unchanged.
    """
    xref_at = _STARTXREF.search(pdf)
    table = _XREF.match(pdf, int(xref_at.group(1))) if xref_at else None
    if table is None:
        return pdf
    squashed = ["".join(h.split()) for h in headings]
    edits: list[tuple[int, int, bytes]] = []
    at = 0
    for m in _BOOKMARK.finditer(pdf, 0, table.start()):
        title = "".join(_pdf_text(m.group(2)).split())
        for i in range(at, len(squashed)):
            h = squashed[i]
            if h and len(title) % len(h) == 0 and title == h * (len(title) // len(h)):
                if headings[i] != _pdf_text(m.group(2)):
                    utf16 = headings[i].encode("utf-16-be").hex().upper().encode()
                    edits.append((m.start(2), m.end(2), b"<FEFF" + utf16 + b">"))
                at = i + 1
                break
    if not edits:
        return pdf
    count = int(table.group(1))
    entries = table.end()
    if not re.fullmatch(rb"(\d{10} \d{5} [fn](?: \n|\r\n| \r))*", pdf[entries:entries + 20 * count]):
        return pdf

    def moved(offset: int) -> int:
        return offset + sum(len(new) - (end - start) for start, end, new in edits if end <= offset)

    out, last = [], 0
    for start, end, new in edits:
        out += [pdf[last:start], new]
        last = end
    out.append(pdf[last:entries])
    for i in range(count):
        entry = pdf[entries + 20 * i:entries + 20 * i + 20]
        out.append(b"%010d" % moved(int(entry[:10])) + entry[10:] if entry[17:18] == b"n" else entry)
    out += [pdf[entries + 20 * count:xref_at.start(1)], b"%d" % moved(int(xref_at.group(1))), pdf[xref_at.end(1):]]
    return b"".join(out)


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
        self._page.pdf(**_PDF_OPTIONS)

    def _pdf(self, page: str) -> bytes:
        if self._page is None or self._page.is_closed() or not self._browser.is_connected():
            self._launch()
        # the page's text put into the open tab, not opened as a file: no navigation, no new document for the
        # browser to commit, and about half the CPU a print costs (the page is self-contained: nothing it
        # refers to is looked up beside the file)
        self._page.set_content(page, wait_until="load")
        self._page.evaluate("document.fonts.ready.then(() => document.fonts.size)")
        return self._page.pdf(**_PDF_OPTIONS)

    def print(self, html_path: str | Path, pdf_path: str | Path) -> None:
        """Print the page ``html_path`` (a self-contained HTML file, whatever its name) to ``pdf_path``
        (A4, with backgrounds), atomically.

        The PDF is tagged for screen readers (a structure tree, in the page's language) and every heading is
        a bookmark, nested by level and titled as the heading reads.  With ``SOURCE_DATE_EPOCH`` set, the same
        page gives the same bytes, whatever the browser printed before.
        """
        from playwright.sync_api import Error

        html_path = Path(html_path)
        if not html_path.is_file():
            raise FileNotFoundError(f"no HTML report at {html_path} to print")
        page = html_path.read_text(encoding="utf-8")
        try:
            pdf = self._pdf(page)
        except Error:
            self._close_browser()  # the browser crashed or hung up: start a fresh one, once
            pdf = self._pdf(page)
        pdf = _bookmark_titles(_struct_ids(pdf), _heading_texts(page))
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
