"""Write the test input folders under tests/data/ (run: python tests/data/make_inputs.py).

``base/`` is a tiny valid province cut from the synthetic small province: two
counties in two prefectures, three townships each, three waves.  Each folder
under ``broken/`` holds only the file(s) that differ from ``base/``, each made by
one documented mutation of the kind evaluators really send (see CASES).  The
tests overlay a broken folder on a copy of base and assert the exact message.
Outputs are committed; re-running this script reproduces them byte for byte.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from evalkit.synth import generate  # noqa: E402

BASE = HERE / "base"
BROKEN = HERE / "broken"


def make_base() -> dict[str, pd.DataFrame]:
    p = generate(seed=7, size="small")
    reg = p["regions"]
    counties = [reg["county_code"].unique()[0], reg.loc[reg["prefecture_code"] != reg["prefecture_code"].iloc[0],
                                                        "county_code"].unique()[0]]
    towns = (reg[reg["county_code"].isin(counties)].groupby("county_code")["township_code"].unique()
             .map(lambda t: list(t[:3])).sum())
    out = {}
    for name, d in p.items():
        d = d[d["township_code"].isin(towns)]
        if name == "services":
            d = d.groupby(["township_code", d["date"].dt.year]).head(12)
        out[name] = d.reset_index(drop=True)
    return out


def lines(table: str) -> list[str]:
    return (BASE / f"{table}.csv").read_text(encoding="utf-8").splitlines()


def cell_edit(table: str, row: int, column: str, value: str) -> str:
    """Base CSV with one cell replaced; row is the spreadsheet row (header = 1)."""
    d = pd.read_csv(BASE / f"{table}.csv", dtype=str, keep_default_na=False)
    d.loc[row - 2, column] = value
    buf = io.StringIO()
    d.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def text(ls: list[str]) -> str:
    return "\n".join(ls) + "\n"


def _survey_one_psu() -> str:
    d = pd.read_csv(BASE / "survey.csv", dtype=str, keep_default_na=False)
    first = d.loc[0, ["year", "township_code"]]
    same = (d["year"] == first["year"]) & (d["township_code"] == first["township_code"])
    d.loc[same, "psu"] = d.loc[0, "psu"]
    buf = io.StringIO()
    d.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def _drop_column(table: str, column: str) -> str:
    d = pd.read_csv(BASE / f"{table}.csv", dtype=str, keep_default_na=False).drop(columns=[column])
    return d.to_csv(index=False, lineterminator="\n")


def _xlsx_with_title() -> bytes:
    d = pd.read_csv(BASE / "regions.csv", dtype=str, keep_default_na=False)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        pd.DataFrame([["2025年乡镇基本情况表"]]).to_excel(xl, sheet_name="regions", header=False, index=False)
        d.to_excel(xl, sheet_name="regions", startrow=1, index=False)
    return buf.getvalue()


def _latin1_survey() -> bytes:
    # a survey exported by a European spreadsheet in Latin-1: 'café' in a comment
    d = pd.read_csv(BASE / "survey.csv", dtype=str, keep_default_na=False)
    d["comment"] = ""
    d.loc[3, "comment"] = "service café, très bien"
    return d.to_csv(index=False, lineterminator="\n").encode("latin-1")


# case -> {file name: content (str = UTF-8 text, bytes = exact bytes, None = delete the base file)}
CASES = {
    "wrong_encoding": lambda: {"survey.csv": _latin1_survey()},
    "utf16_bom": lambda: {"regions.csv": (BASE / "regions.csv").read_text(encoding="utf-8").encode("utf-16")},
    "stray_bom": lambda: {"services.csv": text(lines("services")[:6]) + "\ufeff" + text(lines("services")[6:])},
    "title_row": lambda: {"stations.csv": text(["2025年社工站基本情况台账,,,,,,,,,"] + lines("stations"))},
    "excel_title_row": lambda: {"regions.csv": None, "regions.xlsx": _xlsx_with_title()},
    "missing_column": lambda: {"survey.csv": _drop_column("survey", "q_effect")},
    "unexpected_column": lambda: {"stations.csv": text([lines("stations")[0] + ",remarks"] +
                                                       [ln + "," for ln in lines("stations")[1:]])},
    "misspelt_column": lambda: {"stations.csv": text([lines("stations")[0].replace("volunteers", "volunteer")] +
                                                     lines("stations")[1:])},
    "duplicate_column": lambda: {"stations.csv": text([lines("stations")[0] + ",year"] +
                                                      [ln + ",2025" for ln in lines("stations")[1:]])},
    "leading_zero_lost": lambda: {"regions.csv": cell_edit("regions", 5, "county_code", "90101")},
    "code_as_decimal": lambda: {"stations.csv": cell_edit("stations", 3, "township_code", "90101001.0")},
    "duplicate_respondent": lambda: {"survey.csv": cell_edit("survey", 9, "respondent_id",
                                                             lines("survey")[1].split(",")[0])},
    "duplicate_station_year": lambda: {"stations.csv": text(lines("stations") + [lines("stations")[2]])},
    "likert_7": lambda: {"survey.csv": cell_edit("survey", 12, "q_overall", "7")},
    "negative_count": lambda: {"stations.csv": cell_edit("stations", 4, "volunteers", "-3")},
    "weight_zero": lambda: {"survey.csv": cell_edit("survey", 6, "weight", "0")},
    "township_not_in_regions": lambda: {"services.csv": cell_edit("services", 8, "township_code",
                                                                  lines("services")[7].split(",")[2] + "999")},
    "township_wrong_county": lambda: {"survey.csv": cell_edit("survey", 5, "county_code",
                                                              lines("regions")[-1].split(",")[7])},
    "date_in_future": lambda: {"services.csv": cell_edit("services", 10, "date", "2031-06-01")},
    "date_outside_period": lambda: {"services.csv": cell_edit("services", 11, "date", "2019-03-02")},
    "interview_not_in_wave": lambda: {"survey.csv": cell_edit("survey", 2, "interview_date", "2025-10-10")},
    "bad_date": lambda: {"services.csv": cell_edit("services", 4, "date", "2024-13-40")},
    "empty_file": lambda: {"stations.csv": b""},
    "headers_only": lambda: {"survey.csv": text(lines("survey")[:1])},
    "mixed_types": lambda: {"services.csv": cell_edit("services", 6, "minutes", "half an hour")},
    "not_whole_number": lambda: {"services.csv": cell_edit("services", 7, "minutes", "12.5")},
    "thousands_separator": lambda: {"regions.csv": cell_edit("regions", 3, "population", "31,028")},
    "missing_value": lambda: {"regions.csv": cell_edit("regions", 4, "population", "")},
    "single_psu_stratum": lambda: {"survey.csv": _survey_one_psu()},
    "certified_exceeds_workers": lambda: {"stations.csv": cell_edit("stations", 2, "certified_social_workers", "99")},
    "identity_number_as_person_id": lambda: {"services.csv": cell_edit("services", 5, "person_id",
                                                                       "430102198001011233")},
    "unknown_mode": lambda: {"services.csv": cell_edit("services", 9, "mode", "phone_call")},
    "service_level_4": lambda: {"stations.csv": cell_edit("stations", 5, "service_level", "4.0")},
    "psu_outside_township": lambda: {"survey.csv": cell_edit("survey", 7, "psu", "090999999001")},
    "ragged_row": lambda: {"stations.csv": text(lines("stations")[:3] + [lines("stations")[3] + ",extra"] +
                                                lines("stations")[4:])},
    "xlsx_named_csv": lambda: {"regions.csv": _xlsx_with_title()},
    "opened_after_year": lambda: {"stations.csv": cell_edit("stations", 2, "opened", "2026-02-01")},
    "inconsistent_township_name": lambda: {"regions.csv": cell_edit("regions", 8, "township_name_zh", "改名镇")},
    "missing_table": lambda: {"services.csv": None},
    "two_files_one_table": lambda: {"stations.parquet": (BASE / "stations.csv").read_bytes()},
    "population_below_register": lambda: {"regions.csv": cell_edit("regions", 2, "reg_disabled", "99999999")},
    "phone_as_respondent_id": lambda: {"survey.csv": cell_edit("survey", 3, "respondent_id", "138-0013-8000")},
    "station_year_outside_regions": lambda: {"stations.csv": cell_edit("stations", 3, "year", "2030")},
    "service_before_station_opened": lambda: {"stations.csv": cell_edit("stations", 2, "opened", "2023-12-30")},
    "weight_above_population": lambda: {"survey.csv": cell_edit("survey", 4, "weight", "900000")},
    "station_opened_1900": lambda: {"stations.csv": cell_edit("stations", 2, "opened", "1900-01-01")},
    "more_psus_than_villages": lambda: {"regions.csv": cell_edit("regions", 2, "villages", "1")},
    # issue 16: bad cells that a legitimate-looking file carries
    "weight_1e308": lambda: {"survey.csv": cell_edit("survey", 4, "weight", "1e308")},
    "population_typed_in_wrong_unit": lambda: {"regions.csv": cell_edit("regions", 3, "population", "31498000000")},
    "count_beyond_int64": lambda: {"regions.csv": cell_edit("regions", 4, "reg_dibao", "99999999999999999999")},
    "budget_infinite": lambda: {"stations.csv": cell_edit("stations", 3, "budget_yuan", "1e309")},
    "date_range_in_cell": lambda: {"services.csv": cell_edit("services", 5, "date", "2025-01-01 ~ 2025-03-01")},
    "date_range_chinese": lambda: {"survey.csv": cell_edit("survey", 6, "interview_date", "2025-01-01至2025-06-30")},
    "excel_error_in_name": lambda: {"regions.csv": cell_edit("regions", 5, "township_name_zh", "#N/A")},
    "excel_error_in_count": lambda: {"stations.csv": cell_edit("stations", 4, "volunteers", "#DIV/0!")},
    "zero_width_space_in_code": lambda: {"services.csv": cell_edit("services", 6, "township_code", "0901020\u200b01")},
    "full_width_letter_in_code": lambda: {"survey.csv": cell_edit("survey", 7, "psu", "０９０１０２００１００Ａ")},
}


def main() -> None:
    shutil.rmtree(BASE, ignore_errors=True)
    BASE.mkdir(parents=True)
    for name, d in make_base().items():
        d.to_csv(BASE / f"{name}.csv", index=False, lineterminator="\n", date_format="%Y-%m-%d")
    (BASE / "dataset.json").write_text('{"name": "tests/data/base: a cut of the synthetic small province", '
                                       '"synthetic": true, "lonely_psu": "fail"}\n', encoding="utf-8")
    shutil.rmtree(BROKEN, ignore_errors=True)
    for case, make in CASES.items():
        folder = BROKEN / case
        folder.mkdir(parents=True)
        for fname, content in make().items():
            target = folder / fname
            if content is None:
                (folder / f"{fname}.delete").write_text("this file is removed from base for this case\n")
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
    print(f"wrote {BASE} and {len(CASES)} broken cases under {BROKEN}")


if __name__ == "__main__":
    main()
