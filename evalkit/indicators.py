"""The indicator table: every indicator for every unit, year and group, in one pass.

:func:`indicator_table` turns a validated :class:`~evalkit.schema.Province` into one
long, tidy table that reports and researchers read: every indicator in
``indicators.toml`` for every township, county, prefecture and the province, every
wave, with its interval at 95% and 99.8%, small-cell suppression, and comparisons
with the prefecture and the province.  Each row says how its number was made
(``statistic``, ``method``).

Layout (one row per unit x year x indicator x item x group x confidence):

==================  ======================================================================
column              meaning
==================  ======================================================================
level               ``township``, ``county``, ``prefecture`` or ``province``
code                the unit's code (9, 6, 4 or 2 digits, leading zeros kept)
province_code ...   the codes of the unit and its parents (missing below the unit's level)
name_en, name_zh    the unit's name (as in the latest year of regions)
year                the wave
indicator           an id from ``indicators.toml`` (``satisfaction_rate``, ``coverage``, ...)
tier, unit,         from ``indicators.toml``: framework tier, unit of ``value``,
polarity, kind      polarity and disclosure kind (survey, persons, facility)
item                the survey item (``q_overall`` ...) for satisfaction, else ``all``
group               a person-group code, or ``all``
n, denominator      the count the figure rests on and its denominator (respondents with a
                    valid answer for survey measures)
value, se,          the estimate, its standard error where there is one, and its interval
lower, upper        at ``confidence``
confidence          0.95 or 0.998
statistic, method   how the number was made (``proportion`` / ``beta``, ``rate per 1000`` / ``Byars``, ...)
n_excluded          survey answers excluded as don't know or refused
df, deff, n_eff     survey figures: the design's degrees of freedom (PSUs less strata of the unit's own
                    design), the design effect against simple random sampling and the effective sample
                    size ``n / deff`` (as R's ``deff=TRUE``); missing for other figures, and blanked with
                    the value where the figure is suppressed
suppressed,         small-cell suppression: survey figures on fewer than 10 respondents,
suppression_reason  figures about persons with fewer than 5 persons counted or registered,
                    survey figures with fewer than 2 degrees of freedom (``too_few_psus``),
                    and their complements (value, se, lower, upper and, for persons, n are
                    blanked; reasons in :data:`evalkit.measures.suppress.REASONS`); the reason
                    ``not_in_data``, with ``suppressed`` false, marks a figure of a year (or a county's
                    year) its input table has no row for: missing, never 0 (:data:`SOURCES`)
prefecture_value,   the benchmark values of the unit's prefecture and of the province
province_value      (same year, indicator, item, group and confidence)
vs_prefecture,      ``better`` / ``similar`` / ``worse`` (or ``higher`` / ``lower`` for
vs_province         indicators without polarity) / ``not_compared``: the unit's interval at
                    ``confidence`` against the benchmark value, as public-health profiles do
==================  ======================================================================

Satisfaction is broken down by respondent group for counties, prefectures and the
province; townships get the all-respondent figures only (groups within a township
are almost all below the suppression threshold).  Survey intervals use the
Korn-Graubard (beta) method for rates, which stays honest at 100% satisfied, with
the degrees of freedom of each unit's own design.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from . import __version__, _thread, registry

if TYPE_CHECKING:
    from .schema import Province

# The measures (and scipy under them) are imported where the table is built, not here: reading a
# cached table, its catalogue or the inputs' hashes (what every report and batch does) needs none
# of them, and importing scipy.stats costs seconds.

__all__ = ["LEVELS", "CONFIDENCE", "LAYOUT_VERSION", "SOURCES", "catalogue", "indicator_table", "table_years",
           "missing_years", "write_indicator_table",
           "read_indicator_table", "input_hashes"]

#: Geographic levels, from the smallest up.
LEVELS = ("township", "county", "prefecture", "province")
#: Confidence levels computed for every figure.
CONFIDENCE = (0.95, 0.998)
#: Version of the table layout documented above; bumped when columns change meaning.
# 2: survey comments, scrubbed, in the metadata; 3: professional_station_share; 4: comments published only
# when evalkit.privacy.assess finds them publishable (default deny) and, with a reviewed list, only reviewed
# ones; the withheld counted per county-wave by reason ("comments_withheld", "comments_reviewed" in the metadata);
# 5: the years each input table has rows for (``table_years``) and the counties it lacks in a year (``county_gaps``)
# in the metadata, and figures of a year whose input table has no rows for it blanked with the reason ``not_in_data``
# 6: the survey figures' df, deff and n_eff (issue 19)
LAYOUT_VERSION = "6"

_CODE = {"township": "township_code", "county": "county_code", "prefecture": "prefecture_code",
         "province": "province_code"}
_PARENTS = ["province_code", "prefecture_code", "county_code", "township_code"]
# The two halves of the table and the measures modules whose indicators (evalkit.registry) each computes.
_REACH, _SURVEY = "evalkit.measures.reach", "evalkit.measures.satisfaction"
#: Units whose figures lie within bounds (an interval is clipped to them).
_BOUNDS = {"index_0_100": (0.0, 100.0), "net": (-1.0, 1.0)}

#: The input tables each indicator is made from (besides ``regions``), from the registry (``sources``): the
#: survey's figures from ``survey``, figures about persons from ``services``, facility figures from ``stations``;
#: spending per contact or person from both. A year in which one of them has no rows has no such figure
#: (:func:`missing_years`).
SOURCES = registry.sources()

#: The catalogue's columns, as the table has them (the rest of the registry is read from evalkit.registry).
_CATALOGUE = ("en", "zh", "tier", "unit", "polarity", "kind", "target", "compare")


@cache
def catalogue() -> pd.DataFrame:
    """The indicators of the registry (``indicators.toml``) as a frame indexed by indicator id: ``en``, ``zh``,
    ``tier``, ``unit``, ``polarity``, ``kind``, ``target`` (missing where there is none) and ``compare``."""
    entries = registry.indicators()
    cat = pd.DataFrame.from_dict({name: {c: getattr(e, c) for c in _CATALOGUE if c in e.given}
                                  for name, e in entries.items()}, orient="index").rename_axis("indicator")
    cat = cat[[c for c in _CATALOGUE if c in cat]]
    cat["compare"] = cat["compare"].fillna(True).astype(bool) if "compare" in cat else True
    return cat


def _outputs(module: str) -> dict[str | None, str]:
    """The indicators of a measures module by the code of their output (``None`` for a function's only one)."""
    return {registry.get(name).output: name for name in registry.families().get(module, ())}


def _check_registry() -> None:
    """Every indicator of the registry has a pass of the table that computes it: an entry no pass reads would
    be missing from the table without a word (a programming error, not user error)."""
    from .measures.satisfaction import MEASURES

    families = registry.families()
    other = {module: names for module, names in families.items() if module not in (_REACH, _SURVEY)}
    if other:
        raise RuntimeError(f"{registry.FILE}: no pass of the indicator table computes the measures of "
                           f"{', '.join(other)} ({', '.join(n for names in other.values() for n in names)}); "
                           "add one to evalkit/indicators.py")
    for name in families.get(_SURVEY, ()):
        e = registry.get(name)
        if e.function != "satisfaction" or e.output not in MEASURES.values():
            raise RuntimeError(f"{registry.FILE}: [{name}] the survey's pass computes satisfaction() with output "
                               f"one of {', '.join(MEASURES.values())}, not {e.measure!r} {e.output!r}")


def _select(rows: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    """The rows ``keep`` of a measure's rows (columns as arrays, or one value for all rows)."""
    size = len(rows["unit_year"])
    return {c: v[keep] if isinstance(v, np.ndarray) and v.ndim and len(v) == size else v for c, v in rows.items()}


class _Units:
    """Every unit of every level, with its parents' codes and its names (latest year of regions).

    Rows of the table refer to units by their position here; codes and names become text only
    when the table is written out.
    """

    def __init__(self, regions: pd.DataFrame) -> None:
        self._lock = threading.RLock()  # the table's two halves look units up at once
        latest = regions.sort_values("year").drop_duplicates("township_code", keep="last")
        frames = []
        for level in LEVELS:
            code = _CODE[level]
            keep = _PARENTS[: _PARENTS.index(code) + 1]
            d = latest.drop_duplicates(code)[keep + [f"{level}_name_en", f"{level}_name_zh"]]
            d = d.rename(columns={f"{level}_name_en": "name_en", f"{level}_name_zh": "name_zh"})
            frames.append(d.assign(level=level, code=d[code]))
        self.frame = pd.concat(frames, ignore_index=True)

    def ids(self, level: str, codes: object) -> np.ndarray:
        """Positions of the units of ``level`` with ``codes``.

        A code that is not in regions (data that did not pass validation) becomes a unit of its
        own without parents or names.
        """
        codes = pd.Index(codes)
        with self._lock:
            frame = self.frame
            mine = frame["level"].to_numpy() == level
            found = pd.Index(frame.loc[mine, "code"]).get_indexer(codes)
            if (found < 0).any():
                new = pd.unique(codes[found < 0])
                self.frame = pd.concat([frame, pd.DataFrame({"level": level, "code": new})], ignore_index=True)
                return self.ids(level, codes)
            return np.flatnonzero(mine)[found]

    @property
    def parent(self) -> np.ndarray:
        """The unit's parent at the level above (what its siblings share), as an integer."""
        frame = self.frame  # one frame, should the other half add units meanwhile
        level, parent = frame["level"].to_numpy(), frame["code"].copy()
        for lv, above in zip(LEVELS[:-1], LEVELS[1:]):
            parent[level == lv] = frame.loc[level == lv, _CODE[above]]
        parent[level == LEVELS[-1]] = np.nan
        return pd.factorize(parent, use_na_sentinel=False)[0]

    @property
    def rank(self) -> np.ndarray:
        """Rank of each unit's code (the table is sorted by level, then code)."""
        rank = np.empty(len(self.frame), dtype=np.int64)
        rank[np.argsort(self.frame["code"].to_numpy(dtype=object), kind="stable")] = np.arange(len(self.frame))
        return rank

    def column(self, name: str, unit: np.ndarray) -> pd.Series:
        """A text column of the units (code, parents, names) for every row (taken from the column's
        array: the Series' take would also build an index of 600,000 labels, only to drop it)."""
        return pd.Series(self.frame[name].array.take(unit), name=name, copy=False)


class _Text:
    """The text of the table's categorical columns (indicator, item, group, statistic, method,
    ...) as integer codes: each distinct value is handled once, never row by row."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}
        self._lock = threading.Lock()  # the table's two halves code text at once

    def one(self, value: object) -> int:
        """The code of ``value`` (-1 for missing).  Which value gets which code depends on which half of the
        table asks first; the table depends only on which codes are equal and on the text they stand for."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return -1
        code = self._index.get(value)
        if code is None:
            with self._lock:
                code = self._index.get(value)
                if code is None:
                    code = len(self.values)
                    self.values.append(value)  # before the index names it: its code is always a position
                    self._index[value] = code
        return code

    def code(self, values: object, size: int) -> np.ndarray:
        """Codes of ``values`` (one value, or one per row; missing is -1)."""
        if isinstance(values, str) or values is None:
            return np.full(size, self.one(values), dtype=np.int64)
        codes, uniques = pd.factorize(np.asarray(values, dtype=object) if isinstance(values, list) else values)
        lookup = np.array([self.one(v) for v in uniques] + [-1], dtype=np.int64)
        return lookup[codes]

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        """What ``astype("category")`` makes of the text: categories are the values present, sorted."""
        present = np.flatnonzero(np.bincount(codes + 1, minlength=len(self.values) + 1)[1:])
        names = [self.values[i] for i in present]
        order = np.argsort(np.array(names, dtype=object), kind="stable")
        # the codes in the smallest integer type, as from_codes() would store them; each is a category's
        new = np.full(len(self.values) + 1, -1, dtype=np.min_scalar_type(-len(present) - 1))
        new[present[order]] = np.arange(len(present))
        return pd.Categorical.from_codes(new[codes], categories=pd.Index([names[i] for i in order]),
                                         validate=False)

    def rank(self, codes: np.ndarray) -> np.ndarray:
        """Sort rank of each row's text (missing first; only used for values that are present)."""
        order = np.argsort(np.array(self.values + [""], dtype=object), kind="stable")
        rank = np.empty(len(self.values) + 1, dtype=np.int64)
        rank[order] = np.arange(len(self.values) + 1)
        return rank[codes]


#: Columns of the rows before the table is written out; text columns hold _Text codes.
_TEXT = ("indicator", "item", "group", "statistic", "method")
_NUMBERS = ("confidence", "n", "denominator", "value", "se", "lower", "upper", "n_excluded", "df", "deff", "n_eff",
            "persons")


def _rows(rows: dict[str, Any], level: str, unit: np.ndarray, year: np.ndarray, text: _Text,
          **fixed: object) -> dict[str, Any]:
    """One measure's rows (columns as arrays, or one value for all rows): its unit, year, text codes and
    numbers (missing ones NaN)."""
    size = len(unit)
    out: dict[str, Any] = {"level": level, "place": unit, "year": year}
    for c in _TEXT:
        out[c] = text.code(fixed[c] if c in fixed else rows[c] if c in rows else "all", size)
    for c in _NUMBERS:
        out[c] = (np.broadcast_to(np.asarray(rows[c], dtype=float), size) if c in rows
                  else np.full(size, np.nan))
    return out


def _reach(p: Province, levels: Sequence[str], confidence: list[float]) -> dict[str, tuple[pd.DataFrame, dict]]:
    """The reach measures of every level (keys and arrays; no rows of the table yet)."""
    from .measures import reach

    return reach.by_level(p.regions, p.stations, p.services, levels, per=1000, confidence=confidence)


def _reach_rows(measures: dict[str, tuple[pd.DataFrame, dict]], confidence: list[float], units: _Units,
                text: _Text) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for level, (keys, m) in measures.items():
        unit, year = units.ids(level, keys[_CODE[level]]), keys["year"].to_numpy(dtype=np.int64)

        def rows(r: dict[str, Any], **fixed: object) -> dict[str, Any]:
            at = r["unit_year"]
            return _rows(r, level, unit[at], year[at], text, **fixed)

        parts = []
        # every indicator of the registry whose measure is in evalkit.measures.reach: the rows of its function
        # (of all of them, those with its code in the ``measure`` column where the function gives several)
        for name in registry.families().get(_REACH, ()):
            e = registry.get(name)
            if e.function not in m:
                known = ", ".join(k for k in m if not k.startswith("_"))
                raise RuntimeError(f"{registry.FILE}: [{name}] measure {e.measure!r}: evalkit.measures.reach "
                                   f"computes no {e.function!r} for the table (it computes {known})")
            r = m[e.function]
            if e.output is not None:
                r = _select(r, np.asarray(r["measure"], dtype=object) == e.output)
            if e.persons == "persons":  # a figure about contacts: the persons behind them decide if it is shown
                r = {**r, "persons": m["_persons"][r["unit_year"]]}
            parts.append(rows(r, indicator=name))
        out[level] = parts
    return out


#: One breakdown's satisfaction estimates: its keys, the estimates, and (confidence, lower, upper) at the
#: other confidence levels.
_Estimates = tuple[list[str], Any, list[tuple[float, np.ndarray, np.ndarray]]]


def _survey_estimates(p: Province, levels: Sequence[str], confidence: list[float], lonely_psu: str
                      ) -> dict[str, list[_Estimates]]:
    """The satisfaction estimates of every level and breakdown, and their intervals at the other
    confidence levels (arrays; no rows of the table yet)."""
    from .measures.satisfaction import LIKERT_ITEMS, MEASURES, satisfaction_breakdowns

    survey = p.survey
    codes = [_CODE[level] for level in levels]
    # codes as categoricals: groups are coded from small integer codes
    survey = survey.astype({c: "category" for c in ("township_code", "psu", "county_code", *codes, "group")
                            if c in survey.columns})
    missing = [c for c in dict.fromkeys(codes) if c not in survey.columns]
    if missing:  # the parents of the respondents' townships, looked up once per township
        town = survey["township_code"].array
        parents = p.regions.drop_duplicates("township_code").set_index("township_code")[missing]
        parents = parents.reindex(town.categories)
        survey = survey.assign(**{c: pd.Categorical.from_codes(
            np.append(parent.codes, -1)[town.codes], parent.categories)  # -1: a missing township has none
            for c, parent in ((c, pd.Categorical(parents[c])) for c in missing)})
    breakdowns = {level: [["year", _CODE[level]]] + ([["year", _CODE[level], "group"]] if level != "township" else [])
                  for level in levels}
    # one design, one recoding and one stacking of the items for every level and breakdown
    tables = iter(satisfaction_breakdowns(survey, LIKERT_ITEMS, [by for bys in breakdowns.values() for by in bys],
                                          measures=tuple(m for m, code in MEASURES.items() if code in _outputs(_SURVEY)),
                                          confidence=confidence[0], ci_method="beta",
                                          df="domain", wave="year", strata="township_code", psu="psu", weight="weight",
                                          fpc=None, lonely_psu=lonely_psu, design_effects=True))
    # the intervals at the other confidence levels, here rather than with the rows: this thread is the
    # one with time to spare
    return {level: [(by, b, [(conf, *_at_confidence(b, conf)) for conf in confidence[1:]])
                    for by, b in zip(bys, tables)] for level, bys in breakdowns.items()}


def _satisfaction_rows(estimates: dict[str, list[_Estimates]], confidence: list[float], units: _Units,
                       text: _Text) -> dict[str, list[dict[str, Any]]]:
    out = {}
    indicator_of = _outputs(_SURVEY)
    for level, breakdowns in estimates.items():
        parts = []
        for by, b, others in breakdowns:
            group, item, measure = b.index()
            code = b.keys[_CODE[level]].array
            rows: dict[str, Any] = {
                "level": level, "place": units.ids(level, code.categories)[code.codes][group],
                "year": b.keys["year"].to_numpy(dtype=np.int64)[group],
                "indicator": np.array([text.one(indicator_of[m]) for m in b.measures])[measure],
                "item": np.array([text.one(i) for i in b.items])[item],
                "statistic": np.array([text.one(v) for v in b.statistic])[measure],
                "method": np.array([text.one(v) for v in b.method])[measure]}
            if "group" in by:
                groups = b.keys["group"].array
                rows["group"] = np.array([text.one(v) for v in groups.categories])[groups.codes][group]
            else:
                rows["group"] = np.full(len(group), text.one("all"))
            rows.update({c: b.columns[c].astype(float) if c in b.columns else np.full(len(group), np.nan)
                         for c in _NUMBERS})
            # the same estimates at the other levels: only the interval differs
            parts.extend({**rows, "lower": lower, "upper": upper, "confidence": np.full(len(group), conf)}
                         for conf, lower, upper in others)
            parts.append(rows)
        out[level] = parts
    return out


def _at_confidence(b: Any, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval of one breakdown's satisfaction estimates at another confidence level, as
    satisfaction() would give it.

    Rates (unit ``proportion``): the Korn-Graubard interval from value, SE, n and df
    (:func:`~evalkit.measures.survey.prop_interval`); index and net satisfaction: value -/+ t(df) SE within
    the range their unit can take.
    """
    from .measures.survey import prop_interval, t_quantile

    measure = b.index()[2]
    indicator_of = _outputs(_SURVEY)
    code = np.array([registry.get(indicator_of[m]).unit for m in b.measures], dtype=object)[measure]
    rate = code == "proportion"
    value, se, dof, n = (b.columns[c][rate].astype(float) for c in ("value", "se", "df", "n"))
    lower, upper = np.empty(len(rate)), np.empty(len(rate))
    lower[rate], upper[rate] = prop_interval(value, se, n, dof, confidence, "beta")
    value, se, dof = (b.columns[c][~rate].astype(float) for c in ("value", "se", "df"))
    with np.errstate(invalid="ignore"):
        half = t_quantile(0.5 + confidence / 2, dof) * se
    bounds = np.array([_BOUNDS[u] for u in code[~rate]], dtype=float).reshape(-1, 2)
    lower[~rate] = np.clip(value - half, bounds[:, 0], bounds[:, 1])
    upper[~rate] = np.clip(value + half, bounds[:, 0], bounds[:, 1])
    return lower, upper


def indicator_table(province: Province, *, levels: Sequence[str] = LEVELS,
                    confidence: Sequence[float] = CONFIDENCE) -> pd.DataFrame:
    """Compute the whole indicator table (layout in the module docstring).

    Parameters
    ----------
    province : Province
        Validated inputs from :func:`evalkit.load_province`.
    levels : sequence of str
        Levels to compute (at least one).  A unit is compared with its prefecture and the
        province only where those levels are computed too; otherwise its ``vs_prefecture`` or
        ``vs_province`` is ``not_compared`` and the benchmark value is missing.
    confidence : sequence of float
        Confidence levels; 0.95 and 0.998 by default (the two comparison levels).

    Returns
    -------
    pandas.DataFrame
        One row per unit, year, indicator, item, group and confidence level.

    Examples
    --------
    >>> import datetime
    >>> from evalkit.schema import load_province
    >>> p = load_province("tests/data/base", today=datetime.date(2026, 11, 22))
    >>> t = indicator_table(p)
    >>> sorted(t["level"].unique())
    ['county', 'prefecture', 'province', 'township']
    """
    from .schema import Province

    if not isinstance(province, Province):
        raise ValueError("indicator_table() needs a validated Province from evalkit.load_province().")
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"Unknown level(s) {sorted(unknown)}; use {', '.join(LEVELS)}.")
    if not levels:
        raise ValueError(f"levels must name at least one level: {', '.join(LEVELS)}.")
    confidence = [float(c) for c in confidence]
    lonely = province.meta.get("lonely_psu", "fail")
    lonely = "adjust" if lonely == "fail" else lonely  # validation already refused lonely PSUs under "fail"
    # The table has two halves that share no figure, sibling or benchmark: reach (a sort of the ledger) and
    # satisfaction (the survey estimates).  Most of their time is spent in numpy loops that release the GIL,
    # so the survey's half runs in a second thread (started for this call, so that processes forked later,
    # as by evalkit batch, inherit no idle worker); each half is suppressed and compared on its own.  Only
    # the order of the rows and the columns written out are made from both.
    units, text = _Units(province.regions), _Text()
    catalogue()  # read once, before the halves ask for it
    _check_registry()

    def satisfaction() -> dict[str, np.ndarray]:
        rows = _satisfaction_rows(_survey_estimates(province, levels, confidence, lonely), confidence, units, text)
        return _half([part for level in levels for part in rows[level]], units, text)

    survey = _thread.start(satisfaction)
    try:
        rows = _reach_rows(_reach(province, levels, confidence), confidence, units, text)
        reach = _half([part for level in levels for part in rows[level]], units, text)
    except BaseException:
        _thread.join_quietly(survey)  # reach's error is the one raised, as when reach ran first
        raise
    by_year, by_county = province.gaps
    return _blank_missing(_finish([reach, survey()], units, text), by_year, by_county)


def table_years(province: Province) -> dict[str, list[int]]:
    """The years each input table has rows for: ``regions``, ``stations`` and ``survey`` by their ``year``,
    ``services`` by the year of its contacts' dates."""
    out = {}
    for name in ("regions", "stations", "services", "survey"):
        d = getattr(province, name)
        years = d["date"].dt.year if name == "services" else d["year"]
        out[name] = sorted(int(y) for y in pd.unique(years.dropna()))
    return out


def missing_years(years: dict[str, list[int]]) -> dict[str, list[int]]:
    """The years of the regions table that ``stations``, ``services`` or ``survey`` have no rows for (from
    :func:`table_years` or the ``table_years`` of a table's metadata): a wave not delivered yet, a ledger not
    imported.  Tables without a gap are left out."""
    covered = years.get("regions", [])
    out = {}
    for name in ("stations", "services", "survey"):
        if name in years:
            gap = [y for y in covered if y not in set(years[name])]
            if gap:
                out[name] = gap
    return out


def _blank_missing(table: pd.DataFrame, missing: dict[str, list[int]],
                   counties: dict[str, dict[str, list[int]]] | None = None) -> pd.DataFrame:
    """Blank the figures of the years an input table has no rows for (a coverage of 0% from a ledger that is not
    there yet would be a wrong figure, not a small one): value, interval, benchmarks and comparisons missing,
    ``suppression_reason`` ``not_in_data``.  ``counties`` (from :func:`evalkit.schema.coverage_gaps`) does the
    same for the county and township figures of a county the table lacks in a year.  Survey figures of such a
    year have no rows to blank."""
    # a county without respondents in a wave has no survey rows to blank: only the contact figures' gaps count
    counties = {name: by_county for name, by_county in (counties or {}).items() if name != "survey"}
    if not missing and not counties:
        return table
    hit = np.zeros(len(table), dtype=bool)
    indicator = table["indicator"].astype(str).to_numpy()
    year = table["year"].to_numpy()
    for name, years in missing.items():
        made_from = [i for i, tables in SOURCES.items() if name in tables]
        hit |= np.isin(indicator, made_from) & np.isin(year, years)
    if counties:
        county = table["county_code"].astype(str).to_numpy()
        local = table["level"].astype(str).isin(["county", "township"]).to_numpy()
        for name, by_county in counties.items():
            made_from = np.isin(indicator, [i for i, tables in SOURCES.items() if name in tables]) & local
            for code, years in by_county.items():
                hit |= made_from & (county == code) & np.isin(year, years)
    if not hit.any():
        return table
    for c in ("n", "value", "se", "lower", "upper", "prefecture_value", "province_value"):
        table.loc[hit, c] = np.nan
    table.loc[hit, "suppressed"] = False
    for c, code in (("suppression_reason", "not_in_data"), ("vs_prefecture", "not_compared"),
                    ("vs_province", "not_compared")):
        if code not in table[c].cat.categories:
            table[c] = table[c].cat.add_categories([code])
        table.loc[hit, c] = code
    return table


def _half(parts: list[dict[str, Any]], units: _Units, text: _Text) -> dict[str, np.ndarray]:
    """Join the rows of some measures (every level of their indicators), suppress them and compare them with
    their benchmarks: the table's columns as arrays, in the order of ``parts``, text as codes."""
    size = np.cumsum([0] + [len(p["place"]) for p in parts])
    t: dict[str, np.ndarray] = {
        "level": np.repeat(np.array([LEVELS.index(p["level"]) for p in parts], dtype=np.int64), np.diff(size)),
        **{c: np.concatenate([p[c] for p in parts]) for c in ("place", "year", *_TEXT, *_NUMBERS)}}
    cat = catalogue()
    by_indicator = pd.Index(cat.index).get_indexer(text.values + [None])
    missing = t["indicator"][by_indicator[t["indicator"]] < 0]
    if missing.size:  # a measure without a catalogue entry is a programming error, not user error
        raise RuntimeError(f"indicators without a catalogue entry: {sorted({text.values[i] for i in missing})}")
    row = by_indicator[t["indicator"]]  # the indicator's row of the catalogue
    for c in ("tier", "unit", "polarity", "kind"):
        t[c] = text.code(cat[c].to_numpy(dtype=object), len(cat))[row]
    t["compare"] = cat["compare"].to_numpy(dtype=bool)[row]
    t["level_of_confidence"] = pd.factorize(t["confidence"], sort=True)[0]
    t["suppressed"], t["suppression_reason"] = _suppress(t, units, text)
    for level, (value, vs) in _benchmarks(t, units, text).items():
        t[f"{level}_value"], t[f"vs_{level}"] = value, vs
    return t


def _finish(halves: list[dict[str, np.ndarray]], units: _Units, text: _Text) -> pd.DataFrame:
    """Join the halves of the table (:func:`_half`), sort the rows and write out the table."""
    t = {c: np.concatenate([h[c] for h in halves]) for c in halves[0]}
    t["level_of_confidence"] = pd.factorize(t["confidence"], sort=True)[0]  # of both halves
    # the table's order: level, code, year, indicator, item, group, confidence, each as text (so the
    # levels come in alphabetical order, county first, as they always have)
    level = np.array([text.one(level) for level in LEVELS])[t["level"]]
    order = np.argsort(_combine(text.rank(level), units.rank[t["place"]], pd.factorize(t["year"], sort=True)[0],
                                text.rank(t["indicator"]), text.rank(t["item"]), text.rank(t["group"]),
                                t["level_of_confidence"]))  # one row per key: any sort gives this order
    unit = t["place"][order]
    # the unit columns (after level) are Arrow takes of text, which run without the GIL: in a second thread
    # while this one writes out the rest
    unit_columns = _thread.start(lambda: {c: units.column(c, unit) for c in ("code", *_PARENTS, "name_en", "name_zh")})
    out: dict[str, Any] = {"level": text.categorical(level[order])}
    try:
        out["year"] = t["year"][order]
        for c in ("indicator", "tier", "unit", "polarity", "kind", "item", "group"):
            out[c] = text.categorical(t[c][order])
        for c in ("n", "denominator", "value", "se", "lower", "upper", "confidence"):
            out[c] = t[c][order]
        for c in ("statistic", "method"):
            out[c] = text.categorical(t[c][order])
        for c in ("n_excluded", "df", "deff", "n_eff"):
            out[c] = t[c][order]
        out["suppressed"] = t["suppressed"][order]
        out["suppression_reason"] = text.categorical(t["suppression_reason"][order])
        for level in ("prefecture", "province"):
            out[f"{level}_value"] = t[f"{level}_value"][order]
            out[f"vs_{level}"] = text.categorical(t[f"vs_{level}"][order])
    except BaseException:
        _thread.join_quietly(unit_columns)
        raise
    return pd.DataFrame({"level": out.pop("level"), **unit_columns(), **out})


def _suppress(t: dict[str, np.ndarray], units: _Units, text: _Text) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary suppression by disclosure kind; facility figures are not about persons.

    Siblings that add up to a published figure: the units of one parent (townships of a county,
    counties of a prefecture, prefectures of the province) and the groups of one unit.  Survey
    figures whose design leaves fewer than 2 degrees of freedom (PSUs minus strata) have no usable
    interval and are suppressed too (``too_few_psus``).  Blanks the suppressed figures of ``t``
    in place; returns ``suppressed`` and the reason's text code.
    """
    from .measures.suppress import PEOPLE_THRESHOLD, REASONS, SURVEY_THRESHOLD, suppress_arrays

    # one integer per sibling group: (level, year, indicator, item, confidence) and either (parent, group)
    # or the unit itself
    figure = _combine(t["level"], t["year"] - t["year"].min(initial=0), t["indicator"], t["item"],
                      t["level_of_confidence"])
    siblings = (_combine(figure, units.parent[t["place"]], t["group"]), _combine(figure, t["place"]))
    kind = t["kind"]
    suppressed = np.zeros(len(kind), dtype=bool)
    reason = np.full(len(kind), -1, dtype=np.int64)
    survey = np.flatnonzero(kind == text.one("survey"))
    unstable = (t["df"][survey] < 2) & ~np.isnan(t["value"][survey])
    for c in ("value", "se", "lower", "upper", "deff", "n_eff"):
        t[c][survey[unstable]] = np.nan
    people = np.flatnonzero(kind == text.one("persons"))
    # the persons each figure is about (the registry's ``persons``): served persons (n) for coverage and home
    # visits, persons served for cost per person served (its denominator), distinct persons behind the contacts
    # for person-times (persons)
    ind = t["indicator"][people]
    persons = t["n"][people].copy()
    for name in registry.names(kind="persons"):
        column = registry.get(name).persons
        if column != "n":
            mine = ind == text.one(name)
            persons[mine] = t[column][people][mine]
    # suppress()'s rule on the rows as arrays: survey figures on their respondents, figures about persons on
    # the persons and, as a small register is as telling as a small count (3 of 3 registered people served
    # names all three), their denominator
    for rows, counts, limit, before, columns in (
            (survey, t["n"][survey][:, None], SURVEY_THRESHOLD, unstable,
             ("value", "se", "lower", "upper", "deff", "n_eff")),
            (people, np.column_stack([persons, t["denominator"][people]]), PEOPLE_THRESHOLD,
             np.zeros(len(people), dtype=bool), ("n", "value", "se", "lower", "upper"))):
        hidden, why = suppress_arrays(counts, np.full(len(rows), float(limit)),
                                      [pd.factorize(s[rows])[0] for s in siblings], before)
        for c in columns:
            t[c][rows[hidden]] = np.nan
        suppressed[rows] = hidden
        codes = np.array([text.one(r) for r in REASONS] + [-1])[why]  # -1: the last, none
        codes[before] = text.one("too_few_psus")
        reason[rows] = codes
    return suppressed, reason


def _combine(*codes: np.ndarray) -> np.ndarray:
    """One integer per combination of the codes (small integers, -1 for missing), ordered as the
    combinations are (the first code first)."""
    out = codes[0].astype(np.int64) + 1  # + 1: -1 (missing) is a value too
    for c in codes[1:]:
        out *= int(c.max(initial=0)) + 2
        out += c
        out += 1
    return out


def _benchmarks(t: dict[str, np.ndarray], units: _Units, text: _Text) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Compare every unit's interval with its prefecture's and the province's value.

    Where the benchmark level is not in the table (``levels`` without it), or the benchmark is
    suppressed, there is no value to compare with: ``not_compared``.
    """
    from .measures.compare import DIRECTION_CODES, POLARITIES, interval_direction

    # one integer per (year, indicator, item, group, confidence): the figure a benchmark is of
    figure = pd.factorize(_combine(t["year"] - t["year"].min(initial=0), t["indicator"], t["item"], t["group"],
                                   t["level_of_confidence"]))[0]
    n_figures = int(figure.max(initial=0)) + 1
    value = t["value"]
    # an interval of width zero (every respondent satisfied: no variance to estimate) proves nothing
    degenerate = (t["lower"] == t["upper"]) | ~t["compare"]
    polarity = pd.Index(POLARITIES).get_indexer(np.array(text.values + [None], dtype=object))[t["polarity"]]
    if (polarity < 0).any():  # the catalogue is ours: a programming error, not user error
        raise RuntimeError(f"unknown polarity in indicators.toml: {text.values[t['polarity'][polarity < 0][0]]!r}")
    out = {}
    frame = units.frame  # one frame, should the other half add units meanwhile
    for bench in ("prefecture", "province"):
        # the unit's benchmark unit (its prefecture, or the province), and the benchmark rows
        code = frame[_CODE[bench]]
        levels = frame["level"].to_numpy()
        bench_units = pd.Index(code[levels == bench])
        their = np.where(code.notna(), bench_units.get_indexer(code), -1)[t["place"]]
        key = (their + 1) * n_figures + figure
        is_bench = t["level"] == LEVELS.index(bench)
        # the benchmark row of every row: a lookup table over (benchmark unit, figure)
        lookup = np.full((len(bench_units) + 1) * n_figures, -1, dtype=np.int64)
        if (np.bincount(key[is_bench]) > 1).any():  # two benchmark rows for one figure: a programming error
            raise RuntimeError(f"more than one {bench} row for a figure")
        lookup[key[is_bench]] = np.arange(int(is_bench.sum()))
        where = lookup[key]
        bench_value = np.full(len(key), np.nan)
        found = where >= 0
        bench_value[found] = value[is_bench][where[found]]
        below = t["level"] < LEVELS.index(bench)
        # compare_to_benchmark()'s interval method, its codes coded as text
        judged = np.flatnonzero(below & ~degenerate & found)
        direction, missing = interval_direction(*(t[c][judged] for c in ("value", "lower", "upper")),
                                                bench_value[judged])
        vs = np.full(len(key), -1, dtype=np.int64)
        vs[below] = text.one("not_compared")
        codes = np.array([[text.one(c) for c in row] for row in DIRECTION_CODES])
        vs[judged] = np.where(missing, text.one("not_compared"), codes[polarity[judged], direction + 1])
        out[bench] = np.where(below & (their >= 0), bench_value, np.nan), vs
    return out


def _hash_files(paths: dict[str, Path]) -> dict[str, str]:
    out = {}
    for name, path in sorted(paths.items()):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        out[name] = h.hexdigest()
    return out


def _province_hashes(province: Province) -> dict[str, str]:
    folders = {p.parent for p in province.sources.values()}
    if len(folders) == 1:  # the usual case: what input_hashes() says of the folder
        return input_hashes(folders.pop())
    return _hash_files(dict(province.sources))


def input_hashes(data_dir: str | Path) -> dict[str, str]:
    """SHA-256 of every input file of the province in ``data_dir`` (the four tables and ``dataset.json``).

    These hashes, never file times, decide whether a cached indicator table or a rendered report
    is still current.
    """
    from .io import find_table
    from .schema import TABLES

    data_dir = Path(data_dir)
    from .errors import InputError
    from .schema import OPTIONAL_TABLES

    paths = {table: find_table(data_dir, table) for table in TABLES}
    for table in OPTIONAL_TABLES:  # the roster decides what comments are scrubbed of
        try:
            paths[table] = find_table(data_dir, table)
        except InputError:
            pass
    if (data_dir / "dataset.json").is_file():
        paths["dataset"] = data_dir / "dataset.json"
    hashes = _hash_files(paths)
    if (data_dir / "findings").is_dir():  # the evaluators' findings (evalkit.findings), one hash for the folder
        h = hashlib.sha256()
        for name, digest in _hash_files({p.name: p for p in (data_dir / "findings").iterdir() if p.is_file()}).items():
            h.update(f"{name}\0{digest}\n".encode())
        hashes["findings"] = h.hexdigest()
    return hashes


#: Survey comments a report shows at most, per county and wave (the first after ordering by a hash of
#: their text: a stable choice that says nothing about who wrote them).
COMMENTS_SHOWN = 8
#: Respondents a county needs in a wave before any comment of that wave is shown.
COMMENTS_MIN_RESPONDENTS = 10
#: The reason given for a comment withheld because the reviewed list does not name it.
UNREVIEWED = "unreviewed"


def load_reviewed(data_dir: str | Path) -> set[str] | None:
    """The respondent ids of the optional reviewed list (``comments_reviewed.csv``, ``.xlsx`` or
    ``.parquet``) of ``data_dir``: the survey comments an evaluator approved for publication.

    Returns ``None`` when the folder has no reviewed list (every comment may then be published,
    subject to :func:`evalkit.privacy.assess`), else the set of ids (possibly empty).

    Raises
    ------
    DataValidationError
        When the list breaks the codebook's rules (no ``respondent_id`` column, an id that is not a
        pseudonym, another column).  Ids that are not in the survey are refused by
        :func:`evalkit.schema.load_province`, which runs before any table is built.
    """
    from .schema import load_optional

    frame = load_optional(data_dir, "comments_reviewed")
    if frame is None:
        return None
    return {str(v).strip() for v in frame["respondent_id"].dropna()}


def comment_selection(province: Province) -> dict[str, Any]:
    """The survey comments reports may show, and how many were withheld and why, per county and wave.

    Free text goes through :func:`evalkit.privacy.assess` (with the names of the folder's roster, if
    any) when the table is built, so no notebook ever sees a raw comment:

    - a county-wave with fewer than :data:`COMMENTS_MIN_RESPONDENTS` respondents shows none (small
      cells), and its comments are not counted either;
    - with a reviewed list in the folder (:func:`load_reviewed`), a comment it does not name is
      withheld (reason :data:`UNREVIEWED`); a named one is still scrubbed and still assessed: the
      list narrows what is published, it never widens it;
    - a comment that ``assess`` does not find publishable is withheld (default deny), counted under
      each of its reasons (categories such as ``name`` or ``phone``, never the text);
    - of the publishable ones, identical scrubbed texts are shown once, and at most
      :data:`COMMENTS_SHOWN` are kept (the first after ordering by a hash of their text).

    Returns
    -------
    dict
        ``comments``: ``[{"county_code", "year", "text"}]``; ``withheld``: ``[{"county_code", "year",
        "withheld", "reasons": {reason: comments}}]`` for each county-wave with a withheld comment
        (each withheld comment is counted once in ``withheld`` and once under each of its reasons);
        ``candidates``: comments that could be shown before withholding (after the small-cell rule);
        ``reviewed``: whether a reviewed list applied.
    """
    return select_comments(province.survey, Path(next(iter(province.sources.values()))).parent)


def select_comments(survey: pd.DataFrame, folder: str | Path) -> dict[str, Any]:
    """:func:`comment_selection` of a survey frame, with the roster and reviewed list of ``folder``."""
    from .privacy import assess, load_roster

    reviewed = load_reviewed(folder)
    out: dict[str, Any] = {"comments": [], "withheld": [], "candidates": 0, "reviewed": reviewed is not None}
    if "comment" not in survey.columns:
        return out
    sizes = survey.groupby(["county_code", "year"], observed=True).size()
    enough = set(sizes[sizes >= COMMENTS_MIN_RESPONDENTS].index)
    text = survey["comment"].astype("string").str.strip()
    rows = survey.loc[text.notna() & (text != ""), ["respondent_id", "county_code", "year"]].assign(text=text)
    rows = rows[[(c, y) in enough for c, y in zip(rows["county_code"], rows["year"])]]
    if rows.empty:
        return out
    out["candidates"] = int(len(rows))
    if reviewed is not None:
        approved = rows["respondent_id"].astype(str).isin(reviewed).to_numpy()
    else:
        approved = np.ones(len(rows), dtype=bool)
    reasons: list[tuple[str, ...]] = [() if ok else (UNREVIEWED,) for ok in approved]
    judged = assess(rows.loc[approved, "text"].astype(str).tolist(), load_roster(folder))
    publishable = np.zeros(len(rows), dtype=bool)
    texts = rows["text"].astype(str).tolist()
    for i, a in zip(np.flatnonzero(approved).tolist(), judged):
        texts[i] = a.text
        publishable[i] = bool(a.publishable)
        # default deny: a text that is not publishable always has a reason, if only an unnamed one
        reasons[i] = () if a.publishable else (tuple(dict.fromkeys(a.reasons)) or ("other",))
    rows["text"] = texts
    rows["reasons"] = pd.Series(reasons, index=rows.index, dtype=object)
    withheld = rows[~publishable]
    for (c, y), group in withheld.groupby(["county_code", "year"], observed=True, sort=True):
        counts: dict[str, int] = {}
        for rs in group["reasons"]:
            for r in rs:
                counts[r] = counts.get(r, 0) + 1
        out["withheld"].append({"county_code": str(c), "year": int(y), "withheld": int(len(group)),
                                "reasons": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))})
    shown = rows[publishable].drop_duplicates(["county_code", "year", "text"])
    if not shown.empty:
        shown = shown.assign(order=pd.util.hash_pandas_object(shown["text"], index=False).to_numpy())
        shown = shown.sort_values(["county_code", "year", "order"]).groupby(["county_code", "year"]).head(COMMENTS_SHOWN)
        out["comments"] = [{"county_code": str(c), "year": int(y), "text": str(t)}
                           for c, y, t in zip(shown["county_code"], shown["year"], shown["text"])]
    return out


def comments(province: Province) -> list[dict[str, Any]]:
    """The survey comments reports may show (``comment_selection(province)["comments"]``): scrubbed,
    publishable by :func:`evalkit.privacy.assess`, reviewed when the folder has a reviewed list,
    without who wrote them; each ``{"county_code", "year", "text"}``."""
    return comment_selection(province)["comments"]


def _comment_meta(province: Province) -> dict[str, Any]:
    chosen = comment_selection(province)
    return {"comments": chosen["comments"], "comments_withheld": chosen["withheld"],
            "comments_reviewed": chosen["reviewed"]}


def write_indicator_table(table: pd.DataFrame, path: str | Path, province: Province) -> Path:
    """Write the table as Parquet with its provenance in the file metadata, atomically.

    The metadata (key ``evalkit``) records the layout version, evalkit version,
    whether the data are synthetic, and the SHA-256 of every input file; and the survey comments
    reports may show (``comments``), the comments withheld per county-wave by reason
    (``comments_withheld``) and whether a reviewed list applied (``comments_reviewed``), from
    :func:`comment_selection`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"layout_version": LAYOUT_VERSION, "evalkit_version": __version__, "synthetic": province.synthetic,
            "dataset": province.meta.get("name", ""), "inputs": _province_hashes(province),
            "confidence": sorted(table["confidence"].unique().tolist()),
            "warnings": [{"file": w.file, "row": w.row, "column": w.column, "rule": w.rule, "message": w.message}
                         for w in province.warnings],
            **_comment_meta(province)}
    # incomplete data: the years each table has, and the counties a table lacks in a year it has for others
    meta["table_years"], meta["county_gaps"] = table_years(province), province.gaps[1]
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           b"evalkit": json.dumps(meta, ensure_ascii=False).encode()})
    from .io import atomic_path

    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return path


#: The text columns of the table (codes and names): categorical when read with ``categories=True``.
TEXT_COLUMNS = ("code", "province_code", "prefecture_code", "county_code", "township_code", "name_en", "name_zh")


def read_indicator_table(path: str | Path, *, categories: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an indicator table written by :func:`write_indicator_table`; return it and its metadata.

    With ``categories`` the codes and names come as categoricals (categories sorted, as
    ``astype("category")`` gives them) straight from the file's dictionaries: what programs that
    select rows by code thousands of times want, in half the time of reading then converting.
    """
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    meta = json.loads(schema.metadata[b"evalkit"])
    if not categories:
        return pd.read_parquet(path), meta
    text = [c for c in TEXT_COLUMNS if c in schema.names]
    table = pd.read_parquet(path, read_dictionary=text)
    for c in text:
        table[c] = table[c].cat.reorder_categories(sorted(table[c].cat.categories))
    return table, meta
