"""The researcher's province: the validated tables with research methods (``evalkit.load_province``).

:func:`load_province` is what a notebook calls: the validated input tables of a folder (validated once,
then read from the results layer's cache in well under a second by every later kernel,
:func:`evalkit.results.province`), as a :class:`Province` that also offers

- :meth:`Province.indicators`: the indicator table (every indicator at every level, year, item and group,
  cached as the reports read it, :func:`evalkit.results.indicator_table`) behind an :class:`Indicators`
  accessor: ``.get(indicator, ...)`` for the rows of one indicator with labels in English or Chinese,
  ``.frame`` for the whole table, ``.codebook()`` and ``.to_excel(path)``;
- :meth:`Province.survey_design`: the survey as a design-based analysis object
  (:func:`evalkit.measures.design.survey_design`).

:func:`evalkit.schema.load_province` stays the validation entry (it always validates, and returns the
plain :class:`evalkit.schema.Province`); the batch reads the results layer.  This module sits above the
results layer and the report layer (it takes its labels from the registry, the code lists and the report
catalogues) and beside ``render``: nothing in evalkit imports it but the package's top level.

>>> import evalkit
>>> evalkit.load_province is load_province
True
"""

from __future__ import annotations

import datetime as _dt
import difflib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from . import registry, results, schema
from .indicators import LEVELS

if TYPE_CHECKING:
    from .measures.design import SurveyDesign

__all__ = ["Province", "Indicators", "load_province", "LEVELS", "LANGUAGES"]

#: The languages of the labels.
LANGUAGES = ("en", "zh")
#: The unit code columns (text, leading zeros kept).
CODE_COLUMNS = ("code", "province_code", "prefecture_code", "county_code", "township_code")
_EVERY = "all"  # year="all", level="all": no selection on that column


def load_province(data_dir: str | Path, *, today: _dt.date | None = None,
                  cache_dir: str | Path | None = None) -> "Province":
    """Read and validate the province in ``data_dir``, with the research methods of :class:`Province`.

    The first call validates the input files (seconds: every table, every rule of
    :func:`evalkit.schema.load_province`) and keeps the validated tables in the cache folder
    (``cache_dir``, else ``EVALKIT_CACHE``, else ``reports/.cache``); a later call, in any process, on
    unchanged input files and unchanged validation code reads them back in a fraction of a second.
    Any changed byte of an input file, or a change to the validation code, validates again.

    Raises
    ------
    DataValidationError
        When any table breaks any rule; ``.problems`` lists them all (nothing is cached).
    """
    loaded = results.province(data_dir, cache_dir, cached=True, today=today)
    return Province(**{f.name: getattr(loaded, f.name) for f in fields(schema.Province)},
                    data_dir=Path(data_dir), cache_dir=Path(cache_dir) if cache_dir else None)


@dataclass(repr=False)
class Province(schema.Province):
    """The validated tables of a province (:class:`evalkit.schema.Province`) and where they came from, with
    the research methods :meth:`indicators` and :meth:`survey_design`.  Made by :func:`load_province`."""

    data_dir: Path | None = None
    cache_dir: Path | None = None

    def __repr__(self) -> str:
        rows = ", ".join(f"{name} {len(frame):,} rows" for name, frame in self.tables().items())
        name = self.meta.get("name") or (self.data_dir.name if self.data_dir else "")
        return (f"<evalkit.Province {name!r} from {self.data_dir}: {rows}; years {self.years}; "
                f"{len(self.warnings)} warning(s); .indicators(), .survey_design(year)>")

    def indicators(self, lang: str = "en") -> "Indicators":
        """The indicator table of this province, behind an :class:`Indicators` accessor with labels in
        ``lang`` (``"en"`` or ``"zh"``).

        Read from the cache the reports read (:func:`evalkit.results.indicator_table`), built first when
        there is none for these inputs (about 20 s for the sample province).
        """
        if self.data_dir is None:
            raise ValueError("this Province has no folder to build its indicator table from: load it with "
                             "evalkit.load_province(folder).")
        table, meta = results.indicator_table(self.data_dir, self.cache_dir, cached_inputs=True)
        return Indicators(table, meta, lang=lang)

    def survey_design(self, year: int | None = None) -> "SurveyDesign":
        """The survey as a design-based analysis object for ``year`` (every wave when ``None``), with don't
        know (8) and refused (9) as missing: :func:`evalkit.measures.design.survey_design`."""
        from .measures.design import survey_design

        return survey_design(self, year)


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}.")
    return lang


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple, set, frozenset, pd.Index)) else [value]


class Indicators:
    """The indicator table of a province (:mod:`evalkit.indicators` documents its columns), for research.

    Codes are text (``"090102"``: leading zeros kept); the survey figures carry their design's degrees of
    freedom (``df``), design effect (``deff``) and effective sample size (``n_eff``).  Made by
    :meth:`Province.indicators`.

    Attributes
    ----------
    frame : pandas.DataFrame
        The whole table: one row per unit, year, indicator, item, group and confidence level (codes as text;
        the columns of a few values, ``level``, ``indicator``, ``item``, ``group`` ..., as categoricals of text,
        which :meth:`get` gives as plain text).
    meta : dict
        The table's provenance: the inputs' SHA-256, validation warnings, layout version.
    lang : str
        The language of the labels :meth:`get` adds.
    """

    def __init__(self, table: pd.DataFrame, meta: dict[str, Any] | None = None, *, lang: str = "en") -> None:
        self.lang = _check_lang(lang)
        self.meta = dict(meta or {})
        self.frame = table
        # each indicator's levels, years, items and groups, found once (what get() checks its arguments against)
        keys = self.frame[["indicator", "level", "year", "item", "group", "confidence"]].drop_duplicates()
        self._keys = keys

    def __repr__(self) -> str:
        years = sorted(int(y) for y in self._keys["year"].unique())
        return (f"<evalkit.Indicators: {len(self.frame):,} rows, {self._keys['indicator'].nunique()} indicators, "
                f"levels {', '.join(lv for lv in LEVELS if lv in set(self._keys['level']))}, "
                f"years {years[0]}-{years[-1]}; .get(indicator, level=, year=, group=, item=, confidence=), "
                f".frame, .codebook(), .to_excel(path)>" if years else "<evalkit.Indicators: empty>")

    @property
    def names(self) -> list[str]:
        """The indicators of the table, in the registry's order."""
        present = set(self._keys["indicator"])
        return [name for name in registry.indicators() if name in present]

    # ------------------------------------------------------------------ selection

    def get(self, indicator: str | Iterable[str] | None, level: str | Iterable[str] | None = "county",
            year: int | Iterable[int] | str | None = None, group: str | Iterable[str] | None = "all",
            item: str | Iterable[str] | None = "q_overall", confidence: float = 0.95, *,
            lang: str | None = None) -> pd.DataFrame:
        """The rows of ``indicator``: one per unit (and year, item, group asked for), with labels.

        Parameters
        ----------
        indicator : str or list of str
            Indicator ids of the registry (``"satisfaction_rate"``; :attr:`names` lists them); ``None``: all.
        level : str or list of str
            ``"township"``, ``"county"`` (default), ``"prefecture"`` or ``"province"``; ``"all"`` or ``None``:
            every level.
        year : int or list of int
            The wave; default (``None``) the latest year the table has for the indicator; ``"all"``: every year.
        group : str or list of str
            A person-group code (``"dibao"``, ...) or ``"all"`` (default: everyone); ``None``: every group.
            Survey indicators are broken down by group above the township level; others are ``"all"`` only.
        item : str or list of str
            The survey item (``"q_overall"``, default; ``"q_access"`` ...); ``None``: every item.  Indicators
            not made from the survey have the one item ``"all"``, which they get whatever is asked by default.
        confidence : float
            The confidence level of ``lower`` and ``upper``: 0.95 (default) or 0.998.
        lang : str, optional
            ``"en"`` or ``"zh"``: the language of the labels (default the accessor's).

        Returns
        -------
        pandas.DataFrame
            The table's columns (documented in :mod:`evalkit.indicators`), codes as text, with ``name`` (the
            unit's name), ``indicator_name``, ``item_name`` and ``group_name`` in ``lang`` in place of
            ``name_en`` and ``name_zh``; ordered by indicator, level, code, year, item and group.

        Raises
        ------
        ValueError
            For an unknown indicator (naming the close ones), level, year, group, item or confidence level,
            naming what the table has.
        """
        lang = _check_lang(lang or self.lang)
        keys = self._keys
        names = self.names if indicator is None else [self._indicator(i) for i in _as_list(indicator)]
        keys = keys[keys["indicator"].isin(names)]
        if level is not None and level != _EVERY:
            levels = _as_list(level)
            wrong = [lv for lv in levels if lv not in LEVELS]
            if wrong:
                raise ValueError(f"level {wrong[0]!r} is not a level of the table; the levels are "
                                 f"{', '.join(LEVELS)} (or 'all').")
            keys = keys[keys["level"].isin(levels)]
        confidences = sorted(float(c) for c in self._keys["confidence"].unique())
        if float(confidence) not in confidences:
            raise ValueError(f"confidence {confidence!r} is not computed in the table; it has "
                             f"{', '.join(str(c) for c in confidences)}.")
        keys = keys[keys["confidence"] == float(confidence)]
        what = f"indicator {', '.join(names)}" if len(names) <= 3 else f"{len(names)} indicators"
        if year is None:  # the latest year of each indicator
            keys = keys[keys["year"] == keys.groupby("indicator")["year"].transform("max")]
        elif year != _EVERY:
            years = [int(y) for y in _as_list(year)]
            have = sorted(int(y) for y in keys["year"].unique())
            wrong = [y for y in years if y not in have]
            if wrong:
                raise ValueError(f"no year {wrong[0]} for {what}; the table has {', '.join(map(str, have))}.")
            keys = keys[keys["year"].isin(years)]
        for column, value, default in (("item", item, "q_overall"), ("group", group, "all")):
            if value is None:
                continue
            wanted = _as_list(value)
            have = set(keys[column])
            wrong = [v for v in wanted if v not in have]
            if column == "item" and value == default:
                # the default item is the survey's overall question: other indicators have item "all" only
                keys = keys[keys[column].isin(wanted) | (keys["item"] == "all")]
                continue
            if wrong:
                raise ValueError(f"no {column} {wrong[0]!r} for {what} at the levels asked for; the table has "
                                 f"{', '.join(sorted(have))}.")
            keys = keys[keys[column].isin(wanted)]
        chosen = self.frame.merge(keys, on=list(keys.columns), how="inner")
        return self._labelled(chosen, lang)

    def _indicator(self, name: str) -> str:
        if name in set(self._keys["indicator"]):
            return name
        known = self.names
        close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ValueError(f"no indicator {name!r} in the table; {hint}the indicators are {', '.join(known)}.")

    def _labelled(self, rows: pd.DataFrame, lang: str) -> pd.DataFrame:
        """``rows`` with the unit's name and the indicator, item and group labels in ``lang``, sorted."""
        from .report.i18n import t

        every = t("analysis.all", lang)
        entries = registry.indicators()
        groups = schema.codes("person_group")
        indicator_name = {name: getattr(entries[name], lang) for name in entries}
        item_name = {item: (every if item == "all" else t(f"item.{item}", lang)) for item in set(rows["item"])}
        group_name = {g: (every if g == "all" else groups[g][lang]) for g in set(rows["group"])}
        # categories as plain text: a researcher compares, joins and writes them as the codes they are
        text = {c: "str" for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)}
        rows = rows.astype(text) if text else rows
        out = rows.drop(columns=["name_en", "name_zh"])
        at = out.columns.get_loc("code") + 1
        out.insert(at, "name", rows[f"name_{lang}"].to_numpy())
        at = out.columns.get_loc("indicator") + 1
        out.insert(at, "indicator_name", rows["indicator"].map(indicator_name).astype("str").to_numpy())
        out.insert(out.columns.get_loc("item") + 1, "item_name", rows["item"].map(item_name).astype("str").to_numpy())
        out.insert(out.columns.get_loc("group") + 1, "group_name",
                   rows["group"].map(group_name).astype("str").to_numpy())
        order = {name: i for i, name in enumerate(entries)}
        out = out.assign(_order=out["indicator"].map(order), _level=out["level"].map(LEVELS.index))
        out = out.sort_values(["_order", "_level", "code", "year", "item", "group"], kind="stable")
        return out.drop(columns=["_order", "_level"]).reset_index(drop=True)

    # ------------------------------------------------------------------ codebook and export

    def codebook(self) -> pd.DataFrame:
        """One row per indicator of the table: its id, English and Chinese name, unit, polarity, tier, kind,
        the input tables it is made from, the measure that computes it, the statistic and interval method its
        rows state, and its definition in both languages (all from the registry, ``indicators.toml``)."""
        methods = (self.frame[["indicator", "statistic", "method"]].drop_duplicates().dropna()
                   .groupby("indicator", sort=False).agg(lambda s: "; ".join(sorted(set(s)))))
        rows = []
        for name in self.names:
            e = registry.get(name)
            rows.append({"indicator": name, "name_en": e.en, "name_zh": e.zh, "unit": e.unit,
                         "polarity": e.polarity, "tier": e.tier, "kind": e.kind, "sources": ", ".join(e.sources),
                         "measure": e.measure,
                         "statistic": methods["statistic"].get(name, ""), "method": methods["method"].get(name, ""),
                         "target": e.target, "definition_en": e.definition_en, "definition_zh": e.definition_zh})
        return pd.DataFrame(rows)

    def to_excel(self, path: str | Path, rows: pd.DataFrame | None = None, **selection: Any) -> Path:
        """Write rows of the table and the codebook to an Excel workbook at ``path``.

        ``rows`` is a selection of the table (a result of :meth:`get`, or of :attr:`frame`); without it, the
        rows :meth:`get` returns for ``selection`` (its arguments; by default every indicator's headline
        figure for every county in the latest year).  Sheet ``indicators`` holds the rows, with codes as text
        cells (``090102`` stays ``090102``; formatted as text, so that Excel keeps them so when edited);
        sheet ``codebook`` one row per indicator (:meth:`codebook`).  Excel takes at most 1,048,575 rows, and
        writing is slow (some thousand rows a second): export a selection, not the whole table.
        """
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        if rows is None:
            rows = self.get(**{"indicator": None, **selection})
        elif selection:
            raise ValueError("give rows or a selection (get()'s arguments), not both.")
        if len(rows) > 1_048_575:
            raise ValueError(f"{len(rows):,} rows do not fit in an Excel sheet (1,048,575 at most): export a "
                             "selection (get()'s arguments or rows=).")
        path = Path(path)
        book = Workbook(write_only=True)
        for title, frame in (("indicators", rows), ("codebook", self.codebook())):
            sheet = book.create_sheet(title)
            sheet.append(list(frame.columns))
            text = [c in CODE_COLUMNS for c in frame.columns]
            columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns]
            for values in zip(*columns):
                cells = []
                for value, as_text in zip(values, text):
                    if as_text and value is not None:
                        cell = WriteOnlyCell(sheet, value=str(value))
                        cell.number_format = "@"
                        cells.append(cell)
                    else:
                        cells.append(value)
                sheet.append(cells)
        from .io import atomic_path

        with atomic_path(path) as tmp:
            book.save(tmp)
        return path
