"""Write ``design_sample.csv``: an extract of the sample province's survey for ``design.R``.

The rows of the waves 2024 and 2025 in the townships of prefecture 0901 (whole strata, so the extract
is a stratified cluster sample in itself), with the design's columns as the survey holds them (items
with their raw codes 8 and 9) and the township's ``urban_rural`` and ``population`` from the regions
table.  Run from the repository root after ``make sample``:

    .venv/bin/python tests/reference/survey/design_extract.py
"""

from pathlib import Path

import evalkit

HERE = Path(__file__).resolve().parent
COLUMNS = ["year", "prefecture_code", "county_code", "township_code", "psu", "weight", "group",
           "q_overall", "q_access", "q_effect", "urban_rural", "population"]


def main() -> None:
    province = evalkit.load_province(HERE.parents[2] / "data" / "sample")
    survey = province.survey
    regions = province.regions[["year", "township_code", "prefecture_code", "urban_rural", "population"]]
    rows = survey[survey["year"].isin([2024, 2025]) & survey["county_code"].str.startswith("0901")]
    rows = rows.merge(regions, on=["year", "township_code"], how="left", validate="many_to_one")
    rows = rows.sort_values(["year", "township_code", "psu", "respondent_id"])[COLUMNS]
    rows.to_csv(HERE / "design_sample.csv", index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
