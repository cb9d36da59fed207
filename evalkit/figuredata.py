"""What each figure shows: the points, limits and intervals, one function per kind of figure.

The county report's figures (:mod:`evalkit.report.sections`, drawn as SVG by
:mod:`evalkit.report.figures`) and the researcher's matplotlib plots (:mod:`evalkit.plot`) take their
data from these functions, so that a plot in a paper shows what the report shows:

* :func:`funnel_data`: every unit's value against its size, the funnel's control limits, and (when
  there are at least two units) the z-scores and overdispersion of :mod:`evalkit.measures.funnel`;
* :func:`ranked_rows`: every unit's value and interval, for a ranked (caterpillar) plot;
* :func:`trend_series`: a unit's value and interval by year, for each (indicator, item);
* :func:`item_intervals`: values and intervals of an indicator's items for several units side by side.

Each takes rows of the indicator table (:func:`evalkit.results.indicator_table`) already narrowed to
what the figure is about (one level, year and confidence level, or one unit), and returns plain
frames on the table's scale (proportions from 0 to 1, rates per 1,000 as the table holds them).
Nothing here draws or words; nothing is cached here (the results layer shares what many reports draw).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import registry

if TYPE_CHECKING:
    from .measures.funnel import FunnelFit

__all__ = ["FunnelData", "funnel_statistic", "funnel_data", "ranked_rows", "trend_series", "item_intervals",
           "RATE_SCALES", "inspection_scores", "inspection_comparison"]

#: The table's scale of each rate unit: its values are events per this many of the denominator.
RATE_SCALES = {"per_1000": 1000.0, "per_10000": 10000.0, "count": 1.0}


def funnel_statistic(indicator: str) -> tuple[str, float]:
    """The funnel statistic of an indicator (``"proportion"`` or ``"rate"``) and the scale of its values in the
    table (1 for proportions, 1000 for a rate per 1,000).

    >>> funnel_statistic("coverage"), funnel_statistic("person_times_per_1000")
    (('proportion', 1.0), ('rate', 1000.0))

    Raises :class:`ValueError` for an indicator a funnel cannot show (a mean, an index, money)."""
    entry = registry.get(indicator)
    if entry.unit == "proportion":
        return "proportion", 1.0
    if entry.unit in RATE_SCALES and entry.kind != "survey":
        return "rate", RATE_SCALES[entry.unit]
    raise ValueError(f"A funnel plot shows a proportion or a rate of counts; indicator {indicator!r} is in "
                     f"{entry.unit!r}. Choose one of: "
                     f"{', '.join(n for n in registry.names() if _funnel_able(n))}.")


def _funnel_able(indicator: str) -> bool:
    entry = registry.get(indicator)
    return entry.unit == "proportion" or (entry.unit in RATE_SCALES and entry.kind != "survey")


@dataclass(frozen=True)
class FunnelData:
    """What a funnel plot shows (:func:`funnel_data`).

    Attributes
    ----------
    points : DataFrame
        One row per unit: ``code``, ``x`` (its size: the effective sample size of a survey proportion, else the
        denominator), ``value`` (table scale), ``numerator``, ``significance`` (against the limits drawn, at the
        unit's own size: ``low_99_8``, ``low_95``, ``not_significant``, ``high_95``, ``high_99_8``); with
        :attr:`fit`, also ``z`` (unadjusted, on the transformed scale), ``z_winsorised`` and ``z_adjusted`` (for
        :attr:`overdispersion`).
    limits : DataFrame
        ``denominator``, ``confidence`` (0.95 and 0.998), ``lower``, ``upper`` (table scale), one row per axis
        point and level.  Without overdispersion the binomial (proportions) or exact Poisson (rates) limits of
        :mod:`evalkit.measures.compare`, as the county report draws; with it, the adjusted limits on the
        transformed scale (:meth:`evalkit.measures.funnel.FunnelFit.limits`).
    target : float
        The centre line (table scale).
    statistic : str
        ``"proportion"`` or ``"rate"``.
    scale : float
        The table's scale of a rate (1000 for per 1,000; 1 for proportions).
    overdispersion : str or None
        ``None``, ``"multiplicative"`` or ``"additive"``.
    fit : FunnelFit or None
        Z-scores, ``phi`` and ``tau2`` (:func:`evalkit.measures.funnel.funnel_dispersion`); ``None`` with fewer
        than two units.
    """

    points: pd.DataFrame
    limits: pd.DataFrame
    target: float
    statistic: str
    scale: float
    overdispersion: str | None
    fit: "FunnelFit | None"

    @property
    def phi(self) -> float:
        """The multiplicative overdispersion factor (NaN without :attr:`fit`)."""
        return self.fit.phi if self.fit is not None else float("nan")

    @property
    def tau2(self) -> float:
        """The additive between-unit variance on the transformed scale (NaN without :attr:`fit`)."""
        return self.fit.tau2 if self.fit is not None else float("nan")


def funnel_data(rows: pd.DataFrame, indicator: str, *, item: str | None = None, group: str = "all",
                target: float | None = None, overdispersion: str | None = None, trim: float = 0.1
                ) -> FunnelData | None:
    """Every unit's value against its size, and the funnel's limits around ``target``.

    Parameters
    ----------
    rows : DataFrame
        Indicator-table rows of one level, year and confidence level (every county's rows of a year, say).
    indicator : str
        A proportion or a rate of counts (:func:`funnel_statistic`).
    item : str, optional
        The item (a survey question); by default the indicator's headline item (``q_overall`` for a survey
        indicator, else ``all``).
    group : str, default "all"
        The service-user group.
    target : float, optional
        The centre line on the table's scale (the province's value, as the report draws); by default the
        units' pooled value (sum of numerators over sum of sizes).
    overdispersion : {None, "multiplicative", "additive"}
        Widen the limits for overdispersion, on the transformed scale (:mod:`evalkit.measures.funnel`).
    trim : float, default 0.1
        Share of z-scores Winsorised in each tail when estimating overdispersion.

    Returns
    -------
    FunnelData or None
        ``None`` when no unit has an unsuppressed value.

    Notes
    -----
    A survey proportion is placed at its effective sample size ``p (1 - p) / se^2``
    (:func:`evalkit.measures.compare.effective_sample_size`), so that limits made for simple random
    sampling apply to design-based estimates; its numerator is ``p`` times that size.
    """
    from .measures.compare import effective_sample_size, funnel_axis, funnel_limits_proportion, funnel_limits_rate
    from .measures.funnel import OVERDISPERSION, funnel_dispersion

    if overdispersion not in OVERDISPERSION:
        raise ValueError(f"overdispersion must be None, 'multiplicative' or 'additive', not {overdispersion!r}.")
    statistic, scale = funnel_statistic(indicator)
    survey = registry.get(indicator).kind == "survey"
    item = item if item is not None else ("q_overall" if survey else "all")
    pts = rows[(rows["indicator"] == indicator) & (rows["item"] == item) & (rows["group"] == group)
               & ~rows["suppressed"]].copy()
    if pts.empty:
        return None
    if survey:
        # effective sample size: what the design-based standard error is worth in simple random sampling
        pts["x"] = effective_sample_size(pts["value"], pts["se"])
        pts = pts[np.isfinite(pts["x"])]
        pts = pts.assign(numerator=pts["value"] * pts["x"])
    else:
        pts = pts.assign(x=pts["denominator"], numerator=pts["n"])
        pts = pts[np.isfinite(pts["x"].to_numpy(float)) & (pts["x"] > 0) & pts["numerator"].notna()]
    if pts.empty:
        return None
    x = pts["x"].to_numpy(float)
    centre = float(target) if target is not None else float(pts["numerator"].sum() / x.sum()) * scale
    fit = None
    if len(pts) >= 2:
        try:
            fit = funnel_dispersion(pts["numerator"].to_numpy(float), x, statistic=statistic, target=centre / scale,
                                    trim=trim)
        except ValueError:
            if overdispersion is not None:
                raise
    if overdispersion is not None and fit is None:
        raise ValueError("Overdispersion needs at least two units with a value; "
                         f"{indicator!r} has {len(pts)}.")
    def limits_at(sizes: np.ndarray) -> pd.DataFrame:
        if overdispersion is not None:
            out = fit.limits(sizes, overdispersion)
        elif statistic == "proportion":
            out = funnel_limits_proportion(centre, sizes, confidence=(0.95, 0.998))
        else:
            out = funnel_limits_rate(centre / scale, sizes, confidence=(0.95, 0.998), statistic="rate")
        return out if scale == 1.0 else out.assign(lower=out["lower"] * scale, upper=out["upper"] * scale)

    limits = limits_at(funnel_axis(x))
    points = pts[["code", "x", "value", "numerator"]]
    if fit is not None:
        z = fit.zscores(overdispersion)
        points = points.assign(**{c: z[c].to_numpy() for c in ("z", "z_winsorised", "z_adjusted")})
    # each unit against the limits drawn, at its own size
    own = limits_at(x)
    lower, upper = (own[c].to_numpy(float).reshape(len(x), 2) for c in ("lower", "upper"))
    value = points["value"].to_numpy(float)
    code = np.select([value < lower[:, 1], value < lower[:, 0], value > upper[:, 1], value > upper[:, 0]],
                     ["low_99_8", "low_95", "high_99_8", "high_95"], "not_significant").astype(object)
    points = points.assign(significance=np.where(np.isnan(value), "not_compared", code))
    return FunnelData(points, limits, centre, statistic, scale, overdispersion, fit)


def ranked_rows(rows: pd.DataFrame, indicator: str, *, item: str | None = None, group: str = "all") -> pd.DataFrame:
    """Every unit's ``code``, ``value``, ``lower`` and ``upper`` for one indicator (unsuppressed, with a value), in
    the rows' order: what a ranked dot (caterpillar) plot shows.  ``item`` ``None`` keeps every item (an
    indicator with one item, such as coverage)."""
    keep = (rows["indicator"] == indicator) & (rows["group"] == group) & ~rows["suppressed"] & rows["value"].notna()
    if item is not None:
        keep &= rows["item"] == item
    return rows.loc[keep, ["code", "value", "lower", "upper"]]


def trend_series(frame: pd.DataFrame, years: Sequence[int], pairs: Iterable[tuple[str, str]]
                 ) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Year, value, lower and upper of each (indicator, item) of ``pairs`` in one unit's rows (group ``all``, in
    ``years``) as arrays, in the frame's order: grouped in one pass over plain lists."""
    wanted = pairs if isinstance(pairs, (set, frozenset)) else frozenset(pairs)
    keep = ((frame["group"] == "all") & frame["year"].isin(years)).to_numpy()
    at: dict[tuple[str, str], list[int]] = {}
    for i, pair in enumerate(zip(frame["indicator"].tolist(), frame["item"].tolist())):
        if keep[i] and pair in wanted:
            at.setdefault(pair, []).append(i)
    columns = {c: frame[c].to_numpy() for c in ("year", "value", "lower", "upper")}
    return {pair: {c: v[rows] for c, v in columns.items()} for pair, rows in at.items()}


def item_intervals(units: Mapping[str, Mapping[tuple[str, str, str], Mapping[str, Any]]], indicator: str,
                   items: Sequence[str], *, group: str = "all") -> pd.DataFrame:
    """The value and interval of each of ``items`` for several units side by side: ``item``, then
    ``<prefix>value``, ``<prefix>lower``, ``<prefix>upper`` for each ``prefix`` of ``units``, whose values are
    a unit's rows by (indicator, item, group) (missing where a unit has no row)."""
    out: dict[str, list] = {"item": list(items)}
    for prefix, found_rows in units.items():
        found = [found_rows.get((indicator, i, group)) for i in items]
        for col in ("value", "lower", "upper"):
            out[prefix + col] = [r[col] if r is not None else np.nan for r in found]
    return pd.DataFrame(out)


def inspection_scores(inspections: pd.DataFrame, rubric: Sequence[Any], year: int) -> pd.DataFrame:
    """Every inspected station's score on each rubric item in ``year``: the mean over its inspectors.

    ``inspections``: the optional inspections table; ``rubric``: the framework's rubric items (``id``,
    ``maximum``, in the framework's order).  One row per item and station: ``item``, ``county_code``,
    ``prefecture_code`` (the county code's first four digits), ``township_code``, ``score`` (mean points),
    ``maximum``, ``share`` (``score / maximum``) and ``inspectors`` (how many scored it).
    """
    order = [r.id for r in rubric]
    maximum = {r.id: float(r.maximum) for r in rubric}
    sel = inspections[(inspections["year"].astype(int) == int(year)) & inspections["item"].astype(str).isin(order)]
    sel = sel.assign(item=sel["item"].astype(str), county_code=sel["county_code"].astype(str),
                     township_code=sel["township_code"].astype(str), score=sel["score"].astype(float))
    out = (sel.groupby(["item", "county_code", "township_code"], sort=False)["score"]
           .agg(score="mean", inspectors="size").reset_index())
    out["prefecture_code"] = out["county_code"].str[:4]
    out["maximum"] = out["item"].map(maximum)
    out["share"] = out["score"] / out["maximum"]
    out["item"] = pd.Categorical(out["item"], categories=order, ordered=True)
    out = out.sort_values(["item", "township_code"]).reset_index(drop=True)
    out["item"] = out["item"].astype(str)
    return out[["item", "county_code", "prefecture_code", "township_code", "score", "maximum", "share",
                "inspectors"]]


def inspection_comparison(stations: pd.DataFrame, county_code: str) -> pd.DataFrame:
    """A county's mean score on each rubric item against its prefecture's and the province's.

    ``stations``: :func:`inspection_scores`.  One row per item (the framework's order): ``item``, ``maximum``,
    ``county`` (mean station score of the county's inspected stations, the score the framework uses),
    ``county_stations``, ``prefecture`` (mean over every inspected station of the county's prefecture, the
    county's included), ``prefecture_stations``, ``province`` and ``province_stations``; means are in points
    (NaN where no station was inspected).
    """
    county_code = str(county_code)
    prefecture = county_code[:4]
    rows = []
    for item, group in stations.groupby("item", sort=False):
        mine = group[group["county_code"] == county_code]
        pref = group[group["prefecture_code"] == prefecture]
        rows.append({"item": item, "maximum": float(group["maximum"].iloc[0]),
                     "county": mine["score"].mean(), "county_stations": len(mine),
                     "prefecture": pref["score"].mean(), "prefecture_stations": len(pref),
                     "province": group["score"].mean(), "province_stations": len(group)})
    return pd.DataFrame(rows, columns=["item", "maximum", "county", "county_stations", "prefecture",
                                       "prefecture_stations", "province", "province_stations"])
