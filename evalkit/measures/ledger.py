"""The engine under the reach measures: the regions as unit-years, the service ledger coded once.

:func:`geography` selects the ``regions`` rows of a level and years and numbers their unit-years;
:func:`code_ledger` codes the service ledger once (townships, persons, groups and dates as integers) and
:func:`count_served` counts, from one sort of it, the persons served of every unit-year and group of several
levels at once.  The measures of :mod:`evalkit.measures.reach` read these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _codes
from ._shared import check_method as _check_method, column_numbers as _numbers

__all__ = ["GROUP_REGISTERS", "LEVELS", "PERSON_GROUPS"]

#: Geography levels, from the finest to the coarsest.
LEVELS = ("township", "county", "prefecture", "province")

#: Priority group code -> the ``regions`` column holding its register (the denominator).
GROUP_REGISTERS = {
    "dibao": "reg_dibao",
    "tekun": "reg_tekun",
    "left_behind_child": "reg_left_behind_child",
    "child_in_difficulty": "reg_child_in_difficulty",
    "elderly": "reg_elderly",
    "disabled": "reg_disabled",
}

#: Every ``person_group`` code of the ledger; ``general`` has no register.
PERSON_GROUPS = (*GROUP_REGISTERS, "general")

# The codes of a unit and its ancestors, from the top down.
LEVEL_KEYS = {
    "province": ("province_code",),
    "prefecture": ("province_code", "prefecture_code"),
    "county": ("province_code", "prefecture_code", "county_code"),
    "township": ("province_code", "prefecture_code", "county_code", "township_code"),
}
YearArg = int | Sequence[int] | None


# --- shared helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class Geography:
    """The selected ``regions`` rows and the unit-year each belongs to."""

    regions: pd.DataFrame  # selected rows, positional index
    keys: pd.DataFrame  # one row per unit-year: year and unit codes, sorted
    unit: np.ndarray  # per selected regions row: its row in ``keys``
    years: np.ndarray  # the selected years, sorted
    all_years: bool  # year=None: every dated row must match regions

    @property
    def size(self) -> int:
        return len(self.keys)


def plain(value: object) -> object:
    """A numpy scalar as the Python scalar, so that messages show 2024, not np.int64(2024)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_frame(frame: object, table: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        got = type(frame).__name__
        hint = (
            f" Pass the table (province.{table}), not the Province object."
            if got == "Province" else ""
        )
        raise ValueError(f"{table.capitalize()} must be a pandas DataFrame; got {got}.{hint}")


def require(frame: object, table: str, columns: Sequence[str], caller: str) -> None:
    _check_frame(frame, table)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        needed = ", ".join(f"'{c}'" for c in columns)
        raise ValueError(
            f"Column '{missing[0]}' is missing from {table}; {caller} needs {needed}."
        )


def geography(
    regions: pd.DataFrame, level: str, year: YearArg, needed: Sequence[str], caller: str
) -> Geography:
    _check_frame(regions, "regions")
    _check_method(level, {lv: lv for lv in LEVELS}, what="Level")
    keys = ["year", *LEVEL_KEYS[level]]
    require(regions, "regions", list(dict.fromkeys([*keys, "township_code", *needed])), caller)
    years_all = np.sort(pd.unique(_numbers(regions, "year", "regions")))
    years_all = years_all[~np.isnan(years_all)].astype(np.int64)
    if year is None:
        years = years_all
    else:
        asked = np.atleast_1d(np.asarray(year, dtype=object))
        years = []
        listed = ", ".join(str(int(y)) for y in years_all) or "none"
        for y in asked:
            if isinstance(y, bool) or not isinstance(y, (int, np.integer)) or y not in years_all:
                raise ValueError(f"Year {y!r} is not in regions; its years are {listed}.")
            years.append(int(y))
        years = np.unique(np.asarray(years, dtype=np.int64))
    selected = regions[regions["year"].isin(years)].reset_index(drop=True)
    grouped = selected.groupby(keys, sort=True, dropna=False)
    unit = grouped.ngroup().to_numpy()
    unit_keys = grouped.size().reset_index()[keys]
    unit_keys["year"] = unit_keys["year"].astype(np.int64)
    return Geography(selected, unit_keys, unit, years, year is None)


def year_numbers(frame: pd.DataFrame, table: str) -> np.ndarray:
    return _numbers(frame, "year", table)


def _service_years(services: pd.DataFrame) -> np.ndarray:
    return _service_dates(services).dt.year.to_numpy(dtype=float, na_value=np.nan)


def _service_dates(services: pd.DataFrame) -> pd.Series:
    dates = services["date"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise ValueError(
            f"Column 'date' of services must hold dates (datetime64); got {dates.dtype}. "
            "Load the tables with evalkit.load_province(), which parses dates."
        )
    return dates


def locate(geo: Geography, frame: pd.DataFrame, table: str, years: np.ndarray,
           towns_coded: tuple[np.ndarray, pd.Index] | None = None) -> np.ndarray:
    """Row of ``geo.regions`` for each row of ``frame`` (by year and township), or -1.

    Rows dated outside the selected years get -1; a row in a selected year (or in
    any year when all years are selected) whose township is not in regions raises.
    ``towns_coded``: ``frame``'s township codes already factorised (codes, uniques).
    """
    towns = pd.Index(pd.unique(geo.regions["township_code"]))
    codes, uniques = towns_coded or pd.factorize(frame["township_code"])
    town = np.where(codes >= 0, towns.get_indexer(uniques)[np.maximum(codes, 0)], -1)
    n_years = geo.years.size
    year_pos = np.searchsorted(geo.years, np.nan_to_num(years, nan=-1).astype(np.int64))
    year_pos = np.minimum(year_pos, max(n_years - 1, 0))
    if n_years:
        in_years = geo.years[year_pos] == years
    else:
        in_years = np.zeros(len(frame), dtype=bool)
    lookup = np.full((max(n_years, 1), max(len(towns), 1)), -1, dtype=np.int64)
    if len(geo.regions):
        lookup[np.searchsorted(geo.years, geo.regions["year"].to_numpy(dtype=np.int64)),
               towns.get_indexer(geo.regions["township_code"])] = np.arange(len(geo.regions))
    rows = np.where(in_years & (town >= 0), lookup[year_pos, np.maximum(town, 0)], -1)
    bad = (rows < 0) & (in_years | geo.all_years)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        label, code = frame.index[i], frame["township_code"].iloc[i]
        if np.isnan(years[i]):
            when = "no year (its date or year is missing)"
        else:
            when = f"year {int(years[i])}"
        raise ValueError(
            f"{table.capitalize()} row {label!r} names township {code!r} in {when}, which is "
            "not in regions for that year; check the tables with "
            "evalkit.validate_province() first."
        )
    return rows


def _group_codes(services: pd.DataFrame) -> np.ndarray:
    """Position of each ledger row's ``person_group`` in :data:`PERSON_GROUPS`."""
    groups = services["person_group"]
    if isinstance(groups.dtype, pd.CategoricalDtype):  # codes already: each category looked up once
        codes = groups.cat.codes.to_numpy()
        # code -1 (missing) takes the last name
        names = np.append(np.asarray(groups.cat.categories, dtype=object), np.nan)
    else:
        codes, uniques = pd.factorize(groups, use_na_sentinel=False)
        names = np.asarray(uniques, dtype=object)
    position = pd.Index(PERSON_GROUPS).get_indexer(names)[codes]
    if (position < 0).any():
        i = int(np.flatnonzero(position < 0)[0])
        bad = names[codes[i]]
        raise ValueError(
            f"Column 'person_group' of services has {bad!r} in row {services.index[i]!r}, "
            f"which is not a group code; the codes are {', '.join(PERSON_GROUPS)}."
        )
    return position


def _person_codes(services: pd.DataFrame) -> tuple[np.ndarray, int]:
    """An exact integer key per ``person_id`` (-1 where missing) and a bound the keys are below.

    Non-negative integer ids are used as they are.  Strings that all have the same length
    (ids such as ``P4758578070``) are read as numbers whose digits are their bytes, each
    position in a base of the byte values found there: equal ids get equal keys and different
    ids different keys, five times faster than hashing millions of strings.  Other ids are
    factorised.
    """
    ids = services["person_id"]
    if pd.api.types.is_integer_dtype(ids) and (ids.to_numpy() >= -1).all():
        keys = ids.to_numpy(dtype=np.int64)
        return keys, int(keys.max(initial=-1)) + 1
    fixed = _fixed_width_keys(ids)
    if fixed is not None:
        return fixed
    codes = pd.factorize(ids)[0].astype(np.int64)
    return codes, int(codes.max(initial=-1)) + 1


def _fixed_width_keys(values: pd.Series) -> tuple[np.ndarray, int] | None:
    """Exact integer keys of Arrow strings, all present and of one byte length; else None."""
    if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
        return None
    import pyarrow as pa

    chunked = values.array.__arrow_array__()
    arr = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
    offset_type = {pa.string(): np.int32, pa.large_string(): np.int64}.get(arr.type)
    n = len(arr)
    if offset_type is None or arr.null_count or n == 0:
        return None
    _, offset_buffer, data_buffer = arr.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=offset_type, count=n + 1,
                            offset=arr.offset * np.dtype(offset_type).itemsize)
    width = int(offsets[1] - offsets[0])
    if width == 0 or not (np.diff(offsets) == width).all():
        return None
    # one row per byte position, read contiguously
    chars = np.frombuffer(data_buffer, dtype=np.uint8, count=n * width,
                          offset=int(offsets[0])).reshape(n, width).T.copy()
    low, high = chars.min(axis=1), chars.max(axis=1)
    varying = np.flatnonzero(high > low)
    bases = [int(high[j]) - int(low[j]) + 1 for j in varying]
    bound = math.prod(bases)
    if bound >= 2**62:
        return None
    keys = np.zeros(n, dtype=np.int64)
    step = 1 << 16  # rows at a time, so that the passes over each position stay in cache
    for start in range(0, n, step):
        part = keys[start:start + step]
        for j, base in zip(varying, bases):
            part *= base
            part += chars[j, start:start + step] - low[j]  # uint8, never negative
    return keys, bound


# --- the ledger, coded once -----------------------------------------------------------


@dataclass(frozen=True)
class _Ledger:
    """The service ledger as integer codes: what the reach measures read of it."""

    frame: pd.DataFrame  # the ledger (row labels, groups and codes for messages)
    towns: tuple[np.ndarray, pd.Index]  # township_code factorised: codes and uniques
    person: np.ndarray | None  # exact integer key of person_id (-1 where missing)
    persons: int  # the keys are below this
    visited: np.ndarray | None  # the row is a home visit


def code_ledger(services: pd.DataFrame, *, persons: bool = False, visits: bool = False) -> _Ledger:
    """Code the ledger once; persons and visits only when asked (their columns may be absent)."""
    codes, uniques = _codes.factorize(services["township_code"])
    person, bound = _person_codes(services) if persons else (None, 0)
    visited = ((services["mode"] == "home_visit").to_numpy(dtype=bool, na_value=False)
               if visits else None)
    _service_dates(services)
    return _Ledger(services, (codes, pd.Index(uniques)), person, bound, visited)


def ledger_rows(geo: Geography, ledger: _Ledger) -> np.ndarray:
    """Row of ``geo.regions`` for each ledger row, or -1 (see :func:`locate`).

    The year of a date is found by comparing it with the first days of the selected years
    (a date's calendar year, without splitting millions of dates into fields); a row that
    cannot be placed is left to :func:`locate`, which names it.
    """
    dates = ledger.frame["date"].to_numpy()
    if dates.dtype.kind == "M" and geo.years.size:  # dates without a time zone
        towns = pd.Index(pd.unique(geo.regions["township_code"]))
        codes, uniques = ledger.towns
        # a township not in regions (or missing) takes the last column, which holds -1
        width = max(len(towns), 1) + 1
        town = towns.get_indexer(uniques)
        town = np.append(np.where(town < 0, width - 1, town), width - 1)[codes]
        edges = np.array([f"{y + i}-01-01" for y in geo.years for i in (0, 1)], dtype=dates.dtype)
        inside = np.searchsorted(edges, dates, side="right")  # odd: in a selected year
        year = inside >> 1
        inside &= 1
        lookup = np.full((geo.years.size, width), -1, dtype=np.int64)
        lookup[np.searchsorted(geo.years, geo.regions["year"].to_numpy(dtype=np.int64)),
               towns.get_indexer(geo.regions["township_code"])] = np.arange(len(geo.regions))
        # the row of (year, township), read from the table as one flat index
        np.minimum(year, geo.years.size - 1, out=year)
        year *= width
        year += town
        rows = lookup.ravel()[year]
        rows[inside == 0] = -1
        if not ((rows < 0) & ((inside == 1) | geo.all_years)).any():
            return rows
    return locate(geo, ledger.frame, "services", _service_years(ledger.frame), ledger.towns)


def count_contacts(geo: Geography, rows: np.ndarray) -> np.ndarray:
    """Ledger rows (contacts) per unit-year; ``rows`` from :func:`ledger_rows`."""
    return unit_sums(geo, np.bincount(rows[rows >= 0], minlength=len(geo.regions)))


def unit_sums(geo: Geography, counts: np.ndarray) -> np.ndarray:
    """Counts per row of ``geo.regions`` summed per unit-year."""
    return np.bincount(geo.unit, weights=counts, minlength=geo.size).astype(np.int64)


@dataclass(frozen=True)
class Served:
    """Distinct persons served per unit-year of one geography (rows of ``geo.keys``)."""

    by_group: np.ndarray  # (units, PERSON_GROUPS): persons served in each group
    visited: np.ndarray | None  # (units, PERSON_GROUPS): persons visited at home in each group
    persons: np.ndarray  # (units,): persons served in any group


def count_served(geos: Sequence[Geography], ledger: _Ledger, rows: np.ndarray, *, groups: bool = True,
                 visits: bool = False) -> list[Served]:
    """Distinct persons per unit-year of each geography, by group, from one sort of the ledger.

    ``geos`` select the same ``regions`` rows (the same years) at different levels; ``rows``
    places each ledger row in them (:func:`ledger_rows`).  The rows with a person are sorted
    by person, unit-year of the finest level and group, and reduced to cells (one per person,
    finest unit-year and group; visited if any of its rows is), which are counted at the finest
    level.  A coarser unit's count is the sum of its finest units' counts, less the persons it
    would count twice: those with cells in several of its finest units (served in two townships
    of a county).  Unit keys are prefixes of one another and sorted, so a person's cells in one
    coarser unit are consecutive (a block), and only the blocks of persons seen in more than one
    finest unit-year need looking at.  No level needs a sort of its own.
    """
    finest = max(geos, key=lambda geo: geo.keys.shape[1])
    n_groups = len(PERSON_GROUPS)
    keep = (rows >= 0) & (ledger.person >= 0)
    if keep.all():  # the usual case: nothing to copy
        keep = slice(None)
    rows_n = len(ledger.person)
    group = _group_codes(ledger.frame)[keep] if groups else np.zeros(rows_n, np.int64)[keep]
    visited = ledger.visited[keep] if visits else np.zeros(rows_n, dtype=bool)[keep]
    new_person, unit, group, visited = _cells(ledger.person[keep], ledger.persons,
                                              finest.unit[rows[keep]], finest.size, group,
                                              n_groups, visited)
    new_unit = new_person.copy()
    new_unit[1:] |= unit[1:] != unit[:-1]
    cell = unit * n_groups + group
    shape = (finest.size, n_groups)
    by_group = np.bincount(cell, minlength=finest.size * n_groups).reshape(shape)
    by_visit = np.bincount(cell[visited], minlength=finest.size * n_groups).reshape(shape)
    persons = np.bincount(unit[new_unit], minlength=finest.size)
    # the cells of persons seen in more than one finest unit-year: the only ones counted twice
    # above it
    again = new_unit & ~new_person
    person = np.cumsum(new_person) - 1
    several = np.zeros(int(person[-1]) + 1 if person.size else 0, dtype=bool)
    several[person[again]] = True
    sub = np.flatnonzero(several[person])
    new_person, unit, group, visited, new_unit = (
        a[sub] for a in (new_person, unit, group, visited, new_unit))
    out = []
    for geo in geos:
        if len(geo.unit) != len(finest.unit) or not np.array_equal(geo.years, finest.years):
            raise ValueError("count_served() needs geographies of the same regions rows.")
        to_unit = np.zeros(finest.size, dtype=np.int64)
        to_unit[finest.unit] = geo.unit
        counts = [np.zeros((geo.size, n_groups), dtype=np.int64),
                  np.zeros((geo.size, n_groups), dtype=np.int64),
                  np.zeros(geo.size, dtype=np.int64)]
        for total, fine in zip(counts, (by_group, by_visit, persons)):
            np.add.at(total, to_unit, fine)
        u = to_unit[unit]
        new_block = new_person.copy()
        new_block[1:] |= u[1:] != u[:-1]
        spans = new_unit & ~new_block  # a block going on in another finest unit: the person again
        if spans.any():
            counts[2] -= np.bincount(u[spans], minlength=geo.size)
            block = np.cumsum(new_block) - 1
            spanning = np.zeros(int(block[-1]) + 1, dtype=bool)
            spanning[block[spans]] = True
            within = spanning[block]
            for total, mask in zip(counts, (within, within & visited)):
                cells = np.flatnonzero(mask)
                twice = cells[_repeated(block[cells] * n_groups + group[cells])]
                total -= np.bincount(u[twice] * n_groups + group[twice],
                                     minlength=geo.size * n_groups).reshape(geo.size, n_groups)
        out.append(Served(counts[0], counts[1] if visits else None, counts[2]))
    return out


def _cells(person: np.ndarray, bound: int, unit: np.ndarray, n_units: int, group: np.ndarray,
           n_groups: int, visited: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (person, unit, group) of the rows, sorted: whether each starts a person, its
    unit, its group, and whether any of its rows is visited.  One sort of one integer key (bits of
    person, unit, group and visit), or a lexsort when the key does not fit."""
    width = [max(int(n - 1).bit_length(), 1) for n in (n_units, n_groups)]
    if max(int(bound - 1).bit_length(), 1) + sum(width) + 1 > 63:
        person = pd.factorize(person)[0]
        bound = person.size
    if max(int(bound - 1).bit_length(), 1) + sum(width) + 1 <= 63:
        key = (((person << width[0] | unit) << width[1] | group) << 1) | visited
        key.sort()
        visited = key & 1
        key >>= 1
        end = np.ones(key.size, dtype=bool)
        end[:-1] = key[1:] != key[:-1]
        # the last row of a cell is visited if any of its rows is
        key, visited = key[end], visited[end].astype(bool)
        group = key & ((1 << width[1]) - 1)
        key >>= width[1]
        unit = key & ((1 << width[0]) - 1)
        key >>= width[0]
        new_person = np.ones(key.size, dtype=bool)
        new_person[1:] = key[1:] != key[:-1]
        return new_person, unit, group, visited
    order = np.lexsort((visited, group, unit, person))
    person, unit, group, visited = person[order], unit[order], group[order], visited[order]
    new_person = np.ones(person.size, dtype=bool)
    new_person[1:] = person[1:] != person[:-1]
    start = new_person.copy()
    start[1:] |= (unit[1:] != unit[:-1]) | (group[1:] != group[:-1])
    end = np.ones(person.size, dtype=bool)
    end[:-1] = start[1:]
    return new_person[start], unit[end], group[end], visited[end]


def _repeated(keys: np.ndarray) -> np.ndarray:
    """True for every occurrence of a key but its first."""
    order = np.argsort(keys, kind="stable")
    out = np.zeros(keys.size, dtype=bool)
    out[order[1:]] = keys[order[1:]] == keys[order[:-1]]
    return out


def sum_by_unit(geo: Geography, columns: Sequence[str]) -> np.ndarray:
    """Column sums of ``geo.regions`` per unit-year; shape (units, columns)."""
    out = np.empty((geo.size, len(columns)))
    for j, column in enumerate(columns):
        out[:, j] = np.bincount(geo.unit, weights=_numbers(geo.regions, column, "regions"),
                                minlength=geo.size)
    return out


def priority_groups(groups: Sequence[str] | None) -> list[str]:
    if groups is None:
        return list(GROUP_REGISTERS)
    groups = [groups] if isinstance(groups, str) else list(groups)
    for g in groups:
        if g not in GROUP_REGISTERS:
            raise ValueError(
                f"Group {g!r} has no register; the priority groups are "
                f"{', '.join(GROUP_REGISTERS)}."
            )
    if not groups:
        raise ValueError("Groups must name at least one priority group, such as 'dibao'.")
    return list(dict.fromkeys(groups))
