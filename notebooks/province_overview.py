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

# %% [markdown] tags=["remove-cell"]
# # Province overview
#
# All counties side by side, prefectures compared, and how county figures spread. `evalkit batch`
# renders it beside the county reports; the parameters cell below is what it replaces.

# %% tags=["parameters"]
year: int = 2025  # evaluation wave
data_dir: str = "data/sample"  # folder of the province's input tables; relative paths start at the project root
lang: str = "en"  # report language: "en" (English) or "zh" (Simplified Chinese)
confidence: float = 0.95  # confidence level of intervals and comparisons: 0.95 or 0.998

# %%
from evalkit.report import ProvinceOverview

overview = ProvinceOverview.load(data_dir, year=year, lang=lang, confidence=confidence)
overview.cover()

# %%
overview.counties()

# %%
overview.prefectures()

# %%
overview.distributions()

# %%
overview.provenance()
