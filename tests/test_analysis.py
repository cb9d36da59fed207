"""The researcher's side of evalkit (issue 19, items 3 and 5): ``evalkit.load_province`` validates once and serves
the validated tables from the cache to every later process, ``province.indicators()`` is the indicator table with
labels, codes as text and the survey figures' design statistics, and ``import evalkit`` is light and discoverable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import evalkit
from conftest import BASE, TODAY
from evalkit import analysis, fingerprint, registry, results, schema
from test_stops import _package_copy

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- import evalkit, dir(evalkit)


def test_import_evalkit_is_light_and_dir_lists_the_api_and_the_submodules():
    """A researcher types ``evalkit.<Tab>``: the functions and the submodules are offered, and importing evalkit
    imports no pandas (a submodule loads when first used)."""
    code = ("import sys, evalkit; d = dir(evalkit); print(repr(sorted(m for m in ('pandas', 'numpy', 'evalkit.measures')"
            " if m in sys.modules))); print(repr(d)); m = evalkit.measures; print(m.__name__, 'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    loaded, listed, lazily = done.stdout.splitlines()
    assert eval(loaded) == []  # noqa: S307 - our own subprocess's repr
    listed = eval(listed)  # noqa: S307
    for name in ("load_province", "Province", "Indicators", "validate_province", "synthesize", "load_framework",
                 "measures", "schema", "registry", "indicators", "results", "report", "analysis"):
        assert name in listed, name
    assert not [n for n in listed if n.startswith("_") and not n.startswith("__")]  # no private module offered
    assert lazily.split()[0] == "evalkit.measures"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        evalkit.nonexistent  # noqa: B018


def test_the_top_level_load_province_is_the_researchers_and_schema_keeps_the_validation_entry():
    assert evalkit.load_province is analysis.load_province and evalkit.Province is analysis.Province
    assert issubclass(analysis.Province, schema.Province)
    assert schema.load_province is not analysis.load_province


# --------------------------------------------------------------------------- validated tables cached on disk


def _copy_base(tmp_path: Path) -> Path:
    return Path(shutil.copytree(BASE, tmp_path / "province"))


def _counting(monkeypatch) -> list:
    """Count the validations (schema.validate_province calls) from now on."""
    calls: list = []
    real = schema.validate_province

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(schema, "validate_province", counted)
    return calls


def test_a_second_load_reads_the_validated_tables_from_the_cache_and_an_edited_byte_validates_again(
        tmp_path, monkeypatch):
    data, cache = _copy_base(tmp_path), tmp_path / "cache"
    # county 090202's 2024 questionnaires not delivered: a warning, which the cached tables keep
    survey = data / "survey.csv"
    lines = survey.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    year, county = header.index("year"), header.index("county_code")
    survey.write_text("".join([lines[0]] + [line for line in lines[1:] if (line.split(",")[year],
                                            line.split(",")[county]) != ("2024", "090202")]), encoding="utf-8")
    fresh = schema.load_province(data)
    assert [w.rule for w in fresh.warnings] == ["county_year_not_in_data"]
    calls = _counting(monkeypatch)
    first = evalkit.load_province(data, cache_dir=cache)
    assert len(calls) == 1 and len(list(cache.glob("province-*"))) == 1

    again = evalkit.load_province(data, cache_dir=cache)
    assert len(calls) == 1, "unchanged inputs and code: served from the cache, not validated again"
    assert isinstance(again, analysis.Province) and again.data_dir == data
    for name, frame in fresh.tables().items():
        pd.testing.assert_frame_equal(again.tables()[name], frame, check_exact=True)
    assert again.meta == fresh.meta and again.warnings == fresh.warnings and again.sources == fresh.sources
    assert first.years == again.years

    # one byte of one input file: validated again, and the edited value is what is served
    regions = data / "regions.csv"
    text = regions.read_text(encoding="utf-8")
    assert text.count(",47583,") == 1
    regions.write_text(text.replace(",47583,", ",47584,"), encoding="utf-8")
    edited = evalkit.load_province(data, cache_dir=cache)
    assert len(calls) == 2
    assert 47584 in set(edited.regions["population"]) and 47583 not in set(edited.regions["population"])
    assert len(list(cache.glob("province-*"))) == 1, "the folder's older entry is removed"
    evalkit.load_province(data, cache_dir=cache)
    assert len(calls) == 2


def test_data_that_fails_validation_is_never_cached(tmp_path, monkeypatch):
    data, cache = _copy_base(tmp_path), tmp_path / "cache"
    survey = data / "survey.csv"
    lines = survey.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[header.index("weight")] = "-1"
    survey.write_text("".join([lines[0], ",".join(cells) + "\n", *lines[2:]]), encoding="utf-8")
    calls = _counting(monkeypatch)
    for _ in range(2):
        with pytest.raises(evalkit.DataValidationError):
            evalkit.load_province(data, cache_dir=cache)
    assert len(calls) == 2 and not list(cache.glob("province-*"))


def test_a_damaged_cache_entry_is_named_discarded_and_built_again(tmp_path, monkeypatch):
    data, cache = _copy_base(tmp_path), tmp_path / "cache"
    evalkit.load_province(data, cache_dir=cache)
    fresh = schema.load_province(data)
    (entry,) = cache.glob("province-*")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])  # a truncated write
    calls = _counting(monkeypatch)
    with pytest.warns(fingerprint.CacheWarning, match=entry.name):
        again = evalkit.load_province(data, cache_dir=cache)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(again.survey, fresh.survey)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evalkit.load_province(data, cache_dir=cache)  # rebuilt: read without a word
    assert len(calls) == 1


_LOAD = """
import json, sys
from pathlib import Path
import evalkit.schema as schema
calls = []
real = schema.validate_province
def counted(*a, **k):
    calls.append(1)
    return real(*a, **k)
schema.validate_province = counted
import evalkit
p = evalkit.load_province(sys.argv[1], cache_dir=sys.argv[2])
print(json.dumps({"validated": len(calls), "entries": sorted(f.name for f in Path(sys.argv[2]).glob("province-*")),
                  "type": type(p).__module__ + "." + type(p).__name__}))
"""


def _load_in(package: Path, data: Path, cache: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _LOAD, str(data), str(cache)], capture_output=True, text=True,
                          timeout=600, cwd=package, env={**os.environ, "PYTHONPATH": str(package)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_fresh_process_hits_the_cache_and_a_change_to_the_validation_code_misses_it(tmp_path):
    """The entry is keyed by the code hash of evalkit.schema (schema.py, io.py, personal.py, tables.toml, codes.toml
    ...): a new version of any of them validates again; code validation does not run (the generator) does not."""
    data = _copy_base(tmp_path)
    same = _package_copy(tmp_path, None)
    before = _load_in(same, data, tmp_path / "cache-none")
    assert before == {"validated": 1, "entries": before["entries"], "type": "evalkit.analysis.Province"}
    assert _load_in(same, data, tmp_path / "cache-none")["validated"] == 0, "a fresh process reads the cache"
    for edit in ("schema.py", "io.py", "personal.py", "tables.toml", "codes.toml", "synth.py"):
        got = _load_in(_package_copy(tmp_path, edit), data, tmp_path / f"cache-{edit}")
        assert got["validated"] == 1
        assert (got["entries"] == before["entries"]) == (edit == "synth.py"), edit


# --------------------------------------------------------------------------- the indicator table for research


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> analysis.Indicators:
    data = Path(shutil.copytree(BASE, tmp_path_factory.mktemp("indicators") / "province"))
    province = evalkit.load_province(data, cache_dir=data.parent / "cache", today=TODAY)
    return province.indicators()


def test_get_gives_the_headline_rows_of_the_latest_year_with_codes_as_text_and_design_statistics(table):
    got = table.get("satisfaction_rate")
    latest = int(table.frame.loc[table.frame["indicator"] == "satisfaction_rate", "year"].max())
    assert set(got["level"]) == {"county"} and set(got["year"]) == {latest}
    assert set(got["group"]) == {"all"} and set(got["item"]) == {"q_overall"} and set(got["confidence"]) == {0.95}
    assert len(got) == got["code"].nunique() > 0
    assert all(isinstance(c, str) and len(c) == 6 for c in got["code"]) and got["code"].str.startswith("0").all()
    assert {"df", "deff", "n_eff"} <= set(got.columns)
    shown = got[~got["suppressed"]]
    # deff as R's deff=TRUE (missing where the weights sum to n or less); n_eff = n / deff
    assert shown["deff"].notna().any() and shown["n_eff"].notna().equals(shown["deff"].notna())
    assert (shown["n_eff"] - shown["n"] / shown["deff"]).abs().max() < 1e-9
    # df: the county's PSUs less its strata (townships) among that wave's respondents, counted from the survey
    survey = schema.load_province(BASE, today=TODAY).survey
    wave = survey[survey["year"] == latest]
    counted = wave.groupby("county_code")[["township_code", "psu"]].apply(
        lambda d: len(d.drop_duplicates()) - d["township_code"].nunique())
    assert dict(zip(got["code"], got["df"])) == {c: float(v) for c, v in counted.items()}
    # a figure that is not from the survey has no design statistics, and the survey's default item does not apply
    coverage = table.get("coverage", level="province", year="all")
    assert len(coverage) == coverage["year"].nunique() >= 1 and set(coverage["item"]) == {"all"}
    assert coverage[["df", "deff", "n_eff"]].isna().all().all() and (coverage["code"] == "09").all()


def test_labels_in_english_and_chinese(table):
    zh = table.get("satisfaction_rate", level="province", group=None, lang="zh")
    assert (zh["indicator_name"] == registry.get("satisfaction_rate").zh).all()
    dibao = zh[zh["group"] == "dibao"]
    assert (dibao["group_name"] == schema.codes("person_group")["dibao"]["zh"]).all()
    assert (zh.loc[zh["group"] == "all", "group_name"] == "全部").all()
    assert (zh["item_name"] == "总体满意度").all() and (zh["name"] == "示例省（合成数据）").all()
    en = table.get("satisfaction_rate", level="province", lang="en")
    assert (en["indicator_name"] == registry.get("satisfaction_rate").en).all() and "name_zh" not in en


@pytest.mark.parametrize("call, message", [
    (dict(indicator="satisfaction"), r"no indicator 'satisfaction'.*did you mean .*'satisfaction_rate'"),
    (dict(indicator="covrage"), r"did you mean 'coverage'"),
    (dict(indicator="coverage", level="city"), r"level 'city' .* township, county, prefecture, province"),
    (dict(indicator="coverage", year=1999), r"no year 1999 for indicator coverage; the table has 20"),
    (dict(indicator="satisfaction_rate", group="children"), r"no group 'children' .* dibao"),
    (dict(indicator="satisfaction_rate", item="q_all"), r"no item 'q_all' .* q_overall"),
    (dict(indicator="coverage", confidence=95), r"confidence 95 is not computed .* 0.95, 0.998"),
    (dict(indicator="coverage", lang="fr"), r"lang must be one of en, zh"),
])
def test_clear_errors_for_what_the_table_does_not_have(table, call, message):
    with pytest.raises(ValueError, match=message):
        table.get(**call)


def test_to_excel_writes_codes_as_text_and_a_codebook(table, tmp_path):
    from openpyxl import load_workbook

    rows = table.get("satisfaction_rate", level="township", year="all")
    path = table.to_excel(tmp_path / "satisfaction.xlsx", rows)
    book = load_workbook(path)
    assert book.sheetnames == ["indicators", "codebook"]
    sheet = book["indicators"]
    header = [c.value for c in sheet[1]]
    assert sheet.max_row == len(rows) + 1
    for column in ("code", "county_code", "township_code", "prefecture_code", "province_code"):
        cells = [row[header.index(column)] for row in sheet.iter_rows(min_row=2)]
        assert all(c.data_type == "s" and isinstance(c.value, str) and c.number_format == "@" for c in cells), column
        assert [c.value for c in cells] == rows[column].tolist()
    values = [row[header.index("value")].value for row in sheet.iter_rows(min_row=2)]
    assert values == [None if pd.isna(v) else pytest.approx(v) for v in rows["value"]]  # a blank cell: suppressed
    assert any(v is not None for v in values)
    codebook = pd.DataFrame(list(book["codebook"].values)[1:], columns=[c.value for c in book["codebook"][1]])
    assert set(codebook["indicator"]) == set(table.names)
    entry = codebook.set_index("indicator").loc["satisfaction_rate"]
    e = registry.get("satisfaction_rate")
    assert (entry["name_en"], entry["name_zh"], entry["unit"], entry["polarity"], entry["tier"]) == (
        e.en, e.zh, e.unit, e.polarity, e.tier)
    assert entry["definition_en"] == e.definition_en and entry["method"] == "beta"
    # without rows: every indicator's headline figure of every county in the latest year
    default = load_workbook(table.to_excel(tmp_path / "all.xlsx"))["indicators"]
    assert default.max_row - 1 == len(table.get(None))


def test_the_province_gives_its_survey_as_the_design_module_builds_it(tmp_path):
    """province.survey_design(year) is evalkit.measures.design.survey_design of the same tables (issue 19, item 1):
    the same estimates, from the cached tables as from freshly validated ones."""
    from evalkit.measures.design import SurveyDesign, survey_design

    data = _copy_base(tmp_path)
    evalkit.load_province(data, cache_dir=tmp_path / "cache")
    cached = evalkit.load_province(data, cache_dir=tmp_path / "cache")  # from the cache
    design = cached.survey_design(2025)
    assert isinstance(design, SurveyDesign)
    pd.testing.assert_frame_equal(design.mean("q_overall", by="county_code"),
                                  survey_design(schema.load_province(data), 2025).mean("q_overall", by="county_code"))
