"""Composite scores, grades and ranks of every county, with their uncertainty, by Monte Carlo simulation.

How the indicators' intervals are drawn and missing indicators re-weighted is described in :mod:`evalkit.framework`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .scoring import rank_intervals
from .spec import Framework, load_framework

__all__ = ["DEFAULT_DRAWS", "DEFAULT_SEED", "REASONS", "Scores", "score_counties", "score_years"]

#: Monte Carlo draws used by :func:`score_counties` unless told otherwise.
DEFAULT_DRAWS = 4000
#: Seed used by :func:`score_counties` unless told otherwise (results are reproducible).
DEFAULT_SEED = 20250101
#: Codes of ``reason`` in :attr:`Scores.counties` (the report translates them).
REASONS = {
    "too_much_missing": "the indicators without a value carry more than the framework's max_missing_weight",
    "no_data": "the county has no value for any indicator of the framework in this year",
}

#: Confidence level of the indicator-table rows read (their limits define the split normals).
_INPUT_CONFIDENCE = 0.95
#: Draws simulated at once: bounds memory (the random stream, hence the results, do not depend on it).
_CHUNK = 1000

# --- scoring counties --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Composite scores, grades and ranks of every county of one year (made by :func:`score_counties`).

    Attributes
    ----------
    counties : DataFrame
        One row per county; columns documented in :func:`score_counties`.
    tiers : DataFrame
        One row per county and tier: ``code``, ``tier``, ``score``, ``score_lower``,
        ``score_upper``, ``base_weight`` (the tier's weight in the framework), ``weight`` (after
        redistributing missing tiers) and ``n_missing``.
    indicators : DataFrame
        One row per county and indicator: ``code``, ``indicator``, ``tier``, ``measure``,
        ``item``, ``group``, ``unit``, ``value``, ``lower``, ``upper``, ``se`` (the table's
        figures at 95%), ``target``, ``points`` (0-100 at the point value), ``base_weight``,
        ``weight`` (after redistribution; 0 when missing), ``missing``, ``suppression_reason``
        and ``uncertainty`` (``interval``, ``se``, ``fixed (no interval)``, ``fixed
        (framework)`` or ``missing``).
    framework, year, level, draws, seed, confidence
        What produced them.
    """

    counties: pd.DataFrame
    tiers: pd.DataFrame
    indicators: pd.DataFrame
    framework: Framework
    year: int
    level: str
    draws: int
    seed: int
    confidence: float

    def provenance(self) -> dict[str, Any]:
        """What a methods appendix needs to reproduce the scores."""
        return {"framework_id": self.framework.id, "framework_version": self.framework.version,
                "framework_file": self.framework.file, "framework_sha256": self.framework.sha256,
                "year": self.year, "level": self.level, "draws": self.draws, "seed": self.seed,
                "confidence": self.confidence, "max_missing_weight": self.framework.max_missing_weight}


_TABLE_COLUMNS = ("level", "code", "year", "indicator", "item", "group", "value", "se", "lower", "upper",
                  "confidence", "suppressed", "suppression_reason")


def score_counties(
    table: pd.DataFrame,
    framework: Framework | None = None,
    *,
    year: int | None = None,
    level: str = "county",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    inspections: pd.DataFrame | None = None,
) -> Scores:
    """Composite score, grade and rank of every county, with uncertainty, in one vectorised pass.

    Call it once per year for the whole province: grades and ranks are relative to the same
    simulation for every county, and each report selects its county's rows.

    Parameters
    ----------
    table : DataFrame
        The indicator table (:func:`evalkit.indicators.indicator_table`), all units; the rows
        at confidence 0.95 of ``level`` and ``year`` are used.
    framework : Framework, optional
        Default: the shipped framework (:func:`load_framework`).
    year : int, optional
        Default: the latest year in the table.
    level : str, default "county"
        The units scored and ranked against each other.
    draws : int, default 4000
        Monte Carlo draws.
    seed : int, default 20250101
        Seed of the random numbers: the same inputs and seed give the same results.
    confidence : float, default 0.95
        Coverage of the score and rank intervals.
    inspections : DataFrame, optional
        The evaluators' inspection scores (the optional ``inspections`` table): with a framework that declares
        ``[rubric.<id>]`` items, they enter the score beside the computed indicators by the rules of
        :mod:`evalkit.framework.rubric`.  Without it (or without a rubric) the scores are those of the
        computed indicators alone.

    Returns
    -------
    Scores
        ``.counties`` has one row per county, sorted by code: ``code``, ``county_code``,
        ``prefecture_code``, ``name_en``, ``name_zh``, ``year``, ``graded`` (bool), ``score``
        (0-100, at the indicators' point values), ``score_lower``, ``score_upper``,
        ``confidence``, ``score_<tier>`` for each tier, ``grade`` (a grade id; missing when not
        graded), ``grade_probability`` (share of draws in that grade), ``p_<grade>`` for each
        grade, ``rank`` (1 = best among graded counties), ``rank_lower``, ``rank_upper``,
        ``n_ranked``, ``n_missing``, ``missing`` (comma-separated indicator ids),
        ``missing_weight`` (their share of the framework's weight), ``reason`` (a code of
        :data:`REASONS` when not graded, else empty), ``method``.  ``.tiers`` and
        ``.indicators`` hold the details (see :class:`Scores`).

    Raises
    ------
    ValueError
        If the table lacks a column, has no rows for the level and year, has no rows at all
        for an indicator the framework reads (the message lists what it has), or has duplicate
        rows for one county and indicator; or if ``draws`` or ``confidence`` is invalid.

    Notes
    -----
    Points: each indicator's value is turned into 0-100 points by its rule
    (:func:`linear_score`, :func:`step_score`).  Score: ``sum_t W_t sum_(i in t) w_i p_i``
    with tier weights ``W`` and within-tier weights ``w``, both renormalised over what is
    present (module docstring, "Missing indicators").  The point score uses the estimates;
    the interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of
    the simulated scores, which need not be centred on it (points are capped at 100).  The grade
    is that of the point score (cut-offs inclusive); ``p_<grade>`` is the share of draws in
    each grade.  Ranks: :func:`rank_intervals` over the graded counties.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.framework import parse_framework
    >>> rows = pd.DataFrame({"level": "county", "code": ["A", "B"], "year": 2025, "indicator": "coverage",
    ...                      "item": "all", "group": "all", "value": [0.20, 0.10], "se": float("nan"),
    ...                      "lower": [0.18, 0.08], "upper": [0.22, 0.12], "confidence": 0.95,
    ...                      "suppressed": False, "suppression_reason": None})
    >>> fw = parse_framework('''
    ... id = "demo"
    ... en = "Demo"
    ... zh = "示例"
    ... grades = [{ id = "pass", en = "Pass", zh = "合格", min = 60 }, { id = "fail", en = "Fail", zh = "不合格", min = 0 }]
    ... tiers = { output = { en = "Output", zh = "产出" } }
    ... tier_weights = { method = "direct", weights = { output = 1 } }
    ... [indicators.coverage]
    ... tier = "output"
    ... en = "Coverage"
    ... zh = "覆盖率"
    ... target = 0.2
    ... scoring = { rule = "linear", floor = 0.05 }
    ... ''')
    >>> s = score_counties(rows, fw, draws=1000, seed=1)
    >>> s.counties[["code", "score", "grade", "rank", "rank_lower", "rank_upper"]].round(1)
      code  score grade  rank  rank_lower  rank_upper
    0    A  100.0  pass     1           1           1
    1    B   33.3  fail     2           2           2
    """
    fw = framework if framework is not None else load_framework()
    if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or draws < 100:
        raise ValueError(f"Draws must be a whole number of at least 100, such as 4000; got {draws!r}.")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"Confidence must be a fraction strictly between 0 and 1, such as 0.95; got {confidence!r}.")
    missing_cols = [col for col in _TABLE_COLUMNS if col not in table.columns]
    if missing_cols:
        raise ValueError(f"The indicator table lacks column(s) {', '.join(missing_cols)}; pass the table made by "
                         "evalkit.indicators.indicator_table.")
    at_level = table[table["level"] == level]
    if year is None:
        if at_level.empty:
            raise ValueError(f"The indicator table has no rows at level '{level}'.")
        year = int(at_level["year"].max())
    sel = at_level[(at_level["year"] == year) & np.isclose(at_level["confidence"], _INPUT_CONFIDENCE)]
    if sel.empty:
        years = sorted(int(y) for y in at_level["year"].unique())
        raise ValueError(f"The indicator table has no {level} rows at confidence {_INPUT_CONFIDENCE} in {year}; "
                         f"its years are {', '.join(map(str, years)) or 'none'}.")

    units = _units(sel, level)
    codes = units["code"].to_numpy()
    values = _indicator_matrix(sel, fw, codes, level, year, at_level)
    if inspections is None or not fw.rubric:
        return _simulate(fw, units, values, year=year, level=level, draws=int(draws), seed=seed,
                         confidence=confidence)
    from ..errors import DataValidationError
    from .rubric import check_inspections, rubric_figures, with_rubric

    problems = check_inspections(inspections, fw)
    if problems:
        raise DataValidationError(problems)
    extended = with_rubric(fw)
    rubric = rubric_figures(inspections, fw, codes, year)
    order = [i.id for i in extended.indicators]
    computed = [i.id for i in fw.indicators]
    rubric_ids = [r.id for r in fw.rubric]
    figures: dict[str, np.ndarray] = {}
    for col in ("value", "se", "lower", "upper", "suppression_reason"):
        columns = []
        for ident in order:
            if ident in computed:
                columns.append(values[col][:, computed.index(ident)])
            elif col in ("value", "se"):
                columns.append(rubric[col][:, rubric_ids.index(ident)])
            else:
                columns.append(np.full(len(codes), np.nan if col != "suppression_reason" else None, dtype=object
                                       if col == "suppression_reason" else float))
        figures[col] = np.stack(columns, axis=1) if col != "suppression_reason" else np.stack(columns, axis=1
                                                                                                  ).astype(object)
    base = {i.id: i.weight for i in fw.indicators}
    counted = np.array([base.get(ident, 0.0) for ident in order])
    return _simulate(extended, units, figures, year=year, level=level, draws=int(draws), seed=seed,
                     confidence=confidence, counted=counted)


def score_years(table: pd.DataFrame, framework: Framework | None = None, *, years: Sequence[int] | None = None,
                **kwargs: Any) -> pd.DataFrame:
    """:attr:`Scores.counties` of several years stacked (default: every year in the table), for trends and models.

    Each year is simulated with the same seed (``kwargs`` are passed to :func:`score_counties`).
    """
    fw = framework if framework is not None else load_framework()
    level = kwargs.get("level", "county")
    if years is None:
        years = sorted(int(y) for y in table.loc[table["level"] == level, "year"].unique())
    return pd.concat([score_counties(table, fw, year=y, **kwargs).counties for y in years], ignore_index=True)


def _units(sel: pd.DataFrame, level: str) -> pd.DataFrame:
    cols = [c for c in ("code", "province_code", "prefecture_code", "county_code", "name_en", "name_zh")
            if c in sel.columns]
    units = sel[cols].drop_duplicates("code").sort_values("code").reset_index(drop=True)
    for c in units.columns:
        units[c] = units[c].astype(object)
    return units


def _indicator_matrix(sel: pd.DataFrame, fw: Framework, codes: np.ndarray, level: str, year: int,
                      every_year: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Value, se, lower, upper and suppression reason as (units x indicators) arrays, in framework order.

    A framework indicator with no row in ``year`` that ``every_year`` (the table at this level) has in another
    year is data missing for the year (a survey wave not delivered yet): missing for every unit, with the
    reason ``not_in_data``, so the county is scored or left ungraded by the framework's rule for missing
    indicators.  One with no row in any year is a framework that does not fit the table: an error."""
    ids = [i.id for i in fw.indicators]
    keys = pd.DataFrame({"fw": ids, "indicator": [i.measure for i in fw.indicators],
                         "item": [i.item for i in fw.indicators], "group": [i.group for i in fw.indicators]})
    measures = set(keys["indicator"])
    rows = sel[sel["indicator"].astype(str).isin(measures)]
    rows = rows[["code", "indicator", "item", "group", "value", "se", "lower", "upper", "suppression_reason"]].copy()
    for col in ("code", "indicator", "item", "group"):
        rows[col] = rows[col].astype(str)
    merged = keys.merge(rows, on=["indicator", "item", "group"], how="inner")
    absent = []
    for i in fw.indicators:
        if not (merged["fw"] == i.id).any():
            if every_year is not None and ((every_year["indicator"].astype(str) == i.measure)
                                           & (every_year["item"].astype(str) == i.item)
                                           & (every_year["group"].astype(str) == i.group)).any():
                absent.append(i.id)
                continue
            have = sel.loc[sel["indicator"].astype(str) == i.measure]
            items = sorted(have["item"].astype(str).unique())
            groups = sorted(have["group"].astype(str).unique())
            raise ValueError(
                f"The indicator table has no {level} rows in {year} for framework indicator '{i.id}' (measure "
                f"'{i.measure}', item '{i.item}', group '{i.group}'); for this measure it has items "
                f"{', '.join(items) or 'none'} and groups {', '.join(groups) or 'none'}. Correct the framework file "
                f"({fw.file}) or build the indicator table with this measure."
            )
    dup = merged.duplicated(["code", "fw"])
    if dup.any():
        row = merged.loc[dup].iloc[0]
        raise ValueError(f"The indicator table has more than one row for {level} '{row['code']}' and framework "
                         f"indicator '{row['fw']}' in {year}; select one table (one province) before scoring.")
    out = {}
    for col in ("value", "se", "lower", "upper"):
        wide = merged.pivot(index="code", columns="fw", values=col).reindex(index=codes, columns=ids)
        out[col] = wide.to_numpy(dtype=float)
    reason = merged.pivot(index="code", columns="fw", values="suppression_reason").reindex(index=codes, columns=ids)
    out["suppression_reason"] = reason.to_numpy(dtype=object)
    for i in absent:
        out["suppression_reason"][:, ids.index(i)] = "not_in_data"
    return out


def _simulate(fw: Framework, units: pd.DataFrame, figures: dict[str, np.ndarray], *, year: int, level: str,
              draws: int, seed: int, confidence: float, counted: np.ndarray | None = None) -> Scores:
    """Score, grade and rank every unit at its point values and over ``draws`` simulated draws of its indicators.

    ``figures``: value, se, lower, upper and suppression reason as (units x indicators) arrays, in framework
    order (:func:`_indicator_matrix`).  ``counted``: the framework weight of each indicator that counts toward
    ``max_missing_weight``, ``n_missing`` and ``missing`` (0 for rubric items; default every indicator's weight).
    Array shapes are noted (units, indicators), (units, tiers), (draws, units).
    """
    specs = fw.indicators
    n_units, n_indicators = figures["value"].shape
    tier_ids = [tier.id for tier in fw.tiers]
    n_tiers = len(tier_ids)
    tier_of = np.array([tier_ids.index(spec.tier) for spec in specs])
    tier_mask = np.zeros((n_indicators, n_tiers))
    tier_mask[np.arange(n_indicators), tier_of] = 1.0
    base_local = np.array([spec.local_weight for spec in specs])
    base_tier = np.array([tier.weight for tier in fw.tiers])
    base_weight = np.array([spec.weight for spec in specs])

    # --- missing indicators and redistributed weights (same for every draw)
    value = figures["value"]
    present = np.isfinite(value)
    local_weight = base_local[None, :] * present                       # (units, indicators)
    tier_sum = local_weight @ tier_mask                                 # (units, tiers)
    tier_present = tier_sum > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        local_weight = np.where(present, local_weight / (tier_sum @ tier_mask.T), 0.0)  # within-tier shares
        tier_weight = base_tier[None, :] * tier_present
        tier_weight = tier_weight / tier_weight.sum(axis=1, keepdims=True)  # (units, tiers)
    tier_weight = np.nan_to_num(tier_weight)
    weight = local_weight * (tier_weight @ tier_mask.T)  # (units, indicators) effective global weights
    counted_weight = base_weight if counted is None else counted
    counts = np.ones(n_indicators, dtype=bool) if counted is None else counted > 0
    missing_weight = (counted_weight[None, :] * ~present).sum(axis=1)
    any_present = present.any(axis=1)
    graded = any_present & (missing_weight <= fw.max_missing_weight + 1e-12)
    reason = np.where(~any_present, "no_data", np.where(~graded, "too_much_missing", ""))

    # --- how each cell is simulated
    z_limit = special.ndtri(0.5 + _INPUT_CONFIDENCE / 2)  # norm.ppf
    wants_draws = np.array([spec.uncertainty == "interval" for spec in specs])[None, :]
    has_interval = present & np.isfinite(figures["lower"]) & np.isfinite(figures["upper"])
    has_se = present & ~has_interval & np.isfinite(figures["se"])
    sd_below = np.where(wants_draws & has_interval, (value - figures["lower"]) / z_limit,
                        np.where(wants_draws & has_se, figures["se"], 0.0))
    sd_above = np.where(wants_draws & has_interval, (figures["upper"] - value) / z_limit,
                        np.where(wants_draws & has_se, figures["se"], 0.0))
    sd_below, sd_above = np.clip(np.nan_to_num(sd_below), 0, None), np.clip(np.nan_to_num(sd_above), 0, None)
    treatment = np.select(
        [~present, ~wants_draws & present, has_interval, has_se],
        ["missing", "fixed (framework)", "interval", "se"], default="fixed (no interval)")
    groups = []
    for spec in specs:
        groups.append(spec.draw_group or f"\0{spec.id}")
    group_ids, group_of = np.unique(np.array(groups, dtype=object).astype(str), return_inverse=True)
    unit_low = np.array([fw._unit_ranges[spec.id][0] for spec in specs])
    unit_high = np.array([fw._unit_ranges[spec.id][1] for spec in specs])

    def points(drawn: np.ndarray) -> np.ndarray:
        out = np.empty_like(drawn)
        for col, spec in enumerate(specs):  # a loop over the framework's indicators, never over counties
            out[..., col] = spec.score(drawn[..., col])
        return np.nan_to_num(out)       # missing indicators carry weight 0

    point_points = points(value[None, :, :])[0]                                    # (units, indicators)
    point_tier_scores = _tier_scores(point_points[None], local_weight, tier_mask)[0]  # (units, tiers)
    point_score = np.where(graded, (point_points * weight).sum(axis=1), np.nan)

    rng = np.random.default_rng(seed)
    score_draws = np.empty((draws, n_units))
    tier_score_draws = np.empty((draws, n_units, n_tiers))
    value_or_zero = np.nan_to_num(value)
    for start in range(0, draws, _CHUNK):
        n_drawn = min(_CHUNK, draws - start)
        group_normals = rng.standard_normal((n_drawn, n_units, len(group_ids)))
        indicator_normals = group_normals[:, :, group_of]
        drawn = value_or_zero[None] + indicator_normals * np.where(indicator_normals < 0, sd_below[None],
                                                                   sd_above[None])
        drawn = np.clip(drawn, unit_low, unit_high)
        drawn_points = points(drawn)
        score_draws[start:start + n_drawn] = np.einsum("dki,ki->dk", drawn_points, weight)
        tier_score_draws[start:start + n_drawn] = _tier_scores(drawn_points, local_weight, tier_mask)
    score_draws[:, ~graded] = np.nan
    tier_score_draws[:, ~tier_present] = np.nan

    alpha = 1 - confidence
    quantiles = [alpha / 2, 1 - alpha / 2]
    score_lower, score_upper = np.full(n_units, np.nan), np.full(n_units, np.nan)
    if graded.any():
        score_lower[graded], score_upper[graded] = np.quantile(score_draws[:, graded], quantiles, axis=0)
    tier_lower, tier_upper = np.full((n_units, n_tiers), np.nan), np.full((n_units, n_tiers), np.nan)
    if tier_present.any():
        tier_lower[tier_present], tier_upper[tier_present] = np.quantile(tier_score_draws[:, tier_present], quantiles,
                                                                         axis=0)

    # --- grades
    n_grades = len(fw.grades)
    grade_draws = fw._grade_index(score_draws)  # (draws, units)
    # (units, grades)
    grade_probs = np.stack([(grade_draws == index).mean(axis=0) for index in range(n_grades)], axis=1)
    grade_probs[~graded] = np.nan
    point_grade = fw._grade_index(point_score)
    grade_ids = np.array([grade_spec.id for grade_spec in fw.grades] + [None], dtype=object)
    grade = grade_ids[point_grade]
    grade_prob = np.where(graded, grade_probs[np.arange(n_units), np.minimum(point_grade, n_grades - 1)], np.nan)

    # --- ranks among graded counties
    rank = np.full(n_units, np.nan)
    rank_lower, rank_upper = np.full(n_units, np.nan), np.full(n_units, np.nan)
    if graded.any():
        ranked = rank_intervals(score_draws[:, graded], point_score[graded], confidence=confidence)
        rank[graded], rank_lower[graded], rank_upper[graded] = (ranked["rank"], ranked["rank_lower"],
                                                                ranked["rank_upper"])

    missing_list = np.full(n_units, "", dtype=object)
    for col, spec in enumerate(specs):  # over indicators: "a,b" lists of what each county lacks
        missing_list = missing_list + np.where(present[:, col] | ~counts[col], "", spec.id + ",")
    missing_list = pd.Series(missing_list, dtype=object).str.rstrip(",").to_numpy(dtype=object)
    method = (f"weighted sum of indicator points (0-100), framework '{fw.id}' {fw.version}; intervals and grade "
              f"probabilities from {draws} Monte Carlo draws (seed {seed}) of the indicators' 95% intervals "
              f"(split normal); missing indicators re-weighted within tier, no grade above "
              f"{fw.max_missing_weight:g} of the weight missing")

    counties = units.copy()
    if "county_code" not in counties.columns:
        counties["county_code"] = counties["code"]
    counties["year"] = year
    counties["graded"] = graded
    counties["score"] = point_score
    counties["score_lower"] = score_lower
    counties["score_upper"] = score_upper
    counties["confidence"] = confidence
    for col, tier_id in enumerate(tier_ids):
        counties[f"score_{tier_id}"] = np.where(tier_present[:, col], point_tier_scores[:, col], np.nan)
    counties["grade"] = pd.Series(grade, dtype=object)
    counties["grade_probability"] = grade_prob
    for col, grade_spec in enumerate(fw.grades):
        counties[f"p_{grade_spec.id}"] = grade_probs[:, col]
    counties["rank"] = pd.array(np.where(np.isnan(rank), pd.NA, rank), dtype="Int64")
    counties["rank_lower"] = pd.array(np.where(np.isnan(rank_lower), pd.NA, rank_lower), dtype="Int64")
    counties["rank_upper"] = pd.array(np.where(np.isnan(rank_upper), pd.NA, rank_upper), dtype="Int64")
    counties["n_ranked"] = int(graded.sum())
    counties["n_missing"] = (~present & counts[None, :]).sum(axis=1)
    counties["missing"] = missing_list
    counties["missing_weight"] = missing_weight
    counties["reason"] = reason
    counties["method"] = method

    codes = units["code"].to_numpy()
    ids = np.array([spec.id for spec in specs])
    tiers = pd.DataFrame({
        "code": np.repeat(codes, n_tiers),
        "tier": np.tile(tier_ids, n_units),
        "score": np.where(tier_present, point_tier_scores, np.nan).reshape(-1),
        "score_lower": tier_lower.reshape(-1),
        "score_upper": tier_upper.reshape(-1),
        "confidence": confidence,
        "base_weight": np.tile(base_tier, n_units),
        "weight": tier_weight.reshape(-1),
        "n_missing": ((~present).astype(int) @ tier_mask).reshape(-1).astype(int),
    })
    indicators = pd.DataFrame({
        "code": np.repeat(codes, n_indicators),
        "indicator": np.tile(ids, n_units),
        "tier": np.tile([spec.tier for spec in specs], n_units),
        "measure": np.tile([spec.measure for spec in specs], n_units),
        "item": np.tile([spec.item for spec in specs], n_units),
        "group": np.tile([spec.group for spec in specs], n_units),
        "unit": np.tile([spec.unit for spec in specs], n_units),
        "value": value.reshape(-1),
        "lower": figures["lower"].reshape(-1),
        "upper": figures["upper"].reshape(-1),
        "se": figures["se"].reshape(-1),
        "confidence": _INPUT_CONFIDENCE,
        "target": np.tile([spec.target for spec in specs], n_units),
        "points": np.where(present, point_points, np.nan).reshape(-1),
        "base_weight": np.tile(base_weight, n_units),
        "weight": weight.reshape(-1),
        "missing": (~present).reshape(-1),
        "suppression_reason": figures["suppression_reason"].reshape(-1),
        "uncertainty": treatment.reshape(-1),
    })
    return Scores(counties, tiers, indicators, fw, int(year), level, draws, int(seed), confidence)


def _tier_scores(points: np.ndarray, local_weight: np.ndarray, tier_mask: np.ndarray) -> np.ndarray:
    """Tier scores (draws x units x tiers) from indicator points and within-tier weights."""
    return (points * local_weight) @ tier_mask
