"""The data behind a report: the indicator table of a province, read once per process.

A report never reads the input files itself.  :func:`province_data` returns the indicator table
(:func:`evalkit.indicators.cached_indicator_table`: validated inputs, cached on disk by the
inputs' SHA-256) and keeps it in memory keyed by those hashes, so a kernel that renders many
reports reads it once, and a corrected input file is never served from memory.  The frames are
shared read-only: selections are copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ProvinceData", "province_data"]

_MEMO: dict[tuple[str, str], "ProvinceData"] = {}


@dataclass(frozen=True)
class ProvinceData:
    """The indicator table of one province and its metadata (inputs' hashes, warnings, dataset)."""

    table: pd.DataFrame
    meta: dict[str, Any]
    data_dir: Path
    _parts: dict = field(default_factory=dict, repr=False, compare=False)

    def parts(self, confidence: float) -> dict[tuple, pd.DataFrame]:
        """The rows at one confidence level, split once per process so that each report only looks up:
        ``("unit", level, code)``, ``("townships", county_code)`` and ``("level_year", level, year)``."""
        if confidence not in self._parts:
            at = self.table[self.table["confidence"] == confidence]
            parts: dict[tuple, pd.DataFrame] = {}
            for (level, code), g in at.groupby(["level", "code"], observed=True, sort=False):
                parts[("unit", level, code)] = g
            towns = at[at["level"] == "township"]
            for code, g in towns.groupby("county_code", sort=False):
                parts[("townships", code)] = g
            for (level, year), g in at.groupby(["level", "year"], observed=True, sort=False):
                parts[("level_year", level, int(year))] = g
            self._parts[confidence] = parts
        return self._parts[confidence]

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.table["year"].unique())

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    def counties(self) -> pd.DataFrame:
        """One row per county: codes and names, sorted by code."""
        rows = self.table.loc[self.table["level"] == "county",
                              ["county_code", "prefecture_code", "name_en", "name_zh"]]
        return rows.drop_duplicates("county_code").sort_values("county_code").reset_index(drop=True)

    def province_name(self, lang: str) -> str:
        """The province's name in ``lang``."""
        row = self.table.loc[self.table["level"] == "province"].iloc[0]
        return str(row[f"name_{lang}"])

    def unit_names(self, level: str) -> pd.DataFrame:
        """Codes and names of every unit of one level."""
        rows = self.table.loc[self.table["level"] == level, ["code", "name_en", "name_zh"]]
        return rows.drop_duplicates("code").set_index("code")

    def select(self, **where: Any) -> pd.DataFrame:
        """Rows where every column equals the given value (a list or tuple: any of its values); a copy."""
        mask = pd.Series(True, index=self.table.index)
        for column, value in where.items():
            col = self.table[column]
            mask &= col.isin(value) if isinstance(value, (list, tuple, set)) else col == value
        return self.table.loc[mask].copy()


def province_data(data_dir: str | Path, cache_dir: str | Path | None = None) -> ProvinceData:
    """The indicator table of the province in ``data_dir``, from memory, the cache or built anew.

    Raises :class:`evalkit.DataValidationError` when the inputs fail validation: no report is
    made from such data.
    """
    from ..indicators import cached_indicator_table, input_hashes

    data_dir = Path(data_dir).resolve()
    key = (str(data_dir), repr(sorted(input_hashes(data_dir).items())))
    if key not in _MEMO:
        table, meta = cached_indicator_table(data_dir, cache_dir)
        # codes and names as categories: reports select rows thousands of times, and taking rows of
        # categorical columns is a fraction of the cost of Arrow-backed strings
        text = [c for c in table.columns if pd.api.types.is_string_dtype(table[c]) and
                not isinstance(table[c].dtype, pd.CategoricalDtype)]
        table = table.astype({c: "category" for c in text})
        _MEMO.clear()  # one province at a time: a kernel does not hoard old tables
        _MEMO[key] = ProvinceData(table, meta, data_dir)
    return _MEMO[key]
