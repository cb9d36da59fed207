"""Write ``province_extract.csv``: a small extract of the sample province's survey for R references.

Three counties of prefecture 0901 over the three waves of ``evalkit.synth.generate()`` (the seeded
sample province that ``make sample`` writes), with the design columns of the data model (each
township is a stratum in each wave and each village a PSU in each wave: ``wave_stratum`` and
``wave_psu``), the township's urban/rural class joined from ``regions``, and the answers as coded
(8 = don't know and 9 = refused kept, so that R and Python can each treat them as missing).

    .venv/bin/python tests/reference/survey/make_province_extract.py

The models' R script (``models.R``) reads the file; ``tests/test_models.py`` reads it too.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.synth import generate

COUNTIES = ["090102", "090122", "090123"]
COLUMNS = ["year", "county_code", "township_code", "psu", "wave_stratum", "wave_psu", "weight",
           "group", "urban_rural", "q_overall", "q_access", "q_effect"]


def main() -> None:
    tables = generate()
    survey = tables["survey"]
    survey = survey[survey["county_code"].isin(COUNTIES)].copy()
    regions = tables["regions"][["year", "township_code", "urban_rural"]]
    survey = survey.merge(regions, on=["year", "township_code"], how="left", validate="many_to_one")
    year = survey["year"].astype(str)
    survey["wave_stratum"] = year + "-" + survey["township_code"]
    survey["wave_psu"] = year + "-" + survey["psu"]
    out = survey[COLUMNS].sort_values(["year", "township_code", "psu"], kind="stable")
    out.to_csv(Path(__file__).with_name("province_extract.csv"), index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
