"""Tests for evalkit.measures.reach.

The expected numbers of the hand-computed tests come from arithmetic written out next to them
on a tiny constructed province (see ``tiny()``), not from the code's own output.  Intervals are
checked against the formula (Wilson) or against ``proportion()`` / ``rate()``, which the measures
reuse and which have their own reference tests.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evalkit.measures.proportions import proportion
from evalkit.measures.rates import rate
from evalkit.measures.reach import (
    COST_MEASURES,
    EQUITY_MEASURES,
    GROUP_REGISTERS,
    LEVELS,
    STAFFING_MEASURES,
    case_work_share,
    cost,
    coverage,
    equity,
    home_visit_share,
    person_times,
    staffing,
    station_coverage,
)

BASE = Path(__file__).parent / "data" / "base"
TODAY = dt.date(2026, 11, 22)
STANDARD = ["n", "denominator", "value", "lower", "upper", "confidence", "statistic", "method"]

T1, T2, T3 = "010101001", "010101002", "990001001"


# --- a tiny province -------------------------------------------------------------------


def tiny() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Province 01; prefecture 0101 holds county 010101 (townships T1, T2); prefecture 0102
    holds county 990001 (township T3), whose code does NOT begin with its prefecture's, so
    slicing codes would put it in a prefecture '9900' that does not exist.  Years 2024, 2025."""
    one_year = pd.DataFrame({
        "province_code": "01",
        "prefecture_code": ["0101", "0101", "0102"],
        "county_code": ["010101", "010101", "990001"],
        "township_code": [T1, T2, T3],
        "population": [1000, 2000, 500],
        "reg_dibao": [10, 20, 5],
        "reg_tekun": [2, 2, 1],
        "reg_left_behind_child": [4, 4, 4],
        "reg_child_in_difficulty": [1, 1, 1],
        "reg_elderly": [10, 10, 10],
        "reg_disabled": [3, 3, 3],
    })
    regions = pd.concat([one_year.assign(year=2024), one_year.assign(year=2025)],
                        ignore_index=True)
    stations = pd.DataFrame({
        "year": [2024, 2024, 2025],
        "county_code": ["010101", "010101", "010101"],
        "township_code": [T1, T2, T1],
        "social_workers": [3, 2, 4],
        "certified_social_workers": [1, 2, 3],
        "volunteers": [20, 10, 30],
        "service_level": ["3.0", "1.0", "2.0"],
        "budget_yuan": [100_000.0, 60_000.0, 120_000.0],
    })
    ledger = [  # date, township, person, group, mode
        ("2024-01-03", T1, "A", "dibao", "home_visit"),
        ("2024-02-03", T1, "A", "dibao", "drop_in"),
        ("2024-03-03", T1, "B", "dibao", "drop_in"),
        ("2024-04-03", T1, "C", "elderly", "home_visit"),
        ("2024-05-03", T1, "D", "general", "drop_in"),
        ("2024-06-03", T1, "E", "tekun", "home_visit"),
        ("2024-07-03", T1, "F", "tekun", "drop_in"),
        ("2024-12-31", T1, "G", "tekun", "drop_in"),
        ("2024-03-05", T2, "A", "dibao", "drop_in"),
        ("2024-04-05", T2, "H", "dibao", "home_visit"),
        ("2024-05-05", T2, "I", "disabled", "screening"),
        ("2024-06-07", T3, "J", "dibao", "drop_in"),
        ("2025-01-01", T1, "A", "dibao", "drop_in"),
    ]
    services = pd.DataFrame(ledger, columns=["date", "township_code", "person_id",
                                             "person_group", "mode"])
    services["date"] = pd.to_datetime(services["date"])
    services.insert(1, "county_code", services["township_code"].str[:6])
    services.insert(0, "record_id", [f"L{i:03d}" for i in range(len(services))])
    return regions, stations, services


def row(out: pd.DataFrame, **keys) -> pd.Series:
    mask = np.ones(len(out), dtype=bool)
    for k, v in keys.items():
        mask &= (out[k] == v).to_numpy()
    assert mask.sum() == 1, keys
    return out[mask].iloc[0]


def wilson(x: float, n: float, level: float = 0.95) -> tuple[float, float]:
    z = stats.norm.ppf(1 - (1 - level) / 2)
    centre, half = 2 * x + z * z, z * np.sqrt(z * z + 4 * x * (1 - x / n))
    return (centre - half) / (2 * (n + z * z)), (centre + half) / (2 * (n + z * z))


# --- hand-computed values ---------------------------------------------------------------


def test_coverage_by_hand_at_every_level():
    regions, _, services = tiny()
    town = coverage(regions, services, level="township", year=2024)
    # T1 dibao: persons A (twice) and B -> 2 of 10
    r = row(town, township_code=T1, group="dibao")
    assert (r["n"], r["denominator"], r["value"]) == (2, 10, 0.2)
    # T2 dibao: A and H -> 2 of 20; T3 dibao: J -> 1 of 5
    assert row(town, township_code=T2, group="dibao")["value"] == 2 / 20
    assert row(town, township_code=T3, group="dibao")["value"] == 1 / 5
    # T2 disabled: I -> 1 of 3; T1 elderly: C -> 1 of 10; T3 elderly: none -> 0 of 10
    assert row(town, township_code=T2, group="disabled")["value"] == 1 / 3
    assert row(town, township_code=T1, group="elderly")["value"] == 1 / 10
    assert row(town, township_code=T3, group="elderly")["value"] == 0

    county = coverage(regions, services, level="county", year=2024)
    # county 010101 dibao: A served in both T1 and T2 counts once -> {A, B, H} = 3 of 10 + 20
    r = row(county, county_code="010101", group="dibao")
    assert (r["n"], r["denominator"]) == (3, 30)
    lower, upper = wilson(3, 30)
    assert r["lower"] == pytest.approx(lower, rel=1e-12)
    assert r["upper"] == pytest.approx(upper, rel=1e-12)
    # county 990001 sits in prefecture 0102 (from regions, not the code's first digits)
    r = row(county, county_code="990001", group="dibao")
    assert (r["prefecture_code"], r["n"], r["denominator"]) == ("0102", 1, 5)

    pref = coverage(regions, services, level="prefecture", year=2024)
    assert set(pref["prefecture_code"]) == {"0101", "0102"}
    assert row(pref, prefecture_code="0102", group="dibao")["n"] == 1
    assert row(pref, prefecture_code="0101", group="dibao")["n"] == 3

    prov = coverage(regions, services, level="province", year=2024)
    # {A, B, H, J} = 4 of 10 + 20 + 5
    r = row(prov, group="dibao")
    assert (r["n"], r["denominator"]) == (4, 35)
    # tekun: E, F, G = 3 of 2 + 2 + 1
    assert row(prov, group="tekun")["value"] == 3 / 5


def test_coverage_caps_at_the_register_and_flags_it():
    regions, _, services = tiny()
    town = coverage(regions, services, level="township", year=2024)
    # T1 tekun: E, F, G served but only 2 registered -> n capped at 2, value 1
    r = row(town, township_code=T1, group="tekun")
    assert (r["served"], r["n"], r["denominator"], r["value"]) == (3, 2, 2, 1.0)
    assert bool(r["capped"]) is True
    assert r["upper"] == 1.0
    assert town["capped"].sum() == 1
    # at county level 3 served of 2 + 2 = 4 registered: not capped
    county = coverage(regions, services, level="county", year=2024)
    r = row(county, county_code="010101", group="tekun")
    assert (r["served"], r["n"], r["denominator"]) == (3, 3, 4)
    assert bool(r["capped"]) is False


def test_coverage_years_follow_the_date():
    regions, _, services = tiny()
    out = coverage(regions, services, level="township")
    # G on 2024-12-31 counts in 2024; A on 2025-01-01 is the only 2025 contact
    assert row(out, year=2025, township_code=T1, group="dibao")["n"] == 1
    assert row(out, year=2025, township_code=T1, group="tekun")["n"] == 0
    assert out[out["year"] == 2025]["n"].sum() == 1


def test_person_times_by_hand():
    regions, _, services = tiny()
    out = person_times(regions, services, level="township", year=2024)
    # contacts: T1 8, T2 3, T3 1; populations 1000, 2000, 500
    assert row(out, township_code=T1)["value"] == pytest.approx(8.0)
    assert row(out, township_code=T2)["value"] == pytest.approx(1.5)
    assert row(out, township_code=T3)["value"] == pytest.approx(2.0)
    county = person_times(regions, services, level="county", year=2024, per=10_000)
    r = row(county, county_code="010101")
    assert (r["n"], r["denominator"]) == (11, 3000)
    assert r["value"] == pytest.approx(11 / 3000 * 10_000)
    assert r["statistic"] == "rate per 10000"
    expected = rate(None, [11], [3000], per=10_000)
    assert r["lower"] == expected["lower"][0] and r["upper"] == expected["upper"][0]
    prov = person_times(regions, services, level="province", year=2024)
    assert prov["value"].tolist() == pytest.approx([12 / 3500 * 1000])


def test_home_visit_share_by_hand():
    regions, _, services = tiny()
    out = home_visit_share(regions, services, level="township", year=2024)
    # T1 home visits: A (dibao), C (elderly), E (tekun) -> 3 of 10+2+4+1+10+3 = 30
    r = row(out, township_code=T1)
    assert (r["n"], r["denominator"]) == (3, 30)
    # T2: H (dibao) -> 1 of 20+2+4+1+10+3 = 40; T3: none of 24
    assert row(out, township_code=T2)["value"] == 1 / 40
    assert row(out, township_code=T3)["value"] == 0
    county = home_visit_share(regions, services, level="county", year=2024)
    assert row(county, county_code="010101")["value"] == 4 / 70
    by_group = home_visit_share(regions, services, level="township", year=2024, by_group=True)
    assert row(by_group, township_code=T1, group="tekun")["value"] == 1 / 2
    assert row(by_group, township_code=T1, group="dibao")["value"] == 1 / 10
    assert len(by_group) == 3 * 6


def test_station_coverage_by_hand():
    regions, stations, _ = tiny()
    out = station_coverage(regions, stations, level="county")
    assert row(out, year=2024, county_code="010101")["value"] == 1.0
    assert row(out, year=2025, county_code="010101")["value"] == 0.5
    assert row(out, year=2024, county_code="990001")["value"] == 0.0
    prov = station_coverage(regions, stations, level="province")
    assert prov["n"].tolist() == [2, 1]
    assert prov["denominator"].tolist() == [3, 3]
    lower, upper = wilson(2, 3)
    assert prov["lower"][0] == pytest.approx(lower) and prov["upper"][0] == pytest.approx(upper)


def test_staffing_by_hand():
    regions, stations, _ = tiny()
    out = staffing(regions, stations, level="county", year=2024)
    assert out["measure"].tolist() == list(STAFFING_MEASURES) * 2
    a = out[out["county_code"] == "010101"].set_index("measure")
    # 3 + 2 social workers at 2 stations; 3000 residents; 1 + 2 certified; 20 + 10 volunteers
    assert a.loc["social_workers_per_station", "value"] == 2.5
    assert a.loc["social_workers_per_10000", "value"] == pytest.approx(5 / 3000 * 10_000)
    assert a.loc["certified_share", "value"] == pytest.approx(3 / 5)
    assert a.loc["certified_share", "method"] == "Wilson"
    assert a.loc["volunteers_per_10000", "value"] == pytest.approx(30 / 3000 * 10_000)
    lower, upper = wilson(3, 5)
    assert a.loc["certified_share", "lower"] == pytest.approx(lower)
    # of the 2 stations one is at level 3.0 (professional), one at 1.0 (administrative)
    assert a.loc["professional_station_share", ["n", "denominator", "value"]].tolist() == [1, 2, 0.5]
    lower, upper = wilson(1, 2)
    assert a.loc["professional_station_share", ["lower", "upper"]].tolist() == pytest.approx([lower, upper])
    b = out[out["county_code"] == "990001"].set_index("measure")
    # no station: per station, certified and professional shares are 0 of 0 -> missing; per resident 0
    assert np.isnan(b.loc["social_workers_per_station", "value"])
    assert np.isnan(b.loc["certified_share", "value"])
    assert np.isnan(b.loc["professional_station_share", "value"])
    assert b.loc["social_workers_per_10000", "value"] == 0
    assert b.loc["volunteers_per_10000", "value"] == 0


def test_staffing_refuses_a_station_level_it_does_not_know():
    regions, stations, _ = tiny()
    stations["service_level"] = stations["service_level"].astype(object)
    stations.loc[1, "service_level"] = 2.0  # a number, as a spreadsheet might give it: not the code "2.0"
    with pytest.raises(ValueError, match=r"service_level' of stations must be one of 1.0, 2.0, 3.0.*row 1 has 2.0"):
        staffing(regions, stations, level="county", year=2024)


def test_cost_by_hand():
    regions, stations, services = tiny()
    out = cost(regions, stations, services, level="county")
    assert set(out["measure"]) == set(COST_MEASURES)
    a = out[(out["year"] == 2024) & (out["county_code"] == "010101")].set_index("measure")
    # budget 100,000 + 60,000; 11 contacts; persons A..I = 9
    assert a.loc["cost_per_person_time", "value"] == pytest.approx(160_000 / 11)
    assert a.loc["cost_per_person_served", "value"] == pytest.approx(160_000 / 9)
    assert a["method"].tolist() == ["ratio", "ratio"]
    assert a[["lower", "upper"]].isna().all().all()
    b = out[(out["year"] == 2025) & (out["county_code"] == "010101")].set_index("measure")
    assert b.loc["cost_per_person_time", "value"] == 120_000
    c = out[(out["year"] == 2025) & (out["county_code"] == "990001")]
    assert c["value"].isna().all()  # no contacts: no cost per contact


# --- layout -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_columns_and_long_layout(level):
    regions, stations, services = tiny()
    codes = {"province": ["province_code"],
             "prefecture": ["province_code", "prefecture_code"],
             "county": ["province_code", "prefecture_code", "county_code"],
             "township": ["province_code", "prefecture_code", "county_code", "township_code"]}
    keys = ["year", *codes[level]]
    levels = [0.95, 0.998]
    cases = {
        "coverage": (coverage(regions, services, level=level, confidence=levels),
                     [*keys, "group", *STANDARD, "served", "capped"]),
        "person_times": (person_times(regions, services, level=level, confidence=levels),
                         [*keys, *STANDARD]),
        "staffing": (staffing(regions, stations, level=level, confidence=levels),
                     [*keys, "measure", *STANDARD]),
        "cost": (cost(regions, stations, services, level=level, confidence=levels),
                 [*keys, "measure", *STANDARD]),
    }
    for name, (out, columns) in cases.items():
        assert list(out.columns) == columns, name
        assert out["confidence"].tolist() == levels * (len(out) // 2), name
        assert out.index.equals(pd.RangeIndex(len(out))), name


def test_every_unit_present_for_every_year(small_tables):
    t = small_tables
    regions, stations, services = t["regions"], t["stations"], t["services"]
    units = regions[["year", "township_code"]].drop_duplicates()
    out = person_times(regions, services, level="township")
    assert len(out) == len(units)
    assert set(map(tuple, out[["year", "township_code"]].to_numpy())) == set(
        map(tuple, units.to_numpy()))
    counties = regions[["year", "county_code"]].drop_duplicates()
    for result, per in [
        (coverage(regions, services, level="county"), len(GROUP_REGISTERS)),
        (station_coverage(regions, stations, level="county"), 1),
        (staffing(regions, stations, level="county"), len(STAFFING_MEASURES)),
        (cost(regions, stations, services, level="county"), len(COST_MEASURES)),
    ]:
        assert len(result) == len(counties) * per
        got = result[["year", "county_code"]].drop_duplicates()
        assert set(map(tuple, got.to_numpy())) == set(map(tuple, counties.to_numpy()))
    # a township without any service or station still has its row, with zeros
    regions2, stations2, services2 = tiny()
    out = person_times(regions2, services2, level="township", year=2025)
    assert row(out, township_code=T3)["n"] == 0


def test_levels_add_up(small_tables):
    t = small_tables
    town = person_times(t["regions"], t["services"], level="township")
    county = person_times(t["regions"], t["services"], level="county")
    summed = town.groupby(["year", "county_code"])[["n", "denominator"]].sum().reset_index()
    merged = county.merge(summed, on=["year", "county_code"], suffixes=("", "_sum"))
    assert (merged["n"] == merged["n_sum"]).all()
    assert (merged["denominator"] == merged["denominator_sum"]).all()
    # unique persons: a county counts each person once, so never more than its townships
    ct = coverage(t["regions"], t["services"], level="township")
    cc = coverage(t["regions"], t["services"], level="county")
    s = ct.groupby(["year", "county_code", "group"])["served"].sum().reset_index()
    m = cc.merge(s, on=["year", "county_code", "group"], suffixes=("", "_sum"))
    assert (m["served"] <= m["served_sum"]).all()


def test_typed_and_raw_frames_agree():
    from evalkit.schema import load_province

    p = load_province(BASE, today=TODAY)
    raw_services = pd.read_csv(BASE / "services.csv", dtype=str)
    raw_services["date"] = pd.to_datetime(raw_services["date"])
    raw_regions = pd.read_csv(BASE / "regions.csv", dtype={
        c: str for c in ["province_code", "prefecture_code", "county_code", "township_code"]})
    typed = coverage(p.regions, p.services, level="county")
    raw = coverage(raw_regions, raw_services, level="county")
    pd.testing.assert_frame_equal(typed, raw, check_dtype=False)


# --- invariance to row order ----------------------------------------------------------------


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    order = np.random.default_rng(seed).permutation(len(frame))
    out = frame.iloc[order]
    return out.set_axis(np.random.default_rng(seed + 1).permutation(len(out)) + 100)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31), level=st.sampled_from(LEVELS))
def test_row_order_does_not_matter(seed, level):
    regions, stations, services = tiny()
    r2, s2, v2 = shuffled(regions, seed), shuffled(stations, seed + 7), shuffled(services,
                                                                                 seed + 13)
    for f in (
        lambda r, s, v: coverage(r, v, level=level),
        lambda r, s, v: home_visit_share(r, v, level=level),
        lambda r, s, v: person_times(r, v, level=level),
        lambda r, s, v: station_coverage(r, s, level=level),
        lambda r, s, v: staffing(r, s, level=level),
        lambda r, s, v: cost(r, s, v, level=level),
    ):
        pd.testing.assert_frame_equal(f(regions, stations, services), f(r2, s2, v2))


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=12),
    seed=st.integers(0, 2**31),
)
def test_equity_row_order_does_not_matter(values, seed):
    k = len(values)
    rng = np.random.default_rng(seed)
    towns = pd.DataFrame({
        "year": 2024, "county_code": np.where(np.arange(k) % 2 == 0, "010101", "010102"),
        "township_code": [f"0101010{i:02d}" for i in range(k)],
        "value": values,
        "denominator": rng.integers(1, 4, size=k) * 1000.0,  # ties in the ranking variable
    })
    a = equity(towns)
    b = equity(towns.iloc[rng.permutation(k)].reset_index(drop=True))
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


# --- equity ----------------------------------------------------------------------------------


def towns_frame(values, weights=None, rank=None, county="010101") -> pd.DataFrame:
    k = len(values)
    return pd.DataFrame({
        "year": 2024, "county_code": county,
        "township_code": [f"{county}{i:03d}" for i in range(1, k + 1)],
        "value": np.asarray(values, dtype=float),
        "denominator": np.ones(k) * 1000 if weights is None else np.asarray(weights, float),
        "rank": np.arange(k) if rank is None else rank,
    })


def test_equity_equal_townships():
    out = equity(towns_frame([3.0] * 7, weights=[100, 200, 300, 400, 500, 600, 700]))
    v = out.set_index("equity")["value"]
    assert v["top_bottom_fifth_ratio"] == pytest.approx(1.0)
    assert v["coefficient_of_variation"] == pytest.approx(0.0, abs=1e-15)
    assert v["concentration_index"] == pytest.approx(0.0, abs=1e-12)


def test_equity_fifths_and_cv_by_hand():
    # values 1..10: m = 2 townships per fifth; top (9 + 10) / 2 = 9.5, bottom (1 + 2) / 2 = 1.5
    # mean 5.5, variance (10^2 - 1) / 12 = 8.25 (divisor k)
    v = equity(towns_frame(range(1, 11))).set_index("equity")["value"]
    assert v["top_bottom_fifth_ratio"] == pytest.approx(9.5 / 1.5)
    assert v["coefficient_of_variation"] == pytest.approx(np.sqrt(8.25) / 5.5)
    # 7 townships: m = floor(7/5 + 1/2) = 1
    v7 = equity(towns_frame([4, 1, 2, 2, 3, 8, 5])).set_index("equity")["value"]
    assert v7["top_bottom_fifth_ratio"] == pytest.approx(8 / 1)


def kakwani(pop: list[float], events: list[float]) -> float:
    """Kakwani, Wagstaff & van Doorslaer (1997) eq. for grouped data, written independently:
    C = sum_t (p_t L_{t+1} - p_{t+1} L_t) with p, L cumulative shares of population and of the
    health variable, groups ordered from the lowest rank."""
    p = np.cumsum(pop) / np.sum(pop)
    L = np.cumsum(events) / np.sum(events)
    return float(sum(p[t] * L[t + 1] - p[t + 1] * L[t] for t in range(len(p) - 1)))


def test_concentration_index_textbook_grouped_example():
    # Five groups ranked poorest to richest with populations 100, 200, 300, 200, 200 and rates
    # 10, 8, 6, 4, 2 per person (events 1000, 1600, 1800, 800, 400 of 5600).  By hand:
    # p = .1, .3, .6, .8, 1;  L = 10/56, 26/56, 44/56, 52/56, 1;
    # C = (1*26 - 3*10 + 3*44 - 6*26 + 6*52 - 8*44 + 8*56 - 10*52) / 560 = -140/560 = -0.25.
    pops, rates = [100, 200, 300, 200, 200], [10, 8, 6, 4, 2]
    assert kakwani(pops, [p * r for p, r in zip(pops, rates)]) == pytest.approx(-0.25)
    frame = towns_frame(rates, weights=pops, rank=[1, 2, 3, 4, 5]).iloc[[3, 0, 4, 2, 1]]
    out = equity(frame, rank="rank").set_index("equity")
    assert out.loc["concentration_index", "value"] == pytest.approx(-0.25, abs=1e-12)
    assert out.loc["concentration_index", "denominator"] == 1000
    # ranked the other way round the sign flips
    down = equity(frame, rank="rank", descending=True).set_index("equity")
    assert down.loc["concentration_index", "value"] == pytest.approx(0.25, abs=1e-12)


def test_concentration_index_all_in_the_top_group():
    # five equal groups, everything in the richest: C = 1 - 1/5
    out = equity(towns_frame([0, 0, 0, 0, 7.0]), rank="rank").set_index("equity")
    assert out.loc["concentration_index", "value"] == pytest.approx(0.8)
    assert np.isnan(out.loc["top_bottom_fifth_ratio", "value"])  # bottom fifth mean is 0


def test_concentration_index_ties_are_one_block():
    # townships 2 and 3 tie on the ranking variable: they must count as one group of
    # population 100 + 100 with 10*100 + 6*100 events, in whichever order they come
    pops, rates, rank = [100, 100, 100, 200, 200], [12, 10, 6, 4, 2], [1, 2, 2, 3, 4]
    expected = kakwani([100, 200, 200, 200], [1200, 1600, 800, 400])
    for order in ([0, 1, 2, 3, 4], [0, 2, 1, 3, 4], [4, 2, 3, 1, 0]):
        frame = towns_frame(rates, weights=pops, rank=rank).iloc[order]
        out = equity(frame, rank="rank").set_index("equity")
        assert out.loc["concentration_index", "value"] == pytest.approx(expected, abs=1e-12)


def test_equity_is_vectorised_over_counties_and_keeps_keys():
    a = towns_frame([1, 2, 3, 4, 5], county="010101")
    b = towns_frame([3.0, 3.0, 3.0], county="010102")
    c = towns_frame([4.0], county="010103")  # one township: nothing to compare
    data = pd.concat([a, b, c], ignore_index=True)
    data["confidence"] = 0.95
    out = equity(data, rank="rank")
    assert list(out.columns) == ["year", "county_code", "equity", *STANDARD]
    assert out["equity"].tolist() == list(EQUITY_MEASURES) * 3
    assert out["county_code"].tolist() == ["010101"] * 3 + ["010102"] * 3 + ["010103"] * 3
    assert out["n"].tolist() == [5] * 3 + [3] * 3 + [1] * 3
    assert out["confidence"].eq(0.95).all()
    assert out[out["county_code"] == "010103"]["value"].isna().all()
    assert out[out["county_code"] == "010102"]["value"].tolist() == pytest.approx([1, 0, 0])


def test_equity_on_a_measure_table(small_tables):
    t = small_tables
    town = person_times(t["regions"], t["services"], level="township", confidence=[0.95, 0.998])
    out = equity(town, by="prefecture")
    prefectures = t["regions"][["year", "prefecture_code"]].drop_duplicates()
    assert len(out) == len(prefectures) * 2 * 3
    ci = out[out["equity"] == "concentration_index"]["value"]
    assert ((ci > -1) & (ci < 1)).all()


# --- messages ----------------------------------------------------------------------------


def test_message_unknown_level():
    regions, _, services = tiny()
    with pytest.raises(ValueError, match=re.escape(
            "Level must be one of 'township', 'county', 'prefecture' or 'province'; "
            "got 'city'.")):
        person_times(regions, services, level="city")


def test_message_missing_column_in_regions():
    regions, _, services = tiny()
    with pytest.raises(ValueError, match=re.escape(
            "Column 'population' is missing from regions; person_times() needs 'year', "
            "'province_code', 'prefecture_code', 'county_code', 'township_code', "
            "'population'.")):
        person_times(regions.drop(columns="population"), services)


def test_message_missing_column_in_services():
    regions, _, services = tiny()
    with pytest.raises(ValueError, match=re.escape(
            "Column 'person_group' is missing from services; coverage() needs 'date', "
            "'township_code', 'person_id', 'person_group'.")):
        coverage(regions, services.drop(columns="person_group"))


def test_message_missing_column_in_stations():
    regions, stations, _ = tiny()
    with pytest.raises(ValueError, match=re.escape(
            "Column 'volunteers' is missing from stations; staffing() needs")):
        staffing(regions, stations.drop(columns="volunteers"))


def test_message_province_object():
    from evalkit.schema import load_province

    p = load_province(BASE, today=TODAY)
    with pytest.raises(ValueError, match=re.escape(
            "Regions must be a pandas DataFrame; got Province. Pass the table "
            "(province.regions), not the Province object.")):
        coverage(p, p.services)


def test_message_unknown_year():
    regions, _, services = tiny()
    with pytest.raises(ValueError, match=re.escape(
            "Year 2030 is not in regions; its years are 2024, 2025.")):
        coverage(regions, services, year=2030)
    with pytest.raises(ValueError, match=re.escape("Year '2024' is not in regions")):
        coverage(regions, services, year="2024")


def test_message_unknown_group():
    regions, _, services = tiny()
    with pytest.raises(ValueError, match=re.escape(
            "Group 'general' has no register; the priority groups are dibao, tekun, "
            "left_behind_child, child_in_difficulty, elderly, disabled.")):
        coverage(regions, services, groups=["general"])
    with pytest.raises(ValueError, match=re.escape(
            "Groups must name at least one priority group, such as 'dibao'.")):
        coverage(regions, services, groups=[])


def test_message_unknown_group_code_in_ledger():
    regions, _, services = tiny()
    services.loc[4, "person_group"] = "vip"
    with pytest.raises(ValueError, match=re.escape(
            "Column 'person_group' of services has 'vip' in row 4, which is not a group code; "
            "the codes are dibao, tekun, left_behind_child, child_in_difficulty, elderly, "
            "disabled, general.")):
        coverage(regions, services)


def test_message_township_not_in_regions():
    regions, stations, services = tiny()
    services.loc[2, "township_code"] = "010101999"
    with pytest.raises(ValueError, match=re.escape(
            "Services row 2 names township '010101999' in year 2024, which is not in regions "
            "for that year; check the tables with evalkit.validate_province() first.")):
        person_times(regions, services)
    stations.loc[2, "year"] = 2023
    with pytest.raises(ValueError, match=re.escape(
            "Stations row 2 names township '010101001' in year 2023, which is not in regions")):
        station_coverage(regions, stations)
    # a selected year only looks at that year's rows
    assert len(station_coverage(regions, stations, year=2024)) == 2


def test_message_dates_not_parsed():
    regions, _, services = tiny()
    services["date"] = services["date"].dt.strftime("%Y-%m-%d")
    with pytest.raises(ValueError, match=re.escape(
            "Column 'date' of services must hold dates (datetime64); got ")):
        person_times(regions, services)


def test_message_not_numbers():
    regions, _, services = tiny()
    regions["population"] = regions["population"].astype(object)
    regions.loc[1, "population"] = "many"
    with pytest.raises(ValueError, match=re.escape(
            "Column 'population' of regions must hold numbers; row 1 has 'many'.")):
        person_times(regions, services)


def test_message_rate_multiplier_passes_through():
    regions, _, services = tiny()
    with pytest.raises(ValueError, match="The rate multiplier per must be a positive number"):
        person_times(regions, services, per=0)


def test_messages_equity():
    data = towns_frame([1, 2, 3])
    with pytest.raises(ValueError, match=re.escape("Data must be a pandas DataFrame; got list.")):
        equity([1, 2])
    with pytest.raises(ValueError, match=re.escape(
            "By must be one of 'county', 'prefecture' or 'province'; got 'township'.")):
        equity(data, by="township")
    with pytest.raises(ValueError, match=re.escape(
            "Unit must be one of 'township', 'county' or 'prefecture'; got 'village'.")):
        equity(data, unit="village")
    with pytest.raises(ValueError, match=re.escape(
            "Unit must be a finer level than by; got unit 'county' and by 'county'")):
        equity(data, unit="county", by="county")
    with pytest.raises(ValueError, match=re.escape(
            "Column 'wealth' is missing from data; equity() needs 'county_code', "
            "'township_code', 'value', 'denominator', 'wealth'.")):
        equity(data, rank="wealth")
    twice = pd.concat([data, data], ignore_index=True)
    with pytest.raises(ValueError, match=re.escape(
            "Data has more than one row for township_code '010101001' in the partition "
            "(year 2024, county_code '010101'); equity() needs one row per township.")):
        equity(twice)


def test_total_rows_equal_the_all_groups_figures():
    """`total=True` adds, from the same pass, exactly what by_group=False computes."""
    import datetime

    from evalkit.schema import load_province

    p = load_province("tests/data/base", today=datetime.date(2026, 11, 22))
    both = home_visit_share(p.regions, p.services, by_group=True, total=True)
    alone = home_visit_share(p.regions, p.services)
    got = both[both["group"] == "all"].drop(columns="group").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, alone, check_dtype=False)
    cov = coverage(p.regions, p.services, total=True)
    all_rows = cov[cov["group"] == "all"]
    per_group = cov[cov["group"] != "all"].groupby(["year", "county_code"])[["n", "denominator"]].sum()
    assert np.allclose(all_rows.set_index(["year", "county_code"])[["n", "denominator"]].sort_index(),
                       per_group.sort_index())


# --- one pass over the ledger for every level (what the indicator table uses) ------------


def test_one_pass_for_every_level_gives_what_each_measure_gives() -> None:
    """reach.by_level (one coding and one sort of the ledger for all levels) returns, framed,
    exactly the tables of the public measures called level by level."""
    from evalkit.measures import reach
    from evalkit.schema import load_province

    p = load_province(BASE, today=TODAY)
    by_level = reach.by_level(p.regions, p.stations, p.services, LEVELS, per=1000, confidence=[0.95, 0.998])
    for level, (keys, rows) in by_level.items():
        geo = reach.geography(p.regions, level, None, [], "test")
        kw = {"level": level, "confidence": [0.95, 0.998]}
        expected = {
            "coverage": coverage(p.regions, p.services, total=True, **kw),
            "home_visit_share": home_visit_share(p.regions, p.services, by_group=True, total=True, **kw),
            "case_work_share": case_work_share(p.regions, p.services, **kw),
            "person_times": person_times(p.regions, p.services, per=1000, **kw),
            "station_coverage": station_coverage(p.regions, p.stations, **kw),
            "staffing": staffing(p.regions, p.stations, **kw),
            "cost": cost(p.regions, p.stations, p.services, **kw),
        }
        pd.testing.assert_frame_equal(keys, geo.keys)
        for name, want in expected.items():
            pd.testing.assert_frame_equal(reach._framed(geo, rows[name]), want, obj=f"{level} {name}")


def test_distinct_persons_with_people_served_in_two_townships() -> None:
    """Counts of distinct persons at every level against a direct count: a person served in two
    townships of a county counts once for the county, in each group they were served under."""
    from evalkit.measures import ledger as engine

    regions, _, services = tiny()
    extra = pd.DataFrame({  # A again in T2 as tekun, visited; B in T3 (another county), visited
        "date": pd.to_datetime(["2024-08-01", "2024-09-01", "2024-10-01"]),
        "township_code": [T2, T3, T2], "person_id": ["A", "B", "B"],
        "person_group": ["tekun", "dibao", "dibao"], "mode": ["home_visit", "home_visit", "drop_in"]})
    services = pd.concat([services, extra], ignore_index=True)
    geos = [engine.geography(regions, level, None, [], "test") for level in LEVELS]
    ledger = engine.code_ledger(services, persons=True, visits=True)
    served = engine.count_served(geos, ledger, engine.ledger_rows(geos[0], ledger), visits=True)
    for geo, got in zip(geos, served):
        code = geo.keys.columns[-1]
        rows = services.drop(columns="county_code").assign(year=services["date"].dt.year).merge(
            regions[list(dict.fromkeys(["year", "township_code", code]))], on=["year", "township_code"])
        unit = geo.keys.reset_index().merge(rows, on=["year", code])
        for g, group in enumerate(engine.PERSON_GROUPS):
            mine = unit[unit["person_group"] == group]
            want = mine.groupby("index")["person_id"].nunique().reindex(range(geo.size), fill_value=0)
            assert (got.by_group[:, g] == want.to_numpy()).all(), (geo.keys.columns[-1], group)
            visits = mine[mine["mode"] == "home_visit"].groupby("index")["person_id"].nunique()
            assert (got.visited[:, g] == visits.reindex(range(geo.size), fill_value=0).to_numpy()).all()
        want = unit.groupby("index")["person_id"].nunique().reindex(range(geo.size), fill_value=0)
        assert (got.persons == want.to_numpy()).all()


@pytest.mark.parametrize("ids", [
    ["P01", "P02", "P01", "Q10"],                      # one length: read as numbers
    ["甲1", "乙2", "甲1"],                              # bytes of UTF-8, not characters
    ["A1", "B22", "A1"],                               # lengths differ: factorised
    ["A1", None, "A1", "B2"],                          # a missing id: -1
])
def test_person_keys_are_exact(ids) -> None:
    from evalkit.measures import ledger as engine

    for values in (pd.Series(ids, dtype="str"), pd.Series(ids, dtype="str")[1:], pd.Series(ids, dtype=object)):
        keys, bound = engine._person_codes(pd.DataFrame({"person_id": values}))
        missing = values.isna().to_numpy()
        assert (keys[missing] == -1).all() and (keys[~missing] >= 0).all() and (keys < bound).all()
        # same ids, same keys; different ids, different keys
        assert (pd.factorize(keys[~missing])[0] == pd.factorize(values[~missing])[0]).all()


# --- case work (个案工作占比) --------------------------------------------------------------------


@pytest.mark.parametrize("level", ["township", "county", "prefecture", "province"])
def test_case_work_share_is_a_count_of_the_case_work_rows_with_a_wilson_interval(small_tables, level) -> None:
    """The share of contacts whose mode is case work, at every level, against a count of the ledger's
    rows made here (not with the measure's code), and its interval against statsmodels' Wilson."""
    from statsmodels.stats.proportion import proportion_confint

    regions, services = small_tables["regions"], small_tables["services"]
    code = f"{level}_code"
    keys = ["year", code]
    place = regions[list(dict.fromkeys(["year", "township_code", code]))].astype({"township_code": str})
    ledger = pd.DataFrame({"year": pd.to_datetime(services["date"]).dt.year,
                           "township_code": services["township_code"].astype(str),
                           "case": (services["mode"].astype(str) == "case_work").to_numpy()})
    ledger = ledger.merge(place, on=["year", "township_code"], how="left", validate="many_to_one")
    assert ledger[code].notna().all()
    counted = ledger.groupby(keys)["case"].agg(["sum", "size"])
    assert counted["sum"].sum() > 0  # the sample has case work to count
    got = case_work_share(regions, services, level=level, confidence=[0.95, 0.998])
    assert len(got) == 2 * len(regions[keys].drop_duplicates())  # every unit-year, with or without contacts
    got = got.join(counted, on=keys)
    got[["sum", "size"]] = got[["sum", "size"]].fillna(0)
    assert (got["n"] == got["sum"]).all() and (got["denominator"] == got["size"]).all()
    some = got["denominator"] > 0
    assert np.allclose(got.loc[some, "value"], got.loc[some, "sum"] / got.loc[some, "size"], rtol=0, atol=1e-15)
    assert got.loc[~some, "value"].isna().all()
    for conf in (0.95, 0.998):
        mine = got[some & (got["confidence"] == conf)]
        lower, upper = proportion_confint(mine["sum"], mine["size"], alpha=1 - conf, method="wilson")
        assert np.allclose(mine["lower"], lower, rtol=1e-10, atol=1e-12), conf
        assert np.allclose(mine["upper"], upper, rtol=1e-10, atol=1e-12), conf
    assert set(got["method"]) == {"Wilson"} and set(got["statistic"]) == {"proportion of 1"}


def test_case_work_share_is_in_the_indicator_table_compared_like_the_other_shares(small_province) -> None:
    """The table's rows of case_work_share (registry: evalkit/indicators.toml) are the measure's, suppressed below
    5 case-work contacts (or 5 contacts), and compared with the prefecture and the province."""
    from evalkit import registry
    from evalkit.indicators import indicator_table
    from evalkit.schema import load_province

    assert registry.get("case_work_share").measure == "evalkit.measures.reach:case_work_share"
    assert "reach" in registry.get("case_work_share").section  # the township table, beside home visits
    p = load_province(small_province, today=TODAY)
    table = indicator_table(p)
    rows = table[(table["indicator"] == "case_work_share") & (table["level"] == "county")].astype({"code": str})
    want = case_work_share(p.regions, p.services, confidence=[0.95, 0.998])
    both = rows.merge(want, left_on=["year", "code", "confidence"], right_on=["year", "county_code", "confidence"],
                      suffixes=("", "_measure"), validate="one_to_one")
    assert len(both) == len(want) and set(rows["group"]) == {"all"} and set(rows["item"]) == {"all"}
    shown = both[~both["suppressed"]]
    assert len(shown) > 0
    for c in ("n", "denominator", "value", "lower", "upper"):
        assert np.allclose(shown[c], shown[f"{c}_measure"], equal_nan=True), c
    assert both.loc[both["suppressed"], "value"].isna().all()
    assert (shown["n"] >= 5).all() and (shown["denominator"] >= 5).all()
    assert set(rows["unit"].astype(str)) == {"proportion"} and set(rows["kind"].astype(str)) == {"persons"}
    assert set(rows["vs_province"].astype(str)) <= {"better", "similar", "worse", "not_compared"}
    assert rows["province_value"].notna().any()
