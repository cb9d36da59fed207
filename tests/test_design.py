"""SurveyDesign (evalkit.measures.design) against R's survey package, and the traps it closes.

The references are ``tests/reference/survey/design_reference.json``, written by ``design.R`` (R's
``survey``) on ``design_sample.csv`` (an extract of the sample province's survey, written by
``design_extract.py``) and on the api data of R's survey package; see that folder's PROVENANCE.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.measures.design import SurveyDesign, fmm_spline, survey_design
from evalkit.measures.survey import svy_mean, svy_prop, svy_ratio, svy_total

REF = Path(__file__).parent / "reference" / "survey"
ENTRIES = json.loads((REF / "design_reference.json").read_text(encoding="utf-8"))["entries"]
CODES = {"prefecture_code": str, "county_code": str, "township_code": str, "psu": str}


def _sample_province() -> SimpleNamespace:
    """The extract as a province: its survey rows, its townships' regions rows, no stations."""
    rows = pd.read_csv(REF / "design_sample.csv", dtype=CODES)
    regions = rows[["year", "township_code", "prefecture_code", "urban_rural", "population"]].drop_duplicates()
    survey = rows.drop(columns=["prefecture_code", "urban_rural", "population"])
    stations = pd.DataFrame({"year": pd.Series(dtype="int64"), "township_code": pd.Series(dtype=str),
                             "volunteers": pd.Series(dtype="int64")})
    return SimpleNamespace(survey=survey, regions=regions, stations=stations, meta={"lonely_psu": "adjust"})


def _api(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, dtype={"cds": str})


@pytest.fixture(scope="module")
def designs() -> dict[str, SurveyDesign]:
    province = _sample_province()
    return {
        "sample": survey_design(province),
        "sample2025": survey_design(province, year=2025),
        "dstrat": SurveyDesign(_api("apistrat.csv"), strata="stype", weight="pw", fpc="fpc", wave=None),
        "dclus1": SurveyDesign(_api("apiclus1.csv"), psu="dnum", weight="pw", fpc="fpc", wave=None),
    }


def _run(design: SurveyDesign, py: dict) -> pd.Series:
    if "subset" in py:
        design = design.subset(py["subset"])
    fn = getattr(design, py["fn"])
    args = list(py["args"])
    if py["fn"] == "contrast":
        args[2] = {(int(k) if k.isdigit() else k): v for k, v in args[2].items()}
    res = fn(*args, **(py["kwargs"] or {}))  # R writes no keywords as []
    if py["fn"] == "covariance":
        return pd.Series({"value": res.loc[py["cell"][0], py["cell"][1]]})
    if "row" in py:
        (key, value), = py["row"].items()
        res = res[res[key].astype(str) == value]
    if "quantile_row" in py:
        res = res.iloc[[py["quantile_row"]]]
    assert len(res) == 1
    return res.iloc[0]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_matches_r(designs, entry):
    got = _run(designs[entry["design"]], entry["py"])
    # estimates and standard errors to 4 significant figures, interval bounds to 1e-6
    assert got["value"] == pytest.approx(entry["value"], rel=5e-5, abs=1e-12), entry["r_call"]
    if "se" in entry:
        assert got["se"] == pytest.approx(entry["se"], rel=5e-5, abs=1e-12), entry["r_call"]
    if "lower" in entry:
        assert got["lower"] == pytest.approx(entry["lower"], abs=1e-6), entry["r_call"]
        assert got["upper"] == pytest.approx(entry["upper"], abs=1e-6), entry["r_call"]


def test_reference_covers_every_method():
    calls = " ".join(e["r_call"] for e in ENTRIES)
    for method in ("logit", "likelihood", "asin", "beta", "mean", "xlogit"):
        assert f"method = '{method}'" in calls
    for fn in ("svymean", "svytotal", "svyratio", "svyquantile", "svycontrast", "svyby", "subset("):
        assert fn in calls
    assert len(ENTRIES) >= 30
    assert {e["design"] for e in ENTRIES} == {"sample", "sample2025", "dstrat", "dclus1"}


# --- Wilson's interval (survey 4.5, not in the 4.1-1 that made the references): the published formula ---

def test_wilson_is_the_score_interval_on_the_effective_sample_size(designs):
    from statsmodels.stats.proportion import proportion_confint

    design = designs["dstrat"]
    res = design.prop("sch.wide", level="Yes", method="wilson", df=np.inf).iloc[0]
    n_eff = res["value"] * (1 - res["value"]) / res["se"] ** 2
    lower, upper = proportion_confint(res["value"] * n_eff, n_eff, alpha=0.05, method="wilson")
    assert (res["lower"], res["upper"]) == pytest.approx((lower, upper), abs=1e-12)
    # with the design's df, the t quantile replaces the normal one (survey 4.5's qt(alpha/2, degf))
    t = design.prop("sch.wide", level="Yes", method="wilson").iloc[0]
    q = float(__import__("scipy").stats.t.ppf(0.975, 197))
    centre = (t["value"] + q * q / (2 * n_eff)) / (1 + q * q / n_eff)
    half = q / (2 * n_eff) * np.sqrt(4 * n_eff * t["value"] * (1 - t["value"]) + q * q) / (1 + q * q / n_eff)
    assert (t["lower"], t["upper"]) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert 0 < t["lower"] < res["lower"] < res["upper"] < t["upper"] < 1


def test_fmm_spline_interpolates_and_is_exact_for_cubics():
    x = np.array([0.0, 0.5, 1.5, 2.0, 3.5, 4.0])
    sx, sy = fmm_spline(x, x**3 - 2 * x, 16)
    assert sx[0] == 0 and sx[-1] == 4 and len(sx) == 16
    # Forsythe-Malcolm-Moler ends reproduce a cubic exactly
    assert sy == pytest.approx(sx**3 - 2 * sx, abs=1e-9)


# --- 8 and 9: the low-level functions refuse them, the design treats them as missing ---

@pytest.fixture(scope="module")
def wave() -> pd.DataFrame:
    rows = pd.read_csv(REF / "design_sample.csv", dtype=CODES)
    rows = rows[rows["year"] == 2025].reset_index(drop=True)
    rows["stratum"] = rows["township_code"]
    return rows


KW = dict(strata="stratum", psu="psu", weight="weight")


@pytest.mark.parametrize("call", [
    lambda d, **k: svy_mean(d, "q_overall", **KW, **k),
    lambda d, **k: svy_total(d, "q_overall", **KW, **k),
    lambda d, **k: svy_ratio(d, "q_access", "q_overall", **KW, **k),
    lambda d, **k: svy_prop(d, "q_overall", level=5, **KW, **k),
    lambda d, **k: svy_mean(d, "q_overall", by="group", **KW, **k),
], ids=["mean", "total", "ratio", "prop", "mean_by"])
def test_svy_functions_refuse_dont_know_and_refused_codes(wave, call):
    assert (wave["q_overall"] == 8).any() and (wave["q_overall"] == 9).any()
    with pytest.raises(ValueError) as info:
        call(wave)
    message = str(info.value)
    assert "'q_overall' holds" in message or "'q_access' holds" in message
    for part in ("8 (don't know)", "9 (refused)", "survey_design()", "missing_codes=(8, 9)"):
        assert part in message
    # told which codes are missing, the result is that of the answers alone (8 and 9 as NaN)
    told = call(wave, missing_codes=(8, 9))
    cleaned = wave.assign(**{c: wave[c].where(~wave[c].isin([8, 9])) for c in ("q_overall", "q_access")})
    pd.testing.assert_frame_equal(told, call(cleaned))


def test_the_trap_the_refusal_closes(wave):
    # what the old code returned silently: 8 and 9 averaged as scores
    as_numbers = svy_mean(wave, "q_overall", **KW, missing_codes=())["value"].iloc[0]
    answers = svy_mean(wave, "q_overall", **KW, missing_codes=(8, 9))["value"].iloc[0]
    assert as_numbers > answers + 0.03
    design = survey_design(_sample_province(), year=2025)
    assert design.mean("q_overall")["value"].iloc[0] == pytest.approx(answers, rel=1e-12)


def test_codes_outside_the_analysed_rows_and_counts_are_not_refused(wave):
    answered = ~wave["q_overall"].isin([8, 9])
    svy_mean(wave, "q_overall", domain=answered.to_numpy(), **KW)  # the benchmark's call: codes outside the domain
    counts = wave.assign(visits=np.arange(len(wave)) % 12)  # 8 and 9 among other counts are numbers
    svy_mean(counts, "visits", **KW)
    other = wave.assign(score=wave["q_overall"].astype(float))  # a 1-5 column with 8 and 9 is refused by name
    with pytest.raises(ValueError, match="'score' holds the survey codes"):
        svy_mean(other, "score", **KW)


# --- the design: waves, covariates, subsets ---

def test_waves_are_never_pooled_silently():
    design = survey_design(_sample_province())
    for call in (lambda: design.mean("q_overall"), lambda: design.prop("q_overall >= 4"),
                 lambda: design.quantile("q_overall"), lambda: design.contrast("q_overall", "group", {"dibao": 1}),
                 lambda: design.mean("q_overall", by="group")):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert "2024 and 2025" in message and "pool" in message
        assert "survey_design(year=2025)" in message and 'by="year"' in message
    by_year = design.mean("q_overall", by="year").set_index("year")
    one = survey_design(_sample_province(), year=2025).mean("q_overall").iloc[0]
    sub = design.subset("year == 2025").mean("q_overall").iloc[0]
    # one wave alone, the wave as a subset of both, and the wave's row of by="year" agree
    for got in (sub, by_year.loc[2025]):
        assert got["value"] == pytest.approx(one["value"], rel=1e-12)
        assert got["se"] == pytest.approx(one["se"], rel=1e-9)


def test_design_joins_covariates_and_codes_answers_as_missing():
    design = survey_design(_sample_province())
    data = design.variables
    assert {"urban_rural", "prefecture_code", "population", "volunteers"} <= set(data.columns)
    assert not data["q_overall"].isin([8, 9]).any() and data["q_overall"].isna().any()
    # strata are wave x township and PSUs wave x village: a village in both waves is two PSUs
    assert data.groupby("design_psu", observed=True)["year"].nunique().max() == 1
    assert data["design_psu"].nunique() == data.groupby(["year", "psu"]).ngroups
    assert data["design_stratum"].nunique() == data.groupby(["year", "township_code"]).ngroups
    with pytest.raises(ValueError, match="2023 is not a wave of the survey; its waves are 2024, 2025"):
        survey_design(_sample_province(), year=2023)


def test_subset_keeps_every_psu(designs):
    design = designs["sample2025"]
    sub = design.subset(design.variables["group"].eq("dibao").to_numpy())
    assert len(sub) < len(design) and len(sub.variables) == len(design.variables)
    # a domain, not a design of its own: the SE is that of R's subset() (checked in the references),
    # which differs from the one of the rows alone analysed as a design
    alone = SurveyDesign(sub.data, strata="design_stratum", psu="design_psu", weight="weight")
    a, b = sub.mean("q_overall").iloc[0], alone.mean("q_overall").iloc[0]
    assert a["value"] == pytest.approx(b["value"], rel=1e-12) and a["se"] != pytest.approx(b["se"], rel=1e-6)
    assert set(sub.mean("q_overall").columns) >= {"value", "se", "lower", "upper", "confidence", "statistic",
                                                  "method", "n", "df", "deff"}


def test_models_are_delegated_with_the_design(designs, monkeypatch):
    import sys

    calls = []
    fake = SimpleNamespace(**{name: (lambda name: lambda data, *a, **k: calls.append((name, data, a, k)))(name)
                              for name in ("svy_glm", "svy_olr", "svy_chisq")})
    monkeypatch.setitem(sys.modules, "evalkit.measures.models", fake)
    design = designs["sample"]
    design.glm("q_overall ~ C(year) + urban_rural", family="quasibinomial")
    design.subset("year == 2025").olr("q_overall ~ group")
    design.chisq("year", "group")
    with pytest.raises(ValueError, match="pool"):
        design.glm("q_overall ~ urban_rural")
    names = [c[0] for c in calls]
    assert names == ["svy_glm", "svy_olr", "svy_chisq"]
    for _, data, _, kw in calls:
        assert len(data) == len(design.variables)  # the whole design, the domain as a mask
        assert kw["strata"] == "design_stratum" and kw["psu"] == "design_psu" and kw["weight"] == "weight"
    assert calls[0][3]["family"] == "quasibinomial" and calls[0][2] == ("q_overall ~ C(year) + urban_rural",)
    assert calls[1][3]["domain"].sum() == (design.variables["year"] == 2025).sum()
    assert calls[2][2] == ("year", "group")


def test_survey_design_is_public_and_lazy():
    assert "SurveyDesign" in evalkit.__all__ and evalkit.SurveyDesign is SurveyDesign
