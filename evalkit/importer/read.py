"""Read every raw file as it comes: CSV (UTF-8, UTF-8 with BOM, GB18030, as :func:`evalkit.io.detect_encoding`
accepts), every sheet of an ``.xlsx`` workbook, SPSS ``.sav`` and Stata ``.dta`` with their value labels
applied (pyreadstat), and Parquet.

A :class:`Sheet` is one sheet or file before its header is known: a grid of text cells (CSV, Excel) or
named columns (SPSS, Stata, Parquet).  Nothing is written and nothing in the raw folder is changed.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io as _io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..io import detect_encoding, read_sheets

__all__ = ["Sheet", "DATA_SUFFIXES", "read_file", "read_files", "as_text"]

#: Suffixes of the raw files evalkit imports.
DATA_SUFFIXES = (".csv", ".xlsx", ".sav", ".dta", ".parquet")


@dataclass
class Sheet:
    """One sheet of a workbook, or one file, as read.

    ``grid`` (CSV, Excel): every cell as text or missing, no header taken; grid row ``i`` is spreadsheet (or
    CSV line) ``i + 1``.  ``header``/``frame`` (SPSS, Stata, Parquet): the column names and the values as
    text, data row ``i`` is row ``i + 2`` as a spreadsheet would show it; ``labels`` the SPSS/Stata variable
    labels (the question texts), when any.
    """

    file: str
    sheet: str | None
    fmt: str
    grid: pd.DataFrame | None = None
    header: list[str] | None = None
    labels: list[str] | None = None
    frame: pd.DataFrame | None = None
    hidden: bool = False

    @property
    def where(self) -> str:
        """The file (and sheet) as messages name it."""
        return self.file if self.sheet is None else f"{self.file} (sheet '{self.sheet}')"


def _fail(file: str, rule: str, message: str, row: int | None = None) -> InputError:
    return InputError(Problem(file, row, None, None, rule, message))


def as_text(s: pd.Series) -> pd.Series:
    """A column of any type as text (pandas' ``str`` dtype), as a spreadsheet shows it: whole floats without
    ``.0``, other floats as Python writes them (they read back to the same number), dates as ``YYYY-MM-DD``
    (with the time when not midnight), surrounding spaces stripped, empty as missing.  Each distinct value is
    converted once.

    >>> as_text(pd.Series([1.0, 2.5, None])).tolist()
    ['1', '2.5', nan]
    """
    if isinstance(s.dtype, pd.StringDtype):
        text = s.str.strip()
        return text.where(text != "").astype("str")
    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        fmt = "%Y-%m-%d" if (s.dropna() == s.dropna().dt.normalize()).all() else "%Y-%m-%d %H:%M:%S"
        return _by_distinct(s, lambda v: v.strftime(fmt))
    return _by_distinct(s, _cell)


def _by_distinct(s: pd.Series, one) -> pd.Series:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    shown = np.array((_cells(uniques) if one is _cell else [one(v) for v in uniques]) + [np.nan], dtype=object)
    return pd.Series(shown[codes], index=s.index, dtype=object).astype("str")


def _cell(v: object) -> object:
    if _missing(v):
        return np.nan
    text = (v if isinstance(v, str) else _one_text(v)).strip()
    return text if text else np.nan


def _cells(values) -> list:
    """:func:`_cell` of every value, the common text and float cells without its general checks (a large
    ledger has tens of thousands of distinct cells)."""
    out = []
    for v in values:
        kind = type(v)
        if kind is str:
            text = v.strip()
            out.append(text if text else np.nan)
        elif kind is float:
            if v != v:
                out.append(np.nan)
            elif v.is_integer() and abs(v) < 1e15:
                out.append(str(int(v)))
            else:
                out.append(repr(v))
        else:
            out.append(_cell(v))
    return out


def _missing(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _one_text(v: object) -> str:
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, pd.Timestamp) or hasattr(v, "isoformat"):
        text = v.isoformat(sep=" ") if isinstance(v, _dt.datetime) else v.isoformat()  # a date, or a time of day
        return text[:10] if text[10:] in ("", " 00:00:00") else text
    return str(v)


def _read_csv(path: Path, file: str) -> list[Sheet]:
    data = path.read_bytes()
    if not data.strip():
        return []
    encoding = detect_encoding(data, file)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    head = list(csv.reader(_io.StringIO("\n".join(text.splitlines()[:50]))))
    width = max((len(r) for r in head), default=1)
    try:
        grid = pd.read_csv(_io.StringIO(text), header=None, names=range(width), dtype=str, keep_default_na=False,
                           na_values=[""], skip_blank_lines=False)
    except pd.errors.ParserError as err:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if m:
            expected, line, saw = (int(g) for g in m.groups())
            raise _fail(file, "ragged_row", f"line {line} has {saw} fields but the lines above have {expected}: "
                        "a stray comma, or text with a comma that is not in quotes.", row=line) from None
        raise _fail(file, "csv_syntax", f"cannot be parsed as CSV: {err}") from None
    grid = grid.apply(as_text)
    return [Sheet(file, None, "csv", grid=grid)]


def _read_xlsx(path: Path, file: str) -> list[Sheet]:
    head = path.read_bytes()[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        body = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in body:
            raise _fail(file, "encrypted_workbook", "is password-protected (encrypted): evalkit cannot open it. "
                        "Open it in Excel, remove the password (File, Info, Protect Workbook, Encrypt with "
                        "Password: clear it) and save it again.")
        raise _fail(file, "xls_workbook", "is an old-style Excel .xls workbook with an .xlsx name; save it as an "
                    ".xlsx workbook (Excel Workbook) and import again.")
    try:
        fast = _has_calamine() and not _has_error_cells(path)
        if fast and _has_fastexcel():
            sheets, hidden = _typed_sheets(path)
        else:
            sheets, hidden = _calamine_sheets(path) if fast else read_sheets(path)
    except Exception as err:  # calamine, openpyxl and zipfile raise many types for a damaged workbook
        raise _fail(file, "corrupt_workbook", f"cannot be opened as an Excel workbook: it is damaged or not a "
                    f"workbook ({type(err).__name__}: {err}). Open it in Excel and save it again, or export the "
                    "sheet as CSV.") from None
    return [Sheet(file, name, "xlsx", grid=grid, hidden=name in hidden) for name, grid in sheets.items()]


def _has_error_cells(path: Path) -> bool:
    """Whether a worksheet of the workbook holds an Excel error value (``#N/A``, ``#REF!``): calamine reads
    them as empty cells, openpyxl (:func:`evalkit.io.read_sheets`) as their text, which validation then
    refuses by name; so such a workbook is read with openpyxl."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with z.open(name) as f:
                    tail = b""
                    while chunk := f.read(1 << 24):
                        if b' t="e"' in tail + chunk:
                            return True
                        tail = chunk[-8:]
    return False


def _has_calamine() -> bool:
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return False
    return True


def _calamine_sheets(path: Path, only: set[str] | None = None) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Every worksheet (or those named in ``only``) as a grid of text cells, read with calamine (Rust; some 50
    times faster than openpyxl on a large ledger), and the hidden sheets' names.  Grid row ``i`` is
    spreadsheet row ``i + 1``, column ``j`` is column ``j`` from A, as with :func:`evalkit.io.read_sheets`."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    book = CalamineWorkbook.from_path(str(path))
    try:
        sheets, hidden = {}, set()
        for meta in book.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet or (only is not None and meta.name not in only):
                continue
            if meta.visible != SheetVisibleEnum.Visible:
                hidden.add(meta.name)
            rows = book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            while rows and all(v == "" for v in rows[-1]):
                rows.pop()
            grid = pd.DataFrame(rows, dtype=object)
            sheets[meta.name] = pd.DataFrame({j: as_text(grid[j]) for j in grid.columns}) if len(grid) else grid
        return sheets, hidden
    finally:
        book.close()


def _has_fastexcel() -> bool:
    try:
        import fastexcel  # noqa: F401
    except ImportError:
        return False
    return True


class _Inexact(Exception):
    """A sheet whose typed columns could not give the importer's cell text exactly: read it cell by cell."""


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)/>|<(?:\w+:)?c\s([^>]*)>(.*?)</(?:\w+:)?c>", re.S)
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_TEXT_KINDS = (b"s", b"inlineStr", b"str")  # shared, inline and formula text


def _worksheets(path: Path) -> list[tuple[str, bool, int | None]] | None:
    """The workbook's worksheets in order: name, hidden, and :func:`_header_row` of each; None for a
    workbook whose parts are not laid out as expected."""
    import posixpath
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(path) as z:
        try:
            book = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ET.ParseError):
            return None
        targets = {r.get("Id"): (r.get("Type", ""), r.get("Target", "")) for r in rels.iter(_REL)}
        out = []
        for sheet in book.iter(f"{_MAIN_NS}sheet"):
            kind, target = targets.get(sheet.get(_REL_ID), ("", ""))
            if not kind.endswith("/worksheet"):
                continue
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            try:
                first = _header_row(z, part)
            except KeyError:
                first = None
            out.append((sheet.get("name"), sheet.get("state", "visible") != "visible", first))
        return out


def _header_row(z, part: str) -> int | None:
    """The spreadsheet row (from 0) that begins calamine's range of a sheet, when its first cell is in column A
    and holds a value and every cell of that row that holds a value is text; else None.  fastexcel gives that
    row as column names (exact for text cells) and reads the rest as typed columns."""
    with z.open(part) as f:
        head = b""
        while len(head) < 1 << 22:
            chunk = f.read(1 << 16)
            head += chunk
            start = head.find(b"<sheetData")
            first = _CELL.search(head, start) if start >= 0 else None
            row_end = _ROW_END.search(head, first.start()) if first is not None else None
            if row_end is None:
                if chunk:
                    continue
                return None
            row = None
            for cell in _CELL.finditer(head, first.start(), row_end.start()):
                attrs, inner = cell.group(1) or cell.group(2), cell.group(3) or b""
                valued = re.search(rb"<(?:\w+:)?v>[^<]", inner) or b"is>" in inner
                if row is None:
                    ref = re.search(rb'\sr="A(\d+)"', b" " + attrs)
                    if ref is None or not valued:
                        return None
                    row = int(ref.group(1)) - 1
                kind = re.search(rb'\st="(\w+)"', b" " + attrs)
                if valued and (kind is None or kind.group(1) not in _TEXT_KINDS):
                    return None
            return row
    return None


def _typed_sheets(path: Path) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """:func:`_calamine_sheets`, the same grids, with each sheet's cells read by fastexcel (calamine to Arrow,
    typed columns, no Python object per cell) and turned into text by column.  A sheet whose first row is not
    all text, whose columns below it mix types, or hold what typed reading could render otherwise (times of
    day, durations, dates before March 1900), is read by :func:`_calamine_sheets` instead."""
    import logging

    import fastexcel

    book = _worksheets(path)
    if book is None:
        return _calamine_sheets(path)
    logging.getLogger("fastexcel").setLevel(logging.ERROR)  # "could not determine dtype" of empty columns
    reader = fastexcel.read_excel(str(path))
    sheets: dict[str, pd.DataFrame | None] = {}
    hidden = {name for name, hide, _ in book if hide}
    for name, _, first in book:
        try:
            sheets[name] = _typed_grid(reader, name, first) if first is not None else None
        except (_Inexact, fastexcel.FastExcelError):
            sheets[name] = None
    slow = {name for name, grid in sheets.items() if grid is None}
    if slow:
        sheets.update(_calamine_sheets(path, only=slow)[0])
    return sheets, hidden  # type: ignore[return-value]


def _typed_grid(reader, name: str, first: int) -> pd.DataFrame:
    """One sheet as :func:`_calamine_sheets` gives it: the range's first row (all text) as fastexcel's column
    names, the rest as typed columns (strict: a column mixing types raises), each column as the importer's
    text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sheet = reader.load_sheet(name, header_row=0, schema_sample_rows=None, dtype_coercion="strict")
    columns = sheet.available_columns()
    body, errors = sheet.to_arrow_with_errors()
    if (errors is not None and errors.errors) or body.num_columns != len(columns) or not columns:
        raise _Inexact(name)
    names = [c.name for c in columns]
    if any(n.startswith(m + "_") for n in names for m in names if n != m) or columns[0].column_name_from != \
            "looked_up":  # a name fastexcel made unique ("a", "a_1"), or no text in A: not the cells' text
        raise _Inexact(name)
    top = pa.array([c.name if c.column_name_from == "looked_up" else None for c in columns], pa.large_string())
    filled = np.zeros(body.num_rows, dtype=bool)  # rows with a cell calamine gives as other than ""
    for j in range(body.num_columns):
        col = body.column(j)
        has = pc.is_valid(col) if not pa.types.is_string(col.type) else pc.fill_null(pc.not_equal(col, ""), False)
        filled |= has.to_numpy(zero_copy_only=False)
    rows = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
    top_text = _column_text(top)
    if top_text[0].as_py() is None:
        raise _Inexact(name)
    grid = {}
    for j in range(len(columns)):
        text = pa.concat_arrays([pa.nulls(first, pa.large_string()), top_text.slice(j, 1),
                                 _column_text(body.column(j).slice(0, rows))])
        grid[j] = pd.Series(text, dtype="str")
    return pd.DataFrame(grid)


def _column_text(col) -> "pa.Array":
    """A typed column's cells as :func:`_cell` gives them (large_string; missing as null), by column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.large_string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = col.cast(pa.large_string())
        pattern = _space_pattern()
        spaced = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(text), text) if pattern is None
                              else pc.match_substring_regex(text, pattern), False)
        if pc.any(spaced).as_py():  # the few cells with spaces around: Python's strip, as _cell
            at = np.flatnonzero(spaced.to_numpy(zero_copy_only=False))
            stripped = pa.array([text[int(i)].as_py().strip() for i in at], pa.large_string())
            text = pc.replace_with_mask(text, spaced, stripped)
        return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    if pa.types.is_floating(t):
        v = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        whole = np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 1e15)
        text = pa.array(np.where(whole, v, 0).astype(np.int64), mask=~whole).cast(pa.large_string())
        other = ~whole & ~np.isnan(v)
        if other.any():
            uniques, codes = np.unique(v[other], return_inverse=True)
            shown = pa.array([repr(float(x)) for x in uniques], pa.large_string()).take(pa.array(codes))
            text = pc.replace_with_mask(text, pa.array(other), shown)
        return text
    if pa.types.is_integer(t):
        return col.cast(pa.large_string())
    if pa.types.is_boolean(t):
        return pc.if_else(col, pa.scalar("true", pa.large_string()), pa.scalar("false", pa.large_string()))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        ms = col.cast(pa.timestamp("ms")) if pa.types.is_date(t) else col
        if ms.type.tz is not None:
            raise _Inexact("timezone")
        n = pc.cast(ms, pa.int64()).to_numpy(zero_copy_only=False).astype(float)  # NaN for missing
        n = n[~np.isnan(n)] * {"s": 1e3, "ms": 1, "us": 1e-3, "ns": 1e-6}[ms.type.unit]
        if len(n) and ((n % 86_400_000 != 0).any() or n.min() < _MARCH_1900_MS):
            raise _Inexact("a time of day, or a date before March 1900")  # cell by cell: time, timedelta
        return pc.strftime(ms, "%Y-%m-%d").cast(pa.large_string())
    raise _Inexact(str(t))


_MARCH_1900_MS = -2_203_891_200_000  # 1900-03-01 00:00 UTC, ms since 1970


def _space_pattern() -> str | None:
    """None when Arrow's ``utf8_trim_whitespace`` removes every character Python's strip removes (so a cell it
    leaves alone, Python's strip leaves alone too: a fast test for the few cells to strip); else a regular
    expression (RE2) for text that starts or ends with such a character."""
    global _SPACE
    if _SPACE == "":
        import sys

        import pyarrow as pa
        import pyarrow.compute as pc

        spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
        trimmed = pc.utf8_trim_whitespace(pa.array([c + "x" + c for c in spaces])).to_pylist()
        chars = "".join(f"\\x{{{ord(c):x}}}" for c in spaces)
        _SPACE = None if trimmed == ["x"] * len(spaces) else f"^[{chars}]|[{chars}]$"
    return _SPACE


_SPACE: str | None = ""  # not worked out yet


def _read_stat(path: Path, file: str, fmt: str) -> list[Sheet]:
    import pyreadstat

    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    try:
        frame, meta = reader(str(path), apply_value_formats=True, formats_as_category=False)
    except Exception as err:  # pyreadstat.ReadstatError and others for a damaged file
        kind = "SPSS .sav" if fmt == "sav" else "Stata .dta"
        raise _fail(file, "corrupt_file", f"cannot be read as a {kind} file ({type(err).__name__}: {err}); "
                    f"save it again from {kind.split()[0]}.") from None
    labels = [str(x) if x else "" for x in (meta.column_labels or [""] * len(meta.column_names))]
    header = [str(c) for c in meta.column_names]
    body = pd.DataFrame({i: as_text(frame.iloc[:, i]) for i in range(frame.shape[1])}, index=frame.index)
    return [Sheet(file, None, fmt, header=header, labels=labels, frame=body.reset_index(drop=True))]


def _read_parquet(path: Path, file: str) -> list[Sheet]:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
        raise _fail(file, "corrupt_file", f"cannot be read as Parquet ({type(err).__name__}: {err}).") from None
    header = [str(c).strip() for c in frame.columns]
    body = pd.DataFrame({i: as_text(frame.iloc[:, i]) for i in range(frame.shape[1])})
    return [Sheet(file, None, "parquet", header=header, frame=body.reset_index(drop=True))]


def read_file(path: Path, file: str) -> list[Sheet]:
    """Every sheet of one raw file (``file`` is its path relative to the raw folder, as messages name it).

    Raises :class:`~evalkit.errors.InputError` naming the file for one that cannot be read (encrypted,
    damaged, an encoding validation does not accept).
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, file)
    if suffix == ".xlsx":
        return _read_xlsx(path, file)
    if suffix in (".sav", ".dta"):
        return _read_stat(path, file, suffix[1:])
    if suffix == ".parquet":
        return _read_parquet(path, file)
    raise _fail(file, "format", f"has the suffix '{suffix}', which evalkit does not import; save it as "
                f"{', '.join(DATA_SUFFIXES)}, or list it under ignore in the mapping file.")


#: Raw folders with fewer bytes to read than this are read in this process: starting worker processes
#: (each imports pandas and pyarrow) costs more than it saves on a small folder.
PARALLEL_BYTES = 32_000_000


def _read_or_problem(path: Path, file: str) -> list[Sheet] | Problem:
    try:
        return read_file(path, file)
    except InputError as err:
        return err.problem


def read_files(files: list[tuple[Path, str]], workers: int | None = None) -> list[list[Sheet] | Problem]:
    """:func:`read_file` of every (path, relative name), in the given order: each file's sheets, or the
    :class:`~evalkit.errors.Problem` of the InputError that names why it cannot be read.

    A large folder (:data:`PARALLEL_BYTES` or more) is read by ``workers`` processes (default: the
    available cores, or the ``EVALKIT_IMPORT_WORKERS`` environment variable), the largest files first;
    the results are the same as reading one file after the other.
    """
    if workers is None:
        env = os.environ.get("EVALKIT_IMPORT_WORKERS", "")
        workers = int(env) if env.isdigit() and int(env) > 0 else len(os.sched_getaffinity(0)) \
            if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    sizes = [path.stat().st_size for path, _ in files]
    workers = min(workers, len(files))
    if workers <= 1 or sum(sizes) < PARALLEL_BYTES:
        return [_read_or_problem(path, file) for path, file in files]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: pyarrow's thread pools in this process would not survive a fork
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            largest_first = sorted(range(len(files)), key=lambda i: -sizes[i])
            futures = {i: pool.submit(_read_or_problem, *files[i]) for i in largest_first}
            return [futures[i].result() for i in range(len(files))]
    except BrokenProcessPool:  # workers that cannot start (a __main__ read from stdin) or were killed
        return [_read_or_problem(path, file) for path, file in files]
