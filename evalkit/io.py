"""Read input tables from CSV (UTF-8, UTF-8 with BOM, GB18030), Excel ``.xlsx`` and Parquet.

Reading is deliberately dumb: cells come back as text (Parquet keeps its own
types), with the spreadsheet row number of every record, so that
:mod:`evalkit.schema` can say exactly where a value is wrong.  Anything that
stops a file being read at all (an unknown encoding, a title row above the
header, an empty file) raises :class:`~evalkit.errors.InputError` naming the
file and the fix.

A workbook may hold the table on several sheets with the same columns (one per half-year, one per
prefecture): they are read whole and concatenated, each record keeping its sheet for messages
(``RawTable.sheets``); a workbook whose sheets would have to be guessed at is refused naming them.
"""

from __future__ import annotations

import csv
import io as _io
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from .errors import InputError, Problem

__all__ = [
    "FORMATS",
    "RawTable",
    "atomic_path",
    "detect_encoding",
    "find_table",
    "read_raw",
    "read_sheets",
    "replace_section",
    "write_atomic",
    "write_table",
]

#: File suffixes evalkit reads, in the order they are looked for.
FORMATS = (".csv", ".xlsx", ".parquet")

_HEADER_SEARCH_ROWS = 10


@dataclass
class RawTable:
    """A table as read from disk, before validation.

    Attributes
    ----------
    frame : pandas.DataFrame
        The cells; text for CSV and Excel, native types for Parquet.  Column
        names are stripped of surrounding spaces.  Fully blank rows are dropped,
        the index is kept.
    rows : pandas.Series
        Spreadsheet row number of every record in ``frame`` (same index).
    file : str
        The file name shown in messages.
    path : pathlib.Path
        Where the file is.
    header_row : int
        Spreadsheet row number of the header.
    encoding : str or None
        Text encoding detected for CSV files.
    sheets : pandas.Series or None
        For a table read from several sheets of one workbook, the sheet of every record
        (same index as ``frame``); ``None`` when the table came from one sheet or file.
    notes : list of Problem
        Warnings about the reading itself (sheets skipped), for the validation report.
    """

    frame: pd.DataFrame
    rows: pd.Series
    file: str
    path: Path
    header_row: int
    encoding: str | None = None
    sheets: pd.Series | None = None
    notes: list[Problem] = field(default_factory=list)


def _fail(file: str, rule: str, message: str, row: int | None = None,
          column: str | None = None, value: str | None = None) -> InputError:
    return InputError(Problem(file, row, column, value, rule, message))


def detect_encoding(data: bytes, file: str = "<bytes>") -> str:
    """Tell the text encoding of a CSV file: ``utf-8``, ``utf-8-sig`` or ``gb18030``.

    UTF-8 is tried first because random non-UTF-8 bytes almost never decode as
    valid UTF-8; GB18030 (a superset of GBK and GB2312, what Chinese Excel
    writes by default) next, accepted only if the decoded non-ASCII text is
    mostly Chinese characters and punctuation.  Anything else is refused with a
    message saying how to re-save the file.

    Examples
    --------
    >>> detect_encoding("县,乡镇".encode("gb18030"))
    'gb18030'
    >>> detect_encoding(b"\\xef\\xbb\\xbfcounty_code")
    'utf-8-sig'
    """
    fix = "save it from Excel as 'CSV UTF-8 (comma delimited)'"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(file, "encoding", "is UTF-16 text (it starts with a UTF-16 byte-order mark, as Excel's "
                    f"'Unicode Text' export writes); {fix}.")
    if data.startswith(b"PK\x03\x04"):
        raise _fail(file, "format", "is an Excel workbook (.xlsx) with a .csv name; rename it to .xlsx "
                    "or export it as CSV.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(file, "format", "is an old-style Excel .xls workbook; save it as .xlsx or as CSV UTF-8.")
    if b"\x00" in data[:4096]:
        raise _fail(file, "encoding", f"contains NUL bytes: it is UTF-16 text without a byte-order mark or "
                    f"not a text file at all; {fix}.")
    try:
        data.decode("utf-8")
        return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _fail(file, "encoding", f"is neither UTF-8 nor GB18030 text (undecodable bytes "
                    f"{data[err.start:err.start + 2].hex(' ')} on line {line}); {fix}.", row=line) from None
    non_ascii = _ASCII_RUN.sub("", text)  # regular expressions scan in C: no Python loop per character
    other = _CHINESE_RUN.sub("", non_ascii)  # the non-ASCII characters that are not Chinese (_is_chinese)
    chinese = len(non_ascii) - len(other)
    if non_ascii and chinese / len(non_ascii) < 0.9:
        sample = other[:10]
        raise _fail(file, "encoding", f"is not UTF-8, and read as GB18030 it gives garbled characters "
                    f"({sample!r}); it may be Big5, Shift-JIS or Latin-1; {fix}.")
    return "gb18030"


_ASCII_RUN = re.compile(r"[\x00-\x7f]+")
# the characters _is_chinese accepts, as one class
_CHINESE_RUN = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\u3000-\u303f\uff00-\uffef\u2000-\u206f"
                          "\U00020000-\U0002ffff\u00b7\u00d7]+")


def _is_chinese(c: str) -> bool:
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x3000 <= o <= 0x303F
            or 0xFF00 <= o <= 0xFFEF or 0x2000 <= o <= 0x206F or 0x20000 <= o <= 0x2FFFF
            or o in (0x00B7, 0x00D7))


def find_table(data_dir: str | Path, table: str) -> Path:
    """Return the one file holding ``table`` in ``data_dir`` (``table.csv``, ``.xlsx`` or ``.parquet``).

    Raises :class:`~evalkit.errors.InputError` when there is none or more than one.
    """
    data_dir = Path(data_dir)
    found = [data_dir / f"{table}{ext}" for ext in FORMATS if (data_dir / f"{table}{ext}").is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise _fail(table, "ambiguous", f"table '{table}' is in more than one file ({names}) in {data_dir}; "
                    "keep exactly one.")
    if not found:
        other = sorted(p.name for p in data_dir.glob(f"{table}.*"))
        hint = f" ({', '.join(other)} found: save as .csv, .xlsx or .parquet)" if other else ""
        raise _fail(f"{table}.csv", "missing_table", f"table '{table}' was not found in {data_dir}: expected "
                    f"{table}.csv, {table}.xlsx or {table}.parquet{hint}.")
    return found[0]


def _find_header(first_rows: list[list[str]], expected: Sequence[str], file: str) -> int:
    """Index of the header among the first rows, or an InputError explaining why not."""
    want = {c.lower() for c in expected}

    def hits(row: list[str]) -> int:
        return sum(1 for cell in row if str(cell).strip().lower() in want)

    if not first_rows:
        raise _fail(file, "empty_file", "is empty: it has no header and no rows.")
    threshold = max(1, len(want) // 2)
    if hits(first_rows[0]) >= threshold:
        return 0
    for i, row in enumerate(first_rows[1:_HEADER_SEARCH_ROWS + 1], start=1):
        if hits(row) >= threshold:
            above = " | ".join(str(c) for c in first_rows[0] if str(c).strip())[:80]
            raise _fail(file, "title_row", f"has {i} row(s) above the header (row 1 reads '{above}'); the header "
                        f"is on row {i + 1}. Delete the rows above the header and save again.", row=1,
                        value=above)
    first = " | ".join(str(c) for c in first_rows[0])[:80]
    delim = ""
    if len(first_rows[0]) == 1 and re.search(r"[;\t|]", first):
        delim = " The row has no commas: the file seems to use another delimiter; save it as comma-separated CSV."
    raise _fail(file, "no_header", f"has no header row naming the expected columns; row 1 reads '{first}'. "
                f"Expected columns such as {', '.join(list(expected)[:4])}.{delim}", row=1, value=first)


def _check_columns_unique(header: list[str], file: str, header_row: int) -> None:
    seen: set[str] = set()
    for col in header:
        if col in seen and col:
            raise _fail(file, "duplicate_column", f"has the column '{col}' twice in its header; keep one.",
                        row=header_row, column=col, value=col)
        seen.add(col)


def _read_csv(path: Path, expected: Sequence[str]) -> RawTable:
    data = path.read_bytes()
    file = path.name
    if not data.strip():
        raise _fail(file, "empty_file", "is empty: it has no header and no rows.")
    encoding = detect_encoding(data, file)
    text = data.decode(encoding)
    if "\ufeff" in text:
        line = text.count("\n", 0, text.index("\ufeff")) + 1
        raise _fail(file, "stray_bom", f"has a byte-order mark inside the text on line {line} (two files pasted "
                    "together?); remove it and save again.", row=line)
    first_rows = list(csv.reader(_io.StringIO("\n".join(text.splitlines()[: _HEADER_SEARCH_ROWS + 2]))))
    header_idx = _find_header(first_rows, expected, file)
    try:
        frame = pd.read_csv(_io.StringIO(text), header=None, skiprows=header_idx, dtype=str,
                            keep_default_na=False, na_values=[""], skip_blank_lines=True)
    except pd.errors.ParserError as err:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if m:
            expected_n, line, saw = (int(g) for g in m.groups())
            raise _fail(file, "ragged_row", f"row {line + header_idx} has {saw} fields but the header has "
                        f"{expected_n}: a stray comma, or text with a comma that is not in quotes.",
                        row=line + header_idx) from None
        raise _fail(file, "csv_syntax", f"cannot be parsed as CSV: {err}") from None
    return _finish(frame, file, path, header_idx + 1, encoding)


def _finish(frame: pd.DataFrame, file: str, path: Path, header_row: int, encoding: str | None) -> RawTable:
    header = [str(c).strip() if not pd.isna(c) else "" for c in frame.iloc[0]] if len(frame) else []
    _check_columns_unique(header, file, header_row)
    body = frame.iloc[1:]
    body.columns = header
    if "" in header:
        empty_named = body.loc[:, [c == "" for c in header]]
        if empty_named.notna().any(axis=None):
            raise _fail(file, "unnamed_column", "has a column with values but no name in the header row; name it "
                        "or delete it.", row=header_row)
        body = body.loc[:, [c != "" for c in header]]
    for col in body.columns:
        body[col] = body[col].str.strip().replace("", pd.NA)
    # frame row i sits on spreadsheet row header_row + i (frame row 0 is the header)
    rows = pd.Series(body.index.to_numpy() + header_row, index=body.index)
    blank = body.isna().all(axis=1)
    body, rows = body.loc[~blank], rows.loc[~blank]
    if body.empty:
        raise _fail(file, "no_rows", "has a header but no data rows.", row=header_row)
    body = body.reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    return RawTable(body, rows, file, path, header_row, encoding)


def _header_of(frame: pd.DataFrame) -> list[str]:
    return [str(c).strip() for c in frame.iloc[0] if not pd.isna(c) and str(c).strip()]


def _cell_text(v: object) -> object:
    """One cell's value as text, as ``pandas.read_excel(dtype=str)`` gives it, except error values.

    pandas turns a cell holding an Excel error (``#N/A``, ``#DIV/0!``) into an empty cell, which would
    then read as "a value is required" or, in an optional column, as nothing at all; here it stays
    the text ``#N/A`` for validation to refuse by name.
    """
    if v is None or v == "":
        return np.nan
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _workbook_cells(path: Path) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Every worksheet of the workbook as a frame of text cells (no header), and the hidden sheets' names."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets, hidden = {}, set()
        for ws in book.worksheets:
            if ws.sheet_state != "visible":
                hidden.add(ws.title)
            ws.reset_dimensions()  # declared dimensions can be wrong; let openpyxl find the extent
            rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            while rows and all(not isinstance(v, str) for v in rows[-1]):
                rows.pop()  # trailing empty rows
            width = max((len(r) for r in rows), default=0)
            sheets[ws.title] = pd.DataFrame([r + [np.nan] * (width - len(r)) for r in rows], dtype=object)
        return sheets, hidden
    finally:
        book.close()


def read_sheets(path: str | Path) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Every worksheet of an ``.xlsx`` workbook as a frame of text cells, no header taken (row ``i`` of a frame
    is spreadsheet row ``i + 1``), and the names of the hidden sheets; Excel error values stay as their text
    (``#N/A``).  The raw material of :func:`evalkit.import_folder`, which finds headers itself.
    """
    return _workbook_cells(Path(path))


def _read_excel(path: Path, expected: Sequence[str], table: str) -> RawTable:
    """Read the table from a workbook: one sheet, or several sheets with the same columns.

    Every sheet is looked at.  Sheets with no cells, and sheets with no header naming the
    table's columns (a notes or README sheet), are skipped with a warning.  The sheets left are
    the data sheets: one is read as it is; several with the same columns (a ledger with a sheet
    per half-year, a register with a sheet per prefecture) are read in workbook order and
    concatenated, each record keeping its sheet and row for messages.  A workbook where the
    reading would be a guess is refused, naming the sheets: data sheets with different columns,
    a sheet named like the table beside other data sheets, or a hidden sheet with the header.
    """
    file = path.name
    try:
        book, hidden = _workbook_cells(path)
    except Exception as err:  # openpyxl raises many types for a damaged workbook
        raise _fail(file, "excel", f"cannot be opened as an Excel workbook ({type(err).__name__}: {err}).") from None
    if not book:
        raise _fail(file, "empty_file", "has no sheets.")
    data: dict[str, tuple[pd.DataFrame, int]] = {}  # sheet -> (frame from its header on, header index)
    skipped: dict[str, str] = {}
    first_error: InputError | None = None
    for sheet, frame in book.items():
        if frame.empty or frame.isna().all(axis=None):
            skipped[sheet] = "it is empty"
            continue
        first_rows = frame.head(_HEADER_SEARCH_ROWS + 1).fillna("").astype(str).to_numpy().tolist()
        try:
            header_idx = _find_header(first_rows, expected, f"{file} (sheet '{sheet}')")
        except InputError as err:
            if err.problem.rule != "no_header":
                raise  # a title row above the header: a data sheet, refused as it is
            first_error = first_error or err
            skipped[sheet] = "it has no header row naming the table's columns"
            continue
        body = frame.iloc[header_idx:].reset_index(drop=True)
        if body.iloc[1:].isna().all(axis=None):
            skipped[sheet] = "it has a header but no data rows"
            if len(book) == 1:
                data[sheet] = (body, header_idx)  # the only sheet: refused below as having no rows
            continue
        data[sheet] = (body, header_idx)
    if not data:
        if first_error is not None and len(book) == 1:
            raise first_error
        if first_error is not None:
            listed = "; ".join(f"'{s}': {why}" for s, why in skipped.items())
            raise _fail(file, "no_data_sheet", f"has no sheet holding the {table} table ({listed}). Expected a header "
                        f"with columns such as {', '.join(list(expected)[:4])}.")
        if len(book) == 1 or all(why == "it is empty" for why in skipped.values()):
            raise _fail(file, "empty_file", f"sheet '{next(iter(book))}' is empty: it has no header and no rows."
                        if len(book) == 1 else "has only empty sheets: no header and no rows.")
        raise _fail(file, "no_rows", "has a header but no data rows (on every sheet).")
    sheets = list(data)
    secret = [s for s in sheets if s in hidden]
    if secret:  # an old copy kept out of sight, or part of the table: reading or skipping it would be a guess
        raise _fail(file, "hidden_sheet", f"has the {table} table's header on the hidden sheet(s) "
                    f"{', '.join(repr(s) for s in secret)}; unhide them (right-click a sheet tab, Unhide) to have them "
                    "read with the others, or delete them.")
    if len(sheets) > 1 and table in sheets:
        others = ", ".join(f"'{s}'" for s in sheets if s != table)
        raise _fail(file, "ambiguous_sheets", f"has a sheet named '{table}' and other sheets with the table's header "
                    f"({others}): it is not clear whether '{table}' is the whole table or one part of it. Keep the "
                    "table on one sheet, or split it over sheets none of which is named like the table.")
    if len(sheets) > 1:
        columns = {s: _header_of(body) for s, (body, _) in data.items()}
        reference = columns[sheets[0]]
        for s in sheets[1:]:
            if sorted(columns[s]) != sorted(reference):
                missing = [c for c in reference if c not in columns[s]]
                extra = [c for c in columns[s] if c not in reference]
                diff = "; ".join(part for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"extra {', '.join(extra)}" if extra else "") if part)
                listed = ", ".join(repr(x) for x in sheets)
                raise _fail(file, "sheets_differ", f"has the {table} table on sheets {listed}, "
                            f"but sheet '{s}' has other columns than sheet '{sheets[0]}' ({diff}). Give every sheet "
                            "the same columns, or keep the table on one sheet.")
    notes = [Problem(file, None, None, sheet, "sheet_skipped", f"sheet '{sheet}' was not read: {why}.", "warning")
             for sheet, why in skipped.items()]
    parts = []
    for sheet, (body, header_idx) in data.items():
        try:
            part = _finish(body, file, path, header_idx + 1, None)
        except InputError as err:
            if len(data) == 1:
                raise
            p = err.problem
            raise InputError(Problem(f"{file} (sheet '{sheet}')", p.row, p.column, p.value, p.rule,
                                     p.message)) from None
        parts.append((sheet, part))
    if len(parts) == 1:
        raw = parts[0][1]
        raw.notes = notes
        return raw
    frame = pd.concat([p.frame for _, p in parts], ignore_index=True)
    rows = pd.concat([p.rows for _, p in parts], ignore_index=True)
    sheet_of = pd.Series(np.repeat([s for s, _ in parts], [len(p.frame) for _, p in parts]), index=frame.index)
    notes.append(Problem(file, None, None, None, "sheets_combined",
                         f"the table is read from {len(parts)} sheets with the same columns: "
                         + ", ".join(f"'{s}' ({len(p.frame):,} rows)" for s, p in parts) + ".", "warning"))
    return RawTable(frame, rows, file, path, parts[0][1].header_row, None, sheet_of, notes)


def _read_parquet(path: Path) -> RawTable:
    file = path.name
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
        raise _fail(file, "parquet", f"cannot be read as Parquet ({type(err).__name__}: {err}).") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_columns_unique(list(frame.columns), file, 1)
    if frame.empty:
        raise _fail(file, "no_rows", "has columns but no data rows.", row=1)
    frame = frame.reset_index(drop=True)
    rows = pd.Series(frame.index.to_numpy() + 2, index=frame.index)
    return RawTable(frame, rows, file, path, 1, None)


def read_raw(path: str | Path, expected: Sequence[str], table: str | None = None) -> RawTable:
    """Read one table file without interpreting its values.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.xlsx`` or ``.parquet`` file.
    expected : sequence of str
        The column names the table should have; used to find the header row.
    table : str, optional
        The table's name (default: the file name without suffix).  A workbook is read from every
        sheet with the table's header (see :func:`_read_excel`); a sheet named like the table beside
        other such sheets is refused as ambiguous.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, expected)
    if suffix == ".xlsx":
        return _read_excel(path, expected, table or path.stem)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise _fail(path.name, "format", f"has the unsupported suffix '{suffix}'; use .csv, .xlsx or .parquet.")


def write_table(frame: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8",
                metadata: dict[str, str] | None = None) -> Path:
    """Write ``frame`` as CSV, Excel or Parquet (by suffix), atomically.

    The file appears complete or not at all: it is written beside the target
    and renamed into place.  ``metadata`` goes into Parquet's key-value
    metadata (e.g. ``{"synthetic": "true"}``); CSV and Excel carry none.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False, encoding=encoding, date_format="%Y-%m-%d")
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=False, engine="openpyxl", sheet_name=path.stem[:31])
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            meta = dict(arrow.schema.metadata or {})
            meta.update({f"evalkit.{k}".encode(): str(v).encode() for k, v in (metadata or {}).items()})
            pq.write_table(arrow.replace_schema_metadata(meta), tmp, compression="zstd")
        else:
            raise ValueError(f"Cannot write '{path.name}': use a .csv, .xlsx or .parquet suffix.")
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file name beside ``path``, renamed onto ``path`` when the block succeeds.

    Readers see the old file or the complete new one, never a partial write; on an error the
    temporary file is removed and ``path`` is untouched.  The name carries the process id, so
    processes writing the same file do not trample each other's temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def replace_section(path: str | Path, begin: str, end: str, body: str) -> bool:
    """Rewrite the generated part of the text file ``path`` between the marker lines ``begin`` and ``end``
    with ``body``; return True if the file changed (False, untouched, when it lacks the markers)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n\n{body}\n{end}{tail}"
    if new != text:
        write_atomic(path, new)
    return new != text
