"""evalkit.plot and the statistics behind its funnel (evalkit.measures.funnel), and the figure data the county
report and the plots share (evalkit.figuredata).

The overdispersion statistics (phi, tau2, z-scores, limits) are checked against
``tests/reference/indicators/funnel_overdispersion.csv``, made by an independent base-R script from
Spiegelhalter's published algorithm (``funnel_overdispersion.R``, see the folder's PROVENANCE.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evalkit.measures.funnel import funnel_dispersion  # noqa: E402
from evalkit.paths import SAMPLE  # noqa: E402

REFERENCE = Path(__file__).parent / "reference" / "indicators"
COUNTY, PROVINCE, YEAR = "090102", "09", 2025

# the inputs of the reference script's invented datasets (funnel_overdispersion.R)
OBSERVED = [12, 30, 30, 8, 60, 22, 125, 17, 41, 5, 70, 33, 190, 15, 54, 11, 110, 39, 19, 85, 88, 7, 48, 29]
EXPECTED = [10.2, 25.7, 51.3, 9.8, 48.1, 24.4, 80.6, 12.9, 44.0, 6.3, 72.5, 27.1, 131.8, 30.2, 49.9, 13.5, 70.4,
            41.6, 15.2, 128.7, 50.3, 9.1, 46.7, 22.8]
EVENTS = [0, 3, 14, 9, 27, 41, 6, 18, 55, 33, 12, 71, 24, 8, 39, 15, 62, 21, 4, 47]
POPULATION = [1800, 2500, 9100, 7400, 15800, 21000, 6100, 9900, 30500, 17200, 8800, 36100, 14900, 5300, 19800,
              12100, 28400, 11700, 3900, 25600]


def _datasets():
    phe = pd.read_csv(REFERENCE / "funnel_proportion_inputs.csv")
    return {"phe_proportions": (phe["numerator"], phe["denominator"], "proportion", None),
            "phe_proportions_target": (phe["numerator"], phe["denominator"], "proportion", 0.81),
            "smr": (OBSERVED, EXPECTED, "ratio", None),
            "rates": (EVENTS, POPULATION, "rate", None)}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "funnel_overdispersion.csv", keep_default_na=False, na_values=[""])


def _close(got, want, what: str) -> None:
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-6, atol=1e-9, err_msg=what)


@pytest.mark.parametrize("dataset", ["phe_proportions", "phe_proportions_target", "smr", "rates"])
def test_phi_tau2_zscores_and_limits_match_the_independent_r_reference(reference, dataset):
    x, n, statistic, target = _datasets()[dataset]
    ref = reference[reference["dataset"] == dataset]
    one = dict(zip(ref["quantity"], ref["value"]))
    fit = funnel_dispersion(x, n, statistic=statistic, target=target, trim=one["trim"])
    for quantity in ("phi", "tau2", "target", "areas"):
        _close(getattr(fit, quantity), one[quantity], f"{dataset}: {quantity}")
    _close(fit.zscores()["z"], ref.loc[ref["quantity"] == "z", "value"], f"{dataset}: z")
    _close(fit.zscores()["z_winsorised"], ref.loc[ref["quantity"] == "z_winsorised", "value"], f"{dataset}: z_w")
    for adjustment in ("multiplicative", "additive"):
        _close(fit.zscores(adjustment)["z_adjusted"], ref.loc[ref["quantity"] == f"z_{adjustment}", "value"],
               f"{dataset}: z {adjustment}")
    for adjustment in ("none", "multiplicative", "additive"):
        want = ref[ref["quantity"].isin([f"lower_{adjustment}", f"upper_{adjustment}"])]
        axis = sorted(set(want["denominator"]))
        got = fit.limits(axis, None if adjustment == "none" else adjustment).sort_values(["denominator", "confidence"])
        for side in ("lower", "upper"):
            expected = want[want["quantity"] == f"{side}_{adjustment}"].sort_values(["denominator", "confidence"])
            _close(got["confidence"], expected["confidence"], f"{dataset}: levels")
            _close(got[side], expected["value"], f"{dataset}: {side} limits, {adjustment}")


def test_phi_of_funnelplotr_s_own_test_is_reproduced():
    """FunnelPlotR's test (tests/testthat/test-classes_methods.R) expects phi = 2.948033 for six standardised
    ratios on the log scale; its SHMI truncation drops none of six areas, which is no Winsorisation (trim 0)."""
    fit = funnel_dispersion([100, 150, 180, 80, 120, 225], [108, 112, 165, 95, 100, 220], statistic="ratio",
                            trim=0)
    assert round(fit.phi, 6) == 2.948033


def test_overdispersion_is_found_where_areas_differ_and_widens_the_limits(reference):
    x, n, statistic, _ = _datasets()["smr"]
    fit = funnel_dispersion(x, n, statistic=statistic)
    assert fit.phi > 1 and fit.tau2 > 0
    plain, wide = fit.limits([20.0]), fit.limits([20.0], "additive")
    assert (wide["upper"] > plain["upper"]).all() and (wide["lower"] < plain["lower"]).all()
    # not overdispersed (phi < 1): the adjusted limits are the unadjusted ones, as FunnelPlotR draws them
    rates = funnel_dispersion(EVENTS, POPULATION, statistic="rate")
    assert rates.phi < 1
    pd.testing.assert_frame_equal(rates.limits([1000.0], "multiplicative").drop(columns="overdispersion"),
                                  rates.limits([1000.0]).drop(columns="overdispersion"))


def test_wrong_arguments_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="Overdispersion must be None, 'multiplicative' or 'additive'"):
        funnel_dispersion([1, 2], [10, 10]).limits([10], "both")
    with pytest.raises(ValueError, match="observed count must be above 0 on the log scale"):
        funnel_dispersion([0, 2], [1.5, 2.5], statistic="ratio")
    with pytest.raises(ValueError, match="numerator must not exceed its denominator"):
        funnel_dispersion([11, 2], [10, 10])
    with pytest.raises(ValueError, match="at least two areas"):
        funnel_dispersion([1], [10])


# --------------------------------------------------------------------------- the plots, on the sample province


@pytest.fixture(scope="module")
def data():
    assert (SAMPLE / "survey.parquet").exists(), "the sample province is not generated: make sample (make test does)"
    from evalkit.results import province_data

    return province_data(SAMPLE)


def _drawn(fig) -> list[str]:
    """Draw the figure; the warnings matplotlib gives (a glyph missing from the font among them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_plot_returns_fig_and_ax_with_labels_in_the_report_font(data, lang):
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from evalkit import plot
    from evalkit.report.fonts import FONT_FAMILY

    made = [plot.funnel(data, highlight=COUNTY, lang=lang),
            plot.funnel(data, "coverage", overdispersion="additive", highlight=COUNTY, lang=lang),
            plot.funnel(data, "person_times_per_1000", overdispersion="multiplicative", lang=lang),
            plot.ranked(data, highlight=COUNTY, lang=lang),
            plot.trend(data, [COUNTY, PROVINCE], lang=lang),
            plot.intervals(data, [COUNTY, PROVINCE], lang=lang)]
    for fig, ax in made:
        assert isinstance(fig, Figure) and isinstance(ax, Axes)
        assert _drawn(fig) == []
        texts = [ax.xaxis.label, ax.yaxis.label, *ax.get_legend().get_texts(), *ax.get_yticklabels()]
        shown = "".join(tx.get_text() for tx in texts)
        assert shown
        if lang == "zh":
            assert any("\u4e00" <= c <= "\u9fff" for c in shown), shown
        assert ax.yaxis.label.get_fontname() == FONT_FAMILY
        plt.close(fig)


def test_the_funnel_returns_what_it_drew_and_flags_outliers_beyond_the_adjusted_limits(data):
    from evalkit import plot

    _, ax = plot.funnel(data, "coverage", year=YEAR, overdispersion="additive")
    drawn = ax.funnel_data
    assert drawn.overdispersion == "additive" and drawn.phi > 1 and drawn.tau2 > 0
    assert {"code", "x", "value", "z", "z_winsorised", "z_adjusted", "significance"} <= set(drawn.points.columns)
    assert set(drawn.limits["confidence"]) == {0.95, 0.998}
    # each unit outside the drawn 99.8% limits at its own size is flagged high_99_8 / low_99_8
    fit = drawn.fit
    own = fit.limits(drawn.points["x"].to_numpy(), "additive", 0.998)
    above = drawn.points["value"].to_numpy() > own["upper"].to_numpy()
    below = drawn.points["value"].to_numpy() < own["lower"].to_numpy()
    assert (drawn.points["significance"].to_numpy()[above] == "high_99_8").all()
    assert (drawn.points["significance"].to_numpy()[below] == "low_99_8").all()
    # without overdispersion: flagged against the report's (binomial) limits at each county's own size
    _, ax = plot.funnel(data, year=YEAR)
    plain = ax.funnel_data
    from evalkit.measures.compare import funnel_limits_proportion

    own = funnel_limits_proportion(plain.target, plain.points["x"].to_numpy(), confidence=0.998)
    outside = ((plain.points["value"].to_numpy() > own["upper"].to_numpy())
               | (plain.points["value"].to_numpy() < own["lower"].to_numpy()))
    assert outside.any()
    assert (plain.points["significance"].isin(["high_99_8", "low_99_8"]).to_numpy() == outside).all()
    with pytest.raises(ValueError, match="satisfaction_index"):
        plot.funnel(data, "satisfaction_index")


def test_the_report_draws_the_same_figure_data_as_the_plots(data, monkeypatch):
    """The county report's funnel, ranked, trend and dimension figures receive exactly what evalkit.plot draws
    for the same indicator, year and units."""
    from evalkit import plot
    from evalkit.report import CountyReport, figures
    from evalkit.report.sections import HEADLINE

    seen: dict[str, tuple] = {}
    for name in ("funnel", "ranked_dots", "trend_panels", "interval_dots"):
        def spy(*args, _name=name, _draw=getattr(figures, name), **kwargs):
            seen[_name] = (args, kwargs)
            return _draw(*args, **kwargs)

        monkeypatch.setattr(figures, name, spy)
    report = CountyReport.load(SAMPLE, COUNTY, year=YEAR)
    report.among_counties(), report.trends(), report.satisfaction()
    assert set(seen) == {"funnel", "ranked_dots", "trend_panels", "interval_dots"}

    (points, limits), kw = seen["funnel"][0][:2], seen["funnel"][1]
    _, ax = plot.funnel(data, year=YEAR)
    mine = ax.funnel_data
    pd.testing.assert_frame_equal(points.reset_index(drop=True),
                                  mine.points[["code", "x", "value"]].reset_index(drop=True))
    pd.testing.assert_frame_equal(limits[["denominator", "confidence", "lower", "upper"]].reset_index(drop=True),
                                  mine.limits[["denominator", "confidence", "lower", "upper"]].reset_index(drop=True))
    assert kw["pooled"] == mine.target

    rows, kw = seen["ranked_dots"][0][0], seen["ranked_dots"][1]
    _, ax = plot.ranked(data, "coverage", year=YEAR)
    by_code = lambda f: f.assign(code=f["code"].astype(str)).sort_values("code").reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(by_code(rows[["code", "value", "lower", "upper"]]),
                                  by_code(ax.ranked_data[["code", "value", "lower", "upper"]]))

    panels, kw = seen["trend_panels"][0][0], seen["trend_panels"][1]
    years = list(kw["years"])
    shown = [pair for pair in HEADLINE if pair[0] in {registry_name(data, title) for title, _ in panels}]
    assert len(shown) == len(panels)
    for (indicator, item), (_, frame) in zip(shown, panels):
        _, ax = plot.trend(data, [COUNTY, PROVINCE], indicator, item=item, years=years)
        for who, code in (("county", COUNTY), ("province", PROVINCE)):
            want = frame[frame["who"] == who].sort_values("year")[["year", "value", "lower", "upper"]]
            got = ax.trend_data[code]
            np.testing.assert_array_equal(want["year"].to_numpy(int), got["year"].to_numpy(int))
            for c in ("value", "lower", "upper"):
                np.testing.assert_array_equal(want[c].to_numpy(float), got[c].to_numpy(float))

    dims = seen["interval_dots"][0][0]
    _, ax = plot.intervals(data, [COUNTY, PROVINCE], year=YEAR)
    for prefix, code in (("c_", COUNTY), ("p_", PROVINCE)):
        for c in ("value", "lower", "upper"):
            np.testing.assert_array_equal(dims[prefix + c].to_numpy(float),
                                          ax.interval_data[f"{code}_{c}"].to_numpy(float))


def registry_name(data, title: str) -> str:
    """The indicator whose English name is ``title`` (the trend panels are titled by name)."""
    from evalkit import registry

    return next(n for n in registry.names() if registry.get(n).en == title)
