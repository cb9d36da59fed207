"""Small-cell suppression with secondary (complementary) suppression.

A figure that rests on a handful of people can single one of them out, so a
report shows it as suppressed instead.  The rule, by default:

* survey measures: suppress a figure resting on fewer than
  :data:`SURVEY_THRESHOLD` (10) respondents;
* counts of people (persons served, registered, staff): suppress a figure
  resting on fewer than :data:`PEOPLE_THRESHOLD` (5) persons.

Both thresholds are parameters.  Suppression never raises on a small count: it
blanks the figure and says why, in two added columns:

* ``suppressed`` (bool): the figure is hidden;
* ``suppression_reason``: a stable code from :data:`REASONS`, missing where
  nothing is suppressed:

  - ``primary_small_n``: the count behind the figure is below the threshold
    (or missing, so it cannot be shown to be safe);
  - ``secondary_complement``: the figure is safe in itself but is hidden so
    that a primarily suppressed sibling cannot be recovered by subtracting the
    shown siblings from their parent total.

A report layer translates the codes; they never change meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._shared import (  # imported under private names: not re-exported
    column_numbers as _numbers,
)

__all__ = [
    "KINDS",
    "PEOPLE_THRESHOLD",
    "REASONS",
    "SURVEY_THRESHOLD",
    "suppress",
    "suppress_counts",
]

#: Survey figures resting on fewer respondents than this are suppressed.
SURVEY_THRESHOLD = 10
#: Figures resting on fewer persons than this are suppressed.
PEOPLE_THRESHOLD = 5
#: The kinds of figure, each with its own threshold.
KINDS = ("survey", "people")
#: Codes of ``suppression_reason`` and what they mean.
REASONS = {
    "primary_small_n": "the count behind the figure is below the threshold, or missing",
    "secondary_complement": (
        "hidden so that a suppressed sibling cannot be recovered from the parent total"
    ),
}

_Siblings = str | Sequence[str] | Sequence[Sequence[str]] | None


def suppress(
    data: pd.DataFrame,
    kind: str | None = None,
    *,
    count: str | Sequence[str] = "n",
    threshold: float | None = None,
    siblings: _Siblings = None,
    columns: Sequence[str] = ("value", "lower", "upper"),
    survey_threshold: float = SURVEY_THRESHOLD,
    people_threshold: float = PEOPLE_THRESHOLD,
) -> pd.DataFrame:
    """Blank the figures of a measure table that rest on too few people.

    Call it on any tidy measure table (from :mod:`evalkit.measures`) before it
    reaches a report, with ``siblings`` when the rows are parts of a published
    total (the townships of a county, the groups of a township).

    Parameters
    ----------
    data : DataFrame
        A measure table, one row per figure.
    kind : {"survey", "people"} or str, optional
        Which threshold applies: ``"survey"`` (fewer than
        ``survey_threshold`` respondents), ``"people"`` (fewer than
        ``people_threshold`` persons), or the name of a column of ``data``
        holding ``"survey"`` or ``"people"`` per row.  Give ``kind`` or
        ``threshold``.
    count : str or sequence of str, default "n"
        The count column(s) each figure rests on; a row is suppressed when any
        of them is below the threshold.  With a proportion of people, pass
        ``["n", "denominator"]`` to protect small groups as well as small
        numerators.
    threshold : float, optional
        An explicit threshold for every row, instead of ``kind``.
    siblings : str, sequence of str, or sequence of sequences, optional
        Columns whose values identify a group of siblings that add up to a
        published parent total, such as ``["year", "county_code", "group"]``
        for townships within a county.  Several sets (a sequence of sequences)
        protect several margins of one table at once.  ``confidence`` is added
        to every set when ``data`` has that column (the long layout repeats
        each figure per level).  An empty list makes the whole table one
        group.  ``None``: no secondary suppression.
    columns : sequence of str, default ("value", "lower", "upper")
        The figures set to missing where suppressed.
    survey_threshold, people_threshold : float, default 10 and 5
        The thresholds of the two kinds.

    Returns
    -------
    DataFrame
        A copy of ``data``, same rows, order and index, with ``columns`` set
        to missing where suppressed and the columns ``suppressed`` (bool) and
        ``suppression_reason`` (a code of :data:`REASONS`, missing where not
        suppressed) added.  Nothing else changes.  Rows already marked
        ``suppressed`` in ``data`` stay so, with their reason, so the call can
        be repeated or chained.

    Raises
    ------
    ValueError
        If ``data`` is not a DataFrame, a named column is missing or a count
        is not numeric, neither or both of ``kind`` and ``threshold`` are
        given, a kind is unknown, or a threshold is negative.

    Notes
    -----
    Algorithm:

    1. Primary: a row is suppressed when a ``count`` is below its threshold or
       missing (``primary_small_n``).  A zero is small too: it says something
       about every member of the group.
    2. Secondary, within each sibling group (rows sharing the ``siblings``
       values): when exactly one row is suppressed and the group has other
       rows, the one with the smallest first ``count`` (ties: the earliest
       row) is suppressed as well (``secondary_complement``), the classic
       rule [1]_, [2]_.  All groups of a set are handled at once; the sets are
       applied in turn and repeated until nothing changes, so that hiding a
       cell for one margin cannot leave a lone suppressed cell in another.

    On return no sibling group has exactly one suppressed row unless it has
    only one row; such a lone child equals its parent, whose own count is
    then just as small, so the parent figure is suppressed by the primary
    rule wherever it is published with the same rule.

    Limits: the rule guarantees only that no suppressed figure equals the
    parent minus shown siblings.  The sum of the suppressed cells can still
    be derived, so a suppressed cell is known to lie between 0 and that sum;
    choosing the smallest sibling keeps the sum, and so this range, small,
    but the pattern is not optimal (it does not minimise the information
    lost, as the linear-programming methods of tau-ARGUS do [2]_).  Siblings
    must really add up to the parent: list every margin that is published
    (for a two-way table, both), and tables published separately that share
    people (linked tables) are protected only if their margins are given
    here together.  The count columns themselves are not blanked unless
    listed in ``columns``: a report must not print the count of a suppressed
    row (or pass ``columns=("n", "value", "lower", "upper")``).

    References
    ----------
    .. [1] Cox LH. Suppression methodology and statistical disclosure
       control. J Am Stat Assoc 1980;75:377-385.
       doi:10.1080/01621459.1980.10477481
    .. [2] Hundepool A, Domingo-Ferrer J, Franconi L, et al. Statistical
       disclosure control. Chichester: Wiley; 2012, chapter 4.
       doi:10.1002/9781118348239

    Examples
    --------
    >>> import pandas as pd
    >>> towns = pd.DataFrame({
    ...     "county_code": "090102",
    ...     "township_code": ["090102001", "090102002", "090102003", "090102004"],
    ...     "n": [3, 40, 12, 25], "value": [0.3, 0.4, 0.6, 0.5],
    ...     "lower": [0.1, 0.3, 0.4, 0.3], "upper": [0.6, 0.5, 0.8, 0.7]})
    >>> out = suppress(towns, "people", siblings="county_code")
    >>> out[["township_code", "n", "value", "upper", "suppressed", "suppression_reason"]]
      township_code   n  value  upper  suppressed    suppression_reason
    0     090102001   3    NaN    NaN        True       primary_small_n
    1     090102002  40    0.4    0.5       False                   NaN
    2     090102003  12    NaN    NaN        True  secondary_complement
    3     090102004  25    0.5    0.7       False                   NaN
    """
    _check_frame(data)
    counts = [count] if isinstance(count, str) else list(count)
    if not counts:
        raise ValueError("Count must name at least one column, such as 'n'.")
    columns = [columns] if isinstance(columns, str) else list(columns)
    _require(data, [*counts, *columns])
    limit = _thresholds(data, kind, threshold, survey_threshold, people_threshold)
    sets = _sibling_sets(data, siblings)
    values = np.column_stack([_numbers(data, c) for c in counts])

    if "suppressed" in data.columns:
        before = data["suppressed"].to_numpy(dtype=bool, na_value=False)
    else:
        before = np.zeros(len(data), dtype=bool)
    if "suppression_reason" in data.columns:
        reason = data["suppression_reason"].to_numpy(dtype=object, na_value=None).copy()
    else:
        reason = np.full(len(data), None, dtype=object)
    reason[~before] = None
    hidden, why = suppress_arrays(values, limit, [_group_ids(data, keys) for keys in sets], before)
    for code, name in enumerate(REASONS):
        reason[why == code] = name

    out = data.copy()
    mask = pd.Series(hidden, index=data.index)
    for column in columns:
        out[column] = out[column].where(~mask)
    out["suppressed"] = hidden
    reason[~hidden] = np.nan
    out["suppression_reason"] = pd.Series(reason, index=data.index, dtype=object)
    return out


def suppress_counts(
    data: pd.DataFrame,
    by: str | Sequence[str],
    kind: str | None = None,
    *,
    count: str = "count",
    threshold: float | None = None,
    columns: Sequence[str] = (),
    survey_threshold: float = SURVEY_THRESHOLD,
    people_threshold: float = PEOPLE_THRESHOLD,
) -> pd.DataFrame:
    """Blank the small counts of a frequency table, with secondary suppression.

    Call it on a table of counts such as respondents per Likert answer per
    county, whose totals are published: a small cell is hidden, and so is the
    next smallest cell of the same distribution, so that the total minus the
    shown cells does not give it away.

    Parameters
    ----------
    data : DataFrame
        One row per cell: the ``by`` columns, the category and ``count``.
    by : str or sequence of str
        Columns identifying one distribution (one parent total), such as
        ``["county_code", "item"]``; an empty list for a single distribution.
    kind : {"survey", "people"} or str, optional
        Which threshold applies, as for :func:`suppress`; give ``kind`` or
        ``threshold``.
    count : str, default "count"
        The count column; it is the figure set to missing.
    threshold : float, optional
        An explicit threshold instead of ``kind``.
    columns : sequence of str, default ()
        Further figures to blank with the count, such as a ``share`` column.
    survey_threshold, people_threshold : float, default 10 and 5
        The thresholds of the two kinds.

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``count`` (as float) and ``columns`` set to
        missing where suppressed, plus ``suppressed`` and
        ``suppression_reason`` as in :func:`suppress`.

    Raises
    ------
    ValueError
        As :func:`suppress`.

    Notes
    -----
    This is :func:`suppress` with ``count`` as the figure and ``by`` as the
    sibling groups; the rule, the algorithm and its limits are described
    there.

    Examples
    --------
    >>> import pandas as pd
    >>> likert = pd.DataFrame({"county_code": "090102", "answer": [1, 2, 3, 4, 5],
    ...                        "count": [2, 14, 31, 120, 233]})
    >>> out = suppress_counts(likert, "county_code", "people")
    >>> out[["answer", "count", "suppressed", "suppression_reason"]]
       answer  count  suppressed    suppression_reason
    0       1    NaN        True       primary_small_n
    1       2    NaN        True  secondary_complement
    2       3   31.0       False                   NaN
    3       4  120.0       False                   NaN
    4       5  233.0       False                   NaN
    """
    _check_frame(data)
    by = [by] if isinstance(by, str) else list(by)
    extra = [columns] if isinstance(columns, str) else list(columns)
    return suppress(
        data, kind, count=count, threshold=threshold, siblings=[by],
        columns=[count, *extra], survey_threshold=survey_threshold,
        people_threshold=people_threshold,
    )


# --- helpers --------------------------------------------------------------------------


def suppress_arrays(values: np.ndarray, limit: np.ndarray, ids: Sequence[np.ndarray],
                    before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rule of :func:`suppress` on arrays: which rows are hidden, and why.

    ``values``: the counts (rows x count columns), ``limit``: each row's threshold, ``ids``: one
    integer per sibling group (0, 1, ...) for each set of siblings, ``before``: rows hidden already.
    Returns ``hidden`` and each newly hidden row's reason as a position in :data:`REASONS`
    (``primary_small_n`` 0, ``secondary_complement`` 1; -1 for the others).
    """
    small = (np.isnan(values) | (values < limit[:, None])).any(axis=1) & ~before
    hidden = before | small
    why = np.where(small, 0, -1).astype(np.int8)
    size = values[:, 0]
    sizes = [np.bincount(gid) for gid in ids]  # rows per sibling group
    changed = bool(ids)
    while changed:
        changed = False
        for gid, rows_n in zip(ids, sizes):
            added = _complement(gid, hidden, size, rows_n)
            if added.size:
                hidden[added] = True
                why[added] = 1
                changed = True
    return hidden, why


def _group_ids(data: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """An integer per sibling group (rows sharing the values of ``keys``; missing is a value)."""
    if not keys:
        return np.zeros(len(data), dtype=np.int64)
    if len(keys) == 1:
        return pd.factorize(data[keys[0]], use_na_sentinel=False)[0]
    return data.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()


def _complement(gid: np.ndarray, hidden: np.ndarray, size: np.ndarray,
                rows_n: np.ndarray) -> np.ndarray:
    """Rows to hide so that no group of ``gid`` (``rows_n`` rows each) has exactly one hidden
    row among several."""
    hidden_n = np.bincount(gid[hidden], minlength=len(rows_n))
    need = (hidden_n == 1) & (rows_n >= 2)
    candidates = np.flatnonzero(~hidden & need[gid])
    if candidates.size == 0:
        return candidates
    order = candidates[np.lexsort((candidates, size[candidates], gid[candidates]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = gid[order][1:] != gid[order][:-1]
    return order[first]


def _check_frame(data: object) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"Data must be a pandas DataFrame; got {type(data).__name__}.")


def _require(data: pd.DataFrame, columns: Sequence[str]) -> None:
    for column in columns:
        if column not in data.columns:
            raise ValueError(
                f"Column '{column}' is not in data; the columns are "
                f"{', '.join(map(str, data.columns))}."
            )




def _check_threshold(number: object, what: str) -> float:
    try:
        ok = not isinstance(number, bool) and bool(np.isfinite(number) and number >= 0)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"{what} must be a number greater than or equal to zero, such as 5; "
            f"got {number!r}."
        )
    return float(number)


def _thresholds(
    data: pd.DataFrame,
    kind: str | None,
    threshold: float | None,
    survey_threshold: float,
    people_threshold: float,
) -> np.ndarray:
    """The threshold of every row."""
    if threshold is not None and kind is not None:
        raise ValueError("Give kind or threshold, not both.")
    if threshold is not None:
        return np.full(len(data), _check_threshold(threshold, "Threshold"))
    if kind is None:
        raise ValueError(
            "Say which threshold applies: kind='survey' (fewer than "
            f"{survey_threshold:g} respondents), kind='people' (fewer than "
            f"{people_threshold:g} persons), kind=<column of those codes> or "
            "threshold=<number>."
        )
    by_kind = {
        "survey": _check_threshold(survey_threshold, "The survey threshold"),
        "people": _check_threshold(people_threshold, "The people threshold"),
    }
    if isinstance(kind, str) and kind in by_kind:
        return np.full(len(data), by_kind[kind])
    if isinstance(kind, str) and kind in data.columns:
        codes = data[kind].astype(object)
        limit = codes.map(by_kind)
        if limit.isna().any():
            i = int(np.flatnonzero(limit.isna().to_numpy())[0])
            raise ValueError(
                f"Column '{kind}' must hold 'survey' or 'people'; row {data.index[i]!r} "
                f"has {codes.iloc[i]!r}."
            )
        return limit.to_numpy(dtype=float)
    raise ValueError(
        "Kind must be 'survey', 'people' or the name of a column holding those codes; "
        f"got {kind!r}."
    )


def _sibling_sets(data: pd.DataFrame, siblings: _Siblings) -> list[list[str]]:
    """Normalise ``siblings`` to a list of column lists, with ``confidence`` added."""
    if siblings is None:
        return []
    if isinstance(siblings, str):
        sets = [[siblings]]
    else:
        items = list(siblings)
        if not items or all(isinstance(s, str) for s in items):
            sets = [items]
        elif all(not isinstance(s, str) for s in items):
            sets = [[s] if isinstance(s, str) else list(s) for s in items]
        else:
            raise ValueError(
                "Siblings must be column names, such as ['year', 'county_code'], or a list "
                "of such lists; got a mixture."
            )
    out = []
    for keys in sets:
        _require(data, keys)
        if "confidence" in data.columns and "confidence" not in keys:
            keys = [*keys, "confidence"]
        out.append(keys)
    return out
