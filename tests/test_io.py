"""Reading tables: encodings, formats and the identity of what they load to."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from evalkit.errors import InputError
from evalkit.io import detect_encoding, find_table, read_raw, write_table
from evalkit import cli
from evalkit.schema import TABLES, load_province, validate_province
from evalkit.synth import write_province

from conftest import BASE, TODAY

FORMATS = ["parquet", "csv", "csv-utf8-bom", "csv-gb18030", "xlsx"]


def _write(tables, folder, fmt):
    if fmt == "csv-utf8-bom":
        folder.mkdir(parents=True)
        for name, frame in tables.items():
            write_table(frame, folder / f"{name}.csv", encoding="utf-8-sig")
        return folder
    write_province(tables, folder, fmt=fmt, meta={"synthetic": True})
    return folder


@pytest.fixture(scope="module")
def base_province():
    return load_province(BASE, today=TODAY)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_loads_to_identical_frames(fmt, base_province, tmp_path):
    tables = {t: getattr(base_province, t) for t in TABLES}
    folder = _write(tables, tmp_path / fmt, fmt)
    again = load_province(folder, today=TODAY)
    for t in TABLES:
        pd.testing.assert_frame_equal(getattr(again, t), tables[t], check_exact=True)


def test_gb18030_file_really_is_gb18030(base_province, tmp_path):
    folder = _write({t: getattr(base_province, t) for t in TABLES}, tmp_path / "gb", "csv-gb18030")
    data = (folder / "regions.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert detect_encoding(data) == "gb18030"
    assert "示例省" in read_raw(folder / "regions.csv", ["year", "county_code"]).frame["province_name_zh"].iloc[0]


def test_small_province_csv_gb18030_parquet_identical(small_tables, tmp_path):
    loaded = {}
    for fmt in ("parquet", "csv", "csv-gb18030"):
        loaded[fmt] = load_province(_write(small_tables, tmp_path / fmt, fmt), today=TODAY)
    for t in TABLES:
        pd.testing.assert_frame_equal(getattr(loaded["csv"], t), getattr(loaded["parquet"], t))
        pd.testing.assert_frame_equal(getattr(loaded["csv-gb18030"], t), getattr(loaded["parquet"], t))


@pytest.mark.parametrize("text,encoding", [("县,乡镇,街道", "gb18030"), ("county,town", "utf-8"),
                                           ("县,乡镇", "utf-8")])
def test_detect_encoding(text, encoding):
    data = text.encode(encoding)
    assert detect_encoding(data) == encoding
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"


def test_big5_is_not_mistaken_for_gb18030():
    data = "臺灣縣鄉鎮滿意度調查，繁體中文".encode("big5")
    with pytest.raises(InputError, match="Big5|neither UTF-8 nor GB18030"):
        detect_encoding(data, "survey.csv")


def test_excel_leading_zero_and_dates_survive(tmp_path, base_province):
    # codes written as text and dates as Excel dates come back unchanged
    write_table(base_province.stations, tmp_path / "stations.xlsx")
    raw = read_raw(tmp_path / "stations.xlsx", ["year", "county_code"], "stations")
    assert raw.frame["county_code"].iloc[0] == base_province.stations["county_code"].iloc[0]
    assert raw.rows.iloc[0] == 2


def test_blank_rows_are_skipped_but_row_numbers_kept(tmp_path):
    src = (BASE / "stations.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "stations.csv").write_text("\n".join(src[:3] + [",,,,,,,,,"] + src[3:]) + "\n", encoding="utf-8")
    raw = read_raw(tmp_path / "stations.csv", src[0].split(","))
    assert len(raw.frame) == len(src) - 1
    assert raw.rows.tolist()[:4] == [2, 3, 5, 6]


def test_find_table_prefers_nothing_and_refuses_xls(tmp_path):
    (tmp_path / "regions.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"regions.xls found: save as .csv, .xlsx or .parquet"):
        find_table(tmp_path, "regions")


def test_write_table_is_atomic(tmp_path):
    frame = pd.DataFrame({"a": [1, 2]})
    target = tmp_path / "t.csv"
    write_table(frame, target)
    with pytest.raises(ValueError):
        write_table(frame, tmp_path / "t.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_copy_of_base_is_untouched_by_reading(tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(BASE, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    load_province(folder, today=TODAY)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# --------------------------------------------------------------------------- a table over several sheets (issue 16)


def _services_workbook(folder, sheets: dict, notes: bool = True):
    """tests/data/base copied to ``folder`` with services.csv replaced by a workbook of ``sheets``."""
    shutil.copytree(BASE, folder)
    (folder / "services.csv").unlink()
    with pd.ExcelWriter(folder / "services.xlsx", engine="openpyxl") as xl:
        if notes:
            pd.DataFrame({"说明": ["2023-2025 服务台账，每半年一张表", "填表人：县民政局"]}).to_excel(
                xl, sheet_name="README", index=False)
        for name, frame in sheets.items():
            frame.to_excel(xl, sheet_name=name, index=False)
    return folder


def _base_services():
    return pd.read_csv(BASE / "services.csv", dtype=str, keep_default_na=False)


def test_a_ledger_over_several_sheets_is_read_whole(tmp_path):
    sv = _base_services()
    parts = {year: sv[sv["date"].str[:4] == year] for year in ("2023", "2024", "2025")}
    folder = _services_workbook(tmp_path / "d", {f"{y}年台账": p for y, p in parts.items()})
    (tmp_path / "empty").mkdir()
    typed, problems, _, _ = validate_province(folder, today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert len(typed["services"]) == len(sv)  # not only the first sheet's rows
    pd.testing.assert_frame_equal(typed["services"], load_province(BASE, today=TODAY).services)
    notes = {p.rule: p for p in problems if p.severity == "warning"}
    assert "sheet 'README' was not read: it has no header row naming the table's columns" in notes["sheet_skipped"].message
    assert "read from 3 sheets with the same columns: '2023年台账'" in notes["sheets_combined"].message


def test_a_bad_cell_on_a_later_sheet_is_named_with_its_sheet_and_row(tmp_path, capsys):
    sv = _base_services()
    first, second = sv.iloc[:40].copy(), sv.iloc[40:].copy()
    second.iloc[2, second.columns.get_loc("minutes")] = "半小时"
    folder = _services_workbook(tmp_path / "d", {"上半年": first, "下半年": second})
    _, problems, _, _ = validate_province(folder, today=TODAY)
    bad = [p for p in problems if p.rule == "not_a_number"]
    assert [(p.file, p.row, p.column, p.value) for p in bad] == [("services.xlsx (sheet '下半年')", 4, "minutes", "半小时")]
    assert cli.main(["validate", str(folder)]) == 1
    assert "services.xlsx (sheet '下半年'), row 4, column 'minutes'" in capsys.readouterr().out


def test_sheets_with_other_columns_are_refused_naming_the_sheets(tmp_path):
    sv = _base_services()
    folder = _services_workbook(tmp_path / "d", {"H1": sv.iloc[:40], "H2": sv.iloc[40:].drop(columns=["mode"])})
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "sheets_differ")
    assert p.file == "services.xlsx" and p.severity == "error"
    assert "sheet 'H2' has other columns than sheet 'H1' (missing mode)" in p.message


def test_a_sheet_named_like_the_table_beside_other_data_sheets_is_refused(tmp_path):
    sv = _base_services()
    folder = _services_workbook(tmp_path / "d", {"services": sv.iloc[:40], "2025": sv.iloc[40:]}, notes=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "ambiguous_sheets")
    assert "has a sheet named 'services' and other sheets with the table's header ('2025')" in p.message


def test_empty_and_header_only_sheets_are_skipped(tmp_path):
    sv = _base_services()
    folder = _services_workbook(tmp_path / "d", {"全年": sv, "空白": pd.DataFrame(), "模板": sv.iloc[:0]})
    typed, problems, _, _ = validate_province(folder, today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert len(typed["services"]) == len(sv)
    skipped = {p.value: p.message for p in problems if p.rule == "sheet_skipped"}
    assert set(skipped) == {"README", "空白", "模板"}
    assert "it has a header but no data rows" in skipped["模板"]


# --------------------------------------------------------------------------- Parquet timestamps (issue 16)


def _services_parquet(folder, dates):
    """tests/data/base with services as Parquet whose ``date`` column is the pyarrow array ``dates``
    (the other rows' dates as they are)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(BASE, folder)
    sv = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    (folder / "services.csv").unlink()
    table = pa.Table.from_pandas(sv.drop(columns=["date"]), preserve_index=False)
    pq.write_table(table.add_column(1, "date", dates(sv)), folder / "services.parquet")
    return folder


def test_time_zone_aware_timestamps_are_refused_with_a_message_not_a_traceback(tmp_path, capsys):
    import pyarrow as pa

    folder = _services_parquet(tmp_path / "d", lambda sv: pa.array(
        pd.to_datetime(sv["date"]).dt.tz_localize("Asia/Shanghai"), pa.timestamp("us", tz="Asia/Shanghai")))
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "date_time_zone")
    assert (p.file, p.row, p.column) == ("services.parquet", 2, "date")
    assert "holds time-zone-aware timestamps (Asia/Shanghai) in 204 row(s), the first 2023-01-01;" in p.message
    assert cli.main(["validate", str(folder)]) == 1
    assert "Traceback" not in capsys.readouterr().out


@pytest.mark.parametrize("stamp", ["1600-01-01", "2262-06-01", "3000-12-31"])
def test_timestamps_pandas_cannot_hold_are_refused_naming_the_cell(tmp_path, stamp):
    import datetime as dt

    import pyarrow as pa

    def dates(sv):
        values = [dt.datetime.fromisoformat(d) for d in sv["date"]]
        values[4] = dt.datetime.fromisoformat(stamp)
        return pa.array(values, pa.timestamp("ms"))

    folder = _services_parquet(tmp_path / "d", dates)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "date_out_of_range")
    assert (p.file, p.row, p.column, p.value) == ("services.parquet", 6, "date", stamp)


def test_parquet_dates_before_1949_or_after_the_latest_year_are_refused(tmp_path):
    import datetime as dt

    import pyarrow as pa

    def dates(sv):
        values = [dt.date.fromisoformat(d) for d in sv["date"]]
        values[4], values[5] = dt.date(1900, 1, 1), dt.date(2026, 3, 1)  # the data end in 2025; today is later
        return pa.array(values, pa.date32())

    folder = _services_parquet(tmp_path / "d", dates)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    found = {(p.row, p.rule) for p in problems if p.column == "date"}
    assert {(6, "outside_period"), (7, "outside_period")} <= found


def test_a_hidden_sheet_with_the_header_is_refused_naming_it(tmp_path):
    import openpyxl

    sv = _base_services()
    folder = _services_workbook(tmp_path / "d", {"2025": sv, "旧版": sv.iloc[:10]})
    book = openpyxl.load_workbook(folder / "services.xlsx")
    book["旧版"].sheet_state = "hidden"
    book.save(folder / "services.xlsx")
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "hidden_sheet")
    assert p.file == "services.xlsx" and "header on the hidden sheet(s) '旧版'; unhide them" in p.message


def test_excel_error_cells_are_refused_by_name_not_read_as_empty(tmp_path):
    import openpyxl

    folder = tmp_path / "d"
    shutil.copytree(BASE, folder)
    d = pd.read_csv(folder / "survey.csv", dtype=str, keep_default_na=False)
    (folder / "survey.csv").unlink()
    d.to_excel(folder / "survey.xlsx", index=False, sheet_name="survey")
    book = openpyxl.load_workbook(folder / "survey.xlsx")
    sheet = book["survey"]
    comment = list(d.columns).index("comment") + 1
    sheet.cell(row=5, column=comment).value = "#N/A"  # an error cell (openpyxl types it as one), as Excel saves it
    sheet.cell(row=6, column=list(d.columns).index("weight") + 1).value = "#REF!"
    assert sheet.cell(row=5, column=comment).data_type == "e"
    book.save(folder / "survey.xlsx")
    _, problems, _, _ = validate_province(folder, today=TODAY)
    found = {(p.row, p.column, p.value) for p in problems if p.rule == "excel_error"}
    assert found == {(5, "comment", "#N/A"), (6, "weight", "#REF!")}
    assert not [p for p in problems if p.rule == "missing_value"]  # pandas would have read them as empty cells


def test_checks_across_tables_name_the_sheet_of_the_row(tmp_path):
    sv = _base_services()
    first, second = sv.iloc[:40].copy(), sv.iloc[40:].copy()
    second.iloc[0, second.columns.get_loc("township_code")] = second["county_code"].iloc[0] + "999"
    folder = _services_workbook(tmp_path / "d", {"上半年": first, "下半年": second})
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "unknown_township")
    assert (p.file, p.row, p.column) == ("services.xlsx (sheet '下半年')", 2, "township_code")
