"""Codes that validation has already factorised, found again by the measures instead of hashed again.

Validation reads every code column (``township_code`` of 3 million ledger rows, ...) as its distinct
values and each row's position among them, then writes the column out as Arrow strings taken from
those values (:func:`evalkit.schema._strings`).  It remembers the positions here, keyed by the Arrow
array it made.  Arrow arrays are immutable, and pandas replaces the array of a column that is
assigned to, so while a column still holds that very array the positions describe it exactly; any
other column (changed, copied, built by hand, unpickled) is factorised as usual.  The memory is weak:
it goes with the array.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

#: id of an Arrow array -> (a weak reference to it, codes, uniques); Arrow arrays cannot be hashed
_KNOWN: dict[int, tuple[weakref.ref, np.ndarray, pd.Index]] = {}


def _arrow(values: pd.Series) -> object | None:
    """The Arrow array behind a column of pandas' Arrow-backed strings, else None."""
    array = values.array
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return getattr(array, "_pa_array", None)
    return None


def remember(values: pd.Series, codes: np.ndarray, uniques: pd.Index) -> None:
    """Record that ``values`` is ``uniques[codes]`` (missing where a code is -1)."""
    key = _arrow(values)
    if key is not None:
        ident = id(key)
        _KNOWN[ident] = (weakref.ref(key, lambda _, known=_KNOWN, ident=ident: known.pop(ident, None)), codes, uniques)


def factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of ``values`` (-1 where missing) and the values they stand for.

    Unlike :func:`pandas.factorize`, the values may be in any order and include some no row holds.

    >>> s = pd.Series(["b", "a", None, "b"], dtype="str")
    >>> codes, uniques = factorize(s)
    >>> [None if c < 0 else uniques[c] for c in codes]
    ['b', 'a', None, 'b']
    """
    key = _arrow(values)
    known = _KNOWN.get(id(key)) if key is not None else None
    if known is not None and known[0]() is key:
        return known[1], known[2]
    codes, uniques = pd.factorize(values)
    return codes, pd.Index(uniques)
