"""Scoring rules: an indicator's value as points from 0 to 100 (linear or stepped), and rank intervals over draws."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["linear_score", "step_score", "rank_intervals"]

POLARITIES = ("higher_is_better", "lower_is_better")


# --- scoring rules ---------------------------------------------------------------------------


def linear_score(values: Any, floor: float, target: float) -> np.ndarray:
    """Points from 0 to 100, linear between a floor (0 points) and the target (100 points).

    Parameters
    ----------
    values : array-like
        Indicator values (any shape); missing values give missing points.
    floor, target : float
        The value worth 0 points and the value worth 100.  ``floor < target`` scores a
        higher-is-better indicator, ``floor > target`` a lower-is-better one (cost).

    Returns
    -------
    ndarray
        ``100 * clip((value - floor) / (target - floor), 0, 1)``: values beyond the target get
        100 and values beyond the floor get 0, whatever the direction.

    Examples
    --------
    >>> linear_score([0.5, 0.78, 0.89, 1.0, 1.2], floor=0.78, target=1.0).round(6).tolist()
    [0.0, 0.0, 50.0, 100.0, 100.0]
    >>> linear_score([100, 150, 300, 450, 600], floor=450, target=150).round(6).tolist()
    [100.0, 100.0, 50.0, 0.0, 0.0]
    """
    if floor == target:
        raise ValueError(f"Floor and target must differ; both are {floor:g}.")
    v = np.asarray(values, dtype=float)
    return 100.0 * np.clip((v - floor) / (target - floor), 0.0, 1.0) + 0.0  # + 0.0: no -0.0


def step_score(
    values: Any,
    thresholds: Sequence[float],
    scores: Sequence[float],
    *,
    otherwise: float = 0.0,
    polarity: str = "higher_is_better",
) -> np.ndarray:
    """Points from a stepped rubric (评分细则): the score of the first threshold the value reaches.

    Parameters
    ----------
    values : array-like
        Indicator values (any shape); missing values give missing points.
    thresholds, scores : sequences of float
        Steps from the best down.  For a higher-is-better indicator a value at or above
        ``thresholds[k]`` (and below the thresholds before it) gets ``scores[k]``; for a
        lower-is-better one, a value at or below it.
    otherwise : float, default 0
        Points for a value that reaches no threshold.
    polarity : {"higher_is_better", "lower_is_better"}

    Examples
    --------
    >>> step_score([0.97, 0.95, 0.9499, 0.90, 0.5], [0.95, 0.90], [100, 80], otherwise=0).tolist()
    [100.0, 100.0, 80.0, 80.0, 0.0]
    """
    if polarity not in POLARITIES:
        raise ValueError(f"Polarity must be 'higher_is_better' or 'lower_is_better'; got {polarity!r}.")
    if len(thresholds) != len(scores) or not thresholds:
        raise ValueError("A stepped rubric needs one score per threshold and at least one step.")
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, float(otherwise))
    # walk from the worst step up, so the best step reached wins
    for t, s in zip(reversed(list(thresholds)), reversed(list(scores))):
        reached = v >= t if polarity == "higher_is_better" else v <= t
        out = np.where(reached, float(s), out)
    return np.where(np.isnan(v), np.nan, out)


def rank_intervals(
    draws: np.ndarray, point: np.ndarray | None = None, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Rank of each unit (1 = highest) and its interval from simulated scores.

    Parameters
    ----------
    draws : ndarray of shape (draws, units)
        Simulated scores, one row per draw (higher is better).
    point : ndarray of shape (units,), optional
        Point scores; their rank is ``rank``.  Default: the median of the draws.
    confidence : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    DataFrame
        One row per unit: ``rank`` (of the point score; ties share the best rank), ``rank_lower``
        and ``rank_upper`` (the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of
        the unit's rank over draws, as ranks that occurred: inverted-CDF quantiles), and
        ``rank_median``.

    Notes
    -----
    The ranks of each draw are ``1 + the number of units scoring strictly higher``; the
    percentile interval is the Monte Carlo rank interval of Marshall and Spiegelhalter (1998)
    [4]_ (see the module's references).  It covers the true rank at about the nominal rate when
    the spread of true scores is large against their uncertainty (``tests/test_framework.py``
    simulates this); when units hardly differ it can cover less, and its width then says that
    the ranking means little.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> sims = np.array([90.0, 70.0, 50.0]) + rng.normal(0, 1, (500, 3))
    >>> rank_intervals(sims)[["rank", "rank_lower", "rank_upper"]].to_numpy().tolist()
    [[1, 1, 1], [2, 2, 2], [3, 3, 3]]
    """
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2:
        raise ValueError(f"Draws must be a 2-d array (draws x units); got {draws.ndim} dimension(s).")
    if not 0 < confidence < 1:
        raise ValueError(f"Confidence must be a fraction strictly between 0 and 1, such as 0.95; got {confidence!r}.")
    if draws.shape[1] == 0:
        return pd.DataFrame({c: pd.Series(dtype="Int64") for c in ("rank", "rank_lower", "rank_upper", "rank_median")})
    from scipy import stats  # here: importing scipy.stats costs most of a second, and only ranking needs it

    ranks = stats.rankdata(-draws, method="min", axis=1)
    alpha = 1 - confidence
    lo, med, hi = np.quantile(ranks, [alpha / 2, 0.5, 1 - alpha / 2], axis=0, method="inverted_cdf")
    if point is None:
        point = np.median(draws, axis=0)
    point = np.asarray(point, dtype=float)
    rank = 1 + (point[None, :] > point[:, None]).sum(axis=1)
    return pd.DataFrame({"rank": rank.astype(int), "rank_lower": lo.astype(int), "rank_upper": hi.astype(int),
                         "rank_median": med.astype(int)})
