"""Argument checks and the long-layout builder shared by the measure families.

Private to :mod:`evalkit.measures` (the module's name starts with an underscore); its names are public so
that :mod:`~evalkit.measures.proportions`, :mod:`~evalkit.measures.rates`, :mod:`~evalkit.measures.compare`
and the other families import them without reaching into each other's private names.  Moved verbatim from
``proportions.py`` (issue 17), names without their underscore.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
# scipy.stats is imported only where a distribution other than the normal is needed: importing it
# costs most of a second, which every report's kernel would pay (special.ndtri is what norm.ppf calls)
from scipy import special


def proportion_statistic(multiplier: float) -> str:
    if multiplier == 100:
        return "percentage"
    return f"proportion of {number_label(multiplier)}"


def number_label(number: float) -> str:
    """``100000`` for 1e5, ``2.5`` for 2.5: how a scale appears in a label."""
    number = float(number)
    return str(int(number)) if number.is_integer() else repr(number)


def confidence_levels(confidence: float | Sequence[float]) -> np.ndarray:
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


def normal_quantiles(levels: np.ndarray) -> np.ndarray:
    """Two-sided standard normal quantiles for confidence levels."""
    return special.ndtri(1 - (1 - levels) / 2)


def check_method(method: str, allowed: dict[str, str], what: str = "Method") -> str:
    if method not in allowed:
        names = [f"'{m}'" for m in allowed]
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise ValueError(f"{what} must be one of {listed}; got {method!r}.")
    return allowed[method]


def check_positive(number: float, what: str) -> None:
    try:
        ok = bool(np.isfinite(number) and number > 0)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{what} must be a positive number, such as 100; got {number!r}.")


def as_numbers(values: object, name: str, rows: pd.Index | None) -> np.ndarray:
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


def ratio_inputs(
    data: pd.DataFrame | None, numerator: object, denominator: object
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.Index, tuple[str, str]]:
    """Key columns, float numerator and denominator, row labels and the two names."""
    if data is None:
        if isinstance(numerator, str) or isinstance(denominator, str):
            raise ValueError(
                "Numerator and denominator must be arrays when data is None; "
                "pass a DataFrame to refer to columns by name."
            )
        x = as_numbers(np.asarray(numerator).ravel(), "numerator", None)
        n = as_numbers(np.asarray(denominator).ravel(), "denominator", None)
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
    x = as_numbers(data[numerator], str(numerator), rows)
    n = as_numbers(data[denominator], str(denominator), rows)
    keys = data.drop(columns=columns).reset_index(drop=True)
    return keys, x, n, rows, (str(numerator), str(denominator))


def _first_bad(mask: np.ndarray, rows: pd.Index) -> tuple[object, int]:
    i = int(np.flatnonzero(mask)[0])
    return rows[i], i


def check_not_negative(values: np.ndarray, rows: pd.Index, name: object, what: str) -> None:
    bad = values < 0
    if bad.any():
        row, i = _first_bad(bad, rows)
        raise ValueError(
            f"{what} must be greater than or equal to zero; column '{name}' has "
            f"{values[i]:g} in row {row}."
        )


def check_not_above(
    x: np.ndarray, n: np.ndarray, rows: pd.Index, numerator: object, denominator: object
) -> None:
    bad = x > n
    if bad.any():
        row, i = _first_bad(bad, rows)
        raise ValueError(
            "Numerators must be less than or equal to denominators for a proportion; "
            f"row {row} has {x[i]:g} in '{numerator}' and {n[i]:g} in '{denominator}'."
        )


def long_frame(
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
    added = long_columns(len(keys), levels, columns, confidence_after=confidence_after)
    return pd.concat([out, pd.DataFrame(added, index=out.index)], axis=1)


def long_columns(
    rows: int,
    levels: np.ndarray | None,
    columns: dict[str, object],
    *,
    confidence_after: str = "upper",
) -> dict[str, object]:
    """The measure columns of :func:`long_frame` for ``rows`` key rows, as arrays (one value
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


def column_numbers(frame: pd.DataFrame, column: str, table: str | None = None) -> np.ndarray:
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
