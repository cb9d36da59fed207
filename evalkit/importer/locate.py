"""Find the header of a sheet, which codebook column each source column fills and which table the sheet
holds, following the mapping file where it says and the recognition rules (:mod:`.recognise`) elsewhere.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem
from .mapping import Mapping, Source, column_ref
from .read import Sheet
from .recognise import ALL_TABLES, aliases, codebook_matches, normalise, personal_reason, required

__all__ = ["Part", "letter", "locate", "Refused", "find_header_row", "HEADER_SEARCH_ROWS"]

HEADER_SEARCH_ROWS = 20


class Refused(Exception):
    """Raised when a sheet cannot be imported as it is; carries the problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def letter(position: int) -> str:
    """The spreadsheet letter of a 0-based column position.

    >>> letter(0), letter(27)
    ('A', 'AB')
    """
    n, out = position + 1, ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass
class Part:
    """One sheet (or file) read as part of one table."""

    sheet: Sheet
    table: str
    source: Source | None
    header_row: int
    headers: list[str]
    columns: dict[str, int]                     # codebook column -> 0-based source position
    how: dict[str, str]                         # codebook column -> how it was matched
    constants: dict[str, Any]
    dropped: list[tuple[str, str]] = field(default_factory=list)   # (source header, reason)
    body: pd.DataFrame | None = None            # data rows, positional columns, text
    rows: np.ndarray | None = None              # spreadsheet row of every body row

    @property
    def where(self) -> str:
        return self.sheet.where

    def source_column(self, column: str) -> str:
        """The source column that fills codebook ``column``, as messages name it."""
        if column in self.columns:
            j = self.columns[column]
            header = self.headers[j] or f"column {letter(j)}"
            return header if header == column else f"{header} ({column})"
        if column in self.constants:
            return f"{column} (constant)"
        return column


def find_header_row(grid: pd.DataFrame, source: Source | None, file: str) -> int | None:
    """0-based index of the header row: the row among the first that names most codebook columns (or
    mapped headers); None when no row names any."""
    if source is not None and source.header_row is not None:
        return source.header_row - 1
    wanted = set(aliases())
    if source is not None:
        wanted |= {normalise(ref) for ref in source.columns.values() if column_ref(ref)[0] == "header"}
    head = grid.head(HEADER_SEARCH_ROWS)
    best, best_score = None, 0
    for i, row in enumerate(head.itertuples(index=False)):
        score = sum(1 for v in row if isinstance(v, str) and normalise(v) in wanted and normalise(v))
        if score > best_score:
            best, best_score = i, score
    if best is None and source is not None and source.columns:  # columns by letter or position only
        filled = np.flatnonzero(head.notna().any(axis=1).to_numpy())
        best = int(filled[0]) if filled.size else None
    return best


def _resolve(ref: str, headers: list[str], labels: list[str] | None) -> tuple[list[int], str]:
    kind, value = column_ref(ref)
    if kind in ("position", "letter"):
        return ([value - 1] if 1 <= value <= len(headers) else []), kind
    exact = [j for j, h in enumerate(headers) if h.strip() == value.strip()]
    if exact:
        return exact, "header"
    same = [j for j, h in enumerate(headers) if normalise(h) == normalise(value) and normalise(h)]
    if not same and labels:
        same = [j for j, h in enumerate(labels) if h and normalise(h) == normalise(value)]
    return same, "header"


def locate(sheet: Sheet, source: Source | None, mapping: Mapping) -> Part | None:
    """The part of a table that ``sheet`` holds, or None for an empty sheet; raise :class:`Refused` with
    every problem when the sheet cannot be read as one table."""
    where = sheet.where
    problems: list[Problem] = []
    at = ("source", source.position) if source is not None else ()

    if sheet.grid is not None:
        grid = sheet.grid
        if grid.empty or grid.isna().all(axis=None):
            return None
        h = find_header_row(grid, source, sheet.file)
        if h is None:
            first = " | ".join(str(v) for v in grid.dropna(how="all").iloc[0].dropna())[:80]
            raise Refused([Problem(where, None, None, first, "no_table",
                                   f"matches no table: no row among the first {HEADER_SEARCH_ROWS} names a "
                                   f"codebook column (the first row with cells reads '{first}'). Rename the "
                                   "headers as in data/README.md, map them in a mapping file (evalkit import "
                                   "--suggest drafts one), list the sheets to read (sheets = [...]), or list the "
                                   "file under ignore.")])
        if h >= len(grid):
            raise Refused([Problem(mapping.file, mapping.line(*at, "header_row"), "header_row", str(h + 1),
                                   "mapping_header_row", f"{where} has no row {h + 1} (header_row).")])
        headers = [v.strip() if isinstance(v, str) else "" for v in grid.iloc[h]]
        body = grid.iloc[h + 1:]
        keep = body.notna().any(axis=1).to_numpy()
        rows = body.index.to_numpy()[keep] + 1
        body = body.loc[keep].reset_index(drop=True)
        body.columns = range(body.shape[1])
        header_row = h + 1
        labels = None
    else:
        headers = list(sheet.header or [])
        labels = sheet.labels
        body = sheet.frame if sheet.frame is not None else pd.DataFrame()
        rows = np.arange(len(body)) + 2
        header_row = 1

    table = source.table if source is not None else None
    constants = dict(source.constants) if source is not None else {}
    # 1. columns the mapping file names
    explicit: dict[str, int] = {}
    how: dict[str, str] = {}
    refused_columns: set[str] = set()
    for column, ref in (source.columns.items() if source is not None else ()):
        found, kind = _resolve(ref, headers, labels)
        line = mapping.line(*at, "columns", column)
        if not found:
            refused_columns.add(column)
            close = difflib.get_close_matches(ref, [x for x in headers if x], n=2, cutoff=0.5)
            hint = (f" Headers like it: {', '.join(repr(c) for c in close)}." if close else
                    f" Its headers are: {', '.join(repr(x) for x in headers if x)[:300]}.")
            what = (f"has no column {ref}" if kind != "header" else f"has no column with the header '{ref}'")
            problems.append(Problem(mapping.file, line, column, ref, "mapping_column_not_in_source",
                                    f"'{column}' is mapped to '{ref}', but {where} {what} (header row "
                                    f"{header_row}).{hint if kind == 'header' else ''}"))
            continue
        if len(found) > 1:
            refused_columns.add(column)
            problems.append(Problem(where, header_row, ref, ref, "duplicate_header",
                                    f"the header '{ref}' appears {len(found)} times (columns "
                                    f"{', '.join(letter(j) for j in found)}), so '{column}' ({mapping.file} line "
                                    f"{line}) could come from either; rename one, or map it by letter (\"C\")."))
            continue
        twice = next((c for c, j in explicit.items() if j == found[0]), None)
        if twice is not None:
            refused_columns.add(column)
            problems.append(Problem(mapping.file, line, column, ref, "header_two_columns",
                                    f"'{column}' and '{twice}' ({mapping.where(*at, 'columns', twice)}) are both "
                                    f"mapped to the source column '{headers[found[0]] or letter(found[0])}' (column "
                                    f"{letter(found[0])} of {where}); one source column fills one codebook column."))
            continue
        explicit[column] = found[0]
        how[column] = f"{mapping.file} line {line}"
    drops: set[int] = set()
    for ref in (source.drop if source is not None else ()):
        found, _ = _resolve(ref, headers, labels)
        drops.update(found)

    # 2. the rest by name or Chinese label
    matches: dict[int, set[tuple[str, str]]] = {}
    for j, header in enumerate(headers):
        if j in explicit.values() or j in drops or not header:
            continue
        found = codebook_matches(header, table)
        if not found and labels and labels[j]:
            found = codebook_matches(labels[j], table)
        if found:
            matches[j] = found

    # 3. which table
    if table is None:
        found_in = {t: {c for m in matches.values() for (tt, c) in m if tt == t} | set(explicit) | set(constants)
                    for t in ALL_TABLES}
        candidates = [t for t in ALL_TABLES if found_in[t] and set(required(t)) <= found_in[t]]
        if not candidates:
            if problems:
                raise Refused(problems)
            share = {t: len(set(required(t)) & found_in[t]) / len(required(t)) for t in ALL_TABLES}
            closest = max(ALL_TABLES, key=lambda t: share[t])
            missing = [c for c in required(closest) if c not in found_in[closest]]
            hint = (f" It comes closest to the {closest} table, which also needs "
                    f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}." if share[closest] > 0 else
                    " None of its headers names a codebook column.")
            raise Refused([Problem(where, header_row, None, None, "no_table",
                                   f"matches no table.{hint} Rename the headers as in data/README.md, map them "
                                   "in a mapping file ([[source]] with table = ...; evalkit import --suggest "
                                   "drafts one), or list the file under ignore.")])
        # the table whose columns found include every other candidate's (a survey's respondent_id alone
        # would make it a list of reviewed comments too); else the sheet is two tables at once
        top = [t for t in candidates if all(found_in[o] <= found_in[t] for o in candidates)]
        if len(top) != 1:
            top = candidates
            raise Refused([Problem(where, header_row, None, None, "two_tables",
                                   f"matches more than one table ({', '.join(top)}): its headers name the "
                                   "required columns of each. Say which it is with a [[source]] block "
                                   "(table = ...) in a mapping file.")])
        table = top[0]
    spec_cols = [c["name"] for c in _spec(table)]
    for column in explicit:
        if column not in spec_cols:
            problems.append(Problem(mapping.file, mapping.line(*at, "columns", column), column, column,
                                    "mapping_unknown_column", f"'{column}' is not a column of the {table} table, "
                                    f"which {where} holds."))

    # 4. one source column per codebook column, one codebook column per source column
    columns = dict(explicit)
    dropped: list[tuple[str, str]] = []
    dropped_at: set[int] = set()
    filled_by: dict[str, list[int]] = {}
    contested: set[str] = set(refused_columns)  # columns already refused (two sources): not also reported missing
    for j, found in matches.items():
        cols = sorted(c for (t, c) in found if t == table)
        if not cols:
            continue
        if len(cols) > 1:
            contested.update(cols)
            problems.append(Problem(where, header_row, headers[j], headers[j], "header_two_columns",
                                    f"the header '{headers[j]}' (column {letter(j)}) names two codebook columns of "
                                    f"the {table} table ({', '.join(cols)}); map it to one in a mapping file."))
            continue
        if cols[0] in explicit or cols[0] in constants:
            dropped_at.add(j)
        if cols[0] in explicit:
            dropped.append((headers[j], f"'{cols[0]}' is filled from "
                            f"'{headers[explicit[cols[0]]] or letter(explicit[cols[0]])}' ({how[cols[0]]})"))
            continue
        if cols[0] in constants:
            dropped.append((headers[j], f"'{cols[0]}' is a constant ({mapping.where(*at, 'constants', cols[0])})"))
            continue
        filled_by.setdefault(cols[0], []).append(j)
    for column, js in filled_by.items():
        if len(js) > 1:
            contested.add(column)
            named = ", ".join(f"'{headers[j]}' (column {letter(j)})" for j in js)
            if len({headers[j] for j in js}) == 1:
                problems.append(Problem(where, header_row, headers[js[0]], headers[js[0]], "duplicate_header",
                                        f"the header '{headers[js[0]]}' appears {len(js)} times (columns "
                                        f"{', '.join(letter(j) for j in js)}); keep one, or map one by letter in a "
                                        "mapping file and drop the other."))
            else:
                problems.append(Problem(where, header_row, column, None, "two_columns_one_column",
                                        f"{named} all name the codebook column '{column}'; keep one, or say "
                                        "which in a mapping file ([source.columns] and drop)."))
            continue
        columns[column] = js[0]
        header = headers[js[0]]
        how[column] = "English name" if normalise(header) == normalise(column) else (
            "Chinese label" if header == (labels or headers)[js[0]] or labels is None else "variable label")
    # 5. required columns
    for column in required(table):
        if column not in columns and column not in constants and column not in contested:
            close = difflib.get_close_matches(column, [h for h in headers if h], n=1)
            hint = f" (is '{close[0]}' meant?)" if close else ""
            problems.append(Problem(where, header_row, column, None, "missing_column",
                                    f"the {table} table needs the column '{column}' ({_zh(table, column)}), which "
                                    f"is not found{hint}: rename a header, map it in a mapping file "
                                    "([source.columns]) or give it a constant ([source.constants])."))
    if problems:
        raise Refused(problems)
    # 6. the columns not imported, and why
    used = set(columns.values())
    drop_line = mapping.where(*at, "drop")
    for j, header in enumerate(headers):
        if j in used or j in dropped_at:
            continue
        if j in drops:
            reason = f"dropped by the mapping file ({drop_line})"
        elif not header:
            if body.shape[1] > j and body.iloc[:, j].notna().any():
                reason = f"column {letter(j)} has values but no header"
            else:
                continue
        else:
            reason = personal_reason(header) or (personal_reason(labels[j]) if labels and labels[j] else None)
            reason = (f"personal data: {reason}" if reason and reason != "platform metadata" else reason) or \
                f"not a column of the {table} table"
        dropped.append((header or f"column {letter(j)}", reason))
    return Part(sheet, table, source, header_row, headers, columns, how, constants, dropped, body, rows)


def _spec(table: str) -> list[dict]:
    from ..schema import table_spec

    return table_spec(table)["columns"]


def _zh(table: str, column: str) -> str:
    return next(c["zh"] for c in _spec(table) if c["name"] == column)
