"""Tests for evalkit.measures.satisfaction: R reference values, hand-worked cases, properties
and one test per error message.

Reference values: tests/reference/satisfaction/satisfaction_reference.json, made by the R script
beside it with R's survey package and base R (see PROVENANCE.md there for what is compared and
the few places where evalkit differs from R on purpose).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.measures.satisfaction import (
    LIKERT_ITEMS,
    MEASURES,
    OUTPUT_COLUMNS,
    cronbach_alpha,
    recode_likert,
    satisfaction,
)
from evalkit.measures.survey import svy_mean, svy_prop

REF = Path(__file__).parent / "reference" / "satisfaction"
REFERENCE = json.loads((REF / "satisfaction_reference.json").read_text())
BASE = Path(__file__).parent / "data" / "base"
TODAY = dt.date(2026, 11, 22)


@lru_cache(maxsize=1)
def _base_survey() -> pd.DataFrame:
    from evalkit.schema import load_province

    return load_province(BASE, today=TODAY).survey


def _close(got: float, want: float | None, rel: float, abs_: float = 0.0) -> bool:
    want = np.nan if want is None else want
    if np.isnan(want) or np.isnan(got):
        return bool(np.isnan(want) and np.isnan(got))
    return bool(abs(got - want) <= max(rel * abs(want), abs_))


# --- R reference -----------------------------------------------------------------------------

BY_SETS = sorted({tuple(e["by"]) for e in REFERENCE["entries"]})


@pytest.mark.parametrize("ci_method", ["logit", "beta"])
@pytest.mark.parametrize("by", BY_SETS, ids=["+".join(b) or "all" for b in BY_SETS])
def test_matches_r_survey(by: tuple[str, ...], ci_method: str) -> None:
    """Every domain, item and measure of the R file (svyciprop / svymean on subset())."""
    res = satisfaction(_base_survey(), by=list(by) or None, ci_method=ci_method)
    keyed = res.set_index([*by, "item", "measure"]).sort_index()
    entries = [e for e in REFERENCE["entries"] if tuple(e["by"]) == by
               and (e["measure"] != "satisfaction_rate" or e["method"] == ci_method)]
    assert entries
    problems = []
    for e in entries:
        got = keyed.loc[(*[e["keys"][k] for k in by], e["item"], e["measure"])]
        rate = e["measure"] == "satisfaction_rate"
        # R fits the logit rate by IRLS, which stops at glm's deviance tolerance
        rel, abs_ = (1e-6, 1e-9) if rate and ci_method == "logit" else (1e-10, 1e-12)
        checks = {"value": (rel, 1e-9), "se": (1e-10, 1e-12)}
        p = e["value"]
        # R meets p = 0 or 1 through rounding; and its logit interval at df = 1 underflows
        # (it turns the t level into a normal one, 1 - 2 * pnorm(qt(0.025, 1)) == 1)
        if not rate or (1e-6 < p < 1 - 1e-6 and (ci_method == "beta" or e["df"] != 1)):
            checks |= {"lower": (rel, abs_), "upper": (rel, abs_)}
        if e["se"] > 1e-12:  # R's design effect of a zero variance is rounding noise
            checks["deff"] = (1e-10, 0.0)
        for col, (r, a) in checks.items():
            want = e[col]
            if col in ("lower", "upper") and e["measure"] == "mean_score" and want is not None:
                want = float(np.clip(want, 1, 5))
            if col in ("lower", "upper") and e["measure"] == "net_satisfaction" and want is not None:
                want = float(np.clip(want, -1, 1))
            if not _close(float(got[col]), want, r, a):
                problems.append((e["r_call"], col, float(got[col]), want))
        for col in ("n", "n_excluded", "df"):
            if got[col] != e[col]:
                problems.append((e["r_call"], col, got[col], e[col]))
        assert got["method"] == (ci_method if rate else "t")
    assert not problems, problems[:5]


def test_reference_covers_dont_know_only_clusters() -> None:
    """The R domains include PSUs whose respondents in the domain all lack a valid answer,
    which is where keeping them in the design matters."""
    sv = _base_survey()
    scores, _ = recode_likert(sv, layout="wide")
    d = scores.assign(valid=scores["q_effect"].notna())
    per_psu = d.groupby(["year", "county_code", "group", "psu"], observed=True)["valid"].any()
    assert (~per_psu).any()


@pytest.mark.parametrize("i", range(len(REFERENCE["alpha"])))
def test_alpha_matches_base_r(i: int) -> None:
    a = REFERENCE["alpha"][i]
    weight = None if a["weight"] == "none" else "weight"
    sv = _base_survey()
    if a["county_code"] == "(all)":
        res = cronbach_alpha(sv, weight=weight)
    else:
        res = cronbach_alpha(sv, by="county_code", weight=weight)
        res = res[res["county_code"] == a["county_code"]]
    np.testing.assert_allclose(res["value"], a["alpha"], rtol=1e-10)
    np.testing.assert_allclose(res["lower"], a["lower"], rtol=1e-10)
    np.testing.assert_allclose(res["upper"], a["upper"], rtol=1e-10)
    assert (res["n"] == a["n"]).all() and (res["n_excluded"] == a["n_excluded"]).all()
    assert res["item_dropped"].tolist()[1:] == a["item_dropped"][1:]
    assert pd.isna(res["item_dropped"].iloc[0])


# --- hand-worked and constructed cases --------------------------------------------------------

def _design_by_hand(sv: pd.DataFrame) -> pd.DataFrame:
    """The wave-stratified design written out by hand."""
    return sv.assign(stratum_w=sv["year"].astype(str) + "/" + sv["township_code"],
                     psu_w=sv["year"].astype(str) + "/" + sv["psu"])


def test_rate_equals_svy_prop_of_the_indicator(small_tables) -> None:
    sv = _design_by_hand(small_tables["survey"])
    q = sv["q_access"]
    sv["top"] = np.where(q.isin([1, 2, 3, 4, 5]), (q >= 4).astype(float), np.nan)
    by = ["year", "county_code"]
    want = svy_prop(sv, "top", by=by, strata="stratum_w", psu="psu_w", weight="weight",
                    df="domain")
    got = satisfaction(sv, "q_access", by=by, measures=["rate"])
    assert len(got) == len(want)
    for col in ("value", "se", "lower", "upper", "deff", "n_eff", "df", "n"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=1e-12, err_msg=col)
    assert (got[by].to_numpy() == want[by].to_numpy()).all()


def test_mean_equals_svy_mean_of_the_score(small_tables) -> None:
    sv = _design_by_hand(small_tables["survey"])
    sv["score"] = sv["q_timely"].where(sv["q_timely"] <= 5)
    want = svy_mean(sv, "score", by="county_code", strata="stratum_w", psu="psu_w",
                    weight="weight")
    got = satisfaction(sv, "q_timely", by="county_code", measures=["mean"])
    np.testing.assert_allclose(got["value"], want["value"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], want["se"], rtol=1e-12)
    np.testing.assert_allclose(got["deff"], want["deff"], rtol=1e-12)


def test_index_is_the_mean_mapped_to_0_100(small_tables) -> None:
    res = satisfaction(small_tables["survey"], by=["year", "county_code", "group"],
                       measures=["mean", "index"])
    mean = res[res["measure"] == "mean_score"].reset_index(drop=True)
    index = res[res["measure"] == "index_0_100"].reset_index(drop=True)
    for col in ("value", "lower", "upper"):
        np.testing.assert_allclose(index[col], (mean[col] - 1) / 4 * 100, rtol=1e-12)
    np.testing.assert_allclose(index["se"], mean["se"] * 25, rtol=1e-12)
    for col in ("n", "n_excluded", "deff", "df"):
        pd.testing.assert_series_equal(index[col], mean[col])
    bounded = index["lower"].notna()  # a domain with df = 0 has no interval
    assert bounded.any()
    assert ((index["lower"][bounded] >= 0) & (index["upper"][bounded] <= 100)).all()


def test_net_satisfaction_on_a_constructed_frame() -> None:
    """Answers 5, 4, 3, 2, 1, 5 and a don't know, each respondent its own PSU, weight 1.

    net = (3 - 2) / 6.  Linearised variance (the don't-know row is a PSU with score 0):
    z_i = (s_i - 1/6) / 6 for the six answers, 0 for the seventh; V = 7/6 * sum z_i^2.
    """
    df = pd.DataFrame({"q": [5, 4, 3, 2, 1, 5, 8]})
    res = satisfaction(df, "q", measures=["net", "rate"], wave=None, strata=None, psu=None,
                       weight=None, df=float("inf"))
    net, rate = res.iloc[0], res.iloc[1]
    s = np.array([1, 1, 0, -1, -1, 1])
    z = np.r_[(s - 1 / 6) / 6, 0.0]
    se = np.sqrt(7 / 6 * np.sum((z - z.mean()) ** 2))
    assert net["measure"] == "net_satisfaction"
    assert net["value"] == pytest.approx(1 / 6, rel=1e-12)
    assert net["se"] == pytest.approx(se, rel=1e-12)
    assert net["lower"] == pytest.approx(1 / 6 - 1.959963984540054 * se, rel=1e-12)
    assert rate["value"] == pytest.approx(0.5) and net["n"] == 6 and net["n_excluded"] == 1
    # net = share 4-5 minus share 1-2, and its se includes their covariance
    bottom = svy_prop(df.assign(b=np.where(df["q"] <= 5, (df["q"] <= 2) * 1.0, np.nan)), "b")
    assert net["value"] == pytest.approx(rate["value"] - bottom["value"].iloc[0])
    assert net["se"] < rate["se"] + bottom["se"].iloc[0]


def _dont_know_cluster() -> pd.DataFrame:
    """One township, four villages; everyone in village D said "don't know"."""
    return pd.DataFrame({
        "year": 2025,
        "township_code": "t1",
        "psu": ["A", "A", "A", "B", "B", "C", "C", "C", "D", "D"],
        "weight": [10.0, 12, 10, 8, 8, 15, 15, 9, 20, 20],
        "q_overall": [5, 4, 4, 2, 3, 5, 5, 4, 8, 8],
    })


def test_dont_know_rows_stay_in_the_design() -> None:
    df = _dont_know_cluster()
    got = satisfaction(df, "q_overall", measures=["mean"]).iloc[0]
    # by hand: scores z_i = w_i (y_i - ybar) / W, PSU totals, 4 PSUs in the stratum
    valid = df["q_overall"] <= 5
    w, y = df["weight"][valid], df["q_overall"][valid]
    ybar = (w * y).sum() / w.sum()
    z = pd.Series(0.0, index=df.index)
    z[valid] = w * (y - ybar) / w.sum()
    totals = z.groupby(df["psu"]).sum()  # D's total is 0 and still counts
    se_domain = np.sqrt(4 / 3 * ((totals - totals.mean()) ** 2).sum())
    assert got["value"] == pytest.approx(ybar, rel=1e-12)
    assert got["se"] == pytest.approx(se_domain, rel=1e-12)
    assert got["n"] == 8 and got["n_excluded"] == 2
    # the same as svy_mean with the domain given explicitly, all rows in the design
    domain = svy_mean(df.assign(y=df["q_overall"].astype(float)), "y", domain=valid.to_numpy(),
                      strata="township_code", psu="psu", weight="weight").iloc[0]
    assert got["se"] == pytest.approx(domain["se"], rel=1e-12)
    # dropping the don't-know rows removes village D from the design: a different (wrong) se
    dropped = satisfaction(df[valid], "q_overall", measures=["mean"]).iloc[0]
    assert dropped["value"] == pytest.approx(got["value"], rel=1e-12)
    assert dropped["se"] != pytest.approx(got["se"], rel=1e-3)


def test_each_wave_is_its_own_design(small_tables) -> None:
    """An estimate for one year equals the one from that year's data alone."""
    sv = small_tables["survey"]
    both = satisfaction(sv, by=["year", "county_code"], measures=["rate", "mean"])
    one = satisfaction(sv[sv["year"] == 2024], by=["year", "county_code"],
                       measures=["rate", "mean"])
    part = both[both["year"] == 2024].reset_index(drop=True)
    for col in ("value", "se", "lower", "upper", "deff", "df", "n"):
        np.testing.assert_allclose(part[col].to_numpy(float), one[col].to_numpy(float),
                                   rtol=1e-10, err_msg=col)


def test_without_wave_strata_villages_drawn_twice_merge(small_tables) -> None:
    """Villages drawn in two waves would be one PSU without wave strata: the df shows it."""
    sv = small_tables["survey"]
    assert (sv.groupby("psu")["year"].nunique() > 1).any()
    waves = satisfaction(sv, "q_overall", measures=["rate"], df="design")
    pooled = satisfaction(sv, "q_overall", measures=["rate"], df="design", wave=None)
    assert waves["df"].iloc[0] != pooled["df"].iloc[0]
    assert waves["value"].iloc[0] == pytest.approx(pooled["value"].iloc[0], rel=1e-12)


def test_result_layout(small_tables) -> None:
    sv = small_tables["survey"]
    res = satisfaction(sv, by=["year", "county_code"])
    assert list(res.columns) == ["year", "county_code", *OUTPUT_COLUMNS]
    n_groups = sv.groupby(["year", "county_code"]).ngroups
    assert len(res) == n_groups * len(LIKERT_ITEMS) * 4
    first = res.iloc[: len(LIKERT_ITEMS) * 4]
    assert first["item"].tolist() == [i for i in LIKERT_ITEMS for _ in range(4)]
    assert first["measure"].tolist() == list(MEASURES.values()) * len(LIKERT_ITEMS)
    keys = res[["year", "county_code"]].drop_duplicates()
    assert keys.equals(keys.sort_values(["year", "county_code"]))
    assert res["n"].dtype == np.int64 and res["n_excluded"].dtype == np.int64
    assert set(res["statistic"]) == {"proportion", "mean", "index", "net proportion"}
    assert set(res["method"]) == {"logit", "t"}
    assert (res["confidence"] == 0.95).all()
    # n + n_excluded is the group's size for every item
    sizes = sv.groupby(["year", "county_code"]).size().rename("size").reset_index()
    merged = res.merge(sizes, on=["year", "county_code"])
    assert (merged["n"] + merged["n_excluded"] == merged["size"]).all()


def test_measures_pick_and_order_rows(small_tables) -> None:
    res = satisfaction(small_tables["survey"], ["q_effect", "q_overall"],
                       measures=("net_satisfaction", "rate"))
    assert res["item"].tolist() == ["q_effect", "q_effect", "q_overall", "q_overall"]
    assert res["measure"].tolist() == ["net_satisfaction", "satisfaction_rate"] * 2


def test_empty_group_gives_nan_not_an_error() -> None:
    df = _dont_know_cluster().assign(county_code=["a"] * 8 + ["b"] * 2)
    res = satisfaction(df, "q_overall", by="county_code", measures=["rate", "mean"])
    b = res[res["county_code"] == "b"]
    assert (b["n"] == 0).all() and (b["n_excluded"] == 2).all() and b["value"].isna().all()


def test_missing_group_key_stays_in_design() -> None:
    df = _dont_know_cluster().assign(g=["x", "x", None, "x", "y", "y", "x", "y", "x", "y"])
    res = satisfaction(df, "q_overall", by="g", measures=["mean"])
    assert res["g"].tolist() == ["x", "y"]
    assert res["n"].sum() + res["n_excluded"].sum() == 9


def test_beta_interval_at_100_percent() -> None:
    df = _dont_know_cluster().assign(q_overall=[5, 4, 4, 5, 5, 5, 4, 4, 8, 5])
    logit = satisfaction(df, "q_overall", measures=["rate"]).iloc[0]
    beta = satisfaction(df, "q_overall", measures=["rate"], ci_method="beta").iloc[0]
    assert logit["value"] == 1 and logit["lower"] == logit["upper"] == 1
    assert beta["upper"] == 1 and 0 < beta["lower"] < 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.1, 50.0), min_size=20, max_size=60), st.integers(0, 2**32 - 1))
def test_everyone_satisfied_has_no_variance_whatever_the_weights(weights, seed) -> None:
    """A domain where every answer is 4 or 5 (or every answer 5) has a rate of exactly 1 (a mean of exactly
    5) and a variance of exactly 0, not rounding noise, with weights that are not round numbers, spread
    over several PSUs: its interval is a point, and the indicator table leaves it uncompared."""
    rng = np.random.default_rng(seed)
    n = len(weights)
    town = rng.choice(["t1", "t2"], n)
    df = pd.DataFrame({"year": 2025, "township_code": town, "psu": town + rng.choice(list("AB"), n),
                       "weight": weights, "q_overall": rng.choice([4, 5], n), "q_access": 5, "group": "g"})
    df.loc[0, "group"] = "h"  # another group, so that the domain is a part of the design
    res = satisfaction(df, ["q_overall", "q_access"], by="group", measures=["rate", "mean", "net"],
                       lonely_psu="adjust")
    res = res[res["group"] == "g"].set_index(["item", "measure"])
    for item, measure, want in (("q_overall", "satisfaction_rate", 1.0), ("q_access", "satisfaction_rate", 1.0),
                                ("q_access", "mean_score", 5.0), ("q_access", "net_satisfaction", 1.0),
                                ("q_overall", "net_satisfaction", 1.0)):
        row = res.loc[(item, measure)]
        assert row["value"] == want and row["se"] == 0, (item, measure, row["value"], row["se"])


def test_beta_interval_at_zero_widens_with_confidence() -> None:
    df = pd.DataFrame({"year": 2025, "township_code": ["t0"] * 2 + ["t1"] * 4 + ["t2"] * 3,
                       "psu": list("abcddd") + list("efg"), "weight": 1.0,
                       "group": list("ppppppp") + ["q", "q"], "q_overall": 1})
    res = [satisfaction(df, "q_overall", by="group", measures=["rate"], ci_method="beta",
                        df="design", confidence=c).iloc[1] for c in (0.9, 0.95)]
    assert res[0]["value"] == 0 and res[0]["n"] == 2 and res[0]["df"] == 4
    assert res[1]["upper"] >= res[0]["upper"]


def test_fpc_narrows_the_interval() -> None:
    df = _dont_know_cluster().assign(villages=5)
    without = satisfaction(df, "q_overall", measures=["mean"]).iloc[0]
    with_fpc = satisfaction(df, "q_overall", measures=["mean"], fpc="villages").iloc[0]
    assert with_fpc["se"] == pytest.approx(without["se"] * np.sqrt(1 - 4 / 5), rel=1e-12)


@pytest.mark.slow
def test_full_province_every_group_at_once(full_tables) -> None:
    sv = full_tables["survey"]
    res = satisfaction(sv, by=["year", "county_code", "group"])
    n_groups = sv.groupby(["year", "county_code", "group"]).ngroups
    assert len(res) == n_groups * 6 * 4
    rate = res[res["measure"] == "satisfaction_rate"]
    answered = rate["n"] > 0
    assert rate["value"][answered].between(0, 1).all() and rate["value"][~answered].isna().all()


# --- recode ----------------------------------------------------------------------------------

def test_codes_match_the_codebook() -> None:
    from evalkit.schema import LIKERT_MISSING, LIKERT_VALID, table_spec

    from evalkit.measures import satisfaction as mod

    assert mod._VALID == LIKERT_VALID
    assert {mod._DONT_KNOW: "dont_know", mod._REFUSED: "refused"} == LIKERT_MISSING
    likert = [c["name"] for c in table_spec("survey")["columns"] if c["kind"] == "likert"]
    assert tuple(likert) == LIKERT_ITEMS


def test_recode_wide_long_and_counts() -> None:
    df = pd.DataFrame({"county": ["A", "A", "B", "B", None],
                       "q1": [5, 8, 9, 7, 1], "q2": ["4", None, "x", 2.0, 4.5]})
    data, counts = recode_likert(df, ["q1", "q2"], by="county")
    np.testing.assert_array_equal(data["q1"], [5, np.nan, np.nan, np.nan, 1])
    np.testing.assert_array_equal(data["q2"], [4, np.nan, np.nan, 2, np.nan])
    assert counts.columns.tolist() == ["county", "item", "n", "n_valid", "n_dont_know",
                                       "n_refused", "n_invalid", "n_excluded"]
    a_q1, a_q2, b_q1, b_q2 = (counts.iloc[i] for i in range(4))
    assert (a_q1["n_valid"], a_q1["n_dont_know"], a_q1["n_excluded"]) == (1, 1, 1)
    assert (b_q1["n_refused"], b_q1["n_invalid"], b_q1["n_excluded"]) == (1, 1, 2)
    assert (a_q2["n_invalid"], b_q2["n_valid"], b_q2["n_invalid"]) == (1, 1, 1)
    long, _ = recode_likert(df, ["q1", "q2"], layout="long")
    assert len(long) == 10 and long["item"].tolist()[:2] == ["q1", "q2"]
    assert long["status"].tolist()[:4] == ["valid", "valid", "dont_know", "invalid"]
    assert long["county"].tolist()[:2] == ["A", "A"]
    assert "q1" not in long.columns
    whole = recode_likert(df, ["q1", "q2"]).counts
    assert whole["n"].tolist() == [5, 5]


def test_satisfaction_excluded_counts_match_recode(small_tables) -> None:
    sv = small_tables["survey"]
    res = satisfaction(sv, by="county_code", measures=["rate"])
    counts = recode_likert(sv, by="county_code").counts
    assert res["n_excluded"].tolist() == counts["n_excluded"].tolist()
    assert res["n"].tolist() == counts["n_valid"].tolist()


# --- Cronbach's alpha ------------------------------------------------------------------------

def test_alpha_closed_form_on_an_orthogonal_construction() -> None:
    """x_j = 3 + f + e_j with f, e_1, e_2, e_3 orthogonal +-1 columns of a Hadamard matrix:
    every item variance is 2 and every covariance 1, so alpha = k c / (v + (k-1) c) = 3/4,
    and without one item 2 x 1 / (2 + 1) = 2/3."""
    h = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    h8 = np.block([[h, h], [h, -h]])
    f, e = h8[:, 1], h8[:, 2:5]
    df = pd.DataFrame(3 + f[:, None] + e, columns=["a", "b", "c"])
    res = cronbach_alpha(df, ["a", "b", "c"])
    assert res["value"].iloc[0] == pytest.approx(0.75, rel=1e-12)
    np.testing.assert_allclose(res["value"].iloc[1:], 2 / 3, rtol=1e-12)
    assert res["k"].tolist() == [3, 2, 2, 2]


def test_alpha_frequency_weights_equal_repeated_rows() -> None:
    df = pd.DataFrame({"a": [1, 2, 4, 5, 3], "b": [2, 2, 5, 4, 3], "c": [1, 3, 4, 5, 2],
                       "w": [1.0, 3, 2, 1, 2]})
    weighted = cronbach_alpha(df, ["a", "b", "c"], weight="w")
    repeated = cronbach_alpha(df.loc[df.index.repeat(df["w"].astype(int))], ["a", "b", "c"])
    np.testing.assert_allclose(weighted["value"], repeated["value"], rtol=1e-12)


def test_alpha_by_group_equals_each_group_alone(small_tables) -> None:
    sv = small_tables["survey"]
    res = cronbach_alpha(sv, by="county_code", weight="weight")
    for county, part in res.groupby("county_code"):
        alone = cronbach_alpha(sv[sv["county_code"] == county], weight="weight")
        np.testing.assert_allclose(part["value"], alone["value"], rtol=1e-10)
        assert part["n"].tolist() == alone["n"].tolist()


def test_alpha_listwise_and_edge_cases() -> None:
    df = pd.DataFrame({"a": [1, 2, 3, 8, 5], "b": [1, 2, 3, 4, 9], "g": ["x"] * 4 + ["y"]})
    res = cronbach_alpha(df, ["a", "b"], by="g")
    x = res[res["g"] == "x"]
    assert x["n"].tolist() == [3, 3, 3] and x["n_excluded"].tolist() == [1, 1, 1]
    assert x["value"].iloc[0] == pytest.approx(1.0)  # a == b on the complete rows
    assert x["value"].iloc[1:].isna().all()  # one item left: alpha is undefined
    assert res[res["g"] == "y"]["value"].isna().all()  # nobody complete
    flat = cronbach_alpha(pd.DataFrame({"a": [3, 3], "b": [3, 3], "c": [3, 3]}), ["a", "b", "c"])
    assert flat["value"].isna().all()


# --- properties ------------------------------------------------------------------------------

@st.composite
def surveys(draw) -> pd.DataFrame:
    rows = []
    for year in range(draw(st.integers(1, 2))):
        for h in range(draw(st.integers(1, 3))):
            for c in range(draw(st.integers(2, 3))):
                for _ in range(draw(st.integers(1, 3))):
                    rows.append((2024 + year, f"t{h}", f"t{h}v{c}", draw(st.floats(0.5, 50)),
                                 draw(st.sampled_from("pq")),
                                 draw(st.sampled_from([1, 2, 3, 4, 5, 5, 4, 8, 9])),
                                 draw(st.sampled_from([1, 2, 3, 4, 5, 8]))))
    return pd.DataFrame(rows, columns=["year", "township_code", "psu", "weight", "group",
                                       "q_overall", "q_effect"])


fast = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ITEMS = ["q_overall", "q_effect"]


@fast
@given(surveys(), st.sampled_from(["logit", "beta"]))
def test_interval_contains_estimate(df: pd.DataFrame, ci_method: str) -> None:
    res = satisfaction(df, ITEMS, by=["year", "group"], ci_method=ci_method)
    ok = res["lower"].notna() & res["upper"].notna()
    res = res[ok]
    tol = 1e-9 * (1 + res["value"].abs())
    assert (res["lower"] <= res["value"] + tol).all() and (res["value"] <= res["upper"] + tol).all()


@fast
@given(surveys(), st.randoms())
def test_invariant_to_row_order(df: pd.DataFrame, rnd) -> None:
    order = list(range(len(df)))
    rnd.shuffle(order)
    a = satisfaction(df, ITEMS, by="group")
    b = satisfaction(df.iloc[order], ITEMS, by="group")
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-12)
    a = cronbach_alpha(df, ITEMS, by="group", weight="weight")
    b = cronbach_alpha(df.iloc[order], ITEMS, by="group", weight="weight")
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-12)


@fast
@given(surveys(), st.floats(0.5, 0.9), st.floats(0.01, 0.09), st.sampled_from(["logit", "beta"]))
def test_interval_widens_with_confidence(df, low, step, ci_method) -> None:
    """With the default df="domain" (df <= n - 1 in every domain).  With df="design" a domain
    of a few respondents can have n - 1 < df, where Korn and Graubard's factor
    (t_{n-1} / t_df)^2 makes the beta interval narrow as the confidence rises, as in R."""
    narrow = satisfaction(df, ITEMS, by="group", confidence=low, ci_method=ci_method)
    wide = satisfaction(df, ITEMS, by="group", confidence=low + step, ci_method=ci_method)
    tol = 1e-9 * (1 + narrow["value"].abs())
    both = ["lower", "upper"]
    ok = narrow[both].notna().all(axis=1) & wide[both].notna().all(axis=1)
    assert (wide["lower"][ok] <= narrow["lower"][ok] + tol[ok]).all()
    assert (wide["upper"][ok] >= narrow["upper"][ok] - tol[ok]).all()


@fast
@given(surveys())
def test_by_group_equals_its_domain_alone(df: pd.DataFrame) -> None:
    """A group's row equals the estimate with every other group's answers made don't-know."""
    res = satisfaction(df, ITEMS, by="group", measures=["mean", "net"]).set_index(
        ["group", "item", "measure"])
    for g in df["group"].unique():
        masked = df.copy()
        masked.loc[masked["group"] != g, ITEMS] = 8
        one = satisfaction(masked, ITEMS, measures=["mean", "net"])
        want = res.loc[g][["value", "se"]].to_numpy(float)
        np.testing.assert_allclose(one[["value", "se"]].to_numpy(float), want, rtol=1e-9,
                                   atol=1e-12)


# --- argument checks: one per message -----------------------------------------------------

def _toy() -> pd.DataFrame:
    return _dont_know_cluster().assign(county_code="c1", bad_w=[1.0] * 9 + [0.0],
                                       text_w="w", g=list("xyxyxyxyxy"))


SAT_MESSAGES = [
    (dict(items=[]), "items must name at least one Likert column, such as 'q_overall'."),
    (dict(items="q_nope"), "Column 'q_nope' given as an item is not in the data."),
    (dict(items=["q_overall", "q_overall"]), "Item 'q_overall' is listed more than once."),
    (dict(measures=["rate", "nps"]),
     "measures must be chosen from 'rate', 'mean', 'index', 'net'; got 'nps'."),
    (dict(measures=[]), "measures must name at least one of 'rate', 'mean', 'index', 'net'."),
    (dict(measures=["rate", "satisfaction_rate"]), "Measure 'satisfaction_rate' is listed more "
                                                   "than once."),
    (dict(by=["county_code", "nope"]), "Column 'nope' given as by is not in the data."),
    (dict(strata="town"), "Column 'town' given as strata is not in the data."),
    (dict(psu="village"), "Column 'village' given as psu is not in the data."),
    (dict(wave="wave"), "Column 'wave' given as wave is not in the data."),
    (dict(wave=["year"]), "wave takes the name of one column; got ['year']."),
    (dict(wave="gap"), "Column 'gap' given as wave has a missing value in row 3; every row "
                       "needs one."),
    (dict(psu="psu_gap"), "Column 'psu_gap' given as psu has a missing value in row 1; every "
                          "row needs one."),
    (dict(weight="bad_w"), "Weights in column 'bad_w' must be positive; row 9 has 0.0."),
    (dict(confidence=95), "confidence must be a fraction between 0 and 1 (such as 0.95); got 95."),
    (dict(ci_method="wilson"), "ci_method must be one of 'logit', 'beta', 'wald'; got 'wilson'."),
    (dict(df=0), "df must be 'design', 'domain' or a positive number; got 0."),
    (dict(lonely_psu="drop"), "lonely_psu must be one of 'adjust', 'average', 'certainty', "
                              "'fail', 'remove'; got 'drop'."),
    (dict(lonely_psu="fail", strata="solo"), "Stratum '2025/s1' has only one PSU at stage 1, "
                                             "which lonely_psu='fail' does not allow; choose "
                                             "'adjust', 'average', 'certainty' or 'remove'."),
]


@pytest.mark.parametrize(("kwargs", "message"), SAT_MESSAGES, ids=[m for _, m in SAT_MESSAGES])
def test_satisfaction_messages(kwargs: dict, message: str) -> None:
    df = _toy().assign(gap=[2025, 2025, 2025, None] + [2025] * 6,
                       psu_gap=["A", None] + ["B"] * 8,
                       solo=["s1"] * 3 + ["s2"] * 7)
    kwargs = {"items": "q_overall", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        satisfaction(df, **kwargs)


def test_satisfaction_needs_a_dataframe() -> None:
    with pytest.raises(ValueError, match=re.escape("survey must be a pandas DataFrame; got "
                                                   "list.")):
        satisfaction([1, 2], "q_overall")


def test_satisfaction_needs_rows() -> None:
    with pytest.raises(ValueError, match=re.escape("survey has no rows; there is nothing to "
                                                   "estimate.")):
        satisfaction(_toy().iloc[:0], "q_overall")


def test_recode_layout_message() -> None:
    with pytest.raises(ValueError, match=re.escape("layout must be 'wide' or 'long'; got 'tall'.")):
        recode_likert(_toy(), "q_overall", layout="tall")


ALPHA_MESSAGES = [
    (dict(items="q_overall"), "Cronbach's alpha needs at least two items; got 1."),
    (dict(confidence=1.0), "confidence must be a fraction between 0 and 1 (such as 0.95); got 1.0."),
    (dict(weight="nope"), "Column 'nope' given as weight is not in the data."),
    (dict(weight="text_w"), "Weights in column 'text_w' must be numeric."),
    (dict(weight="bad_w"), "Weights in column 'bad_w' must be positive; row 9 has 0.0."),
    (dict(by="nope"), "Column 'nope' given as by is not in the data."),
]


@pytest.mark.parametrize(("kwargs", "message"), ALPHA_MESSAGES, ids=[m for _, m in ALPHA_MESSAGES])
def test_alpha_messages(kwargs: dict, message: str) -> None:
    df = _toy().assign(q_effect=[4, 4, 3, 2, 3, 5, 4, 4, 8, 3])
    kwargs = {"items": ["q_overall", "q_effect"], **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        cronbach_alpha(df, **kwargs)


# --- several breakdowns at once (what the indicator table uses) ----------------------------


def test_several_breakdowns_at_once_equal_one_call_each(small_tables) -> None:
    """satisfaction_breakdowns codes the design and stacks the items once for several ``by``; each result is
    exactly satisfaction()'s, and its stacked cells are those survey._domains finds by sorting."""
    from evalkit.measures import survey
    from evalkit.measures.satisfaction import LIKERT_ITEMS, _recode, satisfaction_breakdowns

    sv = small_tables["survey"]
    breakdowns = [["year", "county_code"], ["year", "county_code", "group"], ["year", "township_code"], None]
    kw = dict(measures=("rate", "mean", "index", "net"), confidence=0.95, ci_method="beta", df="domain",
              wave="year", strata="township_code", psu="psu", weight="weight", fpc=None, lonely_psu="adjust")
    for by, got in zip(breakdowns, satisfaction_breakdowns(sv, LIKERT_ITEMS, breakdowns, **kw)):
        pd.testing.assert_frame_equal(got.frame(), satisfaction(sv, by=by, **kw))
    # the cells of the stacked items, found from one copy, against the general sort
    design = _design_by_hand(sv)
    d = survey.code_design(design, "stratum_w", "psu_w", "weight", None, False, "adjust")
    g, keys = survey.group_codes(sv, ["year", "county_code", "group"])
    scores, _ = _recode(sv, list(LIKERT_ITEMS))
    valid = ~np.isnan(scores.T) & (g >= 0)
    k = len(LIKERT_ITEMS)
    item_keys = pd.DataFrame({"item": np.repeat(np.arange(k), len(keys)), "group": np.tile(np.arange(len(keys)), k)})
    fast = survey.stacked_domains(d, g, len(keys), item_keys, valid)
    tiled = survey._Design(np.tile(d.stratum, k), np.tile(d.psu, k), np.tile(d.weight, k), d.psu_stratum, d.n_psu,
                           d.f_psu, d.frac_psu, None, None, None, None, d.lonely_psu, d.df)
    slow = survey._domains(tiled, fast.g, item_keys, fast.rows)
    for field in ("inv", "pair", "group", "parent"):
        assert np.array_equal(getattr(fast.cells, field), getattr(slow.cells, field)), field
