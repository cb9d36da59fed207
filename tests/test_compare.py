"""Tests for evalkit.measures.compare.

Reference values: tests/reference/indicators/funnel_proportion_inputs.csv and
funnel_proportion_limits.csv (PHEindicatormethods test data; see PROVENANCE.md there).
Tolerance: relative 1e-6 on every numeric cell (the limits file is rounded to 6 decimals, which
is well inside it); the significance of every area must match exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.measures.compare import (
    COMPARISONS,
    SIGNIFICANCE,
    compare_to_benchmark,
    funnel_axis,
    funnel_limits_proportion,
    funnel_limits_rate,
    funnel_significance,
    overdispersion,
)

REFERENCE = Path(__file__).parent / "reference" / "indicators"
RTOL = 1e-6
PHE_SIGNIFICANCE = {
    "High (0.001)": "high_99_8",
    "High (0.025)": "high_95",
    "Not significant": "not_significant",
    "Low (0.025)": "low_95",
    "Low (0.001)": "low_99_8",
}


@pytest.fixture(scope="module")
def funnel_inputs() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "funnel_proportion_inputs.csv")


# --- reference values ----------------------------------------------------------------


def test_reference_significance_of_every_area(funnel_inputs):
    out = funnel_significance(
        funnel_inputs.drop(columns="significance"), "numerator", "denominator", multiplier=100
    )
    assert out["Area"].tolist() == funnel_inputs["Area"].tolist()
    np.testing.assert_array_equal(out["n"], funnel_inputs["numerator"])
    np.testing.assert_array_equal(out["denominator"], funnel_inputs["denominator"])
    expected = funnel_inputs["significance"].map(PHE_SIGNIFICANCE)
    assert expected.notna().all()
    assert out["significance"].tolist() == expected.tolist()


def test_reference_funnel_table_every_row_and_column(funnel_inputs):
    reference = pd.read_csv(REFERENCE / "funnel_proportion_limits.csv")
    axis = funnel_axis(funnel_inputs["denominator"])
    np.testing.assert_array_equal(axis, reference["Population"])

    pooled = funnel_inputs["numerator"].sum() / funnel_inputs["denominator"].sum()
    out = funnel_limits_proportion(pooled, axis, [0.95, 0.998], multiplier=100)
    at95 = out[out["confidence"] == 0.95].reset_index(drop=True)
    at998 = out[out["confidence"] == 0.998].reset_index(drop=True)
    actual = {
        "Population": at95["denominator"],
        "lower_2s_limit": at95["lower"],
        "upper_2s_limit": at95["upper"],
        "lower_3s_limit": at998["lower"],
        "upper_3s_limit": at998["upper"],
        "baseline": at95["value"],
    }
    assert list(actual) == list(reference.columns)
    for column, values in actual.items():
        np.testing.assert_allclose(values, reference[column], rtol=RTOL, atol=0,
                                   err_msg=column)


# Spot checks against PHEindicatormethods tests/testthat/testdata_funnel_ratio_outputs.csv
# (ratio funnels, target 1): for each observed count O, the expected counts E at which O is
# the lower and upper 95% and 99.8% limit.  PHE finds E by bisection (step 1e-7 on a
# transformed scale), so agreement is to about 1e-6 relative; 1e-5 allows for E near 0.001.
PHE_RATIO = {
    # O: (lower 95% E, upper 95% E, lower 99.8% E, upper 99.8% E)
    1: (5.571644585, 0.025317898, 9.233410143, 0.001000547),
    10: (18.39035799, 4.795387629, 24.13397235, 2.960519925),
    100: (121.6268111, 81.36400699, 134.9243187, 71.92139974),
    716: (770.4222128, 664.5083011, 802.60414, 636.1521174),
}


@pytest.mark.parametrize("observed", list(PHE_RATIO))
def test_ratio_limits_match_phe_poisson_funnel(observed):
    cases = zip(PHE_RATIO[observed], [0.95, 0.95, 0.998, 0.998],
                ["lower", "upper", "lower", "upper"])
    for expected, level, side in cases:
        out = funnel_limits_rate(1.0, [expected], level, statistic="ratio")
        assert out[side][0] * expected == pytest.approx(observed, rel=1e-5)


# --- compare_to_benchmark -------------------------------------------------------------


def estimates() -> pd.DataFrame:
    return pd.DataFrame({
        "county": ["low", "mid", "high", "gap"],
        "value": [0.50, 0.70, 0.90, np.nan],
        "lower": [0.40, 0.60, 0.80, np.nan],
        "upper": [0.60, 0.80, 0.95, np.nan],
        "confidence": 0.95,
    })


@pytest.mark.parametrize(
    "polarity, expected",
    [
        ("higher_is_better", ["worse", "similar", "better", "not_compared"]),
        ("lower is better", ["better", "similar", "worse", "not_compared"]),
        ("no-judgement", ["lower", "similar", "higher", "not_compared"]),
    ],
)
def test_interval_comparison_honours_polarity(polarity, expected):
    out = compare_to_benchmark(estimates(), 0.7, polarity=polarity)
    assert out["comparison"].tolist() == expected
    assert set(out["comparison"]) <= set(COMPARISONS)
    assert (out["comparison_method"] == "interval").all()
    assert list(out.columns[:5]) == ["county", "value", "lower", "upper", "confidence"]


def test_interval_comparison_per_row_benchmark_and_polarity():
    data = estimates().assign(prefecture=[0.3, 0.7, 0.99, 0.5])
    out = compare_to_benchmark(
        data, "prefecture",
        polarity=["higher_is_better", "lower_is_better", "no_judgement", "no_judgement"],
    )
    assert out["comparison"].tolist() == ["better", "similar", "lower", "not_compared"]
    assert out["benchmark"].tolist() == [0.3, 0.7, 0.99, 0.5]


def test_interval_touching_the_benchmark_is_similar():
    out = compare_to_benchmark(estimates().iloc[:1], 0.6)
    assert out["comparison"].tolist() == ["similar"]


def test_interval_comparison_at_both_levels_from_a_measure():
    from evalkit.measures.proportions import proportion

    data = pd.DataFrame({"county": ["a"], "x": [570], "n": [1000]})
    out = compare_to_benchmark(proportion(data, "x", "n", confidence=[0.95, 0.998]), 0.53)
    # 57% of 1000 against 53%: outside the 95% interval but inside the 99.8% one.
    assert out["comparison"].tolist() == ["better", "similar"]


def test_z_test_of_two_estimates():
    data = pd.DataFrame({"county": ["a", "b", "c"], "value": [0.60, 0.55, np.nan],
                         "se": [0.02, 0.02, 0.02], "pref": [0.52, 0.52, 0.52]})
    out = compare_to_benchmark(data, "pref", method="z-test", benchmark_se=0.01)
    assert out["confidence"].tolist() == [0.95, 0.998] * 3
    z = 0.08 / np.sqrt(0.02**2 + 0.01**2)
    assert out["z"][0] == pytest.approx(z)
    assert out["comparison"].tolist() == [
        "better", "better", "similar", "similar", "not_compared", "not_compared",
    ]
    assert (out["comparison_method"] == "z-test").all()


def test_z_test_with_fixed_benchmark_and_one_level():
    data = pd.DataFrame({"value": [10.0], "se": [2.0]})
    out = compare_to_benchmark(data, 14.0, method="z-test", confidence=0.95,
                               polarity="lower_is_better")
    assert out["z"][0] == -2.0
    assert out["comparison"].tolist() == ["better"]


# --- funnel limits --------------------------------------------------------------------


def test_rate_limits_are_ratio_limits_rescaled():
    population = np.array([500.0, 20_000.0, 1e6])
    pooled = 0.0123
    rates = funnel_limits_rate(pooled, population, multiplier=100_000)
    ratios = funnel_limits_rate(1.0, pooled * population, statistic="ratio")
    for side in ("lower", "upper"):
        np.testing.assert_allclose(rates[side], ratios[side] * pooled * 100_000, rtol=1e-9)
    assert rates["statistic"][0] == "rate per 100000"
    assert ratios["statistic"][0] == "ratio"
    assert funnel_limits_rate(1.0, [10.0], statistic="ratio", multiplier=100)[
        "statistic"][0] == "ratio x 100"


def test_limits_layout():
    out = funnel_limits_proportion(0.3, [10, 100], [0.95, 0.998])
    assert list(out.columns) == [
        "denominator", "value", "lower", "upper", "confidence", "statistic", "method",
    ]
    assert out["confidence"].tolist() == [0.95, 0.998, 0.95, 0.998]
    assert out["method"].unique().tolist() == ["Wilson"]


def test_multiplicative_overdispersion_scales_the_spread():
    plain = funnel_limits_proportion(0.4, [1000.0], 0.95)
    wide = funnel_limits_proportion(0.4, [1000.0], 0.95, phi=4.0)
    assert wide["upper"][0] - 0.4 == pytest.approx(2 * (plain["upper"][0] - 0.4))
    assert wide["method"][0] == "Wilson, multiplicative overdispersion"


def test_additive_overdispersion_adds_variance():
    plain = funnel_limits_rate(0.01, [1e6], 0.95)
    wide = funnel_limits_rate(0.01, [1e6], 0.95, tau2=1e-6)
    assert wide["upper"][0] > plain["upper"][0] and wide["lower"][0] < plain["lower"][0]
    assert wide["method"][0] == "Exact, additive overdispersion"
    # With very large denominators the limits approach pooled -/+ z * tau.
    huge = funnel_limits_proportion(0.4, [1e12], 0.95, tau2=0.0004)
    assert huge["upper"][0] == pytest.approx(0.4 + 1.959964 * 0.02, rel=1e-6)


# --- overdispersion -------------------------------------------------------------------


def test_tau2_equals_dersimonian_laird_without_trimming():
    x = np.array([30.0, 45, 60, 20, 52, 41])
    n = np.array([100.0, 120, 150, 90, 110, 100])
    fit = overdispersion(None, x, n, trim=0)
    pooled = x.sum() / n.sum()
    y, w = x / n, n / (pooled * (1 - pooled))
    mean = (w * y).sum() / w.sum()
    q = (w * (y - mean) ** 2).sum()
    tau2 = max(0, (q - (len(x) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    assert fit["tau2"][0] == pytest.approx(tau2)
    assert fit["phi"][0] == pytest.approx(q / len(x))


def test_phi_near_one_without_overdispersion():
    rng = np.random.default_rng(20240501)
    n = rng.integers(200, 5000, size=400).astype(float)
    x = rng.binomial(n.astype(int), 0.3).astype(float)
    fit = overdispersion(None, x, n)
    assert 0.6 < fit["phi"][0] < 1.3
    assert fit["areas"][0] == 400


def test_adjusted_significance_flags_fewer_areas(funnel_inputs):
    data = funnel_inputs.drop(columns="significance")
    plain = funnel_significance(data, "numerator", "denominator")
    for adjust in ("multiplicative", "additive"):
        out = funnel_significance(data, "numerator", "denominator", adjust=adjust)
        assert (out["significance"] == "not_significant").sum() > (
            plain["significance"] == "not_significant").sum()
        assert out["method"][0] == f"Wilson, {adjust} overdispersion"


def test_significance_for_ratios_and_missing_rows():
    data = pd.DataFrame({"obs": [8, 0, 182, 507, np.nan], "exp": [6.24, 240.6, 196.8, 272.3, 5]})
    out = funnel_significance(data, "obs", "exp", statistic="ratio")
    assert out["significance"].tolist() == [
        "not_significant", "low_99_8", "not_significant", "high_99_8", "not_compared",
    ]
    assert out["benchmark"].unique().tolist() == [1.0]
    assert set(out["significance"]) <= set(SIGNIFICANCE)


# --- properties ----------------------------------------------------------------------

pooled_p = st.floats(min_value=0.001, max_value=0.999)
sizes = st.lists(st.floats(min_value=1, max_value=1e7), min_size=1, max_size=20)
levels = st.floats(min_value=0.5, max_value=0.9999)


@settings(max_examples=60, deadline=None)
@given(p=pooled_p, n=sizes, a=levels, b=levels)
def test_proportion_limits_bracket_and_widen(p, n, a, b):
    low_level, high_level = sorted((a, b))
    out = funnel_limits_proportion(p, n, [low_level, high_level])
    assert (out["lower"] <= p).all() and (out["upper"] >= p).all()
    lower, upper = out["lower"].to_numpy(), out["upper"].to_numpy()
    assert (lower[1::2] <= lower[::2] + 1e-15).all()
    assert (upper[1::2] >= upper[::2] - 1e-15).all()


@settings(max_examples=60, deadline=None)
@given(r=st.floats(min_value=1e-4, max_value=10), n=sizes, level=levels)
def test_rate_limits_bracket_and_narrow_with_size(r, n, level):
    n = np.sort(np.asarray(n))
    out = funnel_limits_rate(r, n, level)
    assert (out["lower"] <= r * (1 + 1e-9)).all() and (out["upper"] >= r * (1 - 1e-9)).all()
    width = (out["upper"] - out["lower"]).to_numpy()
    assert (np.diff(width) <= 1e-9 * width[:-1]).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_significance_invariant_to_row_order(funnel_inputs, seed):
    data = funnel_inputs.drop(columns="significance")
    a = funnel_significance(data, "numerator", "denominator").set_index("Area")
    b = funnel_significance(data.sample(frac=1, random_state=seed), "numerator",
                            "denominator").set_index("Area")
    pd.testing.assert_frame_equal(a, b.loc[a.index])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=20, max_value=5000), p=pooled_p)
def test_significance_monotonic_in_numerator(n, p):
    x = np.arange(n + 1, dtype=float)
    out = funnel_significance(None, x, np.full(x.size, float(n)), pooled=p)
    order = ["low_99_8", "low_95", "not_significant", "high_95", "high_99_8"]
    rank = out["significance"].map(order.index).to_numpy()
    assert (np.diff(rank) >= 0).all()


# --- validation messages (one test per message) ---------------------------------------


def raises(message):
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_message_unknown_comparison_method():
    with raises("Method must be one of 'interval' or 'z-test'; got 'overlap'."):
        compare_to_benchmark(estimates(), 0.7, method="overlap")


def test_message_unknown_polarity():
    with raises("Polarity must be one of 'higher_is_better', 'lower_is_better' or "
                "'no_judgement'; got 'up'."):
        compare_to_benchmark(estimates(), 0.7, polarity="up")


def test_message_polarity_length():
    with raises("Polarity must be one string or one per row; got 2 values for 4 rows."):
        compare_to_benchmark(estimates(), 0.7, polarity=["no_judgement"] * 2)


def test_message_benchmark_length():
    with raises("The benchmark must be one number, a column name or one value per row; "
                "got 2 values for 4 rows."):
        compare_to_benchmark(estimates(), [0.7, 0.8])


def test_message_confidence_with_interval_method():
    with raises("Confidence is read from the data's 'confidence' column when "
                "method='interval'; leave confidence as None."):
        compare_to_benchmark(estimates(), 0.7, confidence=0.95)


def test_message_missing_column_for_comparison():
    with raises("Column 'se' is not in data; the columns are county, value, lower, upper."):
        compare_to_benchmark(estimates().drop(columns="confidence"), 0.7, method="z-test")


def test_message_negative_standard_error():
    data = pd.DataFrame({"value": [1.0], "se": [-0.1]})
    with raises("Standard errors must be greater than or equal to zero; column 'se' has "
                "-0.1 in row 0."):
        compare_to_benchmark(data, 0.7, method="z-test")


def test_message_comparison_data_not_a_frame():
    with raises("Data must be a pandas DataFrame; got list."):
        compare_to_benchmark([0.5], 0.7)


def test_message_pooled_proportion_out_of_range():
    with raises("The pooled proportion must be between 0 and 1; got 80.6."):
        funnel_limits_proportion(80.6, [100])


def test_message_pooled_rate_not_positive():
    with raises("The pooled rate or ratio must be a positive number; got 0."):
        funnel_limits_rate(0, [100])


def test_message_funnel_denominators_not_positive():
    with raises("Denominators must be greater than zero; got 0."):
        funnel_limits_proportion(0.5, [100, 0])


def test_message_funnel_denominators_missing():
    with raises("Denominators must be one or more numbers without missing values."):
        funnel_limits_rate(0.5, [100, np.nan])


def test_message_phi_and_tau2_together():
    with raises("Give either phi (multiplicative) or tau2 (additive), not both."):
        funnel_limits_proportion(0.5, [100], phi=2.0, tau2=0.01)


def test_message_negative_overdispersion():
    with raises("The overdispersion tau2 must be zero or more; got -0.01."):
        funnel_limits_rate(0.5, [100], tau2=-0.01)


def test_message_unknown_statistic():
    with raises("Statistic must be one of 'proportion', 'rate' or 'ratio'; got 'mean'."):
        funnel_significance(None, [1], [2], statistic="mean")


def test_message_unknown_rate_statistic():
    with raises("Statistic must be one of 'rate' or 'ratio'; got 'proportion'."):
        funnel_limits_rate(0.5, [100], statistic="proportion")


def test_message_unknown_adjustment():
    with raises("Adjust must be one of 'none', 'multiplicative' or 'additive'; got 'both'."):
        funnel_significance(None, [1], [2], adjust="both")


def test_message_trim_out_of_range():
    with raises("Trim must be at least 0 and less than 0.5; got 0.5."):
        overdispersion(None, [1, 2, 3], [10, 10, 10], trim=0.5)


def test_message_too_few_areas():
    with raises("Overdispersion needs at least two areas with data; got 1."):
        overdispersion(None, [1, np.nan], [10, 10])


def test_message_pooled_on_the_boundary():
    with raises("Overdispersion needs a pooled value strictly inside its range."):
        overdispersion(None, [0, 0], [10, 10])


def test_message_funnel_numerator_above_denominator():
    with raises("Numerators must be less than or equal to denominators for a proportion; "
                "row 1 has 12 in 'numerator' and 10 in 'denominator'."):
        funnel_significance(None, [1, 12], [10, 10])


def test_message_axis_points():
    with raises("Points must be at least 2; got 1."):
        funnel_axis([10, 100], points=1)


def test_effective_sample_size_of_simple_random_sampling_is_the_sample_size():
    """A proportion's binomial standard error sqrt(p(1-p)/n) is worth exactly n respondents; a design effect
    of 2 (the variance doubled) halves it."""
    from evalkit.measures.compare import effective_sample_size

    p, n = np.array([0.1, 0.5, 0.9]), np.array([40.0, 250.0, 1000.0])
    se = np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(effective_sample_size(p, se), n, rtol=1e-12)
    np.testing.assert_allclose(effective_sample_size(p, se * np.sqrt(2)), n / 2, rtol=1e-12)
