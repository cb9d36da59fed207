"""Publication plots of the indicator table, in matplotlib: funnel, ranked (caterpillar), trend, intervals.

Each function takes the indicator table (the frame :func:`evalkit.results.indicator_table` returns, a
:class:`~evalkit.results.ProvinceData`, or anything holding the frame as ``.table``), draws one figure
and returns ``(fig, ax)``: restyle them as any matplotlib figure (``ax.set_title``, ``fig.savefig``).
Pass ``ax=`` to draw into an axes of your own.  Chinese text needs nothing from you: the report's
CJK font (:func:`evalkit.report.fonts.use_in_matplotlib`) is set up on every call, and the labels
come from the report's catalogues in ``lang`` (``"en"`` or ``"zh"``).

What each plot shows comes from :mod:`evalkit.figuredata`, the functions the county report's figures
use, so a plot of the report's indicator, year and units shows the report's numbers.  The data drawn
is kept on the axes: ``ax.funnel_data`` (a :class:`~evalkit.figuredata.FunnelData`: points with their
z-scores, limits, ``phi``, ``tau2``), ``ax.ranked_data``, ``ax.trend_data`` and ``ax.interval_data``.

>>> import evalkit.plot as ep
>>> sorted(ep.__all__)
['funnel', 'intervals', 'ranked', 'table_of', 'trend']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from . import figuredata, registry
from .report import fonts
from .report.figures import BENCH, HIGHLIGHT, OTHER, PEER
from .report.i18n import t
from .report.rows import lookup
from .report.sections import ITEMS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["funnel", "ranked", "trend", "intervals", "table_of"]

_PERCENT = ("proportion", "net")


def table_of(table: Any) -> pd.DataFrame:
    """The indicator table as a DataFrame, from the frame itself, a ``(table, meta)`` pair as
    :func:`evalkit.results.indicator_table` returns, or an object holding it as ``.table`` (a
    :class:`~evalkit.results.ProvinceData`) or ``.frame``."""
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, tuple) and table and isinstance(table[0], pd.DataFrame):
        return table[0]
    for name in ("table", "frame"):
        found = getattr(table, name, None)
        if isinstance(found, pd.DataFrame):
            return found
    raise TypeError("Pass the indicator table: a DataFrame as evalkit.results.indicator_table returns, or "
                    f"the province's data (.table); got {type(table).__name__}.")


# --------------------------------------------------------------------------- helpers


def _axes(ax: "Axes | None", size: tuple[float, float]) -> tuple["Figure", "Axes"]:
    fonts.use_in_matplotlib()  # before any text is made: text takes its font when created
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return fig, ax


def _check_lang(lang: str) -> None:
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}.")


def _year(frame: pd.DataFrame, year: int | None) -> int:
    years = sorted(int(y) for y in pd.unique(frame["year"]))
    if year is None:
        return years[-1]
    if int(year) not in years:
        raise ValueError(f"year {year} is not in the table (years: {', '.join(map(str, years))}).")
    return int(year)


def _headline(indicator: str, item: str | None) -> str:
    return item if item is not None else ("q_overall" if registry.get(indicator).kind == "survey" else "all")


def _select(frame: pd.DataFrame, **where: Any) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        col = frame[column]
        mask &= (col.isin(value) if isinstance(value, (list, tuple, set)) else col == value).to_numpy()
    return frame[mask]


def _names(frame: pd.DataFrame, lang: str) -> dict[str, str]:
    rows = frame[["code", f"name_{lang}"]].drop_duplicates("code")
    return dict(zip(rows["code"].astype(str), rows[f"name_{lang}"].astype(str)))


def _scale(indicator: str) -> float:
    return 100.0 if registry.get(indicator).unit in _PERCENT else 1.0


def _indicator_name(indicator: str, lang: str) -> str:
    entry = registry.get(indicator)
    return str(getattr(entry, lang))


def _value_label(indicator: str, lang: str) -> str:
    return t("plot.axis", lang, indicator=_indicator_name(indicator, lang),
             unit=t(f"plot.unit.{registry.get(indicator).unit}", lang))


def _province_value(frame: pd.DataFrame, indicator: str, item: str, group: str, year: int,
                    confidence: float) -> float | None:
    row = _select(frame, level="province", indicator=indicator, item=item, group=group, year=year,
                  confidence=confidence)
    if row.empty or pd.isna(row["value"].iloc[0]):
        return None
    return float(row["value"].iloc[0])


def _peers(rows: pd.DataFrame, highlight: str | None, peers: Sequence[str] | None) -> list[str]:
    if peers is not None:
        return [str(p) for p in peers]
    if highlight is None:
        return []
    mine = rows.loc[rows["code"] == highlight, "prefecture_code"]
    if mine.empty or pd.isna(mine.iloc[0]):
        return []
    same = rows.loc[rows["prefecture_code"] == mine.iloc[0], "code"].astype(str)
    return sorted(set(same) - {highlight})


def _colours(codes: np.ndarray, highlight: str | None, peers: Sequence[str]) -> np.ndarray:
    return np.where(codes == highlight, HIGHLIGHT, np.where(np.isin(codes, list(peers)), PEER, OTHER))


def _others_text(level: str, lang: str) -> str:
    return t("figure.other_counties", lang) if level == "county" else t("plot.others", lang)


# --------------------------------------------------------------------------- the plots


def funnel(table: Any, indicator: str = "satisfaction_rate", *, level: str = "county", year: int | None = None,
           item: str | None = None, group: str = "all", confidence: float = 0.95,
           overdispersion: str | None = None, trim: float = 0.1, target: float | str | None = "province",
           highlight: str | None = None, peers: Sequence[str] | None = None, lang: str = "en",
           ax: "Axes | None" = None) -> tuple["Figure", "Axes"]:
    """A funnel plot: every unit's value against its size, with 95% and 99.8% control limits.

    Parameters
    ----------
    table
        The indicator table (:func:`table_of`).
    indicator : str, default "satisfaction_rate"
        A proportion or a rate of counts (:func:`evalkit.figuredata.funnel_statistic`).
    level : str, default "county"
        The units drawn: ``"county"``, ``"township"`` or ``"prefecture"``.
    year : int, optional
        Default: the table's latest.
    item, group : str
        Default: the indicator's headline item (``q_overall`` for survey indicators), all groups.
    confidence : float, default 0.95
        The table's interval level the rows are taken at (it holds 0.95 and 0.998).
    overdispersion : {None, "multiplicative", "additive"}
        ``None``: the limits the county report draws (binomial or exact Poisson).  Otherwise the limits
        widened by ``phi`` or ``tau2`` on the transformed scale (arcsine square root for proportions,
        square root for rates), from Winsorised z-scores, as Spiegelhalter (2005) and FunnelPlotR define
        them (:mod:`evalkit.measures.funnel`).
    trim : float, default 0.1
        Share of z-scores Winsorised in each tail.
    target : "province", float or None
        The centre line: the province's value (as the report), a value on the table's scale, or ``None``
        for the units' pooled value.
    highlight : str, optional
        A unit's code to mark; its prefecture's other counties are marked too (or those in ``peers``).
    lang : {"en", "zh"}
        Language of the labels.
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.

    Returns
    -------
    (Figure, Axes)
        ``ax.funnel_data`` is the :class:`~evalkit.figuredata.FunnelData` drawn: ``.points`` (code, size
        ``x``, value, z-scores, significance), ``.limits`` (denominator, confidence, lower, upper),
        ``.target``, ``.phi``, ``.tau2``.

    Examples
    --------
    With ``table`` the indicator table of a province (``evalkit.load_province(folder).indicators()``)::

        fig, ax = funnel(table, overdispersion="additive", highlight="090102", lang="zh")
        ax.funnel_data.tau2, ax.funnel_data.points.query("significance == 'high_99_8'")
    """
    _check_lang(lang)
    frame = table_of(table)
    year = _year(frame, year)
    item = _headline(indicator, item)
    rows = _select(frame, level=level, year=year, confidence=confidence)
    if isinstance(target, str):
        if target != "province":
            raise ValueError(f"target must be 'province', a number or None, not {target!r}.")
        centre = _province_value(frame, indicator, item, group, year, confidence)
    else:
        centre = target
    data = figuredata.funnel_data(rows, indicator, item=item, group=group, target=centre,
                                  overdispersion=overdispersion, trim=trim)
    if data is None:
        raise ValueError(f"No {level} has a published value of {indicator!r} ({item}, {group}) in {year}.")
    scale = _scale(indicator)
    fig, ax = _axes(ax, (7.5, 4.8))
    lim = data.limits.sort_values(["confidence", "denominator"])
    x = data.points["x"].to_numpy(float)
    y = data.points["value"].to_numpy(float) * scale
    for conf, style in ((0.95, "--"), (0.998, ":")):
        part = lim[np.isclose(lim["confidence"], conf)]
        level_text = f"{conf:.1%}".replace(".0%", "%")
        label = (t("figure.limit", lang, level=level_text) if overdispersion is None else
                 t("plot.limit_adjusted", lang, level=level_text, method=t(f"plot.{overdispersion}", lang)))
        ax.plot(part["denominator"], part["lower"] * scale, style, color=BENCH, lw=1, label=label)
        ax.plot(part["denominator"], part["upper"] * scale, style, color=BENCH, lw=1)
    names = _names(rows, lang)
    centre_text = t("plot.pooled", lang)
    if isinstance(target, str) and centre is not None:  # the province's value: named as in the report
        prov = _select(frame, level="province")
        centre_text = str(prov[f"name_{lang}"].iloc[0]) if len(prov) else centre_text
    ax.axhline(data.target * scale, color=BENCH, lw=1.2, label=centre_text)
    codes = data.points["code"].astype(str).to_numpy()
    peer_codes = _peers(rows, highlight, peers)
    colour = _colours(codes, highlight, peer_codes)
    for c, size, text in ((OTHER, 14, _others_text(level, lang)),
                          (PEER, 22, t("figure.peers", lang, prefecture=_prefecture_name(frame, highlight, lang))
                           if highlight else None),
                          (HIGHLIGHT, 50, names.get(highlight or "", highlight))):
        m = colour == c
        if m.any():
            ax.scatter(x[m], y[m], s=size, color=c, edgecolors="black" if c == HIGHLIGHT else "none",
                       zorder=3, label=text)
    inner = lim[(lim["confidence"] == lim["confidence"].max()) & (lim["denominator"] >= np.nanmin(x) * 0.8)]
    bounds = np.concatenate([y, inner["lower"].to_numpy(float) * scale, inner["upper"].to_numpy(float) * scale])
    bounds = bounds[np.isfinite(bounds)]
    span = (bounds.max() - bounds.min()) or 1.0
    ax.set_ylim(bounds.min() - 0.04 * span, bounds.max() + 0.04 * span)
    ax.set_xlim(0, float(np.nanmax(x)) * 1.05)
    survey = registry.get(indicator).kind == "survey"
    ax.set_xlabel(t("figure.effective_n", lang) if survey else t("plot.size", lang))
    ax.set_ylabel(_value_label(indicator, lang))
    ax.legend(fontsize="small", frameon=False)
    ax.funnel_data = data
    return fig, ax


def _prefecture_name(frame: pd.DataFrame, code: str | None, lang: str) -> str:
    if code is None:
        return ""
    rows = frame.loc[frame["code"] == code, "prefecture_code"]
    if rows.empty or pd.isna(rows.iloc[0]):
        return ""
    pref = frame.loc[(frame["level"] == "prefecture") & (frame["code"] == rows.iloc[0]), f"name_{lang}"]
    return str(pref.iloc[0]) if len(pref) else str(rows.iloc[0])


def ranked(table: Any, indicator: str = "coverage", *, level: str = "county", year: int | None = None,
           item: str | None = None, group: str = "all", confidence: float = 0.95, highlight: str | None = None,
           peers: Sequence[str] | None = None, bench: bool = True, lang: str = "en",
           ax: "Axes | None" = None) -> tuple["Figure", "Axes"]:
    """A ranked dot (caterpillar) plot: every unit's value with its interval, from lowest to highest.

    Parameters as :func:`funnel`; ``bench`` draws the province's value as a dashed line.  ``confidence``
    is the level of the intervals drawn (0.95 or 0.998).

    Returns
    -------
    (Figure, Axes)
        ``ax.ranked_data``: the rows drawn (``code``, ``value``, ``lower``, ``upper`` on the table's scale),
        in the order drawn, with ``rank`` (1 = highest) and ``name``.
    """
    _check_lang(lang)
    frame = table_of(table)
    year = _year(frame, year)
    item = _headline(indicator, item)
    rows = _select(frame, level=level, year=year, confidence=confidence)
    data = figuredata.ranked_rows(rows, indicator, item=item, group=group)
    if data.empty:
        raise ValueError(f"No {level} has a published value of {indicator!r} ({item}, {group}) in {year}.")
    order = np.argsort(data["value"].to_numpy(float), kind="stable")
    data = data.iloc[order].assign(code=lambda d: d["code"].astype(str))
    names = _names(rows, lang)
    data = data.assign(rank=data["value"].rank(ascending=False, method="min").astype(int),
                       name=[names.get(c, c) for c in data["code"]])
    scale = _scale(indicator)
    fig, ax = _axes(ax, (7.5, 4.2))
    xs = np.arange(1, len(data) + 1)
    v, lo, hi = (data[c].to_numpy(float) * scale for c in ("value", "lower", "upper"))
    colour = _colours(data["code"].to_numpy(), highlight, _peers(rows, highlight, peers))
    ax.vlines(xs, lo, hi, colors=colour, lw=1)
    if bench:
        prov = _province_value(frame, indicator, item, group, year, confidence)
        if prov is not None:
            pname = _select(frame, level="province")[f"name_{lang}"]
            ax.axhline(prov * scale, color=BENCH, ls="--", lw=1, label=str(pname.iloc[0]) if len(pname) else None)
    for c, size, text in ((OTHER, 10, _others_text(level, lang)),
                          (PEER, 16, t("figure.peers", lang, prefecture=_prefecture_name(frame, highlight, lang))
                           if highlight else None),
                          (HIGHLIGHT, 40, names.get(highlight or "", highlight))):
        m = colour == c
        if m.any():
            ax.scatter(xs[m], v[m], s=size, color=c, zorder=3, label=text)
    ax.set_xlim(0, len(data) + 1)
    ax.set_xticks([])
    ax.set_xlabel(t("figure.ranked_axis", lang) if level == "county" else t("plot.ranked_axis", lang))
    ax.set_ylabel(_value_label(indicator, lang))
    ax.legend(fontsize="small", frameon=False)
    ax.ranked_data = data.reset_index(drop=True)
    return fig, ax


def trend(table: Any, codes: str | Sequence[str], indicator: str = "satisfaction_rate", *, item: str | None = None,
          years: Sequence[int] | None = None, confidence: float = 0.95, lang: str = "en",
          ax: "Axes | None" = None) -> tuple["Figure", "Axes"]:
    """An indicator by year for one or more units (any level: a county's and the province's code, say), each
    a line with its interval as a band; all service-user groups together, as the report's trend figure.

    Returns
    -------
    (Figure, Axes)
        ``ax.trend_data``: ``{code: DataFrame of year, value, lower, upper}`` (table scale), as drawn.
    """
    _check_lang(lang)
    frame = table_of(table)
    codes = [codes] if isinstance(codes, str) else [str(c) for c in codes]
    item = _headline(indicator, item)
    years = sorted(int(y) for y in (years if years is not None else pd.unique(frame["year"])))
    scale = _scale(indicator)
    fig, ax = _axes(ax, (6.5, 4.0))
    out: dict[str, pd.DataFrame] = {}
    names = _names(_select(frame, code=codes), lang)
    for k, code in enumerate(codes):
        unit = _select(frame, code=code, confidence=confidence)
        if unit.empty:
            raise ValueError(f"code {code!r} is not in the table.")
        series = figuredata.trend_series(unit, years, {(indicator, item)}).get((indicator, item))
        got = pd.DataFrame(series if series is not None else {c: [] for c in ("year", "value", "lower", "upper")})
        got = got.astype({"year": int}).sort_values("year").reset_index(drop=True)
        out[code] = got
        colour = HIGHLIGHT if k == 0 else (BENCH if k == 1 and len(codes) == 2 else None)
        xs = got["year"].to_numpy(float)
        line, = ax.plot(xs, got["value"].to_numpy(float) * scale, "-o", ms=4, color=colour,
                        label=names.get(code, code))
        ax.fill_between(xs, got["lower"].to_numpy(float) * scale, got["upper"].to_numpy(float) * scale,
                        color=line.get_color(), alpha=0.18, lw=0)
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_xlabel(t("plot.year", lang))
    ax.set_ylabel(_value_label(indicator, lang))
    ax.legend(fontsize="small", frameon=False)
    ax.trend_data = out
    return fig, ax


def intervals(table: Any, codes: str | Sequence[str], indicator: str = "satisfaction_rate", *,
              items: Sequence[str] | None = None, year: int | None = None, group: str = "all",
              confidence: float = 0.95, lang: str = "en", ax: "Axes | None" = None) -> tuple["Figure", "Axes"]:
    """Points with intervals: one line per item of ``indicator`` (the six satisfaction dimensions by default),
    one marker per unit in ``codes`` (a county's and the province's code: the report's dimension figure).

    Returns
    -------
    (Figure, Axes)
        ``ax.interval_data``: ``item``, ``label``, then ``<code>_value``, ``<code>_lower``, ``<code>_upper``
        for each code (table scale).
    """
    _check_lang(lang)
    frame = table_of(table)
    codes = [codes] if isinstance(codes, str) else [str(c) for c in codes]
    year = _year(frame, year)
    survey = registry.get(indicator).kind == "survey"
    items = list(items) if items is not None else (list(ITEMS) if survey else ["all"])
    rows = _select(frame, code=codes, year=year, confidence=confidence)
    units = {f"{code}_": lookup(rows[(rows["code"] == code).to_numpy()]) for code in codes}
    data = figuredata.item_intervals(units, indicator, items, group=group)
    data.insert(1, "label", [t(f"item.{i}", lang) if survey else _indicator_name(indicator, lang) for i in items])
    names = _names(rows, lang)
    scale = _scale(indicator)
    n = len(items)
    fig, ax = _axes(ax, (6.5, 0.45 * n + 1.4))
    step = 0.22 if len(codes) > 1 else 0.0
    for k, code in enumerate(codes):
        off = (k - (len(codes) - 1) / 2) * step
        ys = (n - 1 - np.arange(n)) - off  # the first item on top
        colour = HIGHLIGHT if k == 0 else (BENCH if k == 1 and len(codes) == 2 else None)
        v, lo, hi = (data[f"{code}_{c}"].to_numpy(float) * scale for c in ("value", "lower", "upper"))
        pts = ax.scatter(v, ys, s=22, color=colour, zorder=3, label=names.get(code, code))
        ax.hlines(ys, lo, hi, colors=pts.get_facecolor()[:1], lw=1.2)
    ax.set_yticks(range(n), data["label"].tolist()[::-1])
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlabel(_value_label(indicator, lang))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small", frameon=False)
    ax.interval_data = data
    return fig, ax
