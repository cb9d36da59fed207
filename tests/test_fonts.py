"""The bundled CJK font: present, complete, used by matplotlib, and embedded per page."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from evalkit.errors import EvalkitError
from evalkit.report.fonts import FONT_FAMILY, font_face_css, font_path, missing_glyphs, use_in_matplotlib

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "evalkit" / "report" / "theme" / "fonts"
CHINESE = "乡镇社工站服务满意率评估报告"


def _draw(text: str) -> np.ndarray:
    fig = Figure(figsize=(4, 1), dpi=100)
    fig.text(0.02, 0.4, text, fontsize=20)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3]


def test_bundled_font_is_committed_with_its_licence_and_provenance():
    assert font_path() == FONTS / "NotoSansCJKsc-Regular.subset.ttf"
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONTS / "OFL.txt").read_text(encoding="utf-8")
    readme = (FONTS / "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(font_path().read_bytes()).hexdigest()
    assert digest in readme and "mplfonts==0.0.11" in readme and (ROOT / "tools" / "make_font.py").is_file()
    names = {r.nameID: r.toUnicode() for r in TTFont(font_path(), lazy=True)["name"].names if r.platformID == 3}
    assert names[16] == FONT_FAMILY and "Open Font License" in names[13]


def test_every_gb2312_and_catalogue_character_has_a_glyph():
    gb2312 = "".join(chr(cp) for cp in range(0x80, 0x10000) if not 0xD800 <= cp <= 0xDFFF
                     and _encodes(chr(cp)))
    catalogues = "".join(p.read_text(encoding="utf-8") for p in
                         [*(ROOT / "evalkit" / "report" / "locale").glob("*.toml"), ROOT / "evalkit" / "codes.toml",
                          ROOT / "evalkit" / "indicators.toml"])  # the registry: the indicators' texts
    assert len(gb2312) > 7000
    assert missing_glyphs(gb2312 + catalogues) == set()


def _encodes(c: str) -> bool:
    try:
        c.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def test_missing_glyphs_names_rare_characters_only():
    assert missing_glyphs("县 \n\t\u200b") == set()
    assert missing_glyphs("𠀀县\ue000") == {"𠀀", "\ue000"}


def test_matplotlib_draws_chinese_with_the_bundled_font():
    use_in_matplotlib()
    label = Figure().text(0.5, 0.5, CHINESE)
    resolved = Path(font_manager.findfont(label.get_fontproperties(), fallback_to_default=False))
    assert resolved.resolve() == font_path().resolve()
    face = FT2Font(str(resolved))
    assert all(face.get_char_index(ord(c)) != 0 for c in CHINESE)


def test_chinese_figure_text_is_not_tofu():
    use_in_matplotlib()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chinese = _draw(CHINESE)
    assert not [w for w in caught if "missing from font" in str(w.message)]
    # ideographs of the same Unicode block that no font here has: matplotlib draws them as boxes
    # (its last-resort font shows the block, so boxes of another block would look different)
    absent = "".join(sorted(missing_glyphs("".join(map(chr, range(0x4E00, 0xA000))))))[:len(CHINESE)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boxes = _draw(absent)
    assert (chinese < 128).any()  # something was drawn
    assert (chinese != boxes).any(axis=-1).mean() > 0.01  # and it is not a row of missing-glyph boxes


def test_use_in_matplotlib_is_idempotent():
    use_in_matplotlib()
    before, fonts = dict(matplotlib.rcParams), len(font_manager.fontManager.ttflist)
    use_in_matplotlib()
    assert dict(matplotlib.rcParams) == before and len(font_manager.fontManager.ttflist) == fonts
    assert matplotlib.rcParams["font.sans-serif"][:2] == [FONT_FAMILY, "DejaVu Sans"]


def _embedded(css: str) -> TTFont:
    data = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", css).group(1)
    return TTFont(io.BytesIO(base64.b64decode(data)))


def test_font_face_css_embeds_just_the_glyphs_of_the_text():
    text = "社工站评估 — “满意率” 85%"
    css = font_face_css(text)
    assert css.startswith(f"@font-face{{font-family:'{FONT_FAMILY}';") and "format('woff')" in css
    embedded = _embedded(css)
    assert "Open Font License" in embedded["name"].getDebugName(13)  # the licence travels with every copy
    cmap = set(embedded.getBestCmap())
    wanted = {ord(c) for c in text} | set(range(0x20, 0x7F))
    assert cmap == wanted
    fresh = subprocess.run([sys.executable, "-c", "import sys; from evalkit.report.fonts import font_face_css; "
                            "sys.stdout.write(font_face_css(sys.argv[1]))", text],
                           capture_output=True, text=True, check=True).stdout
    assert fresh == css  # the same bytes in another process
    assert font_face_css(text + "县") != css


def test_font_face_css_of_a_long_report_stays_small():
    gb = [chr(cp) for cp in range(0x4E00, 0x9FA6) if _encodes(chr(cp))]
    text = "".join(gb[::10][:600])
    assert len(font_face_css(text)) < 400_000


def test_another_font_can_be_named(monkeypatch, tmp_path):
    fuller = tmp_path / "fuller.ttf"
    shutil.copy(font_path(), fuller)
    monkeypatch.setenv("EVALKIT_CJK_FONT", str(fuller))
    assert font_path() == fuller
    monkeypatch.setenv("EVALKIT_CJK_FONT", str(tmp_path / "nope.otf"))
    with pytest.raises(EvalkitError, match="EVALKIT_CJK_FONT names .*nope.otf, which is not a file"):
        font_path()
