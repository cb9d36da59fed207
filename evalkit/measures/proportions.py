"""Proportions with confidence intervals (Wilson, Clopper-Pearson, Jeffreys).

One call computes every row at once.  Results are tidy and *long*: with several
confidence levels each input row gives one output row per level, in input order
with the levels inner (row 1 at 0.95, row 1 at 0.998, row 2 at 0.95, ...).
Pivot on ``confidence`` for a wide table.

The argument checks and the long-layout builder shared with the other
measures are in :mod:`evalkit.measures._shared`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

# scipy.stats is imported only where a distribution other than the normal is needed: importing it
# costs most of a second, which every report's kernel would pay (_shared.normal_quantiles uses special.ndtri)
from ._shared import (  # imported under private names: not re-exported
    check_method as _check_method,
    check_not_above as _check_not_above,
    check_not_negative as _check_not_negative,
    check_positive as _check_positive,
    confidence_levels as _confidence_levels,
    long_frame as _long_frame,
    normal_quantiles as _z,
    proportion_statistic as _proportion_statistic,
    ratio_inputs as _inputs,
)

__all__ = ["proportion"]

OUTPUT_COLUMNS = (
    "n",
    "denominator",
    "value",
    "lower",
    "upper",
    "confidence",
    "statistic",
    "method",
)

_METHODS = {"wilson": "Wilson", "clopper-pearson": "Clopper-Pearson", "jeffreys": "Jeffreys"}


def proportion(
    data: pd.DataFrame | None,
    numerator: str | Sequence[float] | np.ndarray,
    denominator: str | Sequence[float] | np.ndarray,
    *,
    method: Literal["wilson", "clopper-pearson", "jeffreys"] = "wilson",
    confidence: float | Sequence[float] = 0.95,
    multiplier: float = 1,
) -> pd.DataFrame:
    """Proportion of a denominator with a confidence interval, for every row at once.

    Call it for any "x out of n" indicator (coverage, satisfaction, uptake):
    each row of ``data`` is one area or group, and the result says how each
    number was made.

    Parameters
    ----------
    data : DataFrame or None
        One row per area or group.  All columns other than ``numerator`` and
        ``denominator`` are passed through as keys.  ``None`` when
        ``numerator`` and ``denominator`` are arrays.
    numerator, denominator : str or array-like
        Column names in ``data`` (or arrays of equal length): the count with
        the condition and the count of the group.
    method : {"wilson", "clopper-pearson", "jeffreys"}, default "wilson"
        Interval method; Wilson is the PHE/Fingertips standard [5]_.
    confidence : float or sequence of float, default 0.95
        Two-sided confidence level(s) as fractions, such as 0.95 and 0.998.
    multiplier : float, default 1
        Scale of ``value``, ``lower`` and ``upper`` (100 gives percentages).

    Returns
    -------
    DataFrame
        The key columns, then ``n`` (numerator), ``denominator``, ``value``,
        ``lower``, ``upper``, ``confidence`` (fraction), ``statistic``
        (``"proportion of 1"``, ``"percentage"`` or ``"proportion of <m>"``,
        as PHEindicatormethods labels them) and ``method``.  Long layout: one
        row per input row and confidence level, levels inner.

    Raises
    ------
    ValueError
        If a numerator or denominator is negative, a numerator exceeds its
        denominator, a confidence level is not strictly between 0 and 1, the
        multiplier is not positive or the method is unknown.

    Notes
    -----
    With ``x`` cases out of ``n``, ``p = x / n`` and ``z`` the standard normal
    quantile at ``1 - (1 - confidence) / 2``:

    * Wilson score [1]_, [2]_ (PHE form [5]_):
      ``(2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``.
    * Clopper-Pearson exact [3]_: ``lower = B(a/2; x, n - x + 1)``,
      ``upper = B(1 - a/2; x + 1, n - x)``, ``B`` the beta quantile and
      ``a = 1 - confidence``.
    * Jeffreys [4]_: ``B(a/2; x + 1/2, n - x + 1/2)`` and
      ``B(1 - a/2; x + 1/2, n - x + 1/2)``.

    Edge cases: ``x = 0`` gives ``lower = 0`` and ``x = n`` gives
    ``upper = 1`` exactly, for every method (the Wilson formula gives these
    bounds up to rounding; the beta-based methods are set to them, following
    [3]_ and [4]_).  A missing numerator or denominator gives missing value and limits,
    and so does a zero denominator (0 out of 0 is undefined, not an error, so
    one empty group does not stop a batch).  Non-integer counts (weighted or
    modelled) are accepted.  Nothing is rounded.

    References
    ----------
    .. [1] Wilson EB. Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 1927;22:209-212.
       doi:10.1080/01621459.1927.10502953
    .. [2] Newcombe RG. Two-sided confidence intervals for the single
       proportion: comparison of seven methods. Stat Med 1998;17:857-872.
       doi:10.1002/(SICI)1097-0258(19980430)17:8<857::AID-SIM777>3.0.CO;2-E
    .. [3] Clopper CJ, Pearson ES. The use of confidence or fiducial limits
       illustrated in the case of the binomial. Biometrika 1934;26:404-413.
       doi:10.1093/biomet/26.4.404
    .. [4] Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial
       proportion. Stat Sci 2001;16:101-133. doi:10.1214/ss/1009213286
    .. [5] Public Health England. Technical Guide: Confidence intervals.
       Fingertips, PHE; 2018 (and PHEindicatormethods ``phe_proportion``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": ["A", "B"], "x": [65, 0], "n": [100, 20]})
    >>> out = proportion(df, "x", "n", confidence=[0.95, 0.998])
    >>> out[["area", "value", "lower", "upper", "confidence"]].round(4)
      area  value   lower   upper  confidence
    0    A   0.65  0.5525  0.7364       0.950
    1    A   0.65  0.4955  0.7784       0.998
    2    B   0.00  0.0000  0.1611       0.950
    3    B   0.00  0.0000  0.3232       0.998
    """
    _check_method(method, _METHODS)
    levels = _confidence_levels(confidence)
    _check_positive(multiplier, "Multiplier")
    keys, x, n, rows, names = _inputs(data, numerator, denominator)
    _check_not_negative(x, rows, names[0], "Numerators")
    _check_not_negative(n, rows, names[1], "Denominators")
    _check_not_above(x, n, rows, *names)
    return _long_frame(keys, levels, proportion_columns(x, n, levels, method, multiplier))


def proportion_columns(x: np.ndarray, n: np.ndarray, levels: np.ndarray, method: str = "wilson",
                       multiplier: float = 1) -> dict[str, object]:
    """The columns of :func:`proportion` for checked numerators and denominators, as arrays
    (per row, or per row and level) and scalars: what :func:`_long_frame` lays out."""
    label = _METHODS[method]
    z = _z(levels)[None, :]
    alpha = (1 - levels)[None, :]
    xs, ns = x[:, None], n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wilson":
            lower, upper = _wilson(xs, ns, z)
        else:
            shift = 0.5 if method == "jeffreys" else 0.0
            a_low = np.where(xs > 0, xs + shift, 1.0)
            b_up = np.where(xs < ns, ns - xs + shift, 1.0)
            from scipy import stats

            lower = stats.beta.ppf(alpha / 2, a_low, ns - xs + 1 - shift)
            upper = stats.beta.ppf(1 - alpha / 2, xs + 1 - shift, b_up)
        lower = np.where(xs == 0, 0.0, lower)
        upper = np.where(xs == ns, 1.0, upper)
        value = x / n
    undefined = np.isnan(x) | np.isnan(n) | (n == 0)
    value = np.where(undefined, np.nan, value) * multiplier
    lower = np.where(undefined[:, None], np.nan, lower) * multiplier
    upper = np.where(undefined[:, None], np.nan, upper) * multiplier
    return {
        "n": x,
        "denominator": n,
        "value": value,
        "lower": lower,
        "upper": upper,
        "statistic": _proportion_statistic(multiplier),
        "method": label,
    }


def _wilson(x: np.ndarray, n: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits for ``x`` out of ``n`` at normal quantile ``z``."""
    centre = 2 * x + z**2
    half = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
    scale = 2 * (n + z**2)
    return (centre - half) / scale, (centre + half) / scale
