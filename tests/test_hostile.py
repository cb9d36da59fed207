"""Hostile input (issue 6, item 3), end to end: see the table in docs/robustness.md.

- Names that are HTML, script, quotes, ampersands or template syntax are legitimate characters: a
  province whose county, township, prefecture and province names and survey comments are such strings
  goes through
  ``evalkit batch`` (one worker, PDFs) and every page is opened in a real headless Chromium: no page
  or console error, nothing executed (``window.__pwned`` stays undefined), not one element more than
  the same page made from the clean names, the literal name visible in headings, tables, figures and
  the title, the index's search finding the county by its hostile name, and the PDF's text holding it.
- Names that would display other than they are stored (line breaks, control characters,
  bidirectional overrides) and absurd lengths are refused by validation with the usual precise message,
  the value shown with escapes.
- Crafted county codes, prefecture codes and run names are refused before any worker, kernel or
  browser starts, and nothing is written anywhere; a data folder whose name is Python code is only a name.

Needs Chromium (``make test`` installs it): fails, never skips, without it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit import cli
from evalkit.batch import BatchError, run_batch
from evalkit.paths import REPORTS
from evalkit.report.i18n import t
from evalkit.schema import validate_province
from browser import browser, open_page  # noqa: F401
from conftest import BASE, TODAY, run_evalkit

#: county code -> (English name, Chinese name): each a string a careless page would execute or break on.
HOSTILE = {
    "090102": ("<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=2">青新区'),
    "090121": ("\"quoted\" & 'single' </title><h1>x", '</style><svg onload="window.__pwned=3">星柳县'),
    "090202": ("{{ jinja }} {% raw %} ${js} {county} %s", "沙霞区`${window.__pwned=4}`{0}"),
    "090221": ("</script><script>window.__pwned=5</script><!--", "]]><![CDATA[桃丰县 &amp; &lt;"),
}
#: Python that would touch $EVALKIT_PWNED if any name or path were ever evaluated as code.
CODE = "'+__import__('os').system('touch $EVALKIT_PWNED')+'"
TOWNSHIPS = ['<b onmouseover="window.__pwned=6">bold</b> & Co', "javascript:window.__pwned=7", CODE]
#: Survey comments (shown in the county report, scrubbed of personal data, which these have none of).
COMMENTS = ["<script>window.__pwned=8</script>很好", "\"第一行\"\r\n<img src=x onerror=\"window.__pwned=9\"> & 'second'",
            "{{ comment }} ${x} </li></ul><h2>injected</h2>", "社工很耐心 &amp; <!-- 注释"]
PREFECTURE = "<i>Jinniu</i> \"City\" &amp;"
PROVINCE = "<u>Sample</u> Province & 'co' <!--"
COUNTIES = list(HOSTILE)
#: A data folder whose name is code: its path is a report parameter and goes into the kernel.
FOLDER = "evil" + CODE


def _hostile_province(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    regions = pd.read_parquet(dest / "regions.parquet")
    for code, (en, zh) in HOSTILE.items():
        regions.loc[regions["county_code"] == code, ["county_name_en", "county_name_zh"]] = [en, zh]
    townships = sorted(regions.loc[regions["county_code"] == "090102", "township_code"].unique())
    for township, name in zip(townships, TOWNSHIPS):
        regions.loc[regions["township_code"] == township, "township_name_en"] = name
    regions.loc[regions["prefecture_code"] == "0901", "prefecture_name_en"] = PREFECTURE
    regions["province_name_en"] = PROVINCE
    regions.to_parquet(dest / "regions.parquet", index=False)
    survey = pd.read_parquet(dest / "survey.parquet")
    rows = survey.index[(survey["county_code"] == "090102") & (survey["year"] == 2025) & survey["comment"].notna()]
    assert len(rows) >= len(COMMENTS)
    survey.loc[rows, "comment"] = [COMMENTS[i % len(COMMENTS)] for i in range(len(rows))]
    survey.to_parquet(dest / "survey.parquet", index=False)
    return dest


@pytest.fixture(scope="module")
def hostile(small_province, tmp_path_factory):
    """The small province with hostile names, in a folder whose name is code, rendered by ``evalkit batch``
    (English, every county, overview, index, PDFs) and one county in Chinese; returns (en run, zh run,
    the sentinel file any executed name would create)."""
    root = tmp_path_factory.mktemp("hostile")
    data = _hostile_province(small_province, root / FOLDER)
    env = {"EVALKIT_CACHE": str(root / "cache"), "EVALKIT_PWNED": str(root / "pwned")}
    out = root / "out"
    done = run_evalkit("batch", str(data), "--out", str(out), "--jobs", "1", "--pdf", "yes", "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    zh = run_evalkit("batch", str(data), "--out", str(out), "--jobs", "1", "--pdf", "yes", "--no-progress",
                     "--lang", "zh", "--counties", "090121", "--no-overview", env=env)
    assert zh.returncode == 0, zh.stderr
    return out / f"{FOLDER}-2025-en", out / f"{FOLDER}-2025-zh", root / "pwned"


def _tags(page) -> dict[str, int]:
    """How many elements of each kind the page has, outside the list of comments (whose length varies)."""
    return page.evaluate("""() => { const n = {};
        for (const e of document.querySelectorAll('*:not(ul.comments > li)'))
            n[e.localName] = (n[e.localName] || 0) + 1;
        return n; }""")


def _assert_inert(page, problems: list[str]) -> None:
    """Nothing ran: no error, no console message, no handler attribute, the sentinel never set."""
    assert problems == []
    assert page.evaluate("typeof window.__pwned") == "undefined"
    handlers = page.evaluate("""() => Array.from(document.querySelectorAll('*')).flatMap(e =>
        Array.from(e.attributes).filter(a => a.name.startsWith('on')).map(a => e.localName + '@' + a.name))""")
    assert handlers == []
    assert page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
                         ".filter(h => /^\\s*javascript:/i.test(h))") == []


def _svg_texts(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('svg text, svg title')).map(e => e.textContent)")


def test_hostile_names_pass_validation_and_render_every_page(hostile):
    en, zh, pwned = hostile
    for code in COUNTIES:
        assert (en / f"{code}.html").is_file() and (en / f"{code}.pdf").is_file()
    assert (zh / "090121.html").is_file()
    assert not pwned.exists(), "a name or the data folder's name was executed"
    assert sorted(p.name for p in en.parent.iterdir()) == sorted([en.name, zh.name])  # nothing outside --out


@pytest.mark.parametrize("code", COUNTIES)
def test_a_county_report_shows_its_hostile_name_as_text(hostile, small_batch, browser, code):  # noqa: F811
    en_dir, _, _ = hostile
    name = HOSTILE[code][0]
    page, problems = open_page(browser, en_dir / f"{code}.html")
    _assert_inert(page, problems)
    clean, clean_problems = open_page(browser, small_batch / f"{code}.html")
    assert clean_problems == []
    assert _tags(page) == _tags(clean), "a name became an element"
    title = t("cover.title", "en", county=name, year=2025)
    assert page.title() == title
    assert page.locator("h1").count() == 1 and page.locator("h1").inner_text() == title
    assert name in page.locator("header.cover").inner_text()
    svg = _svg_texts(page)
    assert name in svg, "the name is missing from the figures' text"
    assert any(name in s and s != name for s in svg), "the name is missing from the figures' titles"
    if code == "090102":  # the township names in the reach table, the comments in their list: as text
        comments = page.evaluate("Array.from(document.querySelectorAll('ul.comments > li')).map(li => li.textContent)")
        assert sorted(comments) == sorted(c.replace("\r\n", "\n") for c in COMMENTS)  # as HTML reads line ends
        assert page.locator("ul.comments *:not(li)").count() == 0
        cells = page.evaluate("Array.from(document.querySelectorAll('td')).map(td => td.textContent)")
        for township in TOWNSHIPS:
            assert township in cells
        assert PREFECTURE in page.locator("header.cover").inner_text()
        assert PROVINCE in page.locator("header.cover").inner_text()


def test_the_chinese_report_shows_its_hostile_name_as_text(hostile, browser):  # noqa: F811
    _, zh_dir, _ = hostile
    name = HOSTILE["090121"][1]
    page, problems = open_page(browser, zh_dir / "090121.html")
    _assert_inert(page, problems)
    assert page.evaluate("document.querySelectorAll('svg svg, img, script').length") == 0  # none from the name
    assert page.title() == t("cover.title", "zh", county=name, year=2025)
    assert name in page.locator("h1").inner_text()
    assert name in _svg_texts(page)


def test_the_overview_shows_hostile_names_as_text(hostile, small_batch, browser):  # noqa: F811
    en_dir, _, _ = hostile
    page, problems = open_page(browser, en_dir / "overview.html")
    _assert_inert(page, problems)
    clean, _ = open_page(browser, small_batch / "overview.html")
    assert _tags(page) == _tags(clean)
    assert page.title() == t("overview.title", "en", province=PROVINCE, year=2025)
    cells = page.evaluate("Array.from(document.querySelectorAll('td, th')).map(c => c.textContent)")
    for en, _ in HOSTILE.values():
        assert en in cells
    assert PREFECTURE in cells


def test_the_index_shows_hostile_names_and_finds_them(hostile, small_batch, browser):  # noqa: F811
    en_dir, _, _ = hostile
    page, problems = open_page(browser, en_dir / "index.html")
    _assert_inert(page, problems)
    clean, _ = open_page(browser, small_batch / "index.html")
    assert _tags(page) == _tags(clean)
    assert page.title() == t("index.title", "en", province=PROVINCE)
    for code, (en, zh) in HOSTILE.items():
        row = page.locator(f'#counties tbody tr:has(td[data-sort="{code}"])')
        assert row.locator("th").get_attribute("data-sort") == en
        assert row.locator("th").inner_text().startswith(en) and zh in row.locator("th").inner_text()
        assert en.lower() in row.get_attribute("data-search")
        for query in (en, zh):
            page.fill("#search", query)
            shown = page.evaluate("Array.from(document.querySelectorAll('#counties tbody tr'))"
                                  ".filter(r => !r.hidden).map(r => r.cells[0].textContent)")
            assert shown == [code], (query, shown)
    page.fill("#search", "")
    assert page.evaluate("typeof window.__pwned") == "undefined" and problems == []


def test_the_pdfs_hold_the_hostile_names_as_text(hostile):
    from pypdf import PdfReader

    en_dir, zh_dir, _ = hostile

    def text(path: Path) -> str:
        reader = PdfReader(path)
        return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))

    for code, (en, _) in HOSTILE.items():
        reader = PdfReader(en_dir / f"{code}.pdf")
        assert reader.metadata.title == t("cover.title", "en", county=en, year=2025)
        assert re.sub(r"\s+", "", en) in text(en_dir / f"{code}.pdf")
    assert re.sub(r"\s+", "", HOSTILE["090121"][1]) in text(zh_dir / "090121.pdf")


# --------------------------------------------------------------------------- refused by validation


def _regions_with(tmp_path: Path, column: str, value: str) -> tuple[Path, int]:
    """tests/data/base with ``column`` of county 090102's rows set to ``value`` in regions.csv; the folder
    and the spreadsheet row of the first changed record."""
    folder = tmp_path / "data"
    shutil.copytree(BASE, folder)
    path = folder / "regions.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first = None
    for i, row in enumerate(rows):
        if row["county_code"] == "090102":
            row[column] = value
            first = first or i + 2  # the header is row 1
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return folder, first


@pytest.mark.parametrize("column, value, rule, message", [
    ("county_name_en", "Qingxin\nDistrict", "text_line_break",
     "'Qingxin\\nDistrict' contains a line break (U+000A LINE FEED); 'county_name_en' must be one line: remove the "
     "line break"),
    ("county_name_en", "Qingxin\u202eDistrict", "text_bidi_control",
     "'Qingxin\\u202eDistrict' contains the invisible bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE, which "
     "makes text display in an order other than the one it is written in; delete it"),
    ("township_name_zh", "青新\u2067镇\u2069", "text_bidi_control",
     "'青新\\u2067镇\\u2069' contains the invisible bidirectional control U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("county_name_zh", "青新\x07区", "text_control_character",
     "'青新\\x07区' contains the invisible control character U+0007; delete it."),
    # issue 16: characters that show as nothing, so a name differs from the same name typed without them
    ("county_name_zh", "白\u200b红区", "text_invisible_character",
     "'白\\u200b红区' contains the invisible character U+200B ZERO WIDTH SPACE, so it differs from the same name "
     "typed without it; delete it"),
    ("township_name_zh", "湘\u200d鹤街道", "text_invisible_character",
     "'湘\\u200d鹤街道' contains the invisible character U+200D ZERO WIDTH JOINER"),
    ("county_name_en", "Baihong\U000e0041 District", "text_invisible_character",
     "'Baihong\\U000e0041 District' contains the invisible character U+E0041 TAG LATIN CAPITAL LETTER A"),
    ("county_name_zh", "白红\u200f区", "text_bidi_control",
     "'白红\\u200f区' contains the invisible bidirectional control U+200F RIGHT-TO-LEFT MARK"),
    ("county_name_en", "Baihong\u200eDistrict", "text_bidi_control",
     "'Baihong\\u200eDistrict' contains the invisible bidirectional control U+200E LEFT-TO-RIGHT MARK"),
    ("county_name_en", "Baihong\x1b[31mDistrict", "text_control_character",
     "'Baihong\\x1b[31mDistrict' contains the invisible control character U+001B ESCAPE; delete it."),
    ("county_name_en", "Q" * 101, "text_too_long",
     f"'{'Q' * 40}…' is 101 characters long; 'county_name_en' takes at most 100."),
])
def test_names_that_would_display_misleadingly_are_refused(tmp_path, capsys, column, value, rule, message):
    folder, row = _regions_with(tmp_path, column, value)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    found = [p for p in problems if p.rule == rule]
    assert found, [str(p) for p in problems]
    p = found[0]
    assert (p.file, p.row, p.column, p.severity) == ("regions.csv", row, column, "error")
    assert message in p.message
    # the command prints the value with escapes: nothing in it acts on the terminal
    assert cli.main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"regions.csv, row {row}, column '{column}': {message}" in out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\U000e0000-\U000e007f]", out)


def test_a_byte_order_mark_inside_a_name_in_parquet_or_excel_is_refused(tmp_path):
    # a CSV file is refused whole for it (stray_bom, in evalkit.io); Parquet and Excel cells reach validation
    folder, row = _regions_with(tmp_path, "township_name_en", "Xianghe Subdistrict")
    regions = pd.read_csv(folder / "regions.csv", dtype=str, keep_default_na=False)
    regions.loc[0, "township_name_en"] = "Xianghe\ufeffSubdistrict"
    (folder / "regions.csv").unlink()
    regions.to_parquet(folder / "regions.parquet", index=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "text_invisible_character")
    assert (p.file, p.row, p.column) == ("regions.parquet", 2, "township_name_en")
    assert "'Xianghe\\ufeffSubdistrict' contains the invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE" in p.message


def test_html_quotes_and_a_name_of_exactly_100_characters_are_valid(tmp_path):
    folder, _ = _regions_with(tmp_path, "county_name_en", ("<b>\"Q\" & 'q'</b>" + "Q" * 100)[:100])
    _, problems, _, _ = validate_province(folder, today=TODAY)
    assert [p for p in problems if p.severity == "error"] == []


def test_a_comment_may_have_line_breaks_but_no_bidirectional_control(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(BASE, folder)
    survey = pd.read_csv(folder / "survey.csv", dtype=str, keep_default_na=False)
    survey["comment"] = ""
    survey.loc[0, "comment"] = "第一行\r\n<script>alert(1)</script> & \"第二行\""
    survey.to_csv(folder / "survey.csv", index=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == []
    survey.loc[1, "comment"] = "很好\u202e"
    survey.loc[2, "comment"] = "长" * 2001
    survey.to_csv(folder / "survey.csv", index=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    errors = {(p.row, p.column, p.rule) for p in problems if p.severity == "error"}
    assert errors == {(3, "comment", "text_bidi_control"), (4, "comment", "text_too_long")}


# --------------------------------------------------------------------------- crafted parameters


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``roots``: size and modification time."""
    out = {}
    for root in roots:
        for path in [root, *root.rglob("*")] if root.exists() else []:
            st = path.stat()
            out[str(path)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize("args, message", [
    (["render", "../x"], "parameter county_code='../x' must be a 6-digit county code"),
    (["render", "090102/../../etc"], "parameter county_code='090102/../../etc' must be a 6-digit county code"),
    (["render", "__import__('os').system('touch pwned')"],
     "parameter county_code=\"__import__('os').system('touch pwned')\" must be a 6-digit county code"),
    (["render", "０９０１０２"], "parameter county_code='０９０１０２' must be a 6-digit county code"),
    (["batch", "--counties", "090102", "../../x"], "parameter county_code='../../x' must be"),
    (["batch", "--prefecture", "../09"], "prefecture '../09' must be a 4-digit prefecture code"),
    (["batch", "--run", "../x"], "run name '../x' must be a plain folder name"),
    (["batch", "--run", ".."], "run name '..' must be a plain folder name"),
    (["batch", "--run", "a\nb"], "run name 'a\\nb' must be a plain folder name"),
    (["render", "090102", "--run", "/etc"], "run name '/etc' must be a plain folder name"),
])
def test_crafted_codes_and_run_names_are_refused_before_anything_is_written(small_province, tmp_path, args,
                                                                            message):
    """No --out and no EVALKIT_CACHE: anything written would land in the project's reports/ (checked)."""
    command, *rest = args
    where = ["--data", str(small_province)] if command == "render" else [str(small_province)]
    before = _snapshot(REPORTS, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "EVALKIT_CACHE"}
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "evalkit.cli", command, *where, *rest, "--no-progress"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr and "nothing was rendered" in done.stderr
    assert "Traceback" not in done.stderr
    assert _snapshot(REPORTS, tmp_path) == before


def test_crafted_codes_are_refused_before_any_worker_or_kernel_starts(small_province, tmp_path, monkeypatch):
    import evalkit.batch as batch

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker (and its kernel) was started")

    monkeypatch.setattr(batch, "_Pool", no_pool)
    monkeypatch.setattr(batch, "plan", lambda *a, **k: pytest.fail("the province was read"))
    for options in ({"counties": ["../x"]}, {"counties": [90102]}, {"counties": ["090102"], "run": "../x"},
                    {"prefecture": "0901/.."}, {"year": "2025"}, {"lang": "../en"}):
        with pytest.raises(BatchError, match="nothing was rendered"):
            run_batch(small_province, out=tmp_path / "out", progress=False, log=lambda _: None, **options)
    assert not (tmp_path / "out").exists()


def test_a_file_whose_first_row_is_hostile_is_refused_with_the_row_shown_safely(tmp_path, capsys):
    """A row above the header is quoted in the message (title_row): its control characters are escaped."""
    folder = tmp_path / "data"
    shutil.copytree(BASE, folder)
    regions = (folder / "regions.csv").read_text(encoding="utf-8-sig")
    (folder / "regions.csv").write_text("Regions\u202e\x1b[2J 2025\n" + regions, encoding="utf-8")
    assert cli.main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "regions.csv, row 1: has 1 row(s) above the header (row 1 reads 'Regions\\u202e\\x1b[2J 2025')" in out
    assert "\u202e" not in out and "\x1b" not in out
