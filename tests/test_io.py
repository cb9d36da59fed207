"""Reading tables: encodings, formats and the identity of what they load to."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from evalkit.errors import InputError
from evalkit.io import detect_encoding, find_table, read_raw, write_table
from evalkit.schema import TABLES, load_province
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
