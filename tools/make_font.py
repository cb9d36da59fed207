"""Regenerate evalkit's bundled CJK font: a subset of Noto Sans CJK SC Regular.

Usage::

    .venv/bin/python tools/make_font.py                  # download the source wheel with pip
    .venv/bin/python tools/make_font.py --source FILE    # or subset a NotoSansCJKsc-Regular.otf you have

The source is ``NotoSansCJKsc-Regular.otf`` from the PyPI wheel ``mplfonts==0.0.11`` (checked by
SHA-256; evalkit does not depend on mplfonts).  The subset keeps every character GB2312 can encode,
ASCII and Latin-1, General Punctuation (U+2000-206F), CJK Symbols and Punctuation (U+3000-303F),
Halfwidth and Fullwidth Forms (U+FF00-FFEF) and every character of evalkit's TOML files (the
translation catalogues, code lists and indicator names), with all layout features and the whole
name table.  Its outlines are then converted from CFF to TrueType (quadratic, within 1/1000 em; the
recipe of fontTools' ``otf2ttf`` snippet), because fontTools subsets TrueType outlines 5x faster,
which matters when every HTML report embeds its own subset (:func:`evalkit.report.fonts.font_face_css`).
The output is byte-for-byte reproducible with the same fontTools version; see
evalkit/report/theme/fonts/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "evalkit" / "report" / "theme" / "fonts" / "NotoSansCJKsc-Regular.subset.ttf"
WHEEL = "mplfonts==0.0.11"
MEMBER = "mplfonts/fonts/NotoSansCJKsc-Regular.otf"
SOURCE_SHA256 = "1652500938055a232cfbfa321de6ebaadfc5635dd9f75e369bc991d14a6512dd"
RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF)]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_points() -> list[int]:
    """The code points to keep, sorted."""
    keep = {cp for lo, hi in RANGES for cp in range(lo, hi + 1)}
    for cp in range(0x80, 0x10000):
        if not 0xD800 <= cp <= 0xDFFF:
            try:
                chr(cp).encode("gb2312")
            except UnicodeEncodeError:
                continue
            keep.add(cp)
    for toml in sorted((ROOT / "evalkit").rglob("*.toml")):
        keep.update(ord(c) for c in toml.read_text(encoding="utf-8") if c.isprintable())
    return sorted(keep)


def fetch_source(workdir: Path) -> Path:
    """Download the mplfonts wheel with pip and extract the source font."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", str(workdir)],
                   check=True)
    wheel = next(workdir.glob("mplfonts-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        return Path(zf.extract(MEMBER, workdir))


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines of ``font`` by TrueType outlines, in place."""
    order = font.getGlyphOrder()
    outlines = font.getGlyphSet()
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(None)
        outlines[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["loca"] = newTable("loca")
    del font["CFF "], font["VORG"]
    glyf.compile(font)  # computes each glyph's bounds
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():  # TrueType wants left side bearing == xMin
        hmtx[name] = (hmtx[name][0], getattr(glyph, "xMin", 0))
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion, maxp.maxZones = 0x00010000, 1
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    font["post"].formatType = 3.0  # no glyph names (the source's are CIDs)
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def make_subset(source: Path, out: Path) -> None:
    """Subset ``source`` to :func:`code_points`, convert it to TrueType and write it to ``out``."""
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.notdef_outline = True
    options.glyph_names = False
    font = TTFont(source, recalcTimestamp=False, lazy=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=code_points())
    subsetter.subset(font)
    to_truetype(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="NotoSansCJKsc-Regular.otf (default: download the wheel)")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source or fetch_source(Path(tmp))
        if sha256(source) != SOURCE_SHA256:
            sys.exit(f"{source} is not the expected font (SHA-256 {sha256(source)}, expected {SOURCE_SHA256}).")
        make_subset(source, args.output)
    print(f"{args.output}: {args.output.stat().st_size:,} bytes, SHA-256 {sha256(args.output)}")


if __name__ == "__main__":
    main()
