"""`evalkit import`: real exports (CSV in GB18030, workbooks with a sheet per part, SPSS and Stata files with
value labels, Parquet) become the validated data folder, or are refused with messages naming the original file,
sheet, row, column or mapping line, and nothing is written.

Every fixture is built in tmp_path from tests/data/base (a small valid province), rewritten the way exports look.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit import cli
from evalkit.errors import DataValidationError, InputError
from evalkit.importer import import_folder, suggest
from evalkit.importer.mapping import parse_mapping
from evalkit.importer.read import as_text
from evalkit.importer.recognise import normalise, personal_reason
from evalkit.schema import TABLES, table_spec

from conftest import BASE, TODAY

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base() -> dict[str, pd.DataFrame]:
    """The base province's validated tables."""
    return evalkit.load_province(BASE, today=TODAY).tables()


def text(frame: pd.DataFrame) -> pd.DataFrame:
    """A typed table as an export holds it: every cell text."""
    return pd.DataFrame({c: as_text(frame[c]) for c in frame.columns})


def zh(table: str) -> dict[str, str]:
    """Codebook column -> its Chinese label (tables.toml)."""
    return {c["name"]: c["zh"] for c in table_spec(table)["columns"]}


def write_standard(raw: Path, base: dict, skip: tuple[str, ...] = ()) -> None:
    """The tables as CSV with English headers (what the other tests replace one table of)."""
    raw.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        if t not in skip:
            text(base[t]).to_csv(raw / f"{t}.csv", index=False)
    (raw / "dataset.json").write_text((BASE / "dataset.json").read_text(encoding="utf-8"), encoding="utf-8")


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def imported(raw: Path, out: Path, **kw) -> dict[str, pd.DataFrame]:
    """Import, check the raw folder is unchanged, and load the result."""
    before = digest(raw)
    result = import_folder(raw, out, **kw)
    assert digest(raw) == before, "the raw folder was changed"
    assert result.ok and result.written
    return evalkit.load_province(out, today=TODAY).tables()


def assert_same(got: dict, want: dict, tables=TABLES) -> None:
    for t in tables:
        pd.testing.assert_frame_equal(got[t].reset_index(drop=True), want[t].reset_index(drop=True), check_dtype=False)


def refused(raw: Path, out: Path, **kw) -> list[str]:
    """Import that must fail: the messages; the data folder must not exist and the raw folder be unchanged."""
    before = digest(raw)
    with pytest.raises((DataValidationError, InputError)) as info:
        import_folder(raw, out, **kw)
    assert digest(raw) == before
    assert not out.exists(), "something was written on failure"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")], "temporary folder left"
    err = info.value
    problems = err.problems if isinstance(err, DataValidationError) else [err.problem]
    return [str(p) for p in problems if p.severity == "error"]


def survey_likert_labels() -> dict[int, str]:
    return {1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意", 8: "说不清", 9: "拒绝回答"}


# --------------------------------------------------------------------------- formats


def test_csv_in_gb18030_with_chinese_labels_as_headers(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    for t in TABLES:
        text(base[t]).rename(columns=zh(t)).to_csv(raw / f"{t}.csv", index=False, encoding="gb18030")
    assert_same(imported(raw, tmp_path / "data"), base)


@pytest.fixture(params=["fastexcel", "calamine", "openpyxl"])
def xlsx_reader(request, monkeypatch):
    """Workbooks are read with fastexcel (typed columns), with python-calamine (cell by cell) where fastexcel is
    not installed, or with openpyxl (evalkit.io) where calamine is not installed."""
    if request.param != "fastexcel":
        monkeypatch.setattr("evalkit.importer.read._has_fastexcel", lambda: False)
    if request.param == "openpyxl":
        monkeypatch.setattr("evalkit.importer.read._has_calamine", lambda: False)
    return request.param


def test_xlsx_with_the_table_over_several_sheets_keeps_each_rows_sheet(tmp_path, base, xlsx_reader):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("services", "regions"))
    services = text(base["services"])
    first_half = services["date"].str[5:7] <= "06"
    with pd.ExcelWriter(raw / "台账.xlsx") as xl:
        services[first_half].rename(columns=zh("services")).to_excel(xl, sheet_name="上半年", index=False)
        services[~first_half].rename(columns=zh("services")).to_excel(xl, sheet_name="下半年", index=False)
        services.iloc[:0].rename(columns=zh("services")).to_excel(xl, sheet_name="模板", index=False)  # not filled in
    regions = text(base["regions"])
    with pd.ExcelWriter(raw / "区划.xlsx") as xl:  # a sheet per county, a title row above the header
        for county, part in regions.groupby("county_code", sort=False):
            pd.DataFrame([["民政登记数据"]]).to_excel(xl, sheet_name=county, index=False, header=False)
            part.to_excel(xl, sheet_name=county, index=False, startrow=2)
    result = import_folder(raw, tmp_path / "data")
    got = evalkit.load_province(tmp_path / "data", today=TODAY).tables()
    order = np.argsort(~first_half.to_numpy(), kind="stable")  # rows come sheet by sheet
    want = dict(base, services=base["services"].iloc[order])
    regions_order = np.concatenate([np.flatnonzero(regions["county_code"] == c)
                                    for c in regions["county_code"].unique()])
    want["regions"] = base["regions"].iloc[regions_order]
    assert_same(got, want)
    report = result.report
    assert "| 台账.xlsx | 上半年 | 1 |" in report and "| 台账.xlsx | 下半年 | 1 |" in report
    assert "| 区划.xlsx | 090102 | 3 |" in report  # the header found below the title row
    assert "| 台账.xlsx | sheet '模板': the services table's header (row 1) but no data rows |" in report


def _survey_for_stat(base: dict) -> tuple[pd.DataFrame, dict]:
    """The survey as a statistics package holds it: Likert items and group as numbers with value labels."""
    survey = text(base["survey"]).drop(columns=["comment"])
    groups = {i + 1: g for i, g in enumerate(evalkit.schema.codes("person_group"))}
    labels = {f"q_{k}": survey_likert_labels() for k in ("overall", "access", "attitude", "professional",
                                                           "timely", "effect")}
    for q in labels:
        survey[q] = survey[q].astype(int)
    survey["group"] = survey["group"].map({g: i for i, g in groups.items()}).astype(int)
    labels["group"] = {i: evalkit.schema.codes("person_group")[g]["zh"] for i, g in groups.items()}
    return survey, labels


def test_spss_sav_value_labels_are_applied(tmp_path, base):
    import pyreadstat

    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    survey, labels = _survey_for_stat(base)
    survey = survey.rename(columns={"q_attitude": "Q5"})  # named by its question number, labelled with its text
    survey["weight"] = survey["weight"].astype(float)
    pyreadstat.write_sav(survey, raw / "问卷.sav", variable_value_labels={("Q5" if k == "q_attitude" else k): v
                                                                         for k, v in labels.items()},
                         column_labels={"Q5": "5、服务态度？"})
    got = imported(raw, tmp_path / "data")
    assert_same(got, base, tables=("regions", "stations", "services"))
    pd.testing.assert_frame_equal(got["survey"].drop(columns="comment"), base["survey"].drop(columns="comment"),
                                  check_dtype=False)
    report = (tmp_path / "data" / "import-report.md").read_text(encoding="utf-8")
    assert "| `q_attitude` | 'Q5' | variable label |" in report
    assert "| `q_overall` | 非常满意 | 5 |" in report  # the label pyreadstat applied, recoded and counted


def test_stata_dta_value_labels_are_applied(tmp_path, base):
    import pyreadstat

    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    survey, labels = _survey_for_stat(base)
    survey["weight"] = survey["weight"].astype(float)
    survey["year"] = survey["year"].astype(int)
    pyreadstat.write_dta(survey, raw / "survey.dta", variable_value_labels=labels)
    got = imported(raw, tmp_path / "data")
    pd.testing.assert_frame_equal(got["survey"].drop(columns="comment"), base["survey"].drop(columns="comment"),
                                  check_dtype=False)


def test_parquet_with_native_types(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("stations",))
    stations = base["stations"].copy()
    stations["service_level"] = stations["service_level"].astype(str).astype(float)  # 2.0 as a number
    stations.to_parquet(raw / "stations.parquet")
    assert_same(imported(raw, tmp_path / "data"), base)


# --------------------------------------------------------------------------- recognition rules


def test_headers_compare_without_width_case_punctuation_or_question_numbers():
    assert normalise("５、总体满意度？") == normalise("总体满意度")
    assert normalise("Q_Overall ") == normalise("q_overall")
    assert normalise("ｑ＿ａｃｃｅｓｓ") == normalise("q_access")
    assert normalise("Q3. 服务态度") == normalise("服务态度")
    assert normalise("（6）专业水平") == normalise("专业水平")
    assert normalise("第7题 及时性") == normalise("及时性")
    assert normalise("2024") == "2024"  # a header that is only a number stays one


def test_questionnaire_headers_and_answer_texts_are_recognised(tmp_path, base):
    """Numbered question headers, full-width forms, Likert answers in Chinese and English (with 8/9 texts),
    group labels in Chinese and English: all recognised without a mapping file."""
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    survey = text(base["survey"])
    zh_text = {str(k): v for k, v in survey_likert_labels().items()}
    en_text = {"1": "Very dissatisfied", "2": "Dissatisfied", "3": "Neutral", "4": "Satisfied", "5": "Very satisfied",
               "8": "Don't know", "9": "Refused"}
    half = np.arange(len(survey)) % 2 == 0
    for q in ("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect"):
        survey[q] = np.where(half, survey[q].map(zh_text), survey[q].map(en_text))
    survey.loc[0, "q_effect"], survey.loc[1, "q_effect"] = "说不清", "拒绝回答"  # 8 and 9 as texts
    survey.loc[2, "q_effect"], survey.loc[3, "q_effect"] = "Don't know", "Refused"
    labels = evalkit.schema.codes("person_group")
    survey["group"] = np.where(half, survey["group"].map(lambda g: labels[g]["zh"]),
                               survey["group"].map(lambda g: labels[g]["en"]))
    survey = survey.rename(columns={"q_overall": "1、总体满意度？", "q_access": "Ｑ２．可及性（便于获得）",
                                    "q_attitude": "3.服务态度", "q_professional": "Q_Professional",
                                    "weight": "抽样权重（代表人数）", "group": "受访者类别"})
    with pd.ExcelWriter(raw / "问卷星导出.xlsx") as xl:
        survey.to_excel(xl, sheet_name="Sheet1", index=False)
    got = imported(raw, tmp_path / "data")
    want = base["survey"].copy()
    want.loc[0, "q_effect"], want.loc[1, "q_effect"], want.loc[2, "q_effect"], want.loc[3, "q_effect"] = 8, 9, 8, 9
    pd.testing.assert_frame_equal(got["survey"], want, check_dtype=False)


def test_category_labels_become_codes(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    services = text(base["services"])
    for column, codes in (("person_group", "person_group"), ("mode", "mode"), ("service_item", "service_item")):
        labels = evalkit.schema.codes(codes)
        services[column] = services[column].map(lambda v: labels[v]["zh"])
    items = text(base["services"])["service_item"]
    labels = evalkit.schema.codes("service_item")
    services.loc[::2, "service_item"] = items[::2].map(lambda v: f"{v} {labels[v]['zh']}")  # "S05 老年人探访关爱"
    services.rename(columns=zh("services")).to_csv(raw / "services.csv", index=False)
    regions = text(base["regions"])
    regions["urban_rural"] = regions["urban_rural"].map({"urban": "城镇", "rural": "农村"})
    regions.to_csv(raw / "regions.csv", index=False)
    got = imported(raw, tmp_path / "data")
    assert_same(got, base)
    report = (tmp_path / "data" / "import-report.md").read_text(encoding="utf-8")
    assert re.search(r"\| `mode` \| 入户探访 \| home_visit \| \d+ \|", report)


def test_dates_written_the_chinese_way_are_read(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    stations = text(base["stations"])
    d = base["stations"]["opened"]
    forms = (lambda x: f"{x.year}年{x.month}月{x.day}日", lambda x: f"{x.year}.{x.month}.{x.day}",
             lambda x: x.strftime("%Y%m%d"), lambda x: str((x - pd.Timestamp("1899-12-30")).days))  # Excel serial
    stations["opened"] = [forms[i % 4](x) for i, x in enumerate(d)]
    stations.to_csv(raw / "stations.csv", index=False)
    assert_same(imported(raw, tmp_path / "data"), base)


# --------------------------------------------------------------------------- personal data


def test_platform_personal_data_columns_are_dropped_and_reported(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    survey = text(base["survey"])
    n = len(survey)
    platform = {"序号": range(1, n + 1), "提交答卷时间": ["2024/9/1 10:00:00"] * n, "所用时间": ["120秒"] * n,
                "来源": ["手机提交"] * n, "来源IP": ["113.24.1.5(湖南-长沙)"] * n, "昵称": ["小明"] * n,
                "手机号": ["13812345678"] * n, "微信号": ["wxid_abc123"] * n, "地理位置": ["长沙市岳麓区"] * n,
                "设备": ["iPhone"] * n, "浏览器": ["WeChat"] * n}
    pd.concat([pd.DataFrame(platform), survey], axis=1).to_csv(raw / "survey.csv", index=False)
    got = imported(raw, tmp_path / "data")
    pd.testing.assert_frame_equal(got["survey"], base["survey"], check_dtype=False)
    written = pd.read_parquet(tmp_path / "data" / "survey.parquet")
    assert not set(platform) & set(written.columns)
    assert "13812345678" not in (tmp_path / "data" / "survey.parquet").read_bytes().decode("latin-1")
    report = (tmp_path / "data" / "import-report.md").read_text(encoding="utf-8")
    for column, reason in (("来源IP", "IP address"), ("昵称", "nickname"), ("手机号", "phone number"),
                           ("微信号", "WeChat account"), ("地理位置", "free-text location"),
                           ("设备", "submission device"), ("浏览器", "submission device"),
                           ("序号", "platform metadata"), ("提交答卷时间", "platform metadata")):
        assert re.search(rf"\| survey.csv \| {column} \| [^|]*{reason}", report), column


def test_a_pseudonymous_id_mapped_to_phone_numbers_is_refused_at_its_original_cell(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    survey = text(base["survey"]).drop(columns="respondent_id")
    survey.insert(0, "手机号", [f"138{i:08d}" for i in range(len(survey))])
    survey.to_csv(raw / "survey.csv", index=False)
    (raw.parent / "MAP.toml").write_text('version = 1\n[[source]]\nfiles = "survey.csv"\ntable = "survey"\n'
                                         '[source.columns]\nrespondent_id = "手机号"\n', encoding="utf-8")
    messages = refused(raw, tmp_path / "data", mapping=raw.parent / "MAP.toml")
    assert any(m.startswith("survey.csv, row 2, column '手机号 (respondent_id)'") and "phone" in m for m in messages)


def test_personal_reasons():
    assert personal_reason("您的手机号码") == "phone number"
    assert personal_reason("IP") == "IP address"
    assert personal_reason("5、您是否通过电话联系过社工站？") is None  # a question that mentions a phone
    assert personal_reason("总体满意度") is None


# --------------------------------------------------------------------------- provenance


def test_every_validation_problem_names_the_original_file_sheet_row_and_column(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("services",))
    services = text(base["services"]).rename(columns=zh("services"))
    services.loc[120, "服务时长"] = "99999"          # -> sheet 2, row 120 - 100 + 2 = 22
    services.loc[5, "服务社工站所在乡镇（街道）代码"] = "090102999"  # a township regions does not know: a check across tables
    with pd.ExcelWriter(raw / "台账.xlsx") as xl:
        services.iloc[:100].to_excel(xl, sheet_name="一季度", index=False)
        services.iloc[100:].to_excel(xl, sheet_name="二季度", index=False, startrow=1)  # header on row 2
    messages = refused(raw, tmp_path / "data")
    assert any(m.startswith("台账.xlsx (sheet '二季度'), row 23, column '服务时长 (minutes)'") for m in messages), messages
    # the cross-table check runs only once every table is valid: fix the first problem and look again
    services.loc[120, "服务时长"] = "30"
    with pd.ExcelWriter(raw / "台账.xlsx") as xl:
        services.iloc[:100].to_excel(xl, sheet_name="一季度", index=False)
        services.iloc[100:].to_excel(xl, sheet_name="二季度", index=False, startrow=1)
    messages = refused(raw, tmp_path / "data")
    assert any(m.startswith("台账.xlsx (sheet '一季度'), row 7, column '服务社工站所在乡镇（街道）代码 (township_code)'")
               and "090102999" in m for m in messages), messages


def test_keep_invalid_writes_the_folder_with_the_problems_in_the_report(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    survey = text(base["survey"])
    survey.loc[3, "q_overall"] = "7"
    survey.to_csv(raw / "survey.csv", index=False)
    result = import_folder(raw, tmp_path / "data", keep_invalid=True)
    assert result.written and not result.ok
    report = (tmp_path / "data" / "import-report.md").read_text(encoding="utf-8")
    assert "survey.csv, row 5, column 'q_overall'" in report


def test_an_earlier_import_is_replaced_but_another_folder_is_not_touched(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    import_folder(raw, tmp_path / "data")
    import_folder(raw, tmp_path / "data")  # again: replaced
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not an earlier import"):
        import_folder(raw, other)
    assert (other / "notes.txt").read_text() == "keep me"
    with pytest.raises(InputError, match="inside the raw folder"):
        import_folder(raw, raw / "out")


# --------------------------------------------------------------------------- bad input


def write_map(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "MAP.toml"
    path.write_text(text, encoding="utf-8")
    return path


SURVEY_MAP = """version = 1
ignore = ["README.txt"]

[[source]]
files = "问卷*.csv"
table = "survey"

[source.columns]
q_overall = "{q_overall}"
respondent_id = "答卷编号"
"""


def numbered_survey(raw: Path, base: dict) -> None:
    write_standard(raw, base, skip=("survey",))
    survey = text(base["survey"]).rename(columns={"q_overall": "5、您对社工站的服务总体上是否满意？",
                                                  "respondent_id": "答卷编号"})
    survey.to_csv(raw / "问卷-2024.csv", index=False)
    (raw / "README.txt").write_text("exported from the platform")


def test_a_mapping_file_maps_numbered_questions_and_ignores_files(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    path = write_map(tmp_path, SURVEY_MAP.format(q_overall="5、您对社工站的服务总体上是否满意？"))
    got = imported(raw, tmp_path / "data", mapping=path)
    pd.testing.assert_frame_equal(got["survey"], base["survey"], check_dtype=False)
    report = (tmp_path / "data" / "import-report.md").read_text(encoding="utf-8")
    assert "| `q_overall` | '5、您对社工站的服务总体上是否满意？' | MAP.toml line 9 |" in report
    assert "| README.txt | ignored (MAP.toml line 2: 'README.txt') |" in report


def test_mapping_to_a_column_not_in_the_source(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    path = write_map(tmp_path, SURVEY_MAP.format(q_overall="5、您对社工站的服务是否满意？"))
    messages = refused(raw, tmp_path / "data", mapping=path)
    assert any(m.startswith("MAP.toml, line 9, key 'q_overall'") and "问卷-2024.csv" in m
               and "5、您对社工站的服务总体上是否满意？" in m for m in messages), messages


def test_mapping_to_an_unknown_codebook_column(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    path = write_map(tmp_path, SURVEY_MAP.format(q_overall="x").replace("q_overall =", "q_overal ="))
    messages = refused(raw, tmp_path / "data", mapping=path)
    assert messages == ["MAP.toml, line 9, key 'source.columns.q_overal': 'q_overal' is not a column of the survey table; "
                        "did you mean 'q_overall'?"]


def test_a_mapping_file_that_is_not_toml(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    path = write_map(tmp_path, 'version = 1\n[[source]]\nfiles = "a.csv\ntable = "survey"\n')
    [message] = refused(raw, tmp_path / "data", mapping=path)
    assert message.startswith("MAP.toml, line 3: is not valid TOML")


def test_a_value_no_map_covers(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    survey = pd.read_csv(raw / "问卷-2024.csv", dtype=str)
    survey.iloc[0, survey.columns.get_loc("5、您对社工站的服务总体上是否满意？")] = "很好"
    survey.iloc[1, survey.columns.get_loc("5、您对社工站的服务总体上是否满意？")] = "特别好"
    survey.to_csv(raw / "问卷-2024.csv", index=False)
    path = write_map(tmp_path, SURVEY_MAP.format(q_overall="5、您对社工站的服务总体上是否满意？")
                     + '\n[source.values.q_overall]\n"很好" = 5\n')
    messages = refused(raw, tmp_path / "data", mapping=path)
    assert len(messages) == 1
    assert messages[0].startswith("问卷-2024.csv, row 3, column '5、您对社工站的服务总体上是否满意？ (q_overall)'")
    assert "'特别好'" in messages[0] and "MAP.toml line 12" in messages[0]


def test_one_header_mapped_to_two_codebook_columns(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    path = write_map(tmp_path, SURVEY_MAP.format(q_overall="5、您对社工站的服务总体上是否满意？")
                     + 'q_effect = "5、您对社工站的服务总体上是否满意？"\n')
    messages = refused(raw, tmp_path / "data", mapping=path)
    assert any(m.startswith("MAP.toml, line 11, key 'q_effect'") and "'q_overall' (MAP.toml line 9)" in m
               for m in messages), messages


def test_duplicated_headers(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    survey = text(base["survey"])
    survey.insert(3, "q_overall_copy", survey["q_overall"])
    survey.rename(columns={"q_overall_copy": "总体满意度", "q_overall": "总体满意度"}).to_csv(raw / "survey.csv",
                                                                                          index=False)
    messages = refused(raw, tmp_path / "data")
    assert any(m.startswith("survey.csv, row 1, column '总体满意度'") and "appears 2 times (columns D, J)" in m
               for m in messages), messages


def test_two_files_of_one_table_with_different_columns(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    survey = text(base["survey"])
    survey[survey["year"] == "2023"].to_csv(raw / "survey-2023.csv", index=False)
    survey[survey["year"] != "2023"].drop(columns="comment").to_csv(raw / "survey-2024.csv", index=False)
    messages = refused(raw, tmp_path / "data")
    assert any(m.startswith("survey-2024.csv, row 1, column 'comment'") and "like survey-2023.csv" in m
               and "it lacks comment" in m for m in messages), messages


def test_a_sheet_that_matches_no_table(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("stations",))
    with pd.ExcelWriter(raw / "stations.xlsx") as xl:
        text(base["stations"]).to_excel(xl, sheet_name="社工站", index=False)
        pd.DataFrame({"说明": ["本表由县民政局填报"], "联系人": ["王科长"]}).to_excel(xl, sheet_name="填表说明",
                                                                                  index=False)
    messages = refused(raw, tmp_path / "data")
    assert messages == [m for m in messages if m.startswith("stations.xlsx (sheet '填表说明')")]
    assert "matches no table" in messages[0]


def test_a_file_that_is_two_tables_at_once_is_refused(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    both = pd.concat([text(base["stations"]).iloc[:3].reset_index(drop=True),
                      text(base["services"]).iloc[:3].drop(columns=["county_code", "township_code"])], axis=1)
    both.to_csv(raw / "mixed.csv", index=False)
    messages = refused(raw, tmp_path / "data")
    assert any(m.startswith("mixed.csv, row 1:") and "stations, services" in m for m in messages), messages


@pytest.mark.parametrize("content,rule", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le"), "password"),
    (b"PK\x03\x04 this is not a workbook", "damaged"),
])
def test_an_encrypted_or_corrupt_workbook(tmp_path, base, content, rule):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    (raw / "县台账.xlsx").write_bytes(content)
    messages = refused(raw, tmp_path / "data")
    assert len(messages) == 1 and messages[0].startswith("县台账.xlsx:") and rule in messages[0]


def test_a_missing_table_is_named(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("stations",))
    messages = refused(raw, tmp_path / "data")
    assert any("holds the stations table" in m for m in messages)


# --------------------------------------------------------------------------- the mapping file


def test_mapping_lines_are_found_for_every_key():
    text_ = ('version = 1\n\n[values.q_overall]\n"很满意" = 5\n\n[[source]]\nfiles = "a.xlsx"\ntable = "survey"\n'
             '[source.columns]\nq_overall = "Q1"\n[source.constants]\nyear = 2024\n\n[[source]]\nfiles = "b.csv"\n'
             'table = "services"\n[source.values.mode]\n"上门" = "home_visit"\ndrop = ["备注"]\n')
    m = parse_mapping(text_)
    assert m.line("values", "q_overall", "很满意") == 4
    assert m.line("source", 0, "columns", "q_overall") == 10
    assert m.line("source", 0, "constants", "year") == 12
    assert m.line("source", 1, "table") == 16
    assert m.line("source", 1, "values", "mode", "上门") == 18
    assert m.sources[1].drop == ["备注"]  # written after a sub-table: taken as the source's, as meant
    assert m.sources[0].constants == {"year": 2024}


@pytest.mark.parametrize("text_,line,words", [
    ('version = 1\nsource = 3\n', 2, "[[source]]"),
    ('version = 2\n', 1, "version = 1"),
    ('version = 1\n[[source]]\nfiles = "a"\ntable = "surveys"\n', 4, "not a table"),
    ('version = 1\n[[source]]\ntable = "survey"\n', 2, "no files"),
    ('version = 1\n[[source]]\nfiles = "a"\nsheet = ["x"]\n', 4, "did you mean 'sheets'"),
    ('version = 1\n[values.q_overal]\n"a" = 1\n', 2, "did you mean 'q_overall'"),
])
def test_mapping_file_errors_name_their_line(text_, line, words):
    with pytest.raises(InputError) as info:
        parse_mapping(text_)
    assert info.value.problem.row == line and words in str(info.value)


# --------------------------------------------------------------------------- suggest


def test_suggest_drafts_a_mapping_that_parses_and_maps_the_obvious_columns(tmp_path, base):
    raw = tmp_path / "raw"
    numbered_survey(raw, base)
    survey = pd.read_csv(raw / "问卷-2024.csv", dtype=str)
    survey.insert(0, "来源IP", "1.2.3.4")
    survey = survey.rename(columns={"q_attitude": "7、您对社工的服务态度是否满意？", "township_code": "乡镇（街道）代码"})
    survey.to_csv(raw / "问卷-2024.csv", index=False)
    draft = suggest(raw)
    doc = tomllib.loads(draft)
    block = next(s for s in doc["source"] if s["table"] == "survey")
    assert block["columns"]["q_attitude"] == "7、您对社工的服务态度是否满意？"
    assert block["columns"]["township_code"] == "乡镇（街道）代码"
    assert block["columns"]["q_access"] == "q_access"
    assert block["drop"] == ["来源IP"]
    assert re.search(r'q_attitude = "7、您对社工的服务态度是否满意？"  # column \w+, confidence 0\.\d\d', draft)
    assert "README.txt" in doc["ignore"]
    assert {s["table"] for s in doc["source"]} == set(TABLES)
    # the draft, as it is, imports the folder apart from what it could not know
    (tmp_path / "MAP.toml").write_text(draft, encoding="utf-8")
    messages = refused(raw, tmp_path / "data", mapping=tmp_path / "MAP.toml")
    assert all("q_overall" in m or "respondent_id" in m for m in messages), messages


# --------------------------------------------------------------------------- command line


def test_command_line_import_prints_the_summary_and_exits_1_on_failure(tmp_path, base, capsys):
    raw = tmp_path / "raw"
    write_standard(raw, base)
    assert cli.main(["import", str(raw), "-o", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "# Import report" in out and "valid" in out
    assert cli.main(["import", str(raw), "--suggest", "-o", str(tmp_path / "MAP.toml")]) == 0
    tomllib.loads((tmp_path / "MAP.toml").read_text(encoding="utf-8"))
    survey = text(base["survey"])
    survey.loc[0, "weight"] = "-1"
    survey.to_csv(raw / "survey.csv", index=False)
    assert cli.main(["import", str(raw), "-o", str(tmp_path / "data2")]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err and "survey.csv, row 2, column 'weight'" in err
    assert not (tmp_path / "data2").exists()
    assert json.loads((tmp_path / "data" / "dataset.json").read_text(encoding="utf-8"))["synthetic"] is True


def test_the_import_rules_in_data_readme_are_current():
    from evalkit.importer.summary import IMPORT_BEGIN, IMPORT_END, import_rules_markdown

    text_ = (Path(__file__).parents[1] / "data" / "README.md").read_text(encoding="utf-8")
    section = text_.split(IMPORT_BEGIN, 1)[1].split(IMPORT_END, 1)[0]
    assert section.strip() == import_rules_markdown().strip(), "run `make codebook`"


def test_the_mapping_example_of_data_readme_is_accepted():
    text_ = (Path(__file__).parents[1] / "data" / "README.md").read_text(encoding="utf-8")
    example = text_.split("## Importing raw exports", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    m = parse_mapping(example)
    assert m.sources[0].drop == ["备注"] and m.sources[0].constants["county_code"] == "090102"
    assert m.values["q_overall"] == {"很满意": 5} and m.dataset["lonely_psu"] == "adjust"


def test_a_listed_sheet_no_workbook_has_and_a_hidden_data_sheet(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("stations",))
    with pd.ExcelWriter(raw / "stations.xlsx") as xl:
        text(base["stations"]).to_excel(xl, sheet_name="2024", index=False)
        text(base["stations"]).iloc[:2].to_excel(xl, sheet_name="旧版", index=False)
        xl.book["旧版"].sheet_state = "hidden"
    messages = refused(raw, tmp_path / "data")
    assert messages == ["stations.xlsx (sheet '旧版'): is hidden and holds cells; unhide it (right-click a sheet tab, "
                        "Unhide) to have it imported, delete it, or list the sheets to read (sheets = [...]) in a "
                        "mapping file."]
    path = write_map(tmp_path, 'version = 1\n[[source]]\nfiles = "stations.xlsx"\nsheets = ["2042"]\n')
    messages = refused(raw, tmp_path / "data", mapping=path)
    assert any(m.startswith("MAP.toml, line 4, key 'sheets': the sheet '2042' is in none of the workbooks")
               for m in messages), messages
    path = write_map(tmp_path, 'version = 1\n[[source]]\nfiles = "stations.xlsx"\nsheets = ["2024"]\n')
    assert_same(imported(raw, tmp_path / "data", mapping=path), base)


def test_an_excel_error_value_is_refused_by_name(tmp_path, base):
    """calamine would read #N/A as an empty cell (nothing at all in an optional column): such a workbook is read
    with openpyxl, and validation names the error value."""
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("survey",))
    with pd.ExcelWriter(raw / "survey.xlsx") as xl:
        text(base["survey"]).to_excel(xl, sheet_name="Sheet1", index=False)
        xl.book["Sheet1"]["O5"] = "#N/A"  # comment of row 5
    messages = refused(raw, tmp_path / "data")
    assert any(m.startswith("survey.xlsx (sheet 'Sheet1'), row 5, column 'comment'") and "#N/A" in m
               for m in messages), messages


def test_a_csv_in_an_encoding_validation_refuses_is_named(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("stations",))
    text(base["stations"]).rename(columns=zh("stations")).to_csv(raw / "社工站.csv", index=False, encoding="utf-16")
    [message] = refused(raw, tmp_path / "data")
    assert message.startswith("社工站.csv: is UTF-16 text") and "CSV UTF-8" in message


def test_one_workbook_holding_two_tables_on_two_sheets(tmp_path, base):
    raw = tmp_path / "raw"
    write_standard(raw, base, skip=("regions", "stations"))
    with pd.ExcelWriter(raw / "基本情况.xlsx") as xl:
        text(base["stations"]).rename(columns=zh("stations")).to_excel(xl, sheet_name="社工站", index=False)
        text(base["regions"]).rename(columns=zh("regions")).to_excel(xl, sheet_name="区划", index=False)
    result = import_folder(raw, tmp_path / "data")
    assert_same(evalkit.load_province(tmp_path / "data", today=TODAY).tables(), base)
    assert "| 基本情况.xlsx | 社工站 | 1 |" in result.report.split("## stations")[1].split("## ")[0]


def test_a_time_of_day_cell_reads_as_its_text_not_as_a_corrupt_workbook(tmp_path):
    """A time-only cell (a visit's start time) made the reader fail, and the workbook was reported as corrupt."""
    import datetime as dt

    import openpyxl

    from evalkit.importer.read import as_text, read_file

    assert as_text(pd.Series([dt.time(8, 30), dt.datetime(2025, 3, 5, 8, 30)], dtype=object)).tolist() == [
        "08:30:00", "2025-03-05 08:30:00"]
    book = openpyxl.Workbook()
    book.active.append(["record_id", "start"])
    book.active.append(["R1", dt.time(8, 30)])
    book.save(tmp_path / "visits.xlsx")
    (sheet,) = read_file(tmp_path / "visits.xlsx", "visits.xlsx")
    assert "08:30:00" in sheet.grid.astype(str).to_numpy().ravel().tolist()


def test_typed_reading_gives_every_cell_the_text_cell_by_cell_reading_gives(tmp_path, monkeypatch):
    """fastexcel reads a sheet as typed columns (no Python object per cell) and the importer turns each column
    into text: the cells must be those of the cell-by-cell reading (python-calamine), which a sheet whose
    typed reading could differ (a column mixing text and numbers, times of day, repeated headers) falls
    back to."""
    import datetime as dt

    import openpyxl

    from evalkit.importer import read

    book = openpyxl.Workbook()
    ledger = book.active
    ledger.title = "台账"
    ledger.append([])
    ledger.append([])  # the header on row 3
    ledger.append(["id", " 名 ", "\u3000", "amount", "date", "paid", "empty"])
    cells = [("R1", " x ", "a", 1 / 3, dt.datetime(2023, 1, 2), True),
             ("R2", "\x85y\xa0", "", 1e-20, dt.datetime(2024, 12, 31), False),
             ("R3", "z", "\u3000", 1e16, None, None),
             ("R4", None, "b", 99999999999999.9, dt.datetime(2025, 6, 30), True),
             ("R5", "z", "c", 12.0, dt.datetime(2023, 1, 2), True),
             ("R6", "w", "d", -0.0, dt.datetime(2023, 1, 3), False),
             ("R7", "v", "e", 2.5, dt.datetime(2023, 1, 4), True)]
    for row in cells:
        ledger.append(list(row))
    ledger.append(["  ", None, None, None, None, None])  # blank but for spaces, then nothing
    mixed = book.create_sheet("mixed")
    for row in (["code", "n"], ["0901", 1.5], [901, "x"]):
        mixed.append(row)
    times = book.create_sheet("times")
    for row in (["id", "at"], ["R1", dt.datetime(2023, 1, 2, 8, 30)], ["R2", dt.time(9, 15)]):
        times.append(row)
    twice = book.create_sheet("twice")
    for row in (["a", "a", "a_1"], [1.0, 2.0, 3.0]):
        twice.append(row)
    book.save(tmp_path / "book.xlsx")

    cell_by_cell = read._calamine_sheets(tmp_path / "book.xlsx")[0]
    asked = []
    real = read._calamine_sheets
    monkeypatch.setattr(read, "_calamine_sheets", lambda path, only=None: asked.append(only) or real(path, only))
    typed = {s.sheet: s.grid for s in read.read_file(tmp_path / "book.xlsx", "book.xlsx")}
    assert asked == [{"mixed", "times", "twice"}]  # 台账 was read typed, the others cell by cell
    assert list(typed) == list(cell_by_cell)
    for name, grid in cell_by_cell.items():
        pd.testing.assert_frame_equal(typed[name], grid, check_exact=True)
    # where Arrow's trim would not cover Python's strip, a regular expression finds the cells to strip
    monkeypatch.setattr(read, "_SPACE", "^[\\s\\x{85}\\x{a0}\\x{3000}]|[\\s\\x{85}\\x{a0}\\x{3000}]$")
    again = {s.sheet: s.grid for s in read.read_file(tmp_path / "book.xlsx", "book.xlsx")}
    pd.testing.assert_frame_equal(again["台账"], cell_by_cell["台账"], check_exact=True)
    got = typed["台账"]
    assert got.shape == (11, 7) and got.iloc[:2].isna().all(axis=None)
    assert got[3].tolist()[3:10] == ["0.3333333333333333", "1e-20", "1e+16", "99999999999999.9", "12", "0", "2.5"]
    assert got[1].tolist()[2:5] == ["名", "x", "y"] and got[2].tolist()[2:6] == [np.nan, "a", np.nan, np.nan]
    assert got[4].tolist()[3:5] == ["2023-01-02", "2024-12-31"] and got[5].tolist()[3:5] == ["true", "false"]
    assert got.iloc[10].isna().all() and got[6].iloc[3:].isna().all()
