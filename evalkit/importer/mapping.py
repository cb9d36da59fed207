"""The mapping file (``MAP.toml``): which raw files hold which table, which source column fills which
codebook column, value maps, constants and files to ignore (documented in data/README.md, "Importing raw
exports").

:mod:`tomllib` gives no line numbers for keys, so :class:`Lines` finds each key's line in the text itself:
every message about the mapping file names its line.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..schema import OPTIONAL_TABLES, TABLES, table_spec

__all__ = ["Mapping", "Source", "Lines", "read_mapping", "column_ref"]

ALL_TABLES = (*TABLES, *OPTIONAL_TABLES)
TOP_KEYS = ("version", "ignore", "values", "source", "dataset")
SOURCE_KEYS = ("files", "table", "sheets", "header_row", "columns", "constants", "values", "drop")

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY_PART = rf"\s*(?:{_BARE}|{_QUOTED})\s*"
_DOTTED = rf"{_KEY_PART}(?:\.{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*(\[\[|\[)({_DOTTED})(\]\]|\])\s*(?:#.*)?$")
_KEY_LINE = re.compile(rf"^({_DOTTED})=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(rf"{_QUOTED}|{_BARE}", dotted)
    return tuple(tomllib.loads(f"k = {p}")["k"] if p[0] in "\"'" else p for p in parts)


class Lines:
    """Where each table header and key of a TOML text is: ``line(("source", 2, "columns", "q_overall"))``.

    Paths into an array of tables carry the element's position (0-based), as in the parsed document.  A key
    of an inline table (``columns = { a = "x" }``) is found on the line of its parent key.
    """

    def __init__(self, text: str):
        self._at: dict[tuple, int] = {}
        table: tuple = ()
        arrays: dict[tuple, int] = {}
        for n, line in enumerate(text.splitlines(), start=1):
            m = _HEADER.match(line)
            if m:
                names = _split_key(m.group(2))
                resolved: list = []
                plain: list = []
                for j, name in enumerate(names):  # a sub-table of an array of tables belongs to its last element
                    resolved.append(name)
                    plain.append(name)
                    if j == len(names) - 1 and m.group(1) == "[[":
                        arrays[tuple(plain)] = arrays.get(tuple(plain), -1) + 1
                        resolved.append(arrays[tuple(plain)])
                    elif tuple(plain) in arrays:
                        resolved.append(arrays[tuple(plain)])
                resolved = tuple(resolved)
                table = resolved
                self._at.setdefault(table, n)
                continue
            m = _KEY_LINE.match(line.lstrip())
            if m and not line.lstrip().startswith("#"):
                key = (*table, *_split_key(m.group(1)))
                self._at.setdefault(key, n)
                inline = line[line.index("=") + 1:]
                if inline.strip().startswith("{"):  # keys of an inline table: on this line
                    for k in re.findall(rf"(?:^|[{{,])\s*({_BARE}|{_QUOTED})\s*=", inline.strip()):
                        self._at.setdefault((*key, *_split_key(k)), n)

    def line(self, path: tuple) -> int | None:
        """The line of ``path``, or of its nearest enclosing key or table found."""
        for end in range(len(path), 0, -1):
            if path[:end] in self._at:
                return self._at[path[:end]]
        return None


@dataclass
class Source:
    """One ``[[source]]`` block: a group of raw files and how to read them."""

    position: int                       # 0-based, as in the document
    files: list[str]
    table: str | None = None
    sheets: list[str] | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)


@dataclass
class Mapping:
    """A mapping file read and checked (``Mapping()`` is the empty mapping: everything recognised)."""

    file: str = "MAP.toml"
    path: Path | None = None
    ignore: list[str] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    lines: Lines = field(default_factory=lambda: Lines(""))

    def line(self, *path: Any) -> int | None:
        """The line of a key of this file (see :class:`Lines`)."""
        return self.lines.line(tuple(path))

    def where(self, *path: Any) -> str:
        """'MAP.toml line 12' for messages about a key, or 'MAP.toml' when no line is known."""
        n = self.line(*path)
        return f"{self.file} line {n}" if n else self.file


def _codebook_columns(table: str | None) -> list[str]:
    tables = [table] if table else ALL_TABLES
    return list(dict.fromkeys(c["name"] for t in tables for c in table_spec(t)["columns"]))


def column_ref(ref: str) -> tuple[str, Any]:
    """How a ``[source.columns]`` value names a source column: ``("position", 3)`` for ``"#3"``, ``("letter",
    3)`` for ``"C"``, else ``("header", text)``.

    >>> column_ref("#3"), column_ref("AB"), column_ref("答卷编号")
    (('position', 3), ('letter', 28), ('header', '答卷编号'))
    """
    text = ref.strip()
    if re.fullmatch(r"#\d+", text):
        return "position", int(text[1:])
    if re.fullmatch(r"[A-Z]{1,3}", text):
        n = 0
        for ch in text:
            n = n * 26 + ord(ch) - 64
        return "letter", n
    return "header", ref


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; raise :class:`~evalkit.errors.InputError` naming the line of its first
    problem (a TOML syntax error, an unknown key, table or codebook column, a value of the wrong type)."""
    path = Path(path)
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(Problem(file, None, None, None, "mapping_encoding",
                                 "is not UTF-8 text; save it as UTF-8.")) from None
    except OSError as err:
        raise InputError(Problem(file, None, None, None, "mapping_missing",
                                 f"cannot be read ({err.strerror}): {path}.")) from None
    return parse_mapping(text, file, path)


def parse_mapping(text: str, file: str = "MAP.toml", path: Path | None = None) -> Mapping:
    """:func:`read_mapping` on the text of a mapping file."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
        line = int(m.group(1)) if m else None
        raise InputError(Problem(file, line, None, None, "mapping_syntax",
                                 f"is not valid TOML: {err}. Strings need double quotes; each key once per "
                                 "table.")) from None
    lines = Lines(text)
    mapping = Mapping(file=file, path=path, lines=lines)

    def fail(key_path: tuple, rule: str, message: str, value: Any = None) -> InputError:
        shown = None if value is None else str(value)
        key = ".".join(str(k) for k in key_path if not isinstance(k, int)) or None
        return InputError(Problem(file, lines.line(key_path), key, shown, rule, message))

    def unknown(key_path: tuple, key: str, known: tuple[str, ...] | list[str], what: str) -> InputError:
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(known)}."
        return fail((*key_path, key), "mapping_unknown_key", f"'{key}' is not {what}{hint}", key)

    def strings(value: Any, key_path: tuple, what: str) -> list[str]:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key_path, "mapping_type", f"{what} must be a string or a list of strings in double quotes.",
                       value)
        return value

    def value_maps(doc_values: Any, key_path: tuple, table: str | None, source: Source | None) -> dict:
        if not isinstance(doc_values, dict):
            raise fail(key_path, "mapping_type", "value maps are tables: [values.COLUMN] with \"source value\" = "
                       "codebook value lines.")
        known = _codebook_columns(table)
        out = {}
        for column, mapping_ in doc_values.items():
            if column not in known:
                raise unknown(key_path, column, known, f"a column of the {table or 'codebook'} table"
                              + ("" if table else "s"))
            if not isinstance(mapping_, dict):
                raise fail((*key_path, column), "mapping_type", f"the value map of '{column}' must be a table of "
                           "\"source value\" = codebook value.", mapping_)
            _take_drop(mapping_, source, (*key_path, column))
            for k, v in mapping_.items():
                if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                    raise fail((*key_path, column, k), "mapping_type", f"'{k}' must map to a codebook value (a "
                               "number or a string in double quotes).", v)
            out[column] = {str(k).strip(): v for k, v in mapping_.items()}
        return out

    def _take_drop(table_: dict, source: Source | None, key_path: tuple) -> None:
        # `drop = [...]` written after a [source.values.X] or [source.columns] header belongs, in TOML, to that
        # table; it is meant for the source (a codebook column is never named "drop")
        if source is not None and isinstance(table_.get("drop"), list):
            source.drop.extend(strings(table_.pop("drop"), (*key_path, "drop"), "drop"))

    for key in doc:
        if key not in TOP_KEYS:
            raise unknown((), key, TOP_KEYS, "a key of the mapping file")
    version = doc.get("version", 1)
    if version != 1:
        raise fail(("version",), "mapping_version", f"version {version!r} is not one this evalkit reads; write "
                   "version = 1.", version)
    mapping.ignore = strings(doc.get("ignore", []), ("ignore",), "ignore")
    mapping.values = value_maps(doc.get("values", {}), ("values",), None, None)
    dataset = doc.get("dataset", {})
    if not isinstance(dataset, dict):
        raise fail(("dataset",), "mapping_type", "[dataset] is a table of dataset.json keys (name, lonely_psu, "
                   "...).", dataset)
    mapping.dataset = dataset
    blocks = doc.get("source", [])
    if not isinstance(blocks, list):
        raise fail(("source",), "mapping_type", "sources are written [[source]] (two brackets), one block per "
                   "group of files.")
    for i, block in enumerate(blocks):
        at = ("source", i)
        for key in block:
            if key not in SOURCE_KEYS:
                raise unknown(at, key, SOURCE_KEYS, "a key of a [[source]] block")
        if "files" not in block:
            raise fail(at, "mapping_files", "this [[source]] block has no files = \"pattern\": say which files of "
                       "RAW_DIR it describes.")
        source = Source(position=i, files=strings(block["files"], (*at, "files"), "files"))
        table = block.get("table")
        if table is not None and table not in ALL_TABLES:
            raise fail(
                (*at, "table"), "mapping_table", f"'{table}' is not a table; use one of {', '.join(ALL_TABLES)}.",
                table)
        source.table = table
        if "sheets" in block:
            source.sheets = strings(block["sheets"], (*at, "sheets"), "sheets")
        if "header_row" in block:
            hr = block["header_row"]
            if not isinstance(hr, int) or isinstance(hr, bool) or hr < 1:
                raise fail((*at, "header_row"), "mapping_type", "header_row is the spreadsheet row number of the "
                           "header (1 for the first row), without quotes.", hr)
            source.header_row = hr
        columns = block.get("columns", {})
        if not isinstance(columns, dict):
            raise fail((*at, "columns"), "mapping_type", "[source.columns] is a table of codebook column = "
                       "\"source header\" lines.", columns)
        _take_drop(columns, source, (*at, "columns"))
        known = _codebook_columns(table)
        for column, ref in columns.items():
            if column not in known:
                raise unknown((*at, "columns"), column, known,
                              f"a column of the {table} table" if table else "a codebook column")
            if not isinstance(ref, str) or not ref.strip():
                raise fail((*at, "columns", column), "mapping_type", f"'{column}' must name a source column: its "
                           "header text, its letter (\"C\") or its position (\"#3\"), in double quotes.", ref)
        source.columns = dict(columns)
        constants = block.get("constants", {})
        if not isinstance(constants, dict):
            raise fail((*at, "constants"), "mapping_type", "[source.constants] is a table of codebook column = "
                       "value lines.", constants)
        _take_drop(constants, source, (*at, "constants"))
        for column, value in constants.items():
            if column not in known:
                raise unknown((*at, "constants"), column, known,
                              f"a column of the {table} table" if table else "a codebook column")
            if isinstance(value, (dict, list)) or isinstance(value, bool):
                raise fail((*at, "constants", column), "mapping_type", f"the constant for '{column}' must be one "
                           "number or string.", value)
            if column in source.columns:
                raise fail((*at, "constants", column), "mapping_twice", f"'{column}' is both mapped to a source "
                           f"column ({mapping.where(*at, 'columns', column)}) and given a constant; keep one.")
        source.constants = dict(constants)
        source.values = value_maps(block.get("values", {}), (*at, "values"), table, source)
        source.drop.extend(strings(block.get("drop", []), (*at, "drop"), "drop"))
        mapping.sources.append(source)
    return mapping
