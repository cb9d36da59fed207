"""Every broken input under tests/data/broken gives its own precise message.

Each case is one mutation of tests/data/base (see tests/data/make_inputs.py).
The expected problem names the file, the spreadsheet row, the column, the value
and the rule, and the message says what to do; the CLI prints it without a
traceback and exits 1; and no typed province is ever handed out.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from evalkit import cli
from evalkit.errors import DataValidationError
from evalkit.schema import load_province, validate_province

from conftest import BASE, BROKEN, TODAY, overlay

# case: (file, row, column, value, rule, words the message must contain)
EXPECTED = {
    "wrong_encoding": ("survey.csv", 5, None, None, "encoding", "neither UTF-8 nor GB18030"),
    "utf16_bom": ("regions.csv", None, None, None, "encoding", "UTF-16"),
    "stray_bom": ("services.csv", 7, None, None, "stray_bom", "byte-order mark inside the text on line 7"),
    "title_row": ("stations.csv", 1, None, "2025年社工站基本情况台账", "title_row", "the header is on row 2"),
    "excel_title_row": ("regions.xlsx (sheet 'regions')", 1, None, "2025年乡镇基本情况表", "title_row",
                        "Delete the rows above the header"),
    "missing_column": ("survey.csv", 1, "q_effect", None, "missing_column", "required column 'q_effect' is missing"),
    "unexpected_column": ("stations.csv", 1, "remarks", "remarks", "unexpected_column",
                          "'remarks' is not part of the stations table"),
    "misspelt_column": ("stations.csv", 1, "volunteer", "volunteer", "unexpected_column",
                        "did you mean 'volunteers'?"),
    "duplicate_column": ("stations.csv", 1, "year", "year", "duplicate_column", "'year' twice"),
    "leading_zero_lost": ("regions.csv", 5, "county_code", "90101", "code_leading_zero",
                          "a leading zero was probably dropped"),
    "code_as_decimal": ("stations.csv", 3, "township_code", "90101001.0", "code_format", "decimal number"),
    "duplicate_respondent": ("survey.csv", 9, "respondent_id", "S2023-090102001-001", "unique",
                             "appears more than once"),
    "duplicate_station_year": ("stations.csv", 19, "township_code", "090102002", "unique_key",
                               "township_code and year appears more than once"),
    "likert_7": ("survey.csv", 12, "q_overall", "7", "allowed_codes", "allowed: 1-5, 8 (don't know) or 9 (refused)"),
    "negative_count": ("stations.csv", 4, "volunteers", "-3", "range", "must be at least 0"),
    "weight_zero": ("survey.csv", 6, "weight", "0", "range", "must be greater than 0"),
    "township_not_in_regions": ("services.csv", 8, "township_code", "090202999", "unknown_township",
                                "is not in the regions table"),
    "township_wrong_county": ("survey.csv", 5, "township_code", "090102001", "starts_with",
                              "does not begin with this row's county_code 090202"),
    "date_in_future": ("services.csv", 10, "date", "2031-06-01", "future_date", "in the future"),
    "date_outside_period": ("services.csv", 11, "date", "2019-03-02", "outside_period",
                            "outside the period the regions table covers (2023-01-01 to 2025-12-31)"),
    "interview_not_in_wave": ("survey.csv", 2, "interview_date", "2025-10-10", "date_not_in_wave",
                              "not in the survey wave's year"),
    "bad_date": ("services.csv", 4, "date", "2024-13-40", "date_format", "YYYY-MM-DD"),
    "empty_file": ("stations.csv", None, None, None, "empty_file", "is empty"),
    "headers_only": ("survey.csv", 1, None, None, "no_rows", "a header but no data rows"),
    "mixed_types": ("services.csv", 6, "minutes", "half an hour", "not_a_number", "is not a whole number"),
    "not_whole_number": ("services.csv", 7, "minutes", "12.5", "not_whole", "is not a whole number"),
    "thousands_separator": ("regions.csv", 3, "population", "31,028", "number_format", "thousands separator"),
    "missing_value": ("regions.csv", 4, "population", None, "missing_value", "a value is required"),
    "single_psu_stratum": ("survey.csv", 2, "psu", "090102001001", "single_psu",
                           "has only one primary sampling unit"),
    "certified_exceeds_workers": ("stations.csv", 2, "certified_social_workers", "99", "at_most",
                                  "larger than social_workers"),
    "identity_number_as_person_id": ("services.csv", 5, "person_id", None, "personal_data",
                                     "looks like a resident identity number"),
    "unknown_mode": ("services.csv", 9, "mode", "phone_call", "allowed_codes", "allowed: drop_in, home_visit"),
    "service_level_4": ("stations.csv", 5, "service_level", "4.0", "allowed_codes", "allowed: 1.0, 2.0, 3.0"),
    "psu_outside_township": ("survey.csv", 7, "psu", "090999999001", "starts_with",
                             "does not begin with this row's township_code"),
    "ragged_row": ("stations.csv", 4, None, None, "ragged_row", "11 fields but the header has 10"),
    "xlsx_named_csv": ("regions.csv", None, None, None, "format", "Excel workbook (.xlsx) with a .csv name"),
    "opened_after_year": ("stations.csv", 2, "opened", "2026-02-01", "opened_after_year", "after the year"),
    "inconsistent_township_name": ("regions.csv", 8, "township_name_zh", "改名镇", "inconsistent_region",
                                   "more than one township_name_zh: '改名镇' here"),
    "missing_table": ("services.csv", None, None, None, "missing_table", "expected services.csv, services.xlsx"),
    "two_files_one_table": ("stations", None, None, None, "ambiguous", "more than one file"),
    "population_below_register": ("regions.csv", 2, "reg_disabled", "99999999", "at_most", "larger than population"),
    "phone_as_respondent_id": ("survey.csv", 3, "respondent_id", None, "personal_data", "looks like a phone number"),
    "station_year_outside_regions": ("stations.csv", 3, "year", "2030", "year_outside_regions",
                                     "not covered by the regions table (2023-2025)"),
    "service_before_station_opened": ("services.csv", 50, "date", "2023-08-09", "before_opening",
                                      "before the station opened (2023-12-30)"),
    "weight_above_population": ("survey.csv", 4, "weight", "900000", "weight_above_population",
                                "represents more people than live in the township"),
    "station_opened_1900": ("stations.csv", 2, "opened", "1900-01-01", "implausible_date", "before 2000"),
    "more_psus_than_villages": ("survey.csv", 2, "psu", "2", "more_psus_than_villages",
                                "but the regions table says it has 1"),
    # issue 16: bad cells in a legitimate-looking file
    "weight_1e308": ("survey.csv", 4, "weight", "1e308", "range", "must be greater than 0 and at most 3000000"),
    "population_typed_in_wrong_unit": ("regions.csv", 3, "population", "31498000000", "range",
                                       "must be at least 1 and at most 3000000"),
    "count_beyond_int64": ("regions.csv", 4, "reg_dibao", "99999999999999999999", "integer_overflow",
                           "beyond the largest whole number evalkit can hold"),
    "budget_infinite": ("stations.csv", 3, "budget_yuan", "1e309", "not_a_number", "is not a finite number"),
    "date_range_in_cell": ("services.csv", 5, "date", "2025-01-01 ~ 2025-03-01", "date_range",
                           "is a range of dates in one cell; 'date' takes one date"),
    "date_range_chinese": ("survey.csv", 6, "interview_date", "2025-01-01至2025-06-30", "date_range",
                           "is a range of dates in one cell"),
    "excel_error_in_name": ("regions.csv", 5, "township_name_zh", "#N/A", "excel_error",
                            "holds the Excel error value #N/A: a formula failed"),
    "excel_error_in_count": ("stations.csv", 4, "volunteers", "#DIV/0!", "excel_error",
                             "holds the Excel error value #DIV/0!"),
    "zero_width_space_in_code": ("services.csv", 6, "township_code", "0901020\\u200b01", "code_character",
                                 "contains the character U+200B ZERO WIDTH SPACE; codes are 9 ASCII digits"),
    "full_width_letter_in_code": ("survey.csv", 7, "psu", "０９０１０２００１００Ａ", "code_character",
                                  "contains the character U+FF21 FULLWIDTH LATIN CAPITAL LETTER A"),
}


def test_every_broken_folder_has_an_expectation():
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED)
    assert len(folders) >= 25


def test_base_is_valid():
    typed, problems, meta, _ = validate_province(BASE, today=TODAY)
    assert [p for p in problems if p.severity == "error"] == []
    assert meta["synthetic"] is True


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_input_message(case, tmp_path):
    file, row, column, value, rule, words = EXPECTED[case]
    folder = overlay(case, tmp_path)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    errors = [p for p in problems if p.severity == "error"]
    matching = [p for p in errors if p.rule == rule]
    assert matching, f"no '{rule}' problem; got {[str(p) for p in problems]}"
    p = matching[0]
    assert (p.file, p.row, p.column, p.value) == (file, row, column, value)
    assert words in p.message
    # a broken folder never becomes a Province
    with pytest.raises(DataValidationError) as info:
        load_province(folder, today=TODAY)
    assert any(q.rule == rule for q in info.value.problems)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_cli_reports_without_traceback(case, tmp_path, capsys):
    folder = overlay(case, tmp_path)
    status = cli.main(["validate", str(folder)])
    out = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in out.out + out.err
    file, row, column, *_ = EXPECTED[case]
    printed = f"{file}, row {row}" if row is not None else file
    assert printed in out.out
    assert "FAILED" in out.out


def test_typed_frames_keep_codes_as_text():
    p = load_province(BASE, today=TODAY)
    assert p.regions["county_code"].str.fullmatch(r"\d{6}").all()
    assert p.regions["county_code"].str.startswith("0").all()
    assert p.stations["opened"].dtype == "datetime64[ns]"
    assert p.survey["q_overall"].dtype == "int64"
    assert isinstance(p.services["mode"].dtype, pd.CategoricalDtype)
    assert p.synthetic
    assert p.years == [2023, 2024, 2025]


def test_lonely_psu_rule_in_dataset_json_makes_it_a_warning(tmp_path):
    folder = overlay("single_psu_stratum", tmp_path)
    (folder / "dataset.json").write_text('{"lonely_psu": "adjust"}', encoding="utf-8")
    p = load_province(folder, today=TODAY)
    lonely = [w for w in p.warnings if w.rule == "single_psu"]
    assert lonely and 'lonely_psu = "adjust"' in lonely[0].message


def test_unknown_lonely_psu_rule_is_refused(tmp_path):
    folder = overlay("single_psu_stratum", tmp_path)
    (folder / "dataset.json").write_text('{"lonely_psu": "ignore"}', encoding="utf-8")
    _, problems, _, _ = validate_province(folder, today=TODAY)
    assert problems[0].rule == "lonely_psu" and "must be one of fail, adjust" in problems[0].message


def test_many_bad_rows_are_counted_not_all_listed(tmp_path):
    folder = overlay("mixed_types", tmp_path)
    d = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    d["minutes"] = "n/a"
    d.to_csv(folder / "services.csv", index=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    bad = [p for p in problems if p.rule == "not_a_number"]
    assert len(bad) == 51
    assert bad[-1].row is None and f"{len(d) - 50} more row(s)" in bad[-1].message


def test_future_rule_uses_today(tmp_path):
    folder = overlay("date_in_future", tmp_path)
    _, problems, _, _ = validate_province(folder, today=dt.date(2032, 1, 1))
    assert not any(p.rule == "future_date" for p in problems)
    assert any(p.rule == "outside_period" for p in problems)


# --------------------------------------------------------------------------- issue 16: codes, bounds, dates


def test_full_width_digits_in_codes_are_read_as_ascii_with_a_warning(tmp_path):
    folder = tmp_path / "d"
    import shutil

    shutil.copytree(BASE, folder)
    d = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    full = str.maketrans("0123456789", "０１２３４５６７８９")
    d.loc[3:6, "county_code"] = d.loc[3:6, "county_code"].str.translate(full)
    d.loc[7, "township_code"] = d.loc[7, "township_code"].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    d.to_csv(folder / "services.csv", index=False)
    typed, problems, _, _ = validate_province(folder, today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == []
    pd.testing.assert_frame_equal(typed["services"], load_province(BASE, today=TODAY).services)
    warned = [p for p in problems if p.rule == "code_unicode_digits"]
    assert [(p.file, p.row, p.column, p.severity) for p in warned][0] == ("services.csv", 5, "county_code", "warning")
    assert [p.column for p in warned] == ["county_code", "township_code"]
    assert "4 code(s) are written with full-width or other non-ASCII digits (the first, '０９０２０２' on this row)" in warned[0].message


def test_every_count_population_and_money_column_has_a_documented_upper_bound():
    from evalkit.paths import ROOT
    from evalkit.schema import TABLES, table_spec

    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for table in TABLES:
        for col in table_spec(table)["columns"]:
            if col["kind"] in ("int", "float"):
                assert "max" in col, f"{table}.{col['name']} has no upper bound"
                row = next(line for line in readme.splitlines() if line.startswith(f"| `{col['name']}` |"))
                assert f"at most {col['max']}" in row


@pytest.mark.parametrize("value", ["1600-01-01", "3000-01-01", "0001-01-01"])
def test_a_date_pandas_cannot_hold_is_refused_naming_the_cell(tmp_path, value):
    folder = overlay("bad_date", tmp_path)
    d = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    d.loc[2, "date"] = value
    d.to_csv(folder / "services.csv", index=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)  # no OutOfBoundsDatetime traceback
    p = next(p for p in problems if p.rule == "date_out_of_range")
    assert (p.file, p.row, p.column, p.value) == ("services.csv", 4, "date", value)
    assert "outside the dates evalkit can hold (1678 to 2261)" in p.message


# --------------------------------------------------------------------------- issue 16: dataset.json


def _with_meta(tmp_path, content: bytes):
    import shutil

    folder = tmp_path / "d"
    shutil.copytree(BASE, folder)
    (folder / "dataset.json").write_bytes(content)
    return folder


@pytest.mark.parametrize("content, rule, key, severity, words", [
    ('{"name": "x", "synthetic": "false"}'.encode(), "json_type", "synthetic", "error",
     "'synthetic' (true for generated (not collected) data) must be true or false (a JSON boolean, without quotes); "
     "it is a string. Write false without quotes: a string, even \"false\", would read as true."),
    ('{"synthetic": 0}'.encode(), "json_type", "synthetic", "error", "must be true or false"),
    ('{"name": ["a"], "seed": true}'.encode(), "json_type", "name", "error", "'name' (a name for the data, shown in "
     "every report's provenance) must be a string (in double quotes); it is a list."),
    ('{"synthetc": true}'.encode(), "unknown_key", "synthetc", "error",
     "the key 'synthetc' is not one evalkit knows; did you mean 'synthetic'? As written, the setting is ignored."),
    ('{"lonely_pus": "adjust"}'.encode(), "unknown_key", "lonely_pus", "error", "did you mean 'lonely_psu'?"),
    ('{"name": "样例", "contact": "bureau"}'.encode(), "unknown_key", "contact", "warning", "it is ignored (known keys: "),
    ('{"name": "示例省数据", "synthetic": true}'.encode("gbk"), "encoding", None, "error",
     "is saved in GBK (GB18030), not UTF-8, as JSON must be"),
    ('{"name": "x",\n "synthetic": true,\n}'.encode(), "json", None, "error",
     "is not valid JSON: Expecting property name enclosed in double quotes (line 3, column 1). A comma after the "
     "last item? JSON allows none."),
    (b"[1, 2]", "json_type", None, "error", "must hold one JSON object"),
])
def test_dataset_json_is_checked_with_precise_messages(tmp_path, content, rule, key, severity, words):
    folder = _with_meta(tmp_path, content)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.file == "dataset.json")
    assert (p.rule, p.column, p.severity) == (rule, key, severity), str(p)
    assert words in p.message
    assert (cli.main(["validate", str(folder)]) == 1) == (severity == "error")


def test_a_string_false_never_marks_data_as_synthetic(tmp_path):
    folder = _with_meta(tmp_path, b'{"synthetic": "false"}')
    with pytest.raises(DataValidationError):
        load_province(folder, today=TODAY)


def test_dataset_json_with_a_byte_order_mark_is_read_with_a_warning(tmp_path):
    folder = _with_meta(tmp_path, '\ufeff{"name": "示例", "synthetic": true}'.encode())
    p = load_province(folder, today=TODAY)
    assert p.meta["name"] == "示例" and p.synthetic
    said = [w for w in p.warnings if w.file == "dataset.json"]
    assert [(w.rule, w.row) for w in said] == [("encoding_bom", 1)] and "byte-order mark" in said[0].message


# --------------------------------------------------------------------------- issue 16: a ledger imported twice


def test_a_ledger_imported_twice_is_an_error_naming_the_township_and_rows(tmp_path, capsys):
    import shutil

    folder = tmp_path / "d"
    shutil.copytree(BASE, folder)
    d = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    town = d["township_code"].iloc[0]
    again = d[d["township_code"] == town].copy()
    again["record_id"] = again["record_id"] + "-B"  # the same contacts under new record numbers
    pd.concat([d, again]).to_csv(folder / "services.csv", index=False)
    _, problems, _, _ = validate_province(folder, today=TODAY)
    p = next(p for p in problems if p.rule == "repeated_contacts")
    n, first = len(again), len(d) + 2
    assert (p.file, p.row, p.column, p.severity) == ("services.csv", first, "record_id", "error")
    assert (f"in township {town}, {n} of {2 * n} contacts (50.0%, more than 1%) repeat an earlier contact in every "
            "column but record_id") in p.message
    assert f"row {first} repeats row {again.index[0] + 2}, row {first + 1} repeats row {again.index[1] + 2}" in p.message
    assert f"and {n - 5} more" in p.message
    assert cli.main(["validate", str(folder)]) == 1
    assert f"services.csv, row {first}, column 'record_id': in township {town}" in capsys.readouterr().out


def test_a_few_repeated_contacts_are_a_warning_with_their_count_and_rows(tmp_path):
    from evalkit.io import read_raw
    from evalkit.schema import table_spec, validate_table

    d = pd.read_csv(BASE / "services.csv", dtype=str, keep_default_na=False)
    many = pd.concat([d.assign(minutes=str(m), record_id=d["record_id"] + f"-{m}") for m in range(1, 12)])
    many = pd.concat([many, many.iloc[[3]].assign(record_id="R-again")], ignore_index=True)
    many.to_csv(tmp_path / "services.csv", index=False)
    raw = read_raw(tmp_path / "services.csv", [c["name"] for c in table_spec("services")["columns"]], "services")
    _, problems = validate_table(raw, "services")
    [p] = [p for p in problems if p.rule == "repeated_contacts"]
    assert (p.row, p.severity, p.value) == (len(many) + 1, "warning", "R-again")
    assert p.message.startswith("1 contact(s) repeat an earlier contact in every column but record_id")
    assert f"row {len(many) + 1} repeats row 5." in p.message


def test_contacts_differing_only_in_person_are_not_repeats(tmp_path):
    from evalkit.io import read_raw
    from evalkit.schema import table_spec, validate_table

    d = pd.read_csv(BASE / "services.csv", dtype=str, keep_default_na=False)
    twin = d.assign(record_id=d["record_id"] + "-T", person_id=d["person_id"] + "T")
    pd.concat([d, twin]).to_csv(tmp_path / "services.csv", index=False)
    raw = read_raw(tmp_path / "services.csv", [c["name"] for c in table_spec("services")["columns"]], "services")
    assert not [p for p in validate_table(raw, "services")[1] if p.rule == "repeated_contacts"]
