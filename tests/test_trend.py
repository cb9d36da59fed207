"""Tests for evalkit.measures.trend: R's prop.trend.test reference, hand-worked changes,
statsmodels for the weighted slope, properties and one test per error message.

Reference values: tests/reference/trend/prop_trend_test.json, made by the R script beside it
(see PROVENANCE.md there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from evalkit.measures.satisfaction import satisfaction
from evalkit.measures.trend import change_between_waves, cochran_armitage, linear_trend

REF = Path(__file__).parent / "reference" / "trend"
CASES = json.loads((REF / "prop_trend_test.json").read_text())["entries"]
REL = 1e-8


# --- R reference: prop.trend.test ------------------------------------------------------------

def _long(cases: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"id": c["id"], "x": x, "n": n, "score": s}
                         for c in cases for x, n, s in zip(c["x"], c["n"], c["score"])])


def test_every_case_in_one_vectorised_call() -> None:
    res = cochran_armitage(_long(CASES), "x", "n", score="score", by="id").set_index("id")
    assert len(res) == len(CASES)
    for c in CASES:
        got = res.loc[c["id"]]
        assert got["value"] == pytest.approx(c["statistic"], rel=REL, abs=1e-12), c["r_call"]
        assert got["p_value"] == pytest.approx(c["p_value"], rel=REL), c["r_call"]
        assert got["df"] == c["df"] == 1


@pytest.mark.parametrize("case", [c for c in CASES if c["default_score"]],
                         ids=[c["id"] for c in CASES if c["default_score"]])
def test_default_scores_are_r_seq_along(case: dict) -> None:
    one = cochran_armitage(None, case["x"], case["n"]).iloc[0]
    assert one["value"] == pytest.approx(case["statistic"], rel=REL, abs=1e-12)
    assert one["p_value"] == pytest.approx(case["p_value"], rel=REL)
    grouped = cochran_armitage(_long([case]), "x", "n", by="id").iloc[0]
    assert grouped["value"] == pytest.approx(case["statistic"], rel=REL, abs=1e-12)


def test_r_documentation_example() -> None:
    """smokers <- c(83, 90, 129, 70); patients <- c(86, 93, 136, 82); R prints
    X-squared = 8.2249, df = 1, p-value = 0.004132, and with scores c(0, 0, 0, 1)
    X-squared = 12.173, p-value = 0.0004848."""
    smokers, patients = [83, 90, 129, 70], [86, 93, 136, 82]
    res = cochran_armitage(None, smokers, patients).iloc[0]
    assert round(res["value"], 4) == 8.2249 and round(res["p_value"], 6) == 0.004132
    res = cochran_armitage(None, smokers, patients, score=[0, 0, 0, 1]).iloc[0]
    assert round(res["value"], 3) == 12.173 and round(res["p_value"], 7) == 0.0004848
    assert res["slope"] < 0 and res["x"] == 372 and res["n"] == 397 and res["k"] == 4


def test_two_categories_equal_pearson_chi_squared() -> None:
    table = np.array([[15, 35], [25, 25]])
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    res = cochran_armitage(None, [15, 25], [50, 50]).iloc[0]
    assert res["value"] == pytest.approx(chi2, rel=1e-12)


def test_undefined_cases_are_nan() -> None:
    df = pd.DataFrame({"g": ["all0"] * 3 + ["all1"] * 3 + ["one"],
                       "x": [0, 0, 0, 5, 6, 7, 3], "n": [5, 6, 7, 5, 6, 7, 9]})
    res = cochran_armitage(df, "x", "n", by="g")
    assert res["value"].isna().all() and res["p_value"].isna().all()
    assert res["k"].tolist() == [3, 3, 1]


def test_rows_without_a_key_are_left_out() -> None:
    df = _long(CASES[:1]).assign(id=["a", "a", None, "a"])
    res = cochran_armitage(df, "x", "n", score="score", by="id")
    assert res["id"].tolist() == ["a"] and res["n"].iloc[0] == 86 + 93 + 82


# --- change between waves --------------------------------------------------------------------

def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "county_code": ["A"] * 3 + ["B"] * 3 + ["C"],
        "year": [2023, 2024, 2025, 2025, 2023, 2024, 2025],  # B out of order on purpose
        "value": [0.80, 0.84, 0.90, 0.89, 0.90, 0.93, 0.70],
        "se": [0.02, 0.02, 0.02, 0.01, 0.01, 0.01, 0.05],
        "n": [100, 110, 120, 200, 210, 220, 30],
    })


def test_change_by_hand() -> None:
    res = change_between_waves(_table()).set_index(["county_code", "comparison"])
    a = res.loc[("A", "latest_vs_previous")]
    se = np.sqrt(0.02**2 + 0.02**2)
    z = stats.norm.ppf(0.975)
    assert a["value"] == pytest.approx(0.06) and a["se"] == pytest.approx(se)
    assert a["lower"] == pytest.approx(0.06 - z * se) and a["upper"] == pytest.approx(0.06 + z * se)
    assert a["z"] == pytest.approx(0.06 / se)
    assert a["p_value"] == pytest.approx(2 * stats.norm.sf(0.06 / se))
    assert (a["year_from"], a["year_to"], a["n_from"], a["n_to"]) == (2024, 2025, 110, 120)
    assert a["label"] == "increase"
    b_prev, b_first = res.loc[("B", "latest_vs_previous")], res.loc[("B", "latest_vs_first")]
    assert b_prev["value"] == pytest.approx(-0.04) and b_prev["label"] == "decrease"
    assert b_first["value"] == pytest.approx(-0.01) and b_first["label"] == "no_significant_change"
    assert b_first["year_from"] == 2023 and b_first["value_from"] == 0.90
    c = res.loc[("C", "latest_vs_previous")]  # one wave only: no comparison, no error
    assert np.isnan(c["value"]) and pd.isna(c["label"]) and pd.isna(c["year_from"])
    assert c["value_to"] == 0.70


def test_change_against_a_given_wave_and_layout() -> None:
    res = change_between_waves(_table(), against=[2024, "first"])
    assert res.columns.tolist() == [
        "county_code", "comparison", "year_from", "year_to", "value_from", "value_to", "value",
        "se", "lower", "upper", "confidence", "statistic", "method", "z", "p_value", "label",
        "n_from", "n_to"]
    assert res["comparison"].tolist() == ["latest_vs_2024", "latest_vs_first"] * 3
    assert res["value"].iloc[0] == pytest.approx(0.06)
    assert res["year_from"].dtype == "Int64"
    assert set(res["statistic"]) == {"difference"}


def test_change_se_from_interval_width() -> None:
    t = _table()
    z = stats.norm.ppf(0.95)
    wald = t.assign(lower=t["value"] - z * t["se"], upper=t["value"] + z * t["se"],
                    confidence=0.90).drop(columns="se")
    a = change_between_waves(t)
    b = change_between_waves(wald)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-12)
    assert b["method"].iloc[0] == "wald, independent waves, se from interval width"


def test_change_infers_units_from_a_satisfaction_table(small_tables) -> None:
    sat = satisfaction(small_tables["survey"], by=["year", "county_code"])
    res = change_between_waves(sat)
    n_units = sat[["county_code", "item", "measure"]].drop_duplicates().shape[0]
    assert len(res) == 2 * n_units
    assert {"county_code", "item", "measure"} <= set(res.columns)
    assert set(res["year_to"]) == {2025} and set(res["year_from"]) == {2023, 2024}
    one = res[(res["measure"] == "index_0_100") & (res["comparison"] == "latest_vs_first")].iloc[0]
    rows = sat[(sat["county_code"] == one["county_code"]) & (sat["item"] == one["item"])
               & (sat["measure"] == "index_0_100")].set_index("year")
    assert one["value"] == pytest.approx(rows.loc[2025, "value"] - rows.loc[2023, "value"])
    assert one["se"] == pytest.approx(np.hypot(rows.loc[2025, "se"], rows.loc[2023, "se"]))


def test_zero_se_gives_a_definite_label() -> None:
    t = pd.DataFrame({"year": [2024, 2025, 2024, 2025], "u": ["a", "a", "b", "b"],
                      "value": [0.9, 1.0, 1.0, 1.0], "se": [0.0, 0.0, 0.0, 0.0]})
    res = change_between_waves(t, against="previous")
    assert res["label"].tolist() == ["increase", "no_significant_change"]
    assert res["p_value"].tolist() == [0.0, 1.0]


# --- linear trend ----------------------------------------------------------------------------

def test_linear_trend_equals_weighted_least_squares() -> None:
    t = pd.DataFrame({"year": [2021, 2022, 2023, 2024, 2025],
                      "value": [0.71, 0.74, 0.73, 0.80, 0.82],
                      "se": [0.03, 0.02, 0.025, 0.02, 0.04]})
    res = linear_trend(t).iloc[0]
    fit = sm.WLS(t["value"], sm.add_constant(t["year"]), weights=1 / t["se"] ** 2).fit()
    assert res["value"] == pytest.approx(fit.params["year"], rel=1e-10)
    # known variances: the unscaled covariance (XtWX)^-1, not the residual-scaled one
    assert res["se"] == pytest.approx(np.sqrt(fit.normalized_cov_params.loc["year", "year"]),
                                      rel=1e-10)
    assert res["n_waves"] == 5 and (res["year_first"], res["year_last"]) == (2021, 2025)
    assert res["statistic"] == "slope per year" and res["label"] == "increase"


def test_two_waves_give_the_same_test_as_the_change() -> None:
    t = _table()[lambda d: d["year"] >= 2024]
    trend = linear_trend(t).set_index("county_code")
    change = change_between_waves(t, against="previous").set_index("county_code")
    for c in ("A", "B"):
        assert trend.loc[c, "z"] == pytest.approx(change.loc[c, "z"], rel=1e-10)
        assert trend.loc[c, "label"] == change.loc[c, "label"]
    assert np.isnan(trend.loc["C", "value"]) and pd.isna(trend.loc["C", "label"])


def test_linear_trend_skips_missing_waves_and_refuses_zero_se() -> None:
    t = pd.DataFrame({"u": ["a"] * 3 + ["b"] * 3, "year": [2023, 2024, 2025] * 2,
                      "value": [0.5, np.nan, 0.7, 0.9, 0.95, 1.0],
                      "se": [0.05, np.nan, 0.05, 0.02, 0.02, 0.0]})
    res = linear_trend(t).set_index("u")
    assert res.loc["a", "n_waves"] == 2 and res.loc["a", "value"] == pytest.approx(0.1)
    assert np.isnan(res.loc["b", "value"]) and pd.isna(res.loc["b", "label"])


# --- properties ------------------------------------------------------------------------------

@st.composite
def tables(draw) -> pd.DataFrame:
    rows = []
    for u in range(draw(st.integers(1, 4))):
        years = draw(st.lists(st.integers(2019, 2026), min_size=1, max_size=5, unique=True))
        for y in years:
            rows.append((f"u{u}", y, draw(st.floats(0, 1)), draw(st.floats(0.001, 0.2))))
    return pd.DataFrame(rows, columns=["unit", "year", "value", "se"])


@st.composite
def counts(draw) -> pd.DataFrame:
    rows = []
    for g in range(draw(st.integers(1, 3))):
        for s in range(draw(st.integers(2, 5))):
            n = draw(st.integers(1, 500))
            rows.append((f"g{g}", n, draw(st.integers(0, n)), round(draw(st.floats(-10, 10)), 3)))
    return pd.DataFrame(rows, columns=["g", "n", "x", "score"])


fast = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(tables(), st.sampled_from([change_between_waves, linear_trend]))
def test_interval_contains_estimate(t: pd.DataFrame, func) -> None:
    res = func(t).dropna(subset=["value"])
    assert (res["lower"] <= res["value"]).all() and (res["value"] <= res["upper"]).all()


@fast
@given(tables(), st.sampled_from([change_between_waves, linear_trend]), st.floats(0.5, 0.9),
       st.floats(0.01, 0.09))
def test_interval_widens_with_confidence(t, func, low, step) -> None:
    narrow, wide = func(t, confidence=low), func(t, confidence=low + step)
    ok = narrow["value"].notna()
    assert (wide["lower"][ok] <= narrow["lower"][ok] + 1e-12).all()
    assert (wide["upper"][ok] >= narrow["upper"][ok] - 1e-12).all()


@fast
@given(tables(), st.sampled_from([change_between_waves, linear_trend]), st.randoms())
def test_invariant_to_row_order(t, func, rnd) -> None:
    order = list(range(len(t)))
    rnd.shuffle(order)
    pd.testing.assert_frame_equal(func(t), func(t.iloc[order]), rtol=1e-10, atol=1e-12)


@fast
@given(tables())
def test_label_agrees_with_the_p_value(t: pd.DataFrame) -> None:
    res = change_between_waves(t, confidence=0.9).dropna(subset=["value"])
    significant = res["label"] != "no_significant_change"
    clear = (res["p_value"] - 0.1).abs() > 1e-9
    assert ((res["p_value"] < 0.1) == significant)[clear].all()
    assert (np.sign(res["value"][significant]) == np.where(
        res["label"][significant] == "increase", 1, -1)).all()


@fast
@given(counts(), st.randoms(), st.floats(0.5, 5), st.floats(-100, 100))
def test_cochran_armitage_invariances(df: pd.DataFrame, rnd, scale, shift) -> None:
    """Row order and an increasing linear change of the scores do not change the test."""
    base = cochran_armitage(df, "x", "n", score="score", by="g")
    order = list(range(len(df)))
    rnd.shuffle(order)
    shuffled = cochran_armitage(df.iloc[order], "x", "n", score="score", by="g")
    moved = cochran_armitage(df.assign(score=shift + scale * df["score"]), "x", "n",
                             score="score", by="g")
    for other in (shuffled, moved):
        np.testing.assert_allclose(other["value"], base["value"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(moved["slope"], base["slope"] / scale, rtol=1e-7, atol=1e-12)
    assert (base["value"].dropna() >= 0).all()


# --- argument checks: one per message -----------------------------------------------------

CHANGE_MESSAGES = [
    (dict(table=[1, 2]), "table must be a pandas DataFrame; got list."),
    (dict(wave="wave"), "The table has no 'wave' column; it needs the wave column 'wave', "
                        "'value' and 'se' (or 'lower', 'upper' and 'confidence')."),
    (dict(drop="value"), "The table has no 'value' column; it needs the wave column 'year', "
                         "'value' and 'se' (or 'lower', 'upper' and 'confidence')."),
    (dict(drop="se"), "The table needs a 'se' column, or 'lower', 'upper' and 'confidence' to "
                      "derive one from the interval width."),
    (dict(by="nope"), "Column 'nope' given as by is not in the table."),
    (dict(by=["county_code", "year"]), "by must not include the wave column 'year'."),
    (dict(against=[]), "against must name at least one earlier wave: 'previous', 'first' or a "
                       "wave such as 2023."),
    (dict(against=["last"]), "against takes 'previous', 'first' or a wave in column 'year'; "
                             "got 'last'."),
    (dict(against=[2019]), "against takes 'previous', 'first' or a wave in column 'year'; "
                           "got 2019."),
    (dict(confidence=95), "confidence must be a fraction between 0 and 1 (such as 0.95); "
                          "got 95."),
    (dict(by=[]), "The table has more than one row for year 2025 of the same unit (row 3); "
                  "pass by= naming every column that identifies a series, or keep one "
                  "confidence level."),
    (dict(gap=True), "Column 'year' has a missing value in row 1."),
]


@pytest.mark.parametrize(("kwargs", "message"), CHANGE_MESSAGES,
                         ids=[m for _, m in CHANGE_MESSAGES])
def test_change_messages(kwargs: dict, message: str) -> None:
    kwargs = dict(kwargs)
    table = kwargs.pop("table", _table())
    if "drop" in kwargs:
        table = table.drop(columns=kwargs.pop("drop"))
    if kwargs.pop("gap", False):
        table = table.astype({"year": float})
        table.loc[1, "year"] = np.nan
    with pytest.raises(ValueError, match=re.escape(message)):
        change_between_waves(table, **kwargs)


def test_linear_trend_needs_a_numeric_wave() -> None:
    t = _table().assign(year=lambda d: d["year"].astype(str))
    with pytest.raises(ValueError, match=re.escape(
            "Column 'year' must be numeric for a linear trend; it has dtype str.")):
        linear_trend(t)


CA_MESSAGES = [
    (dict(data=[1]), "Data must be a pandas DataFrame or None; got list."),
    (dict(data=None, x="x"), "x must be an array when data is None; pass a DataFrame to refer "
                             "to columns by name."),
    (dict(data=None, x=[1, 2], n=[3, 4], by="g"), "by needs a DataFrame; pass data to test "
                                                  "several groups."),
    (dict(data=None, x=[1, 2], n=[3, 4, 5]), "x and n must have the same length; got 2 and 3."),
    (dict(data=None, x=[1, 2], n=[3, 4], score=[1]), "score must have one value per category "
                                                     "(2); got 1."),
    (dict(x=["x"]), "x must be a column name when data is given."),
    (dict(n="trials"), "Column 'trials' given as n is not in the data."),
    (dict(by="nope"), "Column 'nope' given as by is not in the data."),
    (dict(x="gap"), "Column 'gap' has a missing value in row 1; every category needs a count."),
    (dict(x="neg"), "Counts must be greater than or equal to zero; column 'neg' has -1 in row 2."),
    (dict(x="big"), "Numerators must be less than or equal to denominators for a proportion; "
                    "row 0 has 9 in 'big' and 5 in 'n'."),
    (dict(x="text"), "Column 'text' must hold numbers; row 0 has 'a'."),
    (dict(score="bad_score"), "Column 'bad_score' given as score must hold a finite number in "
                              "every row; row 1 has inf."),
]


@pytest.mark.parametrize(("kwargs", "message"), CA_MESSAGES, ids=[m for _, m in CA_MESSAGES])
def test_cochran_armitage_messages(kwargs: dict, message: str) -> None:
    df = pd.DataFrame({"g": ["a", "a", "a"], "x": [1, 2, 3], "n": [5, 5, 5],
                       "gap": [1, None, 3], "neg": [1, 2, -1], "big": [9, 1, 1],
                       "text": ["a", "1", "2"], "bad_score": [1, np.inf, 3]})
    kwargs = {"data": df, "x": "x", "n": "n", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        cochran_armitage(kwargs.pop("data"), kwargs.pop("x"), kwargs.pop("n"), **kwargs)


def test_se_from_interval_recovers_the_se_of_a_normal_interval():
    """A Wald interval built from a known standard error gives that standard error back, at both levels,
    elementwise over a Series (what the report's change between waves uses for Wilson and Poisson rows)."""
    from evalkit.measures.trend import se_from_interval

    se = pd.Series([0.01, 0.02, 0.05])
    for confidence in (0.95, 0.998):
        z = stats.norm.ppf(0.5 + confidence / 2)
        got = se_from_interval(0.5 - z * se, 0.5 + z * se, confidence)
        np.testing.assert_allclose(got, se, rtol=1e-12)
