"""Fuzzing (hypothesis) over the loaders and what reports print: bad input never gets anything but a
clear validation error, and no NaN or infinity is ever printed as a number."""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.errors import DataValidationError, InputError
from evalkit.report.format import SUPPRESSED, interval_text, value_text
from evalkit.schema import load_province

from conftest import BASE, TODAY

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SURVEY = pd.read_csv(BASE / "survey.csv", dtype=str, keep_default_na=False)
REGIONS = pd.read_csv(BASE / "regions.csv", dtype=str, keep_default_na=False)


def _load(files: dict[str, bytes]) -> None:
    """Load BASE with some files replaced: a valid province, or a clear error that names its files."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "province"
        shutil.copytree(BASE, folder)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        try:
            load_province(folder, today=TODAY)
        except InputError as err:
            assert err.problem.file and str(err)
        except DataValidationError as err:
            errors = [p for p in err.problems if p.severity == "error"]
            assert errors, "a validation error carries at least one error"
            for p in errors:
                assert p.file and p.rule and p.message, p
                assert p.row is None or 1 <= p.row <= 10**7


@FUZZ
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_table_file_give_a_clear_error(content):
    _load({"survey.csv": content})


text_cells = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "NaN", "nan", "inf", "-inf", "1e309", "０９",
                                                              "1,5", "１", "None", "null", "\ufeff", "2025-02-30",
                                                              "9" * 400, "<script>", "=1+1", "\x00"]))


@FUZZ
@given(st.data())
def test_any_cell_value_gives_a_valid_province_or_a_clear_error(data):
    table, frame = data.draw(st.sampled_from([("survey.csv", SURVEY), ("regions.csv", REGIONS)]))
    edited = frame.copy()
    for _ in range(data.draw(st.integers(1, 3))):
        row = data.draw(st.integers(0, len(edited) - 1))
        column = data.draw(st.sampled_from(list(edited.columns)))
        edited.loc[row, column] = data.draw(text_cells)
    _load({table: edited.to_csv(index=False).encode("utf-8")})


@FUZZ
@given(st.lists(st.sampled_from(list(SURVEY.columns)), min_size=1, max_size=4, unique=True))
def test_missing_or_extra_columns_give_a_clear_error(drop):
    edited = SURVEY.drop(columns=drop).assign(**{"unexpected column": "x"})
    _load({"survey.csv": edited.to_csv(index=False).encode("utf-8")})


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.just(pd.NA),
                    st.just(float("nan")), st.integers(-10**12, 10**12))


@settings(max_examples=300, deadline=None)
@given(numbers, numbers, st.sampled_from(["proportion", "net", "score_1_5", "yuan", "count", "per_1000",
                                          "per_10000", "index_0_100"]), st.sampled_from(["en", "zh"]))
def test_a_missing_or_infinite_number_prints_as_the_suppression_mark(v, w, unit, lang):
    for text in (value_text(v, unit, lang), interval_text(v, w, unit, lang)):
        assert not re.search(r"nan|inf|None|<NA>", text, re.I), text
    finite = v is not None and v is not pd.NA and isinstance(v, (int, float)) and math.isfinite(v)
    assert (value_text(v, unit, lang) == SUPPRESSED) == (not finite)


def test_no_rendered_page_prints_nan_or_infinity(small_batch):
    pages = sorted(small_batch.glob("*.html"))
    assert len(pages) >= 6  # four counties, the overview, the index
    for page in pages:
        text = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ")
        bad = re.findall(r"\b(?:nan|NaN|inf|Infinity|None|<NA>)\b", text)
        assert bad == [], f"{page.name}: {bad[:5]}"
