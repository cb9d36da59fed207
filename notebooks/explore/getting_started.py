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
# # Getting started with evalkit
#
# Load a province's validated input tables in one call and look around. The default is the
# synthetic sample province (`make sample` writes it to `data/sample`); point `data_dir` at
# your own folder to explore real data. Nothing here is personal data: the sample is synthetic.

# %% tags=["parameters"]
data_dir: str = ""  # folder with regions, stations, services, survey; "" means the sample province

# %%
import matplotlib.pyplot as plt

import evalkit
from evalkit.paths import SAMPLE

province = evalkit.load_province(data_dir or SAMPLE)
print(province.meta.get("name", data_dir), "| synthetic:", province.synthetic, "| years:", province.years)

# %% [markdown]
# ## The four tables
# Validation has already run: `load_province` refuses a folder with any error, so these frames
# are typed and complete. `data/README.md` documents every column.

# %%
{name: len(getattr(province, name)) for name in ("regions", "stations", "services", "survey")}

# %%
province.regions.head()

# %% [markdown]
# ## Service contacts by mode and year

# %%
province.services.groupby([province.services["date"].dt.year, "mode"], observed=True).size().unstack()

# %% [markdown]
# ## Overall satisfaction answers by wave (unweighted counts; 8 = don't know, 9 = refused)

# %%
answers = province.survey.groupby(["year", "q_overall"]).size().unstack(fill_value=0)
answers

# %%
ax = answers.drop(columns=[c for c in (8, 9) if c in answers]).T.plot.bar(figsize=(7, 3))
ax.set_xlabel("answer (1 = very dissatisfied, 5 = very satisfied)")
ax.set_ylabel("respondents")
plt.show()

# %% [markdown]
# ## The indicator table
# Every indicator for every township, county, prefecture and the province, every wave, with
# intervals, suppression and comparisons (layout: `evalkit/indicators.py`). `province_data` builds
# it once from the validated inputs and caches it by their SHA-256, so this is quick after the first
# time. The county reports read nothing else.

# %%
from evalkit.report import province_data
from evalkit.report.fonts import use_in_matplotlib

table = province_data(data_dir or SAMPLE).table
counties = table.query("level == 'county' and indicator == 'satisfaction_rate' and item == 'q_overall' "
                       "and group == 'all' and confidence == 0.95 and year == 2025")
counties[["code", "name_en", "name_zh", "n", "value", "lower", "upper", "vs_province"]].head()

# %% [markdown]
# ## Satisfaction by prefecture, with 95% intervals (Chinese names drawn with the bundled font)

# %%
use_in_matplotlib()
prefectures = table.query("level == 'prefecture' and indicator == 'satisfaction_rate' and item == 'q_overall' "
                          "and group == 'all' and confidence == 0.95 and year == 2025").sort_values("value")
fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(prefectures["value"] * 100, prefectures["name_zh"].astype(str),
            xerr=[(prefectures["value"] - prefectures["lower"]) * 100, (prefectures["upper"] - prefectures["value"]) * 100],
            fmt="o", capsize=2)
ax.set_xlabel("满意率 satisfaction rate (%)")
plt.show()
