"""Strict notebook parameters: refused before execution, never coerced, never executed as code."""

from __future__ import annotations

import ast

import nbformat
import pytest

from evalkit.batch import COUNTY_NOTEBOOK, OVERVIEW_NOTEBOOK
from evalkit.execute import _inject
from evalkit.params import ParameterError, check, declared, injected_source

PARAMS = declared(COUNTY_NOTEBOOK)
GOOD = {"county_code": "090102", "year": 2025, "data_dir": "data/sample", "lang": "zh", "confidence": 0.95,
        "benchmarks": ["prefecture", "province"]}


def test_the_report_notebooks_declare_annotated_commented_parameters():
    assert list(PARAMS) == ["county_code", "year", "data_dir", "lang", "confidence", "benchmarks"]
    assert PARAMS["county_code"].type == "str" and PARAMS["county_code"].required
    assert all(p.help for p in PARAMS.values())
    assert set(declared(OVERVIEW_NOTEBOOK)) == {"year", "data_dir", "lang", "confidence"}


def test_good_values_pass_unchanged():
    assert check(PARAMS, GOOD) == GOOD


@pytest.mark.parametrize("given, message", [
    ({"county_code": 90102}, "parameter county_code must be a str such as '090102', not 90102 (int); nothing is "
                             "converted"),
    ({"county_code": 0o1001}, "not 513 (int)"),  # what YAML makes of 01001
    ({"county_code": "9102"}, "parameter county_code='9102' must be a 6-digit county code"),
    ({"county_code": "../../etc"}, "must be a 6-digit county code"),
    ({"county_code": "090102/../../etc"}, "parameter county_code='090102/../../etc' must be a 6-digit county code"),
    ({"county_code": "090102\n"}, "parameter county_code='090102\\n' must be a 6-digit county code"),
    ({"county_code": "０９０１０２"}, "must be a 6-digit county code"),  # fullwidth digits match \d, not [0-9]
    ({"county_code": "090102", "year": "2025"}, "parameter year must be a int such as 2025, not '2025' (str)"),
    ({"county_code": "090102", "year": True}, "parameter year must be a int"),
    ({"county_code": "090102", "lang": "fr"}, "parameter lang='fr' must be one of 'en', 'zh'"),
    ({"county_code": "090102", "confidence": 95}, "parameter confidence=95.0 must be one of 0.95, 0.998"),
    ({"county_code": "090102", "benchmarks": ["nation"]}, "must list 'prefecture' and/or 'province'"),
    ({"county_code": "090102", "colour": "red"}, "unknown parameter colour (the notebook declares county_code, year"),
    ({"county_code": "090102", "x=__import__('os').system('touch pwned');y": 1},
     "\"x=__import__('os').system('touch pwned');y\" is not a parameter name"),
    ({"year": 2025}, "missing required parameter county_code"),
])
def test_bad_parameters_are_refused_with_a_message_naming_them(given, message):
    with pytest.raises(ParameterError) as err:
        check(PARAMS, given)
    assert message in str(err.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ParameterError) as err:
        check(PARAMS, {"lang": "fr", "year": "x"})
    text = str(err.value)
    assert "missing required parameter county_code" in text and "lang='fr'" in text and "year must be" in text


@pytest.mark.parametrize("value", ['data"; import os; os.system("x"); "', "data\\\"\nimport os", "数据/省 '份'"])
def test_a_value_cannot_become_code(value):
    """Injected values are literals: the cell parses to plain assignments of exactly the given strings."""
    values = check(PARAMS, {**GOOD, "data_dir": value})
    tree = ast.parse(injected_source(values))
    assert all(isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.List)) for node in tree.body)
    assert ast.literal_eval(tree.body[2].value) == value


def test_injection_follows_papermill_conventions():
    nb = _inject(nbformat.read(str(COUNTY_NOTEBOOK), as_version=4), check(PARAMS, GOOD))
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "injected-parameters" in tags[at + 1]
    assert "county_code = '090102'" in nb.cells[at + 1].source
    assert nb.metadata["papermill"]["parameters"] == GOOD


def test_a_parameters_cell_with_code_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import os\ncounty_code: str = '090102'  # code")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    with pytest.raises(ParameterError, match="line 1 of the parameters cell is not"):
        declared(nb)
