"""The data behind a report: the indicator table of a province, read once per process.

Built, cached and served by the results layer (:mod:`evalkit.results`); kept here under the names
the report code, the notebooks and the documentation use.
"""

from __future__ import annotations

from ..results import ProvinceData, province_data

__all__ = ["ProvinceData", "province_data"]
