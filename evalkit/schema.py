"""Validate the four input tables and turn them into typed frames.

The data model lives in ``tables.toml`` (columns, kinds, units, rules, English
and Chinese meanings) and the code lists in ``codes.toml``; this module builds
its checks from them.  Validation runs in three passes and collects every
problem before it reports:

1. **Reading and types** (this module): missing and unexpected columns, missing
   values, codes that lost a leading zero (codes in full-width digits are read as
   ASCII, with a warning), numbers and dates that do not parse, whole numbers beyond
   int64, date ranges in one cell, Excel error values (``#N/A``), invisible and
   control characters in names, and contacts repeated in everything but the record id.
2. **Value rules** with `pandera <https://pandera.readthedocs.io>`_: ranges,
   allowed codes, unique keys and row-wise rules (certified social workers at
   most all social workers, a township code inside its county).  pandera is
   maintained, declarative, validates whole columns at once and reports every
   failing row (``lazy=True``), which is what a row-precise report needs.  Type
   parsing is done here rather than by pandera's ``coerce`` because that path is
   about 40 times slower on a 3-million-row ledger and its messages name
   pandas dtypes rather than what an evaluator typed.
3. **Across tables**: every township in stations, services and survey exists in
   regions for that year and in the stated county; dates fall inside the
   period the regions cover and not in the future; every survey stratum has at
   least two primary sampling units.

:func:`load_province` is the only door to typed data: it raises
:class:`~evalkit.errors.DataValidationError` when any error is found, so nothing
downstream can run on data that failed validation.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandera.pandas as pa

from . import _codes
from .errors import BIDI, INVISIBLE, UNSAFE, DataValidationError, InputError, Problem, escape_controls
from .io import RawTable, find_table, read_raw, replace_section
from .personal import (  # noqa: F401  (the patterns and is_resident_id: for callers that imported them here)
    DIGITS_PREFILTER, IDENTIFIER_PREFILTER, LANDLINE_PATTERN, MOBILE_PATTERN, identifier_kind, is_resident_id,
)

__all__ = [
    "TABLES",
    "OPTIONAL_TABLES",
    "one_province",
    "Province",
    "codes",
    "table_spec",
    "validate_table",
    "validate_province",
    "load_province",
    "codebook_markdown",
    "update_codebook",
    "load_inspections",
    "load_optional",
]

#: The input tables, in the order they are read and validated.
TABLES = ("regions", "stations", "services", "survey")

#: Tables read and validated when present, but not part of a :class:`Province` (the roster of names
#: that :mod:`evalkit.privacy` scrubs from free text and looks for in outputs; the reviewed list of
#: survey comments an evaluator approved for publication, :func:`evalkit.indicators.comments`).
OPTIONAL_TABLES = ("roster", "comments_reviewed", "inspections")

#: Likert answer codes that are answers (1-5) and explicit non-answers (8, 9).
LIKERT_VALID = (1, 2, 3, 4, 5)
LIKERT_MISSING = {8: "dont_know", 9: "refused"}

#: Examples of each problem kept per file, column and rule; the rest are counted.
MAX_EXAMPLES = 50

#: Lonely-PSU rules accepted in dataset.json (as R's survey.lonely.psu).
LONELY_PSU_RULES = ("fail", "adjust", "remove", "certainty", "average")


@cache
def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("evalkit").joinpath(name).read_text(encoding="utf-8"))


def codes(list_name: str) -> dict[str, dict[str, str]]:
    """Return a code list from ``codes.toml``: ``{code: {"en": label, "zh": label}}``.

    Examples
    --------
    >>> codes("urban_rural")["rural"]["zh"]
    '农村'
    """
    return _toml("codes.toml")[list_name]


def table_spec(table: str) -> dict[str, Any]:
    """Return the specification of one table from ``tables.toml``."""
    return _toml("tables.toml")[table]


# --------------------------------------------------------------------------- collecting problems


@dataclass
class _Collector:
    """Collect problems for one file, keeping a bounded number of examples per rule."""

    file: str
    rows: pd.Series
    problems: list[Problem] = field(default_factory=list)
    sheets: pd.Series | None = None  # the sheet of every row, for a table read from several sheets

    def where(self, i: int) -> str:
        """The file (and sheet) of row position ``i``, as messages name it."""
        return self.file if self.sheets is None else f"{self.file} (sheet '{self.sheets.iloc[i]}')"

    def add(self, mask: pd.Series, column: str | None, rule: str, values: pd.Series | None,
            message: Callable[..., str], severity: str = "error", context: pd.Series | None = None) -> None:
        """Record a problem for every row where ``mask`` is true (vectorised).

        ``message`` is called with the row's value, and with the row's ``context``
        value as a second argument when a context series is given.
        """
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if idx.size == 0:
            return
        for i in idx[:MAX_EXAMPLES]:
            v = None if values is None else _show(values.iloc[i])
            text = message(v) if context is None else message(v, _show(context.iloc[i]))
            self.problems.append(Problem(self.where(i), int(self.rows.iloc[i]), column, v, rule, text, severity))
        if idx.size > MAX_EXAMPLES:
            more = idx.size - MAX_EXAMPLES
            self.problems.append(Problem(self.file, None, column, None, rule,
                                         f"... and {more} more row(s) break the same rule "
                                         f"(first {MAX_EXAMPLES} listed).", severity))

    def whole(self, rule: str, message: str, column: str | None = None, value: str | None = None,
              row: int | None = None, severity: str = "error") -> None:
        self.problems.append(Problem(self.file, row, column, value, rule, message, severity))


def _show(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return str(v)[:10]
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, float):
        return repr(float(v))
    return printable(str(v))


#: Longest value a message shows in full; longer ones are cut, with an ellipsis.
SHOWN_LENGTH = 100
#: Longest value of a ``text`` column unless the codebook gives it a ``max_length``.
TEXT_MAX_LENGTH = 100
#: Bidirectional embedding, override and isolate controls: invisible, they make text display in an
#: order other than the one it is stored in (a name could show as another, "Trojan Source").
_BIDI = BIDI
#: Characters that show as nothing (zero-width space, non-joiner and joiner, the byte-order mark inside
#: text, the tag characters): two names that look the same would differ.  Refused in one-line text (names);
#: a comment may hold them (emoji sequences use the joiner and tags) and the privacy scrub reads through them.
_INVISIBLE = INVISIBLE
#: Characters that act rather than show: C0 and C1 controls (line breaks and tabs among them), DEL,
#: the Unicode line and paragraph separators and the bidirectional controls.
_UNSAFE = UNSAFE  # the same characters that messages escape (evalkit.errors)
_LINE_BREAK = "[\\n\\r\\x0b\\x0c\\x85\u2028\u2029]"
#: What a multi-line text may hold besides: line feed, carriage return and tab.
_UNSAFE_MULTILINE = f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\u2028\u2029{_BIDI}]"
_CONTROL_NAMES = {"\t": "CHARACTER TABULATION", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x0b": "LINE TABULATION",
                  "\x0c": "FORM FEED", "\x00": "NULL", "\x1b": "ESCAPE", "\x7f": "DELETE", "\x85": "NEXT LINE"}


def printable(text: str) -> str:
    """``text`` safe to print in a message: control, line-break and bidirectional-control characters
    written as escapes (``\\n``, ``\\u202e``), and cut to :data:`SHOWN_LENGTH` characters.

    >>> printable("Qingxin\\u202eDistrict\\n")
    'Qingxin\\\\u202eDistrict\\\\n'
    """
    escaped = escape_controls(text)
    return escaped if len(escaped) <= SHOWN_LENGTH else escaped[:SHOWN_LENGTH - 1] + "…"


def _char_name(text: str, pattern: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the first character of ``text`` matching ``pattern``."""
    ch = re.search(pattern, text).group()
    name = unicodedata.name(ch, _CONTROL_NAMES.get(ch, ""))
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


# --------------------------------------------------------------------------- pass 1: types


def _as_text(s: pd.Series) -> pd.Series:
    """Cells as strings (Parquet and Excel may hand over numbers), missing kept missing.

    The result keeps pandas' string dtype, so the pattern checks run vectorised in Arrow.
    """
    if isinstance(s.dtype, pd.StringDtype):
        return s
    if pd.api.types.is_float_dtype(s):
        s = s.map(lambda v: _show(v) if pd.notna(v) else None)
    out = s.astype("str")
    return out.mask(s.isna())


def _distinct(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The distinct values of ``text`` and, per row, the position of its value among them (-1 where missing).

    Codes and code lists hold millions of rows but at most a few thousand distinct values.  A rule
    checked on the distinct values and spread back with :func:`_spread` costs one hashing pass over the
    rows instead of one regular-expression pass per rule (pyarrow's regex costs about 0.1 microsecond a
    row).  The same pandas string methods run on the distinct values as ran on the rows, so the
    answers are the same.
    """
    positions, values = text.factorize()
    return positions, pd.Series(values, dtype=text.dtype)


def _spread(flags: pd.Series | np.ndarray, positions: np.ndarray, missing: bool = False) -> np.ndarray:
    """One boolean per distinct value (see :func:`_distinct`) as one per row; missing cells get ``missing``."""
    # a missing cell has position -1, which picks the value appended at the end
    return np.append(np.asarray(flags, dtype=bool), missing)[positions]


def _categorical(positions: np.ndarray, values: pd.Series, index: pd.Index) -> pd.Series:
    """Rows holding ``values[positions]`` (missing at -1), as a categorical of those values.

    The typed frame keeps codes and code lists in this form until :func:`_finalise`, so pandera's
    checks on them (allowed codes, a code inside its parent's, unique keys) compare a few thousand
    distinct values rather than millions of strings.
    """
    return pd.Series(pd.Categorical.from_codes(positions, dtype=pd.CategoricalDtype(values)), index=index)


def _ascii_digits(v: str) -> str:
    """``v`` with every Unicode decimal digit (full-width ０-９, Arabic-Indic, Devanagari, ...) as its ASCII digit."""
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii() and unicodedata.category(ch) == "Nd" else ch
                   for ch in v)


def _parse_code(s: pd.Series, col: dict, c: _Collector) -> pd.Series:
    """Codes with exactly ``digits`` digits, as a categorical of the codes found (see :func:`_categorical`).

    Digits of other scripts (full-width ``０９０１０２``, as Chinese input methods type them) are read as
    ASCII digits, with one warning per column giving the count; any other non-ASCII character (a
    zero-width space, a full-width letter) is refused naming the cell and the character.
    """
    n = col["digits"]
    text = _as_text(s)
    positions, values = _distinct(text)
    foreign = values.str.contains(r"[^\x00-\x7f]", regex=True).fillna(False).astype(bool)
    if foreign.any():
        converted = values.copy()
        converted[foreign] = values[foreign].map(_ascii_digits)
        digits_only = foreign & converted.str.fullmatch(r"[\x00-\x7f]*").fillna(False).astype(bool)
        rows = _spread(digits_only, positions)
        if rows.any():
            first = int(np.flatnonzero(rows)[0])
            c.problems.append(Problem(
                c.where(first), int(c.rows.iloc[first]), col["name"], _show(text.iloc[first]), "code_unicode_digits",
                f"{int(rows.sum()):,} code(s) are written with full-width or other non-ASCII digits (the first, "
                f"'{_show(text.iloc[first])}' on this row); they were read as ASCII digits "
                f"('{_ascii_digits(str(text.iloc[first]))}'). Retype the column in ASCII digits (半角数字) to "
                "silence this warning.", "warning"))
        odd = _spread(foreign & ~digits_only, positions)
        what = pd.Series(None, index=text.index, dtype=object)
        what[odd] = text[odd].astype(object).map(lambda v: _char_name(_ascii_digits(v), r"[^\x00-\x7f]"))
        c.add(odd, col["name"], "code_character", text, context=what, message=lambda v, ch: (
            f"code '{v}' contains the character {ch}; codes are {n} ASCII digits: retype the code."))
        # the same code written in two scripts is one code: factorise the converted values again
        renumbered, values = pd.factorize(converted.where(~(foreign & ~digits_only)))
        positions = np.where(positions >= 0, renumbered[np.maximum(positions, 0)], -1)
        values = pd.Series(values, dtype=text.dtype)
        text = text.where(pd.Series(~odd, index=text.index))
        text = pd.Series(values.to_numpy()[positions], index=text.index, dtype=text.dtype).where(positions >= 0, text)
    ok = _spread(values.str.fullmatch(rf"\d{{{n}}}").fillna(False).astype(bool), positions, missing=True)
    if not ok.all():
        short = _spread(values.str.fullmatch(rf"\d{{{max(1, n - 3)},{n - 1}}}").fillna(False).astype(bool),
                        positions) & ~ok
        numeric = _spread(values.str.fullmatch(r"\d+\.0+").fillna(False).astype(bool), positions) & ~ok
        other = ~ok & ~short & ~numeric & text.notna().to_numpy()
        c.add(short, col["name"], "code_leading_zero", text,
              lambda v: f"code '{v}' has {len(v)} digits instead of {n}: a leading zero was probably dropped "
                        f"(Excel does this to numbers); format the column as Text and enter the code with its "
                        f"zeros, e.g. '{v.zfill(n)}'.")
        c.add(numeric, col["name"], "code_format", text,
              lambda v: f"code '{v}' was stored as a decimal number; codes are {n} digits written as text.")
        c.add(other, col["name"], "code_format", text,
              lambda v: f"'{v}' is not a {n}-digit code (digits only, leading zeros kept).")
    return _categorical(np.where(ok, positions, -1), values, text.index)


def _parse_number(s: pd.Series, col: dict, c: _Collector, integer: bool) -> pd.Series:
    name = col["name"]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        num = s.astype("float64")
        bad = pd.Series(False, index=s.index)
        text = s
    else:
        text = _as_text(s)
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = num.isna() & text.notna()
        thousands = bad & text.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?").fillna(False).astype(bool)
        c.add(thousands, name, "number_format", text,
              lambda v: f"'{v}' has a thousands separator; write numbers without commas ('{v.replace(',', '')}').")
        bad &= ~thousands
        kind = "a whole number" if integer else "a number"
        c.add(bad, name, "not_a_number", text, lambda v: f"'{v}' is not {kind}.")
        bad |= thousands
    if integer:
        frac = num.notna() & np.isfinite(num) & (num != np.round(num))
        c.add(frac, name, "not_whole", text, lambda v: f"'{v}' is not a whole number.")
        bad |= frac
    inf = num.notna() & ~np.isfinite(num)
    c.add(inf, name, "not_a_number", text, lambda v: f"'{v}' is not a finite number.")
    if integer:  # 2**63 and above do not fit a 64-bit whole number (and lose digits as a float long before)
        huge = num.notna() & np.isfinite(num) & (num.abs() >= 2.0 ** 63)
        c.add(huge, name, "integer_overflow", text, lambda v: (
            f"'{v}' is beyond the largest whole number evalkit can hold (about 9.2 x 10^18)"
            + (f"; '{name}' must be {_range_text(col)}." if _range_text(col) else ".")))
        inf |= huge
    return num.where(~bad & ~inf)


#: Earliest and latest dates a typed table can hold (pandas' nanosecond timestamps: 1677-09-21 to 2262-04-11).
DATE_BOUNDS = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))
#: One date, optionally with a time of day (Excel and Parquet give midnight): nothing else in the cell.
_DATE = r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
#: A date as people write it (2025-01-01, 2025/1/1, 2025.1.1, 2025年1月1日): two in one cell make a range.
_ANY_DATE = r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}"


def _parse_date(s: pd.Series, col: dict, c: _Collector) -> pd.Series:
    """Dates written YYYY-MM-DD (or with '/', one-digit months and days, a time of day), or Parquet
    dates and time-zone-naive timestamps.

    Refused, naming the cell: date ranges in one cell (``2025-01-01至2025-06-30``), anything else
    that is not one date, dates pandas cannot hold (before 1678 or after 2261), and time-zone-aware
    timestamps (a date in UTC may be the day before the local one).  The rules look at each distinct
    text once (a ledger has millions of rows but a few thousand days).
    """
    name = col["name"]
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        first = np.flatnonzero(s.notna().to_numpy())[:1]
        mask = np.zeros(len(s), dtype=bool)
        mask[first] = True
        n = int(s.notna().sum())
        c.add(mask, name, "date_time_zone", s.dt.tz_localize(None), lambda v: (
            f"holds time-zone-aware timestamps ({s.dt.tz}) in {n:,} row(s), the first {v}; a date in one time zone "
            "can be another day in another, so evalkit takes plain dates: write the column as dates (Parquet "
            "date32) or as local times without a time zone."))
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
        text = s
    else:
        text = _as_text(s)
        positions, values = _distinct(text)
        parts = values.str.extract(f"^{_DATE}$")
        ranged = values.str.count(_ANY_DATE).fillna(0).astype(int) >= 2
        iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
        parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
        c.add(_spread(ranged, positions), name, "date_range", text, lambda v: (
            f"'{v}' is a range of dates in one cell; '{name}' takes one date (YYYY-MM-DD): write the date of "
            "the event itself, one row per event."))
        c.add(_spread(parsed.isna() & ~ranged, positions), name, "date_format", text,
              lambda v: f"'{v}' is not a date; write dates as YYYY-MM-DD (e.g. 2024-03-15).")
        out = pd.Series(parsed.to_numpy()[positions], index=text.index).where(positions >= 0)
        out = out.where(pd.Series(_spread(~ranged, positions), index=text.index))
    far = out.notna() & ((out < DATE_BOUNDS[0]) | (out > DATE_BOUNDS[1]))
    c.add(far, name, "date_out_of_range", text if text is not s else out, lambda v: (
        f"the date {v} is outside the dates evalkit can hold ({DATE_BOUNDS[0].year} to {DATE_BOUNDS[1].year}); "
        "check the year."))
    return out.where(~far).astype("datetime64[ns]")


def _parse_category(s: pd.Series, col: dict) -> pd.Series:
    """Values of a code list, as a categorical of the values found; pandera checks they are allowed."""
    allowed = list(codes(col["codes"]))
    text = _as_text(s)
    if all(_is_float(a) for a in allowed):  # service level "2.0" may arrive as 2 or "2"
        as_num = pd.to_numeric(text, errors="coerce")
        text = text.where(as_num.isna(), as_num.map(lambda v: f"{v:.1f}" if pd.notna(v) else None))
    positions, values = _distinct(text)
    return _categorical(positions, values, text.index)


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _mask(result: pyarrow.ChunkedArray | pyarrow.Array) -> np.ndarray:
    """A pyarrow boolean result as a numpy mask, missing as False."""
    return np.asarray(pc.fill_null(result, False), dtype=bool)


def _plain_ids(text: pd.Series) -> np.ndarray:
    """Rows holding an ASCII letter followed by 2 to 63 ASCII letters, digits, '_', '.' or '-'
    ("P0000012345", "S2023-090102001-001").

    Such a value has the shape of a pseudonym and cannot be personal data: identity and phone numbers
    begin with a digit, '+' or '(' even once :func:`_personal_or_malformed` has removed their separators
    (a letter is not one), and it has no Chinese character.  Most ids look like this, so the five
    patterns of :func:`_personal_or_malformed` run only on the other rows.  The commonest form, letters
    and digits only, is found with pyarrow's character-class kernels, about twice as fast as one
    pattern; the pattern looks at the rest.
    """
    arr = pyarrow.array(text)  # the Arrow array under pandas' string dtype, not a copy
    length = pc.utf8_length(arr)
    first_is_letter = pc.ascii_is_alpha(pc.utf8_slice_codeunits(arr, 0, 1))
    plain = (_mask(pc.ascii_is_alnum(arr)) & _mask(first_is_letter)
             & _mask(pc.greater_equal(length, 3)) & _mask(pc.less_equal(length, 64)))
    rest = text.notna().to_numpy() & ~plain
    if rest.any():
        plain[rest] = text[rest].str.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]{2,63}").fillna(False).astype(bool).to_numpy()
    return plain & ~_suspect_plain(text, plain)


#: Plain ids (a letter first) that can still be personal data: WeChat ids (wxid_...), cued QQ or WeChat
#: ids, a pinyin name written as one word (WangFang).  Only these go through the detectors.
_PLAIN_SUSPECT = r"^(?i:wxid_|qq|vx|wx|wechat|weixin)|^[A-Z][a-z]{1,5}[A-Z][a-z]{1,11}$"


def _suspect_plain(text: pd.Series, plain: np.ndarray) -> np.ndarray:
    """Ids of the plain shape that could still be personal data to the scan's detectors: a WeChat or
    QQ id or a pinyin name (:data:`_PLAIN_SUSPECT`: only ids beginning with w, q or v, or without a
    digit, can match), or digits after a separator where a digit detector could fire (``a-13800138000``:
    :data:`evalkit.personal.IDENTIFIER_PREFILTER`; digits joined to a letter never can).  pyarrow's
    kernels pick the rows; the patterns look at them alone."""
    arr = pyarrow.array(text)
    first = pc.utf8_lower(pc.utf8_slice_codeunits(arr, 0, 1))
    maybe = plain & (_mask(pc.is_in(first, pyarrow.array(["w", "q", "v"]))) | _mask(pc.ascii_is_alpha(arr)))
    separated = plain & ~_mask(pc.ascii_is_alnum(arr))
    out = np.zeros(len(text), dtype=bool)
    if maybe.any():
        idx = np.flatnonzero(maybe)
        out[idx] = _mask(pc.match_substring_regex(pyarrow.array(text.iloc[idx]), _PLAIN_SUSPECT))
    if separated.any():
        idx = np.flatnonzero(separated)
        out[idx] |= _mask(pc.match_substring_regex(pyarrow.array(text.iloc[idx]),
                                                   r"[-_.](?:" + IDENTIFIER_PREFILTER + ")"))
    return out


def _personal_kinds(text: pd.Series) -> pd.Series:
    """The kind of personal data (:func:`evalkit.personal.identifier_kind`) each id is, or ``None``.

    The detectors are the ones the scrub and the output scan use, so an id that validation accepts is
    never one the scan calls a phone, identity number, bank card, WeChat or QQ id, plate or name.  They
    run in Python on the distinct values that could be personal data: digits (and separators) where a
    digit detector could fire (:data:`evalkit.personal.IDENTIFIER_PREFILTER`), ids
    with other characters (letters after a digit, Chinese, '@'), and suspect plain ids
    (:data:`_PLAIN_SUSPECT`); the rest cannot match any detector.
    """
    kinds = pd.Series(None, index=text.index, dtype=object)
    present = text.notna()
    if not present.any():
        return kinds
    arr = pyarrow.array(text)
    digits_only = _mask(pc.match_substring_regex(arr, r"^[0-9]+$"))
    length = np.asarray(pc.fill_null(pc.utf8_length(arr), 0))
    long_digits = digits_only & (length >= 11) & _mask(pc.match_substring_regex(arr, DIGITS_PREFILTER))
    plain_letters_digits = _mask(pc.match_substring_regex(arr, r"^[A-Za-z][A-Za-z0-9]*$"))
    suspect_plain = _mask(pc.match_substring_regex(arr, _PLAIN_SUSPECT))
    # digits and separators only, with fewer than 10 digits (2023-090102-001 is 13, 0901-05 is 6): no phone,
    # identity or card number has so few digits, and the cued kinds need letters or Chinese characters
    separated_digits = _mask(pc.match_substring_regex(arr, r"^[0-9 ._()+\-·]+$"))
    number_shaped = _mask(pc.match_substring_regex(arr, IDENTIFIER_PREFILTER))
    candidate = present.to_numpy() & ((~digits_only & ~plain_letters_digits & ~(separated_digits & ~number_shaped))
                                      | long_digits | suspect_plain)
    if candidate.any():
        values = text[candidate].astype(object)
        found = {v: identifier_kind(v) for v in pd.unique(values)}
        kinds[candidate] = values.map(found).to_numpy()
    return kinds


def _personal_or_malformed(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, pd.Series]:
    """Which ids look like a resident identity number, a phone number, a name in Chinese, are otherwise
    not ids, or are another kind of personal data (masks over ``text``'s index, in that order).

    Identity numbers, phones and the other kinds come from :func:`_personal_kinds`: the one definition
    of personal data in :mod:`evalkit.personal`."""
    shaped = text.str.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{2,63}").fillna(False).astype(bool)
    kinds = _personal_kinds(text)
    idnum = kinds.isin(["id_number", "id_like"])
    phone = kinds.eq("phone")
    personal = kinds.notna() & ~idnum & ~phone
    odd = text.notna() & ~shaped  # only these few rows need the slow Unicode test
    chinese = pd.Series(False, index=text.index)
    if odd.any():
        chinese[odd] = text[odd].astype(object).str.contains("[\u4e00-\u9fff]", regex=True)
    personal &= ~chinese
    other = odd & ~chinese & ~phone & ~idnum & ~personal
    return idnum, phone, chinese, other, personal


_KIND_WORDS = {"bank_card": "a bank card number", "wechat": "a WeChat id", "qq": "a QQ number",
               "plate": "a licence plate", "email": "an e-mail address", "name": "a name in pinyin",
               "address": "an address"}


def _parse_pseudonym(s: pd.Series, col: dict, c: _Collector) -> pd.Series:
    text = _as_text(s)
    name = col["name"]
    idnum, phone, chinese, other, personal = (pd.Series(False, index=text.index) for _ in range(5))
    rest = text.notna().to_numpy() & ~_plain_ids(text)  # plain ids pass every test below
    if rest.any():
        masks = _personal_or_malformed(text[rest])
        for mask, found in zip((idnum, phone, chinese, other, personal), masks):
            mask[rest] = found.to_numpy()
    msg = "must be a pseudonymous id; never a resident identity number, phone number or name."
    c.add(idnum, name, "personal_data", None, lambda v: f"looks like a resident identity number: {msg}")
    c.add(phone, name, "personal_data", None, lambda v: f"looks like a phone number: {msg}")
    c.add(chinese, name, "personal_data", None, lambda v: f"contains Chinese characters (a name?): {msg}")
    if personal.any():
        kinds = pd.Series(None, index=text.index, dtype=object)
        kinds[personal] = _personal_kinds(text[personal]).to_numpy()
        for kind, words in _KIND_WORDS.items():
            c.add(personal & kinds.eq(kind), name, "personal_data", None,
                  lambda v, words=words: f"looks like {words}: {msg}")
    c.add(other, name, "pseudonym_format", text,
          lambda v: f"'{v[:40]}' is not a valid id: 3 to 64 letters, digits, '_', '.' or '-'.")
    return text.where(~(idnum | phone | chinese | other | personal), None)


def _parse_text(s: pd.Series, col: dict, c: _Collector) -> pd.Series:
    """Free text (names, comments): shown to readers as literal text, so it must show what it says.

    Refused: line breaks (unless the column is ``multiline``), other control characters,
    bidirectional controls, and more than ``max_length`` characters (:data:`TEXT_MAX_LENGTH`).
    HTML, quotes and template syntax are ordinary characters here: every page escapes them.
    """
    text = _as_text(s)
    name = col["name"]
    limit = int(col.get("max_length", TEXT_MAX_LENGTH))
    multiline = bool(col.get("multiline", False))
    # every refused character lies outside printable ASCII, where most ids and pinyin names lie whole:
    # the pattern looks only at the other rows (pyarrow's test is ten times faster than the regex)
    suspect = text.notna().to_numpy() & ~_mask(pc.ascii_is_printable(pyarrow.array(text)))
    unsafe = pd.Series(False, index=text.index)
    if suspect.any():
        pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE
        unsafe[suspect] = text[suspect].str.contains(pattern, regex=True).fillna(False).astype(bool).to_numpy()
    length = text.str.len()
    too_long = (length > limit).fillna(False).astype(bool)
    if unsafe.any():
        bidi = pd.Series(False, index=text.index)
        bidi[unsafe] = text[unsafe].str.contains(f"[{_BIDI}]", regex=True).astype(bool)
        breaks = pd.Series(False, index=text.index)
        if not multiline:
            breaks[unsafe] = text[unsafe].str.contains(_LINE_BREAK, regex=True).astype(bool)
        breaks &= ~bidi
        invisible = pd.Series(False, index=text.index)
        if not multiline:
            invisible[unsafe] = text[unsafe].str.contains(f"[{_INVISIBLE}]", regex=True).astype(bool)
        invisible &= ~bidi & ~breaks
        other = unsafe & ~bidi & ~breaks & ~invisible
        raw = text.astype(object)
        what = pd.Series(None, index=text.index, dtype=object)
        for mask, pattern in ((bidi, f"[{_BIDI}]"), (breaks, _LINE_BREAK), (invisible, f"[{_INVISIBLE}]"),
                              (other, _UNSAFE_MULTILINE if multiline else _UNSAFE)):
            what[mask] = raw[mask].map(lambda v, pattern=pattern: _char_name(v, pattern))
        c.add(bidi, name, "text_bidi_control", text, context=what, message=lambda v, ch: (
            f"'{v}' contains the invisible bidirectional control {ch}, which makes text display in an order "
            "other than the one it is written in; delete it (retype the text)."))
        c.add(breaks, name, "text_line_break", text, context=what, message=lambda v, ch: (
            f"'{v}' contains a line break ({ch}); '{name}' must be one line: remove the line break "
            "(in Excel, Alt+Enter makes one)."))
        c.add(invisible, name, "text_invisible_character", text, context=what, message=lambda v, ch: (
            f"'{v}' contains the invisible character {ch}, so it differs from the same name typed without it; "
            "delete it (retype the text)."))
        c.add(other, name, "text_control_character", text, context=what, message=lambda v, ch: (
            f"'{v}' contains the invisible control character {ch}; delete it."))
    c.add(too_long & ~unsafe, name, "text_too_long", text, context=length, message=lambda v, n: (
        f"'{v[:40]}…' is {n} characters long; '{name}' takes at most {limit}."))
    return text.where(~(unsafe | too_long), None)


def _parse_column(s: pd.Series, col: dict, c: _Collector) -> pd.Series:
    kind = col["kind"]
    if kind == "code":
        return _parse_code(s, col, c)
    if kind in ("int", "likert"):
        return _parse_number(s, col, c, integer=True)
    if kind == "float":
        return _parse_number(s, col, c, integer=False)
    if kind == "date":
        return _parse_date(s, col, c)
    if kind == "category":
        return _parse_category(s, col)
    if kind == "pseudonym":
        return _parse_pseudonym(s, col, c)
    if kind == "text":
        return _parse_text(s, col, c)
    return _as_text(s)


# --------------------------------------------------------------------------- pass 2: pandera rules


def _allowed_text(col: dict) -> str:
    if col["kind"] == "likert":
        return "1-5, 8 (don't know) or 9 (refused)"
    allowed = list(codes(col["codes"]))
    if len(allowed) > 8:
        return f"{allowed[0]}-{allowed[-1]} (see the codebook)"
    return ", ".join(allowed)


def _range_text(col: dict) -> str:
    parts = []
    if "min_exclusive" in col:
        parts.append(f"greater than {col['min_exclusive']}")
    if "min" in col:
        parts.append(f"at least {col['min']}")
    if "max" in col:
        parts.append(f"at most {col['max']}")
    return " and ".join(parts)


def _pandera_schema(table: str, present: list[str]) -> tuple[pa.DataFrameSchema, dict[str, tuple]]:
    """Build the pandera schema for the typed frame and a map rule -> (column, message)."""
    import pandera.pandas as pa  # here, not on import: reading a cached table needs no validator

    spec = table_spec(table)
    columns: dict[str, pa.Column] = {}
    rules: dict[str, tuple[str | None, Callable[[str], str]]] = {}
    wide: list[pa.Check] = []
    for col in spec["columns"]:
        name = col["name"]
        if name not in present:
            continue
        checks = []
        if any(k in col for k in ("min", "max", "min_exclusive")):
            rule = f"range:{name}"
            lo = col.get("min", col.get("min_exclusive"))
            checks.append(pa.Check.in_range(lo if lo is not None else -np.inf, col.get("max", np.inf),
                                            include_min="min_exclusive" not in col, error=rule))
            rules[rule] = (name, lambda v, col=col: f"{v} is out of range: must be {_range_text(col)}.")
        if col["kind"] in ("category", "likert"):
            allowed = list(LIKERT_VALID) + list(LIKERT_MISSING) if col["kind"] == "likert" else list(codes(col["codes"]))
            rule = f"allowed:{name}"
            checks.append(pa.Check.isin(allowed, error=rule))
            rules[rule] = (name, lambda v, col=col: f"'{v}' is not an allowed value; allowed: {_allowed_text(col)}.")
        columns[name] = pa.Column(checks=checks, nullable=True, required=False,
                                  unique=bool(col.get("unique")), report_duplicates="exclude_first")
        if col.get("unique"):
            rules["field_uniqueness"] = (name, lambda v, name=name: f"'{v}' appears more than once; "
                                         f"{name} must be unique.")
        if "at_most" in col and col["at_most"] in present:
            other = col["at_most"]
            rule = f"at_most:{name}"
            wide.append(pa.Check(lambda d, a=name, b=other: ~(d[a] > d[b]), name=rule))
            rules[rule] = (name, lambda v, name=name, other=other: f"{name} ({v}) is larger than {other}.")
        if "starts_with" in col and col["starts_with"] in present:
            parent = col["starts_with"]
            rule = f"starts_with:{name}"
            width = next(c["digits"] for c in spec["columns"] if c["name"] == parent)
            wide.append(pa.Check(lambda d, a=name, b=parent, width=width: _begins_with(d[a], d[b], width),
                                 name=rule))
            rules[rule] = (name, lambda v, ctx, name=name, parent=parent: f"{name} {v} does not begin with "
                           f"this row's {parent} {ctx}, so it lies in another area; check both codes.", parent)
    key = spec["key"]
    unique = key if len(key) > 1 and all(k in present for k in key) else None
    if unique:
        rules["multiple_fields_uniqueness"] = (key[0], lambda v, key=key: f"the combination of "
                                               f"{' and '.join(key)} appears more than once; each must be unique.")
    return pa.DataFrameSchema(columns, checks=wide, unique=unique, report_duplicates="exclude_first"), rules


def _begins_with(child: pd.Series, parent: pd.Series, width: int) -> pd.Series:
    """Rows where the code in ``child`` begins with the ``width``-character code in ``parent``, or either
    is missing.

    Both are categoricals of the codes found (see :func:`_categorical`): the prefix of each distinct
    child code is looked up once among the parent codes, and the rows compare positions.
    """
    prefix = pd.Series(child.cat.categories).str.slice(0, width)
    found_at = parent.cat.categories.get_indexer(prefix)  # -1: no parent code is this prefix
    a, b = child.cat.codes.to_numpy(), parent.cat.codes.to_numpy()
    # a missing child (code -1) picks the -1 appended at the end, and counts as a match anyway
    ok = (a < 0) | (b < 0) | (np.append(found_at, -1)[a] == b)
    return pd.Series(ok, index=child.index)


def _run_pandera(table: str, typed: pd.DataFrame, c: _Collector, raw: pd.DataFrame) -> None:
    import pandera.pandas as pa

    schema, rules = _pandera_schema(table, list(typed.columns))
    try:
        schema.validate(typed, lazy=True)
        return
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["index"].notna()].copy()
    cases["index"] = cases["index"].astype(int)
    for rule, group in cases.groupby("check", sort=False):
        column, message, *parent = rules.get(rule, (None, lambda v, rule=rule: f"breaks the rule {rule}."))
        if rule.startswith(("at_most:", "starts_with:", "multiple_fields")):
            group = group[group["column"] == column] if (group["column"] == column).any() else group
        if rule == "field_uniqueness":
            for col_name, g in group.groupby("column"):
                _add_cases(c, g, col_name, "unique", lambda v, col_name=col_name:
                           f"'{v}' appears more than once; {col_name} must be unique.", raw, typed)
            continue
        rule_id = rule.split(":")[0]
        rule_id = {"multiple_fields_uniqueness": "unique_key", "allowed": "allowed_codes"}.get(rule_id, rule_id)
        _add_cases(c, group, column, rule_id, message, raw, typed, parent[0] if parent else None)


def _add_cases(c: _Collector, group: pd.DataFrame, column: str | None, rule: str,
               message: Callable[..., str], raw: pd.DataFrame, typed: pd.DataFrame,
               context: str | None = None) -> None:
    idx = np.unique(group["index"].to_numpy())
    mask = np.zeros(len(typed), dtype=bool)
    mask[idx] = True
    values = raw[column] if column in raw.columns else None
    c.add(pd.Series(mask), column, rule, values, message, context=raw[context] if context else None)


# --------------------------------------------------------------------------- one table


def _typed_dtype(col: dict) -> str:
    return {"int": "int64", "likert": "int64", "float": "float64", "date": "datetime64[ns]"}.get(col["kind"], "str")


def validate_table(raw: RawTable, table: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Check one table read by :func:`evalkit.io.read_raw`; return its typed frame and the problems.

    The frame is only meaningful when no problem has severity ``"error"``.
    Columns come back in codebook order with codebook types: codes and text
    as strings (leading zeros kept), counts as ``int64``, amounts as
    ``float64``, dates as ``datetime64[ns]`` and code lists as categoricals.
    """
    spec = table_spec(table)
    c = _Collector(raw.file, raw.rows, sheets=raw.sheets)
    c.problems.extend(raw.notes)
    cols = {col["name"]: col for col in spec["columns"]}
    frame = raw.frame
    for name, col in cols.items():
        if name not in frame.columns and col.get("required", True):
            close = difflib.get_close_matches(name, [str(x) for x in frame.columns if x not in cols], n=1)
            hint = f" (is '{close[0]}' meant to be '{name}'?)" if close else ""
            c.whole("missing_column", f"the required column '{name}' is missing{hint}.", column=name,
                    row=raw.header_row)
    for extra in [x for x in frame.columns if x not in cols]:
        close = difflib.get_close_matches(str(extra), list(cols), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; remove it or see the codebook in data/README.md."
        c.whole("unexpected_column", f"the column '{printable(str(extra))}' is not part of the {table} table{hint}",
                column=printable(str(extra)), value=printable(str(extra)), row=raw.header_row)

    typed: dict[str, pd.Series] = {}
    for name, col in cols.items():
        if name not in frame.columns:
            continue
        s = frame[name]
        if not col.get("nullable", False):
            c.add(s.isna(), name, "missing_value", None, lambda v, name=name: f"a value is required in '{name}'.")
        s = _without_excel_errors(s, name, c)
        typed[name] = _parse_column(s, col, c)
    typed_frame = pd.DataFrame(typed, index=frame.index)
    _run_pandera(table, typed_frame, c, frame)
    if table == "services":
        _repeated_contacts(typed_frame, c, frame)
    return _finalise(typed_frame, cols), c.problems


#: Share of a township's contacts that may repeat another contact before it is an error, not a warning.
REPEATED_CONTACTS_LIMIT = 0.01
_CONTACT = ("date", "county_code", "township_code", "person_id", "person_group", "service_item", "mode", "minutes")


def _integer_key(parts: list[np.ndarray]) -> np.ndarray | None:
    """Non-negative integer columns packed into one int64 per row, or None when they need more than 63 bits."""
    widths = [max(int(p.max()), 1).bit_length() if p.size else 1 for p in parts]
    if sum(widths) > 63:
        return None
    key = parts[0].astype(np.int64)  # a copy, shifted and or-ed in place: no temporary arrays
    for p, w in zip(parts[1:], widths[1:]):
        key <<= w
        key |= p
    return key


def _repeated_contacts(typed: pd.DataFrame, c: _Collector, raw: pd.DataFrame) -> None:
    """Contacts that repeat an earlier contact in every column but ``record_id`` (a ledger imported twice).

    Reported with their count and first rows: a warning, or an error naming each township where they are
    more than :data:`REPEATED_CONTACTS_LIMIT` of its contacts.  Two contacts of one person on one day,
    with the same item, mode and minutes, are rare but real, so a few are only a warning.

    Method: the integer columns (day, township, codes, minutes) are packed into one integer per row, so
    that one pass over millions of rows finds the few candidates; only those are compared on the person.
    """
    if not set(_CONTACT) <= set(typed.columns) or len(typed) < 2:
        return
    codes = {k: typed[k].cat.codes.to_numpy() for k in ("township_code", "county_code", "person_group",
                                                        "service_item", "mode")}
    days = typed["date"].to_numpy("datetime64[D]")
    minutes = typed["minutes"].to_numpy(dtype=np.float64)
    ok = ~np.isnat(days) & ~np.isnan(minutes)
    for v in codes.values():
        ok &= v >= 0
    if ok.sum() < 2:
        return
    days = days.astype(np.int64)
    days -= days[ok].min()
    days[~ok] = 0
    # NaN, negative and huge minutes are on rows with errors: any value will do
    whole = np.clip(np.where(ok, minutes, 0), 0, 2 ** 20).astype(np.int64)
    parts = [days, whole, *(np.maximum(v, 0) for v in codes.values())]
    key = _integer_key(parts)
    if key is None:  # not expected with real codes; fall back to pandas
        key = pd.util.hash_pandas_object(typed.loc[:, [k for k in _CONTACT if k != "person_id"]],
                                         index=False).to_numpy().view(np.int64)
    key = key[ok]
    ordered = np.sort(key)  # sorting values only is several times faster than hashing millions of them
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not repeated.size:
        return
    candidate = repeated[np.minimum(np.searchsorted(repeated, key), repeated.size - 1)] == key
    where = np.flatnonzero(ok)[np.flatnonzero(candidate)]  # positions in typed of the candidate rows
    sub = pd.DataFrame({"key": key[candidate], "person": typed["person_id"].iloc[where].to_numpy()})
    sub = sub[sub["person"].notna()]
    where = where[sub.index.to_numpy()]
    sub = sub.reset_index(drop=True)
    repeat = sub.duplicated(keep="first").to_numpy()
    if not repeat.any():
        return
    first_of = sub.groupby(["key", "person"], sort=False).ngroup().to_numpy()
    first_pos = pd.Series(np.arange(len(sub))).groupby(first_of).transform("min").to_numpy()
    dup_pos, orig_pos = where[repeat], where[first_pos[repeat]]

    def row_of(i: int) -> str:
        sheet = "" if c.sheets is None else f" of sheet '{c.sheets.iloc[i]}'"
        return f"row {int(c.rows.iloc[i])}{sheet}"

    def listing(d: np.ndarray, o: np.ndarray) -> str:
        shown = ", ".join(f"{row_of(a)} repeats {row_of(b)}" for a, b in zip(d[:5], o[:5]))
        return shown + (f", and {len(d) - 5:,} more" if len(d) > 5 else "")

    towns = typed["township_code"].cat.codes.to_numpy()
    contacts = np.bincount(towns[towns >= 0], minlength=len(typed["township_code"].cat.categories))
    repeats = np.bincount(towns[dup_pos], minlength=len(contacts))
    over = np.flatnonzero(repeats > REPEATED_CONTACTS_LIMIT * contacts)
    what = ("repeat an earlier contact in every column but record_id (the same person, day, township, group, "
            "item, mode and minutes): a ledger imported twice?")
    record = raw["record_id"] if "record_id" in raw.columns else None
    for town in over:
        mine = towns[dup_pos] == town
        d, o = dup_pos[mine], orig_pos[mine]
        code = typed["township_code"].cat.categories[town]
        c.problems.append(Problem(
            c.where(int(d[0])), int(c.rows.iloc[d[0]]), "record_id",
            None if record is None else _show(record.iloc[d[0]]),
            "repeated_contacts", f"in township {code}, {len(d):,} of {contacts[town]:,} contacts "
            f"({len(d) / contacts[town]:.1%}, more than {REPEATED_CONTACTS_LIMIT:.0%}) {what} {listing(d, o)}. "
            "Remove the repeated rows (check whether the ledger, or one of its sheets, was pasted in twice)."))
    rest = ~np.isin(towns[dup_pos], over)
    if rest.any():
        d, o = dup_pos[rest], orig_pos[rest]
        c.problems.append(Problem(
            c.file, int(c.rows.iloc[d[0]]), "record_id", None if record is None else _show(record.iloc[d[0]]),
            "repeated_contacts", f"{len(d):,} contact(s) {what} {listing(d, o)}. Check them; at most "
            f"{REPEATED_CONTACTS_LIMIT:.0%} of a township's contacts may repeat.", "warning"))


#: The error values Excel writes into a cell whose formula failed (and keeps when saving as CSV).
EXCEL_ERRORS = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#N/A!")


def _without_excel_errors(s: pd.Series, name: str, c: _Collector) -> pd.Series:
    """``s`` with Excel error values (``#N/A``, ``#REF!``, ``#DIV/0!``, ...) refused, naming the cell, and
    blanked so no other rule reports the cell again.  In a text column they would pass for a name."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return s
    text = _as_text(s)
    error = text.str.upper().isin(EXCEL_ERRORS).to_numpy() if text.str.startswith("#").any() else None
    if error is None or not error.any():
        return s
    c.add(error, name, "excel_error", text, lambda v: (
        f"the cell holds the Excel error value {v}: a formula failed (a lookup found nothing, a reference was "
        "deleted, a division by zero). Fix the formula or type the value, and save again."))
    return s.mask(pd.Series(error, index=s.index))


def _finalise(frame: pd.DataFrame, cols: dict[str, dict]) -> pd.DataFrame:
    out = {}
    for name, col in cols.items():
        if name not in frame.columns:
            if col.get("required", True):
                continue
            out[name] = pd.Series(None, index=frame.index, dtype="str")
            continue
        s = frame[name]
        if col["kind"] == "category":
            out[name] = _recode(s, list(codes(col["codes"])))
        elif col["kind"] == "code":
            out[name] = _strings(s)
        elif col["kind"] in ("int", "likert"):
            out[name] = s.fillna(-1).astype("int64") if s.notna().all() else s
        else:
            out[name] = s.astype(_typed_dtype(col)) if s.notna().any() or col["kind"] != "text" else s.astype("str")
    return pd.DataFrame(out, index=frame.index)


def _recode(s: pd.Series, categories: list[str]) -> pd.Categorical:
    """A categorical of the values found (:func:`_categorical`) as one of the code list ``categories``;
    values not in the list become missing (pandera has reported them)."""
    found_at = pd.Index(categories).get_indexer(s.cat.categories)
    # a missing row (code -1) picks the -1 appended at the end
    return pd.Categorical.from_codes(np.append(found_at, -1)[s.cat.codes.to_numpy()], categories=categories)


def _strings(s: pd.Series) -> pd.Series:
    """A categorical of the codes found (:func:`_categorical`) as pandas' string dtype.

    Taking the Arrow strings by code is about ten times faster than ``astype("str")``, which goes
    through Python objects.
    """
    codes = s.cat.codes.to_numpy()
    values = s.cat.categories.array.take(codes, allow_fill=True)
    out = pd.Series(values, index=s.index).astype("str")  # already "str" from Parquet and CSV: no copy
    _codes.remember(out, codes, s.cat.categories)  # for the measures, which would factorise it again
    return out


# --------------------------------------------------------------------------- the province


@dataclass
class Province:
    """The four validated input tables of one province, plus what describes them.

    Build it with :func:`load_province`; a ``Province`` only exists for data
    that passed validation.

    Attributes
    ----------
    regions, stations, services, survey : pandas.DataFrame
        Typed tables as documented in ``data/README.md``.
    meta : dict
        The contents of ``dataset.json`` (name, synthetic flag, lonely-PSU rule, ...).
    sources : dict
        Table name -> file path read.
    warnings : list of Problem
        Problems that do not block (for the data-quality appendix).
    """

    regions: pd.DataFrame
    stations: pd.DataFrame
    services: pd.DataFrame
    survey: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        """True when the data were generated by :mod:`evalkit.synth`, not collected."""
        return bool(self.meta.get("synthetic", False))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables by name."""
        return {"regions": self.regions, "stations": self.stations, "services": self.services, "survey": self.survey}

    @cached_property
    def gaps(self) -> tuple[dict[str, list[int]], dict[str, dict[str, list[int]]]]:
        """The years and the counties' years the input tables lack (:func:`coverage_gaps`), found once."""
        return coverage_gaps(self.tables())

    @property
    def years(self) -> list[int]:
        """The years (waves) the regions table covers."""
        return sorted(int(y) for y in self.regions["year"].unique())


#: The keys ``dataset.json`` may hold: key -> (JSON type, what it says).  Another key is reported: an
#: error when it is close to one of these (a misspelling would silently drop the setting), else a warning.
META_KEYS: dict[str, tuple[type, str]] = {
    "name": (str, "a name for the data, shown in every report's provenance"),
    "synthetic": (bool, "true for generated (not collected) data"),
    "lonely_psu": (str, f"the rule for a survey stratum with one PSU: {', '.join(LONELY_PSU_RULES)}"),
    "note": (str, "a note about the data"),
    "generator": (str, "the program that generated the data"),
    "seed": (int, "the generator's random seed"),
    "size": (str, "the generator's size setting"),
    "years": (list, "the years (waves) the data cover"),
    "generated_for": (str, "the date the data were generated for"),
}
_JSON_TYPE = {str: "a string (in double quotes)", bool: "true or false (a JSON boolean, without quotes)",
              int: "a whole number", list: "a list in [ ]", dict: "an object in { }"}


def _json_type_of(v: Any) -> str:
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "a list",
            dict: "an object", type(None): "null"}.get(type(v), type(v).__name__)


def check_meta(data_dir: str | Path) -> tuple[dict[str, Any], list[Problem]]:
    """Read ``dataset.json`` from ``data_dir`` (defaults when absent) and check it against :data:`META_KEYS`.

    Returns the metadata and the problems: the file not UTF-8 (GBK, GB18030, UTF-16), not JSON
    (with line and column), not an object, a value of the wrong type (``"synthetic": "false"``, a
    string, is refused: it would read as true), an unknown ``lonely_psu`` rule, and keys evalkit does not
    know (with the known key they are closest to).  A UTF-8 byte-order mark is read, as in CSV files, with a
    warning.
    """
    path = Path(data_dir) / "dataset.json"
    meta: dict[str, Any] = {"synthetic": False, "lonely_psu": "fail"}
    if not path.is_file():
        return meta, []
    file = "dataset.json"

    def problem(rule: str, message: str, key: str | None = None, value: Any = None, row: int | None = None,
                severity: str = "error") -> Problem:
        shown = None if value is None else printable(json.dumps(value, ensure_ascii=False))
        return Problem(file, row, key, shown, rule, message, severity)

    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return meta, [problem("encoding", "is UTF-16 text; save it as UTF-8.")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        try:
            data.decode("gb18030")
            what = "is saved in GBK (GB18030), not UTF-8, as JSON must be"
        except UnicodeDecodeError:
            what = "is not UTF-8 text"
        return meta, [problem("encoding", f"{what} (undecodable bytes {data[err.start:err.start + 2].hex(' ')} on "
                              f"line {line}); save it as UTF-8 (in Notepad: Save as, Encoding UTF-8).", row=line)]
    try:
        found = json.loads(text)
    except json.JSONDecodeError as err:
        before = text[: err.pos].rstrip()
        hint = (" A comma after the last item? JSON allows none." if before.endswith(",") and
                text[err.pos: err.pos + 1] in "}]" else "")
        hint = hint or (" JSON needs double quotes around keys and strings." if "'" in text else "")
        return meta, [problem("json", f"is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}).{hint}",
                              row=err.lineno)]
    if not isinstance(found, dict):
        return meta, [problem("json_type", "must hold one JSON object ({\"name\": ..., \"synthetic\": ...}); it "
                              f"holds {_json_type_of(found)}.", value=found)]
    problems = []
    if data.startswith(b"\xef\xbb\xbf"):  # read, but said: some JSON readers refuse it
        problems.append(problem("encoding_bom", "starts with a UTF-8 byte-order mark (Windows Notepad writes one); "
                                "it was read as UTF-8, but other JSON tools may refuse it: save it as UTF-8 without "
                                "BOM.", row=1, severity="warning"))
    for key, value in found.items():
        if key not in META_KEYS:
            close = difflib.get_close_matches(key, list(META_KEYS), n=1, cutoff=0.75)
            if close:
                problems.append(problem("unknown_key", f"the key '{printable(key)}' is not one evalkit knows; did you "
                                        f"mean '{close[0]}'? As written, the setting is ignored.", key=printable(key),
                                        value=value))
            else:
                problems.append(problem("unknown_key", f"the key '{printable(key)}' is not one evalkit knows; it is "
                                        f"ignored (known keys: {', '.join(META_KEYS)}).", key=printable(key),
                                        value=value, severity="warning"))
            continue
        want, meaning = META_KEYS[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if not ok:
            hint = ""
            if want is bool and isinstance(value, str) and value.strip().lower() in ("true", "false"):
                hint = f" Write {value.strip().lower()} without quotes: a string, even \"false\", would read as true."
            problems.append(problem("json_type", f"'{key}' ({meaning}) must be {_JSON_TYPE[want]}; it is "
                                    f"{_json_type_of(value)}.{hint}", key=key, value=value))
            continue
        meta[key] = value
    if meta.get("lonely_psu") not in LONELY_PSU_RULES:
        problems.append(problem("lonely_psu", f"lonely_psu must be one of {', '.join(LONELY_PSU_RULES)}.",
                                key="lonely_psu", value=meta.get("lonely_psu")))
    return meta, problems


def read_meta(data_dir: str | Path) -> dict[str, Any]:
    """Read ``dataset.json`` from ``data_dir`` if present (else defaults); raise on its first error.

    Raises
    ------
    InputError
        When :func:`check_meta` finds an error in the file.
    """
    meta, problems = check_meta(data_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors[0])
    return meta


def _cross_checks(t: dict[str, pd.DataFrame], rows: dict[str, pd.Series], files: dict[str, str],
                  meta: dict[str, Any], today: _dt.date, sheets: dict[str, pd.Series | None] | None = None
                  ) -> list[Problem]:
    out: list[Problem] = []
    reg = t["regions"]
    col = {name: _Collector(files[name], rows[name], sheets=(sheets or {}).get(name)) for name in t}

    # regions: one name and one parent per code, across years (a township's county is fixed by its code)
    for code, parent, names in (("county_code", "prefecture_code", ("county_name_en", "county_name_zh")),
                                ("township_code", "county_code", ("township_name_en", "township_name_zh"))):
        for other in (parent, *names):
            counts = reg.groupby([code, other], observed=True).size().sort_values(ascending=False, kind="stable")
            usual_of = counts.reset_index().drop_duplicates(code).set_index(code)[other]
            usual = reg[code].map(usual_of)
            col["regions"].add(reg[other] != usual, other, "inconsistent_region", reg[other],
                               lambda v, ctx, other=other, code=code, usual=usual: f"{code} {ctx} has more than "
                               f"one {other}: '{v}' here, '{usual[reg[code] == ctx].iloc[0]}' in most rows; each "
                               "code must always have the same one.", context=reg[code])

    years = sorted(reg["year"].dropna().unique())
    first, last = _dt.date(int(years[0]), 1, 1), _dt.date(int(years[-1]), 12, 31)
    period = f"{first.isoformat()} to {last.isoformat()}"
    known = reg[["township_code", "year", "county_code"]].drop_duplicates(["township_code", "year"])
    county_of = reg.drop_duplicates("township_code").set_index("township_code")["county_code"]

    located: dict[str, tuple[np.ndarray, pd.Series]] = {}  # table -> (township positions, years)
    for name, year in (("stations", "year"), ("services", None), ("survey", "year")):
        d = t[name]
        if not {"township_code", "county_code"} <= set(d.columns):
            continue
        yr = d[year] if year else d["date"].dt.year
        c = col[name]
        town = _positions(county_of.index, d["township_code"])
        located[name] = town, yr
        anywhere = pd.Series(town >= 0, index=d.index)
        c.add(d["township_code"].notna() & ~anywhere, "township_code", "unknown_township", d["township_code"],
              lambda v: f"township {v} is not in the regions table.")
        known_key = (county_of.index.get_indexer(known["township_code"]).astype(np.int64) * 10_000
                     + known["year"].to_numpy(dtype=np.int64))
        in_year = np.isin(town.astype(np.int64) * 10_000 + yr.fillna(-1).to_numpy(dtype=np.int64), known_key)
        c.add(anywhere & yr.isin(years) & ~in_year, "township_code", "no_region_year", d["township_code"],
              lambda v, y: f"the regions table has no row for township {v} in {y}.", context=yr)

    for name in ("stations", "survey"):
        d = t[name]
        if "year" in d.columns:
            col[name].add(d["year"].notna() & ~d["year"].isin(years), "year", "year_outside_regions", d["year"],
                          lambda v: f"the year {v} is not covered by the regions table ({int(years[0])}-"
                                    f"{int(years[-1])}); add its regions rows or correct the year.")
    absent = _year_coverage(t, col, [int(y) for y in years])
    _station_checks(t, col, county_of.index, *located["services"], absent.get("stations", []))
    _survey_design_checks(t, col)

    for name, date_col in (("services", "date"), ("survey", "interview_date"), ("stations", "opened")):
        d = t[name]
        if date_col not in d.columns:
            continue
        dates = d[date_col]
        future = (dates > pd.Timestamp(today)).fillna(False).astype(bool)
        col[name].add(future, date_col, "future_date", dates,
                      lambda v: f"the date {v} is in the future (today is {today.isoformat()}).")
        if name == "stations":
            early = dates.notna() & (dates < pd.Timestamp("2000-01-01"))
            col[name].add(early, date_col, "implausible_date", dates,
                          lambda v: f"the opening date {v} is before 2000, earlier than any township station; "
                                    "check the year.")
            late = dates.notna() & (dates.dt.year > d["year"]) & ~future
            col[name].add(late, date_col, "opened_after_year", dates,
                          lambda v: f"the station opened on {v}, after the year of this row.")
            continue
        outside = dates.notna() & ((dates < pd.Timestamp(first)) | (dates > pd.Timestamp(last))) & ~future
        col[name].add(outside, date_col, "outside_period", dates,
                      lambda v: f"the date {v} is outside the period the regions table covers ({period}).")
        if name == "survey":
            off = dates.notna() & d["year"].notna() & (dates.dt.year != d["year"]) & ~outside & ~future
            col[name].add(off, date_col, "date_not_in_wave", dates,
                          lambda v: f"the interview date {v} is not in the survey wave's year.")

    s = t["survey"]
    if {"year", "township_code", "psu"} <= set(s.columns):
        npsu = s.groupby(["year", "township_code"])["psu"].transform("nunique")
        lonely = (npsu == 1) & s["psu"].notna()
        first_row = lonely & ~s.loc[:, ["year", "township_code"]].duplicated()
        rule = meta.get("lonely_psu", "fail")
        sev = "error" if rule == "fail" else "warning"
        how = ("Sample at least two villages or communities per township, or set \"lonely_psu\" in dataset.json "
               "(adjust, remove, certainty or average; see data/README.md)." if sev == "error" else
               f"Its variance is handled by the rule lonely_psu = \"{rule}\" from dataset.json.")
        col["survey"].add(first_row, "psu", "single_psu", s["psu"],
                          lambda v, ctx: f"stratum (township) {ctx} has only one primary sampling unit ({v}); the "
                                         f"design-based variance needs two. {how}", severity=sev,
                          context=s["township_code"].astype("str") + " in " + s["year"].astype("Int64").astype("str"))
    for c in col.values():
        out.extend(c.problems)
    return out


def _positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """index.get_indexer(values), hashing each distinct value once (millions of rows, few codes)."""
    codes, uniques = pd.factorize(values)
    return np.where(codes >= 0, index.get_indexer(uniques)[np.maximum(codes, 0)], -1)


#: What a year without rows in a table means for the reports (the warning of :func:`_year_coverage`).
_ABSENT_YEAR = {
    "survey": "the {year} survey wave is not in the data (a wave not delivered yet?): reports for {year} say so and "
              "show the satisfaction of the latest earlier wave, named as such; the framework grades no county "
              "without the survey's figures of the year.",
    "services": "the service records have no contact dated in {year} (a ledger not imported yet?): reports for "
                "{year} show no coverage, home-visit, person-time or cost figure for {year} and say so.",
    "stations": "the stations table has no row for {year} (a register not delivered yet?): reports for {year} show "
                "no station, staffing or spending figure for {year} and say so; the contacts of {year} are not "
                "checked against stations.",
}


_ABSENT_COUNTY_YEAR = {
    "survey": "county {county} has no respondent in the {year} survey wave, though other counties have (its "
              "questionnaires not delivered yet?): its report for {year} says so and shows the satisfaction of its "
              "latest earlier wave, named as such; the framework does not grade it without the survey.",
    "services": "county {county} has stations in {year} but no service contact dated in {year}, though other "
                "counties have (its ledger not imported yet?): its report for {year} shows no coverage, home-visit, "
                "person-time or cost figure for {year} and says so.",
}


def coverage_gaps(t: dict[str, pd.DataFrame]) -> tuple[dict[str, list[int]], dict[str, dict[str, list[int]]]]:
    """The years of the regions table that an input table has no row for, and the counties it has no row for in
    a year it has other counties' rows.

    Returns ``(years, counties)``: ``years[table]`` lists the years ``survey``, ``services`` (by contact date)
    or ``stations`` lack; ``counties[table][county_code]`` the years in which ``survey`` has no respondent of
    the county, or ``services`` no contact of a county that has stations that year.  A county without stations
    may well have no station row or contact: that is not a gap.  Tables without a gap are left out.
    """
    reg = t["regions"]
    years = sorted(int(y) for y in reg["year"].dropna().unique())
    by_year: dict[str, list[int]] = {}
    by_county: dict[str, dict[str, list[int]]] = {}
    have: dict[str, pd.DataFrame] = {}
    for name, year_col in (("survey", "year"), ("services", "date"), ("stations", "year")):
        d = t.get(name)
        if d is None or year_col not in d.columns or "county_code" not in d.columns:
            continue
        yr = (d[year_col].dt.year if year_col == "date" else d[year_col]).fillna(-1).to_numpy(dtype=np.int64)
        # the distinct (county, year) pairs, from integer keys: services has millions of rows
        code, uniques = pd.factorize(d["county_code"])
        key = np.unique(code.astype(np.int64) * 100_000 + yr)
        key = key[(key >= 0) & (key % 100_000 >= 0)]
        have[name] = pd.DataFrame({"county_code": np.asarray(uniques, dtype=object)[key // 100_000].astype(str),
                                   "year": key % 100_000})
        have[name] = have[name][have[name]["year"].between(1, 9999)]
        present = set(have[name]["year"].astype(int))
        gap = [y for y in years if y not in present]
        if gap:
            by_year[name] = gap
    counties = reg[["county_code", "year"]].dropna().drop_duplicates().astype({"county_code": str})
    for name in ("survey", "services"):
        if name not in have:
            continue
        pairs = set(zip(have[name]["county_code"], have[name]["year"].astype(int)))
        with_stations = (set(zip(have["stations"]["county_code"], have["stations"]["year"].astype(int)))
                         if "stations" in have else None)
        for county, year in zip(counties["county_code"], counties["year"].astype(int)):
            if year in by_year.get(name, []) or (county, year) in pairs:
                continue
            if name == "services" and with_stations is not None and (county, year) not in with_stations:
                continue
            by_county.setdefault(name, {}).setdefault(county, []).append(year)
    for name in by_county:
        for county in by_county[name]:
            by_county[name][county].sort()
    return by_year, by_county


def _year_coverage(t: dict[str, pd.DataFrame], col: dict[str, _Collector], years: list[int]) -> dict[str, list[int]]:
    """Warn, naming the table's own file, of every year of the regions table that ``survey``, ``services`` or
    ``stations`` has no row for, and of every county missing from a year the table has for others
    (:func:`coverage_gaps`): incomplete data, not wrong data, so reports are made with what there is.
    Returns the missing years by table."""
    absent, counties = coverage_gaps(t)
    for name, year_col in (("survey", "year"), ("services", "date"), ("stations", "year")):
        for y in absent.get(name, []):
            col[name].whole("year_not_in_data", _ABSENT_YEAR[name].format(year=y), column=year_col,
                            value=str(y), severity="warning")
        for county, county_years in sorted(counties.get(name, {}).items()):
            for y in county_years:
                col[name].whole("county_year_not_in_data", _ABSENT_COUNTY_YEAR[name].format(county=county, year=y),
                                column="county_code", value=county, severity="warning")
    return absent


def _station_checks(t: dict[str, pd.DataFrame], col: dict[str, _Collector], towns: pd.Index,
                    sv_town: np.ndarray, sv_year: pd.Series, no_stations: list[int] = ()) -> None:
    """Every service contact happens at a station that exists that year and has opened.

    ``sv_town`` is each contact's township as a position in ``towns`` (the regions table's townships),
    ``sv_year`` its year: the caller has both already, for millions of contacts.  Contacts of the years in
    ``no_stations`` (the stations table has no row at all for them: warned of on the stations file) are not
    checked: blaming each of them on the services file would name the wrong file.
    """
    sv, st = t["services"], t["stations"]
    st_key = _positions(towns, st["township_code"]).astype(np.int64) * 10_000 + st["year"].to_numpy(dtype=np.int64)
    where = pd.Index(st_key).get_indexer(sv_town.astype(np.int64) * 10_000 + sv_year.to_numpy(dtype=np.int64))
    known = (sv_town >= 0) & sv_year.isin(t["regions"]["year"]).to_numpy() & ~sv_year.isin(list(no_stations)).to_numpy()
    none = known & (where < 0)
    col["services"].add(none, "township_code", "no_station", sv["township_code"],
                        lambda v, y: f"township {v} has no row in the stations table for {y}, so no station "
                                     "could have served this contact.", context=sv_year)
    opened = pd.Series(st["opened"].to_numpy()[np.maximum(where, 0)], index=sv.index)
    early = (where >= 0) & (sv["date"] < opened).to_numpy()
    col["services"].add(early, "date", "before_opening", sv["date"],
                        lambda v, o: f"the contact on {v} is before the station opened ({o}).", context=opened)


def _survey_design_checks(t: dict[str, pd.DataFrame], col: dict[str, _Collector]) -> None:
    """Weights and PSUs that the regions table makes impossible."""
    sv, reg = t["survey"], t["regions"]
    info = reg.set_index(["township_code", "year"])[["population", "villages"]]
    at = pd.MultiIndex.from_arrays([sv["township_code"], sv["year"]])
    where = info.index.get_indexer(at)
    found = where >= 0
    population = pd.Series(np.where(found, info["population"].to_numpy()[np.maximum(where, 0)], np.nan), index=sv.index)
    villages = pd.Series(np.where(found, info["villages"].to_numpy()[np.maximum(where, 0)], np.nan), index=sv.index)
    col["survey"].add(found & (sv["weight"] > population).to_numpy(), "weight", "weight_above_population",
                      sv["weight"], lambda v, pop: f"a weight of {v} says this respondent represents more people "
                      f"than live in the township ({pop}).", context=population)
    npsu = sv.groupby(["year", "township_code"])["psu"].transform("nunique")
    first = ~sv[["year", "township_code"]].duplicated()
    col["survey"].add(found & first & (npsu > villages).to_numpy(), "psu", "more_psus_than_villages", npsu,
                      lambda v, vil: f"{v} villages or communities were sampled in this township and wave, but the "
                      f"regions table says it has {vil}.", context=villages)


def validate_province(data_dir: str | Path, *, today: _dt.date | None = None
                      ) -> tuple[dict[str, pd.DataFrame], list[Problem], dict[str, Any], dict[str, Path]]:
    """Read and check every table in ``data_dir``; collect all problems.

    Returns the typed tables, the problems (errors and warnings), the dataset
    metadata and the files read.  Use :func:`load_province` unless you want
    the problems themselves (the ``evalkit validate`` command does).
    """
    data_dir = Path(data_dir)
    today = today or _dt.date.today()
    if not data_dir.is_dir():
        from .paths import SAMPLE

        hint = " Run `make sample` to generate the sample province." if data_dir.resolve() == SAMPLE.resolve() else ""
        raise InputError(Problem(str(data_dir), None, None, None, "missing_dir",
                                 f"the data directory {data_dir} does not exist.{hint}"))
    meta, problems = check_meta(data_dir)
    if any(p.severity == "error" for p in problems):
        return {}, problems, {}, {}
    typed: dict[str, pd.DataFrame] = {}
    rows: dict[str, pd.Series] = {}
    sheets: dict[str, pd.Series | None] = {}
    files: dict[str, str] = {}
    sources: dict[str, Path] = {}
    for table in TABLES:
        try:
            path = find_table(data_dir, table)
            raw = read_raw(path, [c["name"] for c in table_spec(table)["columns"]], table)
        except InputError as err:
            problems.append(err.problem)
            continue
        frame, found = validate_table(raw, table)
        problems.extend(found)
        typed[table], rows[table], files[table], sources[table] = frame, raw.rows, raw.file, path
        sheets[table] = raw.sheets
    optional: dict[str, tuple[RawTable, pd.DataFrame]] = {}
    for table in OPTIONAL_TABLES:  # checked when present; kept out of the typed tables
        try:
            path = find_table(data_dir, table)
            raw = read_raw(path, [c["name"] for c in table_spec(table)["columns"]], table)
        except InputError as err:
            if err.problem.rule != "missing_table":
                problems.append(err.problem)
            continue
        frame, found = validate_table(raw, table)
        problems.extend(found)
        optional[table] = (raw, frame)
    if "comments_reviewed" in optional and "survey" in typed:
        problems.extend(check_reviewed(*optional["comments_reviewed"], typed["survey"], files["survey"]))
    if "regions" in typed and "county_code" in typed["regions"].columns:
        from .findings import check_findings

        roster = optional["roster"][1]["name"].dropna().astype(str) if "roster" in optional else ()
        problems.extend(check_findings(data_dir, typed["regions"]["county_code"].dropna().astype(str).unique(),
                                       roster)[1])
        if "inspections" in optional:
            problems.extend(_inspected_townships(optional["inspections"], typed["regions"], rows["regions"]))
    if "regions" in typed:
        problems.extend(one_province(typed["regions"], rows["regions"], files["regions"], data_dir))
    blocking = any(p.severity == "error" for p in problems)
    if len(typed) == len(TABLES) and not blocking:
        problems.extend(_cross_checks(typed, rows, files, meta, today, sheets))
    elif len(typed) == len(TABLES):
        problems.append(Problem("(all tables)", None, None, None, "cross_checks_skipped",
                                "checks across tables (townships in regions, dates in period, PSUs per stratum) "
                                "run once the problems above are fixed.", "warning"))
    return typed, problems, meta, sources


def _inspected_townships(inspections: tuple[RawTable, pd.DataFrame], regions: pd.DataFrame, rows: pd.Series
                         ) -> list[Problem]:
    """An error for each inspection of a township and year that the regions table does not have."""
    raw, frame = inspections
    if frame.empty or not {"township_code", "year"} <= set(frame.columns):
        return []
    known = set(zip(regions["township_code"].astype(str), regions["year"].astype("Int64")))
    problems = []
    for idx, town, year in zip(frame.index, frame["township_code"].astype(str), frame["year"].astype("Int64")):
        if (town, year) not in known:
            row = int(raw.rows.loc[idx]) if idx in raw.rows.index else None
            problems.append(Problem(raw.file, row, "township_code", town, "unknown_township",
                                    f"township {town} is not in the regions table for {year}."))
            if len(problems) >= MAX_EXAMPLES:
                break
    return problems


def one_province(regions: pd.DataFrame, rows: pd.Series, file: str, data_dir: str | Path) -> list[Problem]:
    """An error when ``regions`` name more than one province: one data folder is one province.

    Its counties are compared and ranked against each other and the province's figures, so two provinces
    in one folder would be ranked together.  The message names the provinces found and says to put each
    in its own sub-folder (``evalkit batch`` runs a folder of province folders province by province).
    """
    if "province_code" not in regions.columns:
        return []
    code = regions["province_code"].dropna().astype(str)
    found = list(dict.fromkeys(code))
    if len(found) < 2:
        return []
    counts = code.value_counts(sort=False)
    name_col = next((c for c in ("province_name_en", "province_name_zh") if c in regions.columns), None)
    names = (regions.loc[code.index, name_col].astype(str).groupby(code.to_numpy(), sort=False).first()
             if name_col else pd.Series(dtype=str))
    listing = ", ".join(f"{c}{' (' + printable(names[c]) + ')' if c in names.index else ''} in {counts[c]:,} rows"
                        for c in found)
    first = code.index[code != found[0]][0]
    row = int(rows.loc[first]) if first in rows.index else None
    folder = Path(data_dir)
    return [Problem(file, row, "province_code", found[1], "several_provinces",
                    f"the regions hold {len(found)} provinces: {listing}. One data folder is one province (its "
                    "counties are ranked against each other and the province), so nothing is computed from it. "
                    f"Put each province in its own sub-folder ({folder / found[0]}/, {folder / found[1]}/, ...) "
                    f"and run `evalkit batch {folder}` to evaluate them province by province.")]


def check_reviewed(raw: RawTable, frame: pd.DataFrame, survey: pd.DataFrame, survey_file: str) -> list[Problem]:
    """Check the reviewed list of comments (``comments_reviewed``) against the survey.

    Every ``respondent_id`` must be a respondent of the survey (an error naming the file, row and
    value otherwise: a typo would silently withhold the comment it meant); one whose comment is
    empty is a warning (nothing to publish).
    """
    out: list[Problem] = []
    if "respondent_id" not in frame.columns or "respondent_id" not in survey.columns:
        return out
    ids = frame["respondent_id"].dropna().astype(str)
    known = survey["respondent_id"].astype(str)
    with_comment = set(known[survey["comment"].astype("string").str.strip().fillna("") != ""]) \
        if "comment" in survey.columns else set()
    known = set(known)
    for idx, rid in ids.items():
        row = int(raw.rows.loc[idx]) if idx in raw.rows.index else None
        if rid not in known:
            out.append(Problem(raw.file, row, "respondent_id", rid, "unknown_respondent",
                               f"'{rid}' is not a respondent_id of the survey ({survey_file}): the reviewed list "
                               "names survey respondents whose comment an evaluator approved for publication; "
                               "correct the id or remove the row."))
        elif rid not in with_comment:
            out.append(Problem(raw.file, row, "respondent_id", rid, "reviewed_without_comment",
                               f"respondent '{rid}' of the survey ({survey_file}) wrote no comment: there is nothing "
                               "to publish for this row.", "warning"))
    return out


def load_province(data_dir: str | Path, *, today: _dt.date | None = None) -> Province:
    """Read, validate and return the province in ``data_dir``; raise on any error.

    This is the only way evalkit turns files into data for measures and
    reports, so nothing downstream ever runs on data that failed validation.

    Raises
    ------
    DataValidationError
        When any table breaks any rule; ``.problems`` lists them all.
    """
    typed, problems, meta, sources = validate_province(data_dir, today=today)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataValidationError(problems)
    return Province(**typed, meta=meta, sources=sources, warnings=problems)


# --------------------------------------------------------------------------- the codebook


def _kind_text(col: dict) -> str:
    kind = col["kind"]
    if kind == "code":
        return f"text, {col['digits']} digits"
    if kind == "likert":
        return "integer code"
    if kind == "pseudonym":
        return "text id"
    return {"int": "integer", "float": "number", "date": "date (YYYY-MM-DD)", "category": "code",
            "text": "text"}[kind]


def _allowed_cell(col: dict) -> str:
    kind = col["kind"]
    parts = []
    if kind == "category":
        parts.append(", ".join(f"`{k}`" for k in codes(col["codes"])))
    elif kind == "likert":
        parts.append("1-5 (very dissatisfied to very satisfied); 8 don't know; 9 refused")
    elif kind == "code":
        parts.append(f"{col['digits']} digits, leading zeros kept")
    elif kind == "pseudonym":
        parts.append("3-64 of `A-Z a-z 0-9 _ . -`; no ID numbers, phones or names")
    elif kind == "text":
        lines = "line breaks allowed" if col.get("multiline") else "one line"
        parts.append(f"{lines}, at most {col.get('max_length', TEXT_MAX_LENGTH)} characters; no control or "
                     "bidirectional-override characters")
    rng = _range_text(col)
    if rng:
        parts.append(rng)
    if "at_most" in col:
        parts.append(f"at most `{col['at_most']}`")
    if "starts_with" in col:
        parts.append(f"begins with `{col['starts_with']}`")
    if col.get("unique"):
        parts.append("unique")
    if col.get("nullable"):
        parts.append("may be empty")
    if not col.get("required", True):
        parts.append("optional column")
    return "; ".join(parts)


def codebook_markdown() -> str:
    """The codebook of the input tables as Markdown (the body of ``data/README.md``)."""
    out = []
    for table in (*TABLES, *OPTIONAL_TABLES):
        spec = table_spec(table)
        out.append(f"### `{table}`{' (optional)' if spec.get('optional') else ''}\n\n{spec['en']}  \n{spec['zh']}\n\nKey: "
                   f"{', '.join(f'`{k}`' for k in spec['key'])}.\n")
        out.append("| column | type | unit | allowed values | meaning | 含义 |\n| --- | --- | --- | --- | --- | --- |")
        for col in spec["columns"]:
            out.append(f"| `{col['name']}` | {_kind_text(col)} | {col.get('unit', '')} | {_allowed_cell(col)} "
                       f"| {col['en']} | {col['zh']} |")
        out.append("")
    out.append(_findings_codebook())
    for name in ("person_group", "service_item", "mode", "service_level", "urban_rural", "likert"):
        out.append(f"### Codes: `{name}`\n\n| code | meaning | 含义 |\n| --- | --- | --- |")
        out.extend(f"| `{k}` | {v['en']} | {v['zh']} |" for k, v in codes(name).items())
        out.append("")
    return "\n".join(out)


def _findings_codebook() -> str:
    """The codebook's part on the optional ``findings/`` folder (:mod:`evalkit.findings`)."""
    from .findings import HEADINGS, MAX_CHARS, MAX_FILE_CHARS, MAX_ITEMS

    heads = "\n".join(f"| {kind} | {' / '.join(f'`## {h}`' for h in names)} |" for kind, names in HEADINGS.items())
    return (
        "### `findings/` (optional folder)\n\n"
        "The evaluators' written findings: one Markdown file per county and language, named "
        "`<county_code>.<en|zh>.md` (`090102.zh.md`, `090102.en.md`), UTF-8. Reports show them in the summary "
        "(strengths, problems) and the recommendations, marked as the evaluators' judgement and kept apart from "
        "the computed findings; a county without a file shows only the computed ones.  \n"
        "评估组撰写的意见：每个县、每种语言一个 Markdown 文件，命名为 `<县代码>.<en|zh>.md`，UTF-8 编码。报告在主要发现"
        "（主要成效、存在问题）和改进建议中显示，注明为评估组意见，并与计算所得的发现分列；无文件的县只显示计算所得的发现。\n\n"
        "Each finding is a list item (`- ...`) or a paragraph under one of these headings (either language):\n\n"
        "| kind | headings |\n| --- | --- |\n" + heads + "\n\n"
        f"Refused, with the file and line: a county not in `regions`; another heading, or text before the first; "
        f"more than {MAX_ITEMS} findings under a heading, a finding over {MAX_CHARS} characters or a file over "
        f"{MAX_FILE_CHARS:,}; HTML or scripts; links, images and web addresses; personal data (a name, phone or "
        "identity number, address: `evalkit/personal.py`).  \n"
        f"拒收并指出文件和行：`regions` 中没有的县；其他标题或第一个标题之前的文字；每个标题下超过 {MAX_ITEMS} 条、"
        f"单条超过 {MAX_CHARS} 字或全文超过 {MAX_FILE_CHARS:,} 字；HTML 或脚本；链接、图片和网址；个人信息（姓名、电话、"
        "身份证号、住址等）。\n"
    )


CODEBOOK_BEGIN = "<!-- codebook:begin (generated by `make codebook` from evalkit/tables.toml; do not edit) -->"
CODEBOOK_END = "<!-- codebook:end -->"


def update_codebook(path: str | Path) -> bool:
    """Rewrite the generated section of ``path`` (data/README.md); return True if it changed."""
    return replace_section(path, CODEBOOK_BEGIN, CODEBOOK_END, codebook_markdown())


def load_optional(data_dir: str | Path, table: str) -> pd.DataFrame | None:
    """The optional ``table`` of ``data_dir`` (one of :data:`OPTIONAL_TABLES`), validated; ``None`` when the
    folder has none.  Raises :class:`DataValidationError` when it breaks the codebook's rules."""
    from .io import find_table, read_raw

    try:
        path = find_table(data_dir, table)
    except InputError as err:
        if err.problem.rule == "missing_table":
            return None
        raise
    raw = read_raw(path, [c["name"] for c in table_spec(table)["columns"]], table)
    frame, problems = validate_table(raw, table)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    return frame


def load_inspections(data_dir: str | Path) -> pd.DataFrame | None:
    """The optional ``inspections`` table of ``data_dir`` (the evaluators' rubric scores), validated; ``None``
    when the folder has none.  Raises :class:`DataValidationError` when it breaks the codebook's rules (a score
    above the item's maximum, a malformed code, ...); the rubric items themselves are checked against the
    framework by :func:`evalkit.framework.rubric.check_inspections`."""
    return load_optional(data_dir, "inspections")
