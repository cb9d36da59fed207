"""Numbers and HTML fragments for readers: rounding happens here and nowhere earlier.

>>> value_text(0.9441, "proportion", "en")
'94.4%'
>>> value_text(202.1, "yuan", "zh")
'202元'
>>> value_text(float("nan"), "proportion", "en")
'—'
>>> Fragment("<p>x</p>")._repr_html_()
'<p>x</p>'
>>> Fragment("<p>x</p>")
<Fragment: 8 characters of HTML>
"""

from __future__ import annotations

import decimal
import html
import math
from typing import Any, Iterable

import pandas as pd

from .i18n import t

__all__ = ["Fragment", "value_text", "interval_text", "esc", "table_html", "comparison_cell", "COMPARISON_STYLE",
           "SUPPRESSED"]

#: What a suppressed or missing figure shows.
SUPPRESSED = "—"

#: Colours of better / similar / worse (the public-health profile convention), with a text label
#: in the cell so that the meaning survives printing in grey and colour-blind reading.
COMPARISON_STYLE = {
    "better": "background:#c6e7c9;color:#0b3d12",
    "similar": "background:#fbe7a8;color:#4a3800",
    "worse": "background:#f4c2bd;color:#5c0b05",
    "higher": "background:#cfe0f5;color:#0a2a50",
    "lower": "background:#e3d4f2;color:#331052",
    "not_compared": "background:#ececec;color:#333333",
}


class Fragment:
    """HTML that a notebook shows as HTML (and nbconvert keeps as HTML).

    Not a ``str`` itself, so that the notebook stores the section once, as HTML, and not a
    second time as its plain-text ``repr``.
    """

    __slots__ = ("html",)

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self.html):,} characters of HTML>"

    def __add__(self, other: object) -> str:
        return self.html + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + self.html

    def __contains__(self, text: str) -> bool:
        return text in self.html

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.html)


def esc(value: Any) -> str:
    """Text escaped for HTML (quotes too)."""
    return html.escape(str(value), quote=True)


def _missing(v: Any) -> bool:
    """No number to print: None, pandas' NA, NaN, or an infinity (never printed as 'nan' or 'inf')."""
    if v is None or v is pd.NA:
        return True
    try:
        return not math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def value_text(v: Any, unit: str, lang: str, *, signed: bool = False) -> str:
    """A figure rounded for reading, in the unit's convention; ``—`` when missing or suppressed."""
    if _missing(v):
        return SUPPRESSED
    v = float(v)
    sign = "+" if signed else ""
    if unit in ("proportion", "net"):
        # a finite proportion above about 1.8e306 overflows to inf when scaled: scale it exactly instead
        pct = v * 100 if math.isfinite(v * 100) else decimal.Decimal(v) * 100
        return f"{pct:{sign}.1f}%"
    if unit == "score_1_5":
        return f"{v:{sign}.2f}"
    if unit == "yuan":
        return t("unit.yuan", lang, value=f"{v:{sign},.0f}")
    return f"{v:{sign},.1f}"


def interval_text(lower: Any, upper: Any, unit: str, lang: str) -> str:
    """``lower–upper`` in the unit's convention; ``—`` when either end is missing."""
    if _missing(lower) or _missing(upper):
        return SUPPRESSED
    return f"{value_text(lower, unit, lang)}–{value_text(upper, unit, lang)}"


def comparison_cell(code: Any, lang: str) -> str:
    """A ``<td>`` with the comparison's label on its colour."""
    code = "not_compared" if _missing(code) else str(code)
    return f'<td class="cmp cmp-{esc(code)}" style="{COMPARISON_STYLE.get(code, "")}">{esc(t("compare." + code, lang))}</td>'


#: Column headings up to this many characters are never broken across lines (县（市、区）, 95%置信区间).
SHORT_HEADING = 8


def table_html(header: Iterable[str], rows: Iterable[Iterable[str]], *, caption: str | None = None,
               numeric: Iterable[int] = (), labels: Iterable[int] = (), raw: bool = False) -> str:
    """A table (the page wraps it to scroll sideways on a phone); cells are escaped unless ``raw`` (then each cell is HTML: ``<td>...``).

    ``numeric`` columns are right-aligned; ``labels`` columns hold short labels (a tier, a comparison)
    that are never broken across lines (a two-character Chinese label would otherwise stack), as are
    headings of up to :data:`SHORT_HEADING` characters."""
    numeric, labels = set(numeric), set(labels)
    short = ' class="label"'
    head = "".join(f'<th scope="col"{short if len(h) <= SHORT_HEADING else ""}>{esc(h)}</th>' for h in header)
    body = []
    for row in rows:
        if raw:
            cells = "".join(row)
        else:
            cells = "".join(f'<td class="num">{esc(c)}</td>' if i in numeric
                            else f'<td class="label">{esc(c)}</td>' if i in labels else f"<td>{esc(c)}</td>"
                            for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<table class="report-table">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')
