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
suppressed,         small-cell suppression: survey figures on fewer than 10 respondents,
suppression_reason  figures about persons with fewer than 5 persons counted or registered,
                    survey figures with fewer than 2 degrees of freedom (``too_few_psus``),
                    and their complements (value, se, lower, upper and, for persons, n are
                    blanked; reasons in :data:`evalkit.measures.suppress.REASONS`)
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
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from . import __version__

if TYPE_CHECKING:
    from .schema import Province

# The measures (and scipy under them) are imported where the table is built, not here: reading a
# cached table, its catalogue or the inputs' hashes (what every report and batch does) needs none
# of them, and importing scipy.stats costs seconds.

__all__ = ["LEVELS", "CONFIDENCE", "LAYOUT_VERSION", "catalogue", "indicator_table", "write_indicator_table",
           "read_indicator_table", "input_hashes", "cached_indicator_table"]

#: Geographic levels, from the smallest up.
LEVELS = ("township", "county", "prefecture", "province")
#: Confidence levels computed for every figure.
CONFIDENCE = (0.95, 0.998)
#: Version of the table layout documented above; bumped when columns change meaning.
LAYOUT_VERSION = "2"  # 2: survey comments, scrubbed, in the metadata

_CODE = {"township": "township_code", "county": "county_code", "prefecture": "prefecture_code",
         "province": "province_code"}
_PARENTS = ["province_code", "prefecture_code", "county_code", "township_code"]
_SAT_MEASURES = {"rate": "satisfaction_rate", "index": "satisfaction_index", "net": "net_satisfaction"}
_SAT_CODES = {"satisfaction_rate": "satisfaction_rate", "index_0_100": "satisfaction_index",
              "net_satisfaction": "net_satisfaction"}
_STAFFING = {"social_workers_per_station": "social_workers_per_station",
             "social_workers_per_10000": "social_workers_per_10k", "certified_share": "certified_share",
             "volunteers_per_10000": "volunteers_per_10k"}


@cache
def catalogue() -> pd.DataFrame:
    """The indicators of ``indicators.toml`` as a frame indexed by indicator id."""
    data = tomllib.loads(resources.files("evalkit").joinpath("indicators.toml").read_text(encoding="utf-8"))
    cat = pd.DataFrame.from_dict(data, orient="index").rename_axis("indicator")
    cat["compare"] = cat["compare"].fillna(True).astype(bool) if "compare" in cat else True
    return cat


def _units(regions: pd.DataFrame) -> pd.DataFrame:
    """Every unit at every level with its parents' codes and its names (latest year)."""
    latest = regions.sort_values("year").drop_duplicates("township_code", keep="last")
    frames = []
    for level in LEVELS:
        code = _CODE[level]
        keep = _PARENTS[: _PARENTS.index(code) + 1]
        d = latest.drop_duplicates(code)[keep + [f"{level}_name_en", f"{level}_name_zh"]]
        d = d.rename(columns={f"{level}_name_en": "name_en", f"{level}_name_zh": "name_zh"})
        frames.append(d.assign(level=level, code=d[code]))
    return pd.concat(frames, ignore_index=True)


def _reach_rows(p: Province, levels: Sequence[str], confidence: list[float]) -> dict[str, list[pd.DataFrame]]:
    from .measures import reach

    by_level = reach._by_level(p.regions, p.stations, p.services, levels, per=1000, confidence=confidence)
    out = {}
    for level, m in by_level.items():
        staff, cost, pt = m["staffing"], m["cost"], m["person_times"]
        # person-times count contacts; the persons behind them (cost per person served's denominator) decide
        # whether they may be shown: 3 people seen 40 times are still 3 people
        code = _CODE[level]
        served = cost.loc[cost["measure"] == "cost_per_person_served", ["year", code, "confidence", "denominator"]]
        pt = pt.merge(served.rename(columns={"denominator": "persons"}), on=["year", code, "confidence"],
                      how="left", validate="many_to_one")
        out[level] = [
            m["coverage"].assign(indicator="coverage"),
            m["home_visit_share"].assign(indicator="home_visit_share"),
            pt.assign(indicator="person_times_per_1000"),
            m["station_coverage"].assign(indicator="station_coverage"),
            staff.assign(indicator=staff["measure"].map(_STAFFING)).drop(columns="measure"),
            cost.rename(columns={"measure": "indicator"}),
        ]
    return out


def _satisfaction_rows(p: Province, levels: Sequence[str], confidence: list[float],
                       lonely_psu: str) -> dict[str, list[pd.DataFrame]]:
    from .measures.satisfaction import LIKERT_ITEMS, _satisfaction

    survey = p.survey
    codes = [_CODE[level] for level in levels]
    missing = [c for c in dict.fromkeys(codes) if c not in survey.columns]
    if missing:
        parents = p.regions.drop_duplicates("township_code").set_index("township_code")[_PARENTS[:-1]]
        survey = survey.join(parents[missing], on="township_code")
    # codes as categoricals: groups are coded from small integer codes
    survey = survey.astype({c: "category" for c in ("township_code", "psu", "county_code", *codes, "group")})
    breakdowns = {level: [["year", _CODE[level]]] + ([["year", _CODE[level], "group"]] if level != "township" else [])
                  for level in levels}
    # one design, one recoding and one stacking of the items for every level and breakdown
    tables = iter(_satisfaction(survey, LIKERT_ITEMS, [by for bys in breakdowns.values() for by in bys],
                                measures=tuple(_SAT_MEASURES), confidence=confidence[0], ci_method="beta",
                                df="domain", wave="year", strata="township_code", psu="psu", weight="weight",
                                fpc=None, lonely_psu=lonely_psu))
    out = {}
    for level, bys in breakdowns.items():
        parts = []
        for by, s in zip(bys, tables):
            s["indicator"] = s.pop("measure").map(_SAT_CODES)
            if "group" not in by:
                s["group"] = "all"
            # the same estimates at the other levels: only the interval step is repeated
            parts.extend(_at_confidence(s, conf) for conf in confidence[1:])
            parts.append(s)
        out[level] = [o.drop(columns=["deff", "n_eff"]) for o in parts]
    return out


def _at_confidence(s: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Satisfaction rows re-expressed at another confidence level, as satisfaction() would give them.

    Rates: the Korn-Graubard interval from value, SE, n and df (:func:`~evalkit.measures.survey.prop_interval`);
    index and net satisfaction: value -/+ t(df) SE within the range the measure can take.
    """
    from .measures.survey import _t_quantile, prop_interval

    out = s.copy()
    value, se, dof = (s[c].to_numpy(dtype=float) for c in ("value", "se", "df"))
    rate = (s["indicator"] == "satisfaction_rate").to_numpy()
    lo, up = prop_interval(value, se, s["n"].to_numpy(dtype=float), dof, confidence, "beta")
    with np.errstate(invalid="ignore"):
        half = _t_quantile(0.5 + confidence / 2, dof) * se
    bounds = np.where((s["indicator"] == "satisfaction_index").to_numpy()[:, None], [0.0, 100.0], [-1.0, 1.0])
    out["lower"] = np.where(rate, lo, np.clip(value - half, bounds[:, 0], bounds[:, 1]))
    out["upper"] = np.where(rate, up, np.clip(value + half, bounds[:, 0], bounds[:, 1]))
    out["confidence"] = confidence
    return out


def indicator_table(province: Province, *, levels: Sequence[str] = LEVELS,
                    confidence: Sequence[float] = CONFIDENCE) -> pd.DataFrame:
    """Compute the whole indicator table (layout in the module docstring).

    Parameters
    ----------
    province : Province
        Validated inputs from :func:`evalkit.load_province`.
    levels : sequence of str
        Levels to compute; benchmarks need ``prefecture`` and ``province``.
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
    confidence = [float(c) for c in confidence]
    lonely = province.meta.get("lonely_psu", "fail")
    lonely = "adjust" if lonely == "fail" else lonely  # validation already refused lonely PSUs under "fail"
    frames = []
    reach_rows = _reach_rows(province, levels, confidence)
    satisfaction_rows = _satisfaction_rows(province, levels, confidence, lonely)
    for level in levels:
        parts = reach_rows[level] + satisfaction_rows[level]
        for part in parts:
            part["level"] = level
            part["code"] = part[_CODE[level]]
        frames.extend(parts)
    table = pd.concat(frames, ignore_index=True)
    table["item"] = table["item"].fillna("all") if "item" in table else "all"
    table["group"] = table["group"].astype("str").fillna("all").replace("nan", "all")
    table = _finish(table, province)
    return table


def _finish(table: pd.DataFrame, province: Province) -> pd.DataFrame:
    cat = catalogue()
    table = table.join(cat[["tier", "unit", "polarity", "kind", "compare"]], on="indicator")
    missing = table["tier"].isna()
    if missing.any():  # a measure without a catalogue entry is a programming error, not user error
        raise RuntimeError(f"indicators without a catalogue entry: {sorted(table.loc[missing, 'indicator'].unique())}")
    # every row gets its unit's parents and names from regions (measures carry only some of them)
    units = _units(province.regions)
    table = table.drop(columns=[c for c in _PARENTS if c in table]).merge(
        units, on=["level", "code"], how="left", validate="many_to_one")
    table = _suppress(table)
    table = _benchmarks(table)
    columns = ["level", "code", *_PARENTS, "name_en", "name_zh", "year", "indicator", "tier", "unit", "polarity",
               "kind", "item", "group", "n", "denominator", "value", "se", "lower", "upper", "confidence",
               "statistic", "method", "n_excluded", "suppressed", "suppression_reason", "prefecture_value",
               "vs_prefecture", "province_value", "vs_province"]
    for c in columns:
        if c not in table:
            table[c] = np.nan
    table = table[columns]
    for c in ("level", "indicator", "tier", "unit", "polarity", "kind", "item", "group", "statistic", "method",
              "suppression_reason", "vs_prefecture", "vs_province"):
        table[c] = table[c].astype("category")
    table = table.sort_values(["level", "code", "year", "indicator", "item", "group", "confidence"],
                              key=lambda s: s.map({l: i for i, l in enumerate(LEVELS)}) if s.name == "level" else s,
                              ignore_index=True)
    return table


def _suppress(table: pd.DataFrame) -> pd.DataFrame:
    """Primary and secondary suppression by disclosure kind; facility figures are not about persons.

    Siblings that add up to a published figure: the units of one parent (townships of a county,
    counties of a prefecture, prefectures of the province) and the groups of one unit.  Survey
    figures whose design leaves fewer than 2 degrees of freedom (PSUs minus strata) have no usable
    interval and are suppressed too (``too_few_psus``).
    """
    from .measures.suppress import suppress

    level = table["level"].to_numpy()
    table = table.assign(parent=np.select(
        [level == "township", level == "county", level == "prefecture"],
        [table["county_code"].to_numpy(object), table["prefecture_code"].to_numpy(object),
         table["province_code"].to_numpy(object)], default=None))
    key = ["level", "year", "indicator", "item"]
    siblings = [[*key, "parent", "group"], [*key, "code"]]
    parts = [table[table["kind"] == "facility"].assign(suppressed=False, suppression_reason=None)]
    survey = table[table["kind"] == "survey"].copy()
    unstable = (survey["df"] < 2) & survey["value"].notna()
    survey["suppressed"] = unstable.to_numpy()
    survey["suppression_reason"] = np.where(unstable, "too_few_psus", None)
    survey.loc[unstable, ["value", "se", "lower", "upper"]] = np.nan
    parts.append(suppress(survey, "survey", count="n", columns=("value", "se", "lower", "upper"), siblings=siblings))
    people = table[table["kind"] == "persons"].copy()
    # the persons each figure is about: served persons (n) for coverage and home visits, persons served
    # for cost per person served (its denominator), distinct persons behind the contacts for person-times
    ind = people["indicator"].to_numpy()
    people["persons"] = np.where(ind == "person_times_per_1000", people["persons"],
                                 np.where(ind == "cost_per_person_served", people["denominator"], people["n"]))
    # a small register is as telling as a small count: 3 of 3 registered people served names all three
    parts.append(suppress(people, "people", count=["persons", "denominator"],
                          columns=("n", "value", "se", "lower", "upper"), siblings=siblings))
    return pd.concat(parts).sort_index().drop(columns=["parent", "persons"])


def _benchmarks(table: pd.DataFrame) -> pd.DataFrame:
    """Compare every unit's interval with its prefecture's and the province's value."""
    from .measures.compare import compare_to_benchmark

    # one integer per (year, indicator, item, group, confidence), then one per (benchmark unit, that)
    figure = table.groupby(["year", "indicator", "item", "group", "confidence"], observed=True,
                           sort=False).ngroup().to_numpy()
    rank = table["level"].map({l: i for i, l in enumerate(LEVELS)}).to_numpy()
    polarity = table["polarity"].astype(str).to_numpy()
    # an interval of width zero (every respondent satisfied: no variance to estimate) proves nothing
    degenerate = (table["lower"] == table["upper"]).to_numpy() | ~table["compare"].astype(bool).to_numpy()
    for bench in ("prefecture", "province"):
        unit, _ = pd.factorize(table[_CODE[bench]])
        key = unit.astype(np.int64) * (figure.max() + 1) + figure
        is_bench = (table["level"] == bench).to_numpy()
        where = pd.Index(key[is_bench]).get_indexer(key)
        value = np.where(where >= 0, table["value"].to_numpy()[is_bench][where], np.nan)
        below = rank < LEVELS.index(bench)
        cmp = compare_to_benchmark(table[["value", "lower", "upper", "confidence"]], value, polarity=polarity)
        table[f"{bench}_value"] = np.where(below & (unit >= 0), value, np.nan)
        table[f"vs_{bench}"] = np.where(below, np.where(degenerate, "not_compared", cmp["comparison"].to_numpy()),
                                        None)
    return table


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
    return _hash_files(paths)


def cached_indicator_table(data_dir: str | Path, cache_dir: str | Path | None = None, *, build: bool = True,
                           hashes: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The indicator table of ``data_dir``: read from the cache when its inputs are unchanged, else built.

    The cache file is named after the inputs' SHA-256 (:func:`input_hashes`) and the layout
    version, so a changed input file, even with an old time stamp, is never served a stale table.
    Building validates the inputs first (:func:`evalkit.load_province`), so a table, and hence a
    report, never comes from data that failed validation; the validation warnings travel in the
    metadata (``warnings``: file, row, column, rule, message; never the value, which could be
    personal data).

    Parameters
    ----------
    data_dir : path
        The province's input folder.
    cache_dir : path, optional
        Where cached tables live; default ``reports/.cache`` of the project (``EVALKIT_CACHE``).
    build : bool
        When false, only a cached table is returned: :class:`LookupError` if there is none.
    hashes : dict, optional
        The inputs' hashes when the caller has them already (:func:`input_hashes`).

    Returns
    -------
    (pandas.DataFrame, dict)
        The table and its metadata (see :func:`write_indicator_table`).
    """
    import os

    from .paths import cache_dir as cache_folder
    from .schema import load_province

    hashes = hashes or input_hashes(data_dir)
    # comments are scrubbed when the table is built: a table built with scrubbing off (the privacy audit's
    # negative control) is never served to a run with it on, nor the other way round
    unscrubbed = bool(os.environ.get("EVALKIT_UNSAFE_NO_SCRUB"))
    key = hashlib.sha256(json.dumps([LAYOUT_VERSION, __version__, hashes] + (["unscrubbed"] if unscrubbed else []),
                                    sort_keys=True).encode()).hexdigest()
    cache_dir = cache_folder(cache_dir)
    path = cache_dir / f"indicators-{key[:20]}.parquet"
    if path.is_file():
        table, meta = read_indicator_table(path)
        if meta.get("inputs") == hashes:
            return table, meta
    if not build:
        raise LookupError(f"no cached indicator table for {data_dir} in {cache_dir}")
    province = load_province(data_dir)
    table = indicator_table(province)
    write_indicator_table(table, path, province)
    return read_indicator_table(path)


#: Survey comments a report shows at most, per county and wave (the first after ordering by a hash of
#: their text: a stable choice that says nothing about who wrote them).
COMMENTS_SHOWN = 8
#: Respondents a county needs in a wave before any comment of that wave is shown.
COMMENTS_MIN_RESPONDENTS = 10


def comments(province: Province) -> list[dict[str, Any]]:
    """The survey comments reports may show: scrubbed of personal data, without who wrote them.

    Each is ``{"county_code", "year", "text"}``; free text goes through
    :func:`evalkit.privacy.scrub` (with the names of the folder's roster, if any) before it is
    stored, so no notebook ever sees a raw comment.  A county-wave with fewer than
    :data:`COMMENTS_MIN_RESPONDENTS` respondents shows none (small cells), identical comments are
    shown once, and at most :data:`COMMENTS_SHOWN` are kept.
    """
    from .privacy import load_roster, scrub

    survey = province.survey
    if "comment" not in survey.columns:
        return []
    sizes = survey.groupby(["county_code", "year"], observed=True).size()
    enough = set(sizes[sizes >= COMMENTS_MIN_RESPONDENTS].index)
    text = survey["comment"].astype("string").str.strip()
    rows = survey.loc[text.notna() & (text != ""), ["county_code", "year"]].assign(text=text)
    rows = rows[[(c, y) in enough for c, y in zip(rows["county_code"], rows["year"])]]
    if rows.empty:
        return []
    folder = Path(next(iter(province.sources.values()))).parent
    rows["text"] = scrub(rows["text"].astype(str), load_roster(folder))
    rows = rows.drop_duplicates(["county_code", "year", "text"])
    rows["order"] = pd.util.hash_pandas_object(rows["text"], index=False).to_numpy()
    rows = rows.sort_values(["county_code", "year", "order"]).groupby(["county_code", "year"]).head(COMMENTS_SHOWN)
    return [{"county_code": str(c), "year": int(y), "text": str(t)}
            for c, y, t in zip(rows["county_code"], rows["year"], rows["text"])]


def write_indicator_table(table: pd.DataFrame, path: str | Path, province: Province) -> Path:
    """Write the table as Parquet with its provenance in the file metadata, atomically.

    The metadata (key ``evalkit``) records the layout version, evalkit version,
    whether the data are synthetic, and the SHA-256 of every input file.
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
            "comments": comments(province)}
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           b"evalkit": json.dumps(meta, ensure_ascii=False).encode()})
    from .io import atomic_path

    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return path


def read_indicator_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an indicator table written by :func:`write_indicator_table`; return it and its metadata."""
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(path).metadata[b"evalkit"])
    return pd.read_parquet(path), meta
