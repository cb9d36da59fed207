"""Tests for evalkit.measures.smallarea (empirical-Bayes beta-binomial shrinkage).

Reference values: tests/reference/smallarea/eb_reference.csv, computed in base R from the closed
forms (Kleinman's moment estimator and the conjugate beta posterior with qbeta); see
PROVENANCE.md there.  Tolerance: 1e-9 relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.measures.smallarea import METHOD, BetaPrior, beta_binomial_prior, eb_proportion, shrink_indicator

REFERENCE = Path(__file__).parent / "reference" / "smallarea" / "eb_reference.csv"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE)


def _one_level(ref: pd.DataFrame, level: float) -> pd.DataFrame:
    return ref[ref["confidence"] == level].reset_index(drop=True)


def test_every_case_against_r_in_one_grouped_call(reference):
    """All estimated cases at once, one prior per case (``by``), both confidence levels."""
    est = reference[reference["case"] != "known_prior"]
    units = est[est["confidence"] == 0.95][["case", "unit", "x", "n"]].reset_index(drop=True)
    out = eb_proportion(units, "x", "n", by="case", confidence=[0.95, 0.998])
    expected = est.sort_values(["case", "unit", "confidence"]).reset_index(drop=True)
    got = out.sort_values(["case", "unit", "confidence"]).reset_index(drop=True)
    for col in ("prior_mean", "prior_size", "shrinkage", "value", "lower", "upper"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-9, err_msg=col)
    assert (got["method"] == METHOD).all() and got["model_based"].all()


def test_known_prior_is_the_conjugate_posterior(reference):
    ref = _one_level(reference[reference["case"] == "known_prior"], 0.95)
    out = eb_proportion(ref[["unit", "x", "n"]], "x", "n", prior=BetaPrior(0.4, 5))
    np.testing.assert_allclose(out["value"], ref["value"], rtol=1e-9)
    np.testing.assert_allclose(out["lower"], ref["lower"], rtol=1e-9)
    np.testing.assert_allclose(out["upper"], ref["upper"], rtol=1e-9)
    # by hand: Beta(2, 3) prior, 3 of 10 -> Beta(5, 10): mean 1/3, prior weight 5 / 15
    row = out.iloc[1]
    assert row["value"] == pytest.approx(1 / 3) and row["shrinkage"] == pytest.approx(1 / 3)
    assert row["lower"] == pytest.approx(stats.beta.ppf(0.025, 5, 10))


def test_equal_sizes_closed_form():
    x, n = np.array([10, 12, 14, 16]), 20
    p = x / n
    m = p.mean()
    rho = (n * p.var(ddof=1) / (m * (1 - m)) - 1) / (n - 1)
    size = 1 / rho - 1
    prior = beta_binomial_prior(x, [n] * 4)
    assert prior.mean == pytest.approx(0.65) and prior.size == pytest.approx(size, rel=1e-12)
    out = eb_proportion(None, x, np.full(4, n))
    b = size / (size + n)
    np.testing.assert_allclose(out["value"], b * m + (1 - b) * p, rtol=1e-12)
    np.testing.assert_allclose(out["shrinkage"], b)


def test_no_spread_caps_the_prior_at_the_data():
    prior = beta_binomial_prior([5, 10, 15], [10, 20, 30])
    assert prior == BetaPrior(0.5, 60.0)
    assert prior.alpha == 30 and prior.beta == 30


def test_shrinkage_falls_with_sample_size_and_pulls_toward_the_prior():
    out = eb_proportion(None, [3, 18, 45, 52], [4, 20, 50, 60])
    assert out["shrinkage"].is_monotonic_decreasing
    m = out["prior_mean"].iloc[0]
    assert (np.abs(out["value"] - m) <= np.abs(out["direct"] - m) + 1e-12).all()
    assert ((out["lower"] <= out["value"]) & (out["value"] <= out["upper"])).all()


def test_eb_beats_direct_estimates_on_average():
    """Many small areas drawn from a known beta: EB has a smaller mean squared error than the direct
    rates, and its 95% intervals cover the truth at about the nominal rate."""
    rng = np.random.default_rng(11)
    truth = rng.beta(18, 2, 2000)
    n = rng.integers(5, 40, 2000)
    x = rng.binomial(n, truth)
    out = eb_proportion(None, x, n)
    direct_mse = np.mean((x / n - truth) ** 2)
    eb_mse = np.mean((out["value"] - truth) ** 2)
    assert eb_mse < 0.7 * direct_mse
    prior = beta_binomial_prior(x, n)
    assert prior.mean == pytest.approx(0.9, abs=0.01) and prior.size == pytest.approx(20, rel=0.25)
    coverage = np.mean((out["lower"] <= truth) & (truth <= out["upper"]))
    assert 0.93 <= coverage <= 0.97


def test_missing_and_empty_units_and_groups():
    df = pd.DataFrame({"g": ["a", "a", "a", "b", "b"], "x": [1, 2, np.nan, 5, 0], "n": [3, 4, 5, 9, 0]})
    out = eb_proportion(df, "x", "n", by="g")
    assert out["value"].isna().tolist() == [False, False, True, False, True]
    # group b has a single usable unit: its prior mean is that unit's rate, so the estimate is its rate
    assert out.loc[3, "value"] == pytest.approx(5 / 9)


@pytest.mark.parametrize("kwargs, message", [
    ({"successes": [5], "trials": [3]}, "less than or equal to denominators"),
    ({"successes": [-1], "trials": [3]}, "Successes must be greater than or equal to zero"),
    ({"successes": [1], "trials": [3], "prior": (1.2, 5)}, "mean strictly between 0 and 1"),
    ({"successes": [1], "trials": [3], "confidence": 95}, "strictly between 0 and 1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        eb_proportion(None, **kwargs)
    with pytest.raises(ValueError, match="Column 'region' \\(by\\) is not in data"):
        eb_proportion(pd.DataFrame({"x": [1], "n": [2]}), "x", "n", by="region")


# --- on the indicator table ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_table(small_province, tmp_path_factory):
    from evalkit.results import indicator_table as cached_indicator_table

    table, _ = cached_indicator_table(small_province, tmp_path_factory.mktemp("cache"))
    return table


def test_township_satisfaction_shrunk_toward_the_prefecture(small_table):
    out = shrink_indicator(small_table, level="township", toward="prefecture", year=2025)
    towns = small_table[(small_table["level"] == "township") & (small_table["year"] == 2025)]
    assert set(out["code"]) == set(towns["code"])
    assert out["model_based"].all() and (out["method"] == METHOD).all()
    shown = out[~out["suppressed"]]
    assert shown["value"].notna().all()
    # suppressed stays suppressed: no model-based figure for a cell that is hidden
    hidden = out[out["suppressed"]]
    assert hidden["value"].isna().all() and hidden["suppression_reason"].notna().all()
    # effective sample sizes never exceed the respondents; intervals get narrower on the whole
    assert (shown["denominator"] <= shown["respondents"] + 1e-9).all()
    width = (shown["upper"] - shown["lower"]) / (shown["direct_upper"] - shown["direct_lower"])
    assert width.median() < 1
    # one prior per prefecture and year
    assert shown.groupby(["year", "prefecture_code"])["prior_mean"].nunique().eq(1).all()


def test_county_toward_province_and_argument_checks(small_table):
    out = shrink_indicator(small_table, level="county", toward="province")
    assert set(out["year"]) == {2023, 2024, 2025}
    with pytest.raises(ValueError, match="Toward must be a coarser level than 'county'"):
        shrink_indicator(small_table, level="county", toward="township")
    with pytest.raises(ValueError, match="no township rows for indicator 'satisfaction_rate', item 'q_nothing'"):
        shrink_indicator(small_table, item="q_nothing")
