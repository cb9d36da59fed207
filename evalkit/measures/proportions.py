"""Proportions with confidence intervals (Wilson, Clopper-Pearson, Jeffreys).

One call computes every row at once.  Results are tidy and *long*: with several
confidence levels each input row gives one output row per level, in input order
with the levels inner (row 1 at 0.95, row 1 at 0.998, row 2 at 0.95, ...).
Pivot on ``confidence`` for a wide table.

The small private helpers at the bottom (argument checks and the long-layout
builder) are shared by :mod:`evalkit.measures.rates` and
:mod:`evalkit.measures.compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
# scipy.stats is imported only where a distribution other than the normal is needed: importing it
# costs most of a second, which every report's kernel would pay (special.ndtri is what norm.ppf calls)
from scipy import special

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
    return _long_frame(keys, levels, _proportion_columns(x, n, levels, method, multiplier))


def _proportion_columns(x: np.ndarray, n: np.ndarray, levels: np.ndarray, method: str = "wilson",
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


def _proportion_statistic(multiplier: float) -> str:
    if multiplier == 100:
        return "percentage"
    return f"proportion of {_number_label(multiplier)}"


# --- helpers shared by the measures modules -----------------------------------------


def _number_label(number: float) -> str:
    """``100000`` for 1e5, ``2.5`` for 2.5: how a scale appears in a label."""
    number = float(number)
    return str(int(number)) if number.is_integer() else repr(number)


def _confidence_levels(confidence: float | Sequence[float]) -> np.ndarray:
    """Confidence levels as a 1-d float array, each strictly between 0 and 1."""
    try:
        levels = np.atleast_1d(np.asarray(confidence, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(
            "Confidence must be a fraction or a list of fractions, such as 0.95 or "
            f"[0.95, 0.998]; got {confidence!r}."
        ) from None
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            "Confidence must be a fraction or a list of fractions, such as 0.95 or "
            f"[0.95, 0.998]; got {confidence!r}."
        )
    bad = levels[~((levels > 0) & (levels < 1))]
    if bad.size:
        raise ValueError(
            "Confidence must be a fraction strictly between 0 and 1, such as 0.95 "
            f"or 0.998; got {bad[0]:g}."
        )
    return levels


def _z(levels: np.ndarray) -> np.ndarray:
    """Two-sided standard normal quantiles for confidence levels."""
    return special.ndtri(1 - (1 - levels) / 2)


def _check_method(method: str, allowed: dict[str, str], what: str = "Method") -> str:
    if method not in allowed:
        names = [f"'{m}'" for m in allowed]
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise ValueError(f"{what} must be one of {listed}; got {method!r}.")
    return allowed[method]


def _check_positive(number: float, what: str) -> None:
    try:
        ok = bool(np.isfinite(number) and number > 0)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{what} must be a positive number, such as 100; got {number!r}.")


def _as_numbers(values: object, name: str, rows: pd.Index | None) -> np.ndarray:
    if isinstance(values, (pd.Series, np.ndarray)) and values.ndim == 1 and isinstance(
            values.dtype, np.dtype) and values.dtype.kind in "fiub":  # numbers already
        return np.asarray(values, dtype=float)
    series = pd.Series(values).reset_index(drop=True)
    numbers = pd.to_numeric(series, errors="coerce")
    wrong = numbers.isna() & series.notna()
    if wrong.any():
        i = int(np.flatnonzero(wrong.to_numpy())[0])
        row = rows[i] if rows is not None else i
        raise ValueError(
            f"Column '{name}' must hold numbers; row {row} has {series.iloc[i]!r}."
        )
    return numbers.to_numpy(dtype=float)


def _inputs(
    data: pd.DataFrame | None, numerator: object, denominator: object
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.Index, tuple[str, str]]:
    """Key columns, float numerator and denominator, row labels and the two names."""
    if data is None:
        if isinstance(numerator, str) or isinstance(denominator, str):
            raise ValueError(
                "Numerator and denominator must be arrays when data is None; "
                "pass a DataFrame to refer to columns by name."
            )
        x = _as_numbers(np.asarray(numerator).ravel(), "numerator", None)
        n = _as_numbers(np.asarray(denominator).ravel(), "denominator", None)
        if x.size != n.size:
            raise ValueError(
                f"Numerator and denominator must have the same length; got {x.size} "
                f"and {n.size}."
            )
        rows = pd.RangeIndex(x.size)
        return pd.DataFrame(index=rows), x, n, rows, ("numerator", "denominator")
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"Data must be a pandas DataFrame or None; got {type(data).__name__}.")
    columns = [c for c in (numerator, denominator) if isinstance(c, str)]
    if len(columns) != 2:
        raise ValueError("Numerator and denominator must be column names when data is given.")
    for column in columns:
        if column not in data.columns:
            raise ValueError(
                f"Column '{column}' is not in data; the columns are "
                f"{', '.join(map(str, data.columns))}."
            )
    rows = data.index
    x = _as_numbers(data[numerator], str(numerator), rows)
    n = _as_numbers(data[denominator], str(denominator), rows)
    keys = data.drop(columns=columns).reset_index(drop=True)
    return keys, x, n, rows, (str(numerator), str(denominator))


def _first_bad(mask: np.ndarray, rows: pd.Index) -> tuple[object, int]:
    i = int(np.flatnonzero(mask)[0])
    return rows[i], i


def _check_not_negative(values: np.ndarray, rows: pd.Index, name: object, what: str) -> None:
    bad = values < 0
    if bad.any():
        row, i = _first_bad(bad, rows)
        raise ValueError(
            f"{what} must be greater than or equal to zero; column '{name}' has "
            f"{values[i]:g} in row {row}."
        )


def _check_not_above(
    x: np.ndarray, n: np.ndarray, rows: pd.Index, numerator: object, denominator: object
) -> None:
    bad = x > n
    if bad.any():
        row, i = _first_bad(bad, rows)
        raise ValueError(
            "Numerators must be less than or equal to denominators for a proportion; "
            f"row {row} has {x[i]:g} in '{numerator}' and {n[i]:g} in '{denominator}'."
        )


def _long_frame(
    keys: pd.DataFrame,
    levels: np.ndarray | None,
    columns: dict[str, object],
    *,
    confidence_after: str = "upper",
) -> pd.DataFrame:
    """Key columns repeated once per confidence level, then the measure columns.

    Each column value may be a scalar, a per-row array of shape ``(rows,)`` or a
    per-row-and-level array of shape ``(rows, levels)``.  The ``confidence``
    column is placed after ``confidence_after``.  With ``levels=None`` the
    result has one row per key row and no ``confidence`` column.
    """
    added = set(columns) | ({"confidence"} if levels is not None else set())
    clash = [c for c in keys.columns if c in added]
    if clash:
        raise ValueError(
            f"Data already has a column named '{clash[0]}'; rename it, because the "
            "result adds a column of that name."
        )
    k = 1 if levels is None else levels.size
    out = keys.loc[keys.index.repeat(k)] if k > 1 else keys
    out = out.reset_index(drop=True)
    # made into a frame at once: adding columns one by one is slow
    added = _long_columns(len(keys), levels, columns, confidence_after=confidence_after)
    return pd.concat([out, pd.DataFrame(added, index=out.index)], axis=1)


def _long_columns(
    rows: int,
    levels: np.ndarray | None,
    columns: dict[str, object],
    *,
    confidence_after: str = "upper",
) -> dict[str, object]:
    """The measure columns of :func:`_long_frame` for ``rows`` key rows, as arrays (one value
    per row and level, levels inner) or scalars."""
    k = 1 if levels is None else levels.size
    added: dict[str, object] = {}
    for name, values in columns.items():
        if np.ndim(values) == 0:
            added[name] = values
        else:
            values = np.asarray(values)
            added[name] = values.reshape(-1) if values.ndim == 2 else np.repeat(values, k)
        if levels is not None and name == confidence_after:
            added["confidence"] = np.tile(levels, rows)
    return added


def _numbers(frame: pd.DataFrame, column: str, table: str | None = None) -> np.ndarray:
    """A column as floats (missing stays NaN); a value that is not a number is an error naming its row."""
    series = frame[column]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiub":  # numbers already
        return series.to_numpy(dtype=float)
    numbers = pd.to_numeric(series, errors="coerce")
    wrong = numbers.isna() & series.notna()
    if wrong.any():
        i = int(np.flatnonzero(wrong.to_numpy())[0])
        where = f" of {table}" if table else ""
        raise ValueError(
            f"Column '{column}'{where} must hold numbers; row {frame.index[i]!r} has "
            f"{series.iloc[i]!r}."
        )
    return numbers.to_numpy(dtype=float, na_value=np.nan)
