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

# %% [markdown] tags=["remove-cell"]
# # County evaluation report
#
# One county's third-party evaluation report. Run it in JupyterLab as it is, or render every
# county with `evalkit batch` (see the README). The sections and all their text come from
# `evalkit.report` in the language chosen below; this notebook only says which sections, in
# which order. The cell below is the parameters cell: `evalkit batch` replaces its values.

# %% tags=["parameters"]
county_code: str = "090102"  # (required) 6-digit county code, always a string: leading zeros matter
year: int = 2025  # evaluation wave (year of the survey and service records)
data_dir: str = "data/sample"  # folder of the province's input tables; relative paths start at the project root
lang: str = "en"  # report language: "en" (English) or "zh" (Simplified Chinese)
confidence: float = 0.95  # confidence level of intervals and comparisons: 0.95 or 0.998
benchmarks: list = ["prefecture", "province"]  # levels the county is compared with

# %%
from evalkit.report import CountyReport

report = CountyReport.load(data_dir, county_code, year=year, lang=lang, confidence=confidence,
                           benchmarks=benchmarks)
report.cover()

# %%
report.summary()

# %%
report.grade()

# %%
report.indicator_table()

# %%
report.satisfaction()

# %%
report.comments()

# %%
report.reach()

# %%
report.staffing()

# %%
report.inspections()

# %%
report.trends()

# %%
report.among_counties()

# %%
report.recommendations()

# %%
report.methods()

# %%
report.data_quality()

# %%
report.provenance()
