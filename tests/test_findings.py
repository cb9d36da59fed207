"""The evaluators' written findings (findings/<county>.<lang>.md): what is read, and what is refused where."""

from __future__ import annotations

import pytest

from evalkit.errors import DataValidationError
from evalkit.findings import MAX_CHARS, check_findings, load_findings, parse_findings

GOOD_ZH = """## 主要成效

- 社工站全部建成并挂牌，开放时间公示清楚。
- 个案档案**整齐规范**。

## 存在问题

1. 部分站点督导记录缺失。

## 改进建议

建议县民政局每季度组织一次集中督导，
并跟踪整改。
"""


def test_sections_and_items_are_read_as_plain_text():
    found, problems = parse_findings(GOOD_ZH, "findings/090102.zh.md")
    assert problems == []
    assert found.items == {
        "strengths": ["社工站全部建成并挂牌，开放时间公示清楚。", "个案档案整齐规范。"],
        "problems": ["部分站点督导记录缺失。"],
        "recommendations": ["建议县民政局每季度组织一次集中督导， 并跟踪整改。"],
    }


@pytest.mark.parametrize("text, line, rule", [
    ("## Strengths\n\n- Good files.\n## Weather\n- Sunny.\n", 4, "unknown_heading"),
    ("Intro text.\n## Strengths\n- Good.\n", 1, "text_before_heading"),
    ("## Problems\n- See <b>this</b>.\n", 2, "html"),
    ("## Problems\n- <script>alert(1)</script>\n", 2, "html"),
    ("## Problems\n- ![chart](chart.png)\n", 2, "link"),
    ("## Problems\n- Details at https://example.org/x\n", 2, "link"),
    ("## Problems\n- Details at www.example.org\n", 2, "link"),
    ("## Problems\n- see [the plan](plan.docx)\n", 2, "link"),
    ("## 存在问题\n\n- 王芳社工的档案不全，电话13800138000。\n", 3, "personal_data"),
    ("## Problems\n- Records kept by Wang Fang were incomplete.\n", 2, "personal_data"),
    ("## Problems\n- " + "x" * (MAX_CHARS + 1) + "\n", 2, "finding_too_long"),
    ("## Strengths\n- a\n## Strengths\n- b\n", 3, "repeated_heading"),
])
def test_refused_with_the_line(text, line, rule):
    _, problems = parse_findings(text, "findings/090102.en.md")
    assert [(p.file, p.row, p.rule) for p in problems] == [("findings/090102.en.md", line, rule)]


def test_personal_data_is_named_by_kind_never_by_value():
    _, problems = parse_findings("## Problems\n- Call 13800138000 for the records.\n", "f.md")
    assert problems and "13800138000" not in str(problems[0]) and "phone" in str(problems[0])


def test_folder_files_counties_and_languages(tmp_path):
    folder = tmp_path / "findings"
    folder.mkdir()
    (folder / "090102.zh.md").write_text(GOOD_ZH, encoding="utf-8")
    (folder / "090102.en.md").write_text("## Strengths\n- Every station open.\n", encoding="utf-8")
    found = load_findings(tmp_path, ["090102", "090103"])
    assert set(found) == {("090102", "zh"), ("090102", "en")}
    assert found[("090102", "en")].items["strengths"] == ["Every station open."]
    (folder / "999999.en.md").write_text("## Strengths\n- x\n", encoding="utf-8")
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        load_findings(tmp_path, ["090102"])
    assert sorted((p.file, p.rule) for p in err.value.problems) == [
        ("findings/999999.en.md", "unknown_county"), ("findings/notes.txt", "findings_name")]


def test_no_folder_no_findings(tmp_path):
    assert check_findings(tmp_path, ["090102"]) == ({}, [])
