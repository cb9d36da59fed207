"""Trend against earlier years: change between survey waves, and tests for a trend.

The "trend" section of a county report asks whether a figure went up, stayed the same or went
down.  Three tools, each vectorised over every county (or any other unit) at once:

* :func:`change_between_waves`: the latest wave against the previous one and against the first,
  with a Wald interval for the difference and a label ``increase`` /
  ``no_significant_change`` / ``decrease``.  Takes any tidy measure table with a wave column,
  ``value`` and ``se`` (or ``lower``/``upper``): the output of
  :func:`evalkit.measures.satisfaction.satisfaction`, of :mod:`evalkit.measures.survey`, ...
* :func:`linear_trend`: a design-based linear trend over all waves, the inverse-variance
  weighted least-squares slope of the wave estimates with its standard error.
* :func:`cochran_armitage`: the Cochran-Armitage chi-squared test for trend in proportions
  from counts, exactly as R's ``prop.trend.test``.

Independent waves
-----------------
:func:`change_between_waves` and :func:`linear_trend` treat the estimates of different waves
as independent, which is right when each wave is a separate sample: new respondents, villages
drawn afresh, as in the satisfaction survey (the same village can be drawn twice only by
chance).  It fails when waves share units: a panel of respondents re-interviewed each year,
or the same villages kept on purpose.  Answers then correlate positively across waves, the
true variance of a difference is :math:`V_1 + V_2 - 2\\,\\mathrm{Cov}`, and the independent
formula overstates it: intervals are too wide and tests conservative (never anti-conservative
while the correlation is positive).  For such data estimate the difference within one
design instead (a domain contrast with shared PSUs).

References
----------
.. [1] Armitage P. (1955). Tests for linear trends in proportions and frequencies.
       *Biometrics* 11(3), 375-386. doi:10.2307/3001775
.. [2] Cochran W.G. (1954). Some methods for strengthening the common chi-squared tests.
       *Biometrics* 10(4), 417-451. doi:10.2307/3001616
.. [3] R Core Team. ``prop.trend.test`` in package ``stats``, R 4.2.
.. [4] Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
       doi:10.1002/9780470580066
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
# scipy.stats is imported only where a distribution other than the normal is needed: importing it
# costs most of a second, which every report's kernel would pay (special.ndtri is what norm.ppf calls)
from scipy import special

from evalkit.measures._shared import (  # imported under private names: not re-exported
    as_numbers as _as_numbers,
    check_not_above as _check_not_above,
    check_not_negative as _check_not_negative,
)

__all__ = ["change_between_waves", "cochran_armitage", "linear_trend", "se_from_interval"]

LABELS = ("increase", "no_significant_change", "decrease")
#: Columns of a measure table that describe an estimate rather than identify a series.
RESULT_COLUMNS = frozenset({
    "value", "se", "lower", "upper", "confidence", "statistic", "method", "n", "n_excluded",
    "denominator", "deff", "n_eff", "df", "k", "z", "p_value", "label",
})

Columns = str | Sequence[str] | None


# --- shared helpers ----------------------------------------------------------------------

def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not (
            0 < confidence < 1):
        raise ValueError(f"confidence must be a fraction between 0 and 1 (such as 0.95); "
                         f"got {confidence!r}.")
    return float(confidence)


def _check_table(table: Any, wave: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}.")
    for col in (wave, "value"):
        if col not in table.columns:
            raise ValueError(f"The table has no {col!r} column; it needs the wave column "
                             f"{wave!r}, 'value' and 'se' (or 'lower', 'upper' and "
                             "'confidence').")


def _units(table: pd.DataFrame, by: Columns, wave: str) -> list[str]:
    """The columns that identify a series: ``by``, or every column that is not a result."""
    if by is None:
        return [c for c in table.columns if c not in RESULT_COLUMNS and c != wave]
    keys = [by] if isinstance(by, str) else list(by)
    for col in keys:
        if col not in table.columns:
            raise ValueError(f"Column {col!r} given as by is not in the table.")
    if wave in keys:
        raise ValueError(f"by must not include the wave column {wave!r}.")
    return keys


def _standard_errors(table: pd.DataFrame) -> tuple[np.ndarray, str]:
    """``se`` as given, or from a symmetric reading of the interval width."""
    if "se" in table.columns:
        return pd.to_numeric(table["se"]).to_numpy(dtype=float, na_value=np.nan), "se"
    if not {"lower", "upper", "confidence"} <= set(table.columns):
        raise ValueError("The table needs a 'se' column, or 'lower', 'upper' and 'confidence' "
                         "to derive one from the interval width.")
    conf = pd.to_numeric(table["confidence"]).to_numpy(dtype=float)
    width = (pd.to_numeric(table["upper"]) - pd.to_numeric(table["lower"])).to_numpy(
        dtype=float, na_value=np.nan)
    return width / (2 * special.ndtri(0.5 + conf / 2)), "interval width"


def _unit_codes(table: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Unit code per row (a missing key is a key like any other) and the keys of each unit."""
    if not keys:
        return np.zeros(len(table), np.int64), pd.DataFrame(index=range(1))
    grouped = table.groupby(keys, sort=True, dropna=False, observed=True)
    return (grouped.ngroup().to_numpy(dtype=np.int64),
            grouped.size().index.to_frame(index=False))


def _label(diff: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    label = np.where(lower > 0, LABELS[0], np.where(upper < 0, LABELS[2], LABELS[1]))
    return np.where(np.isnan(diff) | np.isnan(lower) | np.isnan(upper), None,
                    label).astype(object)


def _z_test(diff: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    z = np.where(np.isnan(diff) | np.isnan(se), np.nan, z)
    return z, 2 * special.ndtr(-np.abs(z))


# --- change between waves ----------------------------------------------------------------

def change_between_waves(table: pd.DataFrame, *, by: Columns = None, wave: str = "year",
                         against: Sequence[str | int] = ("previous", "first"),
                         confidence: float = 0.95) -> pd.DataFrame:
    """Change of every unit's estimate from earlier waves to its latest wave.

    Call it on a tidy measure table (one row per unit and wave) to fill the "trend against
    earlier years" table of a report: for each county, item and measure, did the latest
    figure rise, stay or fall?

    Method: with estimates :math:`\\hat\\theta_1` (earlier wave) and :math:`\\hat\\theta_2`
    (latest) from independent samples,

    .. math:: d = \\hat\\theta_2 - \\hat\\theta_1, \\quad
              \\mathrm{se}(d) = \\sqrt{\\mathrm{se}_1^2 + \\mathrm{se}_2^2}, \\quad
              d \\pm z_{1-a/2}\\,\\mathrm{se}(d),

    and the label is ``increase`` when the interval lies above 0, ``decrease`` when below,
    else ``no_significant_change`` (the same as a two-sided z test at level ``1 - confidence``).
    See the module notes for when independence fails (panels, retained villages).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit and wave, with the wave column, ``value`` and ``se``; without
        ``se``, ``lower``, ``upper`` and ``confidence`` give
        :math:`\\mathrm{se} = (\\mathrm{upper} - \\mathrm{lower}) / (2 z)`, exact for a Wald
        interval and an approximation for an asymmetric (logit, beta, Wilson) one.
    by : str or list of str, optional
        Columns that identify a series (a unit), such as ``["county_code", "item",
        "measure"]``.  Default: every column except the wave and the result columns
        (``value``, ``se``, ``lower``, ``upper``, ``confidence``, ``statistic``, ``method``,
        ``n``, ``n_excluded``, ``denominator``, ``deff``, ``n_eff``, ``df``, ``k``, ...).
    wave : str
        The wave column (numbers or anything that sorts in time order).
    against : sequence of "previous", "first" or a wave
        Earlier waves to compare the latest with: ``"previous"`` (the unit's wave before its
        latest), ``"first"`` (its earliest), or a given wave such as 2023.
    confidence : float
        Confidence level of the interval and the label, as a fraction.

    Returns
    -------
    pandas.DataFrame
        The unit keys, then ``comparison`` (``latest_vs_previous``, ``latest_vs_first`` or
        ``latest_vs_<wave>``), ``<wave>_from``, ``<wave>_to``, ``value_from``, ``value_to``,
        ``value`` (the change, latest minus earlier, in the measure's own units),
        ``se``, ``lower``, ``upper``, ``confidence``, ``statistic`` (``difference``),
        ``method``, ``z``, ``p_value`` (two-sided) and ``label``; plus ``n_from`` and
        ``n_to`` when the table has ``n``.  One row per unit and comparison, units sorted.
        A unit without the earlier wave (one wave only, or the given wave missing), or with a
        missing estimate, gets NaN and a missing label rather than an error.

    Examples
    --------
    >>> t = pd.DataFrame({"county_code": ["A"] * 3 + ["B"] * 3, "year": [2023, 2024, 2025] * 2,
    ...                   "value": [0.80, 0.84, 0.90, 0.90, 0.93, 0.89],
    ...                   "se": [0.02, 0.02, 0.02, 0.01, 0.01, 0.01]})
    >>> res = change_between_waves(t)
    >>> res[["county_code", "comparison", "year_from", "value", "label"]].round(3)
      county_code          comparison  year_from  value                  label
    0           A  latest_vs_previous       2024   0.06               increase
    1           A     latest_vs_first       2023   0.10               increase
    2           B  latest_vs_previous       2024  -0.04               decrease
    3           B     latest_vs_first       2023  -0.01  no_significant_change
    """
    _check_table(table, wave)
    confidence = _check_confidence(confidence)
    keys = _units(table, by, wave)
    comparisons = [against] if isinstance(against, (str, int)) else list(against)
    if not comparisons:
        raise ValueError("against must name at least one earlier wave: 'previous', 'first' "
                         "or a wave such as 2023.")
    if table[wave].isna().any():
        i = int(np.argmax(table[wave].isna().to_numpy()))
        raise ValueError(f"Column {wave!r} has a missing value in row {table.index[i]!r}.")
    waves = table[wave].to_numpy()
    for a in comparisons:
        if a not in ("previous", "first") and not (waves == a).any():
            raise ValueError(f"against takes 'previous', 'first' or a wave in column {wave!r}; "
                             f"got {a!r}.")
    se, source = _standard_errors(table)
    u, unit_keys = _unit_codes(table, keys)
    dup = pd.DataFrame({"u": u, "w": waves}).duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise ValueError(f"The table has more than one row for {wave} {table[wave].iloc[i]} of the "
                         f"same unit (row {table.index[i]!r}); pass by= naming every column "
                         "that identifies a series, or keep one confidence level.")
    value = pd.to_numeric(table["value"]).to_numpy(dtype=float, na_value=np.nan)
    n_units = len(unit_keys)
    order = np.lexsort((pd.factorize(waves, sort=True)[0], u))  # by unit, then wave
    us = u[order]
    start = np.searchsorted(us, np.arange(n_units), side="left")
    end = np.searchsorted(us, np.arange(n_units), side="right") - 1
    last, first = order[end], order[start]
    prev = np.where(end > start, order[np.maximum(end - 1, 0)], -1)
    has_n = "n" in table.columns
    n_col = pd.to_numeric(table["n"]).to_numpy(dtype=float) if has_n else None
    z_crit = special.ndtri(0.5 + confidence / 2)
    parts = []
    for pos, a in enumerate(comparisons):
        if a == "previous":
            src, name = prev, "latest_vs_previous"
        elif a == "first":
            src, name = np.where(end > start, first, -1), "latest_vs_first"
        else:
            src = np.full(n_units, -1)
            hit = np.flatnonzero(waves == a)
            src[u[hit]] = hit
            src = np.where(src == last, -1, src)
            name = f"latest_vs_{a}"
        ok = src >= 0
        s = np.where(ok, src, 0)
        v_from = np.where(ok, value[s], np.nan)
        se_from = np.where(ok, se[s], np.nan)
        diff = value[last] - v_from
        se_d = np.sqrt(se[last] ** 2 + se_from**2)
        z, p = _z_test(diff, se_d)
        lower, upper = diff - z_crit * se_d, diff + z_crit * se_d
        part = unit_keys.copy()
        part["comparison"] = name
        part[f"{wave}_from"] = _take(table[wave], s, ok)
        part[f"{wave}_to"] = _take(table[wave], last, np.ones(n_units, bool))
        part["value_from"], part["value_to"] = v_from, value[last]
        part["value"], part["se"], part["lower"], part["upper"] = diff, se_d, lower, upper
        part["confidence"] = confidence
        part["statistic"] = "difference"
        part["method"] = ("wald, independent waves" if source == "se"
                          else "wald, independent waves, se from interval width")
        part["z"], part["p_value"] = z, p
        part["label"] = _label(diff, lower, upper)
        if has_n:
            part["n_from"] = np.where(ok, n_col[s], np.nan)
            part["n_to"] = n_col[last]
        part["__unit"], part["__pos"] = np.arange(n_units), pos
        parts.append(part)
    out = pd.concat(parts, ignore_index=True).sort_values(["__unit", "__pos"], kind="stable")
    return out.drop(columns=["__unit", "__pos"]).reset_index(drop=True)


def _take(col: pd.Series, idx: np.ndarray, ok: np.ndarray) -> pd.Series:
    """Values of ``col`` at positions ``idx``, missing where not ``ok``; integers stay
    integers (nullable) so that years print as 2024, not 2024.0."""
    vals = col.iloc[idx].reset_index(drop=True)
    if pd.api.types.is_integer_dtype(vals.dtype):
        vals = vals.astype("Int64")
    return vals.where(pd.Series(ok), pd.NA if vals.dtype == "Int64" else None)


# --- linear trend over waves -------------------------------------------------------------

def linear_trend(table: pd.DataFrame, *, by: Columns = None, wave: str = "year",
                 confidence: float = 0.95) -> pd.DataFrame:
    """Linear trend of every unit's estimates over the waves, with a design-based SE.

    The design-aware alternative to :func:`cochran_armitage` for weighted survey data: fit a
    straight line to the wave estimates (each with its design-based standard error) by
    inverse-variance weighted least squares, and test its slope.

    Method: with waves :math:`s_t`, estimates :math:`\\hat\\theta_t` and weights
    :math:`w_t = 1/\\mathrm{se}_t^2`, :math:`\\bar s = \\sum w_t s_t / \\sum w_t` and
    :math:`S = \\sum w_t (s_t - \\bar s)^2`,

    .. math:: \\hat b = \\sum_t w_t (s_t - \\bar s)\\,\\hat\\theta_t / S, \\qquad
              \\mathrm{se}(\\hat b) = 1/\\sqrt{S},

    the generalised-least-squares slope when the wave estimates are independent (separate
    samples; see the module notes) with known variances; Wald interval and z test with the
    normal quantile.  The standard error reflects sampling error only; departures from a
    straight line are not added.  With two waves the z statistic equals that of
    :func:`change_between_waves`.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit and wave with the wave column, ``value`` and ``se`` (or ``lower``,
        ``upper`` and ``confidence``; see :func:`change_between_waves`).
    by : str or list of str, optional
        Columns that identify a series; default as in :func:`change_between_waves`.
    wave : str
        Numeric wave column (the slope is per unit of it: per year for ``year``).
    confidence : float
        Confidence level, as a fraction.

    Returns
    -------
    pandas.DataFrame
        The unit keys, then ``value`` (the slope), ``se``, ``lower``, ``upper``,
        ``confidence``, ``statistic`` (``slope per <wave>``), ``method``, ``z``,
        ``p_value``, ``label`` (``increase``, ``no_significant_change``, ``decrease``),
        ``n_waves`` (waves used), ``<wave>_first`` and ``<wave>_last``.  Rows whose value or
        se is missing are skipped (a wave without an estimate); a unit with fewer than two
        waves left, or with a wave whose se is 0 (such as a rate of 100% in a small
        sample, which would get infinite weight), gets NaN.

    Examples
    --------
    >>> t = pd.DataFrame({"year": [2023, 2024, 2025], "value": [0.80, 0.84, 0.90],
    ...                   "se": [0.02, 0.02, 0.02]})
    >>> res = linear_trend(t)
    >>> res[["value", "se", "label", "n_waves"]].round(4)
       value      se     label  n_waves
    0   0.05  0.0141  increase        3
    """
    _check_table(table, wave)
    confidence = _check_confidence(confidence)
    keys = _units(table, by, wave)
    if not pd.api.types.is_numeric_dtype(table[wave]):
        raise ValueError(f"Column {wave!r} must be numeric for a linear trend; it has dtype "
                         f"{table[wave].dtype}.")
    se, source = _standard_errors(table)
    u, unit_keys = _unit_codes(table, keys)
    value = pd.to_numeric(table["value"]).to_numpy(dtype=float, na_value=np.nan)
    s = table[wave].to_numpy(dtype=float, na_value=np.nan)
    use = np.isfinite(value) & np.isfinite(se) & np.isfinite(s)
    origin = float(np.min(s[use])) if use.any() else 0.0
    s = s - origin  # 0, 1, 2 rather than 2023, 2024, 2025: no cancellation in s - mean
    n_units = len(unit_keys)
    zero_se = np.bincount(u[use], weights=(se[use] <= 0), minlength=n_units) > 0
    use &= se > 0
    uu, w, su, vu = u[use], 1 / se[use] ** 2, s[use], value[use]
    with np.errstate(divide="ignore", invalid="ignore"):
        w_tot = np.bincount(uu, weights=w, minlength=n_units)
        s_bar = np.bincount(uu, weights=w * su, minlength=n_units) / w_tot
        dev = su - s_bar[uu]
        sxx = np.bincount(uu, weights=w * dev**2, minlength=n_units)
        slope = np.bincount(uu, weights=w * dev * vu, minlength=n_units) / sxx
        se_b = 1 / np.sqrt(sxx)
    n_waves = np.bincount(uu, weights=np.ones(len(uu)), minlength=n_units).astype(np.int64)
    bad = zero_se | ~(sxx > 0)
    slope, se_b = np.where(bad, np.nan, slope), np.where(bad, np.nan, se_b)
    z, p = _z_test(slope, se_b)
    z_crit = special.ndtri(0.5 + confidence / 2)
    lower, upper = slope - z_crit * se_b, slope + z_crit * se_b
    first = np.full(n_units, np.nan)
    last = np.full(n_units, np.nan)
    np.fmin.at(first, uu, su)
    np.fmax.at(last, uu, su)
    out = unit_keys.copy()
    out["value"], out["se"], out["lower"], out["upper"] = slope, se_b, lower, upper
    out["confidence"] = confidence
    out["statistic"] = f"slope per {wave}"
    out["method"] = ("inverse-variance weighted least squares, independent waves"
                     + ("" if source == "se" else ", se from interval width"))
    out["z"], out["p_value"] = z, p
    out["label"] = _label(slope, lower, upper)
    out["n_waves"] = n_waves
    out[f"{wave}_first"], out[f"{wave}_last"] = first + origin, last + origin
    return out


# --- Cochran-Armitage --------------------------------------------------------------------

def cochran_armitage(data: pd.DataFrame | None, x: str | Sequence[float] | np.ndarray,
                     n: str | Sequence[float] | np.ndarray, *,
                     score: str | Sequence[float] | np.ndarray | None = None,
                     by: Columns = None) -> pd.DataFrame:
    """Chi-squared test for trend in proportions (Cochran-Armitage), as R's ``prop.trend.test``.

    Call it to test whether a proportion rises or falls across ordered categories (waves,
    age bands, station levels 1.0/2.0/3.0) from counts, for every county at once.

    Method (Armitage [1]_, Cochran [2]_; R's ``prop.trend.test`` [3]_, which computes it as
    the regression sum of squares of ``lm(x/n ~ score, weights = n / (p (1 - p)))``): with
    :math:`p = \\sum x_i / \\sum n_i` and :math:`\\bar s = \\sum n_i s_i / \\sum n_i`,

    .. math:: X^2 = \\frac{\\big[\\sum_i x_i (s_i - \\bar s)\\big]^2}
                         {p (1 - p) \\sum_i n_i (s_i - \\bar s)^2}
              \\sim \\chi^2_1 .

    ``slope`` is :math:`\\sum x_i (s_i - \\bar s) / \\sum n_i (s_i - \\bar s)^2`, the
    n-weighted least-squares slope of :math:`x_i / n_i` on the score: its sign gives the
    direction of the trend.

    With weighted survey data the test on unweighted counts is only approximate: it ignores
    the weights (the proportions are not the population's) and the clustering (the variance
    is too small when answers cluster within villages, so p-values are too small).  For survey
    estimates prefer :func:`linear_trend` on design-based estimates per wave; a rough
    alternative is to pass effective counts, ``x = p_hat * n_eff`` and ``n = n_eff``.

    Parameters
    ----------
    data : pandas.DataFrame or None
        One row per group and ordered category, or None when ``x`` and ``n`` are arrays
        (one test, as R's ``prop.trend.test(x, n, score)``).
    x, n : str or array-like
        Column names (or arrays): cases and trials of each category.
    score : str or array-like, optional
        Score of each category (such as the year).  Default 1, 2, ..., k in row order within
        each group, as R's ``seq_along(x)``.
    by : str or list of str, optional
        Grouping columns; one test per group.  Rows with a missing key are left out.

    Returns
    -------
    pandas.DataFrame
        The ``by`` keys, then ``value`` (the chi-squared statistic), ``df`` (1), ``p_value``,
        ``statistic`` (``chi_squared``), ``method`` (``cochran_armitage``), ``slope``, ``x``
        and ``n`` (totals) and ``k`` (categories with ``n > 0``).  The statistic is NaN when
        it is undefined: every proportion 0 or every one 1 (R stops there), or a single
        score among categories with cases.

    Examples
    --------
    R's own example (``?prop.trend.test``): smokers among lung-cancer patients by age group.

    >>> res = cochran_armitage(None, [83, 90, 129, 70], [86, 93, 136, 82])
    >>> res[["value", "df", "p_value"]].round(6)
          value  df   p_value
    0  8.224922   1  0.004132
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ValueError(f"Data must be a pandas DataFrame or None; got {type(data).__name__}.")
    if data is None:
        for arg, val in (("x", x), ("n", n), ("score", score)):
            if isinstance(val, str):
                raise ValueError(f"{arg} must be an array when data is None; pass a DataFrame "
                                 "to refer to columns by name.")
        if by is not None:
            raise ValueError("by needs a DataFrame; pass data to test several groups.")
        xa = _as_numbers(np.asarray(x).ravel(), "x", None)
        na = _as_numbers(np.asarray(n).ravel(), "n", None)
        if xa.size != na.size:
            raise ValueError(f"x and n must have the same length; got {xa.size} and {na.size}.")
        frame = pd.DataFrame({"x": xa, "n": na})
        if score is not None:
            sc = np.asarray(score, dtype=float).ravel()
            if sc.size != len(frame):
                raise ValueError(f"score must have one value per category ({len(frame)}); "
                                 f"got {sc.size}.")
            frame["score"] = sc
        return cochran_armitage(frame, "x", "n", score=None if score is None else "score")
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    for arg, cols in (("x", [x]), ("n", [n]), ("score", [] if score is None else [score]),
                      ("by", keys)):
        for col in cols:
            if not isinstance(col, str):
                raise ValueError(f"{arg} must be a column name when data is given.")
            if col not in data.columns:
                raise ValueError(f"Column {col!r} given as {arg} is not in the data.")
    rows = data.index
    xs = _as_numbers(data[x], x, rows)
    ns = _as_numbers(data[n], n, rows)
    for vals, col in ((xs, x), (ns, n)):
        if np.isnan(vals).any():
            i = int(np.argmax(np.isnan(vals)))
            raise ValueError(f"Column {col!r} has a missing value in row {rows[i]!r}; every "
                             "category needs a count.")
    _check_not_negative(xs, rows, x, "Counts")
    _check_not_negative(ns, rows, n, "Counts")
    _check_not_above(xs, ns, rows, x, n)
    if keys:
        grouped = data.groupby(keys, sort=True, dropna=True, observed=True)
        g = grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64)
        out = grouped.size().index.to_frame(index=False)
    else:
        g, out = np.zeros(len(data), np.int64), pd.DataFrame(index=range(1))
    if score is None:
        sc = pd.Series(g).groupby(g).cumcount().to_numpy(dtype=float) + 1
    else:
        sc = _as_numbers(data[score], score, rows)
        if not np.isfinite(sc).all():
            i = int(np.argmax(~np.isfinite(sc)))
            raise ValueError(f"Column {score!r} given as score must hold a finite number in "
                             f"every row; row {rows[i]!r} has {data[score].iloc[i]}.")
    use = g >= 0
    g, xs, ns, sc = g[use], xs[use], ns[use], sc[use]
    k_groups = len(out)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_tot = np.bincount(g, weights=ns, minlength=k_groups)
        x_tot = np.bincount(g, weights=xs, minlength=k_groups)
        p = x_tot / n_tot
        s_bar = np.bincount(g, weights=ns * sc, minlength=k_groups) / n_tot
        dev = sc - s_bar[g]
        sxx = np.bincount(g, weights=ns * dev**2, minlength=k_groups)
        t = np.bincount(g, weights=xs * dev, minlength=k_groups)
        # scores that do not vary among categories with trials leave no trend to test
        lo, hi = np.full(k_groups, np.inf), np.full(k_groups, -np.inf)
        np.minimum.at(lo, g[ns > 0], sc[ns > 0])
        np.maximum.at(hi, g[ns > 0], sc[ns > 0])
        varies = (hi > lo) & (sxx > 0)
        chisq = t**2 / (p * (1 - p) * sxx)
        chisq = np.where((p > 0) & (p < 1) & varies, chisq, np.nan)
        slope = np.where(varies, t / sxx, np.nan)
    out["value"] = chisq
    out["df"] = 1
    from scipy import stats

    out["p_value"] = stats.chi2.sf(chisq, 1)
    out["statistic"] = "chi_squared"
    out["method"] = "cochran_armitage"
    out["slope"] = slope
    out["x"], out["n"] = x_tot, n_tot
    out["k"] = np.bincount(g[ns > 0], minlength=k_groups).astype(np.int64)
    return out


def se_from_interval(lower, upper, confidence):
    """The standard error implied by an interval, as half its width over the normal quantile.

    Wilson and Poisson intervals carry no standard error; a test of change between waves that needs one
    takes it from the interval.

    Parameters
    ----------
    lower, upper : float, ndarray or Series
        The interval's limits.
    confidence : float or array-like
        Its confidence level, a fraction (0.95).

    Returns
    -------
    float, ndarray or Series
        :math:`(upper - lower) / (2 z)`, with :math:`z = \\Phi^{-1}(1/2 + confidence/2)`.

    Notes
    -----
    Exact for a symmetric normal interval; for an asymmetric one (Wilson, Poisson) it is the standard
    error of the normal interval of the same width.

    Examples
    --------
    >>> round(float(se_from_interval(0.4, 0.6, 0.95)), 6)
    0.051021
    """
    z = special.ndtri(0.5 + np.asarray(confidence, dtype=float) / 2)
    return (upper - lower) / (2 * z)
