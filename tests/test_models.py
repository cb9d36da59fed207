"""evalkit.measures.models against R's survey package (svyglm, svyolr, svychisq).

The expected values are in tests/reference/survey/models_reference.json, printed by the committed R script
models.R in that folder (R 4.2, survey 4.1-1, MASS) from the api CSV files there and from
design_sample.csv (prefecture 0901 of the sample province, waves 2024-2025, written by design_extract.py).  Each
entry's R call is beside its Python call below; coefficients and SEs must agree to 4 significant figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.measures.models import svy_chisq, svy_glm, svy_olr
from evalkit.measures.survey import code_design, svy_total, total_covariance

REF = Path(__file__).parent / "reference" / "survey"
ENTRIES = {e["id"]: e for e in json.loads((REF / "models_reference.json").read_text())["entries"]}
RTOL = 5e-5  # 4 significant figures


def _read(name: str) -> pd.DataFrame:
    df = pd.read_csv(REF / name, dtype={"cds": str})
    df.columns = [c.replace(".", "_") for c in df.columns]
    return df


def _api() -> dict[str, pd.DataFrame]:
    strat, clus1, clus2 = _read("apistrat.csv"), _read("apiclus1.csv"), _read("apiclus2.csv")
    strat["wide"] = (strat["sch_wide"] == "Yes").astype(float)
    clus1["mealcat"] = 1 + (clus1["meals"] > 25).astype(int) + (clus1["meals"] > 50) + (clus1["meals"] > 75)
    return {"strat": strat, "clus1": clus1, "clus2": clus2}


def _raw() -> pd.DataFrame:
    """design_sample.csv (the design object's extract) with the wave design's strata and PSUs, as models.R."""
    ext = pd.read_csv(REF / "design_sample.csv", dtype={"prefecture_code": str, "county_code": str,
                                                         "township_code": str, "psu": str})
    year = ext["year"].astype(str)
    return ext.assign(wave_stratum=year + " " + ext["township_code"], wave_psu=year + " " + ext["psu"])


def _province() -> pd.DataFrame:
    ext = _raw()
    for q in ("q_overall", "q_access", "q_effect"):  # 8 = don't know, 9 = refused: missing, as in models.R
        ext[q] = ext[q].where(~ext[q].isin([8, 9]))
    ext["satisfied"] = (ext["q_overall"] >= 4).astype(float).where(ext["q_overall"].notna())
    return ext


API = _api()
PROV = _province()
DESIGNS = {
    "dstrat": (API["strat"], dict(strata="stype", weight="pw", fpc="fpc")),
    "dclus1": (API["clus1"], dict(psu="dnum", weight="pw", fpc="fpc")),
    "dclus2": (API["clus2"], dict(psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])),
    "dlonely": (API["clus1"], dict(psu="dnum", strata="cname", weight="pw")),
    "dclus1s": (API["clus1"], dict(psu="dnum", strata="stype", weight="pw", nest=True)),
    "dprov": (PROV, dict(psu="wave_psu", strata="wave_stratum", weight="weight")),
}

# id: (design, function, arguments); the R call of each id is in the JSON entry (and in models.R)
CASES = {
    "dstrat_gaussian": ("dstrat", svy_glm, dict(formula="api00 ~ ell + meals + mobility")),
    "dstrat_quasibinomial": ("dstrat", svy_glm, dict(formula="wide ~ ell + meals + stype", family="quasibinomial")),
    "dclus1_quasipoisson": ("dclus1", svy_glm, dict(formula="enroll ~ meals + stype", family="quasipoisson")),
    "dclus2_quasibinomial": ("dclus2", svy_glm, dict(formula="I(sch_wide == 'Yes') ~ ell + meals",
                                                      family="quasibinomial")),
    "dclus1s_gaussian": ("dclus1s", svy_glm, dict(formula="api00 ~ ell + meals + avg_ed")),
    "dclus1s_gaussian_domain": ("dclus1s", svy_glm, dict(formula="api00 ~ ell + meals",
                                                         domain=API["clus1"]["comp_imp"] == "Yes")),
    "prov_gaussian": ("dprov", svy_glm, dict(formula="q_overall ~ group + urban_rural + C(year)")),
    "prov_quasibinomial": ("dprov", svy_glm, dict(formula="satisfied ~ urban_rural + C(year)",
                                                  family="quasibinomial")),
    "prov_quasipoisson": ("dprov", svy_glm, dict(formula="q_effect ~ urban_rural + group", family="quasipoisson")),
    "prov_gaussian_domain": ("dprov", svy_glm, dict(formula="q_overall ~ group + C(year)",
                                                    domain=PROV["urban_rural"] == "rural")),
    "prov_quasibinomial_domain": ("dprov", svy_glm, dict(formula="satisfied ~ C(year)", family="quasibinomial",
                                                         domain=PROV["group"] == "general")),
    **{f"dlonely_{rule}": ("dlonely", svy_glm, dict(formula="api00 ~ ell + meals", lonely_psu=rule))
       for rule in ("adjust", "average", "certainty", "remove")},
    "prov_gaussian_by_county": ("dprov", svy_glm, dict(formula="q_overall ~ urban_rural + C(year)", by="county_code")),
    "dclus1_olr": ("dclus1", svy_olr, dict(formula="mealcat ~ avg_ed + mobility + stype")),
    "prov_olr": ("dprov", svy_olr, dict(formula="q_overall ~ urban_rural + C(year)")),
    "prov_olr_domain": ("dprov", svy_olr, dict(formula="q_access ~ C(year)", domain=PROV["urban_rural"] == "rural")),
}
for _stat in ("F", "Chisq"):
    CASES[f"dclus1_chisq_{_stat}"] = ("dclus1", svy_chisq, dict(row="sch_wide", col="stype", statistic=_stat))
    CASES[f"dstrat_chisq_{_stat}"] = ("dstrat", svy_chisq, dict(row="comp_imp", col="stype", statistic=_stat))
    CASES[f"prov_chisq_{_stat}"] = ("dprov", svy_chisq, dict(row="urban_rural", col="q_overall", statistic=_stat))
    CASES[f"prov_chisq_domain_{_stat}"] = ("dprov", svy_chisq, dict(row="group", col="satisfied", statistic=_stat,
                                                                     domain=PROV["year"] == 2024))


def _plain(term: str) -> str:
    """A term as R and patsy both name it: "factor(year)2024" and "C(year)[T.2024]" are "year2024"."""
    for part in ("factor(", "C(", ")", "[T.", "]", "("):
        term = term.replace(part, "")
    return term


def _in_r_order(res: pd.DataFrame, ref: dict) -> pd.DataFrame:
    """``res`` with its rows in the order of R's terms (patsy puts categorical terms before numeric ones)."""
    res = res.set_index(res["term"].map(_plain))
    assert sorted(res.index) == sorted(map(_plain, ref["terms"]))
    return res.loc[[_plain(t) for t in ref["terms"]]].reset_index(drop=True)


def _run(case_id: str) -> pd.DataFrame:
    design, func, args = CASES[case_id]
    data, kw = DESIGNS[design]
    return func(data, **args, **kw)


def test_every_reference_entry_has_a_python_call():
    assert set(CASES) == set(ENTRIES)
    # coefficients and SEs, and statistic, ndf, ddf, p of the tests
    assert sum(2 * np.size(e["value"]) if e["kind"] != "svychisq" else 4 for e in ENTRIES.values()) >= 100


@pytest.mark.parametrize("case_id", [k for k, e in ENTRIES.items() if e["kind"] == "svyglm"])
def test_svy_glm_matches_r_svyglm(case_id):
    ref = ENTRIES[case_id]
    res = _in_r_order(_run(case_id), ref)
    np.testing.assert_allclose(res["value"], ref["value"], rtol=RTOL)
    np.testing.assert_allclose(res["se"], ref["se"], rtol=RTOL)
    np.testing.assert_allclose(res["t"], ref["statistic"], rtol=RTOL)
    np.testing.assert_allclose(res["p"], ref["p"], rtol=1e-3, atol=1e-12)
    np.testing.assert_allclose(res["lower"], ref["lower"], rtol=RTOL)
    np.testing.assert_allclose(res["upper"], ref["upper"], rtol=RTOL)
    assert (res["df"] == ref["df"]).all()
    assert (res["n"] == ref["n"]).all()


def test_svy_glm_by_group_matches_r_svyby_svyglm():
    # each county a domain of the whole design, all fitted in one pass
    ref = ENTRIES["prov_gaussian_by_county"]
    res = _run("prov_gaussian_by_county")
    assert res["county_code"].unique().tolist() == ref["groups"]
    for group, value, se in zip(ref["groups"], ref["value"], ref["se"]):
        fit = _in_r_order(res[res["county_code"] == group].drop(columns="county_code"), ref)
        np.testing.assert_allclose(fit["value"], value, rtol=RTOL)
        np.testing.assert_allclose(fit["se"], se, rtol=RTOL)


def test_svy_glm_by_group_gives_a_group_without_variation_nan_and_the_others_their_fit():
    data, kw = DESIGNS["dprov"]
    data = data.assign(one_wave=np.where(data["county_code"] == "090122", 2024, data["year"]))
    res = svy_glm(data, "q_overall ~ urban_rural + C(one_wave)", by="county_code", **kw)
    assert res.loc[res["county_code"] == "090122", "value"].isna().all()
    ref = ENTRIES["prov_gaussian_by_county"]
    fit = res[res["county_code"] == "090102"]["value"].to_numpy()
    np.testing.assert_allclose(fit, ref["value"][0], rtol=RTOL)


@pytest.mark.parametrize("case_id", [k for k, e in ENTRIES.items() if e["kind"] == "svyolr"])
def test_svy_olr_matches_r_svyolr(case_id):
    ref = ENTRIES[case_id]
    res = _in_r_order(_run(case_id), ref)
    assert ((res["statistic"] == "cut-point") == [("|" in t) for t in ref["terms"]]).all()
    np.testing.assert_allclose(res["value"], ref["value"], rtol=RTOL)
    np.testing.assert_allclose(res["se"], ref["se"], rtol=RTOL)


@pytest.mark.parametrize("case_id", [k for k, e in ENTRIES.items() if e["kind"] == "svychisq"])
def test_svy_chisq_matches_r_svychisq(case_id):
    ref, res = ENTRIES[case_id], _run(case_id).iloc[0]
    np.testing.assert_allclose(res["value"], ref["value"], rtol=RTOL)
    np.testing.assert_allclose(res["ndf"], ref["ndf"], rtol=RTOL)
    if ref.get("ddf") is not None:
        np.testing.assert_allclose(res["ddf"], ref["ddf"], rtol=RTOL)
    np.testing.assert_allclose(res["p"], ref["p"], rtol=1e-3, atol=1e-12)


# --- answers 8 (don't know) and 9 (refused) --------------------------------------------------------------------

RAW = _raw()
PROV_DESIGN = DESIGNS["dprov"][1]


@pytest.mark.parametrize("call", [
    lambda: svy_glm(RAW, "q_overall ~ group + urban_rural + C(year)", **PROV_DESIGN),
    lambda: svy_olr(RAW, "q_overall ~ urban_rural + C(year)", **PROV_DESIGN),
    lambda: svy_chisq(RAW, "urban_rural", "q_overall", **PROV_DESIGN),
])
def test_answers_8_and_9_as_numbers_are_refused(call):
    with pytest.raises(ValueError, match=r"'q_overall' holds the survey codes 8 \(don't know\) and 9 \(refused\) .*survey_design\(\)"):
        call()


@pytest.mark.parametrize("case_id, call", [
    ("prov_gaussian", lambda: svy_glm(RAW, "q_overall ~ group + urban_rural + C(year)", missing_codes=(8, 9),
                                      **PROV_DESIGN)),
    ("prov_olr", lambda: svy_olr(RAW, "q_overall ~ urban_rural + C(year)", missing_codes=(8, 9), **PROV_DESIGN)),
])
def test_answers_8_and_9_named_missing_leave_the_model_as_in_r(case_id, call):
    ref = ENTRIES[case_id]
    res = _in_r_order(call(), ref)
    np.testing.assert_allclose(res["value"], ref["value"], rtol=RTOL)
    np.testing.assert_allclose(res["se"], ref["se"], rtol=RTOL)


def test_answers_8_and_9_named_missing_leave_the_table_as_in_r():
    ref = ENTRIES["prov_chisq_F"]
    res = svy_chisq(RAW, "urban_rural", "q_overall", missing_codes=(8, 9), **PROV_DESIGN).iloc[0]
    np.testing.assert_allclose([res["value"], res["ndf"], res["ddf"]], [ref["value"], ref["ndf"], ref["ddf"]],
                               rtol=RTOL)


def test_a_count_that_happens_to_hold_8_or_9_is_not_refused():
    # the codes matter only for five-point items: api's enrolment counts include 8 and 9 nowhere special
    data = API["clus1"].assign(small=lambda d: (d["enroll"] % 10).astype(float))
    assert {8.0, 9.0} <= set(data["small"])
    res = svy_glm(data, "small ~ meals", family="quasipoisson", psu="dnum", weight="pw", fpc="fpc")
    assert res["value"].notna().all()


def test_total_covariance_diagonal_is_the_variance_of_svy_total():
    # the matrix form of the variance engine agrees with the engine itself (checked against R in test_survey)
    data, kw = DESIGNS["dclus1s"]
    d = code_design(data, kw["strata"], kw["psu"], kw.get("weight"), None, True, "adjust")
    rows = (data["comp_imp"] == "Yes").to_numpy()
    z = np.column_stack([data["api00"], data["ell"]])[rows] * d.weight[rows, None]
    cov = total_covariance(d, rows, z)
    for j, col in enumerate(("api00", "ell")):
        se = svy_total(data, col, domain=rows, **kw)["se"].iloc[0]
        np.testing.assert_allclose(np.sqrt(cov[j, j]), se, rtol=1e-12)
    assert cov[0, 1] == pytest.approx(cov[1, 0])


# --- arguments checked up front, with messages that say what to do ----------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: svy_glm(PROV, "q_overall ~ group", family="binomial", **PROV_DESIGN),
     r"family must be one of 'gaussian', 'quasibinomial', 'quasipoisson'; got 'binomial'"),
    (lambda: svy_glm(PROV, "q_overall group", **PROV_DESIGN), r"formula must be a string such as"),
    (lambda: svy_glm(PROV, "nothing ~ group", **PROV_DESIGN), r"The response of formula .* names no column"),
    (lambda: svy_glm(PROV, "q_overall ~ group", family="quasibinomial", **PROV_DESIGN),
     r"must lie between 0 and 1 for the quasibinomial family"),
    (lambda: svy_glm(PROV.assign(u2=PROV["urban_rural"]), "q_overall ~ urban_rural + u2", **PROV_DESIGN),
     r"'u2\[T.urban\]' is a combination of the terms before it"),
    (lambda: svy_olr(PROV, "satisfied ~ urban_rural", **PROV_DESIGN), r"'satisfied' has 2 levels .* at least 3"),
    (lambda: svy_chisq(PROV, "urban_rural", "q_overall", statistic="Wald", **PROV_DESIGN),
     r"statistic must be one of 'F', 'Chisq'; got 'Wald'"),
    (lambda: svy_glm(PROV, "q_overall ~ group", confidence=95, **PROV_DESIGN), r"confidence must be a fraction"),
])
def test_wrong_arguments_are_refused_with_a_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()
