"""Tests for evalkit.framework: AHP, the framework file, scoring rules, grades, composite scores and ranks.

Reference values: tests/reference/ahp/ (Saaty's published worked examples, and the same matrices
through R's eigen(); see PROVENANCE.md there).  A printed value is matched when evalkit's unrounded
value lies within half a unit of its last printed decimal; R's values to 1e-9.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.errors import FrameworkError, InconsistentJudgementsError
from evalkit.framework import (DEFAULT_DRAWS, RANDOM_INDEX, ahp_weights, linear_score, load_framework,
                               parse_framework, rank_intervals, score_counties, score_years, step_score)
from evalkit.paths import SAMPLE

AHP = Path(__file__).parent / "reference" / "ahp"
SAATY = json.loads((AHP / "saaty_examples.json").read_text(encoding="utf-8"))
EXAMPLES = {e["id"]: e for e in SAATY["examples"]}
DEFAULT_TEXT = (Path(__file__).parent.parent / "evalkit" / "framework.toml").read_text(encoding="utf-8")


# --- AHP against Saaty's published examples -------------------------------------------------------


def _within_printed(value: float, printed: float, decimals: int) -> bool:
    return abs(value - printed) <= 0.5 * 10 ** -decimals + 1e-9


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_ahp_matches_saatys_published_values(example):
    e = EXAMPLES[example]
    r = ahp_weights(e["matrix"], labels=e["labels"], allow_inconsistent=True)
    pub, dec = e["published"], e["decimals"]
    for ours, printed in zip(r.weights, pub["weights"], strict=True):
        assert _within_printed(ours, printed, dec["weights"]), (example, r.weights.round(4), pub["weights"])
    for key in ("lambda_max", "ci", "cr"):
        if key in pub:
            assert _within_printed(getattr(r, key), pub[key], dec[key]), (example, key, getattr(r, key))
    assert (r.cr < 0.1) == e["consistent"]


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_ahp_agrees_with_r_eigen(example):
    ref = pd.read_csv(AHP / "ahp_eigen.csv")
    ref = ref[ref["id"] == example].sort_values("element")
    r = ahp_weights(EXAMPLES[example]["matrix"], allow_inconsistent=True)
    np.testing.assert_allclose(r.weights, ref["weight"], rtol=1e-9)
    np.testing.assert_allclose(r.lambda_max, ref["lambda_max"].iloc[0], rtol=1e-9)


def test_random_index_is_saatys_table():
    assert RANDOM_INDEX == {int(k): v for k, v in SAATY["random_index"]["values"].items()}


def test_consistent_matrix_gives_its_ratios_and_zero_cr():
    w = np.array([0.5, 0.25, 0.15, 0.1])
    r = ahp_weights(w[:, None] / w[None, :])
    np.testing.assert_allclose(r.weights, w, rtol=1e-12)
    assert r.lambda_max == pytest.approx(4, abs=1e-9)
    assert r.cr == pytest.approx(0, abs=1e-9)


def test_one_and_two_elements_are_always_consistent():
    assert ahp_weights([[1]]).weights.tolist() == [1.0]
    r = ahp_weights([[1, 3], ["1/3", 1]])
    np.testing.assert_allclose(r.weights, [0.75, 0.25])
    assert (r.ci, r.cr) == (0.0, 0.0)


def test_inconsistent_matrix_is_refused_with_a_message_naming_it():
    house = EXAMPLES["house"]
    with pytest.raises(InconsistentJudgementsError) as info:
        ahp_weights(house["matrix"], labels=house["labels"], name="the house criteria")
    msg = str(info.value)
    assert "the house criteria" in msg
    assert "CR = 0.169" in msg and "not below 0.1" in msg
    assert "allow_inconsistent" in msg
    # it points at one judgement by row, column and labels
    assert "row " in msg and "column " in msg and "'" in msg
    # explicitly overridden: weights are returned
    assert ahp_weights(house["matrix"], allow_inconsistent=True).cr == pytest.approx(0.169, abs=5e-4)
    # a stricter limit refuses a matrix that passes at 0.1
    with pytest.raises(InconsistentJudgementsError):
        ahp_weights(EXAMPLES["wealth_of_nations"]["matrix"], max_cr=0.05)


def test_inconsistency_message_points_at_the_reversed_judgement():
    # a consistent matrix with one judgement reversed: a over d should be 5, is 1/5
    w = np.array([0.5, 0.25, 0.15, 0.1])
    m = w[:, None] / w[None, :]
    m[0, 3], m[3, 0] = 1 / 5, 5
    with pytest.raises(InconsistentJudgementsError, match=r"row 1 \('a'\) against column 4 \('d'\): 1/5"):
        ahp_weights(m, labels=["a", "b", "c", "d"])


@pytest.mark.parametrize("matrix, message", [
    ([[1, 2, 3], [0.5, 1, 2]], "must be square"),
    ([[1, 0], [0, 1]], "must be a positive number; row 1 ('element 1'), column 2 ('element 2') is 0"),
    ([[2, 3], ["1/3", 1]], "compared with itself must be 1; row 1"),
    ([[1, 3], [3, 1]], "must be reciprocal: row 1 ('element 1'), column 2 ('element 2') is 3, so row 2, column 1 "
                       "must be 1/3; it is 3"),
    ([["1", "x"], ["1", "1"]], "list of rows of numbers or fractions"),
    (np.ones((11, 11)), "at most 10 elements"),
])
def test_malformed_matrices_are_refused(matrix, message):
    with pytest.raises(ValueError) as info:
        ahp_weights(matrix)
    assert message in str(info.value)


def test_decimal_reciprocals_pass():
    r = ahp_weights([[1, 3, 5], [0.33, 1, 2], [0.2, 0.5, 1]])
    assert r.cr < 0.1


# --- scoring rules and grades ------------------------------------------------------------------------


def test_linear_score_boundaries_and_direction():
    up = linear_score([0.70, 0.78, 0.835, 0.89, 1.0, 1.3, np.nan], floor=0.78, target=1.0)
    np.testing.assert_allclose(up[:6], [0, 0, 25, 50, 100, 100])
    assert np.isnan(up[6])
    down = linear_score([100, 150, 225, 300, 450, 500], floor=450, target=150)
    np.testing.assert_allclose(down, [100, 100, 75, 50, 0, 0])
    with pytest.raises(ValueError, match="Floor and target must differ"):
        linear_score([1], floor=1, target=1)


def test_step_score_boundaries_are_inclusive():
    steps, points = [0.95, 0.90, 0.85], [100, 80, 60]
    out = step_score([1.0, 0.95, 0.9499999, 0.90, 0.85, 0.8499, np.nan], steps, points, otherwise=10)
    np.testing.assert_array_equal(out[:6], [100, 100, 80, 80, 60, 10])
    assert np.isnan(out[6])
    low = step_score([100, 150, 151, 300, 301], [150, 300], [100, 50], polarity="lower_is_better")
    np.testing.assert_array_equal(low, [100, 100, 50, 50, 0])
    with pytest.raises(ValueError, match="one score per threshold"):
        step_score([1], [1, 2], [100])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=4, max_size=4), st.integers(0, 3), st.floats(0.001, 0.5))
def test_score_is_bounded_and_never_falls_when_an_indicator_improves(values, which, step):
    fw = parse_framework(MINI)
    names = ["station_coverage", "certified_share", "coverage", "home_visit_share"]
    better = list(values)
    better[which] = min(1.0, better[which] + step)
    table = _table({n: [values[k], better[k]] for k, n in enumerate(names)})
    c = score_counties(table, fw, draws=100, seed=0).counties
    assert 0 <= c["score"].min() and c["score"].max() <= 100
    assert c["score"].iloc[1] >= c["score"].iloc[0] - 1e-9


def test_grade_boundaries():
    fw = load_framework()
    scores = [100, 90, 90 - 1e-12, 89.999, 80, 79.99, 60, 59.999, 0, np.nan]
    assert fw.grade(scores).tolist() == ["excellent", "excellent", "excellent", "good", "good", "pass", "pass",
                                         "fail", "fail", None]
    g = fw.grade_frame()
    assert g["zh"].tolist() == ["优秀", "良好", "合格", "不合格"]
    assert g["en"].tolist() == ["Excellent", "Good", "Pass", "Fail"]
    assert g["min"].tolist() == [90, 80, 60, 0]


# --- the framework file ---------------------------------------------------------------------------------


def test_default_framework_validates():
    fw = load_framework()
    assert [t.id for t in fw.tiers] == ["input", "process", "output", "outcome"]
    assert sum(t.weight for t in fw.tiers) == pytest.approx(1)
    assert sum(i.weight for i in fw.indicators) == pytest.approx(1)
    for t in fw.tiers:
        assert sum(i.local_weight for i in fw.indicators if i.tier == t.id) == pytest.approx(1)
        assert t.en and t.zh
    cons = fw.consistency_frame()
    assert (cons.loc[cons["method"] == "ahp", "cr"] < 0.1).all()
    assert not cons["allow_inconsistent"].any()
    frame = fw.indicator_frame()
    assert frame["en"].str.len().gt(0).all() and frame["zh"].str.len().gt(0).all()
    assert frame["polarity"].isin(["higher_is_better", "lower_is_better"]).all()
    # targets of the domain brief
    target = frame.set_index("indicator")["target"]
    assert target["station_coverage"] == 1.0 and target["satisfaction_overall"] == 0.95
    assert len(fw.sha256) == 64


TIER_MATRIX = """  [1,      2,       "1/2",  "1/3"],   # input
  ["1/2",  1,       "1/3",  "1/4"],   # process
  [2,      3,       1,      "1/2"],   # output
  [3,      4,       2,      1],       # outcome"""
#: reciprocal but circular judgements (input > process > output > input): CR far above 0.1
INCONSISTENT = """  [1, 5, "1/5", 3],
  ["1/5", 1, 5, "1/3"],
  [5, "1/5", 1, 3],
  ["1/3", 3, "1/3", 1],"""


def _broken(tmp_path: Path, old: str, new: str, name: str = "my_framework.toml") -> Path:
    assert old in DEFAULT_TEXT, old
    path = tmp_path / name
    path.write_text(DEFAULT_TEXT.replace(old, new, 1), encoding="utf-8")
    return path


def _problems(path: Path) -> list:
    with pytest.raises(FrameworkError) as info:
        load_framework(path)
    return info.value.problems


def test_inconsistent_matrix_in_file_is_refused_naming_its_key(tmp_path):
    path = _broken(tmp_path, TIER_MATRIX, INCONSISTENT)
    problems = _problems(path)
    assert [p.rule for p in problems] == ["consistency_ratio"]
    p = problems[0]
    assert p.file == "my_framework.toml" and p.key == "tier_weights.matrix"
    assert "'tier_weights'" in p.message and "CR = " in p.message
    assert str(p).startswith("my_framework.toml, key 'tier_weights.matrix': The pairwise comparisons")


def test_reciprocity_broken_in_file(tmp_path):
    path = _broken(tmp_path, '[1,      2,       "1/2",  "1/3"],   # input', '[1,      3,       "1/2",  "1/3"],   # input')
    problems = _problems(path)
    assert problems[0].rule == "matrix_reciprocal"
    assert "row 1 ('input'), column 2 ('process') is 3, so row 2, column 1 must be 1/3; it is 1/2" in problems[0].message


def test_inconsistent_matrix_accepted_only_with_a_reason(tmp_path):
    text = DEFAULT_TEXT.replace(TIER_MATRIX, INCONSISTENT, 1)
    no_reason = text.replace('[tier_weights]\nmethod = "ahp"', '[tier_weights]\nmethod = "ahp"\nallow_inconsistent = true', 1)
    with pytest.raises(FrameworkError) as info:
        parse_framework(no_reason)
    assert [p.rule for p in info.value.problems] == ["reason_required"]
    ok = no_reason.replace('"ahp"\nallow_inconsistent = true', '"ahp"\nallow_inconsistent = true\nreason = "panel decision"', 1)
    fw = parse_framework(ok)
    row = fw.consistency_frame().set_index("key").loc["tier_weights"]
    assert row["cr"] >= 0.1 and not row["consistent"] and row["allow_inconsistent"] and row["reason"] == "panel decision"


@pytest.mark.parametrize("old, new, key, rule, words", [
    ("target = 0.2\n", "targett = 0.2\n", "indicators.coverage.targett", "unknown_key", "misspelt"),
    ('scoring = { rule = "linear", floor = 0.78 }', 'scoring = { rule = "linear", floor = 1.2 }',
     "indicators.station_coverage.scoring.floor", "floor_below_target", "below the target 1"),
    ('scoring = { rule = "linear", floor = 450 }', 'scoring = { rule = "linear", floor = 100 }',
     "indicators.cost_per_person_time.scoring.floor", "floor_above_target", "above the target 150"),
    ('measure = "satisfaction_rate"\nitem = "q_overall"', 'measure = "satisfaction_rat"\nitem = "q_overall"',
     "indicators.satisfaction_overall.measure", "known_measure", "is not an indicator of the indicator table"),
    ('weights = { satisfaction_overall = 0.6, satisfaction_effect = 0.4 }',
     'weights = { satisfaction_overall = 0.6, satisfaction_effect = 0.3 }',
     "tiers.outcome.weights.weights", "sum_to_one", "add up to 0.9"),
    ('weights = { satisfaction_overall = 0.6, satisfaction_effect = 0.4 }', 'weights = { satisfaction_overall = 1 }',
     "tiers.outcome.weights.weights", "members_missing", "missing: satisfaction_effect"),
    ('id = "good"\nen = "Good"\nzh = "良好"\nmin = 80', 'id = "good"\nen = "Good"\nzh = "良好"\nmin = 95',
     "grades[2].min", "grades_descending", "must be below the one before (90)"),
    ('id = "fail"\nen = "Fail"\nzh = "不合格"\nmin = 0', 'id = "fail"\nen = "Fail"\nzh = "不合格"\nmin = 10',
     "grades[4].min", "lowest_grade_zero", "must start at 0"),
    ('tier = "process"\nen = "Public spending', 'tier = "proces"\nen = "Public spending',
     "indicators.cost_per_person_time.tier", "known_tier", "is not one of the tiers"),
    ('polarity = "lower_is_better"\n', "", "indicators.cost_per_person_time.polarity", "polarity",
     "a scored indicator needs a direction"),
    ('[0.95, 100], [0.90, 80]', '[0.95, 100], [0.96, 80]', "indicators.satisfaction_overall.scoring.steps[2]",
     "steps_order", "must be below the one before (0.95)"),
    ('uncertainty = "none"\n\n[indicators.social', 'uncertainty = "fixed"\n\n[indicators.social',
     "indicators.station_coverage.uncertainty", "uncertainty", "'interval'"),
    ('item = "q_effect"', 'item = "all"', "indicators.satisfaction_effect.item", "survey_item", "name the question"),
])
def test_each_rule_is_reported_with_file_key_and_value(tmp_path, old, new, key, rule, words):
    problems = _problems(_broken(tmp_path, old, new))
    match = [p for p in problems if p.key == key and p.rule == rule]
    assert match, [(p.key, p.rule, p.message) for p in problems]
    assert words in match[0].message
    assert all(p.file == "my_framework.toml" for p in problems)


def test_every_problem_is_reported_at_once(tmp_path):
    text = (DEFAULT_TEXT.replace("target = 0.2\n", "targett = 0.2\n", 1)
            .replace('floor = 0.78 }', 'floor = 1.5 }', 1)
            .replace("max_missing_weight = 0.25", "max_missing_weight = 1.5", 1))
    with pytest.raises(FrameworkError) as info:
        parse_framework(text, file="x.toml")
    rules = {p.rule for p in info.value.problems}
    assert {"unknown_key", "floor_below_target", "range"} <= rules
    assert str(info.value).startswith(f"{len(info.value.problems)} problem(s) in the indicator framework:")
    assert "x.toml, key 'max_missing_weight': must be from 0 to 0.99; got 1.5." in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(FrameworkError, match="does not exist"):
        load_framework(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x\n', encoding="utf-8")
    with pytest.raises(FrameworkError) as info:
        load_framework(bad)
    assert info.value.problems[0].rule == "toml_syntax" and "bad.toml" in str(info.value)


# --- composite scores on a made-up table ------------------------------------------------------------------

MINI = '''
id = "mini"
en = "Mini"
zh = "迷你"
max_missing_weight = 0.3
grades = [{ id = "excellent", en = "Excellent", zh = "优秀", min = 90 }, { id = "good", en = "Good", zh = "良好", min = 80 },
          { id = "pass", en = "Pass", zh = "合格", min = 60 }, { id = "fail", en = "Fail", zh = "不合格", min = 0 }]
[tiers.input]
en = "Input"
zh = "投入"
weights = { method = "direct", weights = { station_coverage = 0.5, certified_share = 0.5 } }
[tiers.outcome]
en = "Outcome"
zh = "成效"
weights = { method = "direct", weights = { coverage = 0.6, home_visit_share = 0.4 } }
[tier_weights]
method = "direct"
weights = { input = 0.25, outcome = 0.75 }
[indicators.station_coverage]
tier = "input"
en = "a"
zh = "甲"
target = 1
scoring = { rule = "linear", floor = 0 }
[indicators.certified_share]
tier = "input"
en = "b"
zh = "乙"
target = 1
scoring = { rule = "linear", floor = 0 }
[indicators.coverage]
tier = "outcome"
en = "c"
zh = "丙"
target = 1
scoring = { rule = "linear", floor = 0 }
[indicators.home_visit_share]
tier = "outcome"
en = "d"
zh = "丁"
target = 1
scoring = { rule = "linear", floor = 0 }
'''


def _table(values: dict[str, list[float]], half_width: float | list[float] = 0.0) -> pd.DataFrame:
    """A county-level indicator table: one row per county and indicator, intervals value +/- half_width."""
    rows = []
    for ind, vals in values.items():
        hw = np.broadcast_to(np.asarray(half_width, dtype=float), (len(vals),))
        for k, v in enumerate(vals):
            rows.append({"level": "county", "code": f"C{k:03d}", "county_code": f"C{k:03d}", "prefecture_code": "P1",
                         "name_en": f"County {k}", "name_zh": f"县{k}", "year": 2025, "indicator": ind, "item": "all",
                         "group": "all", "value": v, "se": np.nan,
                         "lower": np.nan if hw[k] == 0 else v - hw[k], "upper": np.nan if hw[k] == 0 else v + hw[k],
                         "confidence": 0.95, "suppressed": np.isnan(v), "suppression_reason": None})
    return pd.DataFrame(rows)


def test_weighted_sum_and_missing_indicators_reweighted_within_tier():
    fw = parse_framework(MINI)
    nan = np.nan
    table = _table({"station_coverage": [0.8, nan, nan, 0.8], "certified_share": [0.4, 0.4, nan, 0.4],
                    "coverage": [0.9, 0.9, 0.9, nan], "home_visit_share": [0.5, 0.5, 0.5, nan]})
    s = score_counties(table, fw, draws=200, seed=1)
    c = s.counties.set_index("code")
    # nothing missing: 0.25 (0.5*80 + 0.5*40) + 0.75 (0.6*90 + 0.4*50)
    assert c.loc["C000", "score"] == pytest.approx(0.25 * 60 + 0.75 * 74)
    # one input missing: its weight goes to the other input indicator
    assert c.loc["C001", "score"] == pytest.approx(0.25 * 40 + 0.75 * 74)
    assert c.loc["C001", "missing"] == "station_coverage"
    assert c.loc["C001", "missing_weight"] == pytest.approx(0.125)
    # a whole tier missing (0.25 <= 0.3): the tier's weight goes to the other tier
    assert c.loc["C002", "score"] == pytest.approx(74)
    assert c.loc["C002", "graded"] and np.isnan(c.loc["C002", "score_input"])
    # the outcome tier missing (0.75 > 0.3): no score, grade or rank, and why
    assert not c.loc["C003", "graded"] and np.isnan(c.loc["C003", "score"])
    assert c.loc["C003", "reason"] == "too_much_missing" and pd.isna(c.loc["C003", "grade"])
    assert pd.isna(c.loc["C003", "rank"]) and c["n_ranked"].eq(3).all()
    assert c.loc["C003", "score_input"] == pytest.approx(60)
    # effective weights add up to 1 for every graded county, 0 for missing indicators
    ind = s.indicators
    sums = ind.groupby("code")["weight"].sum()
    assert sums[["C000", "C001", "C002"]].tolist() == pytest.approx([1, 1, 1])
    assert (ind.loc[ind["missing"], "weight"] == 0).all()
    assert set(ind.loc[ind["missing"], "uncertainty"]) == {"missing"}
    # no interval anywhere: every draw equals the point score
    assert (c["score_lower"].dropna() == c["score"].dropna()).all()
    assert c.loc[["C000", "C001", "C002"], "grade_probability"].tolist() == [1, 1, 1]


def test_grade_probabilities_and_determinism():
    fw = parse_framework(MINI)
    rng = np.random.default_rng(3)
    vals = {k: rng.uniform(0.5, 0.99, 30).tolist() for k in ("station_coverage", "certified_share", "coverage",
                                                              "home_visit_share")}
    table = _table(vals, half_width=0.05)
    a = score_counties(table, fw, draws=500, seed=7).counties
    b = score_counties(table, fw, draws=500, seed=7).counties
    pd.testing.assert_frame_equal(a, b)
    c = score_counties(table, fw, draws=500, seed=8).counties
    assert not np.allclose(a["score_lower"], c["score_lower"])
    np.testing.assert_allclose(a["score"], c["score"])  # point scores do not depend on the draws
    p = a[["p_excellent", "p_good", "p_pass", "p_fail"]].sum(axis=1)
    np.testing.assert_allclose(p, 1)
    # the probability of the point grade is the matching p_ column
    for g in ("excellent", "good", "pass", "fail"):
        rows = a["grade"] == g
        np.testing.assert_allclose(a.loc[rows, "grade_probability"], a.loc[rows, f"p_{g}"])
    assert (a["score_lower"] <= a["score"] + 1e-9).all() and (a["score"] <= a["score_upper"] + 1e-9).all()
    assert (a["rank_lower"] <= a["rank"]).all() and (a["rank"] <= a["rank_upper"]).all()
    assert sorted(a["rank"]) == list(range(1, 31))


def test_draws_are_chunk_independent(monkeypatch):
    """Draws are simulated in chunks to bound memory; the chunk size does not change the results."""
    import evalkit.framework.simulation as framework

    fw = parse_framework(MINI)
    table = _table({k: [0.6, 0.7, 0.8, 0.85] for k in ("station_coverage", "certified_share", "coverage",
                                                       "home_visit_share")}, half_width=0.1)
    one = score_counties(table, fw, draws=1500, seed=2)
    monkeypatch.setattr(framework, "_CHUNK", 256)
    other = score_counties(table, fw, draws=1500, seed=2)
    pd.testing.assert_frame_equal(one.counties, other.counties)
    pd.testing.assert_frame_equal(one.tiers, other.tiers)


def test_scoring_errors_are_clear():
    fw = parse_framework(MINI)
    table = _table({"station_coverage": [0.5], "certified_share": [0.5], "coverage": [0.5]})
    with pytest.raises(ValueError, match="no county rows in 2025 for framework indicator 'home_visit_share'"):
        score_counties(table, fw)
    full = _table({k: [0.5] for k in ("station_coverage", "certified_share", "coverage", "home_visit_share")})
    with pytest.raises(ValueError, match="more than one row for county 'C000'"):
        score_counties(pd.concat([full, full]), fw)
    with pytest.raises(ValueError, match="no county rows at confidence 0.95 in 2019"):
        score_counties(full, fw, year=2019)
    with pytest.raises(ValueError, match="Draws must be a whole number"):
        score_counties(full, fw, draws=10)
    with pytest.raises(ValueError, match="lacks column"):
        score_counties(full.drop(columns="se"), fw)


# --- rank intervals cover the true rank at the nominal rate ----------------------------------------------


def test_rank_intervals_cover_true_ranks_at_nominal_rate():
    """Simulation: 60 counties whose true scores spread with SD 8 points, each estimated with a standard
    error of 1-3 points (the sample province's composite spreads with SD 17 and has interval half-widths of
    about 5, i.e. SE about 2.6: similar signal to noise).  Over 100 provinces the 95% rank intervals of
    score_counties cover the true rank of 95.6% of counties (seed fixed) and the score intervals the true
    score of 94.5%.  (When true scores hardly differ, plug-in rank intervals cover less: docs/framework.md.)"""
    fw = parse_framework(MINI.replace("max_missing_weight = 0.3", "max_missing_weight = 0.9"))
    rng = np.random.default_rng(20250101)
    covered, covered_score, total = 0, 0, 0
    for rep in range(100):
        truth = rng.normal(0.5, 0.08, 60)
        se = rng.uniform(0.01, 0.03, 60)
        observed = truth + rng.normal(0, se)
        nan = [np.nan] * 60
        table = _table({"coverage": observed.tolist(), "station_coverage": nan, "certified_share": nan,
                        "home_visit_share": nan}, half_width=1.959964 * se)
        c = score_counties(table, fw, draws=1000, seed=rep).counties
        true_rank = 1 + (truth[None, :] > truth[:, None]).sum(axis=1)
        covered += int(((c["rank_lower"] <= true_rank) & (true_rank <= c["rank_upper"])).sum())
        covered_score += int(((c["score_lower"] <= 100 * truth) & (100 * truth <= c["score_upper"])).sum())
        total += 60
    assert 0.93 <= covered / total <= 0.975, covered / total
    assert 0.93 <= covered_score / total <= 0.97, covered_score / total


def test_rank_intervals_basics():
    sims = np.array([[3.0, 2.0, 1.0], [2.0, 3.0, 1.0], [3.0, 3.0, 1.0]] * 10)
    r = rank_intervals(sims, point=np.array([3.0, 3.0, 1.0]), confidence=0.9)
    assert r["rank"].tolist() == [1, 1, 3]  # ties share the best rank
    assert r["rank_lower"].tolist() == [1, 1, 3] and r["rank_upper"].tolist() == [2, 2, 3]
    with pytest.raises(ValueError, match="2-d array"):
        rank_intervals(np.ones(3))


# --- the shipped framework on generated provinces ----------------------------------------------------------


@pytest.fixture(scope="module")
def small_table(small_province, tmp_path_factory):
    from evalkit.results import indicator_table as cached_indicator_table

    table, _ = cached_indicator_table(small_province, tmp_path_factory.mktemp("cache"))
    return table


def test_default_framework_grades_the_small_province(small_table):
    s = score_counties(small_table)
    c = s.counties
    assert len(c) == 4 and c["graded"].all() and c["grade"].isin(["excellent", "good", "pass", "fail"]).all()
    assert c["grade_probability"].between(0, 1).all() and c["rank_lower"].notna().all()
    assert (c["rank_lower"] <= c["rank_upper"]).all()
    assert set(s.tiers["tier"]) == {"input", "process", "output", "outcome"}
    assert s.provenance()["framework_id"] == "township-stations-default"
    # the county whose 2024 survey is missing is not graded that year, and the reason says why
    years = score_years(small_table, draws=500)
    assert set(years["year"]) == {2023, 2024, 2025}
    ungraded = years[~years["graded"]]
    assert len(ungraded) == 1 and ungraded["year"].item() == 2024
    assert ungraded["reason"].item() == "too_much_missing"
    assert ungraded["missing"].item() == "satisfaction_overall,satisfaction_effect"


@pytest.mark.slow
def test_every_sample_county_gets_a_grade_probability_and_rank_interval():
    from evalkit.results import indicator_table as cached_indicator_table

    assert (SAMPLE / "survey.parquet").exists(), "the sample province is not generated: make sample (make test does)"
    table, _ = cached_indicator_table(SAMPLE)
    s = score_counties(table)
    c = s.counties
    assert len(c) == 122 and c["graded"].all()
    assert c["grade"].notna().all() and c["grade_probability"].notna().all()
    assert c[["rank", "rank_lower", "rank_upper"]].notna().all().all()
    assert s.draws == DEFAULT_DRAWS
