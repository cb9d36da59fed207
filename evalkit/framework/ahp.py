"""Weights by the analytic hierarchy process (AHP): principal eigenvector, consistency ratio [1]_ [2]_ [3]_.

References are listed in :mod:`evalkit.framework`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple, Sequence

import numpy as np

from ..errors import InconsistentJudgementsError

__all__ = ["RANDOM_INDEX", "MAX_CR", "AHPResult", "ahp_weights"]

#: Saaty's random consistency index RI by matrix order n: the mean consistency index of random
#: reciprocal matrices with entries from the 1-9 scale (Saaty 1980 [2]_, Table 1.7; also [3]_).
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
#: Largest consistency ratio accepted without an explicit override (Saaty's 10% rule).
MAX_CR = 0.1


# --- AHP -----------------------------------------------------------------------------------


class AHPResult(NamedTuple):
    """Weights and consistency of one pairwise-comparison matrix (see :func:`ahp_weights`)."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float


def as_matrix(matrix: Any) -> np.ndarray:
    """A matrix of numbers from numbers or fraction strings such as ``"1/3"``."""
    try:
        rows = [[as_number(x) for x in row] for row in matrix]
        a = np.array(rows, dtype=float)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(
            "A pairwise-comparison matrix must be a list of rows of numbers or fractions such as "
            f"3 or \"1/3\"; got {matrix!r}."
        ) from None
    return a


def as_number(x: Any) -> float:
    if isinstance(x, bool):
        raise ValueError("a truth value is not a number")
    if isinstance(x, str):
        return float(Fraction(x.strip()))
    return float(x)


def matrix_errors(a: np.ndarray, labels: Sequence[str]) -> list[tuple[str, str]]:
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
    a = as_matrix(matrix)
    n = a.shape[0] if a.ndim == 2 else 0
    labels = list(labels) if labels is not None else [f"element {i + 1}" for i in range(max(n, 1))]
    if a.ndim == 2 and len(labels) != a.shape[0]:
        raise ValueError(f"Labels must name every row of the matrix: {len(labels)} labels for {a.shape[0]} rows.")
    problems = matrix_errors(a, labels)
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
