"""Indicator frameworks: weights by AHP, scoring rules, composite scores, grades and ranks with uncertainty.

Purchasing bureaus act on grades (优秀 / 良好 / 合格 / 不合格) computed from a weighted
indicator framework (指标体系).  An evaluator describes the framework in a TOML file that is
edited without code (the default, for township social-work stations, is
``evalkit/framework.toml``; the format is documented in ``docs/framework.md``):

* tiers (input, process, output, outcome) and, in each, indicators read from the indicator
  table (:mod:`evalkit.indicators`), each with a scoring rule that turns its value into
  points from 0 to 100: *linear* between a floor (0 points) and the target (100 points), or a
  *stepped* rubric (评分细则);
* weights of the tiers and of the indicators within each tier, given directly or derived by the
  analytic hierarchy process (AHP) from a pairwise-comparison matrix, which is refused when its
  consistency ratio is 0.1 or more unless the file says why it is accepted;
* grade cut-offs, with names in English and Chinese.

:func:`load_framework` reads and validates such a file and reports every problem at once, each
naming the file, the key, the value and the rule.  :func:`score_counties` then computes, for
every county of a year in one vectorised pass, the composite score with an interval, the score
of each tier, the grade and the probability of every grade, the rank among the province's
counties with a rank interval, and which indicators were missing and how the weights were
redistributed.

Uncertainty
    Each indicator's sampling distribution is approximated from the interval in the indicator
    table by a *split normal* whose median is the estimate and whose 2.5th and 97.5th
    percentiles are the published 95% limits (a symmetric normal from ``se`` where only a
    standard error is known), truncated to the indicator's range.  Indicators without either,
    and indicators the framework marks ``uncertainty = "none"`` (complete counts from
    administrative registers, which have no sampling error), are held fixed.  Indicators
    sharing a ``draw_group`` (the satisfaction items answered by the same respondents) share
    their random numbers: perfectly correlated, the conservative choice for positively
    correlated estimates.  Every draw is scored, weighted, graded and ranked; intervals are
    percentiles over draws and grade probabilities are shares of draws.

Missing indicators
    An indicator without a value (suppressed, or not measured) is left out and its weight is
    shared among the remaining indicators of its tier in proportion to their weights; a tier
    with no indicator left passes its weight to the other tiers in the same way.  When the
    indicators left out carry more than ``max_missing_weight`` of the framework's weight
    (default 0.25), the county gets no score, grade or rank (reason ``too_much_missing``).

References
----------
.. [1] Saaty TL. A scaling method for priorities in hierarchical structures. J Math Psychol
   1977;15:234-281. doi:10.1016/0022-2496(77)90033-5
.. [2] Saaty TL. The Analytic Hierarchy Process. New York: McGraw-Hill; 1980.
.. [3] Saaty TL. How to make a decision: the analytic hierarchy process. Eur J Oper Res
   1990;48:9-26. doi:10.1016/0377-2217(90)90057-I
.. [4] Marshall EC, Spiegelhalter DJ. Reliability of league tables of in vitro fertilisation
   clinics: retrospective analysis of live birth rates. BMJ 1998;316:1701-1705.
   doi:10.1136/bmj.316.7146.1701
.. [5] Goldstein H, Spiegelhalter DJ. League tables and their limitations: statistical issues
   in comparisons of institutional performance. J R Stat Soc A 1996;159:385-443.
   doi:10.2307/2983325
.. [6] Ministry of Finance of the PRC. 项目支出绩效评价管理办法 (Measures for the performance
   evaluation of project expenditure), 财预〔2020〕10号: four grades at 90, 80 and 60 points.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .errors import FrameworkError, FrameworkProblem, InconsistentJudgementsError

__all__ = [
    "RANDOM_INDEX",
    "MAX_CR",
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "REASONS",
    "AHPResult",
    "ahp_weights",
    "linear_score",
    "step_score",
    "rank_intervals",
    "Grade",
    "Tier",
    "Indicator",
    "WeightSet",
    "Framework",
    "load_framework",
    "parse_framework",
    "Scores",
    "score_counties",
    "score_years",
]

#: Saaty's random consistency index RI by matrix order n: the mean consistency index of random
#: reciprocal matrices with entries from the 1-9 scale (Saaty 1980 [2]_, Table 1.7; also [3]_).
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
#: Largest consistency ratio accepted without an explicit override (Saaty's 10% rule).
MAX_CR = 0.1
#: Monte Carlo draws used by :func:`score_counties` unless told otherwise.
DEFAULT_DRAWS = 4000
#: Seed used by :func:`score_counties` unless told otherwise (results are reproducible).
DEFAULT_SEED = 20250101
#: Codes of ``reason`` in :attr:`Scores.counties` (the report translates them).
REASONS = {
    "too_much_missing": "the indicators without a value carry more than the framework's max_missing_weight",
    "no_data": "the county has no value for any indicator of the framework in this year",
}

#: Confidence level of the indicator-table rows read (their limits define the split normals).
_INPUT_CONFIDENCE = 0.95
#: Draws simulated at once: bounds memory (the random stream, hence the results, do not depend on it).
_CHUNK = 1000
#: Natural range of each unit: draws are truncated to it.
_UNIT_RANGE = {
    "proportion": (0.0, 1.0),
    "net": (-1.0, 1.0),
    "index_0_100": (0.0, 100.0),
    "score_1_5": (1.0, 5.0),
}
_POLARITIES = ("higher_is_better", "lower_is_better")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: Tolerance on grade cut-offs: a score equal to a cut-off up to floating-point error gets the higher grade.
_GRADE_EPS = 1e-9


# --- AHP -----------------------------------------------------------------------------------


class AHPResult(NamedTuple):
    """Weights and consistency of one pairwise-comparison matrix (see :func:`ahp_weights`)."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float


def _as_matrix(matrix: Any) -> np.ndarray:
    """A matrix of numbers from numbers or fraction strings such as ``"1/3"``."""
    try:
        rows = [[_number(x) for x in row] for row in matrix]
        a = np.array(rows, dtype=float)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(
            "A pairwise-comparison matrix must be a list of rows of numbers or fractions such as "
            f"3 or \"1/3\"; got {matrix!r}."
        ) from None
    return a


def _number(x: Any) -> float:
    if isinstance(x, bool):
        raise ValueError("a truth value is not a number")
    if isinstance(x, str):
        return float(Fraction(x.strip()))
    return float(x)


def _matrix_errors(a: np.ndarray, labels: Sequence[str]) -> list[tuple[str, str]]:
    """Structural problems of a pairwise-comparison matrix as (rule, sentence) pairs."""
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        return [("matrix_square", f"A pairwise-comparison matrix must be square; got shape {a.shape}.")]
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        return [("matrix_size", f"A pairwise-comparison matrix can compare at most {max(RANDOM_INDEX)} "
                 f"elements (Saaty's random index is tabulated to 10, and judgements degrade beyond 7 ± 2); "
                 f"got {n}. Group the elements and compare the groups.")]
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        return [("matrix_positive", f"Every judgement must be a positive number; row {i + 1} ('{labels[i]}'), "
                 f"column {j + 1} ('{labels[j]}') is {a[i, j]:g}.")]
    out = []
    diag = np.flatnonzero(np.abs(np.diag(a) - 1) > 1e-9)
    if diag.size:
        i = int(diag[0])
        out.append(("matrix_diagonal", f"An element compared with itself must be 1; row {i + 1} ('{labels[i]}') "
                    f"has {a[i, i]:g} on the diagonal."))
    product = a * a.T
    off = np.abs(product - 1) > 0.02
    np.fill_diagonal(off, False)
    if off.any():
        i, j = map(int, np.argwhere(np.triu(off))[0])
        out.append(("matrix_reciprocal", f"The matrix must be reciprocal: row {i + 1} ('{labels[i]}'), column "
                    f"{j + 1} ('{labels[j]}') is {_judgement(a[i, j])}, so row {j + 1}, column {i + 1} must be "
                    f"{_judgement(1 / a[i, j])}; it is {_judgement(a[j, i])}. Write reciprocals as fractions "
                    "such as \"1/3\"."))
    return out


def _judgement(x: float) -> str:
    """A judgement as an evaluator writes it: 3, 1/3, or a decimal."""
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    if abs(1 / x - round(1 / x)) < 1e-9:
        return f"1/{int(round(1 / x))}"
    return f"{x:.3g}"


def ahp_weights(
    matrix: Any,
    *,
    labels: Sequence[str] | None = None,
    name: str = "the matrix",
    max_cr: float = MAX_CR,
    allow_inconsistent: bool = False,
) -> AHPResult:
    """Weights from a pairwise-comparison matrix by its principal eigenvector, with its consistency.

    Call it to turn an evaluation panel's judgements ("coverage is moderately more important than
    volunteers: 3") into weights, as AHP frameworks (层次分析法) do, and to check that the
    judgements hang together before weights are derived from them.

    Parameters
    ----------
    matrix : array-like or list of lists
        Square reciprocal matrix ``a`` with ``a[i][j]`` the importance of element ``i`` over
        element ``j`` on Saaty's 1-9 scale, ``a[j][i] = 1 / a[i][j]`` and ones on the diagonal.
        Entries may be numbers or fraction strings (``"1/3"``).
    labels : sequence of str, optional
        Names of the elements, used in messages.
    name : str, default "the matrix"
        How messages refer to the matrix (a framework names its key).
    max_cr : float, default 0.1
        Consistency ratios at or above this are refused.
    allow_inconsistent : bool, default False
        Return the weights of a matrix whose consistency ratio is too high instead of raising.

    Returns
    -------
    AHPResult
        ``weights`` (summing to 1, in the matrix's order), ``lambda_max`` (principal
        eigenvalue), ``ci`` (consistency index), ``ri`` (random index for the order) and
        ``cr`` (consistency ratio; 0 for one or two elements, which are always consistent).

    Raises
    ------
    ValueError
        If the matrix is not square, has more than 10 rows, has a non-positive entry, a
        diagonal entry other than 1, or is not reciprocal (within 2%, so that 0.33 passes for 1/3).
    InconsistentJudgementsError
        If the consistency ratio is ``max_cr`` or more and ``allow_inconsistent`` is false;
        the message names the matrix, gives CR, and points at the judgement furthest from what
        the others imply.

    Notes
    -----
    Saaty's eigenvector method [1]_ [2]_: ``w`` solves ``A w = lambda_max w`` with ``w > 0`` and
    ``sum(w) = 1`` (Perron-Frobenius).  Consistency index ``CI = (lambda_max - n) / (n - 1)``,
    consistency ratio ``CR = CI / RI(n)`` with Saaty's random index :data:`RANDOM_INDEX`
    (0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49 for n = 3 ... 10).  A perfectly consistent
    matrix (``a[i][k] = a[i][j] a[j][k]``) has ``lambda_max = n`` and ``CR = 0``.  The judgement
    named in the message is the one with the largest ``|log(a[i][j] w[j] / w[i])|`` (Saaty's
    suggestion for revising judgements [3]_).  Nothing is rounded.

    References
    ----------
    .. [1] Saaty TL. A scaling method for priorities in hierarchical structures. J Math Psychol
       1977;15:234-281. doi:10.1016/0022-2496(77)90033-5
    .. [2] Saaty TL. The Analytic Hierarchy Process. New York: McGraw-Hill; 1980.
    .. [3] Saaty TL. How to make a decision: the analytic hierarchy process. Eur J Oper Res
       1990;48:9-26. doi:10.1016/0377-2217(90)90057-I

    Examples
    --------
    Saaty's wealth-of-nations judgements [3]_ (US, USSR, China, France, UK, Japan, West Germany):

    >>> m = [[1, 4, 9, 6, 6, 5, 5], ["1/4", 1, 7, 5, 5, 3, 4], ["1/9", "1/7", 1, "1/5", "1/5", "1/7", "1/5"],
    ...      ["1/6", "1/5", 5, 1, 1, "1/3", "1/3"], ["1/6", "1/5", 5, 1, 1, "1/3", "1/3"],
    ...      ["1/5", "1/3", 7, 3, 3, 1, 2], ["1/5", "1/4", 5, 3, 3, "1/2", 1]]
    >>> r = ahp_weights(m)
    >>> r.weights.round(3).tolist()
    [0.427, 0.23, 0.021, 0.052, 0.052, 0.123, 0.094]
    >>> round(r.lambda_max, 2), round(r.cr, 2)
    (7.61, 0.08)
    """
    a = _as_matrix(matrix)
    n = a.shape[0] if a.ndim == 2 else 0
    labels = list(labels) if labels is not None else [f"element {i + 1}" for i in range(max(n, 1))]
    if a.ndim == 2 and len(labels) != a.shape[0]:
        raise ValueError(f"Labels must name every row of the matrix: {len(labels)} labels for {a.shape[0]} rows.")
    problems = _matrix_errors(a, labels)
    if problems:
        raise ValueError(problems[0][1])
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lambda_max = float(values[k].real)
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    if n <= 2:
        lambda_max, ci, cr = float(n), 0.0, 0.0
    else:
        ci = max((lambda_max - n) / (n - 1), 0.0)
        cr = ci / RANDOM_INDEX[n]
    result = AHPResult(w, lambda_max, ci, RANDOM_INDEX[n], cr)
    if cr >= max_cr and not allow_inconsistent:
        raise InconsistentJudgementsError(_inconsistency_message(a, result, labels, name, max_cr))
    return result


def _inconsistency_message(a: np.ndarray, r: AHPResult, labels: Sequence[str], name: str, max_cr: float) -> str:
    n = a.shape[0]
    implied = r.weights[:, None] / r.weights[None, :]
    dev = np.abs(np.log(a / implied))
    dev[np.tril_indices(n)] = -1
    i, j = map(int, np.unravel_index(np.argmax(dev), dev.shape))
    return (
        f"The pairwise comparisons in {name} are too inconsistent to derive weights from: consistency ratio "
        f"CR = {r.cr:.3f} (lambda_max = {r.lambda_max:.3f}, CI = {r.ci:.3f}, RI = {r.ri:.2f} for n = {n}) is not "
        f"below {max_cr:g}. The judgement furthest from the others is row {i + 1} ('{labels[i]}') against column "
        f"{j + 1} ('{labels[j]}'): {_judgement(a[i, j])}, where the weights imply about "
        f"{implied[i, j]:.2g}. Revise the judgements, or accept them knowingly (allow_inconsistent = true with a "
        "reason in a framework file)."
    )


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
    if polarity not in _POLARITIES:
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


# --- the framework -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Grade:
    """One grade: its id, names and the lowest score (inclusive) that earns it."""

    id: str
    en: str
    zh: str
    min: float


@dataclass(frozen=True)
class Tier:
    """One tier of the framework (input, process, output, outcome) and its weight."""

    id: str
    en: str
    zh: str
    weight: float


@dataclass(frozen=True)
class Indicator:
    """One indicator of the framework: what it reads, how it scores, and its weights."""

    id: str
    tier: str
    en: str
    zh: str
    measure: str
    item: str
    group: str
    polarity: str
    unit: str
    target: float
    rule: str
    floor: float
    steps: tuple[tuple[float, float], ...]
    otherwise: float
    uncertainty: str
    draw_group: str
    source: str
    local_weight: float
    weight: float

    def score(self, values: Any) -> np.ndarray:
        """Points from 0 to 100 for values of this indicator (missing stays missing)."""
        if self.rule == "linear":
            return linear_score(values, self.floor, self.target)
        return step_score(values, [t for t, _ in self.steps], [s for _, s in self.steps],
                          otherwise=self.otherwise, polarity=self.polarity)


@dataclass(frozen=True)
class WeightSet:
    """How the weights of one group of elements (the tiers, or one tier's indicators) were set."""

    key: str
    method: str
    labels: tuple[str, ...]
    weights: tuple[float, ...]
    matrix: tuple[tuple[float, ...], ...] | None
    ahp: AHPResult | None
    allow_inconsistent: bool
    reason: str


@dataclass(frozen=True)
class Framework:
    """A validated indicator framework (made by :func:`load_framework`)."""

    id: str
    version: str
    en: str
    zh: str
    file: str
    sha256: str
    tiers: tuple[Tier, ...]
    indicators: tuple[Indicator, ...]
    grades: tuple[Grade, ...]
    weight_sets: tuple[WeightSet, ...]
    max_missing_weight: float
    max_cr: float
    _unit_ranges: dict = field(default_factory=dict, repr=False, compare=False)

    def indicator_frame(self) -> pd.DataFrame:
        """One row per indicator: what it reads, its scoring rule, target and weights (for a methods table)."""
        rows = []
        tier_weight = {t.id: t.weight for t in self.tiers}
        for i in self.indicators:
            rows.append({
                "indicator": i.id, "tier": i.tier, "en": i.en, "zh": i.zh, "measure": i.measure, "item": i.item,
                "group": i.group, "polarity": i.polarity, "unit": i.unit, "target": i.target, "rule": i.rule,
                "floor": i.floor if i.rule == "linear" else np.nan,
                "steps": "; ".join(f"{t:g}: {s:g}" for t, s in i.steps) if i.rule == "steps" else "",
                "otherwise": i.otherwise if i.rule == "steps" else np.nan,
                "uncertainty": i.uncertainty, "draw_group": i.draw_group, "source": i.source,
                "tier_weight": tier_weight[i.tier], "local_weight": i.local_weight, "weight": i.weight,
            })
        return pd.DataFrame(rows)

    def consistency_frame(self) -> pd.DataFrame:
        """One row per weight set: method, order, and for AHP matrices lambda_max, CI, RI and CR."""
        rows = []
        for w in self.weight_sets:
            r = w.ahp
            rows.append({
                "key": w.key, "method": w.method, "n": len(w.labels), "labels": ", ".join(w.labels),
                "lambda_max": r.lambda_max if r else np.nan, "ci": r.ci if r else np.nan,
                "ri": r.ri if r else np.nan, "cr": r.cr if r else np.nan,
                "consistent": (r.cr < self.max_cr) if r else True,
                "allow_inconsistent": w.allow_inconsistent, "reason": w.reason,
            })
        return pd.DataFrame(rows)

    def grade_frame(self) -> pd.DataFrame:
        """One row per grade, best first: id, English and Chinese names, lowest score and highest score."""
        upper = [100.0] + [g.min for g in self.grades[:-1]]
        return pd.DataFrame({"grade": [g.id for g in self.grades], "en": [g.en for g in self.grades],
                             "zh": [g.zh for g in self.grades], "min": [g.min for g in self.grades],
                             "below": upper})

    def grade(self, scores: Any) -> np.ndarray:
        """Grade ids for scores (object array; ``None`` for a missing score).

        >>> fw = load_framework()
        >>> fw.grade([95, 90, 89.99, 80, 60, 59.9, float("nan")]).tolist()
        ['excellent', 'excellent', 'good', 'good', 'pass', 'fail', None]
        """
        idx = self._grade_index(np.asarray(scores, dtype=float))
        ids = np.array([g.id for g in self.grades] + [None], dtype=object)
        return ids[idx]

    def _grade_index(self, scores: np.ndarray) -> np.ndarray:
        """Index into :attr:`grades` (best first) for each score; ``len(grades)`` for missing."""
        mins = np.array([g.min for g in self.grades])  # decreasing
        # number of cut-offs above the score = index of its grade
        idx = (scores[..., None] + _GRADE_EPS < mins[None, :]).sum(axis=-1)
        return np.where(np.isnan(scores), len(self.grades), np.minimum(idx, len(self.grades) - 1))


# --- reading and validating a framework file ---------------------------------------------------------

_TOP_KEYS = {"id", "version", "en", "zh", "max_missing_weight", "max_cr", "grades", "tiers", "tier_weights",
             "indicators"}
_TIER_KEYS = {"en", "zh", "weights"}
_WEIGHT_KEYS = {"method", "order", "matrix", "weights", "allow_inconsistent", "reason"}
_INDICATOR_KEYS = {"tier", "en", "zh", "measure", "item", "group", "polarity", "unit", "target", "source",
                   "scoring", "uncertainty", "draw_group"}
_SCORING_KEYS = {"rule", "floor", "steps", "otherwise"}
_GRADE_KEYS = {"id", "en", "zh", "min"}


class _Checker:
    """Collects problems with one framework file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[FrameworkProblem] = []

    def add(self, key: str, value: Any, rule: str, message: str) -> None:
        shown = None if value is None else _show(value)
        self.problems.append(FrameworkProblem(self.file, key, shown, rule, message))

    def keys(self, table: Any, key: str, allowed: set[str], required: Sequence[str] = ()) -> bool:
        """Check that ``table`` is a table with only allowed keys and every required one."""
        if not isinstance(table, dict):
            self.add(key, table, "table", f"must be a table (a [section] or {{ key = value }}); got {_show(table)}.")
            return False
        for k in table:
            if k not in allowed:
                self.add(f"{key}.{k}" if key else k, table[k], "unknown_key",
                         f"'{k}' is not a key this table may have (misspelt?); the keys allowed are "
                         f"{', '.join(sorted(allowed))}.")
        for k in required:
            if k not in table:
                self.add(f"{key}.{k}" if key else k, None, "required", f"'{k}' is required here and missing.")
        return True

    def text(self, table: dict, key: str, name: str, default: str | None = None) -> str:
        value = table.get(name, default)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(f"{key}.{name}" if key else name, value, "text", f"must be a non-empty text in quotes; "
                     f"got {_show(value)}.")
            return ""
        return value.strip()

    def number(self, table: dict, key: str, name: str, *, low: float | None = None, high: float | None = None,
               default: float | None = None, required: bool = True) -> float:
        path = f"{key}.{name}" if key else name
        if name not in table:
            if default is None and required:
                self.add(path, None, "required", f"'{name}' is required here and missing.")
            return np.nan if default is None else default
        value = table[name]
        try:
            x = _number(value)
        except (TypeError, ValueError, ZeroDivisionError):
            self.add(path, value, "number", f"must be a number; got {_show(value)}.")
            return np.nan
        if not np.isfinite(x):
            self.add(path, value, "number", f"must be a finite number; got {_show(value)}.")
            return np.nan
        if (low is not None and x < low) or (high is not None and x > high):
            rng = f"from {low:g} to {high:g}" if low is not None and high is not None else (
                f"at least {low:g}" if low is not None else f"at most {high:g}")
            self.add(path, value, "range", f"must be {rng}; got {_show(value)}.")
        return x

    def identifier(self, value: Any, key: str) -> bool:
        if not isinstance(value, str) or not _ID.match(value):
            self.add(key, value, "identifier", f"must be an id of lower-case letters, digits and underscores that "
                     f"starts with a letter (it names columns), such as 'outcome'; got {_show(value)}.")
            return False
        return True


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_framework(path: str | Path | None = None, *, catalogue: pd.DataFrame | None = None) -> Framework:
    """Read and validate an indicator framework file (TOML).

    Call it before scoring: every problem in the file is reported at once, each naming the
    file, the key (``indicators.coverage.scoring.floor``), the value and the rule broken, so an
    evaluator can correct the file without reading code.

    Parameters
    ----------
    path : path, optional
        The framework file; default the shipped ``evalkit/framework.toml`` (township
        social-work stations).
    catalogue : DataFrame, optional
        The indicators the indicator table has (default :func:`evalkit.indicators.catalogue`),
        against which measures, units and polarities are checked.

    Returns
    -------
    Framework

    Raises
    ------
    FrameworkError
        With every problem found (``.problems``), including pairwise-comparison matrices whose
        consistency ratio is 0.1 or more and that the file does not explicitly accept.

    Examples
    --------
    >>> fw = load_framework()
    >>> [t.id for t in fw.tiers]
    ['input', 'process', 'output', 'outcome']
    >>> round(sum(i.weight for i in fw.indicators), 12)
    1.0
    """
    if path is None:
        text = resources.files("evalkit").joinpath("framework.toml").read_text(encoding="utf-8")
        return parse_framework(text, file="framework.toml", catalogue=catalogue)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FrameworkError([FrameworkProblem(path.name, "", None, "file_missing",
                                               f"The framework file {path} does not exist.")]) from None
    except UnicodeDecodeError:
        raise FrameworkError([FrameworkProblem(path.name, "", None, "encoding",
                                               "The framework file is not UTF-8 text; save it as UTF-8.")]) from None
    return parse_framework(text, file=path.name, catalogue=catalogue)


def parse_framework(text: str, *, file: str = "framework.toml", catalogue: pd.DataFrame | None = None) -> Framework:
    """Validate a framework given as TOML text (see :func:`load_framework`); ``file`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FrameworkError([FrameworkProblem(file, "", None, "toml_syntax",
                                               f"The file is not valid TOML: {e}. Check quotes, brackets and "
                                               "'=' signs on that line.")]) from None
    if catalogue is None:
        from .indicators import catalogue as _catalogue

        catalogue = _catalogue()
    c = _Checker(file)
    fw = _build(data, c, catalogue, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if c.problems:
        raise FrameworkError(c.problems)
    assert fw is not None
    return fw


def _build(data: dict, c: _Checker, catalogue: pd.DataFrame, sha: str) -> Framework | None:
    c.keys(data, "", _TOP_KEYS, required=("id", "en", "zh", "grades", "tiers", "tier_weights", "indicators"))
    fid = data.get("id")
    if fid is not None and not (isinstance(fid, str) and fid.strip()):
        c.add("id", fid, "text", f"must be a non-empty text in quotes; got {_show(fid)}.")
    version = data.get("version", "")
    name_en, name_zh = c.text(data, "", "en"), c.text(data, "", "zh")
    max_missing = c.number(data, "", "max_missing_weight", low=0, high=0.99, default=0.25)
    max_cr = c.number(data, "", "max_cr", low=0.0, high=0.3, default=MAX_CR)
    if max_cr == 0:
        c.add("max_cr", 0, "range", "must be above 0 (no matrix of three or more elements is perfectly consistent in practice).")

    grades = _grades(data.get("grades"), c)
    tiers_raw = data.get("tiers", {})
    tier_ids: list[str] = []
    tier_names: dict[str, tuple[str, str]] = {}
    if c.keys(tiers_raw, "tiers", set(tiers_raw) if isinstance(tiers_raw, dict) else set()):
        for tid, t in tiers_raw.items():
            key = f"tiers.{tid}"
            if not c.identifier(tid, key):
                continue
            if c.keys(t, key, _TIER_KEYS, required=("en", "zh")):
                tier_names[tid] = (c.text(t, key, "en"), c.text(t, key, "zh"))
                tier_ids.append(tid)
        if not tier_ids:
            c.add("tiers", None, "required", "at least one tier is required, such as [tiers.outcome].")

    raw_indicators = data.get("indicators", {})
    indicators = _indicators(raw_indicators, c, catalogue, tier_ids)
    # membership of tiers as declared, so that one faulty indicator does not also break its tier's weights
    declared = {iid: spec.get("tier") for iid, spec in raw_indicators.items() if isinstance(spec, dict)} \
        if isinstance(raw_indicators, dict) else {}
    by_tier: dict[str, list[str]] = {t: [i for i, tier in declared.items() if tier == t] for t in tier_ids}
    for t in tier_ids:
        if not by_tier[t]:
            c.add(f"tiers.{t}", None, "empty_tier", f"tier '{t}' has no indicator; give it one "
                  f"(tier = \"{t}\" in an [indicators.<id>] table) or remove the tier.")

    weight_sets: list[WeightSet] = []
    tier_w = _weights(data.get("tier_weights"), "tier_weights", tier_ids, c, max_cr)
    if tier_w is not None:
        weight_sets.append(tier_w)
    local: dict[str, float] = {}
    for t in tier_ids:
        spec = tiers_raw[t].get("weights") if isinstance(tiers_raw.get(t), dict) else None
        members = by_tier[t]
        if spec is None and len(members) == 1:
            local[members[0]] = 1.0
            continue
        if spec is None and members:
            c.add(f"tiers.{t}.weights", None, "required", f"tier '{t}' has {len(members)} indicators "
                  f"({', '.join(members)}) and needs weights: an AHP matrix or direct weights.")
            continue
        ws = _weights(spec, f"tiers.{t}.weights", members, c, max_cr)
        if ws is not None:
            weight_sets.append(ws)
            local.update(dict(zip(ws.labels, ws.weights)))
    if c.problems:
        return None

    tw = dict(zip(tier_w.labels, tier_w.weights))
    tiers = tuple(Tier(t, *tier_names[t], tw[t]) for t in tier_ids)
    inds = tuple(Indicator(**{k: v for k, v in i.items()}, local_weight=local[i["id"]],
                           weight=tw[i["tier"]] * local[i["id"]]) for i in indicators)
    # indicators in tier order, then file order within the tier
    inds = tuple(sorted(inds, key=lambda i: tier_ids.index(i.tier)))
    ranges = {i.id: _UNIT_RANGE.get(i.unit, (0.0, np.inf)) for i in inds}
    return Framework(id=str(fid).strip(), version=str(version), en=name_en, zh=name_zh,
                     file=c.file, sha256=sha, tiers=tiers, indicators=inds, grades=grades,
                     weight_sets=tuple(weight_sets), max_missing_weight=max_missing, max_cr=max_cr,
                     _unit_ranges=ranges)


def _grades(raw: Any, c: _Checker) -> tuple[Grade, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        c.add("grades", raw, "grades", "must list at least two grades as [[grades]] tables, best first.")
        return ()
    out: list[Grade] = []
    for k, g in enumerate(raw):
        key = f"grades[{k + 1}]"
        if not c.keys(g, key, _GRADE_KEYS, required=("id", "en", "zh", "min")):
            continue
        if "id" in g and not c.identifier(g["id"], f"{key}.id"):
            continue
        out.append(Grade(str(g.get("id", "")), c.text(g, key, "en"), c.text(g, key, "zh"),
                         c.number(g, key, "min", low=0, high=100)))
    ids = [g.id for g in out]
    for d in sorted({i for i in ids if ids.count(i) > 1}):
        c.add("grades", d, "unique", f"grade id {d!r} is used more than once; each grade needs its own id.")
    mins = [g.min for g in out]
    if len(out) == len(raw):
        for k in range(1, len(mins)):
            if not mins[k] < mins[k - 1]:
                c.add(f"grades[{k + 1}].min", mins[k], "grades_descending",
                      f"grades are listed best first, so each 'min' must be below the one before "
                      f"({mins[k - 1]:g}); got {mins[k]:g}.")
        if mins and mins[-1] != 0:
            c.add(f"grades[{len(mins)}].min", mins[-1], "lowest_grade_zero",
                  f"the last (lowest) grade must start at 0 so that every score gets a grade; got {mins[-1]:g}.")
    return tuple(out)


def _indicators(raw: Any, c: _Checker, catalogue: pd.DataFrame, tier_ids: list[str]) -> list[dict]:
    out: list[dict] = []
    if not isinstance(raw, dict) or not raw:
        c.add("indicators", raw if raw else None, "required",
              "at least one indicator is required, as an [indicators.<id>] table.")
        return out
    for iid, spec in raw.items():
        key = f"indicators.{iid}"
        if not c.identifier(iid, key):
            continue
        if not c.keys(spec, key, _INDICATOR_KEYS, required=("tier", "en", "zh", "scoring")):
            continue
        n_before = len(c.problems)
        tier = spec.get("tier")
        if tier is not None and tier not in tier_ids:
            c.add(f"{key}.tier", tier, "known_tier", f"tier {_show(tier)} is not one of the tiers defined "
                  f"under [tiers]: {', '.join(tier_ids) or 'none'}.")
        measure = spec.get("measure", iid)
        cat = None
        if not isinstance(measure, str) or measure not in catalogue.index:
            c.add(f"{key}.measure" if "measure" in spec else key, measure, "known_measure",
                  f"measure {_show(measure)} is not an indicator of the indicator table; the measures are "
                  f"{', '.join(catalogue.index)} (evalkit/indicators.toml).")
        else:
            cat = catalogue.loc[measure]
        item = spec.get("item", "all")
        group = spec.get("group", "all")
        for name, value in (("item", item), ("group", group)):
            if not isinstance(value, str) or not value:
                c.add(f"{key}.{name}", value, "text", f"must be a text in quotes such as 'all'; got {_show(value)}.")
        if cat is not None and cat["kind"] != "survey" and item != "all":
            c.add(f"{key}.item", item, "item_all", f"measure '{measure}' is not from the survey, so its item "
                  "must be 'all'.")
        if cat is not None and cat["kind"] == "survey" and item == "all":
            c.add(f"{key}.item", item, "survey_item", f"measure '{measure}' comes from the survey: name the "
                  "question it reads, such as item = \"q_overall\".")
        unit = spec.get("unit", cat["unit"] if cat is not None else None)
        if cat is not None and unit != cat["unit"]:
            c.add(f"{key}.unit", unit, "unit_matches", f"measure '{measure}' is in unit '{cat['unit']}' in the "
                  f"indicator table; the unit here must be the same (targets and floors are in it), not {_show(unit)}.")
        polarity = spec.get("polarity", cat["polarity"] if cat is not None else None)
        if polarity not in _POLARITIES:
            c.add(f"{key}.polarity", polarity, "polarity", "must be 'higher_is_better' or 'lower_is_better' "
                  f"(a scored indicator needs a direction); got {_show(polarity)}.")
        elif cat is not None and cat["polarity"] in _POLARITIES and polarity != cat["polarity"]:
            c.add(f"{key}.polarity", polarity, "polarity_matches", f"measure '{measure}' is "
                  f"'{cat['polarity']}' in the indicator table; the framework may not reverse it.")
        target = c.number(spec, key, "target", required=False)
        uncertainty = spec.get("uncertainty", "interval")
        if uncertainty not in ("interval", "none"):
            c.add(f"{key}.uncertainty", uncertainty, "uncertainty", "must be 'interval' (simulate from the "
                  f"indicator's interval) or 'none' (hold it fixed); got {_show(uncertainty)}.")
        draw_group = spec.get("draw_group", "")
        if not isinstance(draw_group, str):
            c.add(f"{key}.draw_group", draw_group, "text", f"must be a text in quotes; got {_show(draw_group)}.")
            draw_group = ""
        rule, floor, steps, otherwise = _scoring(spec.get("scoring"), f"{key}.scoring", c, polarity, target)
        if rule == "steps" and np.isnan(target) and steps:
            target = steps[0][0]
        if len(c.problems) > n_before:
            continue
        out.append({"id": iid, "tier": tier, "en": c.text(spec, key, "en"), "zh": c.text(spec, key, "zh"),
                    "measure": measure, "item": item, "group": group, "polarity": polarity, "unit": unit,
                    "target": target, "rule": rule, "floor": floor, "steps": steps, "otherwise": otherwise,
                    "uncertainty": uncertainty, "draw_group": draw_group, "source": spec.get("source", "")})
    return out


def _scoring(raw: Any, key: str, c: _Checker, polarity: Any, target: float
             ) -> tuple[str, float, tuple[tuple[float, float], ...], float]:
    if raw is None:
        return "", np.nan, (), 0.0
    if not c.keys(raw, key, _SCORING_KEYS, required=("rule",)):
        return "", np.nan, (), 0.0
    rule = raw.get("rule")
    higher = polarity != "lower_is_better"
    if rule == "linear":
        for extra in ("steps", "otherwise"):
            if extra in raw:
                c.add(f"{key}.{extra}", raw[extra], "linear_keys", f"a linear rule has a floor and uses the "
                      f"indicator's target; '{extra}' belongs to a stepped rule.")
        floor = c.number(raw, key, "floor")
        if np.isnan(target):
            c.add(key.rsplit(".", 1)[0] + ".target", None, "required", "a linear rule scores 100 at the target: "
                  "'target' is required for this indicator.")
        elif not np.isnan(floor) and polarity in _POLARITIES:
            if higher and not floor < target:
                c.add(f"{key}.floor", raw["floor"], "floor_below_target", f"for a higher-is-better indicator the "
                      f"floor (0 points) must be below the target {target:g} (100 points); got {floor:g}.")
            if not higher and not floor > target:
                c.add(f"{key}.floor", raw["floor"], "floor_above_target", f"for a lower-is-better indicator the "
                      f"floor (0 points) must be above the target {target:g} (100 points); got {floor:g}.")
        return "linear", floor, (), 0.0
    if rule == "steps":
        if "floor" in raw:
            c.add(f"{key}.floor", raw["floor"], "steps_keys", "a stepped rule has steps and 'otherwise'; "
                  "'floor' belongs to a linear rule.")
        steps_raw = raw.get("steps")
        steps: list[tuple[float, float]] = []
        if not isinstance(steps_raw, list) or not steps_raw:
            c.add(f"{key}.steps", steps_raw, "steps", "must be a list of [threshold, points] pairs from the best "
                  "step down, such as [[0.95, 100], [0.90, 80]].")
            return "steps", np.nan, (), 0.0
        for k, s in enumerate(steps_raw):
            try:
                if isinstance(s, (str, bytes)) or len(s) != 2:
                    raise ValueError
                t, p = _number(s[0]), _number(s[1])
            except (TypeError, ValueError, ZeroDivisionError):
                c.add(f"{key}.steps[{k + 1}]", s, "step_pair", f"each step must be a [threshold, points] pair of "
                      f"numbers; got {_show(s)}.")
                continue
            if not 0 <= p <= 100:
                c.add(f"{key}.steps[{k + 1}]", s, "step_points", f"points must be from 0 to 100; got {p:g}.")
            steps.append((t, p))
        if len(steps) == len(steps_raw):
            for k in range(1, len(steps)):
                (t0, p0), (t1, p1) = steps[k - 1], steps[k]
                if (higher and not t1 < t0) or (not higher and not t1 > t0):
                    word = "below" if higher else "above"
                    c.add(f"{key}.steps[{k + 1}]", list(steps_raw[k]), "steps_order", f"steps run from the best "
                          f"down, so for a {'higher' if higher else 'lower'}-is-better indicator each threshold must "
                          f"be {word} the one before ({t0:g}); got {t1:g}.")
                if p1 > p0:
                    c.add(f"{key}.steps[{k + 1}]", list(steps_raw[k]), "steps_points_order", f"a lower step cannot "
                          f"earn more points than the step before ({p0:g}); got {p1:g}.")
        otherwise = c.number(raw, key, "otherwise", low=0, high=100, default=0.0)
        if steps and otherwise > steps[-1][1]:
            c.add(f"{key}.otherwise", raw.get("otherwise"), "otherwise_lowest", f"'otherwise' (a value below every "
                  f"step) cannot earn more than the last step ({steps[-1][1]:g}); got {otherwise:g}.")
        return "steps", np.nan, tuple(steps), otherwise
    c.add(f"{key}.rule", rule, "rule", f"must be 'linear' (floor to target) or 'steps' (a stepped rubric); "
          f"got {_show(rule)}.")
    return "", np.nan, (), 0.0


def _weights(raw: Any, key: str, members: list[str], c: _Checker, max_cr: float) -> WeightSet | None:
    if raw is None:
        c.add(key, None, "required", f"weights are required here: an AHP matrix or direct weights for "
              f"{', '.join(members)}.")
        return None
    if not c.keys(raw, key, _WEIGHT_KEYS, required=("method",)):
        return None
    method = raw.get("method")
    allow = raw.get("allow_inconsistent", False)
    reason = raw.get("reason", "")
    if not isinstance(allow, bool):
        c.add(f"{key}.allow_inconsistent", allow, "boolean", f"must be true or false; got {_show(allow)}.")
        allow = False
    if allow and not (isinstance(reason, str) and reason.strip()):
        c.add(f"{key}.reason", reason or None, "reason_required", "accepting inconsistent judgements "
              "(allow_inconsistent = true) needs a reason, which the report shows.")
    if method == "direct":
        w = raw.get("weights")
        if not isinstance(w, dict):
            c.add(f"{key}.weights", w, "direct_weights", "direct weights must be a table such as "
                  "{ a = 0.6, b = 0.4 }.")
            return None
        _same_members(list(w), members, f"{key}.weights", c)
        values = []
        for m in w:
            v = c.number(w, f"{key}.weights", m, low=0)
            if v == 0:
                c.add(f"{key}.weights.{m}", w[m], "positive", "a weight must be above 0; remove the element instead.")
            values.append(v)
        total = float(np.nansum(values))
        if values and abs(total - 1) > 1e-6 and not np.isnan(values).any():
            c.add(f"{key}.weights", w, "sum_to_one", f"direct weights must add up to 1; these add up to {total:g}.")
        return WeightSet(key, "direct", tuple(w), tuple(values), None, None, allow, str(reason))
    if method == "ahp":
        order, matrix = raw.get("order"), raw.get("matrix")
        if not isinstance(order, list) or not all(isinstance(o, str) for o in order):
            c.add(f"{key}.order", order, "order", "must list the compared elements in the order of the matrix rows, "
                  f"such as [{', '.join(repr(m) for m in members)}].")
            return None
        _same_members(order, members, f"{key}.order", c)
        if not isinstance(matrix, list):
            c.add(f"{key}.matrix", matrix, "matrix", "must be a list of rows, such as [[1, 3], [\"1/3\", 1]].")
            return None
        try:
            a = _as_matrix(matrix)
        except ValueError as e:
            c.add(f"{key}.matrix", matrix, "matrix_numbers", str(e))
            return None
        if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] != len(order):
            c.add(f"{key}.matrix", f"{a.shape[0]} x {a.shape[1]}", "matrix_order",
                  f"the matrix has {a.shape[0]} rows but 'order' lists {len(order)} elements.")
            return None
        errors = _matrix_errors(a, order)
        for rule, msg in errors:
            c.add(f"{key}.matrix", None, rule, msg)
        if errors:
            return None
        try:
            r = ahp_weights(a, labels=order, name=f"'{key}'", max_cr=max_cr, allow_inconsistent=allow)
        except InconsistentJudgementsError as e:
            c.add(f"{key}.matrix", f"CR = {_cr(a):.3f}", "consistency_ratio", str(e))
            return None
        return WeightSet(key, "ahp", tuple(order), tuple(float(x) for x in r.weights),
                         tuple(tuple(row) for row in a.tolist()), r, allow, str(reason))
    c.add(f"{key}.method", method, "weight_method", f"must be 'ahp' (a pairwise-comparison matrix) or 'direct' "
          f"(weights that add up to 1); got {_show(method)}.")
    return None


def _cr(a: np.ndarray) -> float:
    return ahp_weights(a, allow_inconsistent=True).cr


def _same_members(given: list[str], members: list[str], key: str, c: _Checker) -> None:
    missing = [m for m in members if m not in given]
    extra = [g for g in given if g not in members]
    dup = sorted({g for g in given if given.count(g) > 1})
    if missing:
        c.add(key, given, "members_missing", f"must include every element it weighs; missing: {', '.join(missing)}.")
    if extra:
        c.add(key, given, "members_unknown", f"names elements that are not here: {', '.join(extra)}; the elements "
              f"are {', '.join(members)}.")
    if dup:
        c.add(key, given, "members_unique", f"names an element more than once: {', '.join(dup)}.")


# --- scoring counties --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Composite scores, grades and ranks of every county of one year (made by :func:`score_counties`).

    Attributes
    ----------
    counties : DataFrame
        One row per county; columns documented in :func:`score_counties`.
    tiers : DataFrame
        One row per county and tier: ``code``, ``tier``, ``score``, ``score_lower``,
        ``score_upper``, ``base_weight`` (the tier's weight in the framework), ``weight`` (after
        redistributing missing tiers) and ``n_missing``.
    indicators : DataFrame
        One row per county and indicator: ``code``, ``indicator``, ``tier``, ``measure``,
        ``item``, ``group``, ``unit``, ``value``, ``lower``, ``upper``, ``se`` (the table's
        figures at 95%), ``target``, ``points`` (0-100 at the point value), ``base_weight``,
        ``weight`` (after redistribution; 0 when missing), ``missing``, ``suppression_reason``
        and ``uncertainty`` (``interval``, ``se``, ``fixed (no interval)``, ``fixed
        (framework)`` or ``missing``).
    framework, year, level, draws, seed, confidence
        What produced them.
    """

    counties: pd.DataFrame
    tiers: pd.DataFrame
    indicators: pd.DataFrame
    framework: Framework
    year: int
    level: str
    draws: int
    seed: int
    confidence: float

    def provenance(self) -> dict[str, Any]:
        """What a methods appendix needs to reproduce the scores."""
        return {"framework_id": self.framework.id, "framework_version": self.framework.version,
                "framework_file": self.framework.file, "framework_sha256": self.framework.sha256,
                "year": self.year, "level": self.level, "draws": self.draws, "seed": self.seed,
                "confidence": self.confidence, "max_missing_weight": self.framework.max_missing_weight}


_TABLE_COLUMNS = ("level", "code", "year", "indicator", "item", "group", "value", "se", "lower", "upper",
                  "confidence", "suppressed", "suppression_reason")


def score_counties(
    table: pd.DataFrame,
    framework: Framework | None = None,
    *,
    year: int | None = None,
    level: str = "county",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> Scores:
    """Composite score, grade and rank of every county, with uncertainty, in one vectorised pass.

    Call it once per year for the whole province: grades and ranks are relative to the same
    simulation for every county, and each report selects its county's rows.

    Parameters
    ----------
    table : DataFrame
        The indicator table (:func:`evalkit.indicators.indicator_table`), all units; the rows
        at confidence 0.95 of ``level`` and ``year`` are used.
    framework : Framework, optional
        Default: the shipped framework (:func:`load_framework`).
    year : int, optional
        Default: the latest year in the table.
    level : str, default "county"
        The units scored and ranked against each other.
    draws : int, default 4000
        Monte Carlo draws.
    seed : int, default 20250101
        Seed of the random numbers: the same inputs and seed give the same results.
    confidence : float, default 0.95
        Coverage of the score and rank intervals.

    Returns
    -------
    Scores
        ``.counties`` has one row per county, sorted by code: ``code``, ``county_code``,
        ``prefecture_code``, ``name_en``, ``name_zh``, ``year``, ``graded`` (bool), ``score``
        (0-100, at the indicators' point values), ``score_lower``, ``score_upper``,
        ``confidence``, ``score_<tier>`` for each tier, ``grade`` (a grade id; missing when not
        graded), ``grade_probability`` (share of draws in that grade), ``p_<grade>`` for each
        grade, ``rank`` (1 = best among graded counties), ``rank_lower``, ``rank_upper``,
        ``n_ranked``, ``n_missing``, ``missing`` (comma-separated indicator ids),
        ``missing_weight`` (their share of the framework's weight), ``reason`` (a code of
        :data:`REASONS` when not graded, else empty), ``method``.  ``.tiers`` and
        ``.indicators`` hold the details (see :class:`Scores`).

    Raises
    ------
    ValueError
        If the table lacks a column, has no rows for the level and year, has no rows at all
        for an indicator the framework reads (the message lists what it has), or has duplicate
        rows for one county and indicator; or if ``draws`` or ``confidence`` is invalid.

    Notes
    -----
    Points: each indicator's value is turned into 0-100 points by its rule
    (:func:`linear_score`, :func:`step_score`).  Score: ``sum_t W_t sum_(i in t) w_i p_i``
    with tier weights ``W`` and within-tier weights ``w``, both renormalised over what is
    present (module docstring, "Missing indicators").  The point score uses the estimates;
    the interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of
    the simulated scores, which need not be centred on it (points are capped at 100).  The grade
    is that of the point score (cut-offs inclusive); ``p_<grade>`` is the share of draws in
    each grade.  Ranks: :func:`rank_intervals` over the graded counties.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"level": "county", "code": ["A", "B"], "year": 2025, "indicator": "coverage",
    ...                      "item": "all", "group": "all", "value": [0.20, 0.10], "se": float("nan"),
    ...                      "lower": [0.18, 0.08], "upper": [0.22, 0.12], "confidence": 0.95,
    ...                      "suppressed": False, "suppression_reason": None})
    >>> fw = parse_framework('''
    ... id = "demo"
    ... en = "Demo"
    ... zh = "示例"
    ... grades = [{ id = "pass", en = "Pass", zh = "合格", min = 60 }, { id = "fail", en = "Fail", zh = "不合格", min = 0 }]
    ... tiers = { output = { en = "Output", zh = "产出" } }
    ... tier_weights = { method = "direct", weights = { output = 1 } }
    ... [indicators.coverage]
    ... tier = "output"
    ... en = "Coverage"
    ... zh = "覆盖率"
    ... target = 0.2
    ... scoring = { rule = "linear", floor = 0.05 }
    ... ''')
    >>> s = score_counties(rows, fw, draws=1000, seed=1)
    >>> s.counties[["code", "score", "grade", "rank", "rank_lower", "rank_upper"]].round(1)
      code  score grade  rank  rank_lower  rank_upper
    0    A  100.0  pass     1           1           1
    1    B   33.3  fail     2           2           2
    """
    fw = framework if framework is not None else load_framework()
    if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or draws < 100:
        raise ValueError(f"Draws must be a whole number of at least 100, such as 4000; got {draws!r}.")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"Confidence must be a fraction strictly between 0 and 1, such as 0.95; got {confidence!r}.")
    missing_cols = [col for col in _TABLE_COLUMNS if col not in table.columns]
    if missing_cols:
        raise ValueError(f"The indicator table lacks column(s) {', '.join(missing_cols)}; pass the table made by "
                         "evalkit.indicators.indicator_table.")
    at_level = table[table["level"] == level]
    if year is None:
        if at_level.empty:
            raise ValueError(f"The indicator table has no rows at level '{level}'.")
        year = int(at_level["year"].max())
    sel = at_level[(at_level["year"] == year) & np.isclose(at_level["confidence"], _INPUT_CONFIDENCE)]
    if sel.empty:
        years = sorted(int(y) for y in at_level["year"].unique())
        raise ValueError(f"The indicator table has no {level} rows at confidence {_INPUT_CONFIDENCE} in {year}; "
                         f"its years are {', '.join(map(str, years)) or 'none'}.")

    units = _units(sel, level)
    codes = units["code"].to_numpy()
    values = _indicator_matrix(sel, fw, codes, level, year, at_level)
    return _simulate(fw, units, values, year=year, level=level, draws=int(draws), seed=seed, confidence=confidence)


def score_years(table: pd.DataFrame, framework: Framework | None = None, *, years: Sequence[int] | None = None,
                **kwargs: Any) -> pd.DataFrame:
    """:attr:`Scores.counties` of several years stacked (default: every year in the table), for trends and models.

    Each year is simulated with the same seed (``kwargs`` are passed to :func:`score_counties`).
    """
    fw = framework if framework is not None else load_framework()
    level = kwargs.get("level", "county")
    if years is None:
        years = sorted(int(y) for y in table.loc[table["level"] == level, "year"].unique())
    return pd.concat([score_counties(table, fw, year=y, **kwargs).counties for y in years], ignore_index=True)


def _units(sel: pd.DataFrame, level: str) -> pd.DataFrame:
    cols = [c for c in ("code", "province_code", "prefecture_code", "county_code", "name_en", "name_zh")
            if c in sel.columns]
    units = sel[cols].drop_duplicates("code").sort_values("code").reset_index(drop=True)
    for c in units.columns:
        units[c] = units[c].astype(object)
    return units


def _indicator_matrix(sel: pd.DataFrame, fw: Framework, codes: np.ndarray, level: str, year: int,
                      every_year: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Value, se, lower, upper and suppression reason as (units x indicators) arrays, in framework order.

    A framework indicator with no row in ``year`` that ``every_year`` (the table at this level) has in another
    year is data missing for the year (a survey wave not delivered yet): missing for every unit, with the
    reason ``not_in_data``, so the county is scored or left ungraded by the framework's rule for missing
    indicators.  One with no row in any year is a framework that does not fit the table: an error."""
    ids = [i.id for i in fw.indicators]
    keys = pd.DataFrame({"fw": ids, "indicator": [i.measure for i in fw.indicators],
                         "item": [i.item for i in fw.indicators], "group": [i.group for i in fw.indicators]})
    measures = set(keys["indicator"])
    rows = sel[sel["indicator"].astype(str).isin(measures)]
    rows = rows[["code", "indicator", "item", "group", "value", "se", "lower", "upper", "suppression_reason"]].copy()
    for col in ("code", "indicator", "item", "group"):
        rows[col] = rows[col].astype(str)
    merged = keys.merge(rows, on=["indicator", "item", "group"], how="inner")
    absent = []
    for i in fw.indicators:
        if not (merged["fw"] == i.id).any():
            if every_year is not None and ((every_year["indicator"].astype(str) == i.measure)
                                           & (every_year["item"].astype(str) == i.item)
                                           & (every_year["group"].astype(str) == i.group)).any():
                absent.append(i.id)
                continue
            have = sel.loc[sel["indicator"].astype(str) == i.measure]
            items = sorted(have["item"].astype(str).unique())
            groups = sorted(have["group"].astype(str).unique())
            raise ValueError(
                f"The indicator table has no {level} rows in {year} for framework indicator '{i.id}' (measure "
                f"'{i.measure}', item '{i.item}', group '{i.group}'); for this measure it has items "
                f"{', '.join(items) or 'none'} and groups {', '.join(groups) or 'none'}. Correct the framework file "
                f"({fw.file}) or build the indicator table with this measure."
            )
    dup = merged.duplicated(["code", "fw"])
    if dup.any():
        row = merged.loc[dup].iloc[0]
        raise ValueError(f"The indicator table has more than one row for {level} '{row['code']}' and framework "
                         f"indicator '{row['fw']}' in {year}; select one table (one province) before scoring.")
    out = {}
    for col in ("value", "se", "lower", "upper"):
        wide = merged.pivot(index="code", columns="fw", values=col).reindex(index=codes, columns=ids)
        out[col] = wide.to_numpy(dtype=float)
    reason = merged.pivot(index="code", columns="fw", values="suppression_reason").reindex(index=codes, columns=ids)
    out["suppression_reason"] = reason.to_numpy(dtype=object)
    for i in absent:
        out["suppression_reason"][:, ids.index(i)] = "not_in_data"
    return out


def _simulate(fw: Framework, units: pd.DataFrame, m: dict[str, np.ndarray], *, year: int, level: str, draws: int,
              seed: int, confidence: float) -> Scores:
    inds = fw.indicators
    K, I = m["value"].shape
    tier_ids = [t.id for t in fw.tiers]
    T = len(tier_ids)
    tier_of = np.array([tier_ids.index(i.tier) for i in inds])
    tier_mask = np.zeros((I, T))
    tier_mask[np.arange(I), tier_of] = 1.0
    base_local = np.array([i.local_weight for i in inds])
    base_tier = np.array([t.weight for t in fw.tiers])
    base_weight = np.array([i.weight for i in inds])

    # --- missing indicators and redistributed weights (same for every draw)
    v = m["value"]
    present = np.isfinite(v)
    lw = base_local[None, :] * present                                  # (K, I)
    tier_sum = lw @ tier_mask                                           # (K, T)
    tier_present = tier_sum > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lw = np.where(present, lw / (tier_sum @ tier_mask.T), 0.0)      # within-tier shares
        tw = base_tier[None, :] * tier_present
        tw = tw / tw.sum(axis=1, keepdims=True)                          # (K, T)
    tw = np.nan_to_num(tw)
    weight = lw * (tw @ tier_mask.T)                                    # (K, I) effective global weights
    missing_weight = (base_weight[None, :] * ~present).sum(axis=1)
    any_present = present.any(axis=1)
    graded = any_present & (missing_weight <= fw.max_missing_weight + 1e-12)
    reason = np.where(~any_present, "no_data", np.where(~graded, "too_much_missing", ""))

    # --- how each cell is simulated
    z = special.ndtri(0.5 + _INPUT_CONFIDENCE / 2)  # norm.ppf
    wants = np.array([i.uncertainty == "interval" for i in inds])[None, :]
    has_interval = present & np.isfinite(m["lower"]) & np.isfinite(m["upper"])
    has_se = present & ~has_interval & np.isfinite(m["se"])
    sd_lo = np.where(wants & has_interval, (v - m["lower"]) / z, np.where(wants & has_se, m["se"], 0.0))
    sd_hi = np.where(wants & has_interval, (m["upper"] - v) / z, np.where(wants & has_se, m["se"], 0.0))
    sd_lo, sd_hi = np.clip(np.nan_to_num(sd_lo), 0, None), np.clip(np.nan_to_num(sd_hi), 0, None)
    treatment = np.select(
        [~present, ~wants & present, has_interval, has_se],
        ["missing", "fixed (framework)", "interval", "se"], default="fixed (no interval)")
    groups = []
    for i in inds:
        groups.append(i.draw_group or f"\0{i.id}")
    group_ids, group_of = np.unique(np.array(groups, dtype=object).astype(str), return_inverse=True)
    low = np.array([fw._unit_ranges[i.id][0] for i in inds])
    high = np.array([fw._unit_ranges[i.id][1] for i in inds])

    def points(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for k, ind in enumerate(inds):  # a loop over the framework's indicators, never over counties
            out[..., k] = ind.score(x[..., k])
        return np.nan_to_num(out)       # missing indicators carry weight 0

    point_pts = points(v[None, :, :])[0]                                # (K, I)
    point_tier = _tier_scores(point_pts[None], lw, tier_mask)[0]        # (K, T)
    point = np.where(graded, (point_pts * weight).sum(axis=1), np.nan)

    rng = np.random.default_rng(seed)
    comp = np.empty((draws, K))
    tiers_d = np.empty((draws, K, T))
    v0 = np.nan_to_num(v)
    for start in range(0, draws, _CHUNK):
        d = min(_CHUNK, draws - start)
        zg = rng.standard_normal((d, K, len(group_ids)))
        zi = zg[:, :, group_of]
        x = v0[None] + zi * np.where(zi < 0, sd_lo[None], sd_hi[None])
        x = np.clip(x, low, high)
        p = points(x)
        comp[start:start + d] = np.einsum("dki,ki->dk", p, weight)
        tiers_d[start:start + d] = _tier_scores(p, lw, tier_mask)
    comp[:, ~graded] = np.nan
    tiers_d[:, ~tier_present] = np.nan

    alpha = 1 - confidence
    q = [alpha / 2, 1 - alpha / 2]
    lo, hi = np.full(K, np.nan), np.full(K, np.nan)
    if graded.any():
        lo[graded], hi[graded] = np.quantile(comp[:, graded], q, axis=0)
    t_lo, t_hi = np.full((K, T), np.nan), np.full((K, T), np.nan)
    if tier_present.any():
        t_lo[tier_present], t_hi[tier_present] = np.quantile(tiers_d[:, tier_present], q, axis=0)

    # --- grades
    n_grades = len(fw.grades)
    gidx = fw._grade_index(comp)                                        # (D, K)
    probs = np.stack([(gidx == g).mean(axis=0) for g in range(n_grades)], axis=1)  # (K, G)
    probs[~graded] = np.nan
    point_idx = fw._grade_index(point)
    grade_ids = np.array([g.id for g in fw.grades] + [None], dtype=object)
    grade = grade_ids[point_idx]
    grade_prob = np.where(graded, probs[np.arange(K), np.minimum(point_idx, n_grades - 1)], np.nan)

    # --- ranks among graded counties
    rank = np.full(K, np.nan)
    rank_lo, rank_hi = np.full(K, np.nan), np.full(K, np.nan)
    if graded.any():
        r = rank_intervals(comp[:, graded], point[graded], confidence=confidence)
        rank[graded], rank_lo[graded], rank_hi[graded] = r["rank"], r["rank_lower"], r["rank_upper"]

    missing_list = np.full(K, "", dtype=object)
    for k, ind in enumerate(inds):  # over indicators: "a,b" lists of what each county lacks
        missing_list = missing_list + np.where(present[:, k], "", ind.id + ",")
    missing_list = pd.Series(missing_list, dtype=object).str.rstrip(",").to_numpy(dtype=object)
    method = (f"weighted sum of indicator points (0-100), framework '{fw.id}' {fw.version}; intervals and grade "
              f"probabilities from {draws} Monte Carlo draws (seed {seed}) of the indicators' 95% intervals "
              f"(split normal); missing indicators re-weighted within tier, no grade above "
              f"{fw.max_missing_weight:g} of the weight missing")

    counties = units.copy()
    if "county_code" not in counties.columns:
        counties["county_code"] = counties["code"]
    counties["year"] = year
    counties["graded"] = graded
    counties["score"] = point
    counties["score_lower"] = lo
    counties["score_upper"] = hi
    counties["confidence"] = confidence
    for t, tid in enumerate(tier_ids):
        counties[f"score_{tid}"] = np.where(tier_present[:, t], point_tier[:, t], np.nan)
    counties["grade"] = pd.Series(grade, dtype=object)
    counties["grade_probability"] = grade_prob
    for g, gr in enumerate(fw.grades):
        counties[f"p_{gr.id}"] = probs[:, g]
    counties["rank"] = pd.array(np.where(np.isnan(rank), pd.NA, rank), dtype="Int64")
    counties["rank_lower"] = pd.array(np.where(np.isnan(rank_lo), pd.NA, rank_lo), dtype="Int64")
    counties["rank_upper"] = pd.array(np.where(np.isnan(rank_hi), pd.NA, rank_hi), dtype="Int64")
    counties["n_ranked"] = int(graded.sum())
    counties["n_missing"] = (~present).sum(axis=1)
    counties["missing"] = missing_list
    counties["missing_weight"] = missing_weight
    counties["reason"] = reason
    counties["method"] = method

    codes = units["code"].to_numpy()
    ids = np.array([i.id for i in inds])
    tiers = pd.DataFrame({
        "code": np.repeat(codes, T),
        "tier": np.tile(tier_ids, K),
        "score": np.where(tier_present, point_tier, np.nan).reshape(-1),
        "score_lower": t_lo.reshape(-1),
        "score_upper": t_hi.reshape(-1),
        "confidence": confidence,
        "base_weight": np.tile(base_tier, K),
        "weight": tw.reshape(-1),
        "n_missing": ((~present).astype(int) @ tier_mask).reshape(-1).astype(int),
    })
    indicators = pd.DataFrame({
        "code": np.repeat(codes, I),
        "indicator": np.tile(ids, K),
        "tier": np.tile([i.tier for i in inds], K),
        "measure": np.tile([i.measure for i in inds], K),
        "item": np.tile([i.item for i in inds], K),
        "group": np.tile([i.group for i in inds], K),
        "unit": np.tile([i.unit for i in inds], K),
        "value": v.reshape(-1),
        "lower": m["lower"].reshape(-1),
        "upper": m["upper"].reshape(-1),
        "se": m["se"].reshape(-1),
        "confidence": _INPUT_CONFIDENCE,
        "target": np.tile([i.target for i in inds], K),
        "points": np.where(present, point_pts, np.nan).reshape(-1),
        "base_weight": np.tile(base_weight, K),
        "weight": weight.reshape(-1),
        "missing": (~present).reshape(-1),
        "suppression_reason": m["suppression_reason"].reshape(-1),
        "uncertainty": treatment.reshape(-1),
    })
    return Scores(counties, tiers, indicators, fw, int(year), level, draws, int(seed), confidence)


def _tier_scores(points: np.ndarray, lw: np.ndarray, tier_mask: np.ndarray) -> np.ndarray:
    """Tier scores (draws x units x tiers) from indicator points and within-tier weights."""
    return (points * lw) @ tier_mask
