"""The indicator registry (evalkit/indicators.toml, evalkit.registry): one place for each indicator."""

from __future__ import annotations

import ast
import importlib
import re
from importlib import resources
from pathlib import Path

import pytest

from evalkit import registry
from evalkit.registry import RegistryError, parse

ROOT = Path(__file__).resolve().parents[1]
TEXT = resources.files("evalkit").joinpath("indicators.toml").read_text(encoding="utf-8")
ENTRY = """
[a_share]
en = "A share"
zh = "甲占比"
tier = "output"
unit = "proportion"
polarity = "higher_is_better"
kind = "persons"
measure = "evalkit.measures.reach:coverage"
sources = ["services"]
section = { reach = 10 }
definition_en = "A ÷ B."
definition_zh = "甲÷乙。"
recommendation_en = "Do more A."
recommendation_zh = "多做甲。"
"""


def _without(key: str) -> str:
    return "\n".join(line for line in ENTRY.splitlines() if not line.startswith(f"{key} ="))


def test_a_well_formed_entry_is_read_with_its_defaults():
    e = parse(ENTRY)["a_share"]
    assert (e.compare, e.item, e.persons, e.target, e.output) == (True, "all", "n", None, None)
    assert (e.module, e.function) == ("evalkit.measures.reach", "coverage")
    assert e.short("zh") == "甲占比"  # no short name: the full name


@pytest.mark.parametrize("text, message", [
    (ENTRY + 'colour = "red"\n', r"\[a_share\] key 'colour': unknown key"),
    (_without("zh"), r"\[a_share\] key 'zh': is required and missing"),
    (_without("recommendation_zh"), r"\[a_share\] key 'recommendation_zh': is required and missing"),
    (ENTRY + 'short_en = "A"\n', r"\[a_share\] key 'short_zh': is missing"),
    (ENTRY.replace('unit = "proportion"', 'unit = "percent"'), r"\[a_share\] key 'unit': 'percent' is not one of"),
    (ENTRY.replace("reach = 10", "appendix = 10"), r"\[a_share\] key 'section': unknown section 'appendix'"),
    (ENTRY.replace('"evalkit.measures.reach:coverage"', '"reach.coverage"'), r"\[a_share\] key 'measure'"),
    (ENTRY.replace('["services"]', '["ledger"]'), r"\[a_share\] key 'sources'"),
    (ENTRY + ENTRY.replace("[a_share]", "[b_share]").replace("reach:coverage", "reach:cost"),
     r"\[b_share\] key 'section': position 10 in 'reach' is taken by 'a_share'"),
])
def test_a_broken_entry_is_refused_naming_the_indicator_and_the_key(text, message):
    with pytest.raises(RegistryError, match=message):
        parse(text)


def test_every_indicator_has_its_texts_in_english_and_chinese_and_in_the_catalogues():
    from evalkit.report.i18n import t

    for name, e in registry.indicators().items():
        for lang in ("en", "zh"):
            assert t(f"definition.{name}", lang) == getattr(e, f"definition_{lang}")
            assert t(f"recommend.{name}", lang) == getattr(e, f"recommendation_{lang}")
            if e.short_en:
                assert t(f"indicator_short.{name}", lang) == getattr(e, f"short_{lang}")
        assert re.search(r"[\u4e00-\u9fff]", e.zh + e.definition_zh + e.recommendation_zh)


def test_the_catalogue_files_hold_no_indicator_text():
    for lang in ("en", "zh"):
        text = (ROOT / "evalkit" / "report" / "locale" / f"{lang}.toml").read_text(encoding="utf-8")
        found = [name for name in registry.indicators() if re.search(rf"^{name}\s*=", text, re.M)]
        assert not found, f"{lang}.toml lists indicators the registry holds: {found}"


def test_every_measure_is_a_public_function_of_its_module_and_every_output_is_one_it_gives():
    for name, e in registry.indicators().items():
        module = importlib.import_module(e.module)
        assert e.function in module.__all__ and callable(getattr(module, e.function)), name
    from evalkit.measures.reach import COST_MEASURES, STAFFING_MEASURES
    from evalkit.measures.satisfaction import MEASURES

    gives = {"staffing": STAFFING_MEASURES, "cost": COST_MEASURES, "satisfaction": tuple(MEASURES.values())}
    for name, e in registry.indicators().items():
        if e.function in gives:
            assert e.output in gives[e.function], name
        else:
            assert e.output is None, name


def test_the_table_has_exactly_the_registered_indicators_with_their_catalogue_columns():
    from evalkit.indicators import SOURCES, catalogue

    cat = catalogue()
    assert list(cat.index) == list(registry.indicators())
    assert list(cat.columns) == ["en", "zh", "tier", "unit", "polarity", "kind", "target", "compare"]
    assert SOURCES == registry.sources()


def test_the_report_lists_are_the_registry_sections():
    from evalkit.report import overview, sections

    assert sections.HEADLINE == registry.pairs("summary")
    assert sections.TOWNSHIP == registry.pairs("reach")
    assert sections.STAFFING == registry.names(section="staffing")
    assert overview.KEY_FIGURES == registry.pairs("overview")
    assert ("home_visit_share", "all") in sections.TOWNSHIP


def _listed_indicators(tree: ast.AST, names: set[str]) -> list[tuple[int, list[str]]]:
    """Literal tuples, lists, sets and dicts (keys and values, nested tuples too) that name two or more
    indicators: a list of indicators outside the registry."""
    def strings(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [s for n in node.elts for s in strings(n)]
        return []

    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = strings(node)
        elif isinstance(node, ast.Dict):
            values = [s for n in [*node.keys, *node.values] if n is not None for s in strings(n)]
        else:
            continue
        named = sorted(set(values) & names)
        if len(named) >= 2:
            found.append((node.lineno, named))
    return found


def test_no_module_lists_indicators_outside_the_registry():
    """The measures name their own outputs (a staffing measure's codes); everything above them (the table, the
    framework, the report, the notebooks' helpers) takes its lists of indicators from the registry."""
    names = set(registry.indicators())
    offenders = []
    for path in sorted((ROOT / "evalkit").rglob("*.py")):
        if "measures" in path.relative_to(ROOT / "evalkit").parts:
            continue
        for line, named in _listed_indicators(ast.parse(path.read_text(encoding="utf-8")), names):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {', '.join(named)}")
    assert not offenders, "indicators listed outside evalkit/indicators.toml:\n" + "\n".join(offenders)


def test_the_scan_finds_a_list_of_indicators():
    code = 'HEADLINE = (("coverage", "all"), ("home_visit_share", "all"))\nx = {"coverage": 1}\n'
    assert _listed_indicators(ast.parse(code), set(registry.indicators())) == [
        (1, ["coverage", "home_visit_share"])]


def test_an_indicator_that_no_pass_of_the_table_computes_is_refused(monkeypatch):
    """A registered indicator whose measures module the table has no pass for would be missing from the table
    without a word: building the table refuses it instead."""
    from evalkit import indicators

    extra = (ENTRY.replace("[a_share]", "[z_share]").replace("reach:coverage", "trend:some_trend")
             .replace("section = { reach = 10 }\n", ""))
    monkeypatch.setattr(registry, "indicators", lambda: parse(TEXT + extra))
    with pytest.raises(RuntimeError, match=r"no pass of the indicator table computes the measures of "
                                           r"evalkit\.measures\.trend \(z_share\)"):
        indicators._check_registry()
    monkeypatch.undo()
    indicators._check_registry()  # the registry as it is: every indicator has its pass
