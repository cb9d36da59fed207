"""Small-area estimates of proportions: empirical-Bayes shrinkage with a beta-binomial model.

A township with 12 respondents has a satisfaction rate whose interval spans half the scale.
Borrowing strength from the other townships of its prefecture gives a steadier estimate:
the township's own rate is pulled toward the prefecture's, the more so the fewer its
respondents.  These estimates are **model-based**: they rest on the assumption that the
townships of a group are exchangeable draws from one beta distribution, and every row says so
(``model_based`` is true and ``method`` names the model).  Reports must label them as such and
never mix them unlabelled with direct (design-based) estimates.

* :func:`beta_binomial_prior`: the beta prior of each group by the method of moments.
* :func:`eb_proportion`: posterior mean and equal-tailed interval for every unit at once.
* :func:`shrink_indicator`: the same on the indicator table (satisfaction by township or
  county, shrunk toward the prefecture or province), with design effects taken into account
  through effective sample sizes.

Disclosure
----------
A posterior mean ``(a + x) / (a + b + n)`` is an invertible function of the count ``x`` once the
prior and ``n`` are known, so shrinking a suppressed cell would publish what suppression hides.
:func:`shrink_indicator` therefore leaves suppressed rows suppressed (and out of the prior).

References
----------
.. [1] Kleinman JC. Proportions with extraneous variance: single and independent samples.
   J Am Stat Assoc 1973;68:46-54. doi:10.1080/01621459.1973.10481332
.. [2] Efron B, Morris C. Data analysis using Stein's estimator and its generalizations.
   J Am Stat Assoc 1975;70:311-319. doi:10.1080/01621459.1975.10479864
.. [3] Rao JNK, Molina I. Small Area Estimation. 2nd ed. Hoboken: Wiley; 2015.
   doi:10.1002/9781118735855 (section 9.6: empirical Bayes for binary data)
.. [4] Kish L. Survey Sampling. New York: Wiley; 1965 (effective sample size ``n / deff``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ._shared import (  # imported under private names: not re-exported
    check_not_above as _check_not_above,
    check_not_negative as _check_not_negative,
    confidence_levels as _confidence_levels,
    ratio_inputs as _inputs,
    long_frame as _long_frame,
)

__all__ = ["METHOD", "BetaPrior", "beta_binomial_prior", "eb_proportion", "shrink_indicator"]

#: The ``method`` label of every model-based row.
METHOD = "empirical Bayes (beta-binomial), model-based"

_LEVELS = ("township", "county", "prefecture", "province")
_CODE = {"township": "township_code", "county": "county_code", "prefecture": "prefecture_code",
         "province": "province_code"}


class BetaPrior(NamedTuple):
    """A beta prior by its mean and size (``alpha = mean * size``, ``beta = (1 - mean) * size``)."""

    mean: float
    size: float

    @property
    def alpha(self) -> float:
        return self.mean * self.size

    @property
    def beta(self) -> float:
        return (1 - self.mean) * self.size


def _moments(x: np.ndarray, n: np.ndarray, group: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Method-of-moments prior mean and size of every group at once (units with n > 0 only)."""
    use = np.isfinite(x) & np.isfinite(n) & (n > 0)
    g, x, n = group[use], x[use], n[use]
    total = np.bincount(g, weights=n, minlength=groups)
    k = np.bincount(g, minlength=groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=x, minlength=groups) / total
        p = x / n
        s = np.bincount(g, weights=n * (p - mean[g]) ** 2, minlength=groups)
        sum_n2 = np.bincount(g, weights=n**2, minlength=groups)
        # E[S] = m(1 - m) [(k - 1) + rho (N - sum n^2 / N - (k - 1))]   (Kleinman 1973)
        rho = (s / (mean * (1 - mean)) - (k - 1)) / (total - sum_n2 / total - (k - 1))
        size = 1 / rho - 1
    # no detectable spread between units (rho <= 0), or a size beyond the data: cap at the group's total
    size = np.where(np.isfinite(size) & (size > 0), np.minimum(size, total), total)
    # a group where every unit is 0% or 100% has no spread to estimate: size = total as well
    size = np.where((mean > 0) & (mean < 1), size, total)
    return mean, size


def beta_binomial_prior(successes: Sequence[float] | np.ndarray, trials: Sequence[float] | np.ndarray) -> BetaPrior:
    """The beta prior of a group of units by the method of moments, from their counts.

    Parameters
    ----------
    successes, trials : array-like
        Counts of each unit (weighted or effective counts are accepted).  Units with no trials
        or missing counts are ignored.

    Returns
    -------
    BetaPrior
        ``mean`` (the pooled proportion ``sum x / sum n``) and ``size`` (``alpha + beta``: how
        many observations the prior is worth).

    Notes
    -----
    Kleinman's (1973) [1]_ moment estimator: with ``p_i = x_i / n_i``, ``m = sum x / sum n``,
    ``N = sum n``, ``k`` units and ``S = sum n_i (p_i - m)^2``, the intra-class correlation is
    ``rho = (S / (m (1 - m)) - (k - 1)) / (N - sum n_i^2 / N - (k - 1))`` and the prior size is
    ``1 / rho - 1``.  With equal ``n`` this is ``rho = (n s^2 / (m (1 - m)) - 1) / (n - 1)``,
    ``s^2`` the variance of the ``p_i``.  When the units vary no more than binomial sampling
    explains (``rho <= 0``) the prior size would be infinite (complete pooling); it is capped at
    ``N``, so the prior never carries more information than the data it was estimated from.

    Examples
    --------
    >>> prior = beta_binomial_prior([10, 12, 14, 16], [20, 20, 20, 20])
    >>> round(prior.mean, 4), round(prior.size, 3)
    (0.65, 39.843)
    """
    x = np.asarray(successes, dtype=float).ravel()
    n = np.asarray(trials, dtype=float).ravel()
    if x.size != n.size:
        raise ValueError(f"Successes and trials must have the same length; got {x.size} and {n.size}.")
    mean, size = _moments(x, n, np.zeros(x.size, dtype=int), 1)
    return BetaPrior(float(mean[0]), float(size[0]))


def eb_proportion(
    data: pd.DataFrame | None,
    successes: str | Sequence[float] | np.ndarray,
    trials: str | Sequence[float] | np.ndarray,
    *,
    by: str | Sequence[str] | None = None,
    prior: BetaPrior | tuple[float, float] | None = None,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Empirical-Bayes (beta-binomial) estimates of a proportion for every unit at once.

    Call it for "x out of n" figures of many small areas (satisfied respondents per township)
    to pull each unit's rate toward its group's, by as much as its sample is small.

    Parameters
    ----------
    data : DataFrame or None
        One row per unit; other columns are kept as keys.  ``None`` when counts are arrays.
    successes, trials : str or array-like
        Column names (or arrays): the count with the condition and the unit's sample size.
        Non-integer (effective or weighted) counts are accepted.
    by : str or list of str, optional
        Columns defining the groups (a prefecture, a year) within which a prior is estimated
        and toward whose mean units are shrunk.  Default: one group.
    prior : BetaPrior or (mean, size), optional
        A known prior used for every unit instead of estimating one.
    confidence : float or sequence of float, default 0.95
        Level(s) of the equal-tailed posterior intervals.

    Returns
    -------
    DataFrame
        The key columns, then ``n`` (successes), ``denominator`` (trials), ``direct``
        (``n / denominator``), ``prior_mean``, ``prior_size`` (``alpha + beta``), ``shrinkage``
        (the weight of the prior mean, ``size / (size + denominator)``), ``value`` (posterior
        mean), ``lower``, ``upper``, ``confidence``, ``statistic`` (``"proportion of 1"``),
        ``method`` (:data:`METHOD`) and ``model_based`` (true).  Long layout as
        :func:`evalkit.measures.proportions.proportion`.

    Raises
    ------
    ValueError
        If a count is negative, a success count exceeds its trials, a column is missing, a
        ``by`` column is not in ``data``, or a given prior's mean is not strictly between 0 and
        1 or its size not positive.

    Notes
    -----
    Each unit's true proportion is a draw from ``Beta(a, b)`` and its count is binomial given
    it, so the posterior is ``Beta(a + x, b + n - x)`` [2]_ [3]_.  Its mean
    ``(a + x) / (a + b + n) = B m + (1 - B) x / n`` with ``m = a / (a + b)`` and
    ``B = (a + b) / (a + b + n)`` is the estimate; the interval holds the posterior's
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles.  ``a`` and ``b`` are
    estimated per group by :func:`beta_binomial_prior`; the interval treats them as known, so
    it is slightly narrow when a group has few units (naive empirical Bayes; fewer than about
    10 units per group is not advised).  A unit without trials gets the prior (no shrinkage
    information: missing value).  Nothing is rounded.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"town": ["a", "b", "c", "d"], "x": [10, 12, 14, 16], "n": [20, 20, 20, 20]})
    >>> out = eb_proportion(df, "x", "n")
    >>> out[["town", "direct", "shrinkage", "value"]].round(4)
      town  direct  shrinkage   value
    0    a     0.5     0.6658  0.5999
    1    b     0.6     0.6658  0.6333
    2    c     0.7     0.6658  0.6667
    3    d     0.8     0.6658  0.7001
    """
    levels = _confidence_levels(confidence)
    keys, x, n, rows, names = _inputs(data, successes, trials)
    _check_not_negative(x, rows, names[0], "Successes")
    _check_not_negative(n, rows, names[1], "Trials")
    _check_not_above(x, n, rows, *names)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    for col in by_cols:
        if col not in keys.columns:
            raise ValueError(f"Column '{col}' (by) is not in data; the columns are {', '.join(map(str, keys.columns))}.")
    if by_cols:
        group, uniques = pd.MultiIndex.from_frame(keys[by_cols].astype(object)).factorize()
        groups = len(uniques)
    else:
        group, groups = np.zeros(len(x), dtype=int), 1
    group = np.asarray(group)
    if prior is not None:
        mean0, size0 = float(prior[0]), float(prior[1])
        if not (0 < mean0 < 1) or not (size0 > 0 and np.isfinite(size0)):
            raise ValueError(f"A prior needs a mean strictly between 0 and 1 and a positive finite size; got "
                             f"mean {mean0:g} and size {size0:g}.")
        mean, size = np.full(groups, mean0), np.full(groups, size0)
    else:
        mean, size = _moments(x, n, group, groups)
    m, s = mean[group], size[group]
    a, b = m * s, (1 - m) * s
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & np.isfinite(a) & (s > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = np.where(n > 0, x / n, np.nan)
        value = np.where(ok, (a + x) / (s + n), np.nan)
        shrink = np.where(ok, s / (s + n), np.nan)
        alpha = (1 - levels)[None, :]
        pa, pb = (a + x)[:, None], (b + n - x)[:, None]
        lower = np.where(ok[:, None], stats.beta.ppf(alpha / 2, pa, pb), np.nan)
        upper = np.where(ok[:, None], stats.beta.ppf(1 - alpha / 2, pa, pb), np.nan)
    return _long_frame(keys, levels, {
        "n": x, "denominator": n, "direct": direct, "prior_mean": np.where(ok, m, np.nan),
        "prior_size": np.where(ok, s, np.nan), "shrinkage": shrink, "value": value, "lower": lower,
        "upper": upper, "statistic": "proportion of 1", "method": METHOD, "model_based": True,
    })


def shrink_indicator(
    table: pd.DataFrame,
    *,
    indicator: str = "satisfaction_rate",
    item: str = "q_overall",
    group: str = "all",
    level: str = "township",
    toward: str = "prefecture",
    year: int | None = None,
    confidence: float | Sequence[float] = 0.95,
) -> pd.DataFrame:
    """Empirical-Bayes estimates of a survey proportion of the indicator table, by unit.

    Call it for satisfaction by township (or county), where respondents are few: each unit's
    design-based rate is shrunk toward the mean of its ``toward`` unit (prefecture or province)
    in the same year.

    Parameters
    ----------
    table : DataFrame
        The indicator table (:func:`evalkit.indicators.indicator_table`).
    indicator, item, group : str
        The proportion to shrink (a survey proportion: ``satisfaction_rate``), its item and
        respondent group.
    level : {"township", "county"}
        The units estimated.
    toward : {"county", "prefecture", "province"}
        The coarser unit whose mean the prior is centred on; one prior per such unit and year.
    year : int, optional
        One wave; default every wave (each with its own priors).
    confidence : float or sequence of float, default 0.95

    Returns
    -------
    DataFrame
        One row per unit (and level): ``level``, ``code``, the parents' codes, ``name_en``,
        ``name_zh``, ``year``, ``indicator``, ``item``, ``group``, ``respondents``, the columns
        of :func:`eb_proportion` (``n`` and ``denominator`` are the effective counts), then
        ``direct_lower``, ``direct_upper`` (the table's design-based interval at 95%),
        ``suppressed`` and ``suppression_reason`` (copied from the table: a suppressed figure
        stays suppressed, see the module's "Disclosure").

    Notes
    -----
    Survey weights and clustering make a rate from ``n`` respondents less precise than a
    binomial one; the table's design-based estimate ``p`` and standard error give the
    effective sample size ``n_eff = p (1 - p) / se^2`` (Kish [4]_) and the effective count
    ``p n_eff``, on which :func:`eb_proportion` works.  When ``p`` is 0 or 1 (``se`` is 0) the
    number of respondents is used, and ``n_eff`` never exceeds it: a design effect below 1 within
    one township comes from a variance estimated from few villages, not from the design.
    """
    if level not in ("township", "county"):
        raise ValueError(f"Level must be 'township' or 'county'; got {level!r}.")
    if toward not in _LEVELS or _LEVELS.index(toward) <= _LEVELS.index(level):
        coarser = ", ".join(repr(v) for v in _LEVELS[_LEVELS.index(level) + 1:])
        raise ValueError(f"Toward must be a coarser level than {level!r}: one of {coarser}; got {toward!r}.")
    need = ["level", "code", "year", "indicator", "item", "group", "n", "value", "se", "lower", "upper",
            "confidence", "suppressed", "suppression_reason", _CODE[toward]]
    lacking = [c for c in need if c not in table.columns]
    if lacking:
        raise ValueError(f"The indicator table lacks column(s) {', '.join(lacking)}.")
    sel = table[(table["level"] == level) & (table["indicator"] == indicator) & (table["item"] == item)
                & (table["group"] == group) & np.isclose(table["confidence"], 0.95)]
    if year is not None:
        sel = sel[sel["year"] == year]
    if sel.empty:
        raise ValueError(f"The indicator table has no {level} rows for indicator '{indicator}', item '{item}', "
                         f"group '{group}'" + (f" in {year}" if year is not None else "") + ".")
    keep = [c for c in ("level", "code", "province_code", "prefecture_code", "county_code", "township_code",
                        "name_en", "name_zh", "year", "indicator", "item", "group") if c in sel.columns]
    frame = sel[keep].copy()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object)
    frame = frame.reset_index(drop=True)
    p = sel["value"].to_numpy(dtype=float)
    se = sel["se"].to_numpy(dtype=float)
    respondents = sel["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = np.where((p > 0) & (p < 1) & (se > 0), p * (1 - p) / se**2, respondents)
    # a design effect below 1 within a township reflects a variance estimated from few clusters, not the design
    n_eff = np.minimum(n_eff, respondents)
    n_eff = np.where(np.isfinite(p), n_eff, np.nan)
    frame["respondents"] = respondents
    frame["_x"] = p * n_eff
    frame["_n"] = n_eff
    by = ["year", _CODE[toward]]
    out = eb_proportion(frame, "_x", "_n", by=by, confidence=confidence)
    k = len(out) // len(frame)
    out["direct_lower"] = np.repeat(sel["lower"].to_numpy(dtype=float), k)
    out["direct_upper"] = np.repeat(sel["upper"].to_numpy(dtype=float), k)
    out["suppressed"] = np.repeat(sel["suppressed"].to_numpy(dtype=bool), k)
    out["suppression_reason"] = np.repeat(sel["suppression_reason"].astype(object).to_numpy(), k)
    return out
