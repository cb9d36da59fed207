"""Bring your own data: turn real exports (questionnaire-platform workbooks, station ledgers, SPSS and Stata
files, registers with a sheet per prefecture) into a validated, codebook-shaped data folder.

:func:`import_folder` reads every file of a raw folder (:mod:`.read`), finds each sheet's header and table
(:mod:`.locate`, :mod:`.recognise`), maps columns and values (:mod:`.mapping`, :mod:`.recode`), joins the
parts keeping every row's file, sheet and spreadsheet row, validates the result with
:func:`evalkit.schema.validate_province` and reports every problem against the original file, sheet, row
and column.  The data folder is written atomically and only when it validates; the raw folder is never
changed.  :func:`suggest` drafts a mapping file.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataValidationError, InputError, Problem
from ..io import write_atomic, write_table
from ..schema import OPTIONAL_TABLES, TABLES, table_spec, validate_province
from .locate import Part, Refused, locate
from .mapping import Mapping, Source, read_mapping
from .read import DATA_SUFFIXES, Sheet, read_file, read_files
from .recode import recode
from .summary import import_report, suggest_mapping

__all__ = ["ImportResult", "import_folder", "suggest"]

REPORT = "import-report.md"


@dataclass
class ImportResult:
    """What :func:`import_folder` did.

    Attributes
    ----------
    out_dir : Path
        The data folder written (or that would have been).
    written : bool
        True when the folder was written.
    ok : bool
        True when the imported data validate (no error).
    rows : dict
        Table -> rows written.
    problems : list of Problem
        Every problem (errors and warnings), each naming the original file, sheet, row and column.
    report : str
        The import report (Markdown; also written as ``import-report.md`` beside the data).
    seconds : float
        Time taken.
    """

    out_dir: Path
    written: bool
    ok: bool
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    report: str = ""
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass
class Assembled:
    """One table assembled from its parts: the text frame and every row's origin."""

    frame: pd.DataFrame
    parts: list[Part]
    part_of: np.ndarray           # part index of every row
    rows: np.ndarray              # spreadsheet row of every row
    changed: dict[str, dict[tuple[str, str], int]]


def _files(raw_dir: Path, mapping: Mapping, skip: set[Path]) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """The raw files to read (path, relative name), and those not read with why."""
    read, not_read = [], []
    for path in sorted(raw_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(raw_dir).as_posix()
        if any(part.startswith(".") for part in PurePosixPath(rel).parts):
            continue  # hidden files and folders (.DS_Store, .git)
        if path.resolve() in skip:
            not_read.append((rel, "the mapping file"))
            continue
        if PurePosixPath(rel).name.startswith("~$"):
            not_read.append((rel, "an Excel lock file (the workbook was open when copied)"))
            continue
        pattern = next((p for p in mapping.ignore if fnmatch.fnmatchcase(rel, p)), None)
        if pattern is not None:
            not_read.append((rel, f"ignored ({mapping.where('ignore')}: '{pattern}')"))
            continue
        if rel == "dataset.json":
            not_read.append((rel, "read as the data's description (dataset.json)"))
            continue
        if path.suffix.lower() in DATA_SUFFIXES or path.suffix.lower() == ".xls":
            read.append((path, rel))
        else:
            not_read.append((rel, f"not a data file ({path.suffix or 'no suffix'})"))
    return read, not_read


def _source_for(rel: str, sheet: str | None, mapping: Mapping) -> tuple[Source | None, bool]:
    """The [[source]] block for a file's sheet, and whether the sheet is to be read at all."""
    matching = [s for s in mapping.sources if any(fnmatch.fnmatchcase(rel, p) for p in s.files)]
    for s in matching:
        if s.sheets is None or sheet is None or sheet in s.sheets:
            return s, True
    return None, not matching


def _assemble(table: str, parts: list[Part], mapping: Mapping, problems: list[Problem]) -> Assembled:
    spec = {c["name"]: c for c in table_spec(table)["columns"]}
    order = [c for c in spec if any(c in p.columns or c in p.constants for p in parts)]
    frames, changed = [], {}
    for part in parts:
        at = ("source", part.source.position) if part.source is not None else ()
        data = {}
        n = len(part.body)
        for column in order:
            if column in part.constants:
                value = part.constants[column]
                data[column] = pd.Series([str(value)] * n, dtype="str")
                continue
            values = part.body.iloc[:, part.columns[column]].reset_index(drop=True)
            value_map = dict(mapping.values.get(column, {}))
            own = part.source.values.get(column, {}) if part.source is not None else {}
            value_map.update(own)
            result = recode(values, spec[column], value_map or None)
            for key, count in result.changed.items():
                changed.setdefault(column, {})
                changed[column][key] = changed[column].get(key, 0) + count
            for value, i in result.uncovered.items():
                map_at = ((*at, "values", column) if own else ("values", column))
                n_rows = int((values == value).sum())
                problems.append(Problem(part.where, int(part.rows[i]), part.source_column(column), value,
                                        "unmapped_value",
                                        f"'{value}' ({n_rows:,} row(s), the first on this row) is not a value of "
                                        f"'{column}', and the value map for '{column}' "
                                        f"({mapping.where(*map_at)}) does not cover it; add a line "
                                        f"\"{value}\" = ... to that map."))
            data[column] = result.values
        frames.append(pd.DataFrame(data, columns=order))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    part_of = np.repeat(np.arange(len(parts)), [len(p.body) for p in parts])
    rows = np.concatenate([p.rows for p in parts]).astype(int)
    return Assembled(frame, parts, part_of, rows, changed)


def _same_columns(table: str, parts: list[Part]) -> list[Problem]:
    """Every part of one table must fill the same codebook columns: otherwise some rows would lack values
    the others have, which is rarely what was meant."""
    out = []
    first = parts[0]
    have = set(first.columns) | set(first.constants)
    for part in parts[1:]:
        other = set(part.columns) | set(part.constants)
        if other != have:
            extra, missing = sorted(other - have), sorted(have - other)
            diff = "; ".join(x for x in (f"it has {', '.join(extra)}" if extra else "",
                                         f"it lacks {', '.join(missing)}" if missing else "") if x)
            out.append(Problem(part.where, part.header_row, (extra + missing)[0], None, "parts_differ",
                               f"holds the {table} table like {first.where}, but with other columns ({diff}). "
                               "Give every file of a table the same columns, drop the extra ones (drop = [...] in "
                               "a mapping file), or give the missing ones a constant."))
    return out


def _translate(problem: Problem, tables: dict[str, Assembled], raw_name: str) -> Problem:
    """A problem of the written folder, named against the original file, sheet, row and column."""
    name = problem.file.split(" (sheet '")[0]
    stem = name.rsplit(".", 1)[0]
    if stem not in tables:
        if name == "dataset.json":
            return Problem(f"dataset.json (from {raw_name}/dataset.json and the mapping file's [dataset])",
                           problem.row, problem.column, problem.value, problem.rule, problem.message,
                           problem.severity)
        return problem
    t = tables[stem]
    i = (problem.row - 2) if problem.row is not None else -1
    if 0 <= i < len(t.rows):
        part = t.parts[int(t.part_of[i])]
        column = part.source_column(problem.column) if problem.column else None
        return Problem(part.where, int(t.rows[i]), column, problem.value, problem.rule,
                       _rows_in_message(problem.message, t, int(t.part_of[i])), problem.severity)
    files = list(dict.fromkeys(p.where for p in t.parts))
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return Problem(f"{stem} table (from {shown})", None, problem.column, problem.value, problem.rule,
                   problem.message, problem.severity)


def _rows_in_message(message: str, t: Assembled, part: int) -> str:
    """A message's "row N" (of the written table) as the original row, with its file when another part's."""
    def one(m: re.Match) -> str:
        i = int(m.group(1)) - 2
        if not 0 <= i < len(t.rows):
            return m.group(0)
        other = int(t.part_of[i])
        return f"row {int(t.rows[i])}" + ("" if other == part else f" of {t.parts[other].where}")

    return re.sub(r"\brow (\d+)", one, message)


def _out_dir_problem(raw_dir: Path, out_dir: Path) -> str | None:
    raw, out = raw_dir.resolve(), out_dir.resolve()
    if out == raw or raw in out.parents:
        return f"the data folder {out_dir} is inside the raw folder {raw_dir}, which import never changes; " \
               "write it elsewhere."
    if out in raw.parents:
        return f"the data folder {out_dir} holds the raw folder {raw_dir}; write it elsewhere."
    if out.exists() and not out.is_dir():
        return f"{out_dir} exists and is not a folder."
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT).is_file():
        return f"the data folder {out_dir} exists and holds files that are not an earlier import; give an " \
               "empty or new folder (an earlier import, with its import-report.md, is replaced)."
    return None


def _meta(raw_dir: Path, mapping: Mapping) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    path = raw_dir / "dataset.json"
    if path.is_file():
        try:
            found = json.loads(path.read_text(encoding="utf-8-sig"))
            meta.update(found if isinstance(found, dict) else {})
        except (ValueError, UnicodeDecodeError):
            pass  # written as it is below, where validation names what is wrong with it
    meta.update(mapping.dataset)
    meta.setdefault("name", raw_dir.resolve().name)
    meta.setdefault("note", f"Imported by evalkit import from {raw_dir.resolve().name}.")
    return meta


def _gather(raw_dir: Path, mapping: Mapping, skip: set[Path]
            ) -> tuple[dict[str, list[Part]], list[Problem], list[tuple[str, str]], dict[str, list[str]]]:
    """Read and locate every sheet: the parts by table, the problems, files not read, sheets skipped."""
    files, not_read = _files(raw_dir, mapping, skip)
    problems: list[Problem] = []
    parts: dict[str, list[Part]] = {}
    skipped: dict[str, list[str]] = {}
    workbooks: dict[int, dict[str, list[str]]] = {}  # [[source]] with sheets -> the workbooks it matched
    readable = [(path, rel) for path, rel in files if path.suffix.lower() != ".xls"]
    got = dict(zip((rel for _, rel in readable), read_files(readable)))  # in parallel for a large folder
    for path, rel in files:
        if path.suffix.lower() == ".xls":
            problems.append(Problem(rel, None, None, None, "xls_workbook", "is an old-style Excel .xls workbook; "
                                    "save it as .xlsx (Excel Workbook) and import again, or ignore it."))
            continue
        sheets = got[rel]
        if isinstance(sheets, Problem):
            problems.append(sheets)
            continue
        names = [s.sheet for s in sheets if s.sheet is not None]
        for source in mapping.sources:
            if source.sheets and names and any(fnmatch.fnmatchcase(rel, p) for p in source.files):
                books = workbooks.setdefault(source.position, {})
                books[rel] = names
        for sheet in sheets:
            source, read = _source_for(rel, sheet.sheet, mapping)
            if not read:
                skipped.setdefault(rel, []).append(f"sheet '{sheet.sheet}': not among the sheets the mapping "
                                                   "file lists")
                continue
            if sheet.hidden and not (source is not None and source.sheets):
                if sheet.grid is not None and sheet.grid.notna().any(axis=None):
                    problems.append(Problem(sheet.where, None, None, None, "hidden_sheet",
                                            "is hidden and holds cells; unhide it (right-click a sheet tab, "
                                            "Unhide) to have it imported, delete it, or list the sheets to read "
                                            "(sheets = [...]) in a mapping file."))
                continue
            try:
                part = locate(sheet, source, mapping)
            except Refused as err:
                problems.extend(err.problems)
                continue
            if part is None:
                skipped.setdefault(rel, []).append(f"sheet '{sheet.sheet}': empty" if sheet.sheet else "empty")
                continue
            if part.body is None or len(part.body) == 0:  # a template not filled in yet: nothing to import
                skipped.setdefault(rel, []).append(
                    f"{'sheet ' + repr(sheet.sheet) + ': ' if sheet.sheet else ''}the {part.table} table's header "
                    f"(row {part.header_row}) but no data rows")
                continue
            parts.setdefault(part.table, []).append(part)
    for source in mapping.sources:  # a listed sheet that none of the block's workbooks has: a typo
        books = workbooks.get(source.position, {})
        seen = {name for names in books.values() for name in names}
        for wanted in (source.sheets or []) if books else []:
            if wanted not in seen:
                listed = ", ".join(f"{rel} ({', '.join(repr(n) for n in names)})" for rel, names in books.items())
                problems.append(Problem(mapping.file, mapping.line("source", source.position, "sheets"), "sheets",
                                        wanted, "mapping_sheet_missing",
                                        f"the sheet '{wanted}' is in none of the workbooks this block describes: "
                                        f"{listed[:300]}."))
    return parts, problems, not_read, skipped


def import_folder(raw_dir: str | Path, out_dir: str | Path, *, mapping: str | Path | Mapping | None = None,
                  keep_invalid: bool = False) -> ImportResult:
    """Import every raw export in ``raw_dir`` into the codebook-shaped data folder ``out_dir``.

    Reads CSV (UTF-8 or GB18030), every sheet holding data of ``.xlsx`` workbooks, SPSS ``.sav`` and
    Stata ``.dta`` (value labels applied) and Parquet; recognises each sheet's table and columns (English
    names or Chinese labels of data/README.md, question numbers and punctuation ignored) or follows the
    mapping file; recodes Likert and code-list texts; drops questionnaire platforms' personal-data columns
    (IP, nickname, phone, WeChat, location, device) and bookkeeping; joins the parts; validates the result.

    Parameters
    ----------
    raw_dir : str or Path
        The folder of raw exports; never changed.
    out_dir : str or Path
        The data folder to write: ``regions/stations/services/survey.parquet`` (and the optional tables
        found), ``dataset.json`` and ``import-report.md``.  Written only when the data validate (all at
        once: a temporary folder renamed into place); an earlier import there is replaced.
    mapping : path or Mapping, optional
        A mapping file (``MAP.toml``, see data/README.md, "Importing raw exports").
    keep_invalid : bool
        Write the folder even when the data do not validate (with the problems in the report).

    Returns
    -------
    ImportResult

    Raises
    ------
    InputError
        When the mapping file is wrong (naming its line) or the folders cannot be used.
    DataValidationError
        When anything cannot be imported or the result does not validate (and ``keep_invalid`` is false);
        every problem names the original file, sheet, row and column.  Nothing is written.
    """
    t0 = time.perf_counter()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        raise InputError(Problem(str(raw_dir), None, None, None, "missing_dir",
                                 f"the raw folder {raw_dir} does not exist."))
    why = _out_dir_problem(raw_dir, out_dir)
    if why:
        raise InputError(Problem(str(out_dir), None, None, None, "out_dir", why))
    skip: set[Path] = set()
    if isinstance(mapping, (str, Path)):
        skip.add(Path(mapping).resolve())
        mapping = read_mapping(mapping)
    mapping = mapping or Mapping()
    parts, problems, not_read, skipped = _gather(raw_dir, mapping, skip)
    for table, group in parts.items():
        problems.extend(_same_columns(table, group))
    for table in TABLES:
        if table not in parts and not any(p.severity == "error" for p in problems):
            problems.append(Problem(str(raw_dir), None, None, None, "missing_table",
                                    f"no file in {raw_dir} holds the {table} table: its files must have the "
                                    f"columns {', '.join(c for c in _required(table))[:200]} (by English name or "
                                    "Chinese label), or be described in a mapping file."))
    tables: dict[str, Assembled] = {}
    if not any(p.severity == "error" for p in problems):
        for table in (*TABLES, *OPTIONAL_TABLES):
            if table in parts:
                tables[table] = _assemble(table, parts[table], mapping, problems)
    written = ok = False
    typed: dict[str, pd.DataFrame] = {}
    tmp = out_dir.parent / f".{out_dir.name}.import-{os.getpid()}.tmp"
    try:
        if tables and not any(p.severity == "error" for p in problems):
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for table, t in tables.items():  # text, uncompressed: read back once, by validation
                _write_text(t.frame, tmp / f"{table}.parquet")
            write_atomic(tmp / "dataset.json", json.dumps(_meta(raw_dir, mapping), ensure_ascii=False, indent=2))
            typed, found, _, _ = validate_province(tmp)
            problems.extend(_translate(p, tables, raw_dir.name) for p in found)
        ok = bool(tables) and not any(p.severity == "error" for p in problems)
        rows = {t: len(x.frame) for t, x in tables.items()}
        report = import_report(raw_dir, mapping, tables, problems, not_read, skipped, ok)
        if ok or (keep_invalid and tmp.is_dir()):
            if ok:
                for table, frame in typed.items():  # the validated, typed tables replace the text read
                    write_table(frame.apply(lambda s: s.astype("str") if isinstance(s.dtype, pd.CategoricalDtype)
                                            else s), tmp / f"{table}.parquet", metadata={"imported": "true"})
            write_atomic(tmp / REPORT, report)
            _replace(tmp, out_dir)
            written = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = ImportResult(out_dir, written, ok, rows, problems, report, time.perf_counter() - t0)
    if not ok and not keep_invalid:
        err = DataValidationError(problems)
        err.result = result  # type: ignore[attr-defined]  (the CLI prints its report)
        raise err
    return result


def _write_text(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="none")


def _required(table: str) -> list[str]:
    return [c["name"] for c in table_spec(table)["columns"] if c.get("required", True)]


def _replace(tmp: Path, out_dir: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``out_dir`` (an earlier import there is removed)."""
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out_dir)


def suggest(raw_dir: str | Path, *, mapping: str | Path | None = None) -> str:
    """Draft a mapping file for ``raw_dir``: one [[source]] block per file (or group of files with the same
    headers), every header matched to the codebook column it most resembles with the confidence as a
    comment, unmatched columns listed, personal-data columns listed under drop.  The user edits rather than
    writes; the draft parses as TOML.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise InputError(Problem(str(raw_dir), None, None, None, "missing_dir",
                                 f"the raw folder {raw_dir} does not exist."))
    skip = {Path(mapping).resolve()} if mapping else set()
    files, not_read = _files(raw_dir, Mapping(), skip)
    sheets: list[Sheet] = []
    unreadable: list[Problem] = []
    for path, rel in files:
        try:
            sheets.extend(read_file(path, rel))
        except InputError as err:
            unreadable.append(err.problem)
    return suggest_mapping(raw_dir, sheets, not_read, unreadable)
