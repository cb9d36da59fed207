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
from typing import Any, Callable

import pandas as pd

__all__ = ["ProvinceData", "province_data"]

_MEMO: dict[tuple[str, str], "ProvinceData"] = {}


@dataclass(frozen=True)
class ProvinceData:
    """The indicator table of one province and its metadata (inputs' hashes, warnings, dataset)."""

    table: pd.DataFrame
    meta: dict[str, Any]
    data_dir: Path
    cache_dir: Path | None = None
    _parts: dict = field(default_factory=dict, repr=False, compare=False)

    def parts(self, confidence: float) -> "_Parts":
        """The rows at one confidence level, indexed once per process so that each report only looks up:
        ``("unit", level, code)``, ``("townships", county_code)`` and ``("level_year", level, year)``."""
        if confidence not in self._parts:
            self._parts[confidence] = _Parts(self.table[self.table["confidence"] == confidence])
        return self._parts[confidence]

    def shared(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, made once per process for ``key``: what the reports of many counties draw alike (every
        county's figures of a year, the province's rows) is derived by the first report and looked up by the
        others.  Shared, so read-only: a report that changes it copies it first."""
        key = ("shared", *key)
        if key not in self._parts:
            self._parts[key] = compute()
        return self._parts[key]

    def scores(self, year: int):
        """The framework's composite scores, grades and ranks of every county in ``year``
        (:func:`evalkit.framework.score_counties` with the shipped framework, its default draws and seed).

        Kept in memory, and on disk beside the cached indicator table, named by the inputs' hashes,
        the framework file's and the scoring code's SHA-256, the draws, the seed and the year: the
        simulation runs once per set of inputs, not once per kernel.
        """
        key = ("scores", int(year))
        if key not in self._parts:
            from .. import framework as fw

            framework = fw.load_framework()
            self._parts[key] = _on_disk(self, "scores", fw.__name__, [framework.sha256, fw.DEFAULT_DRAWS, fw.DEFAULT_SEED,
                                                             int(year)],
                                        lambda: fw.score_counties(self.table, framework, year=int(year)))
        return self._parts[key]

    def small_area(self, year: int) -> pd.DataFrame:
        """Model-based (empirical Bayes) overall satisfaction of every township in ``year``, shrunk toward its
        prefecture (:func:`evalkit.measures.smallarea.shrink_indicator`): kept in memory, and on disk beside
        the cached indicator table as :meth:`scores` are, so that each kernel does not fit the model again."""
        key = ("small_area", int(year))
        if key not in self._parts and "survey" in self.gaps(year):
            # no survey wave this year: nothing to model (an empty frame of the model's columns, not an error)
            self._parts[key] = pd.DataFrame({c: pd.Series(dtype=object) for c in (
                "level", "code", "county_code", "township_code", "year", "value", "lower", "upper", "suppressed")})
        if key not in self._parts:
            def fit() -> pd.DataFrame:
                from ..measures.smallarea import shrink_indicator  # scipy.stats: seconds to import

                return shrink_indicator(self.table, level="township", toward="prefecture", year=int(year))

            self._parts[key] = _on_disk(self, "small-area", "evalkit.measures.smallarea", [int(year)], fit)
        return self._parts[key]

    def gaps(self, year: int) -> dict[str, int | None]:
        """The input tables (``survey``, ``services``, ``stations``) with no row for ``year``, each with the latest
        earlier year it has rows for (``None`` when none): what a report of ``year`` says is missing.  From the
        table's metadata (``table_years``); empty for a table cached without it."""
        from ..indicators import missing_years

        years = self.meta.get("table_years") or {}
        out: dict[str, int | None] = {}
        for name, absent in missing_years(years).items():
            if int(year) in absent:
                earlier = [y for y in years[name] if y < int(year)]
                out[name] = max(earlier) if earlier else None
        return out

    def county_gaps(self, year: int, county_code: str) -> dict[str, int | None]:
        """The input tables (``survey``, ``services``) that have rows for ``year`` but none of this county (its
        questionnaires or ledger not delivered yet), each with the latest earlier year it has the county's rows
        for (``None`` when none).  From the table's metadata (``county_gaps``, ``table_years``)."""
        years = self.meta.get("table_years") or {}
        out: dict[str, int | None] = {}
        for name, counties in (self.meta.get("county_gaps") or {}).items():
            lacking = set(counties.get(county_code, []))
            if int(year) in lacking:
                earlier = [y for y in years.get(name, []) if y < int(year) and y not in lacking]
                out[name] = max(earlier) if earlier else None
        return out

    @property
    def years(self) -> list[int]:
        """The waves in the table (looked up once: each report checks its year against them)."""
        return list(self.shared(("years",), lambda: sorted(int(y) for y in self.table["year"].unique())))

    @property
    def confidence_levels(self) -> list[float]:
        """The confidence levels of the table's intervals, as fractions."""
        return list(self.shared(("confidence_levels",),
                                lambda: sorted(float(c) for c in self.table["confidence"].unique())))

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    def counties(self) -> pd.DataFrame:
        """One row per county: codes and names, sorted by code (found once per process; a copy)."""
        def find() -> pd.DataFrame:
            rows = self.table.loc[self.table["level"] == "county",
                                  ["county_code", "prefecture_code", "name_en", "name_zh"]]
            return rows.drop_duplicates("county_code").sort_values("county_code").reset_index(drop=True)

        return self.shared(("counties",), find).copy()

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


def _on_disk(data: "ProvinceData", kind: str, module: str, key: list, compute):
    """``compute()``, or its result pickled by an earlier process: in the cache folder beside the indicator
    table, named by ``kind`` and :func:`evalkit.fingerprint.key`: evalkit's version, the code of the module named
    ``module`` and of what it imports (found, not imported), the inputs' hashes, the table's layout and ``key``."""
    import pickle

    from .. import fingerprint
    from ..io import write_atomic
    from ..paths import cache_dir

    # the value is computed from the indicator table: the code that built the table feeds it too
    digest = fingerprint.key([module, "evalkit.indicators"], data.meta.get("inputs"), data.meta.get("layout_version"),
                             *key)
    path = cache_dir(data.cache_dir) / f"{kind}-{digest[:20]}.pickle"
    if fingerprint.fresh(path):
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)  # noqa: S301 - evalkit's own cache file
        except Exception as err:  # noqa: BLE001 - a damaged cache file is named and made again
            fingerprint.discard(path, err)
    result = compute()
    try:
        write_atomic(path, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only cache folder only costs the next process the computation
        pass
    return result


class _Parts:
    """Row positions of each unit, county's townships and level-year, found once; frames taken on demand.

    Taking a few hundred rows by position is cheap; splitting the whole table into thousands of
    frames up front (what a report does not need) is not.
    """

    def __init__(self, at: pd.DataFrame) -> None:
        self._at = at
        towns = (at["level"] == "township").to_numpy()
        self._index: dict[tuple, Any] = {}
        for family, columns, rows in (("unit", ["level", "code"], None), ("townships", ["county_code"], towns),
                                      ("level_year", ["level", "year"], None)):
            frame = at if rows is None else at.loc[rows]
            offset = None if rows is None else rows.nonzero()[0]
            for key, positions in frame.groupby(columns, observed=True, sort=False).indices.items():
                key = key if isinstance(key, tuple) else (key,)
                if family == "level_year":
                    key = (key[0], int(key[1]))
                self._index[(family, *key)] = positions if offset is None else offset[positions]

    def __getitem__(self, key: tuple) -> pd.DataFrame:
        return self._at.take(self._index[key])

    def get(self, key: tuple, default: Any = None) -> Any:
        return self[key] if key in self._index else default

    def __contains__(self, key: object) -> bool:
        return key in self._index


def province_data(data_dir: str | Path, cache_dir: str | Path | None = None, *, build: bool = True
                  ) -> ProvinceData:
    """The indicator table of the province in ``data_dir``, from memory, the cache or built anew.

    Raises :class:`evalkit.DataValidationError` when the inputs fail validation: no report is
    made from such data.  With ``build=False`` the table is never built: :class:`LookupError`
    when it is neither in memory nor cached.
    """
    from ..indicators import cached_indicator_table, input_hashes

    data_dir = Path(data_dir).resolve()
    hashes = input_hashes(data_dir)
    key = (str(data_dir), repr(sorted(hashes.items())))
    if key not in _MEMO:
        table, meta = cached_indicator_table(data_dir, cache_dir, build=build, hashes=hashes, categories=True)
        # codes and names as categories: reports select rows thousands of times, and taking rows of
        # categorical columns is a fraction of the cost of Arrow-backed strings
        text = [c for c in table.columns if pd.api.types.is_string_dtype(table[c]) and
                not isinstance(table[c].dtype, pd.CategoricalDtype)]
        table = table.astype({c: "category" for c in text})
        _MEMO.clear()  # one province at a time: a kernel does not hoard old tables
        _MEMO[key] = ProvinceData(table, meta, data_dir, Path(cache_dir) if cache_dir else None)
    return _MEMO[key]
