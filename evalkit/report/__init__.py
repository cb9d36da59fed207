"""Presentation: figures, tables and text of the county report and the province overview.

Nothing here computes a statistic: every number comes from the indicator table
(:mod:`evalkit.indicators`), and this package only selects, formats, draws and words it, in
English or Chinese (:mod:`evalkit.report.i18n`).
"""

from importlib import import_module
from typing import Any

__all__ = ["CountyReport", "ProvinceOverview", "ReportParameterError", "province_data"]

_LAZY = {"CountyReport": "evalkit.report.county", "ReportParameterError": "evalkit.report.county",
         "ProvinceOverview": "evalkit.report.overview", "province_data": "evalkit.report.data"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evalkit.report' has no attribute {name!r}")
