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


def _calamine_sheets(path: Path) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Every worksheet as a grid of text cells, read with calamine (Rust; some 50 times faster than openpyxl
    on a large ledger), and the hidden sheets' names.  Grid row ``i`` is spreadsheet row ``i + 1``, column
    ``j`` is column ``j`` from A, as with :func:`evalkit.io.read_sheets`."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    book = CalamineWorkbook.from_path(str(path))
    try:
        sheets, hidden = {}, set()
        for meta in book.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
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
