"""Word (``.docx``) versions of the report pages, converted from the rendered HTML so that the two cannot drift.

:func:`html_to_docx` reads the page's ``<main>`` (what :func:`evalkit.render.notebook_to_html` wrote) and
writes it with python-docx:

* the cover (``<header class="cover">``: kicker, title, subtitle, notes) on a page of its own, then a table
  of contents field (Word fills it on opening, or on "Update field"), then the sections;
* ``<h2>``/``<h3>``/``<h4>`` as Word's *Heading 1/2/3* styles (the navigation pane and the contents list
  them), paragraphs, bold and italic runs, bulleted and numbered lists;
* every ``<table>`` as a real Word table: same cells, header row repeated on each page, the comparison
  colours of the HTML as cell shading (the ``background``/``color`` of the cell's style), numbers
  right-aligned, suppression marks ("—") as they are;
* every ``<figure>``'s inline SVG as a PNG at 300 dpi for the width of the text (through CairoSVG), with
  the SVG's accessible name as the picture's description and the caption as a *Caption* paragraph;
* A4, the margins of GB/T 9704 (official documents), page numbers in the footer (a PAGE field; none on
  the cover);
* Chinese conventions: body text in a Song-style serif (宋体, SimSun; Latin in Times New Roman), headings
  in a Hei-style sans (黑体, SimHei; Latin in Arial), named on the styles and on every run
  (``w:eastAsia``), and described in the font table (GB2312 character set, serif/sans family, the other
  name as ``altName``) so that Word or LibreOffice substitutes a like face where they are missing;
  Latin script tagged English (``w:lang``), as Chinese Word does, so that no number is broken across lines;
  table columns wide enough for lines of about four Chinese characters, headers on one or two lines where
  the page has room (a table too wide for portrait pages gets landscape pages, as in English).

Everything is text and tables an evaluator can edit; only the figures are pictures.  The file is
byte-reproducible: the document's dates and the zip entries' times are fixed.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["html_to_docx", "docx_bytes", "BODY_FONTS", "HEADING_FONTS", "FIGURE_DPI"]

#: (Latin, East Asian) font of the body text: Song-style serif.
BODY_FONTS = ("Times New Roman", "SimSun")
#: (Latin, East Asian) font of headings, title and table headers: Hei-style sans.
HEADING_FONTS = ("Arial", "SimHei")
#: The other names of the East Asian fonts (font table ``altName``), and their family for substitution.
_FONT_TABLE = {"SimSun": ("宋体", "roman"), "SimHei": ("黑体", "swiss")}
#: Resolution of the figures' pictures.
FIGURE_DPI = 300
_TEXT_WIDTH_CM = 15.6  # A4 (21 cm) less the GB/T 9704 margins (2.8 cm left, 2.6 cm right)
_LANDSCAPE_WIDTH_CM = 24.3  # A4 across (29.7 cm) less the same margins: a wide table's page
_A4_TWIPS = (11906, 16838)  # width, height
_STYLE_COLOURS = re.compile(r"(background(?:-color)?|(?<![-\w])color)\s*:\s*#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_FIXED_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
_HEADING_LEVEL = {"h2": 1, "h3": 2, "h4": 3, "h5": 3, "h6": 3}
_SVG = re.compile(r"<svg\b.*?</svg\s*>", re.S | re.I)
_ROOT_STYLE = re.compile(r'(<svg\b[^>]*?)\sstyle="[^"]*"')
_SKIP = {"script", "style", "nav", "svg", "button", "input", "template", "noscript"}


_CELL_MARGINS = 240  # twips: the table style's left and right cell margins (108 each) and a little room
_UNBROKEN = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def _word_twips(text: str, size: int) -> int:
    """The width (twips) a cell needs so that no word of ``text`` breaks, at ``size`` half-points: its longest run
    of characters without a space or a Chinese character (where lines may break) at 0.6 em a character (bold
    Arial's widest lower case, so headers fit too), or the width its Chinese text needs (:func:`_han_ems`), plus
    the cell margins."""
    em = size * 10  # twips: half-points x 10
    runs = [len(w) * 0.6 for w in _UNBROKEN.findall(text)] + [_han_ems(w) for w in text.split() if _HAN.search(w)]
    return round(max(runs, default=0) * em) + _CELL_MARGINS


_HAN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")  # Chinese characters and full-width forms: an em each
_HAN_LINE = 4  # Chinese characters a line of a cell holds at least, where its text has as many
_OPENING = frozenset("（〔［｛〈《「『【“‘")  # a line never ends with one of these (Chinese line-breaking rules)
_CLOSING = frozenset("）〕］｝〉》」』】、，。：；！？％”’")  # nor starts with one of these


def _han_ems(word: str, lines: int = 0) -> float:
    """The width (ems) in which a word without spaces that holds Chinese text takes as few lines as lines of
    :data:`_HAN_LINE` characters would (or ``lines`` lines, where it can), each line as full as the line breaks
    allow.

    Chinese text may break between any two characters, but a column one or two characters wide (与/全/省/比/较)
    is not read as words: "覆盖率" stays on one line, "与全省比较" takes two ("与全省" / "比较"), a long text
    lines of about four characters.  Lines break as the Chinese rules say (and Word and LibreOffice do): never
    after an opening bracket, before a closing mark or inside a run of Latin letters and digits ("100）" stays
    whole)."""
    pieces: list[int] = []  # the word's unbreakable pieces, in fifths of an em (0.6 em a Latin character)
    latin = False
    for i, ch in enumerate(word):
        han = bool(_HAN.match(ch))
        width = 5 if han else 3
        if i and (word[i - 1] in _OPENING or ch in _CLOSING or (latin and not han)):
            pieces[-1] += width
        else:
            pieces.append(width)
        latin = not han and ch not in _OPENING
    lines = lines or -(-sum(pieces) // (5 * _HAN_LINE))
    width = max(pieces)
    while _lines(pieces, width) > lines:
        width += 1
    return width / 5


def _line_twips(text: str, size: int) -> int:
    """The width (twips) of ``text`` on one line at ``size`` half-points (a Chinese character an em, any other
    0.6 em, and half an em to spare: a Latin letter's width varies, bold Arial's "%" is 0.89 em), plus the cell
    margins."""
    return round((sum(1.0 if _HAN.match(ch) else 0.6 for ch in text) + 0.5) * size * 10) + _CELL_MARGINS


def _head_twips(text: str, size: int, lines: int) -> int:
    """The width (twips) in which a Chinese header takes ``lines`` lines, with the room to spare of
    :func:`_line_twips`."""
    if lines == 1:
        return _line_twips(text, size)
    return round((_han_ems(text, lines) + 0.5) * size * 10) + _CELL_MARGINS


def _lines(pieces: list[int], width: int) -> int:
    """The lines that ``pieces`` take in a line ``width`` wide, each line filled before the next begins."""
    lines, used = 1, 0
    for piece in pieces:
        if used and used + piece > width:
            lines, used = lines + 1, 0
        used += piece
    return lines


def _fonts(element, fonts: tuple[str, str]) -> None:
    """Name the Latin and East Asian fonts on a run's or a style's ``w:rPr``."""
    from docx.oxml.ns import qn

    rpr = element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), fonts[0])
    rfonts.set(qn("w:eastAsia"), fonts[1])
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)


def _font_table(document) -> None:
    """Describe SimSun and SimHei in the font table: GB2312 charset, family, and their Chinese names."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml

    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    try:
        part = document.part.part_related_by(RT.FONT_TABLE)
    except KeyError:
        return
    root = parse_xml(part.blob)
    for name, (alt, family) in _FONT_TABLE.items():
        for old in root.findall(f"{{{ns}}}font"):
            if old.get(f"{{{ns}}}name") == name:
                root.remove(old)
        root.append(parse_xml(
            f'<w:font xmlns:w="{ns}" w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
            f'<w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>'))
    from lxml import etree

    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _styles(document, lang: str) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    styles = document.styles
    normal = styles["Normal"]
    normal.font.size = Pt(12 if lang == "zh" else 11)
    _fonts(normal.element, BODY_FONTS)
    rpr = normal.element.get_or_add_rPr()
    lang_el = rpr.find(qn("w:lang"))
    if lang_el is None:
        lang_el = rpr.makeelement(qn("w:lang"), {})
        rpr.append(lang_el)
    lang_el.set(qn("w:val"), "en-US" if lang == "zh" else "en-GB")  # Latin script: English (as Chinese Word sets it)
    lang_el.set(qn("w:eastAsia"), "zh-CN")
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 22), ("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 12), ("Caption", 9),
                       ("TOC Heading", 16)):
        try:
            style = styles[name]
        except KeyError:
            style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)  # the contents' heading: not in the contents
            style.base_style = styles["Normal"]
            style.font.bold = True
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
        _fonts(style.element, HEADING_FONTS if name != "Caption" else BODY_FONTS)
    _font_table(document)


def _page(document) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.different_first_page_header_footer = True  # no page number on the cover
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _field(footer, "PAGE", "1")


def _field(paragraph, code: str, shown: str) -> None:
    """A complex field (``PAGE``, ``TOC ...``) in ``paragraph``, showing ``shown`` until Word updates it."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def run_with(child):
        run = paragraph.add_run()
        _fonts(run._r, BODY_FONTS)
        run._r.append(child)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")  # Word updates the field when it opens the file
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    run_with(instr)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    shown_run = paragraph.add_run(shown)
    _fonts(shown_run._r, BODY_FONTS)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _text(el) -> str:
    """The text of an element as the page shows it (white space collapsed)."""
    return re.sub(r"\s+", " ", el.text_content()).strip()


def _colours(style: str | None) -> dict[str, str]:
    out = {}
    for prop, value in _STYLE_COLOURS.findall(style or ""):
        if len(value) == 3:
            value = "".join(c * 2 for c in value)
        out["fill" if prop.startswith("background") else "color"] = value.upper()
    return out


class _Writer:
    def __init__(self, document, lang: str, svgs: list[str]) -> None:
        self.doc = document
        self.svgs = svgs
        self.styles: dict[str, object] = {}
        self.lang = lang
        self.figures = 0
        #: (level, text) of the headings, for the contents shown before Word updates its field.
        self.headings: list[tuple[int, str]] = []

    def add(self, style: str | None = None, text: str = ""):
        """A new paragraph in ``style`` (looked up once: python-docx searches the styles on every name)."""
        if style is not None and style not in self.styles:
            self.styles[style] = self.doc.styles[style].style_id
        p = self.doc.add_paragraph(text)
        if style is not None:
            p._p.style = self.styles[style]  # by id: python-docx's own setter looks the style up every time
        return p

    # ------------------------------------------------------------------ inline content

    def inline(self, paragraph, el, *, bold: bool = False, italic: bool = False, fonts=BODY_FONTS,
               colour: str | None = None, text_of_el: bool = True) -> None:
        """Add the text of ``el`` (its text, children and their tails) to ``paragraph`` as runs."""
        if text_of_el and el.text:
            self.run(paragraph, el.text, bold, italic, fonts, colour)
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "br":
                paragraph.add_run().add_break()
            elif tag in _SKIP or not tag:
                pass
            elif not (tag == "a" and "anchor-link" in (child.get("class") or "")):
                self.inline(paragraph, child, bold=bold or tag in ("strong", "b", "th"),
                            italic=italic or tag in ("em", "i"), fonts=fonts, colour=colour)
            if child.tail:
                self.run(paragraph, child.tail, bold, italic, fonts, colour)

    def run(self, paragraph, text: str, bold: bool, italic: bool, fonts, colour: str | None) -> None:
        from docx.shared import RGBColor

        text = re.sub(r"\s+", " ", text)
        if not text.strip() and not paragraph.runs:
            return
        if not paragraph.runs:
            text = text.lstrip()
        r = paragraph.add_run(text)
        _fonts(r._r, fonts)
        if bold:
            r.bold = True
        if italic:
            r.italic = True
        if colour:
            r.font.color.rgb = RGBColor.from_string(colour)

    def trim(self, paragraph) -> None:
        if paragraph.runs:
            last = paragraph.runs[-1]
            last.text = last.text.rstrip()

    # ------------------------------------------------------------------ blocks

    def block(self, el, *, cover: bool = False) -> None:
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if not tag or tag in _SKIP:
                continue
            classes = (child.get("class") or "").split()
            if tag == "header" and "cover" in classes:
                self.cover(child)
            elif tag == "h1":
                p = self.add("Title")
                self.inline(p, child, fonts=HEADING_FONTS)
                self.trim(p)
            elif tag in _HEADING_LEVEL:
                p = self.add(f"Heading {_HEADING_LEVEL[tag]}")
                self.inline(p, child, fonts=HEADING_FONTS)
                self.trim(p)
            elif tag == "p":
                self.paragraph(child, classes)
            elif tag in ("ul", "ol"):
                self.listing(child, tag, 1)
            elif tag == "table":
                self.table(child)
            elif tag == "figure":
                self.figure(child)
            elif tag in ("pre", "blockquote"):
                p = self.doc.add_paragraph()
                self.inline(p, child)
                self.trim(p)
            else:  # div, section, details, ...: their content
                self.block(child)

    def paragraph(self, el, classes, style: str | None = None):
        from docx.shared import Pt

        p = self.add(style)
        self.inline(p, el)
        self.trim(p)
        if "note" in classes:
            for r in p.runs:
                r.font.size = Pt(9)
        return p

    def cover(self, el) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
        from docx.shared import Pt

        for _ in range(4):
            self.doc.add_paragraph()
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            classes = (child.get("class") or "").split()
            if tag == "h1":
                p = self.add("Title")
                self.inline(p, child, fonts=HEADING_FONTS)
            elif tag == "p":
                p = self.paragraph(child, classes)
                if "kicker" in classes or "subtitle" in classes:
                    for r in p.runs:
                        _fonts(r._r, HEADING_FONTS)
                        r.font.size = Pt(14 if "subtitle" in classes else 12)
            else:
                self.block(child)
                continue
            self.trim(p)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if tag == "h1" or "note" not in classes else None
        # the contents on a page of their own, then the report
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        from .report.i18n import t

        heading = self.add("TOC Heading", t("page.contents", self.lang))
        for r in heading.runs:
            _fonts(r._r, HEADING_FONTS)
        self.toc()
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def toc(self) -> None:
        """The table of contents: a TOC field (Word fills in the page numbers when it updates the field),
        showing the headings until then, so that a reader that does not update fields shows them too."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Cm

        def fld(paragraph, kind: str) -> None:
            run = paragraph.add_run()
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            if kind == "begin":
                char.set(qn("w:dirty"), "true")
            run._r.append(char)

        entries = self.headings or [(1, "…")]
        for i, (level, text) in enumerate(entries):
            p = self.add()
            p.paragraph_format.left_indent = Cm(0.75 * (level - 1))
            p.paragraph_format.space_after = 0
            if i == 0:
                fld(p, "begin")
                instr = OxmlElement("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = ' TOC \\o "1-3" \\h \\z \\u '
                p.add_run()._r.append(instr)
                fld(p, "separate")
            self.run(p, text, False, False, BODY_FONTS, None)
            if i == len(entries) - 1:
                fld(p, "end")

    def listing(self, el, tag: str, level: int) -> None:
        style = ("List Bullet" if tag == "ul" else "List Number") + (f" {min(level, 3)}" if level > 1 else "")
        for li in el:
            if not isinstance(li.tag, str) or li.tag != "li":
                continue
            p = self.add(style)
            nested = [c for c in li if isinstance(c.tag, str) and c.tag in ("ul", "ol")]
            self.inline(p, _without(li, nested))  # the item's own text first, its sub-lists after it
            self.trim(p)
            for c in nested:
                self.listing(c, c.tag, level + 1)

    def table(self, el) -> None:
        """A Word table of the page's table, written as WordprocessingML at once (python-docx's cell by cell
        calls took half the conversion's time): same cells, header rows repeated on every page, the
        comparison colours as shading, numbers right-aligned, columns as wide as their text suggests."""
        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls

        rows = []
        for tr in el.iter("tr"):
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
            head = tr.getparent() is not None and tr.getparent().tag == "thead"
            rows.append((cells, head))
        if not rows:
            return
        width = max(sum(int(c.get("colspan") or 1) for c in cells) for cells, _ in rows)
        size = 18 if width <= 7 else 15  # half-points: 9 pt, 7.5 pt for wide tables
        # each column at least as wide as its longest unbreakable word (so that "Value" is never cut into
        # "Valu/e"; Chinese text in lines of about four characters, never one: _han_ems), the rest of the text
        # width shared as the columns' texts suggest (a Chinese character counts twice); a table whose words do
        # not fit across the page gets a landscape page of its own
        longest, least, body, heads = [3.0] * width, [0] * width, [0] * width, [""] * width
        for cells, head in rows:
            for j, c in enumerate(cells[:width]):
                text = _text(c)
                chars = len(text) + sum(1 for ch in text if ord(ch) > 0x2E80)
                longest[j] = max(longest[j], min(chars, 28) ** 0.75)
                least[j] = max(least[j], _word_twips(text, size))
                if head and _HAN.search(text) and " " not in text and int(c.get("colspan") or 1) == 1:
                    heads[j] = max(heads[j], text, key=len)
                elif not head:
                    body[j] = max(body[j], _line_twips(text, size))
        available = round(_TEXT_WIDTH_CM / 2.54 * 1440)
        landscape = sum(least) > available
        if landscape:  # the portrait pages end before the table, or before the heading and lines that lead to it
            self.section_break(landscape=False, before=self.lead_in())
            available = round(_LANDSCAPE_WIDTH_CM / 2.54 * 1440)
        caption = el.find("caption")
        if caption is not None:
            p = self.add("Caption")
            self.inline(p, caption)
            self.trim(p)
        # Chinese column headers on two lines, then on one ("与全省比较", not "与全省比" / "较"), where the page has
        # room for them beside every cell of the table's body on one line, those that need least more room first;
        # a column whose header its share of the room to spare would not bring onto one line, and whose body is
        # narrower, gets none (it would only move the header's second line up: "与全省" / "比较" to "与全省比" / "较")
        need = [max(m, b) for m, b in zip(least, body)]
        if any(heads) and sum(need) <= available:  # the body's cells on one line first ("243 名受访者")
            least = need[:]
        for lines in (2, 1):
            wants = [_head_twips(h, size, lines) if h else 0 for h in heads]
            for j in sorted(range(width), key=lambda j: wants[j] - need[j]):
                if wants[j] > need[j] and sum(need) - need[j] + wants[j] <= available:
                    least[j] = need[j] = wants[j]
        spare = available - sum(least)
        for j, h in enumerate(heads):
            if (h and body[j] <= need[j] and least[j] + spare * longest[j] / sum(longest) < _head_twips(h, size, 1)
                    and sum(least) - least[j] + need[j] <= available):
                least[j], longest[j] = need[j], 0.0
        spare = available - sum(least)
        if spare > 0:
            twips = [m + round(spare * share / (sum(longest) or 1.0)) for m, share in zip(least, longest)]
        else:  # the words do not fit side by side at all: shared by their widths
            twips = [round(available * m / sum(least)) for m in least]
        out = [f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
               '<w:jc w:val="center"/><w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0" w:firstRow="1" '
               'w:lastRow="0" w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>',
               *(f'<w:gridCol w:w="{w}"/>' for w in twips), "</w:tblGrid>"]
        for cells, head in rows:
            out.append("<w:tr>" + ('<w:trPr><w:tblHeader/></w:trPr>' if head else ""))
            j = 0
            for c in cells:
                span = max(1, min(int(c.get("colspan") or 1), width - j))
                colours = _colours(c.get("style"))
                is_head = c.tag == "th" or head
                fill = colours.get("fill") or ("F2F2F2" if is_head else None)
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{sum(twips[j:j + span])}" w:type="dxa"/>'
                           + (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "")
                           + (f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else "")
                           + '</w:tcPr><w:p><w:pPr><w:spacing w:after="0"/>'
                           + ('<w:jc w:val="right"/>' if "num" in (c.get("class") or "").split() else "")
                           + "</w:pPr>"
                           + _runs_xml(c, bold=is_head, fonts=HEADING_FONTS if is_head else BODY_FONTS,
                                       colour=colours.get("color"), size=size)
                           + "</w:p></w:tc>")
                j += span
            for _ in range(j, width):  # a short row: empty cells to the table's width
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{twips[_]}" w:type="dxa"/></w:tcPr><w:p/></w:tc>')
            out.append("</w:tr>")
        out.append("</w:tbl>")
        self.doc.element.body.sectPr.addprevious(parse_xml("".join(out)))
        self.doc.add_paragraph()
        if landscape:
            self.section_break(landscape=True)  # ends the table's landscape pages

    def lead_in(self):
        """The heading that the last few paragraphs (up to three after it, no table) start from, or ``None``."""
        from docx.oxml.ns import qn

        at = self.doc.element.body.sectPr.getprevious()
        for _ in range(4):
            if at is None or at.tag != qn("w:p"):
                return None
            style = at.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
            if style is not None and style.get(qn("w:val"), "").startswith("Heading"):
                return at
            at = at.getprevious()
        return None

    def section_break(self, *, landscape: bool, before=None) -> None:
        """End the current section here, or before the element ``before``, as portrait or landscape A4 pages (the
        next section starts on a new page).

        The first break keeps the cover's rule (no page number on the first page) for the first section only."""
        import copy

        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls, qn

        body = self.doc.element.body.sectPr
        ended = copy.deepcopy(body)
        size = ended.find(qn("w:pgSz"))
        size.set(qn("w:w"), str(_A4_TWIPS[1] if landscape else _A4_TWIPS[0]))
        size.set(qn("w:h"), str(_A4_TWIPS[0] if landscape else _A4_TWIPS[1]))
        if landscape:
            size.set(qn("w:orient"), "landscape")
        else:
            size.attrib.pop(qn("w:orient"), None)
        paragraph = parse_xml(f'<w:p {nsdecls("w")}><w:pPr/></w:p>')
        paragraph[0].append(ended)
        (before if before is not None else body).addprevious(paragraph)
        for first_page in body.findall(qn("w:titlePg")):  # later sections number their first page
            body.remove(first_page)

    def figure(self, el) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm
        svg = el.find(".//svg")
        if svg is not None and (svg.get("data-evalkit-svg") or "").isdigit():
            source = _ROOT_STYLE.sub(r"\1", self.svgs[int(svg.get("data-evalkit-svg"))], count=1)
            width = float(re.search(r'\swidth="([0-9.]+)"', source[:source.index(">")]).group(1))
            target = _TEXT_WIDTH_CM / 2.54 * FIGURE_DPI  # pixels across the text width at FIGURE_DPI
            png = _png(source, target / width)
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            shape = p.add_run().add_picture(io.BytesIO(png), width=Cm(_TEXT_WIDTH_CM))
            self.figures += 1
            label = re.search(r'\saria-label="([^"]*)"', source[:source.index(">")])
            alt = html.unescape(label.group(1)) if label else ""
            doc_pr = shape._inline.docPr
            doc_pr.set("descr", alt)
            doc_pr.set("name", f"Figure {self.figures}")
        caption = el.find("figcaption")
        if caption is not None:
            p = self.add("Caption")
            self.inline(p, caption)
            self.trim(p)


_FONT_ADDED: list[str] = []


def _add_report_font() -> None:
    """Make the report's CJK font (:func:`evalkit.report.fonts.font_path`, bundled) known to fontconfig, which
    cairo draws the figures' text with, so that their Chinese shows on a machine without a CJK font."""
    if _FONT_ADDED:
        return
    import ctypes
    import ctypes.util

    from .report.fonts import font_path

    path = str(font_path())
    _FONT_ADDED.append(path)
    name = ctypes.util.find_library("fontconfig")
    if name:
        try:
            ctypes.CDLL(name).FcConfigAppFontAddFile(None, path.encode())
        except (OSError, AttributeError):  # no fontconfig: the system's fonts only
            pass


def _png(svg: str, scale: float) -> bytes:
    """The SVG drawn by CairoSVG on white at ``scale``, as a PNG of :data:`FIGURE_DPI` dots per inch.

    Cairo's pixels go to the PNG without Pillow or cairo's own PNG writer: rows unfiltered, compressed once by
    zlib at its fastest level (the size of Pillow's fastest setting in half the time; cairo's writer took most
    of the conversion's time, Pillow's adaptive row filters most of what was left).
    """
    import numpy as np
    from cairosvg.parser import Tree
    from cairosvg.surface import PNGSurface

    _add_report_font()
    surface = PNGSurface(Tree(bytestring=svg.encode("utf-8")), None, FIGURE_DPI, scale=scale,
                         background_color="white")
    image = surface.cairo  # ARGB32 in native (little-endian: BGRA) order, opaque on the white ground
    image.flush()
    height, width, stride = image.get_height(), image.get_width(), image.get_stride()
    bgra = np.frombuffer(image.get_data(), np.uint8).reshape(height, stride)[:, :width * 4].reshape(height, width, 4)
    rows = np.empty((height, 1 + width * 3), np.uint8)  # each row: filter type 0 (none), then R, G, B
    rows[:, 0] = 0
    rgb = rows[:, 1:].reshape(height, width, 3)
    for i in range(3):  # one channel at a time: far faster than one reversed slice
        rgb[..., i] = bgra[..., 2 - i]
    return _png_file(width, height, rows)


def _png_file(width: int, height: int, rows) -> bytes:
    """A PNG (8-bit RGB, :data:`FIGURE_DPI` in its ``pHYs``) of ``rows``: each a filter byte then the pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    per_metre = round(FIGURE_DPI / 0.0254)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


def _runs_xml(el, *, bold: bool, fonts: tuple[str, str], colour: str | None, size: int) -> str:
    """The text of ``el`` as ``<w:r>`` elements (bold and italic as its ``<strong>``/``<em>`` say)."""
    from xml.sax.saxutils import escape

    pieces: list[tuple[str, bool, bool]] = []

    def walk(node, b: bool, i: bool, own: bool = True) -> None:
        if own and node.text:
            pieces.append((node.text, b, i))
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "br":
                pieces.append(("\n", b, i))
            elif tag and tag not in _SKIP:
                walk(child, b or tag in ("strong", "b", "th"), i or tag in ("em", "i"))
            if child.tail:
                pieces.append((child.tail, b, i))

    walk(el, bold, False)
    out = []
    rfonts = (f'<w:rFonts w:ascii="{fonts[0]}" w:hAnsi="{fonts[0]}" w:cs="{fonts[0]}" '
              f'w:eastAsia="{fonts[1]}"/>')
    started = False
    for n, (piece, b, i) in enumerate(pieces):
        piece = piece if piece == "\n" else re.sub(r"\s+", " ", piece)
        if not started:
            piece = piece.lstrip() if piece != "\n" else piece
            if not piece:
                continue
            started = True
        if n == len(pieces) - 1 or not "".join(p[0] for p in pieces[n + 1:]).strip():
            piece = piece.rstrip() if piece != "\n" else piece
        if not piece:
            continue
        props = (rfonts + ("<w:b/>" if b else "") + ("<w:i/>" if i else "")
                 + (f'<w:color w:val="{colour}"/>' if colour else "") + f'<w:sz w:val="{size}"/>')
        body = "<w:br/>" if piece == "\n" else f'<w:t xml:space="preserve">{escape(piece)}</w:t>'
        out.append(f"<w:r><w:rPr>{props}</w:rPr>{body}</w:r>")
    return "".join(out)


def _without(el, children):
    """A copy of ``el`` without ``children`` (the sub-lists of a list item)."""
    import copy

    clone = copy.deepcopy(el)
    drop = {id(c) for c in children}
    for orig, c in zip(list(el), list(clone)):
        if id(orig) in drop:
            tail = c.tail
            prev = c.getprevious()
            clone.remove(c)
            if tail:
                if prev is not None:
                    prev.tail = (prev.tail or "") + tail
                else:
                    clone.text = (clone.text or "") + tail
    return clone


def _main(page: str):
    """The page's ``<main>`` element, and the sources of its inline SVGs (an HTML parser would lower-case
    their ``viewBox``), each ``<svg>`` replaced by a numbered placeholder."""
    from lxml import html as lhtml

    svgs: list[str] = []

    def keep(m: re.Match) -> str:
        svgs.append(m.group(0))
        return f'<svg data-evalkit-svg="{len(svgs) - 1}"></svg>'

    root = lhtml.document_fromstring(_SVG.sub(keep, page))
    main = root.find(".//main")
    return (main if main is not None else root.find(".//body")), svgs


def docx_bytes(page: str, *, lang: str, title: str) -> bytes:
    """The Word document of a report page (the HTML :func:`evalkit.render.notebook_to_html` wrote)."""
    from docx import Document

    document = Document()
    _styles(document, lang)
    _page(document)
    body = document.element.body
    for p in list(body.iterchildren()):
        if p.tag.endswith("}p"):  # the template's empty first paragraph
            body.remove(p)
    main, svgs = _main(page)
    writer = _Writer(document, lang, svgs)
    writer.headings = [(_HEADING_LEVEL[h.tag], _text(h)) for h in main.iter(*_HEADING_LEVEL) if _text(h)]
    writer.block(main)
    props = document.core_properties
    props.title = title
    props.author = props.last_modified_by = "evalkit"
    props.language = "zh-CN" if lang == "zh" else "en"
    props.created = props.modified = _FIXED_TIME
    props.revision = 1
    _used_styles_only(document)
    buf = io.BytesIO()
    document.save(buf)
    return _reproducible_zip(buf.getvalue())


#: The relationship to Word 2010's copy of the styles, which python-docx's template carries.
_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _used_styles_only(document) -> None:
    """Keep only the styles the document uses (and those they are based on, link to or are followed by, and
    each type's default), and leave out the template's Word 2010 copy of them (``stylesWithEffects.xml``): the
    template's 164 styles are 0.8 MB of XML that every report would write, zip and have scanned."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml.ns import qn

    rels = document.part.rels
    styles_part = rels.part_with_reltype(RT.STYLES)
    styles = styles_part.element
    by_id = {el.get(qn("w:styleId")): el for el in styles.iterchildren(qn("w:style"))}
    parts = [document.part, *(rel.target_part for rel in rels.values() if not rel.is_external)]
    wanted = {el.get(qn("w:val")) for part in parts if part is not styles_part and hasattr(part, "element")
              for el in part.element.iter(qn("w:pStyle"), qn("w:rStyle"), qn("w:tblStyle"), qn("w:numStyleLink"),
                                          qn("w:styleLink"))}
    wanted |= {i for i, el in by_id.items() if el.get(qn("w:default")) in ("1", "true", "on")}
    todo = list(wanted)
    while todo:  # and what the wanted styles refer to
        el = by_id.get(todo.pop())
        for ref in () if el is None else el.iterchildren(qn("w:basedOn"), qn("w:link"), qn("w:next")):
            if ref.get(qn("w:val")) not in wanted:
                wanted.add(ref.get(qn("w:val")))
                todo.append(ref.get(qn("w:val")))
    for style_id, el in by_id.items():
        if style_id not in wanted:
            styles.remove(el)
    for rel_id in [i for i, rel in rels.items() if rel.reltype == _STYLES_WITH_EFFECTS]:
        del rels[rel_id]  # nothing in the document refers to it by id: the part is no longer written


def _reproducible_zip(data: bytes) -> bytes:
    """The same zip with fixed entry times, so that the same page gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            # pictures are compressed PNGs already: stored as they are
            fixed.compress_type = zipfile.ZIP_STORED if info.filename.startswith("word/media/") else zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def html_to_docx(page: str, path: str | Path, *, lang: str, title: str) -> None:
    """Write the Word version of a report page to ``path`` (the caller renames it into place)."""
    Path(path).write_bytes(docx_bytes(page, lang=lang, title=title))
