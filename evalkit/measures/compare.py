"""Comparisons with a benchmark, funnel-plot control limits and overdispersion.

Categories are stable snake_case codes for a report layer to translate:

* :data:`COMPARISONS` from :func:`compare_to_benchmark`: ``better``,
  ``similar``, ``worse`` (with a polarity), ``higher``, ``lower`` (no
  judgement) and ``not_compared`` (something missing).
* :data:`SIGNIFICANCE` from :func:`funnel_significance`: ``high_99_8``,
  ``high_95``, ``not_significant``, ``low_95``, ``low_99_8`` and
  ``not_compared``; PHE labels them "High (0.001)", "High (0.025)", "Not
  significant", "Low (0.025)" and "Low (0.001)" (one-sided tail areas).

Funnel limits come in the long layout of the other measures: one row per
denominator and confidence level, levels inner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
# scipy.stats is imported only where a distribution other than the normal is needed: importing it
# costs most of a second, which every report's kernel would pay (special.ndtri is what norm.ppf calls)
from scipy import special

from ._shared import (  # imported under private names: not re-exported
    as_numbers as _as_numbers,
    check_method as _check_method,
    check_not_above as _check_not_above,
    check_not_negative as _check_not_negative,
    check_positive as _check_positive,
    confidence_levels as _confidence_levels,
    ratio_inputs as _inputs,
    long_frame as _long_frame,
    number_label as _number_label,
    proportion_statistic as _proportion_statistic,
    normal_quantiles as _z,
)

__all__ = [
    "COMPARISONS",
    "POLARITIES",
    "SIGNIFICANCE",
    "compare_to_benchmark",
    "effective_sample_size",
    "funnel_axis",
    "funnel_limits_proportion",
    "funnel_limits_rate",
    "funnel_significance",
    "overdispersion",
]

POLARITIES = ("higher_is_better", "lower_is_better", "no_judgement")
COMPARISONS = ("better", "similar", "worse", "higher", "lower", "not_compared")
SIGNIFICANCE = ("high_99_8", "high_95", "not_significant", "low_95", "low_99_8", "not_compared")

#: The two control limits of public-health funnel plots: about 2 and 3 standard deviations.
FUNNEL_LEVELS = (0.95, 0.998)

# For each polarity, the code for an area below, similar to and above the benchmark.
DIRECTION_CODES = np.array(
    [
        ["worse", "similar", "better"],
        ["better", "similar", "worse"],
        ["lower", "similar", "higher"],
    ],
    dtype=object,
)
_STATISTICS = {"proportion": "proportion", "rate": "rate", "ratio": "ratio"}
_ADJUSTMENTS = {"none": "", "multiplicative": "multiplicative", "additive": "additive"}


def compare_to_benchmark(
    data: pd.DataFrame,
    benchmark: float | str | Sequence[float] | np.ndarray,
    *,
    polarity: str | Sequence[str] = "higher_is_better",
    method: Literal["interval", "z-test"] = "interval",
    se: str = "se",
    benchmark_se: float | str | Sequence[float] | np.ndarray | None = None,
    confidence: float | Sequence[float] | None = None,
) -> pd.DataFrame:
    """Classify each area as better, similar or worse than a benchmark.

    Call it on the output of :func:`~evalkit.measures.proportions.proportion`
    or :func:`~evalkit.measures.rates.rate` to rate every county against the
    province (or any benchmark) the way public-health area profiles do.

    Parameters
    ----------
    data : DataFrame
        For ``method="interval"``: columns ``value``, ``lower``, ``upper`` and
        ``confidence``, as every measure returns.  For ``method="z-test"``:
        columns ``value`` and ``se`` (standard error) and no ``confidence``.
    benchmark : float, str or array-like
        The benchmark value on the scale of ``value``: one number, the name of
        a column of ``data`` (a different benchmark per row, such as each
        county's prefecture) or an array with one value per row.
    polarity : str or array-like, default "higher_is_better"
        ``"higher_is_better"``, ``"lower_is_better"`` or ``"no_judgement"``
        (spaces or hyphens instead of underscores are accepted), for all rows
        or one per row.
    method : {"interval", "z-test"}, default "interval"
        ``"interval"`` compares each area's confidence interval with the
        benchmark value; ``"z-test"`` tests the difference of two estimates
        with standard errors.
    se : str, default "se"
        For ``"z-test"``: the column holding each area's standard error.
    benchmark_se : float, str, array-like or None
        For ``"z-test"``: the benchmark's standard error (number, column name
        or array); ``None`` treats the benchmark as a fixed value.
    confidence : float or sequence of float, optional
        For ``"z-test"`` only; default (0.95, 0.998).  With ``"interval"`` the
        level is the one the interval was made at, read from the data.

    Returns
    -------
    DataFrame
        ``"interval"``: the input rows with ``benchmark``, ``comparison`` and
        ``comparison_method`` added.  ``"z-test"``: the input rows repeated
        once per confidence level (long layout, levels inner) with
        ``benchmark``, ``benchmark_se``, ``z``, ``confidence``,
        ``comparison`` and ``comparison_method`` added.  ``comparison`` holds
        a code from :data:`COMPARISONS`.

    Raises
    ------
    ValueError
        If the method or a polarity is unknown, a column is missing, a
        standard error is negative, or ``confidence`` is given with
        ``method="interval"`` or is not strictly between 0 and 1.

    Notes
    -----
    Interval method (PHE Fingertips [1]_): the area is *higher* when
    ``lower > benchmark``, *lower* when ``upper < benchmark`` and *similar*
    otherwise; the polarity then turns higher/lower into better/worse (or
    leaves them as higher/lower for no judgement).  Run at 95% and 99.8% by
    passing a measure computed at both levels.

    Z-test method [2]_: ``z = (value - benchmark) / sqrt(se^2 + benchmark_se^2)``;
    higher when ``z > z_c`` and lower when ``z < -z_c``, with ``z_c`` the
    standard normal quantile at ``1 - (1 - confidence) / 2``.  The covariance
    of an area with a benchmark that contains it (county within prefecture) is
    ignored, which makes the test conservative.

    Any missing value, limit, benchmark or standard error gives
    ``not_compared``.

    References
    ----------
    .. [1] Public Health England. Fingertips technical guidance: comparing
       indicator values with a benchmark ("compared with benchmark" RAG
       ratings); and Technical Guide: Confidence intervals. PHE; 2018.
    .. [2] Altman DG, Bland JM. Interaction revisited: the difference between
       two estimates. BMJ 2003;326:219. doi:10.1136/bmj.326.7382.219

    Examples
    --------
    >>> import pandas as pd
    >>> est = pd.DataFrame({"county": ["A", "B", "C"], "value": [0.62, 0.70, 0.80],
    ...                     "lower": [0.55, 0.66, 0.72], "upper": [0.69, 0.74, 0.86],
    ...                     "confidence": 0.95})
    >>> compare_to_benchmark(est, 0.71)[["county", "comparison"]]
      county comparison
    0      A      worse
    1      B    similar
    2      C     better
    """
    _check_method(method, {"interval": "interval", "z-test": "z-test"})
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"Data must be a pandas DataFrame; got {type(data).__name__}.")
    rows = data.index
    bench = _per_row(benchmark, data, "benchmark")
    which = _polarity_index(polarity, len(data))
    if method == "interval":
        if confidence is not None:
            raise ValueError(
                "Confidence is read from the data's 'confidence' column when "
                "method='interval'; leave confidence as None."
            )
        value, lower, upper, _ = (
            _column(data, c) for c in ("value", "lower", "upper", "confidence")
        )
        direction, missing = interval_direction(value, lower, upper, bench)
        return _long_frame(
            data.reset_index(drop=True),
            None,
            {
                "benchmark": bench,
                "comparison": _codes(which, direction, missing),
                "comparison_method": "interval",
            },
        )

    levels = _confidence_levels(FUNNEL_LEVELS if confidence is None else confidence)
    value, err = _column(data, "value"), _column(data, se)
    bench_err = np.zeros(len(data)) if benchmark_se is None else (
        _per_row(benchmark_se, data, "benchmark_se")
    )
    _check_not_negative(err, rows, se, "Standard errors")
    _check_not_negative(bench_err, rows, "benchmark_se", "Standard errors")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (value - bench) / np.sqrt(err**2 + bench_err**2)
    crit = _z(levels)[None, :]
    zs = z[:, None]
    direction = np.select([zs > crit, zs < -crit], [1, -1], 0)
    missing = np.broadcast_to(np.isnan(zs), direction.shape)
    return _long_frame(
        data.reset_index(drop=True),
        levels,
        {
            "benchmark": bench,
            "benchmark_se": bench_err,
            "z": z,
            "comparison": _codes(which[:, None], direction, missing),
            "comparison_method": "z-test",
        },
        confidence_after="z",
    )


def funnel_limits_proportion(
    pooled: float,
    denominators: Sequence[float] | np.ndarray,
    confidence: float | Sequence[float] = FUNNEL_LEVELS,
    *,
    multiplier: float = 1,
    phi: float | None = None,
    tau2: float | None = None,
) -> pd.DataFrame:
    """Funnel-plot control limits around a pooled proportion, for many denominators.

    Call it to draw a proportion funnel plot: the limits are where an area of
    that size would just be flagged as differing from the pooled value.

    Parameters
    ----------
    pooled : float
        The pooled (target) proportion, between 0 and 1: usually the sum of
        the numerators over the sum of the denominators.
    denominators : array-like
        Denominators (sample sizes) at which to compute the limits, such as
        :func:`funnel_axis` points or each area's denominator.
    confidence : float or sequence of float, default (0.95, 0.998)
        Confidence level(s) of the limits as fractions.
    multiplier : float, default 1
        Scale of ``value``, ``lower`` and ``upper`` (100 gives percentages).
    phi : float, optional
        Multiplicative overdispersion factor (see :func:`overdispersion`).
    tau2 : float, optional
        Additive between-area variance, on the proportion scale.

    Returns
    -------
    DataFrame
        ``denominator``, ``value`` (the pooled proportion), ``lower``,
        ``upper``, ``confidence``, ``statistic`` and ``method``; one row per
        denominator and level, levels inner.

    Raises
    ------
    ValueError
        If ``pooled`` is outside [0, 1], a denominator is not positive, both
        ``phi`` and ``tau2`` are given, either is negative, or a confidence
        level is not strictly between 0 and 1.

    Notes
    -----
    PHE's Wilson-based limit for denominator ``n`` is the observed proportion
    whose Wilson score interval [2]_ just touches the pooled proportion ``p``
    [1]_, [3]_.  Solving that quadratic gives exactly the score-test limits
    ``p -/+ z sqrt(p (1 - p) / n)``, with ``z`` the standard normal quantile
    at ``1 - (1 - confidence) / 2`` (0.975 and 0.999 for the 2- and
    3-sigma lines), clipped to [0, 1].  With overdispersion [4]_ the standard
    error ``s = sqrt(p (1 - p) / n)`` becomes ``sqrt(phi) s`` (multiplicative)
    or ``sqrt(s^2 + tau2)`` (additive).

    References
    ----------
    .. [1] Public Health England. Fingertips technical guidance: funnel plots;
       PHEindicatormethods ``phe_funnels`` / ``calculate_funnel_limits``.
    .. [2] Wilson EB. Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 1927;22:209-212.
       doi:10.1080/01621459.1927.10502953
    .. [3] Spiegelhalter DJ. Funnel plots for comparing institutional
       performance. Stat Med 2005;24:1185-1202. doi:10.1002/sim.1970
    .. [4] Spiegelhalter DJ. Handling over-dispersion of performance
       indicators. Qual Saf Health Care 2005;14:347-351.
       doi:10.1136/qshc.2005.013755

    Examples
    --------
    >>> out = funnel_limits_proportion(0.8, [100, 1000], multiplier=100)
    >>> out[["denominator", "confidence", "lower", "upper"]].round(3)
       denominator  confidence   lower   upper
    0        100.0       0.950  72.160  87.840
    1        100.0       0.998  67.639  92.361
    2       1000.0       0.950  77.521  82.479
    3       1000.0       0.998  76.091  83.909
    """
    levels = _confidence_levels(confidence)
    theta = _pooled(pooled, upper_bound=1.0)
    _check_positive(multiplier, "Multiplier")
    n = _denominators(denominators)
    label = _adjustment_label("Wilson", phi, tau2)
    lower, upper = _limits("proportion", theta, n, levels, phi, tau2)
    keys = pd.DataFrame(index=pd.RangeIndex(n.size))
    return _long_frame(
        keys,
        levels,
        {
            "denominator": n,
            "value": theta * multiplier,
            "lower": lower * multiplier,
            "upper": upper * multiplier,
            "statistic": _statistic_label("proportion", multiplier),
            "method": label,
        },
    )


def funnel_limits_rate(
    pooled: float,
    denominators: Sequence[float] | np.ndarray,
    confidence: float | Sequence[float] = FUNNEL_LEVELS,
    *,
    statistic: Literal["rate", "ratio"] = "rate",
    multiplier: float = 1,
    phi: float | None = None,
    tau2: float | None = None,
) -> pd.DataFrame:
    """Exact Poisson funnel-plot limits for rates and for observed/expected ratios.

    Call it to draw a funnel plot of crude rates (denominator = population or
    person-time, ``pooled`` = events per unit of denominator) or of indirectly
    standardised ratios (denominator = expected events, ``pooled`` = target
    ratio, usually 1).

    Parameters
    ----------
    pooled : float
        Target rate per unit of denominator (such as 0.0123 events per person),
        or target ratio; must be positive.
    denominators : array-like
        Populations, person-time or expected counts at which to compute limits.
    confidence : float or sequence of float, default (0.95, 0.998)
        Confidence level(s) of the limits as fractions.
    statistic : {"rate", "ratio"}, default "rate"
        Only changes the ``statistic`` label.
    multiplier : float, default 1
        Scale of ``value``, ``lower`` and ``upper`` (100_000 for a rate per
        100,000; 100 for a ratio expressed as 100 = as expected).
    phi, tau2 : float, optional
        Multiplicative or additive overdispersion (see :func:`overdispersion`).

    Returns
    -------
    DataFrame
        ``denominator``, ``value`` (the target), ``lower``, ``upper``,
        ``confidence``, ``statistic`` and ``method`` (``"Exact"``); one row
        per denominator and level, levels inner.

    Raises
    ------
    ValueError
        If ``pooled`` or a denominator is not positive, the statistic is
        unknown, both ``phi`` and ``tau2`` are given, or a confidence level is
        not strictly between 0 and 1.

    Notes
    -----
    With expected count ``m = pooled * denominator`` and ``a = 1 -
    confidence``, the limits are the observed counts whose exact Poisson
    (Garwood) interval just touches ``m``: the upper limit ``O`` solves
    ``chi2(a/2; 2O) / 2 = m`` and the lower limit solves
    ``chi2(1 - a/2; 2O + 2) / 2 = m``.  In terms of the Poisson distribution
    function continued to real counts, ``O_upper = Q(1 - a/2; m) + 1`` and
    ``O_lower = max(0, Q(a/2; m))``, where ``Q(p; m)`` solves
    ``P(X <= Q | m) = p`` (``scipy.special.pdtrik``).  This is the relation
    PHEindicatormethods' ``poisson_funnel`` inverts by bisection [1]_; it
    gives smooth limits rather than the step function of discrete Poisson
    quantiles [2]_.  Limits on the rate or ratio scale are ``O / denominator``
    times ``multiplier``.  With overdispersion [3]_ the distance of each limit
    from the target is multiplied by ``sqrt(phi)`` or by
    ``sqrt(s^2 + tau2) / s`` with ``s = sqrt(pooled / denominator)`` (``tau2``
    on the unscaled rate or ratio scale); lower limits are clipped at 0.

    References
    ----------
    .. [1] Public Health England. Fingertips technical guidance: funnel plots;
       PHEindicatormethods ``calculate_funnel_limits`` (statistic "rate" and
       "ratio").
    .. [2] Spiegelhalter DJ. Funnel plots for comparing institutional
       performance. Stat Med 2005;24:1185-1202. doi:10.1002/sim.1970
    .. [3] Spiegelhalter DJ. Handling over-dispersion of performance
       indicators. Qual Saf Health Care 2005;14:347-351.
       doi:10.1136/qshc.2005.013755

    Examples
    --------
    >>> out = funnel_limits_rate(1.0, [10, 100], 0.95, statistic="ratio")
    >>> out[["denominator", "lower", "upper"]].round(4)
       denominator   lower   upper
    0         10.0  0.3834  1.7127
    1        100.0  0.8039  1.2056
    """
    levels = _confidence_levels(confidence)
    _check_method(statistic, {"rate": "rate", "ratio": "ratio"}, "Statistic")
    theta = _pooled(pooled, upper_bound=None)
    _check_positive(multiplier, "Multiplier")
    n = _denominators(denominators)
    label = _adjustment_label("Exact", phi, tau2)
    lower, upper = _limits(statistic, theta, n, levels, phi, tau2)
    keys = pd.DataFrame(index=pd.RangeIndex(n.size))
    return _long_frame(
        keys,
        levels,
        {
            "denominator": n,
            "value": theta * multiplier,
            "lower": lower * multiplier,
            "upper": upper * multiplier,
            "statistic": _statistic_label(statistic, multiplier),
            "method": label,
        },
    )


def funnel_significance(
    data: pd.DataFrame | None,
    numerator: str | Sequence[float] | np.ndarray,
    denominator: str | Sequence[float] | np.ndarray,
    *,
    statistic: Literal["proportion", "rate", "ratio"] = "proportion",
    pooled: float | None = None,
    multiplier: float = 1,
    adjust: Literal["none", "multiplicative", "additive"] = "none",
    trim: float = 0.1,
) -> pd.DataFrame:
    """Place each area inside or outside the 95% and 99.8% funnel limits.

    Call it next to a funnel plot to say which areas are outliers and how
    strongly, as PHE's ``phe_funnel_significance`` does.

    Parameters
    ----------
    data : DataFrame or None
        One row per area; other columns are passed through as keys.
    numerator, denominator : str or array-like
        Cases and sample sizes (proportion), events and population or
        person-time (rate), or observed and expected events (ratio).
    statistic : {"proportion", "rate", "ratio"}, default "proportion"
        Wilson-based limits for proportions, exact Poisson for the others.
    pooled : float, optional
        Target; by default the sum of numerators over the sum of denominators
        for proportions and rates (rows with both present), and 1 for ratios.
    multiplier : float, default 1
        Scale of ``value`` and ``benchmark`` (100, or 100_000 for rates).
    adjust : {"none", "multiplicative", "additive"}, default "none"
        Widen the limits for overdispersion estimated from these areas by
        :func:`overdispersion`; the multiplicative factor is only applied
        when it exceeds 1.
    trim : float, default 0.1
        Share of z-scores Winsorised in each tail when estimating
        overdispersion.

    Returns
    -------
    DataFrame
        Key columns, ``n``, ``denominator``, ``value``, ``benchmark``,
        ``significance`` (a code from :data:`SIGNIFICANCE`), ``statistic`` and
        ``method``; one row per area.

    Raises
    ------
    ValueError
        If a count is negative, a proportion's numerator exceeds its
        denominator, the statistic or adjustment is unknown, or ``trim`` is
        outside [0, 0.5).

    Notes
    -----
    With ``y = numerator / denominator`` and the limits of
    :func:`funnel_limits_proportion` or :func:`funnel_limits_rate` at the
    area's own denominator, checked in this order [1]_: ``y`` below the 99.8%
    lower limit gives ``low_99_8``; below the 95% lower limit ``low_95``;
    above the 99.8% upper limit ``high_99_8``; above the 95% upper limit
    ``high_95``; otherwise ``not_significant``.  A missing count or a zero
    denominator gives ``not_compared``.

    References
    ----------
    .. [1] Public Health England. Fingertips technical guidance: funnel plots;
       PHEindicatormethods ``phe_funnel_significance``.
    .. [2] Spiegelhalter DJ. Funnel plots for comparing institutional
       performance. Stat Med 2005;24:1185-1202. doi:10.1002/sim.1970

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": ["A", "B", "C", "D"],
    ...                    "x": [10232, 12321, 15123, 13213],
    ...                    "n": [15232, 16123, 17932, 18475]})
    >>> funnel_significance(df, "x", "n")[["area", "significance"]]
      area significance
    0    A     low_99_8
    1    B    high_99_8
    2    C    high_99_8
    3    D     low_99_8
    """
    _check_method(statistic, _STATISTICS, "Statistic")
    _check_method(adjust, _ADJUSTMENTS, "Adjust")
    _check_positive(multiplier, "Multiplier")
    keys, x, n, rows, names = _inputs(data, numerator, denominator)
    _check_counts(x, n, rows, names, statistic)
    theta = _default_pooled(x, n, statistic) if pooled is None else pooled
    theta = _pooled(theta, upper_bound=1.0 if statistic == "proportion" else None)
    phi = tau2 = None
    if adjust != "none":
        fit = _overdispersion(x, n, theta, statistic, trim)
        phi = max(fit["phi"], 1.0) if adjust == "multiplicative" else None
        tau2 = fit["tau2"] if adjust == "additive" else None

    present = n > 0
    n_safe = np.where(present, n, 1.0)
    lower, upper = _limits(statistic, theta, n_safe, np.array(FUNNEL_LEVELS), phi, tau2)
    with np.errstate(invalid="ignore"):
        y = np.where(present, x / n_safe, np.nan)
    conditions = [y < lower[:, 1], y < lower[:, 0], y > upper[:, 1], y > upper[:, 0]]
    codes = ["low_99_8", "low_95", "high_99_8", "high_95"]
    significance = np.select(conditions, codes, default="not_significant")
    method = "Wilson" if statistic == "proportion" else "Exact"
    return _long_frame(
        keys,
        None,
        {
            "n": x,
            "denominator": n,
            "value": y * multiplier,
            "benchmark": theta * multiplier,
            "significance": np.where(np.isnan(y), "not_compared", significance),
            "statistic": _statistic_label(statistic, multiplier),
            "method": _adjustment_label(method, phi, tau2),
        },
    )


def overdispersion(
    data: pd.DataFrame | None,
    numerator: str | Sequence[float] | np.ndarray,
    denominator: str | Sequence[float] | np.ndarray,
    *,
    statistic: Literal["proportion", "rate", "ratio"] = "proportion",
    pooled: float | None = None,
    trim: float = 0.1,
) -> pd.DataFrame:
    """Estimate overdispersion among areas from Winsorised z-scores.

    Call it before drawing funnel limits when many areas fall outside them:
    ``phi`` widens the limits multiplicatively, ``tau2`` additively.

    Parameters
    ----------
    data, numerator, denominator, statistic, pooled
        As for :func:`funnel_significance`.
    trim : float, default 0.1
        Share of z-scores Winsorised in each tail (10% as in [1]_).

    Returns
    -------
    DataFrame
        One row: ``phi`` (multiplicative factor), ``tau2`` (additive
        between-area variance on the unscaled proportion, rate or ratio
        scale), ``areas`` (number of areas used), ``trim`` and ``p_value``
        (chi-square test of ``areas * phi`` on ``areas - 1`` degrees of
        freedom, small when overdispersed).

    Raises
    ------
    ValueError
        As for :func:`funnel_significance`.

    Notes
    -----
    For each area ``z_i = (y_i - p) / s_i`` with ``s_i = sqrt(p (1 - p) / n_i)``
    for proportions and ``sqrt(p / n_i)`` for rates and ratios.  The lowest
    and highest ``trim`` shares of the z-scores are set to the ``trim`` and
    ``1 - trim`` quantiles (linear interpolation), and
    ``phi = mean(z_w^2)`` [1]_, [2]_.  The additive variance is the
    DerSimonian-Laird style moment estimate [2]_, [3]_
    ``tau2 = max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w))`` with
    ``w_i = 1 / s_i^2`` and ``I`` areas.  Areas with a missing count or a zero
    denominator are left out.

    References
    ----------
    .. [1] Spiegelhalter DJ. Handling over-dispersion of performance
       indicators. Qual Saf Health Care 2005;14:347-351.
       doi:10.1136/qshc.2005.013755
    .. [2] Spiegelhalter DJ. Funnel plots for comparing institutional
       performance. Stat Med 2005;24:1185-1202. doi:10.1002/sim.1970
    .. [3] DerSimonian R, Laird N. Meta-analysis in clinical trials. Control
       Clin Trials 1986;7:177-188. doi:10.1016/0197-2456(86)90046-2

    Examples
    --------
    >>> fit = overdispersion(None, [30, 45, 60, 20, 52], [100, 100, 100, 100, 100])
    >>> fit[["phi", "areas"]].round(2)
        phi  areas
    0  6.56      5
    """
    _check_method(statistic, _STATISTICS, "Statistic")
    keys, x, n, rows, names = _inputs(data, numerator, denominator)
    _check_counts(x, n, rows, names, statistic)
    theta = _default_pooled(x, n, statistic) if pooled is None else pooled
    theta = _pooled(theta, upper_bound=1.0 if statistic == "proportion" else None)
    fit = _overdispersion(x, n, theta, statistic, trim)
    return pd.DataFrame([fit])


def funnel_axis(denominators: Sequence[float] | np.ndarray, points: int = 100) -> np.ndarray:
    """Denominators at which to draw funnel limits, spaced as PHE's funnel tables.

    Parameters
    ----------
    denominators : array-like
        The areas' denominators (missing values are ignored).
    points : int, default 100
        Number of axis points.

    Returns
    -------
    ndarray
        ``points`` increasing whole numbers from ``max(1, start)`` to
        ``stop``, spaced geometrically.

    Notes
    -----
    ``stop`` is 1.05 times the largest denominator rounded up to two
    significant figures; ``start`` is 0 when the largest denominator is more
    than twice the smallest, else 0.95 times the smallest rounded down to one
    significant figure.  Point ``j`` (from 2) is the larger of
    ``round((stop / prev)^(1 / (points + 1 - j)) * prev)`` and ``prev + 1``,
    as in PHEindicatormethods ``phe_funnels`` [1]_.  This loops over the
    axis points, not over areas.

    References
    ----------
    .. [1] Public Health England. PHEindicatormethods ``phe_funnels``.

    Examples
    --------
    >>> funnel_axis([16386, 102950])[[0, 1, 2, -1]].tolist()
    [1.0, 2.0, 3.0, 110000.0]
    """
    d = _denominators(denominators, allow_missing=True)
    d = d[~np.isnan(d)]
    if points < 2:
        raise ValueError(f"Points must be at least 2; got {points!r}.")
    low, high = d.min(), d.max()
    start = 0.0 if high > 2 * low else _round_sig(low * 0.95, np.floor, 1)
    stop = _round_sig(high * 1.05, np.ceil, 2)
    axis = [max(1.0, start)]
    for j in range(2, points + 1):
        prev = axis[-1]
        axis.append(max(float(round((stop / prev) ** (1 / (points + 1 - j)) * prev)), prev + 1))
    return np.array(axis)


# --- helpers --------------------------------------------------------------------------


def _round_sig(number: float, rounding: object, digits: int) -> float:
    """Round ``number`` to ``digits`` significant figures with floor or ceil."""
    whole = int(rounding(number))
    if whole <= 0:
        return 0.0
    power = 10.0 ** max(len(str(whole)) - digits, 0)
    return float(rounding(number / power) * power)


def _column(data: pd.DataFrame, name: str) -> np.ndarray:
    if name not in data.columns:
        raise ValueError(
            f"Column '{name}' is not in data; the columns are "
            f"{', '.join(map(str, data.columns))}."
        )
    return _as_numbers(data[name], name, data.index)


def _per_row(values: object, data: pd.DataFrame, what: str) -> np.ndarray:
    """A number, a column name or an array, as one float per row of ``data``."""
    if isinstance(values, str):
        return _column(data, values)
    if np.ndim(values) == 0:
        return np.full(len(data), _as_numbers([values], what, None)[0])
    out = _as_numbers(np.asarray(values).ravel(), what, None)
    if out.size != len(data):
        raise ValueError(
            f"The {what} must be one number, a column name or one value per row; got "
            f"{out.size} values for {len(data)} rows."
        )
    return out


def interval_direction(
    value: np.ndarray, lower: np.ndarray, upper: np.ndarray, bench: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The interval method: 1 where the interval lies above the benchmark, -1 below, 0 where
    it contains it; and where something is missing (not compared)."""
    direction = np.select([lower > bench, upper < bench], [1, -1], 0)
    missing = np.isnan(value) | np.isnan(lower) | np.isnan(upper) | np.isnan(bench)
    return direction, missing


def _polarity_index(polarity: object, rows: int) -> np.ndarray:
    """Index into :data:`POLARITIES` for each row."""
    if isinstance(polarity, str) and rows:  # one polarity for all rows: normalised once
        return np.full(rows, _polarity_index([polarity], 1)[0], dtype=int)
    names = pd.Series([polarity] * rows if isinstance(polarity, str) else list(polarity))
    if names.size != rows:
        raise ValueError(
            f"Polarity must be one string or one per row; got {names.size} values for "
            f"{rows} rows."
        )
    codes, uniques = pd.factorize(names.astype(str))  # normalise each distinct spelling once
    clean = pd.Series(uniques).str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)
    index = pd.Series(clean.map({p: i for i, p in enumerate(POLARITIES)}).to_numpy()[codes])
    if index.isna().any():
        bad = names[index.isna()].iloc[0]
        raise ValueError(
            "Polarity must be one of 'higher_is_better', 'lower_is_better' or "
            f"'no_judgement'; got {bad!r}."
        )
    return index.to_numpy(dtype=int)


def _codes(which: np.ndarray, direction: np.ndarray, missing: np.ndarray) -> np.ndarray:
    codes = DIRECTION_CODES[which, direction + 1]
    return np.where(missing, "not_compared", codes).astype(object)


def _pooled(pooled: object, upper_bound: float | None) -> float:
    try:
        theta = float(pooled)
    except (TypeError, ValueError):
        theta = np.nan
    if upper_bound is not None and not 0 <= theta <= upper_bound:
        raise ValueError(f"The pooled proportion must be between 0 and 1; got {pooled!r}.")
    if upper_bound is None and not (np.isfinite(theta) and theta > 0):
        raise ValueError(f"The pooled rate or ratio must be a positive number; got {pooled!r}.")
    return theta


def _default_pooled(x: np.ndarray, n: np.ndarray, statistic: str) -> float:
    if statistic == "ratio":
        return 1.0
    used = ~np.isnan(x) & ~np.isnan(n)
    return float(x[used].sum() / n[used].sum())


def _denominators(values: object, allow_missing: bool = False) -> np.ndarray:
    n = _as_numbers(np.asarray(values, dtype=object).ravel(), "denominators", None)
    if n.size == 0 or (not allow_missing and np.isnan(n).any()):
        raise ValueError("Denominators must be one or more numbers without missing values.")
    bad = n <= 0
    if bad.any():
        raise ValueError(
            f"Denominators must be greater than zero; got {n[np.flatnonzero(bad)[0]]:g}."
        )
    return n


def _check_counts(x, n, rows, names, statistic) -> None:
    _check_not_negative(x, rows, names[0], "Numerators")
    _check_not_negative(n, rows, names[1], "Denominators")
    if statistic == "proportion":
        _check_not_above(x, n, rows, *names)


def _check_dispersion(phi: float | None, tau2: float | None) -> None:
    if phi is not None and tau2 is not None:
        raise ValueError("Give either phi (multiplicative) or tau2 (additive), not both.")
    for name, number in (("phi", phi), ("tau2", tau2)):
        if number is not None and not (np.isfinite(number) and number >= 0):
            raise ValueError(f"The overdispersion {name} must be zero or more; got {number!r}.")


def _adjustment_label(method: str, phi: float | None, tau2: float | None) -> str:
    _check_dispersion(phi, tau2)
    if phi is not None:
        return f"{method}, multiplicative overdispersion"
    if tau2 is not None:
        return f"{method}, additive overdispersion"
    return method


def _spread(sigma: np.ndarray, phi: float | None, tau2: float | None) -> np.ndarray:
    """Standard error widened for overdispersion."""
    if phi is not None:
        return np.sqrt(phi) * sigma
    if tau2 is not None:
        return np.sqrt(sigma**2 + tau2)
    return sigma


def _statistic_label(statistic: str, multiplier: float) -> str:
    if statistic == "proportion":
        return _proportion_statistic(multiplier)
    scale = _number_label(multiplier)
    if statistic == "rate":
        return f"rate per {scale}"
    return "ratio" if multiplier == 1 else f"ratio x {scale}"


def _limits(statistic, theta, n, levels, phi, tau2) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits on the unit scale; shape ``(len(n), len(levels))``."""
    if statistic == "proportion":
        return _proportion_limits(theta, n, _z(levels), phi, tau2)
    return _poisson_limits(theta, n, levels, phi, tau2)


def _proportion_limits(theta, n, z, phi, tau2) -> tuple[np.ndarray, np.ndarray]:
    """Wilson-based (score) limits around ``theta``."""
    spread = _spread(np.sqrt(theta * (1 - theta) / n), phi, tau2)[:, None] * z[None, :]
    return np.clip(theta - spread, 0, 1), np.clip(theta + spread, 0, 1)


def _poisson_limits(theta, n, levels, phi, tau2) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson limits around the rate or ratio ``theta``."""
    mu = (theta * n)[:, None]
    alpha = (1 - levels)[None, :]
    lower = np.maximum(special.pdtrik(alpha / 2, mu), 0) / n[:, None]
    upper = (special.pdtrik(1 - alpha / 2, mu) + 1) / n[:, None]
    if phi is not None or tau2 is not None:
        sigma = np.sqrt(theta / n)
        stretch = (_spread(sigma, phi, tau2) / sigma)[:, None]
        lower = np.maximum(theta + stretch * (lower - theta), 0)
        upper = theta + stretch * (upper - theta)
    return lower, upper


def _overdispersion(x, n, theta, statistic, trim) -> dict[str, float]:
    if not 0 <= trim < 0.5:
        raise ValueError(f"Trim must be at least 0 and less than 0.5; got {trim!r}.")
    used = ~np.isnan(x) & ~np.isnan(n) & (n > 0)
    x, n = x[used], n[used]
    areas = int(n.size)
    if areas < 2:
        raise ValueError(f"Overdispersion needs at least two areas with data; got {areas}.")
    variance = theta * (1 - theta) if statistic == "proportion" else theta
    if variance <= 0:
        raise ValueError("Overdispersion needs a pooled value strictly inside its range.")
    weights = n / variance
    z = (x / n - theta) * np.sqrt(weights)
    low, high = np.quantile(z, [trim, 1 - trim])
    phi = float(np.mean(np.clip(z, low, high) ** 2))
    spread = weights.sum() - (weights**2).sum() / weights.sum()
    tau2 = max(0.0, (areas * phi - (areas - 1)) / spread) if spread > 0 else 0.0
    from scipy import stats

    p_value = float(stats.chi2.sf(areas * phi, areas - 1))
    return {"phi": phi, "tau2": tau2, "areas": areas, "trim": float(trim), "p_value": p_value}


def effective_sample_size(value, se):
    """The sample size that a proportion's design-based standard error is worth in simple random sampling.

    A funnel plot of survey proportions places each area at its effective sample size, so that the
    limits drawn for simple random sampling apply to design-based estimates.

    Parameters
    ----------
    value : float, ndarray or Series
        Proportions, from 0 to 1.
    se : float, ndarray or Series
        Their standard errors, design-based.

    Returns
    -------
    float, ndarray or Series
        ``value * (1 - value) / se ** 2``, of the inputs' type; infinite where ``se`` is 0, missing where
        an input is.

    Notes
    -----
    :math:`n_{eff} = p (1 - p) / se^2` is the sample size at which the binomial variance
    :math:`p (1 - p) / n` equals the design's variance :math:`se^2` [1]_.

    References
    ----------
    .. [1] Kish L. Survey Sampling. New York: Wiley; 1965.

    Examples
    --------
    >>> float(effective_sample_size(0.5, 0.25))
    4.0
    """
    return value * (1 - value) / se ** 2
