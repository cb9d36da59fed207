"""Incomplete data renders what it can (issue 16, part 3).

A survey wave not delivered yet for the latest year, a year without service contacts or without
stations: validation warns, naming the table's own file (never services.csv for the survey's gap);
the indicator table leaves the year's figures of that table missing, with the reason ``not_in_data``,
instead of a 0% coverage; the framework grades by its rule for missing indicators instead of
refusing; and every county report, the overview and the index are written, each section saying
what is missing.  The batch runs use real kernels on the small synthetic province (one county).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.schema import load_province, validate_province

from conftest import BASE, TODAY, run_evalkit

COUNTY = "090102"


def _drop_csv_rows(folder: Path, table: str, column: str, years: list[int]) -> None:
    """Delete the rows of ``table``.csv whose ``column`` (a year, or a date) falls in ``years``, keeping every
    other line byte for byte."""
    path = folder / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines[0].rstrip("\r\n").split(",").index(column)
    keep = [lines[0]] + [line for line in lines[1:] if int(line.split(",")[at][:4]) not in years]
    assert len(keep) < len(lines)
    path.write_text("".join(keep), encoding="utf-8")


def _base_without(tmp_path: Path, table: str, column: str, years: list[int]) -> Path:
    folder = tmp_path / f"no-{table}"
    shutil.copytree(BASE, folder)
    _drop_csv_rows(folder, table, column, years)
    return folder


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("table, column, file", [("survey", "year", "survey.csv"),
                                                  ("services", "date", "services.csv"),
                                                  ("stations", "year", "stations.csv")])
def test_a_table_without_rows_for_the_latest_year_is_a_warning_naming_its_own_file(tmp_path, table, column, file):
    folder = _base_without(tmp_path, table, column, [2025])
    _, problems, _, _ = validate_province(folder, today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == []
    gap = [p for p in problems if p.rule == "year_not_in_data"]
    assert [(p.file, p.column, p.value, p.severity) for p in gap] == [(file, column, "2025", "warning")]
    assert "2025" in gap[0].message and "say so" in gap[0].message
    # no problem blames another file for this table's gap (stations: not one per contact on services.csv)
    assert {p.file for p in problems} <= {file}
    load_province(folder, today=TODAY)  # does not raise


def test_a_survey_missing_its_latest_and_an_earlier_wave_warns_of_each(tmp_path):
    folder = _base_without(tmp_path, "survey", "year", [2023, 2025])
    _, problems, _, _ = validate_province(folder, today=TODAY)
    assert [p for p in problems if p.severity == "error"] == []
    gap = sorted((p.file, p.value) for p in problems if p.rule == "year_not_in_data")
    assert gap == [("survey.csv", "2023"), ("survey.csv", "2025")]


# --------------------------------------------------------------------------- indicators and framework


def test_a_year_without_stations_gives_missing_station_figures_not_zeros(tmp_path):
    from evalkit.indicators import indicator_table

    p = load_province(_base_without(tmp_path, "stations", "year", [2025]), today=TODAY)
    t = indicator_table(p)
    county = t[(t["level"] == "county") & (t["year"] == 2025) & (t["group"] == "all")]
    station = county[county["indicator"].isin(["station_coverage", "social_workers_per_10k", "cost_per_person_time"])]
    assert len(station) and station["value"].isna().all()
    assert set(station["suppression_reason"].astype(str)) == {"not_in_data"}
    assert set(station["vs_province"].astype(str)) == {"not_compared"}
    # figures from the other tables, and the stations' own earlier years, are untouched
    assert county.loc[county["indicator"] == "coverage", "value"].notna().all()
    earlier = t[(t["level"] == "county") & (t["year"] == 2024) & (t["indicator"] == "station_coverage")]
    assert earlier["value"].notna().all()


def test_a_missing_survey_wave_leaves_counties_ungraded_instead_of_failing(tmp_path):
    from evalkit.framework import load_framework, score_counties
    from evalkit.indicators import indicator_table

    t = indicator_table(load_province(_base_without(tmp_path, "survey", "year", [2025]), today=TODAY))
    fw = load_framework()
    s = score_counties(t, fw, year=2025, draws=200)
    assert not s.counties["graded"].any()
    outcome = sum(i.weight for i in fw.indicators if i.tier == "outcome")
    assert np.allclose(s.counties["missing_weight"], outcome)
    sat = s.indicators[s.indicators["indicator"] == "satisfaction_overall"]
    assert sat["missing"].all() and set(sat["suppression_reason"]) == {"not_in_data"}
    # a framework indicator the table has in no year is still a framework that does not fit the table
    with pytest.raises(ValueError, match="framework"):
        score_counties(t[t["indicator"] != "satisfaction_rate"], fw, year=2025, draws=200)


# --------------------------------------------------------------------------- reports, overview and index


def _section(html: str, anchor: str) -> str:
    """The HTML of the section whose heading has id ``anchor``, up to the next heading of level 2."""
    start = html.index(f'id="{anchor}"')
    end = html.find("<h2", start)
    return html[start:end if end >= 0 else None]


def _text(html: str) -> str:
    import html as h

    return h.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def province_copy(small_province, tmp_path_factory):
    """A function that copies the small province and deletes the rows of one table in some years."""
    def make(table: str, years: list[int]) -> Path:
        folder = tmp_path_factory.mktemp(f"no-{table}") / "small"
        shutil.copytree(small_province, folder)
        d = pd.read_parquet(folder / f"{table}.parquet")
        year = d["date"].dt.year if table == "services" else d["year"]
        d[~year.isin(years)].to_parquet(folder / f"{table}.parquet", index=False)
        return folder

    return make


def _batch(data: Path, out: Path, lang: str = "en"):
    done = run_evalkit("batch", str(data), "--out", str(out), "--counties", COUNTY, "--jobs", "1", "--no-progress",
                       "--pdf", "no", "--lang", lang, env={"EVALKIT_CACHE": str(out / "cache")})
    return done, out / f"small-2025-{lang}"


def test_a_missing_latest_survey_wave_renders_every_report_saying_so(province_copy, tmp_path):
    done, run = _batch(province_copy("survey", [2025]), tmp_path)
    assert done.returncode == 0, done.stderr
    html = (run / f"{COUNTY}.html").read_text(encoding="utf-8")
    shown = "The 2025 survey wave is not in the data: satisfaction is shown for 2024, the latest wave before it"
    for anchor in ("satisfaction", "satisfaction-groups"):
        assert shown in _text(_section(html, anchor)), anchor
    # the 2024 wave's figures are there, not an empty table
    assert "respondents" in _text(_section(html, "satisfaction"))
    short = "The 2025 survey wave is not in the data: there is no satisfaction figure for 2025."
    for anchor in ("summary", "grade", "indicators", "reach", "among_counties"):
        assert short in _text(_section(html, anchor)), anchor
    assert "Satisfaction rate (share satisfied or very satisfied): not available for 2025" in _text(html)
    assert "Not graded" in _text(_section(html, "grade"))
    assert "The 2025 survey wave is not in the data: no comments for 2025." in _text(_section(html, "comments"))
    overview = (run / "overview.html").read_text(encoding="utf-8")
    assert short in _text(overview)
    assert (run / "index.html").is_file()
    assert "services" not in done.stderr


def test_a_year_without_service_contacts_renders_every_report_saying_so(province_copy, tmp_path):
    done, run = _batch(province_copy("services", [2025]), tmp_path, lang="zh")
    assert done.returncode == 0, done.stderr
    html = _text((run / f"{COUNTY}.html").read_text(encoding="utf-8"))
    missing = "服务记录中没有2025年的服务"
    assert missing in html
    page = (run / f"{COUNTY}.html").read_text(encoding="utf-8")
    for anchor in ("summary", "reach", "staffing", "grade"):
        assert missing in _text(_section(page, anchor)), anchor
    # satisfaction, from the survey, is still shown; coverage is not available rather than "suppressed"
    assert "2025年无数据" in _text(_section(page, "summary"))
    assert missing in _text((run / "overview.html").read_text(encoding="utf-8"))
    assert (run / "index.html").is_file()


# --------------------------------------------------------------------------- one county missing from a year


def _base_without_county(tmp_path: Path, table: str, column: str, county: str, year: int) -> Path:
    folder = tmp_path / f"no-{table}-{county}"
    shutil.copytree(BASE, folder)
    path = folder / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    at, code = header.index(column), header.index("county_code")
    keep = [lines[0]] + [line for line in lines[1:]
                         if not (int(line.split(",")[at][:4]) == year and line.split(",")[code] == county)]
    assert len(keep) < len(lines)
    path.write_text("".join(keep), encoding="utf-8")
    return folder


@pytest.mark.parametrize("table, column", [("survey", "year"), ("services", "date")])
def test_a_county_missing_from_a_year_the_others_have_is_a_warning_naming_it(tmp_path, table, column):
    folder = _base_without_county(tmp_path, table, column, COUNTY, 2025)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == []
    gap = [p for p in problems if p.rule == "county_year_not_in_data"]
    assert [(p.file, p.column, p.value, p.severity) for p in gap] == [(f"{table}.csv", "county_code", COUNTY,
                                                                        "warning")]
    assert "2025" in gap[0].message and "says so" in gap[0].message
    if table == "services":  # its figures of the year are missing, not a coverage of 0 called "suppressed"
        from evalkit.indicators import indicator_table

        t = indicator_table(load_province(folder, today=TODAY))
        mine = t[(t["county_code"] == COUNTY) & (t["year"] == 2025) & (t["indicator"] == "coverage")]
        assert len(mine) and mine["value"].isna().all()
        assert set(mine["suppression_reason"].astype(str)) == {"not_in_data"}
        other = t[(t["code"] == "090202") & (t["year"] == 2025) & (t["indicator"] == "coverage")]
        assert other["value"].notna().any()


def test_a_county_missing_from_the_latest_survey_wave_renders_saying_so(small_province, tmp_path):
    folder = tmp_path / "small"
    shutil.copytree(small_province, folder)
    d = pd.read_parquet(folder / "survey.parquet")
    d[~((d["year"] == 2025) & (d["county_code"] == COUNTY))].to_parquet(folder / "survey.parquet", index=False)
    done, run = _batch(folder, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    html = (run / f"{COUNTY}.html").read_text(encoding="utf-8")
    shown = "The 2025 survey wave has no respondent from this county in the data: satisfaction is shown for 2024"
    assert shown in _text(_section(html, "satisfaction"))
    short = "The 2025 survey wave has no respondent from this county in the data: there is no satisfaction figure"
    for anchor in ("summary", "grade", "indicators"):
        assert short in _text(_section(html, anchor)), anchor
    overview = _text((run / "overview.html").read_text(encoding="utf-8"))
    assert "The 2025 survey wave has no respondent from Qingxin District in the data" in overview
    assert (run / "index.html").is_file()
