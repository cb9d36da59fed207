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
"""

from __future__ import annotations

import datetime as _dt
import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..indicators import catalogue
from . import figures
from .data import ProvinceData, province_data
from .format import (SUPPRESSED, Fragment, comparison_cell, esc, interval_text, table_html, value_text)
from .i18n import LANGUAGES, keys, t

__all__ = ["CountyReport", "ReportParameterError", "BENCHMARKS", "HEADLINE", "ITEMS"]

#: Benchmark levels a county can be compared with.
BENCHMARKS = ("prefecture", "province")
#: Indicators in the summary and the trends, as (indicator, item).
HEADLINE = (("satisfaction_rate", "q_overall"), ("coverage", "all"), ("home_visit_share", "all"),
            ("person_times_per_1000", "all"), ("social_workers_per_10k", "all"), ("certified_share", "all"))
#: Survey items (satisfaction dimensions), the overall item first.
ITEMS = ("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect")
_STAFFING = ("station_coverage", "social_workers_per_station", "social_workers_per_10k", "certified_share",
             "professional_station_share", "volunteers_per_10k", "cost_per_person_time", "cost_per_person_served")
_TOWNSHIP = (("station_coverage", "all"), ("coverage", "all"), ("home_visit_share", "all"),
             ("person_times_per_1000", "all"), ("satisfaction_rate", "q_overall"))
_SCALE = {"proportion": 100.0, "net": 100.0}


class ReportParameterError(ValueError):
    """Raised when a report is asked for with a county, year or option the data do not have."""


@cache
def _groups() -> dict[str, dict[str, str]]:
    with resources.files("evalkit").joinpath("codes.toml").open("rb") as fh:
        return tomllib.load(fh)["person_group"]


def _resolve(data_dir: str | Path) -> Path:
    """A data folder: absolute as given, relative to the project root otherwise (notebooks run in notebooks/)."""
    from ..paths import ROOT

    path = Path(data_dir)
    return path if path.is_absolute() else ROOT / path


@cache
def _catalogue() -> dict[str, dict[str, Any]]:
    """The indicator catalogue as ``{column: {indicator: value}}``: a report looks up units and names a few
    hundred times, and a dict look-up costs a fraction of ``.loc`` on the catalogue's string index."""
    cat = catalogue()
    return {column: dict(zip(cat.index, cat[column].to_numpy())) for column in cat.columns}


def _headline_item(indicator: str) -> str:
    return "q_overall" if _catalogue()["kind"][indicator] == "survey" else "all"


_HEADLINE_PAIRS = frozenset(HEADLINE)


def _headline_rows(frame: pd.DataFrame, years: Sequence[int]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Year, value, lower and upper of each headline (indicator, item) of one unit's rows (all groups, in
    ``years``) as arrays, in the frame's order: grouped in one pass over plain lists."""
    keep = ((frame["group"] == "all") & frame["year"].isin(years)).to_numpy()
    at: dict[tuple[str, str], list[int]] = {}
    for i, pair in enumerate(zip(frame["indicator"].tolist(), frame["item"].tolist())):
        if keep[i] and pair in _HEADLINE_PAIRS:
            at.setdefault(pair, []).append(i)
    columns = {c: frame[c].to_numpy() for c in ("year", "value", "lower", "upper")}
    return {pair: {c: v[rows] for c, v in columns.items()} for pair, rows in at.items()}


def _small_area_by_county(eb: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """The townships' model-based estimates by county code, then township code (the first row of each)."""
    out: dict[str, dict[str, dict]] = {}
    for r in _records(eb[["county_code", "code", "suppressed", "value", "lower", "upper"]]):
        out.setdefault(r["county_code"], {}).setdefault(r["code"], r)
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
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


def _lookup(frame: pd.DataFrame) -> dict[tuple[str, str, str], dict]:
    """The rows of ``frame`` (one unit and year) as dicts by (indicator, item, group)."""
    return {(r["indicator"], r["item"], r["group"]): r for r in _records(frame)}


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
        data = province_data(_resolve(data_dir), cache_dir)
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
        return now, _lookup(now)

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
        return str(_catalogue()[self.lang][indicator])

    def _unit(self, indicator: str) -> str:
        return str(_catalogue()["unit"][indicator])

    def _rows(self, frame: pd.DataFrame) -> dict[tuple[str, str, str], dict]:
        """The rows of ``frame`` (one unit and year) as dicts by (indicator, item, group), made once per frame."""
        key = id(frame)
        if key not in self._lookups:
            self._lookups[key] = (frame, _lookup(frame))
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

    def cover(self) -> Fragment:
        """Title, scope and the reading guide."""
        c = self._county
        respondents = self._row(c, "satisfaction_rate", "q_overall")
        stations = self._row(c, "station_coverage")
        scope = self.t("cover.scope", townships=int(stations["denominator"]) if stations is not None else 0,
                       stations=int(stations["n"]) if stations is not None and not pd.isna(stations["n"])
                       else SUPPRESSED,
                       respondents=int(respondents["n"]) if respondents is not None and not respondents["suppressed"]
                       else SUPPRESSED, year=self.year)
        return Fragment(
            f'<header class="cover"><p class="kicker">{esc(self.t("cover.kicker"))}</p>'
            f'<h1>{esc(self.t("cover.title", county=self.county_name, year=self.year))}</h1>'
            f'<p class="subtitle">{esc(self.t("cover.where", county=self.county_name, code=self.county_code, prefecture=self.prefecture_name, province=self.province_name))}</p>'
            f"<p>{esc(scope)}</p>"
            f'<p class="note">{esc(self.t("cover.reading", confidence=f"{self.confidence:.1%}".replace(".0%", "%")))}</p>'
            "</header>")

    def summary(self) -> Fragment:
        """The few findings that matter: headline figures and what stands out against the benchmarks."""
        items = []
        for indicator, item in HEADLINE:
            row = self._row(self._county, indicator, item)
            if self._not_in_data(indicator, row):
                items.append(f"<li>{esc(self.t('missing.finding', indicator=self._indicator_name(indicator), year=self.year))}</li>")
                continue
            if row is None:
                continue
            unit = self._unit(indicator)
            if row["suppressed"]:
                text = self.t("summary.suppressed", indicator=self._indicator_name(indicator))
            else:
                cmp = row["vs_province"] if "province" in self.benchmarks else row["vs_prefecture"]
                bench = "province" if "province" in self.benchmarks else "prefecture"
                text = self.t("summary.finding", indicator=self._indicator_name(indicator),
                              value=value_text(row["value"], unit, self.lang),
                              interval=interval_text(row["lower"], row["upper"], unit, self.lang),
                              comparison=self.t(f"summary.{cmp}", benchmark=self.t(f"benchmark.{bench}")))
            items.append(f"<li>{esc(text)}</li>")
        worse, better = self._judged("worse"), self._judged("better")
        counts = self.t("summary.counts", better=len(better), worse=len(worse),
                        judged=len(self._judgeable()), benchmark=self.t("benchmark.province"))
        scores, me = self._scores()
        if me is not None and bool(me["graded"]):
            graded = self.t("summary.grade", grade=self._grade_name(scores, str(me["grade"])),
                            probability=f"{float(me['grade_probability']):.0%}", score=f"{float(me['score']):.1f}",
                            rank=int(me["rank"]), rank_lower=int(me["rank_lower"]), rank_upper=int(me["rank_upper"]),
                            n=int(me["n_ranked"]))
        else:
            graded = self.t("summary.not_graded")
        return Fragment(self._heading("summary") + self._gaps("survey", "services", "stations")
                        + f"<p><strong>{esc(graded)}</strong></p>"
                        f"<p>{esc(counts)}</p><ul>{''.join(items)}</ul>")

    def _judgeable(self) -> pd.DataFrame:
        """The county's headline figures (all groups, each indicator's headline item) that were compared with
        the province; found once per report."""
        if self._judgeable_rows is None:
            c = self._county
            keep = [group == "all" and item == _headline_item(indicator) and vs in ("better", "similar", "worse")
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

    def grade(self) -> Fragment:
        """The grade with its probability, the composite score and the rank with their intervals, the score by
        tier, and the points each indicator earned."""
        scores, me = self._scores()
        parts = [self._heading("grade")]
        gaps = self._gaps("survey", "services", "stations")
        if gaps:
            parts += [gaps, f"<p>{esc(self.t('missing.grade', year=self.year))}</p>"]
        if me is None or not bool(me["graded"]):
            points = self._points(scores)
            missing = [self._framework_name(scores, i) for i in points.loc[points["missing"], "indicator"]]
            share = float(me["missing_weight"]) if me is not None else 1.0
            parts.append("<p>" + esc(self.t("grade.not_graded", share=f"{share:.0%}",
                                            most=f"{scores.framework.max_missing_weight:.0%}",
                                            missing=("、" if self.lang == "zh" else ", ").join(missing) or SUPPRESSED))
                         + "</p>")
            return Fragment("".join(parts))
        grade = str(me["grade"])
        parts.append("<p>" + esc(self.t(
            "grade.headline", grade=self._grade_name(scores, grade), probability=f"{float(me['grade_probability']):.0%}",
            score=f"{float(me['score']):.1f}", lower=f"{float(me['score_lower']):.1f}",
            upper=f"{float(me['score_upper']):.1f}", rank=int(me["rank"]), rank_lower=int(me["rank_lower"]),
            rank_upper=int(me["rank_upper"]), n=int(me["n_ranked"]), confidence="95%")) + "</p>")
        grades = self.data.shared(("grades", self.year),
                                  lambda: scores.framework.grade_frame().to_dict("records"))
        parts.append(table_html(
            [self.t("table.grade"), self.t("table.score_range"), self.t("table.probability")],
            [[str(g[self.lang]), f"{g['min']:g}–{g['below']:g}", f"{float(me['p_' + g['grade']]):.0%}"]
             for g in grades], numeric=(2,)))
        tiers = self._county_rows("tiers", scores.tiers)
        bars = pd.DataFrame({
            "label": [self.t("grade.composite")] + [self.t("grade.tier", tier=self.t("tier." + str(r["tier"])),
                                                               weight=f"{float(r['weight']):.0%}")
                                                    for r in tiers.to_dict("records")],
            "score": [float(me["score"]), *tiers["score"].astype(float)],
            "score_lower": [float(me["score_lower"]), *tiers["score_lower"].astype(float)],
            "score_upper": [float(me["score_upper"]), *tiers["score_upper"].astype(float)]})
        cutoffs = [(g["min"], str(g[self.lang])) for g in grades if g["min"] > 0]
        fig = figures.score_bars(bars, xlabel=self.t("grade.axis"), cutoffs=cutoffs)
        parts.append(figures.figure_html(fig, alt=self.t("grade.figure_alt", county=self.county_name),
                                         caption=self.t("grade.figure_caption", confidence="95%")))
        rows = []
        for r in self._points(scores).to_dict("records"):
            unit = str(r["unit"])
            rows.append([self._framework_name(scores, r["indicator"]),
                         self.t("tier." + str(r["tier"])),
                         value_text(r["value"], unit, self.lang),
                         value_text(r["target"], unit, self.lang),
                         SUPPRESSED if r["missing"] else f"{float(r['points']):.0f}",
                         f"{float(r['weight']):.1%}",
                         SUPPRESSED if r["missing"] else f"{float(r['lost']):.1f}"])
        parts.append(table_html([self.t("table.indicator"), self.t("table.tier"), self.t("table.value"),
                                 self.t("table.target"), self.t("table.points"), self.t("table.weight"),
                                 self.t("table.points_lost")], rows, numeric=(2, 3, 4, 5, 6), labels=(1,)))
        parts.append(self._note("grade.note", draws=f"{scores.draws:,}"))
        if int(me["n_missing"]):
            parts.append(self._note("grade.reweighted", share=f"{float(me['missing_weight']):.0%}"))
        return Fragment("".join(parts))

    def indicator_table(self) -> Fragment:
        """Every indicator: value, interval, size, target, attainment and the benchmark comparisons."""
        rows, shown = [], []
        for indicator in self._cat.index:
            row = self._row(self._county, indicator, _headline_item(indicator))
            if row is None:
                continue
            shown.append(row)
            unit = self._unit(indicator)
            target = _catalogue()["target"][indicator] if "target" in _catalogue() else np.nan
            has_target = not pd.isna(target)
            attain = (value_text(row["value"] / target, "proportion", self.lang)
                      if has_target and not pd.isna(row["value"]) else SUPPRESSED)
            cells = [f'<td class="name">{esc(self._indicator_name(indicator))}</td>',
                     f'<td class="label">{esc(self.t("tier." + str(row["tier"])))}</td>',
                     f'<td class="num">{esc(value_text(row["value"], unit, self.lang))}</td>',
                     f'<td class="num">{esc(interval_text(row["lower"], row["upper"], unit, self.lang))}</td>',
                     f'<td class="num">{esc(self._size_text(row))}</td>',
                     f'<td class="num">{esc(value_text(target, unit, self.lang) if has_target else self.t("table.no_target"))}</td>',
                     f'<td class="num">{esc(attain)}</td>', *self._comparisons(row)]
            rows.append(cells)
        header = [self.t("table.indicator"), self.t("table.tier"), self.t("table.value"),
                  self.t("table.interval", confidence=self._conf_text()), self.t("table.size"),
                  self.t("table.target"), self.t("table.attainment"), *self._bench_headers()]
        return Fragment(self._heading("indicators") + self._gaps("survey", "services", "stations")
                        + table_html(header, rows, raw=True)
                        + self._note("note.comparison", confidence=self._conf_text())
                        + self._suppression_note(shown))

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

    def satisfaction(self) -> Fragment:
        """Satisfaction by dimension (figure and table) and by service-user group.

        When the survey has no wave for the report's year, the latest earlier wave is shown, with its own
        benchmarks, under a sentence saying so; with no earlier wave either, only that sentence."""
        c, province = self._county, self._province_now
        gap = self._gaps("survey", survey="missing.survey")
        if gap:
            shown = self._gap_info()["survey"][0]
            if shown is None:
                return Fragment(self._heading("satisfaction") + gap)
            c = self._county_all_years[self._county_all_years["year"] == shown]
            province = self._bench[(self._bench["code"] == self.province_code) & (self._bench["year"] == shown)]
        dims = {"label": [self.t("item." + i) for i in ITEMS]}
        for prefix, unit in (("c_", c), ("p_", province)):
            found = [self._row(unit, "satisfaction_rate", i) for i in ITEMS]
            for col in ("value", "lower", "upper"):
                dims[prefix + col] = [r[col] if r is not None else np.nan for r in found]
        dims = pd.DataFrame(dims)
        fig = figures.interval_dots(dims, label="label", series=[("c_", self.county_name, figures.HIGHLIGHT),
                                                                  ("p_", self.province_name, figures.BENCH)],
                                    xlabel=self.t("figure.satisfaction_axis"))
        parts = [self._heading("satisfaction"), gap,
                 figures.figure_html(fig, alt=self.t("figure.dimensions_alt", county=self.county_name),
                                     caption=self.t("figure.dimensions_caption", confidence=self._conf_text()))]
        rows = []
        for item in ITEMS:
            row = self._row(c, "satisfaction_rate", item)
            idx = self._row(c, "satisfaction_index", item)
            if row is None:
                continue
            excluded = SUPPRESSED if pd.isna(row["n_excluded"]) else f"{int(row['n_excluded']):,}"
            rows.append([f"<td>{esc(self.t('item.' + item))}</td>",
                         f'<td class="num">{esc(value_text(row["value"], "proportion", self.lang))}</td>',
                         f'<td class="num">{esc(interval_text(row["lower"], row["upper"], "proportion", self.lang))}</td>',
                         f'<td class="num">{esc(value_text(idx["value"], "index_0_100", self.lang) if idx is not None else SUPPRESSED)}</td>',
                         f'<td class="num">{esc(self._size_text(row))}</td>',
                         f'<td class="num">{esc(excluded)}</td>',
                         *self._comparisons(row)])
        parts.append(table_html([self.t("table.dimension"), self.t("indicator_short.satisfaction_rate"),
                                 self.t("table.interval", confidence=self._conf_text()),
                                 self.t("indicator_short.satisfaction_index"), self.t("table.size"),
                                 self.t("table.excluded"), *self._bench_headers()], rows, raw=True))
        by_group = c[(c["indicator"] == "satisfaction_rate") & (c["item"] == "q_overall") & (c["group"] != "all")]
        grows = []
        for _, row in by_group.sort_values("group").iterrows():
            grows.append([f"<td>{esc(_groups()[str(row['group'])][self.lang])}</td>",
                          f'<td class="num">{esc(value_text(row["value"], "proportion", self.lang))}</td>',
                          f'<td class="num">{esc(interval_text(row["lower"], row["upper"], "proportion", self.lang))}</td>',
                          f'<td class="num">{esc(self._size_text(row))}</td>', *self._comparisons(row)])
        parts.append(f'<h3 id="satisfaction-groups">{esc(self.t("section.satisfaction_groups"))}</h3>' + gap)
        parts.append(table_html([self.t("table.group"), self.t("indicator_short.satisfaction_rate"),
                                 self.t("table.interval", confidence=self._conf_text()), self.t("table.size"),
                                 *self._bench_headers()], grows, raw=True))
        parts.append(self._note("note.excluded"))
        rates = [r for (indicator, _, group), r in self._rows(c).items()
                 if indicator == "satisfaction_rate" and group == "all"]
        parts.append(self._suppression_note(rates + by_group[["suppressed"]].to_dict("records")))
        return Fragment("".join(parts))

    def comments(self) -> Fragment:
        """What service users wrote in the survey: scrubbed of personal data when the table was built, never
        with who wrote it, none where few answered (:func:`evalkit.indicators.comments`)."""
        from ..indicators import COMMENTS_MIN_RESPONDENTS, COMMENTS_SHOWN

        texts = [c["text"] for c in self.data.meta.get("comments", [])
                 if c["county_code"] == self.county_code and c["year"] == self.year]
        parts = [self._heading("comments")]
        if "survey" in self._gap_info():
            key = "missing.comments" + self._gap_info()["survey"][1]
            parts.append(f'<p class="missing"><strong>{esc(self.t(key, year=self.year))}</strong></p>')
        elif texts:
            parts.append(f"<p>{esc(self.t('comments.intro', n=len(texts)))}</p>")
            parts.append("<ul class=\"comments\">" + "".join(f"<li>{esc(text)}</li>" for text in texts) + "</ul>")
        else:
            parts.append(f"<p>{esc(self.t('comments.none'))}</p>")
        withheld = self.withheld_text()
        if withheld:
            parts.append(f'<p class="withheld">{esc(withheld)}</p>')
        parts.append(self._note("comments.note", most=COMMENTS_SHOWN, fewest=COMMENTS_MIN_RESPONDENTS))
        parts.append(self._note("comments.note_withheld"))
        if self.data.meta.get("comments_reviewed"):
            parts.append(self._note("comments.note_reviewed"))
        return Fragment("".join(parts))

    def withheld_text(self) -> str:
        """How many of the county-wave's comments were withheld, and why, by category (never the text):
        ``3 comments withheld: 2 possible names, 1 possible phone number.``; empty when none was."""
        entry = next((w for w in self.data.meta.get("comments_withheld", [])
                      if w["county_code"] == self.county_code and int(w["year"]) == int(self.year)), None)
        if not entry or not entry.get("withheld"):
            return ""
        known = {k.split(".")[-1] for k in keys(self.lang) if k.startswith("comments.reason.")}
        merged: dict[str, int] = {}
        for reason, n in entry.get("reasons", {}).items():  # a kind without a text of its own is "other"
            key = reason if reason in known else "other"
            merged[key] = merged.get(key, 0) + int(n)
        items = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0] == "other", kv[0]))
        reasons = self.t("comments.separator").join(
            self.t(f"comments.reason_one.{k}") if n == 1 else self.t(f"comments.reason.{k}", n=n) for k, n in items)
        n = int(entry["withheld"])
        return self.t("comments.withheld_one", reasons=reasons) if n == 1 else self.t("comments.withheld", n=n,
                                                                                      reasons=reasons)

    def reach(self) -> Fragment:
        """Reach and coverage by township, with the spread between townships."""
        tw = self._townships
        code_of, indicator_of, item_of, group_of, names_of, value_of, suppressed_of = (
            tw[c].tolist()
            for c in ("code", "indicator", "item", "group", f"name_{self.lang}", "value", "suppressed"))
        names: dict[str, str] = {}
        lookup: dict[tuple[str, str, str], dict] = {}
        for code, indicator, item, group, name, value, suppressed in zip(
                code_of, indicator_of, item_of, group_of, names_of, value_of, suppressed_of):
            names.setdefault(code, name)
            if group == "all":
                lookup[(code, indicator, item)] = {"value": value, "suppressed": suppressed}
        header = [self.t("table.township")] + [self.t("indicator_short." + i) for i, _ in _TOWNSHIP]
        header.append(self.t("table.model_based"))
        eb = self.data.shared(("small_area", self.year),
                              lambda: _small_area_by_county(self.data.small_area(self.year)))
        eb = eb.get(self.county_code, {})
        rows = []
        shown = []
        for code in sorted(names):
            cells = [f'<td class="label">{esc(names[code])}</td>']
            for indicator, item in _TOWNSHIP:
                row = lookup.get((code, indicator, item))
                if row is None:
                    cells.append(f"<td>{SUPPRESSED}</td>")
                    continue
                shown.append(row)
                if pd.isna(row["value"]):  # suppressed, or not in the data this year
                    text = SUPPRESSED
                elif indicator == "station_coverage":
                    text = self.t("table.yes") if row["value"] == 1 else self.t("table.no")
                else:
                    text = value_text(row["value"], self._unit(indicator), self.lang)
                cells.append(f'<td class="num">{esc(text)}</td>')
            est = eb.get(code)
            if est is None or bool(est["suppressed"]) or pd.isna(est["value"]):
                cells.append(f'<td class="num">{SUPPRESSED}</td>')
            else:
                cells.append(f'<td class="num model-based">{esc(value_text(est["value"], "proportion", self.lang))}'
                             f' ({esc(interval_text(est["lower"], est["upper"], "proportion", self.lang))})</td>')
            rows.append(cells)
        cov = pd.Series([value for indicator, group, value, suppressed in zip(indicator_of, group_of, value_of,
                                                                                suppressed_of)
                         if indicator == "coverage" and group == "all" and not suppressed], dtype=float).dropna()
        spread = ""
        if len(cov) >= 2:
            hi, lo = cov.max(), cov.min()
            spread = self._note("reach.spread", highest=value_text(hi, "proportion", self.lang),
                                lowest=value_text(lo, "proportion", self.lang), townships=len(cov))
        return Fragment(self._heading("reach") + self._gaps("services", "stations", "survey")
                        + f"<p>{esc(self.t('reach.intro', n=len(names)))}</p>"
                        + table_html(header, rows, raw=True) + spread + self._note("reach.model_based")
                        + self._suppression_note(shown))

    def staffing(self) -> Fragment:
        """Stations, staffing, volunteers and cost against the benchmarks."""
        rows, shown = [], []
        for indicator in _STAFFING:
            row = self._row(self._county, indicator)
            if row is None:
                continue
            shown.append(row)
            unit = self._unit(indicator)
            bench_cells = []
            for b in self.benchmarks:
                bench_cells.append(f'<td class="num">{esc(value_text(row[f"{b}_value"], unit, self.lang))}</td>')
            rows.append([f"<td>{esc(self._indicator_name(indicator))}</td>",
                         f'<td class="num">{esc(value_text(row["value"], unit, self.lang))}</td>',
                         f'<td class="num">{esc(interval_text(row["lower"], row["upper"], unit, self.lang))}</td>',
                         *bench_cells, *self._comparisons(row)])
        header = [self.t("table.indicator"), self.t("table.value"),
                  self.t("table.interval", confidence=self._conf_text()),
                  *[self.t(f"table.{b}_value") for b in self.benchmarks], *self._bench_headers()]
        return Fragment(self._heading("staffing") + self._gaps("stations", "services") + table_html(header, rows, raw=True)
                        + self._note("note.cost") + self._suppression_note(shown))

    def trends(self) -> Fragment:
        """Headline indicators across the waves, with the change from the first wave and its interval."""
        years = [y for y in self.data.years if y <= self.year]
        panels = []
        mine_all = _headline_rows(self._county_all_years, years)
        prov_all = self._shared("trend_province", lambda: _headline_rows(
            self._bench[self._bench["code"] == self.province_code], years))
        for indicator, item in HEADLINE:
            mine = mine_all.get((indicator, item))
            if mine is None:
                continue
            prov = prov_all.get((indicator, item), {c: v[:0] for c, v in mine.items()})
            frame = pd.DataFrame({c: np.concatenate([mine[c], prov[c]])
                                  for c in ("year", "value", "lower", "upper")})
            frame["who"] = ["county"] * len(mine["year"]) + ["province"] * len(prov["year"])
            frame["scale"] = _SCALE.get(self._unit(indicator), 1.0)
            panels.append((self._indicator_name(indicator), frame))
        every = self._shared("trend_changes", lambda: self._trend_changes(years))
        changes = [(i, every[(self.county_code, i)]) for i, _ in HEADLINE if (self.county_code, i) in every]
        parts = [self._heading("trends")]
        if len(years) < 2:
            parts.append(self._note("trends.single_wave"))
            return Fragment("".join(parts))
        fig = figures.trend_panels(panels, years=years, county_text=self.county_name,
                                   province_text=self.province_name)
        parts.append(figures.figure_html(fig, alt=self.t("figure.trends_alt", county=self.county_name),
                                         caption=self.t("figure.trends_caption", confidence=self._conf_text())))
        rows = []
        for indicator, ch in changes:
            unit = self._unit(indicator)
            unit_diff = "net" if unit == "proportion" else unit
            # the waves with a figure: one only (none in the other waves, or suppressed there) has no change
            waves = "–".join(str(int(y)) for y in (ch["year_from"], ch["year_to"]) if y is not None and not pd.isna(y))
            rows.append([self._indicator_name(indicator), waves,
                         value_text(ch["value"], unit_diff, self.lang, signed=True),
                         interval_text(ch["lower"], ch["upper"], unit_diff, self.lang),
                         self.t("change." + str(ch["label"])) if isinstance(ch["label"], str) else SUPPRESSED])
        parts.append(table_html([self.t("table.indicator"), self.t("table.waves"), self.t("table.change"),
                                 self.t("table.interval", confidence=self._conf_text()), self.t("table.verdict")],
                                rows, numeric=(2, 3)))
        parts.append(self._note("note.trend"))
        return Fragment("".join(parts))

    def _trend_changes(self, years: list[int]) -> dict[tuple[str, str], dict]:
        """The change of every county's headline indicators from its first wave in ``years`` to its last, by
        (county code, indicator): one vectorised call for all counties (each county's change uses its own rows
        only, so it is the same as a call per county)."""
        from ..measures.trend import change_between_waves

        parts = self.data.parts(self.confidence)
        frames = [parts[("level_year", "county", y)] for y in years if ("level_year", "county", y) in parts]
        if len(years) < 2 or not frames:
            return {}
        c = pd.concat(frames)
        headline = [pair in _HEADLINE_PAIRS for pair in zip(c["indicator"].tolist(), c["item"].tolist())]
        c = c[(c["group"] == "all").to_numpy() & np.array(headline, dtype=bool)]
        series = c[["code", "indicator", "year", "value", "se", "lower", "upper", "confidence"]]
        series = series.dropna(subset=["value"])
        if series.empty:
            return {}
        from scipy.special import ndtri  # norm.ppf, without importing scipy.stats

        # Wilson and Poisson intervals carry no se: take it from the interval
        z = ndtri(0.5 + series["confidence"].to_numpy(dtype=float) / 2)
        series["se"] = series["se"].fillna((series["upper"] - series["lower"]) / (2 * z))
        series = series.astype({"code": str, "indicator": str})
        changes = change_between_waves(series, by=["code", "indicator"], against=("first",),
                                       confidence=self.confidence)
        return {(r["code"], r["indicator"]): r for r in changes.to_dict("records")}

    def among_counties(self) -> Fragment:
        """Where the county sits among all counties: a funnel plot and a ranked dot plot."""
        funnel = self._shared("funnel", self._funnel)
        parts = [self._heading("among_counties"), self._gaps("survey", "services")]
        if funnel is not None:
            sat, limits, pooled = funnel
            texts = {"limit_0.95": self.t("figure.limit", level="95%"),
                     "limit_0.998": self.t("figure.limit", level="99.8%"),
                     "pooled": self.province_name, "others": self.t("figure.other_counties"),
                     "peers": self.t("figure.peers", prefecture=self.prefecture_name), "county": self.county_name}
            fig = figures.funnel(sat, limits, pooled=pooled, highlight=self.county_code, peers=self._peers(),
                                 xlabel=self.t("figure.effective_n"), ylabel=self.t("figure.satisfaction_axis"),
                                 texts=texts)
            parts.append(figures.figure_html(fig, alt=self.t("figure.funnel_alt", county=self.county_name),
                                             caption=self.t("figure.funnel_caption")))
        cov = self._shared("coverage", lambda: self._counties.loc[
            (self._counties["indicator"] == "coverage") & (self._counties["group"] == "all")
            & ~self._counties["suppressed"] & self._counties["value"].notna(), ["code", "value", "lower", "upper"]])
        if funnel is None and cov.empty:
            parts.append(self._note("among.none"))
            return Fragment("".join(parts))
        if cov.empty:  # the funnel alone: no county has a coverage figure to rank
            return Fragment("".join(parts))
        prov_cov = self._row(self._province_now, "coverage")
        values = cov["value"].to_numpy()
        mine = values[(cov["code"] == self.county_code).to_numpy()]
        mine = mine[~np.isnan(mine)]
        rank = int((values > (mine.max() if mine.size else np.nan)).sum()) + 1
        fig = figures.ranked_dots(cov, highlight=self.county_code,
                                  peers=self._peers(), label=self._indicator_name("coverage"),
                                  rank_text=self.t("figure.ranked_axis"),
                                  bench=float(prov_cov["value"]) if prov_cov is not None
                                  and not pd.isna(prov_cov["value"]) else None,
                                  bench_text=self.province_name)
        parts.append(figures.figure_html(fig, alt=self.t("figure.ranked_alt", county=self.county_name),
                                         caption=self.t("figure.ranked_caption", rank=rank, n=len(cov),
                                                        confidence=self._conf_text())))
        return Fragment("".join(parts))

    def _funnel(self) -> tuple[pd.DataFrame, pd.DataFrame, float] | None:
        """Every county's overall satisfaction with its effective sample size, the funnel's limits around the
        province's and the province's value; ``None`` when either is missing."""
        from ..measures.compare import funnel_axis, funnel_limits_proportion

        c = self._counties
        sat = c[(c["indicator"] == "satisfaction_rate") & (c["item"] == "q_overall") & (c["group"] == "all")
                & ~c["suppressed"]].copy()
        prov = self._row(self._province_now, "satisfaction_rate", "q_overall")
        if sat.empty or prov is None:
            return None
        # effective sample size: what the design-based standard error is worth in simple random sampling
        sat["x"] = sat["value"] * (1 - sat["value"]) / sat["se"] ** 2
        sat = sat[np.isfinite(sat["x"])]
        limits = funnel_limits_proportion(float(prov["value"]), funnel_axis(sat["x"].to_numpy()),
                                          confidence=(0.95, 0.998))
        return sat[["code", "x", "value"]], limits, float(prov["value"])

    def recommendations(self) -> Fragment:
        """Recommendations from the framework indicators that lost the county the most points, then any other
        indicator that is worse than the province."""
        scores, me = self._scores()
        items, covered = [], set()
        if me is not None and bool(me["graded"]):
            points = self._points(scores)
            points = points[~points["missing"] & (points["lost"] >= 0.05)].sort_values("lost", ascending=False)
            for r in points.head(3).to_dict("records"):
                unit = str(r["unit"])
                covered.add(str(r["measure"]))
                items.append("<li>" + esc(self.t(
                    "recommend.points_item", indicator=self._framework_name(scores, r["indicator"]),
                    value=value_text(r["value"], unit, self.lang), target=value_text(r["target"], unit, self.lang),
                    points=f"{float(r['points']):.0f}", lost=f"{float(r['lost']):.1f}"))
                    + " " + esc(self.t("recommend." + str(r["measure"]))) + "</li>")
        judged = self._judgeable().copy()
        values, n = self._shared("positions", self._values_by_indicator)
        # how far down the county sits among all counties (0 = best), honouring polarity
        position = []
        columns = (judged[c].tolist() for c in ("indicator", "item", "value", "polarity"))
        for indicator, item, value, polarity in zip(*columns):
            peers = values.get((indicator, item), np.array([]))
            better = peers < value if polarity == "lower_is_better" else peers > value
            position.append(float(better.mean()) if peers.size else 0.0)
        judged["position"] = position
        worst = judged[(judged["vs_province"] == "worse") & ~judged["indicator"].astype(str).isin(covered)]
        if not items and len(worst) < 3:  # no framework score: the weakest against the province
            rest = judged[~judged.index.isin(worst.index)].sort_values("position", ascending=False)
            worst = pd.concat([worst, rest.head(3 - len(worst))])
        for _, row in worst.sort_values("position", ascending=False).iterrows():
            unit = self._unit(row["indicator"])
            items.append("<li>" + esc(self.t(
                "recommend.item", indicator=self._indicator_name(row["indicator"]),
                value=value_text(row["value"], unit, self.lang),
                province=value_text(row["province_value"], unit, self.lang),
                comparison=self.t("compare." + str(row["vs_province"])),
                rank=int(round(row["position"] * (n - 1))) + 1, n=n))
                + " " + esc(self.t("recommend." + str(row["indicator"]))) + "</li>")
        intro = self.t("recommend.intro") if items else self.t("recommend.none")
        return Fragment(self._heading("recommendations") + f"<p>{esc(intro)}</p><ol>{''.join(items)}</ol>")

    def _values_by_indicator(self) -> tuple[dict[tuple[str, str], np.ndarray], int]:
        """Every county's values (all groups, not suppressed) by (indicator, item), and the number of counties."""
        c = self._counties
        n = c["code"].nunique()
        c = c[(c["group"] == "all") & ~c["suppressed"]]
        return {key: g["value"].to_numpy() for key, g in c.groupby(["indicator", "item"], observed=True)}, n

    def methods(self) -> Fragment:
        """Definitions, interval methods, the comparison test, the suppression rule and sample sizes."""
        rows = []
        for indicator in self._cat.index:
            row = self._row(self._county, indicator, _headline_item(indicator))
            method = str(row["method"]) if row is not None else ""
            rows.append([self._indicator_name(indicator), self.t("definition." + indicator),
                         self.t("method." + method) if method else SUPPRESSED])
        parts = [self._heading("methods"),
                 table_html([self.t("table.indicator"), self.t("table.definition"), self.t("table.method")], rows),
                 f"<p>{esc(self.t('methods.survey'))}</p>", f"<p>{esc(self.t('methods.comparison'))}</p>",
                 f"<p>{esc(self.t('methods.suppression'))}</p>", f"<p>{esc(self.t('methods.funnel'))}</p>"]
        parts.append(self.data.shared(("methods_framework", self.year, self.lang), self._framework_methods))
        return Fragment("".join(parts))

    def _framework_methods(self) -> str:
        """The framework's paragraph and weights table of the methods: the same in every county's report."""
        scores, _ = self._scores()
        fw = scores.framework
        cr = fw.consistency_frame()
        worst_cr = float(cr["cr"].max()) if len(cr) else 0.0
        text = self.t("methods.framework", framework=getattr(fw, self.lang, fw.id), version=fw.version,
                      draws=f"{scores.draws:,}", seed=scores.seed, most=f"{fw.max_missing_weight:.0%}",
                      cr=f"{worst_cr:.3f}")
        weights = fw.indicator_frame()
        return f"<p>{esc(text)}</p>" + table_html(
            [self.t("table.indicator"), self.t("table.tier"), self.t("table.weight"), self.t("table.floor"),
             self.t("table.target"), self.t("table.scoring")],
            [[str(r[self.lang]), self.t("tier." + str(r["tier"])), f"{float(r['weight']):.1%}",
              value_text(r["floor"], str(r["unit"]), self.lang) if not pd.isna(r["floor"]) else SUPPRESSED,
              value_text(r["target"], str(r["unit"]), self.lang), self.t("rule." + str(r["rule"]))]
             for r in weights.to_dict("records")], numeric=(2, 3, 4), labels=(1,))

    def data_quality(self) -> Fragment:
        """What was excluded or suppressed for this county, and what validation flagged in the inputs."""
        c = self._county
        excluded = c[(c["indicator"] == "satisfaction_rate") & (c["group"] == "all")]["n_excluded"].fillna(0)
        reasons = c["suppression_reason"].dropna().astype(str).value_counts()
        absent = int(reasons.pop("not_in_data")) if "not_in_data" in reasons.index else 0
        rows = [[self.t("quality.figures"), f"{len(c):,}"]]
        if absent:  # figures of a year an input table has no row for: missing, not suppressed
            rows.append([self.t("missing.quality"), f"{absent:,}"])
        rows.append([self.t("quality.suppressed"), f"{int(c['suppressed'].sum()):,}"])
        rows += [[self.t("quality.reason." + reason), f"{count:,}"] for reason, count in sorted(reasons.items())]
        rows.append([self.t("quality.excluded_answers"), f"{int(excluded.sum()):,}"])
        warnings = self.data.meta.get("warnings", [])
        by_rule = pd.Series([w["rule"] for w in warnings], dtype=str).value_counts()
        parts = [self._heading("data_quality"), self._gaps("survey", "services", "stations"),
                 table_html([self.t("table.check"), self.t("table.count")], rows, numeric=(1,))]
        if by_rule.empty:
            parts.append(f"<p>{esc(self.t('quality.no_warnings'))}</p>")
        else:
            parts.append(f"<p>{esc(self.t('quality.warnings'))}</p>")
            parts.append(table_html([self.t("table.rule"), self.t("table.count")],
                                    [[rule, f"{n:,}"] for rule, n in by_rule.items()], numeric=(1,)))
        return Fragment("".join(parts))

    def provenance(self) -> Fragment:
        """Data version, code version, parameters and time: enough to make this report again."""
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        when = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch
                else _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
        rows = [[self.t("provenance.dataset"), str(self.data.meta.get("dataset", ""))],
                [self.t("provenance.evalkit"), __version__]]
        rows += [[self.t("provenance.input", name=name), digest[:16]]
                 for name, digest in sorted(self.data.meta.get("inputs", {}).items())]
        rows += [[self.t("provenance.parameter", name=k), str(v)] for k, v in self.parameters.items()
                 if k != "data_dir"]
        rows.append([self.t("provenance.made"), when])
        return Fragment(self._heading("provenance") + table_html([self.t("table.item"), self.t("table.value")], rows)
                        + self._note("provenance.hashes"))
