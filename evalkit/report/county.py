"""The county evaluation report, section by section.

``notebooks/county_report.ipynb`` is a parameters cell and one call per section::

    report = CountyReport.load(data_dir, county_code, year=year, lang=lang, confidence=confidence,
                               benchmarks=benchmarks)
    report.cover()
    report.summary()
    ...

Each section returns a :class:`~evalkit.report.format.Fragment` (HTML with its own ``<h2>``), so
the notebook holds no logic and the headings are in the report's language.  Every number comes
from the indicator table; suppressed figures (fewer than 10 respondents or 5 persons, and their
complements) show as ``—`` with the reason, and each section that has one says so.

The sections are modules of :mod:`evalkit.report.sections`, in the order of
:data:`~evalkit.report.sections.SECTIONS`; this module selects the county's data once and holds what
several sections share, and :class:`CountyReport` has one method per section, made from that list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..indicators import catalogue
from .data import ProvinceData, province_data
from .format import SUPPRESSED, Fragment, comparison_cell, esc
from .i18n import LANGUAGES, t
from .rows import catalogue_columns, headline_item, lookup
from . import sections
from .sections import BENCHMARKS, HEADLINE, ITEMS, SECTIONS, TOWNSHIP  # noqa: F401 (TOWNSHIP, ITEMS: re-exported)
# every section module, imported by name so that code hashes and import contracts see them; their order is SECTIONS
from .sections import (among_counties, comments, cover, data_quality, grade, indicator_table, methods,  # noqa: F401
                       provenance, reach, recommendations, satisfaction, staffing, summary, trends)
from .sections import inspections  # noqa: F401  (the evaluators' inspections, issue 21)

__all__ = ["CountyReport", "ReportParameterError", "BENCHMARKS", "HEADLINE", "ITEMS", "SECTIONS"]


class ReportParameterError(ValueError):
    """Raised when a report is asked for with a county, year or option the data do not have."""


@dataclass
class CountyReport:
    """One county's report: the data selected once, then one method per section."""

    data: ProvinceData
    county_code: str
    year: int
    lang: str = "en"
    confidence: float = 0.95
    benchmarks: Sequence[str] = BENCHMARKS
    parameters: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction

    @classmethod
    def load(cls, data_dir: str | Path, county_code: str, *, year: int, lang: str = "en",
             confidence: float = 0.95, benchmarks: Sequence[str] = BENCHMARKS,
             cache_dir: str | Path | None = None) -> "CountyReport":
        """Read (or reuse) the province's indicator table and check the parameters against it."""
        if lang not in LANGUAGES:
            raise ReportParameterError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}.")
        if not isinstance(county_code, str):
            raise ReportParameterError(f"county_code must be a string such as '090102', not {county_code!r} "
                                       f"({type(county_code).__name__}): a number loses leading zeros.")
        unknown = [b for b in benchmarks if b not in BENCHMARKS]
        if unknown:
            raise ReportParameterError(f"benchmarks must be among {', '.join(BENCHMARKS)}; {unknown} is not.")
        from ..paths import data_folder  # imported on use, as before

        data = province_data(data_folder(data_dir), cache_dir)
        counties = data.counties()
        if county_code not in set(counties["county_code"]):
            raise ReportParameterError(
                f"county {county_code!r} is not in the regions table of {data.data_dir} "
                f"({len(counties)} counties, codes {counties['county_code'].iloc[0]} to "
                f"{counties['county_code'].iloc[-1]}).")
        if int(year) not in data.years:
            raise ReportParameterError(f"year {year} is not in the data (waves: {', '.join(map(str, data.years))}).")
        levels = data.confidence_levels
        if float(confidence) not in levels:
            raise ReportParameterError(f"confidence must be one of {', '.join(map(str, levels))}, not {confidence}.")
        params = {"county_code": county_code, "year": int(year), "data_dir": str(data_dir), "lang": lang,
                  "confidence": float(confidence), "benchmarks": list(benchmarks)}
        return cls(data, county_code, int(year), lang, float(confidence), tuple(benchmarks), params)

    def __post_init__(self) -> None:
        parts = self.data.parts(self.confidence)
        me = parts[("unit", "county", self.county_code)]
        self._county_all_years = me
        self._county = me[me["year"] == self.year]
        row = self._county.iloc[0]
        self.prefecture_code = str(row["prefecture_code"])
        self.province_code = str(row["province_code"])
        towns = parts.get(("townships", self.county_code))
        self._townships = towns[towns["year"] == self.year] if towns is not None else me.iloc[:0]
        self._counties = self._shared("counties", lambda: parts[("level_year", "county", self.year)])
        self._bench, names = self.data.shared(("bench", self.confidence, self.prefecture_code, self.province_code),
                                              self._benchmark_rows)
        self._cat = catalogue()
        self._lookups: dict[int, tuple[pd.DataFrame, dict]] = {}
        self._province_now, rows = self._shared("province_now", self._province_rows)
        self._lookups[id(self._province_now)] = (self._province_now, rows)
        # the names of the county, its prefecture and province, found once (sections ask for them 15 times)
        self._names = {**names, self.county_code: {"name_en": row["name_en"], "name_zh": row["name_zh"]}}
        self._judgeable_rows: pd.DataFrame | None = None
        self._score_row: tuple | None = None
        self._points_rows: pd.DataFrame | None = None
        self._gap_rows: dict[str, tuple[int | None, str]] | None = None

    def _shared(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per process for this confidence level, year and province: what every county's
        report draws alike (all counties' figures, the province's) is made by the first report only."""
        return self.data.shared((name, self.confidence, self.year, self.province_code), compute)

    def _benchmark_rows(self) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
        """The prefecture's and the province's rows (every year), and their names by code."""
        parts = self.data.parts(self.confidence)
        bench = pd.concat([parts[("unit", "prefecture", self.prefecture_code)],
                           parts[("unit", "province", self.province_code)]])
        names: dict[str, dict[str, str]] = {}
        for code, en, zh in zip(*(bench[c].tolist() for c in ("code", "name_en", "name_zh"))):
            names.setdefault(code, {"name_en": en, "name_zh": zh})
        return bench, names

    def _province_rows(self) -> tuple[pd.DataFrame, dict]:
        """The province's rows this year, and the same as a look-up for :meth:`_row`."""
        now = self._bench[(self._bench["code"] == self.province_code) & (self._bench["year"] == self.year)]
        return now, lookup(now)

    # ------------------------------------------------------------------ helpers

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    def _name(self, row: pd.Series | dict) -> str:
        return str(row[f"name_{self.lang}"])

    @property
    def county_name(self) -> str:
        return self._name(self._names[self.county_code])

    @property
    def prefecture_name(self) -> str:
        return self._name(self._names[self.prefecture_code])

    @property
    def province_name(self) -> str:
        return self._name(self._names[self.province_code])

    def _indicator_name(self, indicator: str) -> str:
        return str(catalogue_columns()[self.lang][indicator])

    def _unit(self, indicator: str) -> str:
        return str(catalogue_columns()["unit"][indicator])

    def _rows(self, frame: pd.DataFrame) -> dict[tuple[str, str, str], dict]:
        """The rows of ``frame`` (one unit and year) as dicts by (indicator, item, group), made once per frame."""
        key = id(frame)
        if key not in self._lookups:
            self._lookups[key] = (frame, lookup(frame))
        return self._lookups[key][1]

    def _row(self, frame: pd.DataFrame, indicator: str, item: str = "all", group: str = "all") -> dict | None:
        """The row of ``frame`` (one unit) for an indicator, item and group, as a dict; looked up, not filtered."""
        return self._rows(frame).get((indicator, item, group))

    def _heading(self, key: str, level: int = 2) -> str:
        return f'<h{level} id="{key}">{esc(self.t("section." + key))}</h{level}>'

    def _note(self, key: str, **values: Any) -> str:
        return f'<p class="note">{esc(self.t(key, **values))}</p>'

    def _gap_info(self) -> dict[str, tuple[int | None, str]]:
        """The input tables without a row for the report's year, for the whole province
        (:meth:`ProvinceData.gaps`) or for this county (:meth:`ProvinceData.county_gaps`): by table, the latest
        earlier year it has rows for (``None``: none) and the catalogue keys' suffix (``""`` or ``"_county"``)."""
        if self._gap_rows is None:
            province = self.data.gaps(self.year)
            county = self.data.county_gaps(self.year, self.county_code)
            self._gap_rows = {**{k: (v, "_county") for k, v in county.items()},
                              **{k: (v, "") for k, v in province.items()}}
        return self._gap_rows

    def _gaps(self, *tables: str, survey: str = "missing.survey_short") -> str:
        """The sentences saying which of ``tables`` (``survey``, ``services``, ``stations``) have no row for the
        report's year (:meth:`_gap_info`), for the top of a section; ``survey`` is the key of the survey's
        sentence."""
        gaps = self._gap_info()
        out = []
        for name in tables:
            if name not in gaps:
                continue
            latest, where = gaps[name]
            key = ("missing.survey_none" if latest is None else survey) if name == "survey" else f"missing.{name}"
            out.append(f'<p class="missing"><strong>{esc(self.t(key + where, year=self.year, latest=latest))}'
                       "</strong></p>")
        return "".join(out)

    def _not_in_data(self, indicator: str, row: dict | None) -> bool:
        """Whether the county's figure of ``indicator`` this year is missing because an input table has no row
        for the year (rather than suppressed or not computed)."""
        if row is not None:
            return str(row.get("suppression_reason")) == "not_in_data"
        from ..indicators import SOURCES

        return any(name in self._gap_info() for name in SOURCES.get(indicator, ()))

    def _suppression_note(self, rows: Iterable[Any]) -> str:
        """The note on suppressed figures, where any of ``rows`` (dicts or a frame's column) is suppressed."""
        if not any(bool(r["suppressed"]) for r in rows):
            return ""
        return self._note("note.suppressed", symbol=SUPPRESSED)

    def _peers(self) -> list[str]:
        """The other counties of the county's prefecture."""
        def by_prefecture() -> dict[str, set[str]]:
            c = self._counties
            out: dict[str, set[str]] = {}
            for prefecture, code in zip(c["prefecture_code"].tolist(), c["code"].tolist()):
                out.setdefault(prefecture, set()).add(code)
            return out

        return sorted(self._shared("peers", by_prefecture).get(self.prefecture_code, set()) - {self.county_code})

    def _comparisons(self, row: pd.Series) -> list[str]:
        return [comparison_cell(row[f"vs_{b}"], self.lang) for b in self.benchmarks]

    def _bench_headers(self) -> list[str]:
        return [self.t(f"table.vs_{b}") for b in self.benchmarks]

    # ------------------------------------------------------------------ sections

    def section(self, name: str) -> Fragment:
        """The section ``name`` (one of :data:`~evalkit.report.sections.SECTIONS`) as HTML:
        ``report.section("summary")`` is ``report.summary()``."""
        if name not in _SECTION_MODULES:
            raise ReportParameterError(f"section must be one of {', '.join(SECTIONS)}, not {name!r}.")
        return _SECTION_MODULES[name].render(self)

    def withheld_text(self) -> str:
        """How many of the county-wave's comments were withheld, and why, by category (never the text):
        ``3 comments withheld: 2 possible names, 1 possible phone number.``; empty when none was."""
        return comments.withheld_text(self)

    def _judgeable(self) -> pd.DataFrame:
        """The county's headline figures (all groups, each indicator's headline item) that were compared with
        the province; found once per report."""
        if self._judgeable_rows is None:
            c = self._county
            keep = [group == "all" and item == headline_item(indicator) and vs in ("better", "similar", "worse")
                    for indicator, item, group, vs in zip(*(c[k].tolist() for k in
                                                            ("indicator", "item", "group", "vs_province")))]
            self._judgeable_rows = c[np.array(keep, dtype=bool)]
        return self._judgeable_rows

    def _judged(self, what: str) -> pd.DataFrame:
        j = self._judgeable()
        return j[j["vs_province"] == what]

    # ------------------------------------------------------------------ the framework: grade, score, rank

    def _scores(self):
        """The framework's scores of every county this year (once per process) and this county's row."""
        scores = self.data.scores(self.year)
        if self._score_row is None:
            me = self._county_rows("counties", scores.counties)
            self._score_row = (me.iloc[0] if len(me) else None,)
        return scores, self._score_row[0]

    def _county_rows(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (one of the year's score frames, every county's) whose code is this county's:
        taken by the positions of each code, found once per process, instead of filtered."""
        at = self.data.shared(("score_rows", name, self.year),
                              lambda: frame.groupby("code", sort=False).indices)
        return frame.take(at.get(self.county_code, np.array([], dtype=np.intp)))

    def _framework_texts(self, scores) -> dict[str, str]:
        """Grade and framework-indicator names in the report's language, looked up once per process."""
        def texts() -> dict[str, str]:
            fw = scores.framework
            return {**fw.grade_frame().set_index("grade")[self.lang].astype(str).to_dict(),
                    **fw.indicator_frame().set_index("indicator")[self.lang].astype(str).to_dict()}

        return self.data.shared(("framework_texts", self.year, self.lang), texts)

    def _grade_name(self, scores, grade: str) -> str:
        return self._framework_texts(scores)[grade]

    def _framework_name(self, scores, indicator: str) -> str:
        return self._framework_texts(scores)[indicator]

    def _points(self, scores) -> pd.DataFrame:
        """This county's framework indicators with the points each earned and lost (weight x shortfall); made
        once per report, read-only."""
        if self._points_rows is None:
            ind = self._county_rows("indicators", scores.indicators)
            ind["lost"] = ind["weight"] * (100.0 - ind["points"])
            self._points_rows = ind
        return self._points_rows

    def _evaluators(self, *kinds: str) -> str:
        """The evaluators' written findings of these kinds (``findings/<county>.<lang>.md``), as a block of its
        own marked as their judgement; empty when the county has none in the report's language."""
        found = self.data.findings(self.county_code, self.lang)
        if found is None or not any(found.items[k] for k in kinds):
            return ""
        parts = [f'<div class="evaluators"><h3>{esc(self.t("findings.label"))}</h3>', self._note("findings.note")]
        for kind in kinds:
            if found.items[kind]:
                parts.append(f"<p><strong>{esc(self.t('findings.' + kind))}</strong></p><ul>"
                             + "".join(f"<li>{esc(text)}</li>" for text in found.items[kind]) + "</ul>")
        return "".join(parts) + "</div>"

    def _conf_text(self) -> str:
        return f"{self.confidence:.1%}".replace(".0%", "%")

    def _size_text(self, row: pd.Series) -> str:
        if row["suppressed"] or pd.isna(row["n"]):
            return SUPPRESSED
        kind = row["kind"]
        if kind == "survey":
            return self.t("table.respondents", n=f"{int(row['n']):,}")
        if pd.isna(row["denominator"]):
            return f"{row['n']:,.0f}"
        return f"{row['n']:,.0f} / {row['denominator']:,.0f}"


def _section_method(name: str, module: ModuleType) -> Callable[[CountyReport], Fragment]:
    """The method ``CountyReport.<name>()``: the section's ``render(report)``, with its docstring."""
    def section(self: CountyReport) -> Fragment:
        return module.render(self)

    section.__name__, section.__qualname__ = name, f"CountyReport.{name}"
    section.__doc__ = module.render.__doc__
    return section


#: The module of each section (:mod:`evalkit.report.sections`), in the report's order.
_SECTION_MODULES: dict[str, ModuleType] = {name: getattr(sections, name) for name in SECTIONS}
for _name, _module in _SECTION_MODULES.items():
    setattr(CountyReport, _name, _section_method(_name, _module))
