"""What an import did, for a user to check (``import-report.md``), and the draft mapping file of
``evalkit import --suggest``."""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Problem, escape_controls
from ..schema import table_spec
from .locate import HEADER_SEARCH_ROWS, find_header_row, letter
from .mapping import Mapping
from .read import Sheet
from .recognise import ALL_TABLES, fuzzy, personal_reason, required

if TYPE_CHECKING:
    from . import Assembled

__all__ = ["import_report", "suggest_mapping", "import_rules_markdown", "update_import_rules", "IMPORT_BEGIN",
           "IMPORT_END"]


#: Recodings listed per column in the import report (the most frequent; the rest are counted).
RECODES_SHOWN = 30


def _cell(text: Any) -> str:
    return escape_controls(str(text)).replace("|", "\\|")


def import_report(raw_dir: Path, mapping: Mapping, tables: dict[str, "Assembled"], problems: list[Problem],
                  not_read: list[tuple[str, str]], skipped: dict[str, list[str]], ok: bool) -> str:
    """The import report as Markdown: per table the files and sheets read, rows in and out, the columns
    mapped and from what, the values recoded (counts per mapping) and the columns dropped with the reason;
    then the files not read and the problems."""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    how = f"with the mapping file {mapping.path.name}" if mapping.path else "without a mapping file"
    out = ["# Import report", "",
           f"Imported from `{raw_dir}` {how}.",
           f"Result: {'valid' if ok else f'NOT valid: {len(errors)} error(s)'}; {len(warnings)} warning(s).", ""]
    for table, t in tables.items():
        out += [f"## {table}", "", f"{len(t.frame):,} rows in, {len(t.frame):,} rows out, from {len(t.parts)} "
                f"file(s) or sheet(s).", "", "| file | sheet | header row | rows |", "| --- | --- | --- | --- |"]
        out += [f"| {_cell(p.sheet.file)} | {_cell(p.sheet.sheet or '')} | {p.header_row} | {len(p.body):,} |"
                for p in t.parts]
        out += ["", "Columns:", "", "| column | from | how |", "| --- | --- | --- |"]
        for column in t.frame.columns:
            sources = Counter()
            for p in t.parts:
                if column in p.constants:
                    sources[(f"constant {p.constants[column]!r}", "mapping file")] += 1
                else:
                    sources[(p.headers[p.columns[column]] or f"column {letter(p.columns[column])}",
                             p.how.get(column, ""))] += 1
            shown = "; ".join(f"'{_cell(src)}'" + (f" ({n} parts)" if n > 1 and len(sources) > 1 else "")
                              for (src, _), n in sources.items())
            hows = ", ".join(dict.fromkeys(h for (_, h) in sources))
            out.append(f"| `{column}` | {shown} | {_cell(hows)} |")
        if t.changed:
            out += ["", "Values recoded:", "", "| column | source value | codebook value | rows |",
                    "| --- | --- | --- | --- |"]
            for column, changes in t.changed.items():  # the most frequent first; a column of dates has many
                ranked = sorted(changes.items(), key=lambda x: -x[1])
                out += [f"| `{column}` | {_cell(a)} | {_cell(b)} | {n:,} |" for (a, b), n in ranked[:RECODES_SHOWN]]
                if len(ranked) > RECODES_SHOWN:
                    rest = ranked[RECODES_SHOWN:]
                    out.append(f"| `{column}` | ... {len(rest):,} more values | | {sum(n for _, n in rest):,} |")
        dropped = [(p.where, h, why) for p in t.parts for h, why in p.dropped]
        if dropped:
            out += ["", "Columns dropped (not imported):", "", "| file | column | reason |", "| --- | --- | --- |"]
            grouped: dict[tuple[str, str], list[str]] = {}
            for where, h, why in dropped:
                grouped.setdefault((h, why), []).append(where)
            for (h, why), wheres in grouped.items():
                shown = ", ".join(wheres[:3]) + (f" and {len(wheres) - 3} more" if len(wheres) > 3 else "")
                out.append(f"| {_cell(shown)} | {_cell(h)} | {_cell(why)} |")
        out.append("")
    if not_read or skipped:
        out += ["## Not read", "", "| file | why |", "| --- | --- |"]
        out += [f"| {_cell(f)} | {_cell(why)} |" for f, why in not_read]
        out += [f"| {_cell(f)} | {_cell(why)} |" for f, whys in skipped.items() for why in whys]
        out.append("")
    if errors or warnings:
        out += ["## Problems", ""]
        out += [f"- {'ERROR' if p.severity == 'error' else 'warning'}: {_cell(p)}" for p in (errors + warnings)[:200]]
        if len(errors) + len(warnings) > 200:
            out.append(f"- ... and {len(errors) + len(warnings) - 200} more")
        out.append("")
    return "\n".join(out)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _headers(sheet: Sheet) -> tuple[list[str], list[str] | None, int]:
    if sheet.grid is None:
        return list(sheet.header or []), sheet.labels, 1

    grid = sheet.grid
    h = find_header_row(grid, None, sheet.file)
    if h is None:
        filled = [i for i, full in enumerate(grid.head(HEADER_SEARCH_ROWS).notna().any(axis=1)) if full]
        h = filled[0] if filled else 0
    return [v.strip() if isinstance(v, str) else "" for v in grid.iloc[h]], None, h + 1


def _choose(headers: list[str], labels: list[str] | None) -> tuple[str | None, dict[int, tuple[str, float]]]:
    """The table the headers most resemble, and each header's best column of it (position -> column, confidence)."""
    best: dict[int, list[tuple[str, str, float]]] = {}
    for j, h in enumerate(headers):
        found = fuzzy(h) if h else []
        if labels and labels[j]:
            found = sorted(found + fuzzy(labels[j]), key=lambda x: -x[2])
        best[j] = found
    score = {}
    for t in ALL_TABLES:  # each column of the table counts once, with its best header's confidence
        per_column: dict[str, float] = {}
        for found in best.values():
            for tt, column, s in found:
                if tt == t and s >= 0.6:
                    per_column[column] = max(per_column.get(column, 0.0), s)
        score[t] = sum(per_column.values())
    table = max(ALL_TABLES, key=lambda t: score[t])
    if score[table] == 0:
        return None, {}
    # each header to one column and each column to one header, best confidence first (a header's second
    # choice is taken when its first went to a header that matches it better)
    pairs = sorted(((s, j, column) for j, found in best.items() for t, column, s in found if t == table
                    and not (personal_reason(headers[j]) and s < 1.0)), key=lambda x: (-x[0], x[1]))
    claims: dict[str, tuple[int, float]] = {}
    taken: set[int] = set()
    for s, j, column in pairs:
        if column not in claims and j not in taken:
            claims[column] = (j, s)
            taken.add(j)
    return table, {j: (column, s) for column, (j, s) in claims.items()}


def suggest_mapping(raw_dir: Path, sheets: list[Sheet], not_read: list[tuple[str, str]],
                    unreadable: list[Problem]) -> str:
    """The draft mapping file (see :func:`evalkit.importer.suggest`)."""
    today = _dt.date.today().isoformat()
    out = [f"# evalkit import mapping for {raw_dir.name}, drafted by `evalkit import --suggest` on {today}.",
           "# Check every line (the confidence of each match is in its comment), then run",
           f"#   evalkit import {raw_dir} -o DATA_DIR --map MAP.toml",
           "# The file is documented in data/README.md, section \"Importing raw exports\".",
           "version = 1"]
    ignore = [f for f, why in not_read if why.startswith("not a data file")]
    out.append(f"ignore = [{', '.join(_toml_string(f) for f in ignore)}]  # files not read (glob patterns)")
    for p in unreadable:
        out.append(f"# cannot be read: {escape_controls(str(p))}")
    groups: dict[tuple, list[Sheet]] = {}
    info: dict[tuple, tuple] = {}
    data_sheets: dict[str, set[str]] = {}
    for sheet in sheets:
        if sheet.grid is not None and (sheet.grid.empty or sheet.grid.isna().all(axis=None)):
            continue
        if sheet.sheet is not None:
            data_sheets.setdefault(sheet.file, set()).add(sheet.sheet)
        headers, labels, header_row = _headers(sheet)
        key = (tuple(headers), header_row)
        groups.setdefault(key, []).append(sheet)
        info[key] = (headers, labels, header_row)
    for key, members in groups.items():
        headers, labels, header_row = info[key]
        table, chosen = _choose(headers, labels)
        files = list(dict.fromkeys(s.file for s in members))
        data_sheets.update({f: data_sheets.get(f, set()) for f in files})
        names = list(dict.fromkeys(s.sheet for s in members if s.sheet is not None))
        out.append("")
        prefix = "" if table else "# "
        if not table:
            out.append("# No table recognised in the file(s) below: name the table, map the columns, or ignore them.")
        out.append(f"{prefix}[[source]]")
        out.append(f"{prefix}files = [{', '.join(_toml_string(f) for f in files)}]")
        out.append(f"{prefix}table = {_toml_string(table or 'survey')}  # one of {', '.join(ALL_TABLES)}")
        if names and any(data_sheets[f] - set(names) for f in files):  # only when a file is split over blocks
            out.append(f"{prefix}sheets = [{', '.join(_toml_string(n) for n in names)}]")
        out.append(f"{prefix}header_row = {header_row}")
        used = {j for j, _ in chosen.items()}
        drop = [(j, h, personal_reason(h) or (personal_reason(labels[j]) if labels and labels[j] else None))
                for j, h in enumerate(headers) if h and j not in used]
        dropped = [(j, h, why) for j, h, why in drop if why]
        if dropped:
            out.append(f"{prefix}drop = [{', '.join(_toml_string(h) for _, h, _ in dropped)}]  # "
                       + "; ".join(f"{h}: {why}" for _, h, why in dropped))
        out.append(f"{prefix}[source.columns]")
        for j, (column, conf) in sorted(chosen.items(), key=lambda x: x[0]):
            label = f"; SPSS/Stata label {labels[j]!r}" if labels and labels[j] else ""
            out.append(f"{prefix}{column} = {_toml_string(headers[j])}  # column {letter(j)}, confidence "
                       f"{conf:.2f}{label}")
        unmatched = [(j, h) for j, h, why in drop if not why]
        if unmatched:
            out.append("# not matched to any codebook column (map them above, or add them to drop):")
            out += [f"#   {_toml_string(h)} (column {letter(j)})" for j, h in unmatched]
        if table:
            have = {c for c, _ in chosen.values()}
            missing = [c for c in required(table) if c not in have]
            if missing:
                out.append(f"# {table} columns not found: map them, or give each a constant below "
                           f"({', '.join(missing)})")
                out.append("[source.constants]")
                zh = {c['name']: c['zh'] for c in table_spec(table)['columns']}
                out += [f"# {c} = ...  # {zh[c]}" for c in missing]
    return "\n".join(out) + "\n"


IMPORT_BEGIN = "<!-- import-rules:begin (generated by `make codebook` from evalkit/importer; do not edit) -->"
IMPORT_END = "<!-- import-rules:end -->"


def import_rules_markdown() -> str:
    """The recognition rules of ``evalkit import`` as Markdown (a generated part of data/README.md, "Importing
    raw exports"): the columns dropped as personal data or platform bookkeeping, and the answer texts
    recoded."""
    from .recode import CATEGORY_ALIASES, LIKERT_TEXTS
    from .recognise import PERSONAL_COLUMNS, PLATFORM_COLUMNS

    out = ["Columns dropped unless the mapping file maps them (headers compared as above; a short header that "
           "contains one of the Chinese spellings counts too, e.g. 您的手机号码):", "",
           "| reason | headers |", "| --- | --- |"]
    out += [f"| personal data: {reason} | {', '.join(f'`{n}`' for n in names)} |"
            for reason, names in PERSONAL_COLUMNS.items()]
    out.append(f"| platform metadata | {', '.join(f'`{n}`' for n in PLATFORM_COLUMNS)} |")
    out += ["", "Likert answers (besides 1-5, 8, 9 and the labels of the `likert` codes below):", "",
            "| code | texts |", "| --- | --- |"]
    by_code: dict[int, list[str]] = {}
    for text, code in LIKERT_TEXTS.items():
        by_code.setdefault(code, []).append(text)
    out += [f"| {code} | {', '.join(f'`{t}`' for t in texts)} |" for code, texts in sorted(by_code.items())]
    out += ["", "Code-list values: the code, its English or Chinese label (the `Codes:` tables below), or one "
            "of these short forms:", "", "| list | text | code |", "| --- | --- | --- |"]
    out += [f"| `{name}` | {text} | `{code}` |" for name, aliases in CATEGORY_ALIASES.items()
            for text, code in aliases.items()]
    return "\n".join(out) + "\n"


def update_import_rules(path: str | Path) -> bool:
    """Rewrite the generated import-rules part of ``path`` (data/README.md); return True if it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if IMPORT_BEGIN not in text:
        return False
    head, rest = text.split(IMPORT_BEGIN, 1)
    _, tail = rest.split(IMPORT_END, 1)
    new = f"{head}{IMPORT_BEGIN}\n\n{import_rules_markdown()}\n{IMPORT_END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
