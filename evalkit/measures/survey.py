"""Design-based survey estimation with Taylor-linearised standard errors.

Weighted means, totals, ratios and proportions for a sample drawn with optional strata,
clusters (one stage, or two stages when both stages have a finite population correction),
sampling weights and finite population corrections, with the variance computed as R's
``survey`` package computes it [1]_.  One call estimates every group of ``by`` at once.

Method
------
Each estimate :math:`\\hat\\theta` is linearised into per-row scores :math:`z_i`
(mean: :math:`w_i (y_i - \\hat{\\bar y}) / \\hat W`; total: :math:`w_i y_i`; ratio:
:math:`w_i (y_i - \\hat R x_i) / \\hat X`).  Rows outside a group or domain score zero but stay
in the design, so their PSUs still count (R's ``svyby``, ``subset`` and ``na.rm=TRUE``).  With
:math:`Z_{hc}` the score total of PSU *c* in stratum *h*, :math:`n_h` the PSUs sampled in *h*
and :math:`f_h = 1 - n_h / N_h` (1 without an fpc),

.. math:: \\hat V = \\sum_h f_h \\frac{n_h}{n_h - 1} \\sum_c (Z_{hc} - \\bar Z_h)^2
          \\; + \\sum_c \\frac{n_h}{N_h} \\hat V_{2,c},

where the second term, R's ``multistage``, is the same formula applied to the second-stage
units inside each PSU *c* and is used only for two-stage designs with an fpc at both stages.

Groups and domains: ``by`` estimates each group as a domain of the whole design (R's
``svyby``), as does ``domain``.  For a group made of whole strata (a county made of its
township strata) this gives the same estimate and SE as analysing the county as a design of
its own, because the variance is a sum over strata and strata outside the county add nothing;
``svy_prop(df="domain")`` then also gives the county design's degrees of freedom.  For a group
that cuts across PSUs (a respondent group, or rows with an answer) only the domain approach is
right: the group's sample size is random and PSUs without members still count, as zeros.

Lonely PSUs (a stratum with one sampled PSU; ``lonely_psu``, R's ``survey.lonely.psu``):

* ``"adjust"`` (default): the PSU is not centred (R centres it at zero, the grand mean of
  the scores of a mean or ratio), so the stratum adds variance instead of none.  It is the
  conservative choice for a township stratum that holds one sampled village: a batch of
  county reports never stops, and the interval errs wide rather than narrow.  For totals the
  scores are not centred, so the contribution is large, exactly as in R.
* ``"average"``: the stratum is left out and the variance is scaled up by
  (strata) / (strata with more than one PSU), counting the strata present in the domain.
* ``"certainty"`` and ``"remove"``: the stratum adds no variance (R computes both alike).
* ``"fail"``: raise, naming the stratum.

A stratum whose fpc says every PSU was sampled (:math:`f_h < 10^{-7}`) adds no variance
and is never lonely.  At stage 2, ``"average"`` acts as ``"remove"`` (R returns NaN).

References
----------
.. [1] Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
       doi:10.1002/9780470580066
.. [2] Korn E.L., Graubard B.I. (1998). Confidence intervals for proportions with small
       expected number of positive counts estimated from survey data. *Survey Methodology*
       24(2), 193-201.
.. [3] Kish L. (1965). *Survey Sampling*. Wiley.  (design effect, effective sample size)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from evalkit import _thread

__all__ = ["CI_METHODS", "LONELY_PSU_RULES", "MISSING_CODES", "PROP_METHODS", "prop_interval", "svy_mean", "svy_prop", "svy_ratio", "svy_total"]

LONELY_PSU_RULES = ("adjust", "average", "certainty", "fail", "remove")
CI_METHODS = ("logit", "beta", "wald")
#: Every interval of a proportion :func:`prop_interval` computes: R's ``svyciprop`` methods but the
#: profile likelihood (which needs the rows: :func:`likelihood_interval`), and the Wald interval.
PROP_METHODS = ("logit", "beta", "wald", "mean", "asin", "xlogit", "wilson")
RESULT_COLUMNS = ["value", "se", "lower", "upper", "confidence", "statistic", "method",
                  "n", "deff", "n_eff", "df"]
_CERTAIN = 1e-7  # R: a stratum with 1 - n/N below this is self-representing

Columns = str | Sequence[str] | None


@dataclass(frozen=True)
class _Design:
    """Integer-coded design: one entry per row, per stratum or per PSU."""

    stratum: np.ndarray  # per row, 0..H-1
    psu: np.ndarray  # per row, 0..C-1, unique across strata
    weight: np.ndarray  # per row
    psu_stratum: np.ndarray  # per PSU
    n_psu: np.ndarray  # per stratum: PSUs sampled
    f_psu: np.ndarray  # per stratum: 1 - n/N
    frac_psu: np.ndarray  # per stratum: n/N (multiplies the stage-2 variance)
    ssu: np.ndarray | None  # per row, second-stage unit (only with a two-stage fpc)
    ssu_psu: np.ndarray | None  # per second-stage unit: its PSU
    n_ssu: np.ndarray | None  # per PSU: second-stage units sampled
    f_ssu: np.ndarray | None  # per PSU: 1 - n/N at stage 2
    lonely_psu: str
    df: int


def column_names(cols: Columns) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def require_columns(data: pd.DataFrame, cols: list[str], arg: str) -> None:
    for col in cols:
        if col not in data.columns:
            raise ValueError(f"Column {col!r} given as {arg} is not in the data.")


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.array(pd.Index(uniques).tolist(), dtype=object)


def _pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Codes of the pairs (a, b), numbered in sorted order."""
    return np.unique(a * (int(b.max()) + 1) + b, return_inverse=True)[1].reshape(-1)


def _per_unit(values: np.ndarray, unit: np.ndarray, labels: np.ndarray, what: str) -> np.ndarray:
    """The value of ``values`` in each unit, which must be constant within the unit."""
    k = int(unit.max()) + 1
    lo, hi = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(lo, unit, values)
    np.maximum.at(hi, unit, values)
    bad = np.flatnonzero(~np.isclose(lo, hi))
    if bad.size:
        raise ValueError(f"{what} varies within {labels[bad[0]]!r}; it must be constant there.")
    return lo


def _population(n: np.ndarray, fpc: np.ndarray, is_size: bool, col: str, labels) -> np.ndarray:
    pop = fpc if is_size else n / fpc
    bad = np.flatnonzero(pop < n * (1 - 1e-9))
    if bad.size:
        i = bad[0]
        raise ValueError(f"fpc column {col!r} implies more than 100% sampling in "
                         f"{labels[i]!r}: {n[i]} units sampled from a population of {pop[i]:g}.")
    return pop


def _lonely_fail(n: np.ndarray, f: np.ndarray, labels, stage: int) -> None:
    bad = np.flatnonzero((n == 1) & (f >= _CERTAIN))
    if bad.size:
        raise ValueError(f"Stratum {labels[bad[0]]!r} has only one PSU at stage {stage}, which "
                         "lonely_psu='fail' does not allow; choose 'adjust', 'average', "
                         "'certainty' or 'remove'.")


def code_design(data: pd.DataFrame, strata: str | None, psu: Columns, weight: str | None,
                fpc: Columns, nest: bool, lonely_psu: str) -> _Design:
    """Check the design arguments and code the design (R's ``svydesign``)."""
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(f"lonely_psu must be one of {', '.join(map(repr, LONELY_PSU_RULES))}; "
                         f"got {lonely_psu!r}.")
    ids, fpcs = column_names(psu), column_names(fpc)
    if len(ids) > 2:
        raise ValueError(f"psu takes one column, or two for a two-stage design; got {len(ids)}.")
    if fpcs and len(fpcs) != max(len(ids), 1):
        raise ValueError(f"fpc needs one column per sampling stage ({max(len(ids), 1)}); "
                         f"got {len(fpcs)}.")
    if strata is not None and not isinstance(strata, str):
        raise ValueError("strata takes the name of one column.")
    st = column_names(strata)
    for arg, cols in (("strata", st), ("psu", ids), ("weight", column_names(weight)), ("fpc", fpcs)):
        require_columns(data, cols, arg)
        for col in cols:
            missing = data[col].isna().to_numpy()
            if missing.any():
                raise ValueError(f"Column {col!r} given as {arg} has a missing value in row "
                                 f"{data.index[np.argmax(missing)]!r}; every row needs one.")
    n_rows = len(data)
    stratum, s_labels = _codes(data[st[0]]) if st else (np.zeros(n_rows, np.int64),
                                                          np.array(["(all)"], dtype=object))
    raw, raw_labels = _codes(data[ids[0]]) if ids else (np.arange(n_rows), np.arange(n_rows))
    if st and ids and not nest:
        per = pd.Series(stratum).groupby(raw).nunique().to_numpy()
        if (per > 1).any():
            raise ValueError(f"PSU {raw_labels[np.argmax(per > 1)]!r} in column {ids[0]!r} appears "
                             "in more than one stratum; pass nest=True if PSU ids are only "
                             "unique within strata.")
    psu_code = _pair(stratum, raw)
    psu_stratum = np.zeros(psu_code.max() + 1, np.int64)
    psu_stratum[psu_code] = stratum
    n_psu = np.bincount(psu_stratum, minlength=len(s_labels))
    f_psu, frac_psu = np.ones(len(s_labels)), np.ones(len(s_labels))
    w_fpc = np.ones(n_rows)
    ssu = ssu_psu = n_ssu = f_ssu = None
    if fpcs:
        vals = data[fpcs].to_numpy(dtype=float)
        if not (np.isfinite(vals) & (vals > 0)).all():
            raise ValueError("fpc columns must hold positive numbers: population sizes or "
                             "sampling fractions.")
        is_size = bool((vals > 1).any())
        if is_size and (vals < 1).any():
            raise ValueError("fpc must give either population sizes (all >= 1) or sampling "
                             "fractions (all <= 1), not a mix.")
        fp = _per_unit(vals[:, 0], stratum, s_labels, f"fpc column {fpcs[0]!r}")
        pop = _population(n_psu, fp, is_size, fpcs[0], s_labels)
        frac_psu = n_psu / pop
        f_psu = 1 - frac_psu
        w_fpc = 1 / frac_psu[stratum]
        if len(ids) == 2:
            ssu = _pair(psu_code, _codes(data[ids[1]])[0])
            ssu_psu = np.zeros(ssu.max() + 1, np.int64)
            ssu_psu[ssu] = psu_code
            n_ssu = np.bincount(ssu_psu, minlength=len(psu_stratum))
            p_labels = np.array(data[ids[0]].groupby(psu_code).first().tolist(), dtype=object)
            fp2 = _per_unit(vals[:, 1], psu_code, p_labels, f"fpc column {fpcs[1]!r}")
            frac_ssu = n_ssu / _population(n_ssu, fp2, is_size, fpcs[1], p_labels)
            f_ssu = 1 - frac_ssu
            w_fpc = w_fpc / frac_ssu[psu_code]
            if lonely_psu == "fail":
                _lonely_fail(n_ssu, f_ssu, p_labels, 2)
    if lonely_psu == "fail":
        _lonely_fail(n_psu, f_psu, s_labels, 1)
    if weight is None:
        w = w_fpc
    else:
        if not pd.api.types.is_numeric_dtype(data[weight]):
            raise ValueError(f"Weights in column {weight!r} must be numeric.")
        w = data[weight].to_numpy(dtype=float)
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"Weights in column {weight!r} must be positive; row "
                             f"{data.index[i]!r} has {w[i]}.")
    return _Design(stratum, psu_code, w, psu_stratum, n_psu, f_psu, frac_psu, ssu, ssu_psu,
                   n_ssu, f_ssu, lonely_psu, int(len(psu_stratum) - len(s_labels)))


@dataclass(frozen=True)
class _Cells:
    """The sampling units holding domain rows, per group, and their parents: one stage's layout."""

    inv: np.ndarray  # per domain row: its (group, unit) cell; cells numbered in sorted order
    pair: np.ndarray  # per cell: its (group, parent) pair; pairs numbered in sorted order
    group: np.ndarray  # per pair: the group
    parent: np.ndarray  # per pair: the parent (stratum; PSU at stage 2)


def _cells(g: np.ndarray, unit: np.ndarray, n_units: int, parent: np.ndarray) -> _Cells:
    """Cells of the domain rows in groups ``g`` and units ``unit``, whose parents are ``parent``."""
    cells, inv = np.unique(g * n_units + unit, return_inverse=True)
    return _pairs(inv.reshape(-1), cells // n_units, parent[cells % n_units], len(parent))


def _pairs(inv: np.ndarray, cell_group: np.ndarray, cell_parent: np.ndarray, n_par: int) -> _Cells:
    """The (group, parent) pairs of cells listed in sorted (group, unit) order."""
    key = cell_group * n_par + cell_parent
    if key.size and (key[1:] >= key[:-1]).all():  # units numbered within parents: already sorted
        new = np.ones(key.size, dtype=bool)
        new[1:] = key[1:] != key[:-1]
        pairs, pair = key[new], np.cumsum(new) - 1
    else:
        pairs, pair = np.unique(key, return_inverse=True)
    return _Cells(inv, pair.reshape(-1), pairs // n_par, pairs % n_par)


class _Stage:
    """One stage's variance of the groups' estimates (R's ``onestage``), for any scores ``z``.

    What does not depend on the scores (each (group, parent) pair's units sampled, units without
    domain rows, lonely-PSU rule and scale) is worked out once for the domains; :meth:`var` then
    costs the scores' unit totals and their spread.
    """

    def __init__(self, cells: _Cells, n_groups: int, n: np.ndarray, f: np.ndarray, mult: np.ndarray,
                 rule: str) -> None:
        self.cells, self.n_groups, self.rule = cells, n_groups, rule
        grp, par = cells.group, cells.parent
        self.nn, ff = n[par].astype(float), f[par]
        # units of the parent without rows in the group: they count as zeros
        self.empty = self.nn - np.bincount(cells.pair, minlength=len(par))
        self.lonely = self.nn == 1
        self.scale = ff * np.where(self.lonely, 1.0, self.nn / np.maximum(self.nn - 1, 1))
        self.certain = ff < _CERTAIN
        self.mult = mult[par]
        if rule == "average":
            self.n_strata = np.bincount(grp, minlength=n_groups)
            self.n_ok = self.n_strata - np.bincount(grp, weights=self.lonely & (ff >= _CERTAIN),
                                                    minlength=n_groups)

    def var(self, z: np.ndarray) -> np.ndarray:
        """Per-group variance of unit totals of ``z`` (domain rows) within parents.

        Units of a parent without rows in the group count as zeros, so the result is the domain
        variance of R's ``svyby``/``subset``.
        """
        return self.var_of_totals(np.bincount(self.cells.inv, weights=z))

    def var_of_totals(self, tot: np.ndarray) -> np.ndarray:
        """:meth:`var` from the scores' totals per cell (one per (group, unit) holding domain rows)."""
        cells, nn = self.cells, self.nn
        ginv = cells.pair
        mean = np.bincount(ginv, weights=tot, minlength=len(nn)) / nn
        ss = np.bincount(ginv, weights=(tot - mean[ginv]) ** 2, minlength=len(nn)) + self.empty * mean**2
        if self.rule == "adjust":
            ss = np.where(self.lonely, mean**2, ss)  # the single PSU is not centred
        contrib = np.where(self.certain, 0.0, self.scale * ss) * self.mult
        # float even when no row is in any group (numpy's bincount of nothing is an integer array)
        var = np.bincount(cells.group, weights=contrib, minlength=self.n_groups).astype(float)
        if self.rule == "average":
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.where(self.n_strata > 0, var * self.n_strata / self.n_ok, 0.0)
        return var


@dataclass(frozen=True)
class _Domains:
    """A design with its groups and domain rows coded: what every estimate over them shares."""

    design: _Design
    g: np.ndarray  # per row: its group, -1 for none
    keys: pd.DataFrame  # the keys of each group
    rows: np.ndarray  # per row: in a group and in the domain, with the analysed values present
    cells: _Cells  # stage 1: PSUs of each group within strata
    cells2: _Cells | None  # stage 2: second-stage units within PSUs (two-stage fpc only)
    copies: int = 1  # the rows are this many copies of the design's rows, stacked (copy-major)

    @property
    def n_groups(self) -> int:
        return len(self.keys)

    # what every estimate on these domains shares
    @cached_property
    def gm(self) -> np.ndarray:
        return self.g[self.rows]

    @cached_property
    def wm(self) -> np.ndarray:
        weight = self.design.weight
        return np.broadcast_to(weight, (self.copies, weight.size))[self.rows.reshape(self.copies, -1)]

    @cached_property
    def n(self) -> np.ndarray:
        return np.bincount(self.gm, minlength=self.n_groups)

    @cached_property
    def w_tot(self) -> np.ndarray:
        return np.bincount(self.gm, weights=self.wm, minlength=self.n_groups)

    @cached_property
    def w_row(self) -> np.ndarray:
        return self.w_tot[self.gm]

    @cached_property
    def stages(self) -> list[_Stage]:
        return _stages(self.design, self.cells, self.cells2, self.n_groups)


def _stages(d: _Design, cells: _Cells, cells2: _Cells | None, n_groups: int) -> list[_Stage]:
    """The variance's stages: PSUs within strata, and with a two-stage fpc, second-stage units within PSUs."""
    out = [_Stage(cells, n_groups, d.n_psu, d.f_psu, np.ones(len(d.n_psu)), d.lonely_psu)]
    if d.ssu is not None:
        rule = "remove" if d.lonely_psu == "average" else d.lonely_psu
        out.append(_Stage(cells2, n_groups, d.n_ssu, d.f_ssu, d.frac_psu[d.psu_stratum], rule))
    return out


def _domains(d: _Design, g: np.ndarray, keys: pd.DataFrame, rows: np.ndarray) -> _Domains:
    gr = g[rows]
    cells2 = None if d.ssu is None else _cells(gr, d.ssu[rows], len(d.ssu_psu), d.ssu_psu)
    return _Domains(d, g, keys, rows, _cells(gr, d.psu[rows], len(d.psu_stratum), d.psu_stratum),
                    cells2)


def stacked_domains(d: _Design, g: np.ndarray, n: int, keys: pd.DataFrame,
                    valid: np.ndarray) -> _Domains:
    """The domains of ``k`` copies of the design's rows stacked (copy-major), as :func:`_domains`
    would code them, without sorting the stacked rows.

    Row ``i`` of copy ``j`` is in group ``j * n + g[i]`` (``n`` groups per copy, ``g`` -1 for
    none) and in the domain where ``valid[j, i]``.  The (group, unit) cells of one copy are
    found once; each copy's cells are those holding a domain row, numbered in the same sorted
    order as :func:`_cells` numbers them.
    """
    k = valid.shape[0]
    stacked = np.where(g >= 0, np.arange(k)[:, None] * n + g, -1).reshape(-1)
    cells2 = None if d.ssu is None else _stacked_cells(g, n, d.ssu, d.ssu_psu, valid)
    # the design itself, not k copies of its rows: the estimates read only its weights per row
    return _Domains(d, stacked, keys, valid.reshape(-1), _stacked_cells(g, n, d.psu, d.psu_stratum, valid),
                    cells2, copies=k)


def _stacked_cells(g: np.ndarray, n_groups: int, unit: np.ndarray, parent: np.ndarray,
                   valid: np.ndarray) -> _Cells:
    k = valid.shape[0]
    n_units = len(parent)
    base = g >= 0
    pairs, inv = np.unique(g[base] * n_units + unit[base], return_inverse=True)
    pair = np.zeros(len(g), dtype=np.int64)
    pair[base] = inv.reshape(-1)
    key = (np.arange(k)[:, None] * len(pairs) + pair)[valid]
    present = np.bincount(key, minlength=k * len(pairs)) > 0
    cells = np.flatnonzero(present)
    copy, cell_pair = np.divmod(cells, len(pairs)) if len(pairs) else (cells, cells)
    return _pairs((np.cumsum(present) - 1)[key], copy * n_groups + pairs[cell_pair] // n_units,
                  parent[pairs[cell_pair] % n_units], len(parent))


def _variance(dom: _Domains, z: np.ndarray) -> np.ndarray:
    """Variance of each group's estimate from the scores ``z`` of its domain rows."""
    stages = dom.stages
    var = stages[0].var(z)
    for stage in stages[1:]:
        var = var + stage.var(z)
    return var


def group_codes(data: pd.DataFrame, by: Columns) -> tuple[np.ndarray, pd.DataFrame]:
    """Group code per row (-1 where a ``by`` key is missing) and the keys of each group."""
    keys = column_names(by)
    require_columns(data, keys, "by")
    if not keys:
        return np.zeros(len(data), np.int64), pd.DataFrame(index=range(1))
    # what data.groupby(keys, sort=True, dropna=True, observed=True) numbers, from each key's sorted
    # codes (a categorical's in category order) combined into one integer per row: no hashing of
    # the combinations, and no sort of the rows when the combinations are few.  Object columns are
    # left to groupby(), which infers the dtype of their keys.
    levels: list[pd.Index] = []
    if all(data[key].dtype != object for key in keys):
        combined = np.zeros(len(data), dtype=np.int64)
        for key in keys:
            col = data[key]
            if isinstance(col.dtype, pd.CategoricalDtype):  # codes already, in category order
                codes, uniques = col.cat.codes.to_numpy(), pd.Categorical.from_codes(
                    np.arange(len(col.cat.categories)), dtype=col.dtype)
            else:
                codes, uniques = pd.factorize(col, sort=True)
            levels.append(pd.Index(uniques, name=key))
            combined = np.where((combined < 0) | (codes < 0), -1, combined * len(uniques) + codes)
    bound = math.prod(max(len(level), 1) for level in levels)
    if not levels or bound >= 2**62:  # object keys, or combinations that do not fit in one integer
        grouped = data.groupby(keys, sort=True, dropna=True, observed=True)
        return grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64), grouped.size().index.to_frame(index=False)
    present = combined >= 0
    if bound <= 4 * len(data) + 1024:
        seen = np.zeros(bound, dtype=bool)
        seen[combined[present]] = True
        combinations = np.flatnonzero(seen)
        g = np.where(present, np.cumsum(seen)[combined] - 1, -1)
    else:
        combinations, inverse = np.unique(combined[present], return_inverse=True)
        g = np.full(len(data), -1, dtype=np.int64)
        g[present] = inverse.reshape(-1)
    # each group's key codes, and the keys as groupby() gives them (one level per key)
    codes = []
    for level in reversed(levels):
        combinations, code = np.divmod(combinations, max(len(level), 1))
        codes.insert(0, code)
    index = pd.MultiIndex(levels, codes, names=keys) if len(keys) > 1 else levels[0].take(codes[0])
    return g, index.to_frame(index=False)


def _numeric(data: pd.DataFrame, col: str, arg: str) -> np.ndarray:
    require_columns(data, [col], arg)
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise ValueError(f"Column {col!r} given as {arg} must be numeric; it has dtype {s.dtype}.")
    return s.astype(float).to_numpy(dtype=float, na_value=np.nan)


#: The survey's codes for "don't know" (8) and "refused" (9) on its five-point items (``codes.toml``).
MISSING_CODES = (8, 9)
_CODE_NAMES = {8: "8 (don't know)", 9: "9 (refused)"}


def coded_missing(data: pd.DataFrame, col: str, values: np.ndarray, domain: Any,
                  missing_codes: Sequence[float] | None) -> np.ndarray:
    """``values`` of column ``col`` with its missing-value codes dealt with, or a refusal.

    ``missing_codes=None`` (the default of the ``svy_*`` functions) refuses a column that holds the
    survey's codes 8 (don't know) or 9 (refused) in the rows analysed (``domain``) where they cannot be
    numbers: a five-point item (``q_*``) of the survey, or any column whose values are 1-5 besides 8
    and 9.  Averaged as numbers they bias every estimate (a mean score of 4.598 where the answers give
    4.536; a "satisfied" rate that counts the don't-knows).  ``missing_codes=(8, 9)`` treats those
    codes as missing (outside the domain, in the design); ``missing_codes=()`` takes the values as they
    are.
    """
    if missing_codes is None:
        rows = _domain(data, domain)
        present = values[rows]
        coded = np.isin(present, MISSING_CODES)
        if coded.any():
            rest = present[~coded & ~np.isnan(present)]
            likert = bool(np.isin(rest, (1, 2, 3, 4, 5)).all())
            if likert or col.startswith("q_"):
                found = [c for c in MISSING_CODES if (present == c).any()]
                first = data.index[np.flatnonzero(rows)[np.argmax(coded)]]
                counts = ", ".join(f"{int((present == c).sum())} rows with {_CODE_NAMES[c]}" for c in found)
                raise ValueError(
                    f"Column {col!r} holds the survey codes {' and '.join(_CODE_NAMES[c] for c in found)} "
                    f"beside the answers 1-5 ({counts}; the first in row {first!r}): estimated as numbers "
                    "they bias the result. Use province.survey_design(), which treats them as missing, or "
                    "pass missing_codes=(8, 9) to treat them as missing here, or missing_codes=() if these "
                    "values really are numbers.")
        return values
    codes = list(missing_codes)
    if not codes:
        return values
    return np.where(np.isin(values, codes), np.nan, values)


def _domain(data: pd.DataFrame, domain: Any) -> np.ndarray:
    if domain is None:
        return np.ones(len(data), bool)
    if isinstance(domain, str):
        require_columns(data, [domain], "domain")
        domain = data[domain]
    mask = pd.Series(np.asarray(domain))
    if len(mask) != len(data):
        raise ValueError(f"domain has {len(mask)} values but the data have {len(data)} rows.")
    if pd.api.types.infer_dtype(mask, skipna=True) not in ("boolean", "empty"):
        raise ValueError("domain must be True/False for each row (missing counts as False).")
    return mask.fillna(False).to_numpy(dtype=bool)


def _domain_df(dom: _Domains) -> np.ndarray:
    """R's ``degf`` of each group's subset: PSUs minus strata with rows in the group."""
    psus = np.bincount(dom.cells.group[dom.cells.pair], minlength=dom.n_groups)
    return psus - np.bincount(dom.cells.group, minlength=dom.n_groups)


def check_confidence(confidence: Any) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not (
            0 < confidence < 1):
        raise ValueError(f"confidence must be a fraction between 0 and 1 (such as 0.95); "
                         f"got {confidence!r}.")


def _estimate(data, kind, y, x, *, by, domain, strata, psu, weight, fpc, nest, lonely_psu,
              confidence) -> tuple[pd.DataFrame, dict, _Domains]:
    """Point estimates, linearised variances and design effects for every group."""
    check_confidence(confidence)
    d = code_design(data, strata, psu, weight, fpc, nest, lonely_psu)
    g, keys = group_codes(data, by)
    rows = (g >= 0) & _domain(data, domain) & ~np.isnan(y)
    if x is not None:
        rows &= ~np.isnan(x)
    dom = _domains(d, g, keys, rows)
    return keys, _estimate_on(dom, kind, y, x), dom


def _estimate_on(dom: _Domains, kind: str, y: np.ndarray, x: np.ndarray | None, *,
                 design_effects: bool = True) -> dict:
    """The estimates of :func:`_estimate` on coded domains (``y`` and ``x`` present on its rows);
    ``deff`` and ``n_eff`` are NaN unless ``design_effects``."""
    rows, n_groups = dom.rows, dom.n_groups
    gm, wm, n, w_tot = dom.gm, dom.wm, dom.n, dom.w_tot
    ym = y[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        value, z, u, dev = _scores(dom, kind, ym, x)
        srs = np.ones(n_groups) if kind == "mean" else w_tot**2
        var = _settled(_variance(dom, z), np.bincount(gm, weights=np.abs(z), minlength=n_groups), n)
        if not design_effects:
            return _result(value, var, n)
        # R's deff=TRUE: simple random sampling of n from W without replacement (for a mean,
        # u is y, whose deviations from its weighted mean are dev)
        if kind != "mean":
            u_bar = np.bincount(gm, weights=wm * u, minlength=n_groups) / w_tot
            dev = u - u_bar[gm]
        s2 = np.bincount(gm, weights=wm * dev**2, minlength=n_groups) / w_tot * n / (n - 1)
        return _result(value, var, n, s2 * srs, w_tot)


def _scores(dom: _Domains, kind: str, ym: np.ndarray, x: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Each group's estimate and its domain rows' linearisation scores ``z`` (``ym``: ``y`` on the domain
    rows), with ``u`` (what the design effect's SRS variance is of) and, for a mean, ``y``'s deviations."""
    gm, wm, n_groups = dom.gm, dom.wm, dom.n_groups
    y_tot = np.bincount(gm, weights=wm * ym, minlength=n_groups)
    dev = None
    if kind == "total":
        value, u = y_tot, ym
        z = wm * ym
    elif kind == "ratio":
        x_tot = np.bincount(gm, weights=wm * x[dom.rows], minlength=n_groups)
        value = y_tot / x_tot
        u = (ym - value[gm] * x[dom.rows]) / x_tot[gm]
        z = wm * u
    else:
        value = y_tot / dom.w_tot
        dev = ym - value[gm]
        z, u = wm * dev / dom.w_row, ym
    return value, z, u, dev


def domain_covariance(data: pd.DataFrame, kind: str, y: np.ndarray, x: np.ndarray | None, *,
                      by: Columns, domain: Any, strata: str | None, psu: Columns, weight: str | None,
                      fpc: Columns = None, nest: bool = False, lonely_psu: str = "adjust",
                      contrasts: np.ndarray | None = None
                      ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The groups' estimates of ``kind`` ("mean", "total" or "ratio") and their full covariance matrix
    (R's ``svyby(..., covmat=TRUE)``): the keys, the estimates, the rows used per group and the matrix;
    with ``contrasts`` (one row of coefficients per contrast, one column per group), the variance of each
    contrast :math:`c^\\top V c` instead of the matrix (R's ``svycontrast``).

    The variance is a quadratic form in the linearisation scores: a contrast's is the variance of the
    scores :math:`\\sum_g c_g z_g` over one domain holding the rows of every group, across the whole
    design (PSUs without those rows count as zeros, as in R), and the covariance of groups *a* and *b*
    is :math:`(V(z_a + z_b) - V(z_a) - V(z_b)) / 2`.
    """
    d = code_design(data, strata, psu, weight, fpc, nest, lonely_psu)
    g, keys = group_codes(data, by)
    rows = (g >= 0) & _domain(data, domain) & ~np.isnan(y)
    if x is not None:
        rows &= ~np.isnan(x)
    dom = _domains(d, g, keys, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        value, z, _, _ = _scores(dom, kind, y[rows], x)
    whole = _domains(d, np.where(rows, 0, -1), pd.DataFrame(index=range(1)), rows)  # all groups as one domain
    gm = dom.gm

    def var(coef: np.ndarray) -> float:
        return float(_variance(whole, coef[gm] * z)[0])

    if contrasts is not None:
        return keys, value, dom.n, np.array([var(np.asarray(c, dtype=float)) for c in np.atleast_2d(contrasts)])
    k = dom.n_groups
    cov = np.zeros((k, k))
    unit = np.eye(k)
    for a in range(k):
        cov[a, a] = var(unit[a])
    for a in range(k):
        for b in range(a + 1, k):
            cov[a, b] = cov[b, a] = (var(unit[a] + unit[b]) - cov[a, a] - cov[b, b]) / 2
    return keys, value, dom.n, cov


def _settled(var: np.ndarray, abs_z: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The variances with rounding noise of scores that cancel exactly (a domain inside one PSU) set to
    zero (``abs_z``: each group's sum of the scores' absolute values), and missing for empty groups."""
    var[var <= (1e-12 * abs_z) ** 2] = 0
    var[n == 0] = np.nan
    return var


def _result(value: np.ndarray, var: np.ndarray, n: np.ndarray, srs_var: np.ndarray | None = None,
            w_tot: np.ndarray | None = None) -> dict:
    """An estimate's columns; with ``srs_var`` (the variance under simple random sampling of n from the
    weight total ``w_tot``, before its finite population correction) its design effect, as R's
    ``deff=TRUE``, and the effective sample size; else those are NaN."""
    if srs_var is None:
        nan = np.full(len(value), np.nan)
        return {"value": value, "se": np.sqrt(var), "n": n, "deff": nan, "n_eff": nan}
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(w_tot > n, var / (srs_var * (1 - n / w_tot) / n), np.nan)
        return {"value": value, "se": np.sqrt(var), "n": n, "deff": deff, "n_eff": n / deff}


@dataclass(frozen=True)
class LevelDomains:
    """Domains of rows whose ``y`` takes a few values (levels), reduced to the weight of each level in each
    cell (a group's rows in one unit) of each stage of the design: all that :func:`mean_of_levels` reads.

    A Likert score takes five values and the indicator table asks for 21 sets of means over 600,000
    stacked answers, so passes over the rows are the cost: the rows are read once, by
    :func:`level_domains`, and domains that merge these groups (counties of townships) are made from
    the cells alone by :func:`merged_levels`, as a unit lies in one group of either.
    """

    design: _Design
    n_groups: int
    stage_cells: list[_Cells]  # per stage (see _Domains)
    w: list[np.ndarray]  # per stage: the weight of each level in each cell (levels x cells)
    w_all: list[np.ndarray]  # per stage: each cell's weight, its levels' summed in order
    cell_rows: np.ndarray  # per cell of stage 1: its number of domain rows

    @property
    def cells(self) -> _Cells:
        """Stage 1's cells (PSUs of each group within strata)."""
        return self.stage_cells[0]

    @cached_property
    def stages(self) -> list[_Stage]:
        cells = self.stage_cells
        return _stages(self.design, cells[0], cells[1] if len(cells) > 1 else None, self.n_groups)

    @cached_property
    def cell_group(self) -> list[np.ndarray]:
        """Per stage: each cell's group."""
        return [c.group[c.pair] for c in self.stage_cells]

    @cached_property
    def n(self) -> np.ndarray:
        return np.bincount(self.cell_group[0], weights=self.cell_rows, minlength=self.n_groups).astype(np.int64)

    @cached_property
    def w_tot(self) -> np.ndarray:
        return np.bincount(self.cell_group[0], weights=self.w_all[0], minlength=self.n_groups)

    @cached_property
    def w_level(self) -> np.ndarray:
        """The weight of each group's domain rows at each level (groups x levels)."""
        return np.stack([np.bincount(self.cell_group[0], weights=w, minlength=self.n_groups) for w in self.w[0]],
                        axis=1)


def level_domains(dom: _Domains, level: np.ndarray, n_levels: int) -> LevelDomains:
    """``dom`` reduced to the weights of each level per cell (``level``: each domain row's, from 0)."""
    cells = [dom.cells] + ([dom.cells2] if dom.cells2 is not None else [])
    w, w_all = [], []
    for c in cells:
        size = len(c.pair)
        by_level = np.bincount(level * size + c.inv, weights=dom.wm, minlength=n_levels * size).reshape(n_levels, size)
        total = by_level[0].copy()
        for w_l in by_level[1:]:  # level by level, in the order mean_of_levels sums the scores
            total += w_l
        w.append(by_level)
        w_all.append(total)
    return LevelDomains(dom.design, dom.n_groups, cells, w, w_all,
                        np.bincount(dom.cells.inv, minlength=len(dom.cells.pair)))


def merged_levels(ld: LevelDomains, to_group: np.ndarray, n_groups: int) -> LevelDomains:
    """The domains whose groups merge those of ``ld`` (group ``i`` of ``ld`` is group ``to_group[i]``):
    the same cells, as each unit of a group lies in one merged group, in other (group, parent) pairs."""
    cells = []
    for c, group in zip(ld.stage_cells, ld.cell_group):
        parent = c.parent[c.pair]
        cells.append(_pairs(c.inv, to_group[group], parent, int(parent.max(initial=-1)) + 1))
    return LevelDomains(ld.design, n_groups, cells, ld.w, ld.w_all, ld.cell_rows)


def mean_of_levels(ld: LevelDomains, score: np.ndarray, *, design_effects: bool = True) -> dict:
    """:func:`_estimate_on` of a mean whose ``y`` takes the values ``score`` (one per level), from the cells.

    A cell's total of ``y`` is :math:`\\sum_l s_l W_l` from its weights :math:`W_l` at each level :math:`l`
    (score :math:`s_l`), and its total of the linearised scores :math:`z_i = w_i (y_i - \\hat{\\bar y}) / W`
    is :math:`(\\sum_l s_l W_l - \\hat{\\bar y} \\sum_l W_l) / W`.  The spread of the scores (the sum of
    :math:`|z_i|` of the rounding-noise threshold, and the design effect's variance) is summed over the
    levels, as :math:`|y_i - \\hat{\\bar y}|` takes one value per level.  The results are
    :func:`_estimate_on`'s up to rounding (the same sums in another order).  Where every row of a group
    scores the same, as where everyone is satisfied, the mean is that score and the variance 0 exactly, for
    scores whose products with a weight are exact (0, -1, 1, -2 and 2: those of the satisfaction measures).
    """
    n, w_tot, n_groups = ld.n, ld.w_tot, ld.n_groups
    totals = []
    for w in ld.w:  # per stage, each cell's total of y: level by level (a sum along rows of 5 is numpy's
        total = np.zeros(w.shape[1])  # slowest kind), in the order of w_all's
        for s, w_s in zip(score, w):
            if s:  # adding 0 changes no bit
                total += s * w_s
        totals.append(total)
    y_tot = np.bincount(ld.cell_group[0], weights=totals[0], minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = y_tot / w_tot
        var = np.zeros(n_groups)
        for stage, group, total, w_all in zip(ld.stages, ld.cell_group, totals, ld.w_all):
            total -= value[group] * w_all
            total /= w_tot[group]
            var += stage.var_of_totals(total)
        dev = score - value[:, None]  # (groups, levels): y - mean at each level
        w_level = ld.w_level
        var = _settled(var, (w_level * np.abs(dev)).sum(axis=1) / w_tot, n)  # sum of |z|
        if not design_effects:
            return _result(value, var, n)
        s2 = (w_level * dev**2).sum(axis=1) / w_tot * n / (n - 1)
        return _result(value, var, n, s2, w_tot)


def _frame(keys: pd.DataFrame, out: dict, lower, upper, confidence, statistic, method, df):
    cols = {**out, "lower": lower, "upper": upper, "confidence": float(confidence),
            "statistic": statistic, "method": method, "df": df}
    if set(keys.columns) & set(RESULT_COLUMNS):  # a key named like a result column is replaced
        res = keys.copy()
        for col in RESULT_COLUMNS:
            res[col] = cols[col]
    else:  # made at once: adding columns one by one is slow
        added = pd.DataFrame({col: cols[col] for col in RESULT_COLUMNS}, index=keys.index)
        res = pd.concat([keys, added], axis=1)
    return res.astype({"n": np.int64, "df": float})


def _wald(value, se, confidence):
    z = stats.norm.ppf(0.5 + confidence / 2)
    return value - z * se, value + z * se


def _wald_result(data, kind: str, y: np.ndarray, x: np.ndarray | None, **kw) -> pd.DataFrame:
    keys, out, dom = _estimate(data, kind, y, x, **kw)
    lower, upper = _wald(out["value"], out["se"], kw["confidence"])
    return _frame(keys, out, lower, upper, kw["confidence"], kind, "wald", dom.design.df)


_SHARED_DOC = """
    by : str or list of str, optional
        Grouping columns; each group is a domain of the whole design (R's ``svyby``).
        Rows whose key is missing belong to no group but stay in the design.
    domain : str or boolean array, optional
        Column name, or mask by position, of the subpopulation; other rows score zero but
        stay in the design (R's ``subset``).  Missing counts as False.
    strata : str, optional
        Stratum column.
    psu : str or [str, str], optional
        Cluster column(s): PSU, then the second-stage unit, which enters the variance only
        when ``fpc`` covers both stages (else ultimate-cluster variance, as R).  None: each
        row is a PSU.
    weight : str, optional
        Sampling weight column (positive).  None: from ``fpc`` if given, else 1.
    fpc : str or [str, str], optional
        Finite population correction per stage: population sizes (all >= 1) or sampling
        fractions (all <= 1), constant within a stratum (stage 2: within a PSU).
    nest : bool
        PSU ids are unique only within strata (R's ``nest=TRUE``).
    lonely_psu : {"adjust", "average", "certainty", "fail", "remove"}
        Rule for a stratum with one sampled PSU; see the module notes.
    confidence : float
        Confidence level as a fraction, such as 0.95.
    missing_codes : sequence of numbers, optional
        Codes of the analysed column that mean "no answer".  None (default): a column holding the
        survey's codes 8 (don't know) or 9 (refused) beside answers 1-5 (or any ``q_*`` item with
        them) is refused, naming the codes; use ``province.survey_design()``, which treats them as
        missing.  ``(8, 9)``: those values are missing (outside the domain, in the design).
        ``()``: the values are numbers, taken as they are.

    Returns
    -------
    pandas.DataFrame
        The ``by`` keys, then ``value``, ``se``, ``lower``, ``upper``, ``confidence``,
        ``statistic``, ``method``, ``n`` (rows used), ``deff`` (design effect against simple
        random sampling of ``n`` from the weight total without replacement, as R's
        ``deff=TRUE``; NaN when the weights sum to ``n`` or less), ``n_eff`` (``n / deff``,
        Kish's effective sample size) and ``df`` (design degrees of freedom: PSUs minus strata).
        Missing values of the analysed columns leave the row out of the domain (R's
        ``na.rm=TRUE``).  A group without rows gets NaN estimates and ``n = 0``.
"""


def svy_mean(data: pd.DataFrame, y: str, *, by: Columns = None, domain: Any = None,
             strata: str | None = None, psu: Columns = None, weight: str | None = None,
             fpc: Columns = None, nest: bool = False, lonely_psu: str = "adjust",
             confidence: float = 0.95, missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
    """Weighted mean of ``y`` with a Taylor-linearised standard error (R's ``svymean``).

    :math:`\\hat{\\bar y} = \\sum w_i y_i / \\sum w_i`; scores
    :math:`z_i = w_i (y_i - \\hat{\\bar y}) / \\sum w_i`; the interval is the Wald interval with
    the normal quantile, as ``confint(svymean(...))``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    y : str
        Numeric column to average.
    {shared}
    Examples
    --------
    >>> df = pd.DataFrame({"stratum": [1, 1, 2, 2], "y": [1.0, 3.0, 2.0, 6.0],
    ...                    "w": [2.0, 2.0, 1.0, 1.0]})
    >>> res = svy_mean(df, "y", strata="stratum", weight="w")
    >>> round(float(res["value"].iloc[0]), 4), round(float(res["se"].iloc[0]), 4)
    (2.6667, 0.9428)
    """
    yv = coded_missing(data, y, _numeric(data, y, "y"), domain, missing_codes)
    return _wald_result(data, "mean", yv, None, by=by, domain=domain,
                        strata=strata, psu=psu, weight=weight, fpc=fpc, nest=nest,
                        lonely_psu=lonely_psu, confidence=confidence)


def svy_total(data: pd.DataFrame, y: str, *, by: Columns = None, domain: Any = None,
              strata: str | None = None, psu: Columns = None, weight: str | None = None,
              fpc: Columns = None, nest: bool = False, lonely_psu: str = "adjust",
              confidence: float = 0.95, missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
    """Estimated population total of ``y`` (R's ``svytotal``).

    :math:`\\hat Y = \\sum w_i y_i` with scores :math:`z_i = w_i y_i`; Wald interval with the
    normal quantile.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    y : str
        Numeric column to total (an indicator gives the number of people with a trait).
    {shared}
    Examples
    --------
    >>> df = pd.DataFrame({"y": [1.0, 0.0, 1.0, 1.0], "w": [10.0, 10.0, 20.0, 20.0]})
    >>> float(svy_total(df, "y", weight="w")["value"].iloc[0])
    50.0
    """
    yv = coded_missing(data, y, _numeric(data, y, "y"), domain, missing_codes)
    return _wald_result(data, "total", yv, None, by=by, domain=domain,
                        strata=strata, psu=psu, weight=weight, fpc=fpc, nest=nest,
                        lonely_psu=lonely_psu, confidence=confidence)


def svy_ratio(data: pd.DataFrame, numerator: str, denominator: str, *, by: Columns = None,
              domain: Any = None, strata: str | None = None, psu: Columns = None,
              weight: str | None = None, fpc: Columns = None, nest: bool = False,
              lonely_psu: str = "adjust", confidence: float = 0.95,
              missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
    """Ratio of two estimated totals, :math:`\\hat R = \\hat Y / \\hat X` (R's ``svyratio``).

    Scores :math:`z_i = w_i (y_i - \\hat R x_i) / \\hat X`; Wald interval with the normal
    quantile.  Rows missing either variable leave the domain.  The design effect compares
    with simple random sampling of the residuals :math:`(y_i - \\hat R x_i) / \\hat X`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    numerator, denominator : str
        Numeric columns whose totals form the ratio.
    {shared}
    Examples
    --------
    >>> df = pd.DataFrame({"y": [2.0, 3.0, 5.0], "x": [4.0, 6.0, 10.0], "w": [1.0, 2.0, 1.0]})
    >>> float(svy_ratio(df, "y", "x", weight="w")["value"].iloc[0])
    0.5
    """
    num = coded_missing(data, numerator, _numeric(data, numerator, "numerator"), domain, missing_codes)
    den = coded_missing(data, denominator, _numeric(data, denominator, "denominator"), domain, missing_codes)
    return _wald_result(data, "ratio", num, den, by=by, domain=domain,
                        strata=strata, psu=psu, weight=weight, fpc=fpc, nest=nest,
                        lonely_psu=lonely_psu, confidence=confidence)


def svy_prop(data: pd.DataFrame, y: str, *, level: Any = None, by: Columns = None,
             domain: Any = None, strata: str | None = None, psu: Columns = None,
             weight: str | None = None, fpc: Columns = None, nest: bool = False,
             lonely_psu: str = "adjust", confidence: float = 0.95, ci_method: str = "logit",
             df: str | float = "design", missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
    """Weighted proportion with an interval as R's ``svyciprop``.

    The estimate and standard error are those of the mean of the indicator.  Intervals:

    * ``"logit"``: :math:`\\mathrm{expit}(\\mathrm{logit}\\,\\hat p \\pm t_{df}\\,
      \\mathrm{se} / (\\hat p (1 - \\hat p)))`, R's ``svyciprop(method="logit")``.
    * ``"beta"``: Korn and Graubard [2]_: with
      :math:`n^* = \\hat p (1-\\hat p) / \\hat V \\cdot (t_{n-1} / t_{df})^2`, lower
      ``Beta(a/2; n*p, n*(1-p)+1)``, upper ``Beta(1-a/2; n*p+1, n*(1-p))``; when the variance
      is zero (p = 0 or 1) :math:`n^* = n` without the df factor, a Clopper-Pearson interval
      (R returns NaN there).  With one row
      :math:`t_{n-1}` is undefined and the bounds are NaN, as in R.
    * ``"wald"``: :math:`\\hat p \\pm z\\,\\mathrm{se}` with the normal quantile, as
      ``confint(svymean(...))``; it may leave [0, 1].

    At p = 0 or 1 the logit interval is the single point p; prefer ``"beta"`` there.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    y : str
        Column of 0/1 or True/False; or any column together with ``level``.
    level : optional
        Estimate the proportion of rows where ``y == level`` (missing ``y`` leaves the domain).
    ci_method : {"logit", "beta", "wald"}
        Interval method.
    df : "design", "domain" or float
        Degrees of freedom for the t quantile.  ``"design"``: PSUs minus strata of the whole
        design (R's ``degf(design)``, what ``svyciprop`` uses on a full design); ``"domain"``:
        the same count within each group's rows (what R's ``svyby(..., svyciprop)`` and
        ``svyciprop`` on a ``subset`` use); or a number.
    {shared}
    Examples
    --------
    >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "yes": [1, 0, 1, 1, 0, 1]})
    >>> res = svy_prop(df, "yes", psu="psu", ci_method="beta")
    >>> round(float(res["value"].iloc[0]), 4), int(res["df"].iloc[0])
    (0.6667, 2)
    """
    require_columns(data, [y], "y")
    col = data[y]
    check_prop_args(ci_method, df)
    if level is not None:
        missing = col.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            missing = missing | np.isnan(coded_missing(data, y, _numeric(data, y, "y"), domain, missing_codes))
        yv = np.where(missing, np.nan, (col == level).astype(float))
    else:
        yv = _numeric(data, y, "y")
        bad = ~np.isnan(yv) & (yv != 0) & (yv != 1)
        if bad.any():
            raise ValueError(f"Column {y!r} must hold 0/1 or True/False for a proportion; row "
                             f"{data.index[np.argmax(bad)]!r} has {yv[np.argmax(bad)]:g}. "
                             "Pass level= to count one category.")
    keys, out, dom = _estimate(data, "mean", yv, None, by=by, domain=domain, strata=strata,
                               psu=psu, weight=weight, fpc=fpc, nest=nest, lonely_psu=lonely_psu,
                               confidence=confidence)
    return _prop_frame(keys, out, dom, confidence, ci_method, df)


def check_prop_args(ci_method: str, df: str | float) -> None:
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {', '.join(map(repr, CI_METHODS))}; "
                         f"got {ci_method!r}.")
    if not (df in ("design", "domain") or (isinstance(df, (int, float))
                                           and not isinstance(df, bool) and df > 0)):
        raise ValueError(f"df must be 'design', 'domain' or a positive number; got {df!r}.")


def _prop_frame(keys: pd.DataFrame, out: dict, dom: _Domains, confidence: float, ci_method: str,
                df: str | float) -> pd.DataFrame:
    """The result of :func:`svy_prop` from its estimates."""
    dof = prop_df(dom, df)
    lower, upper = prop_interval(out["value"], out["se"], out["n"], dof, confidence, ci_method)
    return _frame(keys, out, lower, upper, confidence, "proportion", ci_method, dof)


def prop_df(dom: _Domains, df: str | float) -> np.ndarray:
    """The degrees of freedom of each group's interval (``df`` of :func:`svy_prop`)."""
    if df == "design":
        return np.full(dom.n_groups, float(dom.design.df))
    if df == "domain":
        return _domain_df(dom).astype(float)
    return np.full(dom.n_groups, float(df))


def prop_interval(p, se, n, dof, confidence: float, ci_method: str = "logit"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Interval of a design-based proportion from its estimate, SE, sample size and df.

    The interval step of :func:`svy_prop` on its own, so that one set of estimates can be
    given intervals at several confidence levels without estimating again (the formulas are
    in :func:`svy_prop`).  Besides ``svy_prop``'s methods it computes the other intervals of R's
    ``svyciprop`` but the profile likelihood (see
    :meth:`evalkit.measures.design.SurveyDesign.prop`): ``"mean"``, ``"asin"``, ``"xlogit"`` and
    ``"wilson"`` (Wilson's score interval with the effective sample size
    :math:`n^* = \\hat p (1 - \\hat p) / \\hat V` and the t quantile, as survey 4.5 computes it).

    Examples
    --------
    >>> lo, up = prop_interval(np.array([0.9]), np.array([0.03]), np.array([100]), np.array([20.0]),
    ...                        0.95, "beta")
    >>> bool(lo[0] < 0.9 < up[0])
    True
    """
    p, se, n, dof = (np.asarray(a, dtype=float) for a in (p, se, n, dof))
    alpha = 1 - confidence
    with np.errstate(divide="ignore", invalid="ignore"):
        if ci_method == "wald":
            return _wald(p, se, confidence)
        if ci_method == "logit":
            half = t_quantile(1 - alpha / 2, dof) * se / (p * (1 - p))
            edge = (p == 0) | (p == 1)
            return (np.where(edge, p, expit(logit(p) - half)), np.where(edge, p, expit(logit(p) + half)))
        if ci_method == "mean":  # R's method="mean": p -/+ t se, which may leave [0, 1]
            half = t_quantile(1 - alpha / 2, dof) * se
            return p - half, p + half
        if ci_method == "xlogit":  # R: svycontrast(log(p / (1 - p))), NaN at p = 0 or 1
            half = t_quantile(1 - alpha / 2, dof) * se / (p * (1 - p))
            return expit(np.log(p / (1 - p)) - half), expit(np.log(p / (1 - p)) + half)
        if ci_method == "wilson":  # R (survey 4.5): Wilson's score interval on the n* = p (1 - p) / V
            t = t_quantile(1 - alpha / 2, dof)
            n_eff = p * (1 - p) / se**2
            root = t / (2 * n_eff) * np.sqrt(4 * n_eff * p * (1 - p) + t * t)
            centre, denom = p + t * t / (2 * n_eff), 1 + t * t / n_eff
            return (centre - root) / denom, (centre + root) / denom
        if ci_method == "asin":  # R: svycontrast(asin(sqrt(p))), back by sin()^2 (not clipped, as R)
            half = t_quantile(1 - alpha / 2, dof) * se / (2 * np.sqrt(p) * np.sqrt(1 - p))
            centre = np.arcsin(np.sqrt(p))
            return np.sin(centre - half) ** 2, np.sin(centre + half) ** 2
        # with no variance (p = 0 or 1) R gives NaN; we give the Clopper-Pearson interval on n, without
        # the df factor, which would otherwise grow n* with the confidence level when n - 1 < df
        df_factor = (t_quantile(alpha / 2, n - 1) / t_quantile(alpha / 2, dof)) ** 2
        n_star = np.where(se > 0, p * (1 - p) / se**2 * df_factor, n)
        a, b = n_star * p, n_star * (1 - p)
        p = np.broadcast_to(p, a.shape)
        # beta quantiles are slow: only where the bound is not 0 or 1 (missing p: missing bounds)
        lower, upper = np.where(p == 0, 0.0, np.nan), np.where(p == 1, 1.0, np.nan)
        need = (p != 0) & ~np.isnan(p)
        lower[need] = _beta_quantile(alpha / 2, a[need], b[need] + 1)
        need = (p != 1) & ~np.isnan(p)
        upper[need] = _beta_quantile(1 - alpha / 2, a[need] + 1, b[need])
    return lower, upper


def _beta_quantile(q: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``stats.beta.ppf(q, a, b)``, computed once per distinct (a, b): a proportion of 0 or 1 has
    no variance, so its n* is n, and the many small domains at 100% share a handful of n."""
    pairs = np.empty(a.shape, dtype=complex)  # a pair as one number, to sort and compare at once
    pairs.real, pairs.imag = a, b
    distinct, inv = np.unique(pairs, return_inverse=True)  # pairs with a NaN become one: NaN anyway
    return _in_two_threads(lambda a, b: stats.beta.ppf(q, a, b), distinct.real, distinct.imag)[inv.reshape(a.shape)]


#: Below this many values an elementwise function runs in one thread (a thread costs about 0.1 ms).
_THREADS_FROM = 4096


def _in_two_threads(func: Any, *args: np.ndarray) -> np.ndarray:
    """``func(*args)`` of an elementwise ``func``, its first half computed in a second thread.

    Beta quantiles are the costliest step of the indicator table's intervals (about 130,000 of
    them, each an iterative inversion in scipy's compiled loop, which runs without the GIL): on two
    idle cores the halves take about half the time.  Each value is computed alone, so the result is
    the same to the last bit.
    """
    size = args[0].size
    if size < _THREADS_FROM:
        return func(*args)
    half = size // 2
    first = _thread.start(func, *(a[:half] for a in args))
    try:
        second = func(*(a[half:] for a in args))
    except BaseException:
        _thread.join_quietly(first)
        raise
    return np.concatenate([first(), second])


def t_quantile(q: float, dof: np.ndarray) -> np.ndarray:
    """``stats.t.ppf(q, dof)``, computed once per distinct df (counts of PSUs or rows: few)."""
    dof = np.asarray(dof, dtype=float)
    distinct, inv = np.unique(dof, return_inverse=True)
    return stats.t.ppf(q, distinct)[inv.reshape(dof.shape)]


for _f in (svy_mean, svy_total, svy_ratio, svy_prop):
    _f.__doc__ = _f.__doc__.replace("{shared}", _SHARED_DOC.strip("\n").lstrip() + "\n")
