"""Inspection scores (the evaluators' rubric) enter the composite score and grade as the framework says.

Every expected figure below is computed by hand from the rules in evalkit/framework/rubric.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataValidationError, FrameworkError
from evalkit.framework import parse_framework, score_counties

FRAMEWORK = '''
id = "demo"
en = "Demo"
zh = "示例"
max_missing_weight = 0.25
grades = [{ id = "excellent", en = "Excellent", zh = "优秀", min = 90 },
          { id = "good", en = "Good", zh = "良好", min = 80 },
          { id = "fail", en = "Fail", zh = "不合格", min = 0 }]
tiers = { output = { en = "Output", zh = "产出" } }
tier_weights = { method = "direct", weights = { output = 1 } }
[indicators.coverage]
tier = "output"
en = "Coverage"
zh = "覆盖率"
target = 0.2
scoring = { rule = "linear", floor = 0.05 }
uncertainty = "none"
[rubric.records]
tier = "output"
en = "Case records"
zh = "个案档案"
maximum = 10
weight = 0.25
'''


def _table(values):
    codes = list(values)
    return pd.DataFrame({"level": "county", "code": codes, "year": 2025, "indicator": "coverage", "item": "all",
                         "group": "all", "value": [values[c] for c in codes], "se": np.nan, "lower": np.nan,
                         "upper": np.nan, "confidence": 0.95, "suppressed": False, "suppression_reason": None})


def _inspections(rows):
    return pd.DataFrame(rows, columns=["year", "county_code", "township_code", "item", "inspector_id", "score",
                                       "maximum"])


INSPECTIONS = _inspections([
    # county A: station 1 scored by two inspectors (6 and 8: station mean 7), station 2 by one (4)
    (2025, "A", "A01", "records", "i1", 6.0, 10.0),
    (2025, "A", "A01", "records", "i2", 8.0, 10.0),
    (2025, "A", "A02", "records", "i1", 4.0, 10.0),
    # another year: ignored
    (2024, "B", "B01", "records", "i3", 0.0, 10.0),
])


def test_inspection_changes_the_grade_by_the_weights_of_the_framework():
    fw = parse_framework(FRAMEWORK)
    table = _table({"A": 0.2, "B": 0.2})
    without = score_counties(table, fw, draws=200, seed=1).counties.set_index("code")
    assert without.loc["A", "score"] == pytest.approx(100.0) and without.loc["A", "grade"] == "excellent"
    with_ = score_counties(table, fw, draws=2000, seed=1, inspections=INSPECTIONS).counties.set_index("code")
    # A: records = mean of stations (7 + 4) / 2 = 5.5 of 10 = 55 points; 0.75 * 100 + 0.25 * 55 = 88.75: good
    assert with_.loc["A", "score"] == pytest.approx(88.75)
    assert with_.loc["A", "grade"] == "good"
    # B was not inspected in 2025: the item is left out, coverage weighs 1, and no missing weight is counted
    assert with_.loc["B", "score"] == pytest.approx(100.0) and with_.loc["B", "grade"] == "excellent"
    assert with_.loc["B", "missing_weight"] == 0 and with_.loc["B", "n_missing"] == 0
    assert with_.loc["B", "missing"] == ""


def test_spread_between_inspectors_is_the_uncertainty():
    fw = parse_framework(FRAMEWORK)
    s = score_counties(_table({"A": 0.2}), fw, draws=20000, seed=3, inspections=INSPECTIONS)
    row = s.indicators.set_index(["code", "indicator"]).loc[("A", "records")]
    # pooled inspector variance (6 - 8)^2 / 2 = 2; county mean over n = 2 stations with k = 2 and 1 inspectors:
    # var = 2 * (1/2 + 1) / 2^2 = 0.75, se = sqrt(0.75) = 0.866 points = 0.0866 of the maximum
    assert row["se"] == pytest.approx(np.sqrt(0.75) / 10)
    assert row["uncertainty"] == "se"
    # score = 75 + 0.25 * 100 * records, records ~ N(0.55, 0.0866): 95% interval 88.75 +- 1.96 * 2.165
    county = s.counties.iloc[0]
    assert county["score_lower"] == pytest.approx(88.75 - 1.96 * 2.165, abs=0.15)
    assert county["score_upper"] == pytest.approx(88.75 + 1.96 * 2.165, abs=0.15)


def test_no_station_inspected_twice_holds_the_item_fixed():
    fw = parse_framework(FRAMEWORK)
    once = INSPECTIONS[INSPECTIONS["inspector_id"] != "i2"]
    s = score_counties(_table({"A": 0.2}), fw, draws=200, seed=1, inspections=once)
    county = s.counties.iloc[0]
    # records = (6 + 4) / 2 = 5 of 10: 75 + 12.5 = 87.5, held fixed
    assert county["score"] == pytest.approx(87.5)
    assert county["score_lower"] == pytest.approx(87.5) and county["score_upper"] == pytest.approx(87.5)


def test_without_inspections_the_rubric_changes_nothing():
    fw = parse_framework(FRAMEWORK)
    plain = parse_framework(FRAMEWORK.split("[rubric.records]")[0])
    table = _table({"A": 0.11, "B": 0.2, "C": 0.08})
    a = score_counties(table, fw, draws=300, seed=5).counties
    b = score_counties(table, plain, draws=300, seed=5).counties
    pd.testing.assert_frame_equal(a, b)


def test_inspections_are_checked_against_the_rubric():
    fw = parse_framework(FRAMEWORK)
    bad = _inspections([(2025, "A", "A01", "premises", "i1", 6.0, 10.0),
                        (2025, "A", "A01", "records", "i1", 6.0, 20.0),
                        (2025, "A", "A02", "records", "i1", 12.0, 10.0)])
    with pytest.raises(DataValidationError) as err:
        score_counties(_table({"A": 0.2}), fw, draws=200, inspections=bad)
    rules = [(p.row, p.column, p.value, p.rule) for p in err.value.problems]
    assert rules == [(2, "item", "premises", "unknown_rubric_item"), (3, "maximum", "20", "rubric_maximum"),
                     (4, "score", "12", "score_range")]


def test_rubric_weights_of_a_tier_must_leave_room_for_its_indicators():
    text = FRAMEWORK + '''
[rubric.premises]
tier = "output"
en = "Premises"
zh = "场地"
maximum = 5
weight = 0.8
'''
    with pytest.raises(FrameworkError, match="must weigh less than 1"):
        parse_framework(text)


def test_synth_sample_carries_inspections_and_findings_without_changing_the_tables(tmp_path):
    from evalkit.findings import load_findings
    from evalkit.framework import load_framework
    from evalkit.results import indicator_table
    from evalkit.schema import load_inspections, validate_province
    from evalkit.synth import evaluators, generate, synthesize

    tables = generate(seed=7, size="small")
    before = {name: frame.copy() for name, frame in tables.items()}
    extras = evaluators(tables, seed=7)
    for name, frame in tables.items():  # drawing the evaluators' work leaves the four tables as they were
        pd.testing.assert_frame_equal(frame, before[name])
    synthesize(tmp_path, seed=7, size="small")
    _, problems, _, _ = validate_province(tmp_path)
    assert not [p for p in problems if p.severity == "error"]
    inspections = load_inspections(tmp_path)
    pd.testing.assert_frame_equal(inspections.reset_index(drop=True)[["township_code", "item", "score"]],
                                  extras["inspections"][["township_code", "item", "score"]].astype(
                                      {"score": inspections["score"].dtype}), check_dtype=False)
    twice = inspections.groupby(["township_code", "item"])["inspector_id"].nunique()
    assert (twice == 2).any() and (twice == 1).any()
    counties = sorted(tables["regions"]["county_code"].unique())
    found = load_findings(tmp_path, counties)
    assert found and {lang for _, lang in found} == {"en", "zh"}
    assert {c for c, _ in found} <= set(inspections["county_code"])
    # scores change for the inspected counties only
    table, _ = indicator_table(tmp_path, tmp_path / "cache")
    fw = load_framework()
    year = int(inspections["year"].max())
    plain = score_counties(table, fw, year=year, draws=200).counties.set_index("code")
    scored = score_counties(table, fw, year=year, draws=200, inspections=inspections).counties.set_index("code")
    inspected = set(inspections["county_code"])
    for code in plain.index:
        if code in inspected:
            assert scored.loc[code, "score"] != pytest.approx(plain.loc[code, "score"], abs=1e-9)
        else:
            assert scored.loc[code, "score"] == pytest.approx(plain.loc[code, "score"], abs=1e-9)


def test_inspections_table_problems_name_file_row_and_column(tmp_path):
    from evalkit.schema import validate_province
    from evalkit.synth import synthesize

    synthesize(tmp_path, seed=7, size="small", fmt="csv")
    path = tmp_path / "inspections.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    county, town = first[1], first[2]
    bad_score = [first[0], county, town, first[3], "records", "INSP099", "25.0", "20.0"]
    bad_town = [first[0], county, county + "999", first[3], "records", "INSP099", "5.0", "20.0"]
    path.write_text("\n".join([*lines, ",".join(bad_score), ",".join(bad_town)]) + "\n", encoding="utf-8")
    _, problems, _, _ = validate_province(tmp_path)
    found = {(p.file, p.row, p.column, p.rule.split(":")[0]) for p in problems if p.severity == "error"}
    n = len(lines)
    assert ("inspections.csv", n + 1, "score", "at_most") in found
    assert ("inspections.csv", n + 2, "township_code", "unknown_township") in found
