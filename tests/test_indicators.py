"""The indicator table: complete, consistent with the inputs, suppressed, compared, documented."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from evalkit.indicators import (CONFIDENCE, LAYOUT_VERSION, LEVELS, catalogue, indicator_table, read_indicator_table,
                                write_indicator_table)
from evalkit.schema import load_province

from conftest import BASE, TODAY, overlay

KEY = ["level", "code", "year", "indicator", "item", "group", "confidence"]


@pytest.fixture(scope="module")
def province():
    return load_province(BASE, today=TODAY)


@pytest.fixture(scope="module")
def table(province):
    return indicator_table(province)


def test_every_unit_year_indicator_and_level(table, province):
    assert not table.duplicated(KEY).any()
    assert set(table["level"]) == set(LEVELS)
    assert set(table["indicator"]) == set(catalogue().index)
    assert set(table["confidence"]) == set(CONFIDENCE)
    towns = set(province.regions["township_code"])
    for ind in catalogue().index:
        rows = table[(table["level"] == "township") & (table["indicator"] == ind)]
        assert set(rows["code"]) == towns, ind
        assert set(rows["year"]) == set(province.years), ind


def test_parents_and_names_on_every_row(table):
    county = table[table["level"] == "county"]
    assert (county["code"] == county["county_code"]).all()
    assert county["prefecture_code"].notna().all() and county["name_zh"].notna().all()
    assert (county["county_code"].str[:4] == county["prefecture_code"]).all()


def test_person_times_match_hand_count(table, province):
    """Province person-times per 1,000 residents, counted directly from the ledger."""
    year = 2024
    contacts = (province.services["date"].dt.year == year).sum()
    residents = province.regions.loc[province.regions["year"] == year, "population"].sum()
    row = table[(table["level"] == "province") & (table["indicator"] == "person_times_per_1000")
                & (table["year"] == year) & (table["confidence"] == 0.95)].iloc[0]
    assert row["value"] == pytest.approx(contacts / residents * 1000, rel=1e-12)
    assert row["lower"] < row["value"] < row["upper"]


def test_station_staffing_match_hand_count(table, province):
    st = province.stations[province.stations["year"] == 2025]
    county = st["county_code"].iloc[0]
    mine = st[st["county_code"] == county]
    row = table[(table["code"] == county) & (table["indicator"] == "social_workers_per_station")
                & (table["year"] == 2025) & (table["confidence"] == 0.95)].iloc[0]
    assert row["value"] == pytest.approx(mine["social_workers"].sum() / len(mine))


def test_professional_station_share_matches_a_count_of_the_stations(table, province):
    """Every county and year: stations at level 2.0 or 3.0 out of the county's stations, counted with pandas."""
    st = province.stations.assign(pro=province.stations["service_level"].astype(str).isin(["2.0", "3.0"]))
    expected = st.groupby(["county_code", "year"])["pro"].agg(["sum", "size"])
    rows = table[(table["level"] == "county") & (table["indicator"] == "professional_station_share")
                 & (table["confidence"] == 0.95)].set_index(["code", "year"])
    assert 0 < expected["sum"].sum() < expected["size"].sum()  # both kinds of station are in the data
    got = rows.loc[expected.index]
    assert got["n"].tolist() == expected["sum"].tolist()
    assert got["denominator"].tolist() == expected["size"].tolist()
    shown = ~got["suppressed"].to_numpy()
    assert shown.any()
    assert got["value"][shown].to_numpy() == pytest.approx((expected["sum"] / expected["size"])[shown].to_numpy())


def test_satisfaction_rate_is_weighted_top_two_box(table, province):
    s = province.survey[(province.survey["year"] == 2025) & (province.survey["q_overall"] <= 5)]
    expected = np.average(s["q_overall"] >= 4, weights=s["weight"])
    row = table[(table["level"] == "province") & (table["indicator"] == "satisfaction_rate")
                & (table["item"] == "q_overall") & (table["group"] == "all") & (table["year"] == 2025)
                & (table["confidence"] == 0.95)].iloc[0]
    assert row["value"] == pytest.approx(expected, rel=1e-12)
    assert row["n"] == len(s) and row["method"] == "beta"


def test_no_visible_figure_rests_on_a_small_cell(table):
    shown = table[table["value"].notna()]
    survey = shown[shown["kind"] == "survey"]
    assert (survey["n"] >= 10).all()
    people = shown[shown["kind"] == "persons"]
    assert (people["n"] >= 5).all() and (people["denominator"] >= 5).all()
    hidden = table[table["suppressed"]]
    assert len(hidden) > 0
    assert hidden[["value", "lower", "upper"]].isna().all().all()
    assert hidden.loc[hidden["kind"] == "persons", "n"].isna().all()
    assert set(hidden["suppression_reason"]) <= {"primary_small_n", "secondary_complement", "too_few_psus"}


@pytest.mark.parametrize("level,parent", [("township", "county_code"), ("county", "prefecture_code"),
                                          ("prefecture", "province_code")])
def test_no_lone_suppressed_unit_within_its_parent(table, level, parent):
    """A parent's figure minus its visible children must not reveal a single hidden child."""
    rows = table[(table["level"] == level) & (table["kind"] != "facility")]
    per = rows.groupby([parent, "year", "indicator", "item", "group", "confidence"],
                       observed=True)["suppressed"].agg(["sum", "size"])
    assert not ((per["sum"] == 1) & (per["size"] > 1)).any()
    assert per["sum"].sum() > 0 or level == "prefecture"


def test_survey_figures_without_degrees_of_freedom_are_suppressed(table):
    shown = table[(table["kind"] == "survey") & table["value"].notna()]
    assert shown["lower"].notna().all() and shown["upper"].notna().all()
    assert (table["suppression_reason"] == "too_few_psus").any()


def test_persons_served_never_shown_below_five(table):
    """Cost per person served divides by persons served: a count of people like any other."""
    cost = table[(table["indicator"] == "cost_per_person_served") & table["value"].notna()]
    assert (cost["denominator"] >= 5).all()


def test_person_times_rest_on_five_persons_not_five_contacts(province):
    """Twelve contacts with two people are two people: the township's person-times are hidden."""
    import dataclasses

    sv = province.services.copy()
    town = sv["township_code"].iloc[0]
    year = sv["date"].dt.year.iloc[0]
    mask = (sv["township_code"] == town) & (sv["date"].dt.year == year)
    assert mask.sum() >= 5
    sv.loc[mask, "person_id"] = np.where(np.arange(mask.sum()) % 2, "P_one", "P_two")
    t = indicator_table(dataclasses.replace(province, services=sv))
    row = t[(t["indicator"] == "person_times_per_1000") & (t["code"] == town) & (t["year"] == year)]
    assert row["suppressed"].all() and row["value"].isna().all() and row["n"].isna().all()
    assert (row["suppression_reason"] == "primary_small_n").all()


def test_person_times_are_shown_but_not_judged(table):
    pt = table[(table["indicator"] == "person_times_per_1000") & (table["level"] == "county")]
    assert pt["value"].notna().any()
    assert (pt["vs_province"] == "not_compared").all()


def test_benchmark_comparisons_follow_the_intervals(table):
    judged = catalogue().index[catalogue()["compare"]]
    rows = table[(table["level"] == "county") & table["province_value"].notna() & table["lower"].notna()
                 & (table["polarity"] == "higher_is_better") & (table["lower"] < table["upper"])
                 & table["indicator"].isin(judged)]
    better = rows["lower"] > rows["province_value"]
    worse = rows["upper"] < rows["province_value"]
    assert (rows.loc[better, "vs_province"] == "better").all()
    assert (rows.loc[worse, "vs_province"] == "worse").all()
    assert (rows.loc[~better & ~worse, "vs_province"] == "similar").all()
    assert table.loc[table["level"] == "province", "vs_province"].isna().all()
    # the province's own value is what counties are compared with
    prov = table[table["level"] == "province"].set_index(["year", "indicator", "item", "group", "confidence"])["value"]
    county = table[table["level"] == "county"].set_index(["year", "indicator", "item", "group", "confidence"])
    joined = county["province_value"].dropna()
    assert np.allclose(joined.to_numpy(), prov.reindex(joined.index).to_numpy(), equal_nan=True)


def test_zero_width_intervals_are_not_compared(table):
    flat = table[(table["level"] == "county") & (table["lower"] == table["upper"])]
    assert len(flat) > 0  # 100% satisfied in a small county: net satisfaction has no variance
    assert (flat["vs_province"] == "not_compared").all()


def test_an_error_in_either_half_of_the_table_is_raised_and_leaves_no_thread(province, monkeypatch):
    """Reach and the survey estimates run side by side: an error in either reaches the caller (reach's first,
    as when they ran one after the other), and the caller never returns with the other still running."""
    import threading

    from evalkit import indicators

    def broken(*args):
        raise ZeroDivisionError("planted in reach")

    def slow_and_broken(*args):
        threading.Event().wait(0.5)  # still running when reach fails
        raise OverflowError("planted in the survey estimates")

    before = set(threading.enumerate())
    monkeypatch.setattr(indicators, "_reach", broken)
    with pytest.raises(ZeroDivisionError, match="planted in reach"):
        indicator_table(province)
    monkeypatch.setattr(indicators, "_survey_estimates", slow_and_broken)
    with pytest.raises(ZeroDivisionError, match="planted in reach"):
        indicator_table(province)
    assert set(threading.enumerate()) == before
    monkeypatch.undo()
    monkeypatch.setattr(indicators, "_survey_estimates", slow_and_broken)
    with pytest.raises(OverflowError, match="planted in the survey"):
        indicator_table(province)
    assert set(threading.enumerate()) == before


@pytest.mark.parametrize("first", ["satisfaction", "reach"])
def test_the_table_does_not_depend_on_which_half_finishes_first(table, province, monkeypatch, first):
    """The two halves give text and units their codes as they meet them, in whichever order the threads run:
    the table is the same when the satisfaction half runs entirely before reach, or entirely after it."""
    from evalkit import _thread, indicators

    def before(func, *args):  # the satisfaction half, at once, in this thread
        result = func(*args)
        return lambda: result

    def after(func, *args):  # the satisfaction half when reach has finished
        return lambda: func(*args)

    monkeypatch.setattr(_thread, "start", before if first == "satisfaction" else after)
    got = indicators.indicator_table(province)
    pd.testing.assert_frame_equal(got, table, check_exact=True)


def test_parquet_round_trip_with_provenance(table, province, tmp_path):
    path = write_indicator_table(table, tmp_path / "ind.parquet", province)
    back, meta = read_indicator_table(path)
    pd.testing.assert_frame_equal(back, table)
    assert meta["synthetic"] is True and meta["layout_version"] == LAYOUT_VERSION
    assert set(meta["inputs"]) == {"regions", "stations", "services", "survey", "dataset"}
    assert all(len(h) == 64 for h in meta["inputs"].values())


def test_cached_table_follows_the_inputs_content_not_their_times(tmp_path):
    import os
    import shutil

    from evalkit.results import indicator_table as cached_indicator_table

    data, cache = tmp_path / "base", tmp_path / "cache"
    shutil.copytree(BASE, data)
    first, meta = cached_indicator_table(data, cache)
    cached = sorted(cache.iterdir())
    again, meta_again = cached_indicator_table(data, cache)
    assert meta_again == meta and sorted(cache.iterdir()) == cached
    pd.testing.assert_frame_equal(again, first)
    regions = data / "regions.csv"
    stat = regions.stat()
    text = regions.read_text(encoding="utf-8")
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    col = header.index("population")
    cells[col] = str(int(cells[col]) + 1000)
    lines[1] = ",".join(cells)
    regions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(regions, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time stamp, new content
    changed, meta_changed = cached_indicator_table(data, cache)
    assert meta_changed["inputs"]["regions"] != meta["inputs"]["regions"]
    assert len(list(cache.iterdir())) == 2
    assert not changed["denominator"].equals(first["denominator"])


def test_cli_writes_table_and_refuses_invalid_data(tmp_path):
    out = tmp_path / "ind.parquet"
    r = subprocess.run([sys.executable, "-m", "evalkit.cli", "indicators", str(BASE), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and "(synthetic data)" in r.stdout
    bad = overlay("likert_7", tmp_path)
    out2 = tmp_path / "bad.parquet"
    r = subprocess.run([sys.executable, "-m", "evalkit.cli", "indicators", str(bad), "-o", str(out2)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and not out2.exists()
    assert "failed validation; no indicator table was written" in r.stderr and "Traceback" not in r.stderr


def test_refuses_anything_but_a_validated_province(province):
    with pytest.raises(ValueError, match="needs a validated Province"):
        indicator_table({"regions": province.regions})
    with pytest.raises(ValueError, match=r"Unknown level\(s\) \['village'\]"):
        indicator_table(province, levels=["village"])


@pytest.mark.slow
def test_full_province_peak_memory_under_2_gib(tmp_path):
    """Peak resident memory of read + validate + indicator table on the full sample province."""
    from evalkit.synth import synthesize

    synthesize(tmp_path / "p")
    # VmHWM of the fresh process (ru_maxrss would start from pytest's own size at fork)
    code = ("import datetime; from evalkit.schema import load_province; "
            "from evalkit.indicators import indicator_table; "
            f"t = indicator_table(load_province({str(tmp_path / 'p')!r}, today=datetime.date(2026, 11, 22))); "
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kib = int(r.stdout.strip().splitlines()[-1])
    assert peak_kib < 2 * 1024 * 1024, f"peak {peak_kib / 1024:.0f} MiB"


def test_intervals_at_99_8_match_a_direct_satisfaction_call(table, province):
    """The 99.8% rows are derived from the 95% estimates; they must equal a direct estimate at 99.8%."""
    from evalkit.measures.satisfaction import satisfaction

    direct = satisfaction(province.survey, by=["year", "county_code", "group"], confidence=0.998,
                          measures=("rate", "index", "net"), ci_method="beta")
    direct["indicator"] = direct["measure"].map({"satisfaction_rate": "satisfaction_rate",
                                                 "index_0_100": "satisfaction_index",
                                                 "net_satisfaction": "net_satisfaction"})
    mine = table[(table["level"] == "county") & (table["confidence"] == 0.998) & (table["kind"] == "survey")
                 & (table["group"] != "all") & ~table["suppressed"]]
    merged = mine.merge(direct, left_on=["year", "code", "group", "item", "indicator"],
                        right_on=["year", "county_code", "group", "item", "indicator"], suffixes=("", "_direct"))
    assert len(merged) == len(mine) > 0
    for c in ("value", "lower", "upper"):
        assert np.allclose(merged[c], merged[f"{c}_direct"], rtol=1e-12, atol=1e-12, equal_nan=True), c


def test_levels_without_a_benchmark_level_are_computed_and_not_compared(province, table):
    """Fewer levels than all four: the units' own figures are those of the full table, and a comparison
    whose benchmark level was left out is ``not_compared`` (it used to fail with an IndexError)."""
    part = indicator_table(province, levels=["county", "province"])
    assert set(part["level"]) == {"county", "province"}
    assert set(part["vs_prefecture"].dropna()) == {"not_compared"} and part["prefecture_value"].isna().all()
    key = ["level", "code", "year", "indicator", "item", "group", "confidence"]
    full = table[table["level"].isin(["county", "province"])].set_index(key).sort_index()
    mine = part.set_index(key).sort_index()
    pd.testing.assert_series_equal(mine["value"], full["value"].loc[mine.index], check_categorical=False)
    assert len(indicator_table(province, levels=["province"])) > 0


def test_a_level_without_its_benchmarks_is_not_compared(province):
    """A table of the counties alone has no prefecture or province to compare with: every comparison is
    ``not_compared`` and no benchmark value is filled.  No level at all is an error that says so."""
    part = indicator_table(province, levels=["county"])
    assert set(part["level"]) == {"county"}
    for bench in ("prefecture", "province"):
        assert set(part[f"vs_{bench}"]) == {"not_compared"} and part[f"{bench}_value"].isna().all()
    with pytest.raises(ValueError, match="levels must name at least one level"):
        indicator_table(province, levels=[])
