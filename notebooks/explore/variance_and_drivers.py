# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Where county performance varies, and what goes with satisfaction
#
# Research notebook on the sample province (synthetic; point `data_dir` at real data to explore it).
#
# 1. **Composite scores and grades** of every county and wave under the default indicator framework
#    (`evalkit/framework.toml`; `docs/framework.md` explains scores, grades and intervals).
# 2. **Variance partition**: how much of the variation in county scores lies between prefectures, between
#    counties of a prefecture, and from year to year (linear mixed model, `statsmodels` MixedLM), and the
#    intra-class correlations.
# 3. **Drivers of satisfaction**: the overall satisfaction answer (1-5) of each respondent against the
#    respondent's group and the station that served the township (service level 1.0/2.0/3.0, staffing) in
#    an ordinal logit (`statsmodels` OrderedModel).
# 4. **Small-area estimates** of township satisfaction: empirical-Bayes shrinkage toward the prefecture,
#    *model-based*, next to the direct (design-based) rates.
#
# Logic that reports reuse lives in `evalkit` (`evalkit.framework`, `evalkit.measures.smallarea`); this
# notebook only fits exploratory models.

# %% tags=["parameters"]
data_dir: str = ""  # folder with regions, stations, services, survey; "" means the sample province
year: int = 2025  # the wave of the satisfaction model and the small-area estimates
draws: int = 1000  # Monte Carlo draws per year for the composite scores (4000 in reports)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.miscmodels.ordinal_model import OrderedModel

import evalkit
from evalkit.framework import load_framework, score_years
from evalkit.measures.smallarea import shrink_indicator
from evalkit.paths import SAMPLE
from evalkit.report import province_data

pd.set_option("display.precision", 3)
source = data_dir or SAMPLE
table = province_data(source).table
framework = load_framework()
scores = score_years(table, framework, draws=draws)

# %% [markdown]
# ## 1. Composite scores and grades by wave
# Each county's score (0-100) is the weighted sum of its indicator points; the grade follows the cut-offs
# of the framework. Counties without enough indicators (here: the county that missed a survey wave) are
# not graded.

# %%
pd.crosstab(scores["grade"].fillna("not graded"), scores["year"]).reindex(
    [g.id for g in framework.grades] + ["not graded"]).fillna(0).astype(int)

# %%
scores.groupby("year")[["score", "score_lower", "score_upper", "grade_probability"]].median()

# %% [markdown]
# ## 2. Variance in county performance: prefectures, counties, years
# Model: `score = year effect + prefecture effect + county effect + residual`, with random intercepts for
# prefectures and for counties within prefectures, fitted by REML on every graded county-wave. The residual
# is the year-to-year movement of a county around its own level (including the sampling noise of its
# indicators). The intra-class correlation of the prefecture is its share of the total variance.

# %%
graded = scores[scores["graded"]]
mixed = smf.mixedlm("score ~ C(year)", graded, groups="prefecture_code", re_formula="1",
                    vc_formula={"county": "0 + C(county_code)"}).fit(reml=True)
mixed.summary()

# %%
components = pd.Series({"prefecture": float(mixed.cov_re.iloc[0, 0]), "county within prefecture": float(mixed.vcomp[0]),
                        "year to year (residual)": float(mixed.scale)}, name="variance")
partition = components.to_frame().assign(share=components / components.sum())
partition

# %%
pd.Series({
    "ICC prefecture (two counties of one prefecture, any years)": partition.loc["prefecture", "share"],
    "ICC county (one county, two waves)": partition.loc[["prefecture", "county within prefecture"], "share"].sum(),
}, name="intra-class correlation")

# %% [markdown]
# Counties that lag cluster in the same prefectures (as the domain brief says of real provinces): most of
# the variance of county scores lies between prefectures, which is why reports compare each county with its
# prefecture as well as the province.

# %%
latest = graded[graded["year"] == graded["year"].max()]
order = latest.groupby("prefecture_code")["score"].median().sort_values().index
by_prefecture = latest.pivot(index="county_code", columns="prefecture_code", values="score")[order]
ax = by_prefecture.plot.box(figsize=(8, 4), rot=90)
ax.set_xlabel("prefecture (sorted by median county score)")
ax.set_ylabel(f"county composite score, {latest['year'].max()}")
plt.show()

# %% [markdown]
# ## 3. Drivers of overall satisfaction (ordinal logit)
# One row per respondent of the wave with a valid overall answer (1-5; don't know and refused left out),
# joined to the station of the respondent's township (service level, social workers) and to the township's
# urban/rural type. Proportional-odds logit; standard errors robust to clustering within villages (the
# survey's PSUs). The model is **unweighted** and describes associations among respondents, not causes:
# station level goes with county resources and professionalisation, which the model does not separate.

# %%
province = evalkit.load_province(source)
answers = province.survey[(province.survey["year"] == year) & province.survey["q_overall"].between(1, 5)]
respondents = (answers
               .merge(province.stations, on=["year", "county_code", "township_code"], how="left")
               .merge(province.regions[["year", "township_code", "urban_rural"]], on=["year", "township_code"],
                      how="left")
               .assign(satisfaction=lambda d: pd.Categorical(d["q_overall"], ordered=True)))
ordinal = OrderedModel.from_formula(
    "satisfaction ~ C(group, Treatment('general')) + C(service_level) + C(urban_rural) + social_workers",
    respondents, distr="logit",
).fit(method="lbfgs", disp=False, maxiter=500, cov_type="cluster",
      cov_kwds={"groups": pd.factorize(respondents["psu"])[0]})
ordinal.summary()

# %% [markdown]
# Odds ratios (above 1: higher satisfaction categories more likely) with 95% intervals; the thresholds of the
# latent scale are left out.

# %%
slopes = ordinal.params.index[: ordinal.model.exog.shape[1]]
odds = pd.DataFrame({"odds_ratio": np.exp(ordinal.params[slopes]),
                     "lower": np.exp(ordinal.conf_int().loc[slopes, 0]),
                     "upper": np.exp(ordinal.conf_int().loc[slopes, 1]),
                     "p_value": ordinal.pvalues[slopes]})
odds

# %% [markdown]
# ## 4. Township satisfaction: direct and model-based (empirical Bayes) estimates
# Townships have few respondents, so their direct rates are noisy. `shrink_indicator` pulls each township's
# rate toward its prefecture's, the more so the fewer its (effective) respondents: a **model-based** estimate
# (beta-binomial empirical Bayes; `method` says so on every row). Suppressed townships stay suppressed.

# %%
eb = shrink_indicator(table, level="township", toward="prefecture", year=year)
shown = eb[~eb["suppressed"]]
shown[["code", "name_en", "respondents", "direct", "direct_lower", "direct_upper", "value", "lower", "upper",
       "shrinkage", "method"]].head()

# %%
fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(shown["direct"] * 100, shown["value"] * 100, s=shown["respondents"], alpha=0.3)
ax.axline((90, 90), slope=1, color="grey", linewidth=1)
ax.set_xlabel("direct (design-based) satisfaction rate, %")
ax.set_ylabel("model-based (empirical Bayes) satisfaction rate, %")
ax.set_title("Townships; marker area: respondents")
plt.show()

# %%
pd.Series({
    "townships shown": len(shown),
    "suppressed (no estimate)": int(eb["suppressed"].sum()),
    "median shrinkage weight": shown["shrinkage"].median(),
    "median interval width, direct": (shown["direct_upper"] - shown["direct_lower"]).median(),
    "median interval width, model-based": (shown["upper"] - shown["lower"]).median(),
})
