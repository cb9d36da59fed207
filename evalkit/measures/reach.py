"""Service reach: coverage, contact rates, home visits, stations, staffing, cost and equity.

Every measure takes the typed input tables (DataFrames from
:func:`evalkit.load_province`, never the ``Province`` object), a geography
``level`` (``"township"``, ``"county"``, ``"prefecture"`` or ``"province"``)
and a ``year`` (one year, several, or ``None`` for every year of ``regions``),
and computes every unit of that level in every selected year at once.  No
unit is ever missing: a township without a station or a service gets a row with
a zero count.

Results are tidy and long, as in :mod:`evalkit.measures.proportions`: the keys
``year``, then the codes of the unit and its ancestors from the top down
(``province_code``, ``prefecture_code``, ``county_code``, ``township_code``,
as far as the level goes), then ``group`` or ``measure`` where a measure has
several, then ``n``, ``denominator``, ``value``, ``lower``, ``upper``,
``confidence``, ``statistic`` and ``method``; one row per unit and confidence
level, levels inner.  Rows are sorted by the keys, so the result does not
depend on the order of the input rows.

Geography always comes from ``regions``: a service or station row is placed
in the township it names, and the township's county, prefecture and province
are read from its ``regions`` row for the same year, never sliced from the
code, so data with another coding scheme aggregate correctly.

Intervals
---------
The counts here are complete (every contact, every station), not samples.
Following public-health practice [1]_, [2]_, intervals are still given for
count-based measures: they express the chance variation of an underlying
process, which matters most for small townships and counties.  Proportions
use :func:`~evalkit.measures.proportions.proportion` (Wilson) and rates
:func:`~evalkit.measures.rates.rate` (exact Poisson below 10 events, Byar's
from 10).  Cost ratios (money over counts) and the equity summaries have no
interval: ``lower`` and ``upper`` are missing and ``confidence`` repeats the
requested level, so that a table mixing measures can still be filtered by
level.

References
----------
.. [1] Public Health England. Technical Guide: Confidence intervals.
   Fingertips, PHE; 2018.
.. [2] Spiegelhalter DJ. Funnel plots for comparing institutional
   performance. Stat Med 2005;24:1185-1202. doi:10.1002/sim.1970
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .ledger import (  # the engine: geography, the ledger coded once, counts of persons served
    GROUP_REGISTERS,
    LEVELS,
    LEVEL_KEYS,
    PERSON_GROUPS,
    Geography,
    Served,
    YearArg,
    code_ledger,
    count_contacts,
    count_served,
    geography,
    ledger_rows,
    locate,
    plain,
    priority_groups,
    require,
    sum_by_unit,
    unit_sums,
    year_numbers,
)
from ._shared import (  # imported under private names: not re-exported
    check_method as _check_method,
    check_not_above as _check_not_above,
    check_not_negative as _check_not_negative,
    check_positive as _check_positive,
    column_numbers as _numbers,
    confidence_levels as _confidence_levels,
    long_columns as _long_columns,
)
from .proportions import OUTPUT_COLUMNS, proportion_columns
from .rates import rate_columns

__all__ = [
    "CASE_WORK",
    "COST_MEASURES",
    "EQUITY_MEASURES",
    "GROUP_REGISTERS",
    "LEVELS",
    "PERSON_GROUPS",
    "STAFFING_MEASURES",
    "case_work_share",
    "cost",
    "coverage",
    "equity",
    "home_visit_share",
    "person_times",
    "staffing",
    "station_coverage",
]


#: Codes of the ``measure`` key of :func:`staffing`, in output order.
STAFFING_MEASURES = (
    "social_workers_per_station",
    "social_workers_per_10000",
    "certified_share",
    "professional_station_share",
    "volunteers_per_10000",
)

#: Station levels (``service_level``, code list in ``codes.toml``) that ``professional_station_share``
#: counts: 2.0 semi-professional and 3.0 professional social work, against 1.0 mainly administrative work.
PROFESSIONAL_LEVELS = ("2.0", "3.0")

#: Codes of the ``measure`` key of :func:`cost`, in output order.
COST_MEASURES = ("cost_per_person_time", "cost_per_person_served")

#: Codes of the ``equity`` key of :func:`equity`, in output order.
EQUITY_MEASURES = ("top_bottom_fifth_ratio", "coefficient_of_variation", "concentration_index")

_SERVICE_COLUMNS = ("date", "township_code", "person_id", "person_group")


# --- measures -------------------------------------------------------------------------


def coverage(
    regions: pd.DataFrame,
    services: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    groups: Sequence[str] | None = None,
    total: bool = False,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Share of each registered priority group served at least once in the year.

    Call it for the reach indicator of a report: of the people on each
    civil-affairs register (低保, 特困, ...), how many did the stations serve?

    Parameters
    ----------
    regions : DataFrame
        The ``regions`` table: ``year``, the codes of ``level`` and its
        ancestors, ``township_code`` and the ``reg_*`` column of each group.
    services : DataFrame
        The service ledger: ``date``, ``township_code``, ``person_id`` and
        ``person_group``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to.
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    groups : sequence of str, optional
        Priority groups to report, from :data:`GROUP_REGISTERS`; default all six.
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the Wilson interval.

    Returns
    -------
    DataFrame
        Keys ``year``, unit codes and ``group``; then ``n`` (persons served,
        capped at the register), ``denominator`` (registered persons),
        ``value`` (proportion of 1), ``lower``, ``upper``, ``confidence``,
        ``statistic``, ``method`` (``"Wilson"``), then ``served`` (persons
        served, not capped) and ``capped`` (True where ``served`` exceeded the
        register).

    Raises
    ------
    ValueError
        If a table is not a DataFrame or lacks a column, the level, a year or
        a group is unknown, a ledger row names a township that is not in
        ``regions`` for its year, or ``person_group`` holds an unknown code.

    Notes
    -----
    ``served`` counts distinct ``person_id`` among the ledger rows of the
    group dated in the year at the unit's stations: a person served ten times
    counts once, and a person served in two townships of a county counts once
    for the county (and once in each township).  A person recorded under two
    groups counts in both, as the registers themselves overlap.  Rows without
    a ``person_id`` are left out.

    The numerator is capped at the register: when a station served more
    distinct members of a group than are registered (the register is out of
    date, or ``person_group`` was recorded loosely), ``n`` is set to the
    register, so the coverage is 1, and ``capped`` is True so that the
    data-quality appendix can say so.  A register of 0 gives a missing value.

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> out = coverage(regions, services, level="county", groups=["dibao", "elderly"])
    >>> out[["year", "county_code", "group", "n", "denominator", "value", "capped"]]
       year county_code    group    n  denominator  value  capped
    0  2023      090102    dibao  1.0         10.0   0.10   False
    1  2023      090102  elderly  0.0         20.0   0.00   False
    2  2024      090102    dibao  3.0         10.0   0.30   False
    3  2024      090102  elderly  1.0         20.0   0.05   False
    """
    groups = priority_groups(groups)
    registers = [GROUP_REGISTERS[g] for g in groups]
    geo = geography(regions, level, year, registers, "coverage()")
    require(services, "services", _SERVICE_COLUMNS, "coverage()")
    ledger = code_ledger(services, persons=True)
    served = count_served([geo], ledger, ledger_rows(geo, ledger))[0]
    return _framed(geo, _coverage(geo, served, groups, total, confidence))


def _coverage(geo: Geography, served: Served, groups: Sequence[str], total: bool,
              confidence: float | Sequence[float]) -> _Rows:
    registered = sum_by_unit(geo, [GROUP_REGISTERS[g] for g in groups])
    columns = [PERSON_GROUPS.index(g) for g in groups]
    return _group_rows(geo, groups, served.by_group[:, columns], registered, confidence, total)


def home_visit_share(
    regions: pd.DataFrame,
    services: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    by_group: bool = False,
    total: bool = False,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Share of registered priority-group members who had at least one home visit.

    Call it for the 入户探访 indicator: of the people on the six registers,
    how many did a social worker visit at home during the year?

    Parameters
    ----------
    regions, services : DataFrame
        As for :func:`coverage`; ``services`` also needs ``mode``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to.
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    by_group : bool, default False
        One row per priority group (with a ``group`` key) instead of one row
        for the six groups together.
    total : bool, default False
        With ``by_group``: also the row for the six groups together, with
        ``group`` = ``"all"`` (the same figures as ``by_group=False``, from the
        same pass over the ledger).
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the Wilson interval.

    Returns
    -------
    DataFrame
        As :func:`coverage` (without the ``group`` key unless ``by_group``).

    Raises
    ------
    ValueError
        As :func:`coverage`.

    Notes
    -----
    A member is visited when the ledger has a row with ``mode ==
    "home_visit"`` for them in the year at the unit's stations.  Persons are
    counted as in :func:`coverage`, for each group separately, and each
    group's count is capped at its register before the six are added: the
    denominator is the sum of the six registers (memberships, since a person
    may be on two registers), so the numerator counts memberships as well.
    ``served`` is the sum of the uncapped counts and ``capped`` is True when
    any group was capped.  ``general`` residents are not counted.

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> out = home_visit_share(regions, services, level="township", year=2024)
    >>> out[["township_code", "n", "denominator", "value"]].round(4)
      township_code    n  denominator   value
    0     090102001  1.0         60.0  0.0167
    1     090102002  0.0         90.0  0.0000
    """
    geo = geography(regions, level, year, list(GROUP_REGISTERS.values()), "home_visit_share()")
    require(services, "services", (*_SERVICE_COLUMNS, "mode"), "home_visit_share()")
    ledger = code_ledger(services, persons=True, visits=True)
    served = count_served([geo], ledger, ledger_rows(geo, ledger), visits=True)[0]
    return _framed(geo, _home_visit_share(geo, served, by_group, total, confidence))


def _home_visit_share(geo: Geography, served: Served, by_group: bool, total: bool,
                      confidence: float | Sequence[float]) -> _Rows:
    groups = list(GROUP_REGISTERS)
    visited = served.visited[:, [PERSON_GROUPS.index(g) for g in groups]]
    registered = sum_by_unit(geo, list(GROUP_REGISTERS.values()))
    if by_group:
        return _group_rows(geo, groups, visited, registered, confidence, total)
    return _total_rows(geo, visited, registered, confidence)


def _total_rows(geo, served: np.ndarray, registered: np.ndarray,
                confidence: float | Sequence[float]) -> _Rows:
    """One row per unit for all groups together: each group capped at its register, then summed."""
    out = _proportion_rows(np.arange(geo.size), np.minimum(served, registered).sum(axis=1),
                           registered.sum(axis=1), confidence)
    k = _confidence_levels(confidence).size
    out["served"] = np.repeat(served.sum(axis=1), k)
    out["capped"] = np.repeat((served > registered).any(axis=1), k)
    return out


#: The ``mode`` code (``codes.toml``) of a contact delivered as case work (个案服务).
CASE_WORK = "case_work"


def case_work_share(
    regions: pd.DataFrame,
    services: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Share of service contacts delivered as case work (个案工作占比).

    Call it for the professional-practice indicator of a report: of the
    contacts the stations recorded, how many were case work, the core method of
    professional social work, rather than drop-in visits, activities or
    screening?

    Parameters
    ----------
    regions : DataFrame
        The ``regions`` table: ``year``, the codes of ``level`` and its
        ancestors and ``township_code``.
    services : DataFrame
        The service ledger: ``date``, ``township_code`` and ``mode``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to.
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the Wilson interval.

    Returns
    -------
    DataFrame
        Keys ``year`` and unit codes; then ``n`` (case-work contacts),
        ``denominator`` (all contacts), ``value``, ``lower``, ``upper``,
        ``confidence``, ``statistic`` (``"proportion of 1"``) and ``method``
        (``"Wilson"``).

    Raises
    ------
    ValueError
        If a table is not a DataFrame or lacks a column, the level or a year
        is unknown, or a ledger row names a township that is not in
        ``regions`` for its year.

    Notes
    -----
    Every ledger row is one contact, counted at the station's township in the
    year of its ``date`` (as in :func:`person_times`); a contact is case work
    when its ``mode`` is ``"case_work"`` (:data:`CASE_WORK`).  A unit without
    contacts has a denominator of 0 and no value.  The interval is Wilson's
    (:func:`~evalkit.measures.proportions.proportion`).

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> services.loc[[2, 3], "mode"] = "case_work"
    >>> out = case_work_share(regions, services, level="township", year=2024)
    >>> out[["township_code", "n", "denominator", "value"]]
      township_code    n  denominator  value
    0     090102001  2.0          5.0    0.4
    1     090102002  0.0          1.0    0.0
    """
    geo = geography(regions, level, year, [], "case_work_share()")
    require(services, "services", ("date", "township_code", "mode"), "case_work_share()")
    rows = ledger_rows(geo, code_ledger(services))
    return _framed(geo, _case_work_share(geo, _case_work(services, rows, len(geo.regions)),
                                         count_contacts(geo, rows), confidence))


def _case_work(services: pd.DataFrame, rows: np.ndarray, size: int) -> np.ndarray:
    """Case-work contacts per row of ``geo.regions``; ``rows`` from :func:`ledger_rows`."""
    case = (services["mode"] == CASE_WORK).to_numpy(dtype=bool, na_value=False) & (rows >= 0)
    return np.bincount(rows[case], minlength=size)


def _case_work_share(geo: Geography, case_per_row: np.ndarray, contacts: np.ndarray,
                     confidence: float | Sequence[float]) -> _Rows:
    return _proportion_rows(np.arange(geo.size), unit_sums(geo, case_per_row), contacts, confidence)


def person_times(
    regions: pd.DataFrame,
    services: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    per: float = 1000,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Service contacts (person-times, 服务人次) per ``per`` residents in the year.

    Call it for the volume indicator of a report, comparable between units of
    different size.

    Parameters
    ----------
    regions : DataFrame
        The ``regions`` table with ``population``.
    services : DataFrame
        The service ledger: ``date`` and ``township_code``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to.
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    per : float, default 1000
        Rate multiplier: contacts per ``per`` residents.
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the Poisson interval.

    Returns
    -------
    DataFrame
        Keys ``year`` and unit codes; then ``n`` (contacts), ``denominator``
        (resident population), ``value``, ``lower``, ``upper``,
        ``confidence``, ``statistic`` (``"rate per 1000"``) and ``method``
        (``"Exact"`` or ``"Byars"``).

    Raises
    ------
    ValueError
        If a table is not a DataFrame or lacks a column, the level or a year
        is unknown, ``per`` is not positive or a ledger row names a township
        that is not in ``regions`` for its year.

    Notes
    -----
    Every ledger row is one contact (one person served once); contacts are
    counted at the station's township in the year of their ``date``.  The
    interval is that of :func:`~evalkit.measures.rates.rate`: exact Poisson
    below 10 contacts and Byar's approximation from 10.

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> out = person_times(regions, services, level="township", year=2024)
    >>> out[["township_code", "n", "denominator", "value", "method"]].round(4)
      township_code    n  denominator   value method
    0     090102001  5.0       2000.0  2.5000  Exact
    1     090102002  1.0       3000.0  0.3333  Exact
    """
    geo = geography(regions, level, year, ["population"], "person_times()")
    require(services, "services", ("date", "township_code"), "person_times()")
    contacts = count_contacts(geo, ledger_rows(geo, code_ledger(services)))
    return _framed(geo, _person_times(geo, contacts, per, confidence))


def _person_times(geo: Geography, contacts: np.ndarray, per: float,
                  confidence: float | Sequence[float]) -> _Rows:
    return _rate_rows(np.arange(geo.size), contacts, sum_by_unit(geo, ["population"])[:, 0], per,
                      confidence)


def station_coverage(
    regions: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Share of townships with a social-work station, per year.

    Call it for the build-out indicator (full coverage, one station per
    township or street, is the provincial target).

    Parameters
    ----------
    regions : DataFrame
        The ``regions`` table (``year``, the unit codes and ``township_code``).
    stations : DataFrame
        The ``stations`` table: ``year`` and ``township_code``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to (at ``"township"`` each value is 0 or 1).
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the Wilson interval.

    Returns
    -------
    DataFrame
        Keys ``year`` and unit codes; then ``n`` (townships with a station
        row that year), ``denominator`` (townships in ``regions`` that year),
        ``value``, ``lower``, ``upper``, ``confidence``, ``statistic`` and
        ``method`` (``"Wilson"``).

    Raises
    ------
    ValueError
        If a table is not a DataFrame or lacks a column, the level or a year
        is unknown, or a station row names a township that is not in
        ``regions`` for its year.

    Notes
    -----
    A township has a station in a year when ``stations`` has a row for it in
    that year (the codebook's definition); two rows for the same township and
    year count once.

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> station_coverage(regions, stations)[["year", "n", "denominator", "value"]]
       year    n  denominator  value
    0  2023  1.0          2.0    0.5
    1  2024  2.0          2.0    1.0
    """
    geo = geography(regions, level, year, [], "station_coverage()")
    require(stations, "stations", ("year", "township_code"), "station_coverage()")
    rows = locate(geo, stations, "stations", year_numbers(stations, "stations"))
    return _framed(geo, _station_coverage(geo, rows, confidence))


def _station_coverage(geo: Geography, rows: np.ndarray,
                      confidence: float | Sequence[float]) -> _Rows:
    has_station = np.zeros(len(geo.regions), dtype=bool)
    has_station[rows[rows >= 0]] = True
    return _proportion_rows(np.arange(geo.size),
                            np.bincount(geo.unit, weights=has_station, minlength=geo.size),
                            np.bincount(geo.unit, minlength=geo.size), confidence)


def staffing(
    regions: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Social workers per station and per 10,000 residents, certified share, professional level, volunteers.

    Call it for the input (投入) indicators on staffing and professional
    level.

    Parameters
    ----------
    regions : DataFrame
        The ``regions`` table with ``population``.
    stations : DataFrame
        The ``stations`` table: ``year``, ``township_code``,
        ``social_workers``, ``certified_social_workers``, ``service_level``
        and ``volunteers``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to.
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the intervals.

    Returns
    -------
    DataFrame
        Keys ``year``, unit codes and ``measure`` (codes of
        :data:`STAFFING_MEASURES`), then the standard columns:

        * ``social_workers_per_station``: ``n`` social workers, ``denominator``
          stations, rate per 1 (Poisson interval);
        * ``social_workers_per_10000``: social workers per 10,000 residents
          (Poisson);
        * ``certified_share``: ``n`` certified social workers out of
          ``denominator`` social workers (Wilson);
        * ``professional_station_share``: ``n`` stations at a professional
          level (:data:`PROFESSIONAL_LEVELS`: 2.0 or 3.0) out of ``denominator``
          stations (Wilson);
        * ``volunteers_per_10000``: registered volunteers per 10,000 residents
          (Poisson).

    Raises
    ------
    ValueError
        If a table is not a DataFrame or lacks a column, the level or a year
        is unknown, or a station row names a township that is not in
        ``regions`` for its year.

    Notes
    -----
    Staff are summed over the unit's station rows for the year; residents are
    the population of all the unit's townships, with or without a station.  A
    unit without stations has a missing value per station and a missing
    certified share (0 of 0).

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> out = staffing(regions, stations, year=2024)
    >>> out[["measure", "n", "denominator", "value", "method"]]
                          measure      n  denominator  value  method
    0  social_workers_per_station    5.0          2.0    2.5   Exact
    1    social_workers_per_10000    5.0       5000.0   10.0   Exact
    2             certified_share    2.0          5.0    0.4  Wilson
    3  professional_station_share    1.0          2.0    0.5  Wilson
    4        volunteers_per_10000  100.0       5000.0  200.0   Byars
    """
    columns = ("social_workers", "certified_social_workers", "volunteers", "service_level")
    geo = geography(regions, level, year, ["population"], "staffing()")
    require(stations, "stations", ("year", "township_code", *columns), "staffing()")
    rows = locate(geo, stations, "stations", year_numbers(stations, "stations"))
    return _framed(geo, _staffing(geo, stations, rows, confidence))


def _staffing(geo: Geography, stations: pd.DataFrame, rows: np.ndarray,
              confidence: float | Sequence[float]) -> _Rows:
    columns = ("social_workers", "certified_social_workers", "volunteers")
    ok = rows >= 0
    unit = geo.unit[rows[ok]]
    sums = {
        c: np.bincount(unit, weights=_numbers(stations, c, "stations")[ok], minlength=geo.size)
        for c in columns
    }
    n_stations = np.bincount(unit, minlength=geo.size)
    from ..schema import codes  # the data model's code list, which validation checks the column against

    levels = list(codes("service_level"))
    level = pd.Series(stations["service_level"].to_numpy(dtype=object)[ok])
    known = level.isin(levels).to_numpy()
    if not known.all():
        i = int(np.flatnonzero(ok)[np.flatnonzero(~known)[0]])
        raise ValueError(f"Column 'service_level' of stations must be one of {', '.join(levels)} (as text); "
                         f"row {stations.index[i]!r} has {stations['service_level'].iloc[i]!r}.")
    n_professional = np.bincount(unit, weights=level.isin(PROFESSIONAL_LEVELS).to_numpy(), minlength=geo.size)
    population = sum_by_unit(geo, ["population"])[:, 0]
    workers = sums["social_workers"]
    ids = np.arange(geo.size)
    parts = [
        _rate_rows(ids, workers, n_stations, 1, confidence),
        _rate_rows(ids, workers, population, 10_000, confidence),
        _proportion_rows(ids, sums["certified_social_workers"], workers, confidence),
        _proportion_rows(ids, n_professional, n_stations, confidence),
        _rate_rows(ids, sums["volunteers"], population, 10_000, confidence),
    ]
    return _stack(parts, STAFFING_MEASURES, _confidence_levels(confidence).size)


def cost(
    regions: pd.DataFrame,
    stations: pd.DataFrame,
    services: pd.DataFrame,
    *,
    level: str = "county",
    year: YearArg = None,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Public funding per person-time and per person served (economy, efficiency).

    Call it for the "3E" economy indicators: what did one service contact,
    and one person reached, cost the purse?

    Parameters
    ----------
    regions : DataFrame
        The ``regions`` table (``year``, the unit codes and ``township_code``).
    stations : DataFrame
        The ``stations`` table: ``year``, ``township_code`` and ``budget_yuan``.
    services : DataFrame
        The service ledger: ``date``, ``township_code`` and ``person_id``.
    level : {"township", "county", "prefecture", "province"}, default "county"
        Geography to aggregate to.
    year : int, sequence of int or None, default None
        Year(s) to compute; ``None`` for every year of ``regions``.
    confidence : float or sequence of float, default 0.95
        Only repeated into the ``confidence`` column (see Notes).

    Returns
    -------
    DataFrame
        Keys ``year``, unit codes and ``measure`` (codes of
        :data:`COST_MEASURES`); ``n`` is the budget in yuan, ``denominator``
        the contacts (``cost_per_person_time``) or the distinct persons served
        (``cost_per_person_served``), ``value`` yuan per contact or person,
        ``lower`` and ``upper`` missing, ``statistic`` ``"yuan per
        person-time"`` or ``"yuan per person served"`` and ``method``
        ``"ratio"``.

    Raises
    ------
    ValueError
        If a table is not a DataFrame or lacks a column, the level or a year
        is unknown, or a row names a township that is not in ``regions`` for
        its year.

    Notes
    -----
    ``value = budget / count``, the budget summed over the unit's stations for
    the year.  No interval is given: the budget is an accounting total with no
    sampling error, and an interval from Poisson variation of the count alone
    would be far narrower than the real uncertainty (how contacts are
    recorded, how the budget is apportioned), so it would mislead; ``lower``
    and ``upper`` are missing and ``method`` is ``"ratio"``.  Persons are
    distinct ``person_id`` over all groups, counted once per unit and year.
    A unit without contacts has a missing value.

    Examples
    --------
    >>> regions, stations, services = _example()
    >>> out = cost(regions, stations, services, year=2024)
    >>> out[["measure", "n", "denominator", "value", "method"]]
                      measure         n  denominator    value method
    0    cost_per_person_time  300000.0          6.0  50000.0  ratio
    1  cost_per_person_served  300000.0          5.0  60000.0  ratio
    """
    geo = geography(regions, level, year, [], "cost()")
    require(stations, "stations", ("year", "township_code", "budget_yuan"), "cost()")
    require(services, "services", ("date", "township_code", "person_id"), "cost()")
    levels = _confidence_levels(confidence)
    st_rows = locate(geo, stations, "stations", year_numbers(stations, "stations"))
    budget = _budget(geo, stations, st_rows)
    ledger = code_ledger(services, persons=True)
    sv_rows = ledger_rows(geo, ledger)
    served = count_served([geo], ledger, sv_rows, groups=False)[0]
    return _framed(geo, _cost(geo, budget, count_contacts(geo, sv_rows), served.persons, levels))


def _budget(geo: Geography, stations: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    ok = rows >= 0
    budget = _numbers(stations, "budget_yuan", "stations")[ok]
    return np.bincount(geo.unit[rows[ok]], weights=budget, minlength=geo.size)


def _cost(geo: Geography, budget: np.ndarray, contacts: np.ndarray, persons: np.ndarray,
          levels: np.ndarray) -> _Rows:
    parts = []
    for denominator, statistic in ((contacts, "yuan per person-time"),
                                   (persons, "yuan per person served")):
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(denominator > 0, budget / denominator, np.nan)
        parts.append({"unit_year": np.repeat(np.arange(geo.size), levels.size),
                      **_long_columns(geo.size, levels, {
                          "n": budget, "denominator": denominator.astype(float), "value": value,
                          "lower": np.nan, "upper": np.nan, "statistic": statistic,
                          "method": "ratio"})})
    return _stack(parts, COST_MEASURES, levels.size)


def equity(
    data: pd.DataFrame,
    *,
    by: str = "county",
    unit: str = "township",
    value: str = "value",
    weight: str = "denominator",
    rank: str | None = None,
    descending: bool = False,
) -> pd.DataFrame:
    """Inequality of a measure across the townships of each county, for all counties at once.

    Call it on a township-level result of this module (for example
    ``person_times(..., level="township")``) to see whether a county's
    service is spread evenly over its townships (the fourth "E", equity).

    Parameters
    ----------
    data : DataFrame
        One row per ``unit`` (township) and partition, with the column
        ``<unit>_code``, the column ``<by>_code``, ``value`` and ``weight``.
        The partition is ``year`` (if present), the codes from
        ``province_code`` down to ``<by>_code`` that are present, and
        ``group``, ``measure`` and ``confidence`` where present.
    by : {"county", "prefecture", "province"}, default "county"
        The parent level: one result per parent unit.
    unit : {"township", "county", "prefecture"}, default "township"
        The level of the rows; finer than ``by``.
    value : str, default "value"
        Column of the measure (a rate or proportion per township).
    weight : str, default "denominator"
        Column of township sizes for the concentration index (the population
        for :func:`person_times`, the register for :func:`coverage`).
    rank : str, optional
        Column to rank townships by for the concentration index, lowest first
        (default: ``weight``, so townships are ranked by size).  To rank from
        the most to the least deprived, pass a deprivation column such as the
        dibao share and ``descending=True``.
    descending : bool, default False
        Rank from the highest ``rank`` to the lowest.

    Returns
    -------
    DataFrame
        The partition keys and ``equity`` (codes of :data:`EQUITY_MEASURES`),
        then ``n`` (townships used), ``denominator`` (their total ``weight``),
        ``value``, ``lower`` and ``upper`` (missing: no interval),
        ``confidence`` (from ``data``, else missing), ``statistic`` and
        ``method``.

    Raises
    ------
    ValueError
        If a column is missing, ``by`` or ``unit`` is unknown or ``unit`` is
        not finer than ``by``, or a township appears twice in one partition.

    Notes
    -----
    Townships with a missing ``value``, ``weight`` or ``rank`` are left out;
    with fewer than two townships left every summary is missing.  With ``k`` townships
    and values ``y``:

    * ``top_bottom_fifth_ratio``: the mean of the ``m`` highest values over
      the mean of the ``m`` lowest, ``m = max(1, floor(k/5 + 1/2))``
      townships, unweighted (the quintile ratio on townships); missing when
      the bottom mean is 0.
    * ``coefficient_of_variation``: the standard deviation (divisor ``k``: the
      townships are the whole county, not a sample) over the mean,
      unweighted; missing when the mean is 0.
    * ``concentration_index``: the grouped-data concentration index [1]_,
      [2]_, [3]_ ``C = 2 / mu * sum(w_i y_i R_i) - 1``, with ``w_i`` the
      township's share of the total ``weight``, ``mu = sum(w_i y_i)`` (for a
      rate, the county's overall rate) and ``R_i`` its fractional rank: the
      weight share of townships ranked below it plus half its own.  Tied
      townships share the mean fractional rank of their block, so the result
      does not depend on row order.  ``C`` lies in (-1, 1); 0 means no
      association with the ranking, a positive value that the measure is
      concentrated among the highest-ranked townships (with the default, the
      largest).  Missing when ``mu`` is 0.

    References
    ----------
    .. [1] Wagstaff A, Paci P, van Doorslaer E. On the measurement of
       inequalities in health. Soc Sci Med 1991;33:545-557.
       doi:10.1016/0277-9536(91)90212-U
    .. [2] Kakwani N, Wagstaff A, van Doorslaer E. Socioeconomic inequalities
       in health: measurement, computation, and statistical inference.
       J Econom 1997;77:87-103. doi:10.1016/S0304-4076(96)01807-6
    .. [3] O'Donnell O, van Doorslaer E, Wagstaff A, Lindelow M. Analyzing
       health equity using household survey data. Washington, DC: World
       Bank; 2008, chapter 8. doi:10.1596/978-0-8213-6933-3

    Examples
    --------
    >>> import pandas as pd
    >>> towns = pd.DataFrame({
    ...     "year": 2024, "county_code": "090102",
    ...     "township_code": ["090102001", "090102002", "090102003", "090102004",
    ...                       "090102005"],
    ...     "value": [1.0, 2.0, 3.0, 4.0, 5.0], "denominator": 1000.0,
    ...     "rank": [1, 2, 3, 4, 5]})
    >>> out = equity(towns, rank="rank")
    >>> out[["county_code", "equity", "n", "value"]].round(4)
      county_code                    equity  n   value
    0      090102    top_bottom_fifth_ratio  5  5.0000
    1      090102  coefficient_of_variation  5  0.4714
    2      090102       concentration_index  5  0.2667
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"Data must be a pandas DataFrame; got {type(data).__name__}.")
    _check_method(by, {lv: lv for lv in LEVELS[1:]}, what="By")
    _check_method(unit, {lv: lv for lv in LEVELS[:-1]}, what="Unit")
    if LEVELS.index(unit) >= LEVELS.index(by):
        raise ValueError(
            f"Unit must be a finer level than by; got unit {unit!r} and by {by!r} "
            "(for example unit='township', by='county')."
        )
    child = f"{unit}_code"
    rank_col = weight if rank is None else rank
    require(data, "data", list(dict.fromkeys([f"{by}_code", child, value, weight, rank_col])),
            "equity()")
    partition = [c for c in ("year", *LEVEL_KEYS[by], "group", "measure", "confidence")
                 if c in data.columns]
    d = data[list(dict.fromkeys([*partition, child]))].reset_index(drop=True)
    dup = d.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        where = ", ".join(f"{c} {plain(d.at[i, c])!r}" for c in partition)
        raise ValueError(
            f"Data has more than one row for {child} {d.at[i, child]!r} in the partition "
            f"({where}); equity() needs one row per {unit}. Filter the table first, "
            "for example to one group or measure."
        )
    y = _numbers(data, value, "data")
    w = _numbers(data, weight, "data")
    r = _numbers(data, rank_col, "data") * (-1.0 if descending else 1.0)
    part = d.groupby(partition, sort=True, dropna=False).ngroup().to_numpy()
    keys = d.groupby(partition, sort=True, dropna=False).size().reset_index()[partition]
    groups = len(keys)
    use = ~(np.isnan(y) | np.isnan(w) | np.isnan(r))
    part_u, y_u, w_u, r_u = part[use], y[use], w[use], r[use]
    k = np.bincount(part_u, minlength=groups)
    total_w = np.bincount(part_u, weights=w_u, minlength=groups)
    ratio = _fifth_ratio(part_u, y_u, k)
    cv = _coefficient_of_variation(part_u, y_u, k)
    ci = _concentration_index(part_u, y_u, w_u, r_u, groups)
    enough = k >= 2
    values = np.column_stack([ratio, cv, ci])
    values[~enough] = np.nan

    if "confidence" in keys.columns:
        conf = keys.pop("confidence").to_numpy(dtype=float)
    else:
        conf = np.full(groups, np.nan)
    order = "descending" if descending else "ascending"
    out = keys.loc[keys.index.repeat(3)].reset_index(drop=True)
    out["equity"] = np.tile(EQUITY_MEASURES, groups)
    out["n"] = np.repeat(k, 3)
    out["denominator"] = np.repeat(total_w, 3)
    out["value"] = values.reshape(-1)
    out["lower"] = np.nan
    out["upper"] = np.nan
    out["confidence"] = np.repeat(conf, 3)
    out["statistic"] = np.tile(
        ["ratio of top to bottom fifth", "coefficient of variation", "concentration index"],
        groups,
    )
    out["method"] = np.tile(
        [
            f"unweighted means of the highest and lowest fifth of {unit}s",
            f"unweighted, standard deviation with divisor k over {unit}s",
            f"grouped data, weighted by {weight}, ranked by {rank_col} {order}",
        ],
        groups,
    )
    return out


def by_level(
    regions: pd.DataFrame,
    stations: pd.DataFrame,
    services: pd.DataFrame,
    levels: Sequence[str],
    *,
    per: float,
    confidence: float | Sequence[float],
) -> dict[str, tuple[pd.DataFrame, dict[str, _Rows]]]:
    """The reach measures of the indicator table at several levels, every year, in one pass.

    For each level: the unit-years (``year`` and unit codes, as the measures' keys) and the
    rows of ``coverage(total=True)``, ``home_visit_share(by_group=True, total=True)``,
    ``case_work_share``, ``person_times(per=per)``, ``station_coverage``, ``staffing`` and ``cost``: the tables those
    functions return, as arrays, with ``unit_year`` (the row of the unit-years) for the keys;
    and ``_persons``, the distinct persons served per unit-year (those behind the contacts: 3 people
    seen 40 times are still 3 people, which decides whether a figure about contacts may be shown).
    The ledger is coded and sorted once for all levels instead of once per measure and level,
    and no frame is made.
    """
    geos = {level: geography(regions, level, None, ["population", *GROUP_REGISTERS.values()],
                             "indicator_table()") for level in levels}
    require(services, "services", (*_SERVICE_COLUMNS, "mode"), "indicator_table()")
    require(stations, "stations", ("year", "township_code", "social_workers",
                                   "certified_social_workers", "volunteers", "service_level", "budget_yuan"),
             "indicator_table()")
    finest = max(geos.values(), key=lambda geo: geo.keys.shape[1])
    ledger = code_ledger(services, persons=True, visits=True)
    sv_rows = ledger_rows(finest, ledger)
    st_rows = locate(finest, stations, "stations", year_numbers(stations, "stations"))
    served = count_served(list(geos.values()), ledger, sv_rows, visits=True)
    contacts_per_row = np.bincount(sv_rows[sv_rows >= 0], minlength=len(finest.regions))
    case_per_row = _case_work(services, sv_rows, len(finest.regions))
    groups = list(GROUP_REGISTERS)
    out = {}
    for (level, geo), persons in zip(geos.items(), served):
        contacts = unit_sums(geo, contacts_per_row)
        out[level] = geo.keys, {
            "coverage": _coverage(geo, persons, groups, True, confidence),
            "home_visit_share": _home_visit_share(geo, persons, True, True, confidence),
            "case_work_share": _case_work_share(geo, case_per_row, contacts, confidence),
            "person_times": _person_times(geo, contacts, per, confidence),
            "station_coverage": _station_coverage(geo, st_rows, confidence),
            "staffing": _staffing(geo, stations, st_rows, confidence),
            "cost": _cost(geo, _budget(geo, stations, st_rows), contacts, persons.persons,
                          _confidence_levels(confidence)),
            "_persons": persons.persons,
        }
    return out


# --- equity helpers -------------------------------------------------------------------


def _fifth_ratio(part: np.ndarray, y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Mean of the top fifth over the mean of the bottom fifth, per partition."""
    groups = k.size
    order = np.lexsort((y, part))
    p, ys = part[order], y[order]
    start = np.concatenate([[0], np.cumsum(k)[:-1]])
    pos = np.arange(p.size) - start[p]
    m = np.maximum(1, np.floor(k / 5 + 0.5)).astype(np.int64)
    bottom = pos < m[p]
    top = pos >= (k - m)[p]
    low = np.bincount(p[bottom], weights=ys[bottom], minlength=groups) / m
    high = np.bincount(p[top], weights=ys[top], minlength=groups) / m
    with np.errstate(all="ignore"):
        return np.where(low > 0, high / low, np.nan)


def _coefficient_of_variation(part: np.ndarray, y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Population standard deviation over the mean, per partition (unweighted)."""
    groups = k.size
    with np.errstate(all="ignore"):
        mean = np.bincount(part, weights=y, minlength=groups) / k
        dev = y - mean[part]
        sd = np.sqrt(np.bincount(part, weights=dev * dev, minlength=groups) / k)
        return np.where(mean != 0, sd / mean, np.nan)


def _concentration_index(
    part: np.ndarray, y: np.ndarray, w: np.ndarray, r: np.ndarray, groups: int
) -> np.ndarray:
    """Grouped-data concentration index per partition; ties share their mean fractional rank."""
    frame = pd.DataFrame({"p": part, "r": r, "w": w, "y": y}).sort_values(
        ["p", "r"], kind="stable"
    )
    total = frame.groupby("p")["w"].transform("sum")
    frame["w"] = frame["w"] / total
    below = frame.groupby("p")["w"].cumsum() - frame["w"]
    block = frame.groupby(["p", "r"], dropna=False)
    frame["R"] = below.groupby([frame["p"], frame["r"]], dropna=False).transform("min") + (
        block["w"].transform("sum") / 2
    )
    frame["wy"] = frame["w"] * frame["y"]
    frame["wyR"] = frame["wy"] * frame["R"]
    sums = frame.groupby("p")[["wy", "wyR"]].sum().reindex(range(groups))
    mu, s = sums["wy"].to_numpy(), sums["wyR"].to_numpy()
    with np.errstate(all="ignore"):
        return np.where(mu != 0, 2 * s / mu - 1, np.nan)



#: A measure's rows before they are framed: ``unit_year`` (the row of ``geo.keys``) and any
#: other keys first, then the measure's columns; each an array with one value per row, or one
#: value for all rows.
_Rows = dict[str, Any]


def _framed(geo: Geography, rows: _Rows) -> pd.DataFrame:
    """A measure's rows as the public functions return them: the unit keys, then the rest."""
    keys = geo.keys.iloc[rows["unit_year"]].reset_index(drop=True)
    rest = {c: v for c, v in rows.items() if c != "unit_year"}
    return pd.concat([keys, pd.DataFrame(rest, index=keys.index)], axis=1)


def _proportion_rows(unit_year: np.ndarray, x: np.ndarray, n: np.ndarray,
                     confidence: float | Sequence[float], **keys: np.ndarray) -> _Rows:
    """``proportion(data, "n", "denominator")`` of a frame of ``keys``, ``n`` = ``x`` and
    ``denominator`` = ``n`` (same checks and messages), as rows."""
    levels = _confidence_levels(confidence)
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    labels = pd.RangeIndex(x.size)
    _check_not_negative(x, labels, "n", "Numerators")
    _check_not_negative(n, labels, "denominator", "Denominators")
    _check_not_above(x, n, labels, "n", "denominator")
    return {"unit_year": np.repeat(unit_year, levels.size),
            **{c: np.repeat(v, levels.size) for c, v in keys.items()},
            **_long_columns(x.size, levels, proportion_columns(x, n, levels))}


def _rate_rows(unit_year: np.ndarray, x: np.ndarray, n: np.ndarray, per: float,
               confidence: float | Sequence[float]) -> _Rows:
    """``rate(data, "n", "denominator", per=per)`` of a frame with ``n`` = ``x`` and
    ``denominator`` = ``n`` (same checks and messages), as rows."""
    levels = _confidence_levels(confidence)
    _check_positive(per, "The rate multiplier per")
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    labels = pd.RangeIndex(x.size)
    _check_not_negative(x, labels, "n", "Numerators")
    _check_not_negative(n, labels, "denominator", "Denominators")
    return {"unit_year": np.repeat(unit_year, levels.size),
            **_long_columns(x.size, levels, rate_columns(x, n, levels, per))}


def _group_rows(
    geo: Geography,
    groups: Sequence[str],
    served: np.ndarray,
    registered: np.ndarray,
    confidence: float | Sequence[float],
    total: bool = False,
) -> _Rows:
    if total:
        rows = [_group_rows(geo, groups, served, registered, confidence),
                {**_total_rows(geo, served, registered, confidence), "group": "all"}]
        size = [len(r["unit_year"]) for r in rows]
        return {c: _one_text([r[c] for r in rows])
                or np.concatenate([_per_row(r[c], m) for r, m in zip(rows, size)]) for c in rows[0]}
    g = len(groups)
    out = _proportion_rows(np.repeat(np.arange(geo.size), g),
                           np.minimum(served, registered).reshape(-1), registered.reshape(-1),
                           confidence, group=np.tile(np.asarray(groups, dtype=object), geo.size))
    k = _confidence_levels(confidence).size
    out["served"] = np.repeat(served.reshape(-1), k)
    out["capped"] = np.repeat((served > registered).reshape(-1), k)
    return out


def _per_row(values: object, rows: int) -> np.ndarray:
    """A column of rows: an array as it is, one value repeated (text as objects)."""
    if np.ndim(values) == 0:
        text = isinstance(values, str) or values is None
        return np.full(rows, values, dtype=object if text else None)
    return np.asarray(values)


def _one_text(values: list[object]) -> str | None:
    """The text every part has for all its rows (a statistic, a method), if they agree: it stays one
    value instead of becoming a column of objects."""
    first = values[0]
    return first if isinstance(first, str) and all(isinstance(v, str) and v == first for v in values) else None


def _stack(parts: list[_Rows], measures: Sequence[str], levels: int) -> _Rows:
    """Interleave per-measure rows: unit-year, then measure, then confidence level."""
    m, size = len(parts), len(parts[0]["unit_year"])

    def interleave(values: list[np.ndarray]) -> np.ndarray:
        return np.stack(values).reshape(m, size // levels, levels).transpose(1, 0, 2).reshape(-1)

    out = {"unit_year": interleave([p["unit_year"] for p in parts]),
           "measure": interleave([np.full(size, name, dtype=object) for name in measures])}
    for c in OUTPUT_COLUMNS:
        out[c] = _one_text([p[c] for p in parts]) or interleave([_per_row(p[c], size) for p in parts])
    return out


def _example() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A tiny province for the examples: one county, two townships, 2023 and 2024."""
    regions = pd.DataFrame({
        "year": [2023, 2023, 2024, 2024],
        "province_code": "09", "prefecture_code": "0901", "county_code": "090102",
        "township_code": ["090102001", "090102002"] * 2,
        "population": [2000, 3000] * 2,
        "reg_dibao": [4, 6] * 2, "reg_tekun": [10, 10] * 2,
        "reg_left_behind_child": [10, 10] * 2, "reg_child_in_difficulty": [10, 10] * 2,
        "reg_elderly": [8, 12] * 2, "reg_disabled": [18, 42] * 2,
    })
    stations = pd.DataFrame({
        "year": [2023, 2024, 2024], "township_code": ["090102001", "090102001", "090102002"],
        "social_workers": [2, 3, 2], "certified_social_workers": [1, 1, 1],
        "volunteers": [40, 60, 40], "service_level": ["1.0", "2.0", "1.0"],
        "budget_yuan": [150000.0, 160000.0, 140000.0],
    })
    services = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-09", "2024-03-10",
                                "2024-06-01", "2024-07-01", "2023-05-05"]),
        "township_code": ["090102001"] * 5 + ["090102002", "090102001"],
        "person_id": ["P1", "P1", "P2", "P3", "P4", "P5", "P1"],
        "person_group": ["dibao", "dibao", "dibao", "elderly", "general", "dibao", "dibao"],
        "mode": ["home_visit", "drop_in", "drop_in", "drop_in", "drop_in", "drop_in",
                 "drop_in"],
    })
    return regions, stations, services
