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
