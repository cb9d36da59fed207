"""Funnel plots with overdispersion on a variance-stabilising scale (Spiegelhalter 2005, FunnelPlotR).

:func:`funnel_dispersion` turns each area's numerator and denominator into a z-score on the
transformed scale (arcsine square root for proportions, log for observed/expected ratios, square
root for rates), Winsorises the z-scores, and estimates the multiplicative overdispersion factor
``phi`` and the additive (random-effects) between-area variance ``tau2`` from them.  The returned
:class:`FunnelFit` gives the control limits (:meth:`FunnelFit.limits`) and each area's z-score
and significance (:meth:`FunnelFit.zscores`) with no adjustment, a multiplicative or an additive one.

The binomial and exact Poisson limits without a transformation (PHE's) are in
:mod:`evalkit.measures.compare`; its :func:`~evalkit.measures.compare.overdispersion` works on the
untransformed scale.  The statistics are the same family; this module follows the transformed-scale
definitions of Spiegelhalter [1]_, [2]_ as the R package FunnelPlotR computes them [3]_.

References
----------
.. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
   2005;24:1185-1202. doi:10.1002/sim.1970
.. [2] Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care
   2005;14:347-351. doi:10.1136/qshc.2005.013755
.. [3] Wiltshire C. FunnelPlotR: funnel plots for comparing institutional performance (R package),
   https://github.com/nhs-r-community/FunnelPlotR (``transformed_zscore``, ``winsorisation``,
   ``phi_func``, ``tau_func``, ``calculate_limits``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ._shared import (  # imported under private names: not re-exported
    as_numbers as _as_numbers,
    check_method as _check_method,
    confidence_levels as _confidence_levels,
    normal_quantiles as _z,
)

__all__ = ["FunnelFit", "funnel_dispersion", "OVERDISPERSION", "TRANSFORMS", "FUNNEL_LEVELS"]

#: The overdispersion adjustments: none, multiplicative (``phi``) and additive (``tau2``).
OVERDISPERSION = (None, "multiplicative", "additive")
#: The variance-stabilising transformation of each statistic.
TRANSFORMS = {"proportion": "arcsine square root", "ratio": "log", "rate": "square root"}
#: The two control limits of funnel plots: about 2 and 3 standard deviations.
FUNNEL_LEVELS = (0.95, 0.998)
_SIGNIFICANCE = ("low_99_8", "low_95", "not_significant", "high_95", "high_99_8")


def _transform(statistic: str, value: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "proportion":
            return np.arcsin(np.sqrt(value))
        if statistic == "ratio":
            return np.log(value)
        return np.sqrt(value)


def _back(statistic: str, value: np.ndarray) -> np.ndarray:
    """The transformation's inverse, within the statistic's range (a limit beyond it is the range's end)."""
    if statistic == "proportion":
        return np.sin(np.clip(value, 0.0, np.pi / 2)) ** 2
    if statistic == "ratio":
        return np.exp(value)
    return np.clip(value, 0.0, None) ** 2


def _within_se(statistic: str, denominator: np.ndarray) -> np.ndarray:
    """The standard error on the transformed scale of an area of size ``denominator``."""
    with np.errstate(divide="ignore"):
        if statistic == "ratio":
            return 1.0 / np.sqrt(denominator)
        return 1.0 / (2.0 * np.sqrt(denominator))


@dataclass(frozen=True)
class FunnelFit:
    """Z-scores and overdispersion of a set of areas on a transformed scale (:func:`funnel_dispersion`).

    Attributes
    ----------
    statistic : str
        ``"proportion"``, ``"ratio"`` or ``"rate"``.
    transform : str
        The transformation of :data:`TRANSFORMS` the z-scores and limits are computed on.
    target : float
        The centre line on the original (unit) scale: a proportion, a ratio (1 for observed/expected) or
        a rate per unit of the denominator.
    phi : float
        Multiplicative overdispersion: the mean of the squared Winsorised z-scores.
    tau2 : float
        Additive between-area variance on the transformed scale (DerSimonian-Laird style moment estimate).
    trim : float
        Share of z-scores Winsorised in each tail.
    areas : int
        Number of areas the estimates use.
    data : DataFrame
        One row per area given: ``numerator``, ``denominator``, ``value`` (their ratio), ``y`` (transformed),
        ``s`` (its standard error), ``z`` (unadjusted z-score), ``z_winsorised`` and ``winsorised``.
    """

    statistic: str
    transform: str
    target: float
    phi: float
    tau2: float
    trim: float
    areas: int
    data: pd.DataFrame = field(repr=False)

    def phi_used(self, overdispersion: str | None) -> float:
        """The factor the variance is multiplied by: ``phi`` for ``"multiplicative"`` when above 1, else 1 (no
        overdispersion found: the unadjusted limits, as FunnelPlotR draws them)."""
        return max(self.phi, 1.0) if overdispersion == "multiplicative" else 1.0

    def tau2_used(self, overdispersion: str | None) -> float:
        """The variance added: ``tau2`` for ``"additive"`` when ``phi`` is above 1, else 0 (as FunnelPlotR)."""
        return self.tau2 if overdispersion == "additive" and self.phi > 1.0 else 0.0

    def _spread(self, s: np.ndarray, overdispersion: str | None) -> np.ndarray:
        _check_overdispersion(overdispersion)
        return np.sqrt(self.phi_used(overdispersion) * s ** 2 + self.tau2_used(overdispersion))

    def limits(self, denominators: Sequence[float] | np.ndarray, overdispersion: str | None = None,
               confidence: float | Sequence[float] = FUNNEL_LEVELS) -> pd.DataFrame:
        """Control limits at each of ``denominators``, on the original scale.

        One row per denominator and confidence level (levels inner): ``denominator``, ``confidence``,
        ``lower``, ``upper``, ``target``, ``overdispersion`` (``"none"``, ``"multiplicative"`` or
        ``"additive"``).  A limit is ``g^-1(g(target) -/+ z sqrt(phi s^2 + tau2))`` with ``g`` the
        transformation, ``s`` the within-area standard error at that denominator, ``z`` the normal
        quantile; a proportion's limits are kept within [0, 1] and a rate's above 0 by ending the
        transformed limit at the end of the range.
        """
        n = _as_numbers(np.asarray(denominators, dtype=object).ravel(), "denominators", None)
        if n.size == 0 or np.isnan(n).any() or (n <= 0).any():
            raise ValueError("Denominators must be one or more numbers greater than zero.")
        levels = _confidence_levels(confidence)
        spread = self._spread(_within_se(self.statistic, n), overdispersion)[:, None] * _z(levels)[None, :]
        centre = _transform(self.statistic, np.array(self.target))
        lower, upper = _back(self.statistic, centre - spread), _back(self.statistic, centre + spread)
        return pd.DataFrame({"denominator": np.repeat(n, levels.size), "confidence": np.tile(levels, n.size),
                             "lower": lower.ravel(), "upper": upper.ravel(), "target": self.target,
                             "overdispersion": overdispersion or "none"})

    def zscores(self, overdispersion: str | None = None) -> pd.DataFrame:
        """:attr:`data` with the z-score adjusted for ``overdispersion`` (``z_adjusted``: ``(y - g(target)) /
        sqrt(phi s^2 + tau2)``) and ``significance``: ``low_99_8``, ``low_95``, ``not_significant``,
        ``high_95``, ``high_99_8`` (beyond the 95% and 99.8% limits), ``not_compared`` where an input is
        missing."""
        out = self.data.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (out["y"].to_numpy() - _transform(self.statistic, np.array(self.target))) / self._spread(
                out["s"].to_numpy(), overdispersion)
        out["z_adjusted"] = z
        inner, outer = _z(np.array(FUNNEL_LEVELS))
        code = np.select([z < -outer, z < -inner, z > outer, z > inner],
                         ["low_99_8", "low_95", "high_99_8", "high_95"], "not_significant").astype(object)
        out["significance"] = np.where(np.isnan(z), "not_compared", code)
        out["overdispersion"] = overdispersion or "none"
        return out


def _check_overdispersion(overdispersion: str | None) -> None:
    if overdispersion not in OVERDISPERSION:
        raise ValueError("Overdispersion must be None, 'multiplicative' or 'additive'; "
                         f"got {overdispersion!r}.")


def funnel_dispersion(
    numerator: Sequence[float] | np.ndarray | pd.Series,
    denominator: Sequence[float] | np.ndarray | pd.Series,
    *,
    statistic: Literal["proportion", "ratio", "rate"] = "proportion",
    target: float | None = None,
    trim: float = 0.1,
) -> FunnelFit:
    """Z-scores, multiplicative ``phi`` and additive ``tau2`` overdispersion of areas for a funnel plot.

    Call it when many areas fall outside a funnel's limits: the limits that allow for real
    differences between areas (:meth:`FunnelFit.limits` with ``"multiplicative"`` or ``"additive"``)
    show which areas stand out beyond them.

    Parameters
    ----------
    numerator, denominator : array-like
        Per area: cases and sample size (proportion; a survey's effective sample size and its
        proportion times it will do), observed and expected events (ratio, such as a standardised
        mortality ratio), or events and population or person-time (rate).
    statistic : {"proportion", "ratio", "rate"}, default "proportion"
        Chooses the transformation: arcsine square root, log, square root.
    target : float, optional
        The centre line on the original scale; by default the sum of the numerators over the sum of
        the denominators (proportion, rate) or 1 (ratio), as FunnelPlotR.
    trim : float, default 0.1
        Share of z-scores Winsorised in each tail (10%, as FunnelPlotR and [2]_).

    Returns
    -------
    FunnelFit

    Raises
    ------
    ValueError
        If a numerator is negative, a denominator not positive, a proportion above 1, a ratio's
        observed count 0 (its log is not finite: use ``statistic="rate"``), fewer than two areas have
        data, or ``trim`` is outside [0, 0.5).

    Notes
    -----
    With ``y_i = g(x_i / n_i)`` and ``s_i`` its standard error: ``g = asin(sqrt(.))``,
    ``s_i = 1 / (2 sqrt(n_i))`` for proportions; ``g = log``, ``s_i = 1 / sqrt(n_i)`` for ratios;
    ``g = sqrt``, ``s_i = 1 / (2 sqrt(n_i))`` for rates [1]_.  The z-score is
    ``z_i = (y_i - g(target)) / s_i``.  The z-scores below their ``trim`` quantile and above their
    ``1 - trim`` quantile (R's default, linear interpolation) are set to those quantiles, and
    ``phi = sum(z_w^2) / I`` over the ``I`` areas [2]_.  ``tau2 = (I phi - (I - 1)) / (sum w - sum w^2 /
    sum w)`` with ``w_i = 1 / s_i^2``, and 0 when ``I phi < I - 1`` [1]_, [3]_.  Areas with a missing
    input are left out of the estimates (their z-score is missing).  The limits use ``phi`` and ``tau2``
    only when ``phi > 1`` (:meth:`FunnelFit.phi_used`, :meth:`FunnelFit.tau2_used`), as FunnelPlotR.

    Differences from FunnelPlotR: its SHMI method for standardised ratios truncates (drops) the extreme
    z-scores instead of Winsorising them (the same when no area is dropped: ``trim=0``); its "ratio of
    counts" type (log of ``(x + 0.5) / (n + 0.5)``) is not offered here.

    References
    ----------
    .. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
       2005;24:1185-1202. doi:10.1002/sim.1970
    .. [2] Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health
       Care 2005;14:347-351. doi:10.1136/qshc.2005.013755
    .. [3] DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials
       1986;7:177-188. doi:10.1016/0197-2456(86)90046-2

    Examples
    --------
    >>> fit = funnel_dispersion([30, 45, 60, 20, 52], [100, 100, 100, 100, 100])
    >>> round(fit.phi, 3), round(fit.tau2, 5), fit.areas
    (6.925, 0.01914, 5)
    >>> fit.limits([100], "additive", 0.95)[["lower", "upper"]].round(3)
       lower  upper
    0  0.159  0.696
    """
    _check_method(statistic, {s: s for s in TRANSFORMS}, "Statistic")
    if not 0 <= trim < 0.5:
        raise ValueError(f"Trim must be at least 0 and less than 0.5; got {trim!r}.")
    x = _as_numbers(np.asarray(numerator, dtype=object).ravel(), "numerator", None)
    n = _as_numbers(np.asarray(denominator, dtype=object).ravel(), "denominator", None)
    if x.size != n.size:
        raise ValueError(f"Numerator and denominator must have the same length; got {x.size} and {n.size}.")
    used = ~np.isnan(x) & ~np.isnan(n)
    for bad, what in ((used & (x < 0), "Numerators must not be negative"),
                      (used & (n <= 0), "Denominators must be greater than zero"),
                      (used & (x > n) & (statistic == "proportion"), "A proportion's numerator must not exceed "
                                                                      "its denominator"),
                      (used & (x == 0) & (statistic == "ratio"), "A ratio's observed count must be above 0 on "
                                                                  "the log scale (use statistic='rate' for counts "
                                                                  "that can be 0)")):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what}; area {i} has {x[i]:g} / {n[i]:g}.")
    areas = int(used.sum())
    if areas < 2:
        raise ValueError(f"Overdispersion needs at least two areas with data; got {areas}.")
    if target is None:
        target = 1.0 if statistic == "ratio" else float(x[used].sum() / n[used].sum())
    target = float(target)
    if not np.isfinite(target) or target < 0 or (statistic == "proportion" and target > 1) or (
            statistic == "ratio" and target <= 0):
        raise ValueError(f"The target must be a {'proportion from 0 to 1' if statistic == 'proportion' else 'positive number'}"
                         f"; got {target!r}.")
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(used, x / np.where(used, n, 1.0), np.nan)
    y = _transform(statistic, value)
    s = np.where(used, _within_se(statistic, np.where(used, n, 1.0)), np.nan)
    z = (y - _transform(statistic, np.array(target))) / s
    low, high = np.quantile(z[used], [trim, 1 - trim])
    zw = np.clip(z, low, high)
    phi = float(np.sum(zw[used] ** 2) / areas)
    w = 1.0 / s[used] ** 2
    spread = w.sum() - (w ** 2).sum() / w.sum()
    tau2 = 0.0 if areas * phi < areas - 1 or spread <= 0 else max(0.0, (areas * phi - (areas - 1)) / spread)
    data = pd.DataFrame({"numerator": x, "denominator": n, "value": value, "y": y, "s": s, "z": z,
                         "z_winsorised": zw, "winsorised": used & ((z < low) | (z > high))})
    return FunnelFit(statistic, TRANSFORMS[statistic], target, phi, float(tau2), float(trim), areas, data)
