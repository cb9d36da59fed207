"""Round trip (issue 18): the sample province written as raw exports (`evalkit synth --raw`) and imported
(`evalkit import ... --map mapping.toml`) gives the clean sample's tables and an identical indicator table.

The raw folder holds the survey as platform workbooks with text answers and one SPSS wave, the ledgers as
a workbook per county (one county a GB18030 CSV), the registers with a sheet per prefecture and the
stations with dates written four ways; the clean folder is `evalkit synth` with the same seed and size.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import evalkit
from evalkit.cli import main
from evalkit.indicators import indicator_table
from evalkit.schema import TABLES, table_spec


def _round_trip(tmp: Path, size: str) -> tuple[evalkit.Province, evalkit.Province, Path]:
    raw, clean, imported = tmp / "raw", tmp / "clean", tmp / "imported"
    assert main(["synth", str(clean), "--raw", str(raw), "--size", size]) == 0
    before = sorted((p.relative_to(raw), p.stat().st_mtime_ns) for p in raw.rglob("*"))
    assert main(["import", str(raw), "-o", str(imported), "--map", str(raw / "mapping.toml")]) == 0
    assert sorted((p.relative_to(raw), p.stat().st_mtime_ns) for p in raw.rglob("*")) == before  # untouched
    return evalkit.load_province(clean), evalkit.load_province(imported), imported


def _same(clean: evalkit.Province, imported: evalkit.Province) -> None:
    for table in TABLES:
        got, expected = getattr(imported, table), getattr(clean, table)
        if table in ("regions", "services"):  # a sheet per prefecture, a file per county: rows in another order
            key = table_spec(table)["key"]
            got = got.sort_values(key, ignore_index=True)
            expected = expected.sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=table)
    assert imported.synthetic and imported.meta.get("lonely_psu") == clean.meta.get("lonely_psu")
    pd.testing.assert_frame_equal(indicator_table(imported), indicator_table(clean), check_exact=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[evalkit.Province, evalkit.Province, Path]:
    return _round_trip(tmp_path_factory.mktemp("roundtrip"), "small")


def test_small_round_trip_is_exact(small: tuple[evalkit.Province, evalkit.Province, Path]) -> None:
    clean, imported, _ = small
    _same(clean, imported)


def test_personal_data_columns_dropped_and_reported(small: tuple[evalkit.Province, evalkit.Province, Path]) -> None:
    """The platform's IP, nickname and phone columns are not in the data and the report says why."""
    _, _, folder = small
    report = (folder / "import-report.md").read_text(encoding="utf-8")
    for header in ("来源IP", "微信昵称", "手机号"):
        assert header in report
    survey = pd.read_parquet(folder / "survey.parquet")
    assert not {"来源IP", "微信昵称", "手机号", "序号", "提交答卷时间"} & set(survey.columns)
    assert not survey.astype(str).apply(lambda s: s.str.contains(r"\*{4}|\(示例省-", regex=True)).any(axis=None)


@pytest.mark.slow
def test_full_round_trip_is_exact(tmp_path: Path) -> None:
    clean, imported, _ = _round_trip(tmp_path, "full")
    _same(clean, imported)
