# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Survey analysis: design-based estimates, models and plots
#
# The satisfaction survey is a stratified two-stage sample: townships are strata, villages and
# communities are the primary sampling units (PSUs), and every respondent carries a weight. A mean or
# a regression that ignores this gives standard errors that are too small. `province.survey_design()`
# states the design once, and every method below uses it, with the numbers R's `survey` package gives
# (evalkit's tests check them against R).
#
# **When to use which**
#
# | question | call | R equivalent |
# |---|---|---|
# | average answer, by group | `design.mean("q_overall", by=...)` | `svyby(~q_overall, ~g, design, svymean)` |
# | share satisfied, with a good interval for shares near 0 or 1 | `design.prop("q_overall >= 4", method=...)` | `svyciprop` |
# | median or other quantiles | `design.quantile(...)` | `svyquantile` |
# | is A different from B? | `design.contrast(...)` | `svyby(..., covmat=TRUE)` + `svycontrast` |
# | what goes with satisfaction, other things equal | `design.glm(formula)` | `svyglm` |
# | the five-point answer as ordered | `design.olr(formula)` | `svyolr` |
# | are two categorical variables related? | `design.chisq(row, col)` | `svychisq` (Rao-Scott) |
#
# Don't know (8) and refused (9) are missing in the design: they are not answers on the scale.
# Waves are separate surveys: a design with several waves refuses to pool them unless you ask
# `by="year"`. The default data are the synthetic sample province (`make sample`).

# %% tags=["parameters"]
data_dir: str = ""  # a validated data folder; "" means the sample province
year: int = 2025    # the survey wave analysed

# %%
import evalkit
from evalkit import plot
from evalkit.paths import SAMPLE

province = evalkit.load_province(data_dir or SAMPLE)
design = province.survey_design(year)
design

# %% [markdown]
# ## Means and proportions
# Each method returns a tidy frame: `value`, `se`, `lower`, `upper`, `df`, `deff` (design effect:
# how much the clustering inflates the variance over a simple random sample) and `n`.

# %%
design.mean("q_overall", by="urban_rural")[["urban_rural", "value", "se", "lower", "upper", "deff", "n"]]

# %% [markdown]
# The share satisfied (4 or 5) by respondent group. The `beta` (Korn-Graubard) interval stays inside
# 0-1 and is conservative for small domains; `logit` is R's default, `wilson` and `likelihood` are
# the other usual choices.

# %%
design.prop("q_overall >= 4", by="group", method="beta")[["group", "value", "lower", "upper", "n"]]

# %%
design.quantile("q_overall", [0.25, 0.5, 0.75])

# %% [markdown]
# ## Comparing domains
# A contrast uses the covariance between the domains' estimates (they share strata), so the
# difference's standard error is right even though urban and rural respondents live in the same
# counties.

# %%
design.contrast("q_overall", by="urban_rural", weights={"urban": 1, "rural": -1})

# %% [markdown]
# ## Models
# Formulas use statsmodels' syntax. Standard errors are Taylor-linearised with strata and PSUs, and
# tests use the design's degrees of freedom, as R's `svyglm` does.

# %%
design.glm("q_overall ~ C(urban_rural) + C(group)")[["term", "value", "se", "p"]]

# %% [markdown]
# The share satisfied as a quasi-binomial model (coefficients are log odds ratios):

# %%
design.glm("I(q_overall >= 4) ~ C(urban_rural) + C(group)", family="quasibinomial")[["term", "value", "se", "p"]]

# %% [markdown]
# The answer as an ordered outcome (proportional odds): one coefficient per term and the cut-points
# between adjacent answers.

# %%
design.olr("q_overall ~ C(urban_rural)")[["term", "value", "se"]]

# %% [markdown]
# Is the respondent group related to living in a town or a street? The Rao-Scott F test corrects
# Pearson's chi-squared for the design.

# %%
design.chisq("urban_rural", "group")

# %% [markdown]
# ## The indicator table and publication plots
# `province.indicators()` is the table the reports are made from; `.get()` picks rows with
# sensible defaults (county level, latest year, all groups, the overall question). The plots return
# matplotlib `(fig, ax)` to restyle; Chinese labels use the report's font (`lang="zh"`).

# %%
indicators = province.indicators()
indicators.get("satisfaction_rate").head()

# %%
fig, ax = plot.funnel(indicators, "satisfaction_rate", overdispersion="multiplicative")
ax.funnel_data.phi, ax.funnel_data.tau2

# %%
fig, ax = plot.ranked(indicators, "coverage", lang="zh")

# %%
fig, ax = plot.trend(indicators, ["090102", "090122"], "satisfaction_rate")
