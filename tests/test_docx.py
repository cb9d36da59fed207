"""Word (``.docx``) reports (issue 21): made by ``evalkit batch`` beside the HTML and PDF, read back with
python-docx and compared with the HTML page (parsed here with the standard library's parser, not the
converter's), converted headless by LibreOffice, scanned for personal data, incremental and atomic.

Real kernels and Chromium, as the other batch tests; two counties of the small province and the overview.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import run_evalkit

docx = pytest.importorskip("docx")

COUNTIES = ["090121", "090202"]
STEMS = COUNTIES + ["overview"]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# --------------------------------------------------------------------------- the HTML page, read independently


class _Page(HTMLParser):
    """Headings, tables (cell texts and background colours), paragraphs and figures of a report's <main>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_main = False
        self.headings: list[tuple[int, str]] = []
        self.title = ""
        self.tables: list[list[list[tuple[str, str | None]]]] = []
        self.paragraphs: list[str] = []
        self.figures = 0
        self._stack: list[tuple[str, list[str], str | None]] = []
        self._svg = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self.in_main = True
        if not self.in_main:
            return
        if tag == "svg":
            self._svg += 1
        if self._svg:
            return
        if tag == "figure":
            self.figures += 1
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in ("h1", "h2", "h3", "h4", "td", "th", "p", "li", "figcaption"):
            m = re.search(r"background:#([0-9a-fA-F]{6})", a.get("style") or "")
            self._stack.append((tag, [], m.group(1).upper() if m else None))

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False
        if tag == "svg" and self._svg:
            self._svg -= 1
            return
        if self._svg or not self._stack or self._stack[-1][0] != tag:
            return
        _, parts, fill = self._stack.pop()
        text = re.sub(r"\s+", " ", "".join(parts)).strip()
        if self._stack:  # nested (a <p> in a <li>): the text belongs to the outer element too
            self._stack[-1][1].append("".join(parts))
        if tag == "h1":
            self.title = text
        elif tag in ("h2", "h3", "h4"):
            self.headings.append((int(tag[1]) - 1, text))
        elif tag in ("td", "th"):
            self.tables[-1][-1].append((text, fill))
        elif text:
            self.paragraphs.append(text)

    def handle_data(self, data):
        if self.in_main and not self._svg and self._stack:
            self._stack[-1][1].append(data)


def _page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def word_run(small_province, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docx")
    done = run_evalkit("batch", str(small_province), "--out", str(out), "--jobs", "1", "--no-progress",
                       "--counties", ",".join(COUNTIES), "--formats", "html,pdf,docx",
                       env={"EVALKIT_CACHE": str(out / "cache")})
    assert done.returncode == 0, done.stderr
    return out / "small-2025-en"


def test_every_report_and_the_overview_has_a_word_file_recorded_and_linked_from_the_index(word_run):
    import json

    manifest = json.loads((word_run / "manifest.json").read_text(encoding="utf-8"))
    index = (word_run / "index.html").read_text(encoding="utf-8")
    for stem in STEMS:
        outputs = manifest["reports"][stem]["outputs"]
        assert set(outputs) == {"ipynb", "html", "pdf", "docx"}
        assert outputs["docx"]["file"] == f"{stem}.docx"
        assert zipfile.is_zipfile(word_run / f"{stem}.docx")
        for kind in ("html", "pdf", "docx"):
            assert f'href="{stem}.{kind}"' in index, (stem, kind)
        assert "docx" in manifest["reports"][stem]["durations"]


@pytest.mark.parametrize("stem", STEMS)
def test_headings_tables_and_text_are_those_of_the_html(word_run, stem):
    page = _page(word_run / f"{stem}.html")
    document = docx.Document(str(word_run / f"{stem}.docx"))
    paragraphs = document.paragraphs
    # headings: Word's Heading 1-3 styles, in the page's order (the navigation pane and the contents use them)
    headings = [(int(p.style.name.split()[-1]), _norm(p.text)) for p in paragraphs
                if p.style.name.startswith("Heading ")]
    assert headings == page.headings and len(headings) >= 2
    assert [_norm(p.text) for p in paragraphs if p.style.name == "Title"] == [page.title]
    # the contents: a TOC field over the heading levels 1-3, showing the headings before Word updates it
    body = document.element.body
    instr = " ".join(t.text for t in body.iter(f"{W}instrText"))
    assert 'TOC \\o "1-3"' in instr
    # tables: the same cells, texts and comparison colours (cell shading) as the page
    assert len(document.tables) == len(page.tables) and page.tables
    for table, html_rows in zip(document.tables, page.tables):
        assert len(table.rows) == len(html_rows)
        for row, html_cells in zip(table.rows, html_rows):
            cells = row._tr.findall(f"{W}tc")  # the row's own cells (no merged repeats)
            assert len(cells) == len(html_cells)
            for tc, (text, fill) in zip(cells, html_cells):
                assert _norm("".join(t.text or "" for t in tc.iter(f"{W}t"))) == text
                if fill is not None:  # a comparison: the page's colour as the cell's shading
                    shd = tc.find(f"{W}tcPr/{W}shd")
                    assert shd is not None and shd.get(f"{W}fill") == fill, text
    # every paragraph and list item of the page is editable text in the document (nothing is a picture of text)
    text = "\n".join(_norm(p.text) for p in paragraphs)
    for para in page.paragraphs:
        assert para in text, para
    # figures: one picture per figure, at least 300 dpi across the text width
    pictures = document.inline_shapes
    assert len(pictures) == page.figures
    for shape in pictures:
        blob = document.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
        from PIL import Image

        image = Image.open(io.BytesIO(blob))
        inches = shape.width / 914400
        assert image.width / inches >= 299, (image.width, inches)
        assert shape._inline.docPr.get("descr")  # the figure's accessible name as the picture's description


def test_numbers_of_the_county_report_are_the_page_s(word_run):
    """Every number shown in the county page's tables is in the Word file's tables, in the same cell."""
    page = _page(word_run / "090121.html")
    document = docx.Document(str(word_run / "090121.docx"))
    numbers_html = [re.findall(r"\d[\d,.]*%?", text) for t in page.tables for row in t for text, _ in row]
    numbers_docx = [re.findall(r"\d[\d,.]*%?", cell.text) for t in document.tables for row in t.rows
                    for cell in row.cells]
    assert numbers_docx == numbers_html and any(numbers_html)
    assert "—" in {cell.text for t in document.tables for row in t.rows for cell in row.cells}  # suppression


def test_page_fonts_and_footer_follow_the_chinese_conventions(word_run):
    from docx.shared import Cm

    document = docx.Document(str(word_run / "090121.docx"))
    section = document.sections[0]
    assert abs(section.page_width - Cm(21)) < Cm(0.01) and abs(section.page_height - Cm(29.7)) < Cm(0.01)
    footer = " ".join(t.text for t in section.footer._element.iter(f"{W}instrText"))
    assert "PAGE" in footer and section.different_first_page_header_footer  # numbered pages, none on the cover

    def east_asia(run) -> str:
        fonts = run._r.find(f"{W}rPr/{W}rFonts")
        return fonts.get(f"{W}eastAsia")

    body = False  # the report's body (the cover's kicker and subtitle are set in the sans too)
    for p in document.paragraphs:
        body = body or p.style.name.startswith("Heading")
        for run in p.runs if body or p.style.name == "Title" else ():
            if run.text.strip():
                want = "SimHei" if p.style.name.startswith(("Heading", "Title")) else None
                if want:
                    assert east_asia(run) == want, p.text
                elif p.style.name == "Normal":
                    assert east_asia(run) == "SimSun", p.text
    normal = document.styles["Normal"].element.find(f"{W}rPr/{W}rFonts")
    assert normal.get(f"{W}eastAsia") == "SimSun"
    # the fonts are described (Chinese name, GB2312) so that a machine without them substitutes a like face
    with zipfile.ZipFile(word_run / "090121.docx") as z:
        table = z.read("word/fontTable.xml").decode("utf-8")
    assert 'w:name="SimSun"><w:altName w:val="宋体"/><w:charset w:val="86"/>' in table
    assert 'w:name="SimHei"><w:altName w:val="黑体"/>' in table


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def test_libreoffice_converts_every_word_file_headless(word_run, tmp_path):
    """LibreOffice opens and lays out every Word file without errors, and no word of it is broken across lines
    (a column too narrow for "Value" printed "Valu" / "e")."""
    import html

    import pypdfium2 as pdfium

    assert _soffice() is not None, "LibreOffice (soffice) not found: `make libreoffice` (part of `make test`) installs it"

    files = [str(word_run / f"{stem}.docx") for stem in STEMS]
    done = subprocess.run([_soffice(), f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), *files],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr and "error" not in done.stdout.lower(), (done.stdout, done.stderr)
    for stem in STEMS:
        pdf = pdfium.PdfDocument(str(tmp_path / f"{stem}.pdf"))
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        page = _page(word_run / f"{stem}.html")
        assert len(pdf) >= 3  # cover, contents, report
        assert _norm(page.headings[0][1]) in _norm(text)
        source = (word_run / f"{stem}.html").read_text(encoding="utf-8")
        words = set(re.findall(r"[A-Za-z]+", html.unescape(re.sub(r"<[^>]+>", " ", source))))
        broken = sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - words)
        assert not broken, f"{stem}.docx: words cut by a line break in a table cell: {broken}"


def test_the_privacy_scan_reads_word_files(word_run, small_province, tmp_path):
    """A person id planted in a Word file is found wherever it hides: split across runs, in the title, in a
    picture's description."""
    from evalkit.privacy.inputs import input_person_ids
    from evalkit.results import load_scanner, scanner_path

    scanner = load_scanner(scanner_path(small_province))
    clean = word_run / "090121.docx"
    assert scanner.file(clean) == []
    pid = str(input_person_ids(small_province).iloc[7])
    half = len(pid) // 2
    plants = {
        "word/document.xml": lambda x: x.replace("</w:body>", f"<w:p><w:r><w:t>{pid[:half]}</w:t></w:r><w:r><w:t>"
                                                 f"{pid[half:]}</w:t></w:r></w:p></w:body>", 1),
        "docProps/core.xml": lambda x: re.sub(r"<dc:title>", f"<dc:title>{pid} ", x, count=1),
        "word/document.xml ": lambda x: x.replace('descr="', f'descr="{pid} ', 1),
    }
    for where, plant in plants.items():
        bad = tmp_path / "planted.docx"
        with zipfile.ZipFile(clean) as src, zipfile.ZipFile(bad, "w") as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == where.strip():
                    data = plant(data.decode("utf-8")).encode("utf-8")
                dst.writestr(info, data)
        found = scanner.file(bad)
        assert [f.kind for f in found][:1] == ["person_id"], where
        assert any(f.matches(pid) for f in found), where
    # a folder scan takes .docx files too
    assert scanner.tree(tmp_path) and (tmp_path / "planted.docx").exists()


def test_word_files_are_incremental_and_written_atomically(word_run, small_province, tmp_path):
    run = tmp_path / "small-2025-en"
    shutil.copytree(word_run, run, ignore=shutil.ignore_patterns("cache"))
    env = {"EVALKIT_CACHE": str(word_run.parent / "cache")}
    args = ["batch", str(small_province), "--out", str(tmp_path), "--jobs", "1", "--no-progress",
            "--counties", ",".join(COUNTIES), "--formats", "docx"]
    before = {stem: (run / f"{stem}.docx").read_bytes() for stem in STEMS}
    done = run_evalkit(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert "0 rendered, 3 unchanged" in done.stdout  # nothing to do: the Word files are current
    # a Word file that is gone is made again, and only its report is rendered; it is the same file
    (run / "090202.docx").unlink()
    done = run_evalkit(*args, env=env)
    assert done.returncode == 0 and "1 rendered, 2 unchanged" in done.stdout, done.stdout + done.stderr
    assert {stem: (run / f"{stem}.docx").read_bytes() for stem in STEMS} == before
    # a Word file that cannot be put in place fails its report, and leaves the report's other files untouched
    (run / "090121.docx").unlink()
    (run / "090121.docx").mkdir()
    html = os.stat(run / "090121.html")
    done = run_evalkit(*args, env=env)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr
    after = os.stat(run / "090121.html")
    assert (after.st_ino, after.st_mtime_ns) == (html.st_ino, html.st_mtime_ns)
    assert not [p for p in run.rglob("*.tmp")]


def test_formats_option_is_checked():
    done = run_evalkit("batch", "--formats", "html,odt", "--no-progress")
    assert done.returncode != 0 and "odt" in done.stderr and "html, pdf, docx" in done.stderr


@pytest.fixture(scope="module")
def word_run_zh(word_run, small_province) -> Path:
    """A county report and the overview in Chinese, as HTML and Word (the English run's cache reused)."""
    done = run_evalkit("batch", str(small_province), "--out", str(word_run.parent), "--jobs", "1", "--no-progress",
                       "--counties", COUNTIES[0], "--lang", "zh", "--formats", "html,docx",
                       env={"EVALKIT_CACHE": str(word_run.parent / "cache")})
    assert done.returncode == 0, done.stderr
    return word_run.parent / "small-2025-zh"


def test_chinese_table_headers_and_numbers_are_not_broken_into_narrow_columns(word_run_zh, tmp_path):
    """In the Chinese Word files as LibreOffice lays them out, no table header is set one character a line
    (与/全/省/比/较, a column as narrow as one Chinese character), a header of up to four characters (覆盖率,
    市州) is on one line and one of up to eight (与全省比较, 95%置信区间, 乡镇（街道）) on at most two, and no
    number of a table is cut across lines (578,82 / 3). The header row is found in the PDF's text as its cells
    in order, each cell's characters with any line breaks between them."""
    import pypdfium2 as pdfium

    assert _soffice() is not None, "LibreOffice (soffice) not found: `make libreoffice` (part of `make test`) installs it"
    stems = [COUNTIES[0], "overview"]
    done = subprocess.run([_soffice(), f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                           "--convert-to", "pdf", "--outdir", str(tmp_path),
                           *(str(word_run_zh / f"{stem}.docx") for stem in stems)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    checked = 0
    for stem in stems:
        pdf = pdfium.PdfDocument(str(tmp_path / f"{stem}.pdf"))
        text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r\n", "\n")
        page = _page(word_run_zh / f"{stem}.html")
        assert page.tables
        for table in page.tables:
            head = [re.sub(r"\s", "", cell) for cell, _ in table[0] if cell.strip()]
            found = list(re.finditer(r"\s+".join("(" + r"\s*".join(map(re.escape, cell)) + ")" for cell in head), text))
            assert found, f"{stem}: header row {head} not found in the PDF"
            for k, cell in enumerate(head):
                lines = max(m.group(k + 1).count("\n") + 1 for m in found)
                assert len(cell) == 1 or lines < len(cell), f"{stem}: header {cell!r} set one character a line"
                if len(cell) <= 8:
                    assert lines <= (1 if len(cell) <= 4 else 2), f"{stem}: header {cell!r} on {lines} lines"
                checked += 1
            for row in table[1:]:
                for cell, _ in row:
                    for number in re.findall(r"\d[\d,.]*\d", cell):
                        assert number in text, f"{stem}: {number} cut across lines in the Word file"
    assert checked >= 40
