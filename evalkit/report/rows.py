"""Look-ups over the indicator table's rows and the indicator catalogue, shared by the county report
(:mod:`evalkit.report.county`) and its sections (:mod:`evalkit.report.sections`)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from ..indicators import catalogue

__all__ = ["catalogue_columns", "headline_item", "records", "lookup"]


@cache
def catalogue_columns() -> dict[str, dict[str, Any]]:
    """The indicator catalogue as ``{column: {indicator: value}}``: a report looks up units and names a few
    hundred times, and a dict look-up costs a fraction of ``.loc`` on the catalogue's string index."""
    cat = catalogue()
    return {column: dict(zip(cat.index, cat[column].to_numpy())) for column in cat.columns}


def headline_item(indicator: str) -> str:
    """The item an indicator is shown by in one figure: the overall question for a survey indicator."""
    return "q_overall" if catalogue_columns()["kind"][indicator] == "survey" else "all"


def records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")`` (the same Python values) at half the cost: column by column, with each
    categorical column's values taken from its categories by code rather than boxed cell by cell."""
    columns = []
    for _, column in frame.items():
        values = column.array
        if isinstance(values, pd.Categorical):  # code -1 (missing) takes the NaN appended last
            categories = np.append(values.categories.to_numpy(object), np.nan)
            columns.append(categories[values.codes].tolist())
        else:
            columns.append(column.tolist())
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in zip(*columns)]


def lookup(frame: pd.DataFrame) -> dict[tuple[str, str, str], dict]:
    """The rows of ``frame`` (one unit and year) as dicts by (indicator, item, group)."""
    return {(r["indicator"], r["item"], r["group"]): r for r in records(frame)}
