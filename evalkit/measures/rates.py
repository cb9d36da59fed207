"""Crude rates with confidence intervals: exact Poisson below 10 events, Byar's from 10.

Long layout, as in :mod:`evalkit.measures.proportions`: one output row per input
row and confidence level, levels inner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._shared import (  # imported under private names: not re-exported
    check_not_negative as _check_not_negative,
    check_positive as _check_positive,
    confidence_levels as _confidence_levels,
    ratio_inputs as _inputs,
    long_frame as _long_frame,
    number_label as _number_label,
    normal_quantiles as _z,
)

__all__ = ["rate"]

#: Event counts below this use the exact Poisson interval; from it, Byar's method.
BYAR_THRESHOLD = 10


def rate(
    data: pd.DataFrame | None,
    numerator: str | Sequence[float] | np.ndarray,
    denominator: str | Sequence[float] | np.ndarray,
    *,
    per: float = 1000,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Rate of events per ``per`` of a denominator, with a Poisson confidence interval.

    Call it for counts of events in a population or person-time (service
    contacts per 1,000 residents, cases per 100,000): the interval is exact
    Poisson below 10 events and Byar's approximation from 10, as PHE does.

    Parameters
    ----------
    data : DataFrame or None
        One row per area or group; all other columns are passed through as keys.
        ``None`` when ``numerator`` and ``denominator`` are arrays.
    numerator, denominator : str or array-like
        Column names in ``data`` (or arrays): event counts and the population or
        person-time at risk.
    per : float, default 1000
        Rate multiplier, such as 1_000, 10_000 or 100_000; any positive number.
    confidence : float or sequence of float, default 0.95
        Two-sided confidence level(s) as fractions, such as 0.95 and 0.998.

    Returns
    -------
    DataFrame
        The key columns, then ``n`` (events), ``denominator``, ``value``,
        ``lower``, ``upper``, ``confidence``, ``statistic`` (``"rate per
        <per>"``) and ``method`` (``"Exact"`` or ``"Byars"``, the labels
        PHEindicatormethods uses; missing when the count is missing).  Long
        layout: one row per input row and confidence level, levels inner.

    Raises
    ------
    ValueError
        If a count or denominator is negative, ``per`` is not positive or a
        confidence level is not strictly between 0 and 1.

    Notes
    -----
    With ``O`` events, denominator ``N``, ``a = 1 - confidence`` and ``z`` the
    standard normal quantile at ``1 - a/2``, the limits for the count are

    * exact Poisson [2]_ when ``O < 10``: ``chi2(a/2; 2O) / 2`` and
      ``chi2(1 - a/2; 2O + 2) / 2`` (``chi2`` the chi-square quantile; the
      lower limit is 0 when ``O = 0``);
    * Byar's approximation [1]_ when ``O >= 10``:
      ``O (1 - 1/(9O) - z/(3 sqrt(O)))^3`` and
      ``(O + 1) (1 - 1/(9(O + 1)) + z/(3 sqrt(O + 1)))^3``;

    and the rate limits are these divided by ``N`` and multiplied by ``per``
    [3]_.  The threshold of 10 events is PHE's [3]_.  A zero denominator gives
    missing value and limits rather than an error.  Nothing is rounded.

    References
    ----------
    .. [1] Breslow NE, Day NE. Statistical methods in cancer research, volume
       II: The design and analysis of cohort studies. Lyon: IARC; 1987
       (Byar's approximation, p. 69).
    .. [2] Armitage P, Berry G, Matthews JNS. Statistical methods in medical
       research (4th edn). Oxford: Blackwell; 2002.
    .. [3] Public Health England. Technical Guide: Confidence intervals.
       Fingertips, PHE; 2018 (and PHEindicatormethods ``phe_rate``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": ["A", "B"], "events": [5, 65], "pop": [100, 100]})
    >>> out = rate(df, "events", "pop", per=100)
    >>> out[["area", "value", "lower", "upper", "method"]].round(4)
      area  value    lower    upper method
    0    A    5.0   1.6235  11.6683  Exact
    1    B   65.0  50.1632  82.8491  Byars
    """
    levels = _confidence_levels(confidence)
    _check_positive(per, "The rate multiplier per")
    keys, x, n, rows, names = _inputs(data, numerator, denominator)
    _check_not_negative(x, rows, names[0], "Numerators")
    _check_not_negative(n, rows, names[1], "Denominators")
    return _long_frame(keys, levels, rate_columns(x, n, levels, per))


def rate_columns(x: np.ndarray, n: np.ndarray, levels: np.ndarray,
                 per: float) -> dict[str, object]:
    """The columns of :func:`rate` for checked counts and denominators, as arrays (per row, or
    per row and level) and scalars: what ``proportions._long_frame`` lays out."""
    lower, upper = _count_limits(x, levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n == 0, np.nan, per / n)
    method = np.where(np.isnan(x), None, np.where(x < BYAR_THRESHOLD, "Exact", "Byars"))
    return {
        "n": x,
        "denominator": n,
        "value": x * scale,
        "lower": lower * scale[:, None],
        "upper": upper * scale[:, None],
        "statistic": f"rate per {_number_label(per)}",
        "method": method,
    }


def _count_limits(x: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits for Poisson counts ``x``; shape ``(rows, levels)``."""
    xs = x[:, None]
    alpha = (1 - levels)[None, :]
    z = _z(levels)[None, :]
    exact = x < BYAR_THRESHOLD
    xe = xs[exact]  # the gamma quantiles only where they are used: they are slow
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = xs * (1 - 1 / (9 * xs) - z / (3 * np.sqrt(xs))) ** 3
        upper = (xs + 1) * (1 - 1 / (9 * (xs + 1)) + z / (3 * np.sqrt(xs + 1))) ** 3
        lower[exact] = np.where(xe > 0, stats.gamma.ppf(alpha / 2, np.where(xe > 0, xe, 1.0)), 0.0)
        upper[exact] = stats.gamma.ppf(1 - alpha / 2, xe + 1)
    missing = np.isnan(xs)
    return np.where(missing, np.nan, lower), np.where(missing, np.nan, upper)
