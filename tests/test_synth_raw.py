"""`evalkit synth --raw`: the sample province written the way real exports look (issue 18).

These tests read the raw folder back with a reader of their own that follows the mapping contract of
data/README.md ("Importing raw exports") word for word (openpyxl, pyreadstat and pandas, nothing from
evalkit's importer), so they say whether the raw sample holds exactly the clean sample's values,
whatever the importer does; tests/test_import_roundtrip.py runs the importer itself.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from evalkit.cli import main
from evalkit.schema import codes, table_spec
from evalkit.synth import generate
from evalkit.synth_raw import write_raw

SEED = 7


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("raw") / "exports"
    write_raw(folder, seed=SEED, size="small")
    return folder


@pytest.fixture(scope="module")
def clean() -> dict[str, pd.DataFrame]:
    return generate(seed=SEED, size="small")


# -- an independent reader of the contract ---------------------------------------------------------------

_LIKERT = {"非常满意": 5, "满意": 4, "一般": 3, "不满意": 2, "非常不满意": 1, "不知道": 8, "说不清": 8, "拒绝回答": 9}


def _norm(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = re.sub(r"^(q?\d+[、.．])", "", text)
    return re.sub(r"[\s_\W]", "", text)


def _sheets(path: Path, header_row: int | None) -> list[tuple[str, list, list[list]]]:
    """(sheet, header, rows) of every data sheet of a file, in workbook order."""
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, encoding="gb18030", keep_default_na=False)
        return [("", list(frame.columns), frame.to_numpy().tolist())]
    if path.suffix == ".sav":
        frame, _ = pyreadstat.read_sav(path, apply_value_formats=True)
        return [("", list(frame.columns), frame.astype(object).to_numpy().tolist())]
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    for ws in book.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        h = (header_row or 1) - 1
        header = rows[h]
        out.append((ws.title, header, [r + [None] * (len(header) - len(r)) for r in rows[h + 1:]]))
    book.close()
    return out


def _typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Cells to the codebook's types, with the contract's value rules."""
    out = {}
    for col in table_spec(table)["columns"]:
        name, kind = col["name"], col["kind"]
        if name not in frame:
            continue
        s = frame[name].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) or v == "" else v)
        if kind == "likert":
            s = s.map(lambda v: _LIKERT.get(v, v)).astype("int64")
        elif kind == "category":
            labels = {lab[k]: code for code, lab in codes(col["codes"]).items() for k in ("en", "zh")}
            s = s.map(lambda v: labels.get(v, v))
        elif kind == "date":
            s = pd.to_datetime(s.map(_date))
        elif kind == "int":
            s = s.astype("int64")
        elif kind == "float":
            s = s.astype("float64")
        out[name] = s
    return pd.DataFrame(out)


def _date(v: object) -> dt.datetime:
    if isinstance(v, (dt.datetime, dt.date)):
        return dt.datetime(v.year, v.month, v.day)
    y, m, d = (int(x) for x in re.findall(r"\d+", str(v)))
    return dt.datetime(y, m, d)


def read_raw_folder(folder: Path) -> dict[str, pd.DataFrame]:
    mapping = tomllib.loads((folder / "mapping.toml").read_text(encoding="utf-8"))
    assert mapping["version"] == 1
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    files = [f for f in files if not any(fnmatch(f, pat) for pat in mapping["ignore"])
             and f not in ("mapping.toml", "dataset.json")]  # the mapping file itself; the data's description
    parts: dict[str, list[pd.DataFrame]] = {}
    used = set()
    for source in mapping["source"]:
        matched = [f for f in files if fnmatch(f, source["files"])]
        assert matched, source["files"]
        used.update(matched)
        zh = {_norm(c["zh"]): c["name"] for c in table_spec(source["table"])["columns"]}
        zh.update({_norm(c["name"]): c["name"] for c in table_spec(source["table"])["columns"]})
        by_header = {h: c for c, h in source.get("columns", {}).items()}
        for f in matched:
            for _, header, rows in _sheets(folder / f, source.get("header_row")):
                names = [by_header.get(h) or zh.get(_norm(h)) for h in header]
                frame = pd.DataFrame(rows, columns=[n or f"?{i}" for i, n in enumerate(names)], dtype=object)
                frame = frame[[n for n in names if n]]
                for c, v in source.get("constants", {}).items():
                    frame[c] = v
                parts.setdefault(source["table"], []).append(frame)
    assert used == set(files), set(files) - used
    out = {}
    for table, frames in parts.items():
        cols = [c["name"] for c in table_spec(table)["columns"]]
        frame = pd.concat(frames, ignore_index=True)
        out[table] = _typed(table, frame)[[c for c in cols if c in frame]]
    return out


# -- the tests ------------------------------------------------------------------------------------------

def test_raw_folder_holds_the_clean_tables_exactly(raw: Path, clean: dict[str, pd.DataFrame]) -> None:
    """Read through mapping.toml, every table equals generate()'s (survey and stations in the same order)."""
    tables = read_raw_folder(raw)
    assert sorted(tables) == ["regions", "services", "stations", "survey"]
    for name, expected in clean.items():
        got = tables[name]
        if name in ("regions", "services"):  # one file per county / one sheet per prefecture: other order
            key = table_spec(name)["key"]
            got = got.sort_values(key, ignore_index=True)
            expected = expected.sort_values(key, ignore_index=True)
        expected = expected.astype({c: "datetime64[ns]" for c in expected if expected[c].dtype.kind == "M"})
        got = got.astype({c: "datetime64[ns]" for c in got if got[c].dtype.kind == "M"})
        got = got.astype({c: object for c in got if expected[c].dtype == object or str(expected[c].dtype) == "str"})
        expected = expected.astype({c: object for c in expected if str(expected[c].dtype) == "str"})
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                      check_exact=True, check_dtype=False, obj=name)


def test_raw_folder_looks_like_real_exports(raw: Path, clean: dict[str, pd.DataFrame]) -> None:
    survey = sorted(p.name for p in (raw / "问卷").iterdir())
    assert survey == ["满意度调查-2023.sav", "满意度调查-2024.xlsx", "满意度调查-2025.xlsx"]
    ledgers = sorted((raw / "服务台账").iterdir())
    assert len(ledgers) == clean["services"]["county_code"].nunique()
    assert {p.suffix for p in ledgers} == {".xlsx", ".csv"}
    book = openpyxl.load_workbook(next(p for p in ledgers if p.suffix == ".xlsx"), read_only=True)
    assert book.sheetnames == [f"{y}年{h}半年" for y in (2023, 2024, 2025) for h in "上下"]
    book = openpyxl.load_workbook(raw / "区划与重点人群登记.xlsx", read_only=True)
    assert book.sheetnames == clean["regions"].drop_duplicates("prefecture_code")["prefecture_name_zh"].tolist()

    # platform export: numbered question headers, text answers, the platform's personal-data columns
    _, header, rows = _sheets(raw / "问卷" / "满意度调查-2024.xlsx", None)[0]
    assert header[:8] == ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来源IP", "微信昵称", "手机号"]
    assert "9、您对社工的服务态度是否满意？" in header
    answers = {r[header.index("7、总的来说，您对社工站提供的服务是否满意？")] for r in rows}
    assert answers <= set(_LIKERT) and {"非常满意", "说不清"} <= answers
    assert all(re.fullmatch(r"1\d{2}\*{4}\d{4}", r[7]) for r in rows)  # masked: no real number in the sample
    assert "year" not in header and "年度" not in header

    # SPSS: numeric answers carrying value labels
    frame, meta = pyreadstat.read_sav(raw / "问卷" / "满意度调查-2023.sav")
    assert meta.variable_value_labels["Q7"][5.0] == "非常满意"
    assert meta.column_names_to_labels["Q9"] == "9、您对社工的服务态度是否满意？"
    assert set(frame["Q7"].unique()) <= {1, 2, 3, 4, 5, 8, 9}

    # stations: opening dates written four ways
    cells = [r[3] for _, _, rows in _sheets(raw / "社工站基本情况.xlsx", None) for r in rows]
    kinds = {"excel" if isinstance(c, dt.datetime) else "zh" if "年" in c else "slash" if "/" in c else "iso"
             for c in cells}
    assert kinds == {"excel", "zh", "slash", "iso"}


def test_synth_raw_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: Path) -> None:
    assert main(["synth", "--raw", str(tmp_path / "r"), "--size", "small", "--seed", str(SEED)]) == 0
    assert "mapping.toml" in capsys.readouterr().out
    for path in sorted(raw.rglob("*")):
        if path.is_file() and path.suffix in (".toml", ".csv", ".json", ".txt"):
            assert (tmp_path / "r" / path.relative_to(raw)).read_bytes() == path.read_bytes(), path
    assert main(["synth"]) == 1
    assert "OUT_DIR" in capsys.readouterr().err
