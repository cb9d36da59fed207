"""Design-based models: regression, ordinal regression and tests of association, as R's ``survey`` fits them.

Each function takes the survey design as :func:`evalkit.measures.survey.svy_mean` takes it (``strata``,
``psu``, ``weight``, ``fpc``, ``nest``, ``lonely_psu``, ``domain``) and computes its variance with the same
engine (:func:`~evalkit.measures.survey.code_design` and
:func:`~evalkit.measures.survey.total_covariance`, the matrix form of the stage variance), so that a model
and a mean of the same design agree on what a PSU, a stratum and a domain are.

* :func:`svy_glm`: R's ``svyglm``: generalised linear models (gaussian, quasibinomial, quasipoisson) fitted
  by weighted iteratively reweighted least squares, with the Taylor-linearised sandwich variance
  :math:`\\hat V = A^{-1} \\hat V_{\\text{design}}(\\sum_i U_i) A^{-1}` (R's ``svy.varcoef``), where
  :math:`U_i = w_i x_i (y_i - \\mu_i) \\mu'_i / v(\\mu_i)` are the rows' score contributions and
  :math:`A = \\sum_i w_i x_i x_i^T \\mu_i'^2 / v(\\mu_i)` the information.
* :func:`svy_olr`: R's ``svyolr``: the proportional-odds (cumulative logit) model in MASS's ``polr``
  parameterisation, :math:`\\mathrm{logit}\\,P(Y \\le k) = \\zeta_k - x^T\\beta`, fitted by weighted maximum
  likelihood, with the same sandwich (the information from the weighted log-likelihood's Hessian).
* :func:`svy_chisq`: R's ``svychisq``: Pearson's :math:`X^2` of the weighted two-way table with the Rao-Scott
  second-order correction (``statistic="F"``, the default) or the first-order one (``"Chisq"``).

Formulas are written as for statsmodels (patsy syntax: ``y ~ x + C(year) + group``); a text column is a
categorical predictor with treatment contrasts against its first level in sorted order, as R's ``factor``.
Rows where any variable of the formula is missing (NaN: answers 8 and 9 once coded as missing) leave the
model but stay in the design, as R's model frame drops them with ``na.omit`` while the design keeps its
PSU counts; rows outside ``domain`` do the same (R's ``subset``).  A five-point item (a ``q_*`` column, or one
whose other values are 1-5) that still holds the codes 8 (don't know) or 9 (refused) is refused, naming the
codes, unless ``missing_codes`` says what they are: ``(8, 9)`` drops those rows as R's ``NA``, ``()`` takes
them as numbers.  ``SurveyDesign`` codes them as missing before it calls these functions.

``svy_glm(by=...)`` fits the model in every group at once, each group a domain of the whole design (R's
``svyby(formula, by, design, svyglm)``): one pass over the rows, one covariance per group.

Degrees of freedom: a design's :math:`d` = PSUs minus strata holding model rows (R's ``degf`` of the model's
design).  ``svy_glm`` tests and intervals use R's residual df :math:`d + 1 - p` (``df.residual`` of a
``svyglm`` with *p* coefficients, what ``summary`` and ``confint`` use); ``svy_olr`` uses the normal
distribution, as R's ``confint`` of a ``svyolr`` does (its ``df`` column is then infinite).

References
----------
.. [1] Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. doi:10.1002/9780470580066
.. [2] Binder D.A. (1983). On the variances of asymptotically normal estimators from complex surveys.
       *International Statistical Review* 51(3), 279-292. doi:10.2307/1402588
.. [3] Rao J.N.K., Scott A.J. (1984). On chi-squared tests for multiway contingency tables with cell
       proportions estimated from survey data. *Annals of Statistics* 12(1), 46-60.
       doi:10.1214/aos/1176346391
.. [4] McCullagh P. (1980). Regression models for ordinal data. *Journal of the Royal Statistical Society B*
       42(2), 109-142.
"""

from __future__ import annotations

import io
import tokenize
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from evalkit.measures.survey import (Columns, check_confidence, code_design, coded_missing, domain_mask, group_codes,
                                     require_columns, total_covariance)

__all__ = ["CHISQ_STATISTICS", "FAMILIES", "MODEL_COLUMNS", "svy_chisq", "svy_glm", "svy_olr"]

FAMILIES = ("gaussian", "quasibinomial", "quasipoisson")
CHISQ_STATISTICS = ("F", "Chisq")
MODEL_COLUMNS = ["term", "value", "se", "lower", "upper", "confidence", "statistic", "t", "p", "df", "method",
                 "n"]
CHISQ_COLUMNS = ["value", "ndf", "ddf", "p", "statistic", "method", "chisq", "n"]
_MAX_ITER = 100
_TOL = 1e-12


# ---------------------------------------------------------------------------------------------------------------
# the model frame


def _variables(formula: str, columns: pd.Index) -> list[str]:
    """The data's columns named in ``formula`` (R's ``all.vars``), in order of appearance."""
    names: list[str] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(formula).readline))
    except (tokenize.TokenError, IndentationError) as exc:
        raise ValueError(f"Formula {formula!r} cannot be read: {exc}.") from None
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.string in columns and tok.string not in names:
            names.append(tok.string)
    return names


def _coded_missing(data: pd.DataFrame, names: list[str], dom: np.ndarray,
                   missing_codes: Any) -> pd.DataFrame:
    """``data`` with the codes 8/9 of the numeric columns ``names`` dealt with as
    :func:`evalkit.measures.survey.coded_missing` says (the one rule for every design-based function)."""
    out = {}
    for col in names:
        s = data[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        values = s.to_numpy(dtype=float, na_value=np.nan)
        kept = coded_missing(data, col, values, dom, missing_codes)
        if kept is not values and not np.array_equal(kept, values, equal_nan=True):
            out[col] = kept
    return data.assign(**out) if out else data


def _model_rows(data: pd.DataFrame, formula: str, domain: Any, missing_codes: Any = None
                ) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """The data (codes set missing), the formula's variables and the rows in the model (domain, nothing
    missing)."""
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"formula must be a string such as 'y ~ x1 + C(x2)'; got {formula!r}.")
    names = _variables(formula, data.columns)
    lhs = formula.split("~", 1)[0]
    if not _variables(lhs, data.columns):
        raise ValueError(f"The response of formula {formula!r} names no column of the data.")
    dom = domain_mask(data, domain)
    data = _coded_missing(data, names, dom, missing_codes)
    present = data[names].notna().all(axis=1).to_numpy() if names else np.ones(len(data), bool)
    return data, names, dom & present


#: patsy's stateful transforms: their values depend on the whole column, so the formula is evaluated on every row
_STATEFUL = {"center", "standardize", "scale", "bs", "cr", "cc", "te"}


def _column_codes(data: pd.DataFrame, col: str, idx: np.ndarray, codes: dict) -> np.ndarray:
    """Codes of column ``col`` on rows ``idx`` (factorised once, on every row: cheaper than taking rows first)."""
    if col not in codes:
        codes[col] = pd.factorize(data[col], sort=False)
    return codes[col][0][idx]


def _distinct_rows(data: pd.DataFrame, cols: list[str], idx: np.ndarray, coded: dict
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx`` reduced to one per distinct combination of ``cols``: (those rows, each row's combination)."""
    if not cols:
        return idx[:1], np.zeros(len(idx), np.int64)
    key = np.zeros(len(idx), np.int64)
    bound = 1
    for col in cols:
        codes = _column_codes(data, col, idx, coded)
        k = len(coded[col][1])
        if bound * k >= 2**62:
            return idx, np.arange(len(idx))
        key, bound = key * k + codes, bound * k
    if bound <= 4 * len(idx) + 1024:  # few combinations: numbered without sorting the rows
        first = np.full(bound, -1, np.int64)
        first[key[::-1]] = np.arange(len(idx))[::-1]  # each combination's first row
        present = np.flatnonzero(first >= 0)
        number = np.cumsum(first >= 0) - 1
        return idx[first[present]], number[key]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return idx[first], inverse.reshape(-1)


def _frame_for_patsy(data: pd.DataFrame, names: list[str], idx: np.ndarray, levels: dict) -> pd.DataFrame:
    """Rows ``idx`` of the formula's columns; text columns as categoricals with ``levels``."""
    sub = data[names].iloc[idx].reset_index(drop=True)
    for col, cats in levels.items():
        sub[col] = pd.Categorical(sub[col].astype(object), categories=cats)
    return sub


def _evaluate(patsy, desc, data: pd.DataFrame, names: list[str], idx: np.ndarray, levels: dict,
              every_row: bool, coded: dict):
    """patsy's matrix of ``desc`` on rows ``idx``, evaluated once per distinct combination of its variables
    (patsy reads categorical values one by one: on every row that is most of a model's time)."""
    used = _names_in(desc)
    cols = [c for c in names if c in used]
    if not every_row and len(cols) == 1 and cols[0] not in levels and _tokens(str(desc.rhs_termlist[-1].name()))\
            == cols and pd.api.types.is_numeric_dtype(data[cols[0]]) and len(desc.rhs_termlist) == 1:
        # a bare numeric column (the usual response): its values, without patsy
        return data[cols[0]].to_numpy(dtype=float)[idx, None], [cols[0]]
    rows, inverse = (idx, np.arange(len(idx))) if every_row else _distinct_rows(data, cols, idx, coded)
    mat = patsy.dmatrix(desc, _frame_for_patsy(data, names, rows, levels), NA_action="raise",
                        return_type="matrix")
    return np.asarray(mat, dtype=float)[inverse], list(mat.design_info.column_names)


def _names_in(desc) -> set[str]:
    out: set[str] = set()
    for term in desc.rhs_termlist:
        for factor in term.factors:
            out.update(tok for tok in _tokens(factor.name()))
    return out


def _tokens(text: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME]
    except (tokenize.TokenError, IndentationError):
        return []


def _design_matrices(data, formula, names, rows) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import patsy

    idx = np.flatnonzero(rows)
    if not len(idx):
        raise ValueError(f"No row of the domain has every variable of {formula!r}; nothing to fit.")
    levels, coded = {}, {}
    for col in names:
        s = data[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
                or isinstance(s.dtype, pd.CategoricalDtype)):
            present = np.flatnonzero(np.bincount(_column_codes(data, col, idx, coded), minlength=1))
            levels[col] = sorted(np.asarray(coded[col][1], dtype=object)[present])
    every_row = bool(_STATEFUL & set(_tokens(formula)))
    try:
        desc = patsy.ModelDesc.from_formula(formula)
        lhs = patsy.ModelDesc([], desc.lhs_termlist)
        rhs = patsy.ModelDesc([], desc.rhs_termlist)
        y, y_names = _evaluate(patsy, lhs, data, names, idx, levels, every_row, coded)
        x, terms = _evaluate(patsy, rhs, data, names, idx, levels, every_row, coded)
    except patsy.PatsyError as exc:
        raise ValueError(f"Formula {formula!r} cannot be evaluated on the data: {exc}") from None
    if y.shape[1] == 2:  # a two-level factor or a comparison: the second level is "success", as R's binomial
        y = y[:, 1:]
    elif y.shape[1] != 1:
        raise ValueError(f"The response of {formula!r} has {y.shape[1]} columns ({', '.join(y_names)}); give one "
                         "numeric column, or a 0/1 or two-level one.")
    return y[:, 0], x, terms


def _singular(info: np.ndarray) -> int:
    """The first column of a cross-product matrix that is a combination of the columns before it, or -1."""
    diag = np.sqrt(np.abs(np.diag(info)))
    if (diag == 0).any():
        return int(np.argmax(diag == 0))
    scaled = info / np.outer(diag, diag)
    if np.linalg.eigvalsh(scaled)[0] > 1e-10:
        return -1
    for j in range(1, len(info) + 1):
        if np.linalg.eigvalsh(scaled[:j, :j])[0] <= 1e-10:
            return j - 1
    return -1


def _check_rank(info: np.ndarray, terms: list[str], formula: str) -> None:
    bad = _singular(info)
    if bad >= 0:
        raise ValueError(f"The terms of {formula!r} are collinear on the rows in the model: "
                         f"{terms[bad]!r} is a combination of the terms before it (or never varies); drop it.")


def _design_df(d, rows: np.ndarray, group: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
    """R's ``degf`` of the design restricted to ``rows`` (of each group): PSUs minus strata holding them."""
    g = np.zeros(int(rows.sum()), np.int64) if group is None else group[rows]
    psus = np.unique(g * len(d.psu_stratum) + d.psu[rows])
    strata = np.unique(g * len(d.n_psu) + d.stratum[rows])
    return (np.bincount(psus // len(d.psu_stratum), minlength=n_groups)
            - np.bincount(strata // len(d.n_psu), minlength=n_groups))


def _coef_frame(terms, value, cov, confidence, dof, statistic, method, n) -> pd.DataFrame:
    """The tidy frame of coefficients ``value`` (groups x terms) with covariances ``cov`` (groups x terms x terms),
    df ``dof`` and rows ``n`` per group."""
    value = np.atleast_2d(value)
    n_groups, k = value.shape
    var = np.diagonal(np.reshape(cov, (n_groups, k, k)), axis1=1, axis2=2).copy()
    # scores that cancel exactly (a coefficient that is the mean of identical answers) leave rounding noise
    noise = (var < 0) & (var >= -1e-9 * np.nanmax(np.abs(var), axis=1, initial=0.0)[:, None])
    var[noise] = 0.0
    se = np.sqrt(var)
    dof = np.broadcast_to(np.asarray(dof, dtype=float), (n_groups,))[:, None] * np.ones(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = value / se
        tail = 0.5 + confidence / 2
        q = np.where(np.isinf(dof), stats.norm.ppf(tail), stats.t.ppf(tail, np.where(dof > 0, dof, np.nan)))
        p = np.where(np.isinf(dof), 2 * stats.norm.sf(np.abs(t)),
                     2 * stats.t.sf(np.abs(t), np.where(dof > 0, dof, np.nan)))
    return pd.DataFrame({"term": np.tile(np.asarray(terms, dtype=object), n_groups), "value": value.ravel(),
                         "se": se.ravel(), "lower": (value - q * se).ravel(), "upper": (value + q * se).ravel(),
                         "confidence": float(confidence), "statistic": statistic,
                         "t": t.ravel(), "p": p.ravel(), "df": dof.ravel(), "method": method,
                         "n": np.repeat(np.asarray(n, dtype=np.int64).reshape(-1), k)})[MODEL_COLUMNS]


# ---------------------------------------------------------------------------------------------------------------
# generalised linear models


def _family(name: str):
    """(inverse link, d mu / d eta, variance, link) of a family with its canonical link."""
    if name == "gaussian":
        return (lambda eta: eta), (lambda mu: np.ones_like(mu)), (lambda mu: np.ones_like(mu)), (lambda mu: mu)
    if name == "quasibinomial":
        return expit, (lambda mu: mu * (1 - mu)), (lambda mu: mu * (1 - mu)), (lambda mu: np.log(mu / (1 - mu)))
    return np.exp, (lambda mu: mu), (lambda mu: mu), np.log


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, family: str, starts: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of the weighted GLM of each group (R's ``glm.fit``, iterated to convergence), its fitted means
    and its information :math:`\\sum w \\mu'^2 x x^T / v`.  The rows are sorted by group, group ``j`` being rows
    ``starts[j]:starts[j + 1]``; a group whose information is singular gets NaN coefficients."""
    inverse, deriv, variance, link = _family(family)
    n_groups, p = len(starts) - 1, x.shape[1]
    mu = {"gaussian": y, "quasibinomial": (y + 0.5) / 2, "quasipoisson": y + 0.1}[family]
    eta = link(mu)
    beta = np.zeros((n_groups, p))
    info = np.zeros((n_groups, p, p))
    sizes = np.diff(starts)
    filled = sizes > 0
    ok = filled.copy()
    spans = [(j, starts[j], starts[j + 1]) for j in np.flatnonzero(filled)]

    def information(ww: np.ndarray) -> None:
        xw = x * ww[:, None]
        for j, a, b in spans:
            info[j] = xw[a:b].T @ x[a:b]

    dev_old = np.full(n_groups, np.inf)
    for it in range(_MAX_ITER):
        dmu = deriv(mu)
        ww = w * dmu**2 / variance(mu)
        information(ww)
        if it == 0:  # the information's pattern of zeros does not change: singular groups are found once
            for j, _, _ in spans:
                ok[j] = _singular(info[j]) < 0
        rhs = np.zeros((n_groups, p))
        if spans:
            rhs[filled] = np.add.reduceat(x * (ww * (eta + (y - mu) / dmu))[:, None], starts[:-1][filled])
        if ok.any():
            beta[ok] = np.linalg.solve(info[ok], rhs[ok][..., None])[..., 0]
        beta[~ok] = 0.0
        eta = np.einsum("ij,ij->i", x, np.repeat(beta, sizes, axis=0))
        mu = inverse(eta)
        if family == "gaussian":  # one step is the solution, and the information does not depend on it
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.zeros(n_groups)
            if spans:
                dev[filled] = np.add.reduceat(w * (y - mu) ** 2 / variance(mu), starts[:-1][filled])
            if np.all((np.abs(dev - dev_old) <= _TOL * (np.abs(dev) + 0.1)) | ~ok):
                break
        dev_old = dev
    if family != "gaussian":
        dmu = deriv(mu)
        information(w * dmu**2 / variance(mu))
    beta[~ok] = np.nan
    return beta, mu, info


def svy_glm(data: pd.DataFrame, formula: str, *, family: str = "gaussian", by: Columns = None,
            strata: str | None = None, psu: Columns = None, weight: str | None = None, domain: Any = None,
            fpc: Columns = None, nest: bool = False, lonely_psu: str = "adjust", confidence: float = 0.95,
            missing_codes: Any = None) -> pd.DataFrame:
    """A generalised linear model of survey data with design-based standard errors (R's ``svyglm``).

    Point estimates solve the weighted score equations :math:`\\sum_i w_i x_i (y_i - \\mu_i) = 0` (canonical
    links: identity, logit, log) by iteratively reweighted least squares; the variance is the sandwich
    :math:`A^{-1} \\hat V_{\\text{design}} A^{-1}` of the module notes, with the design's strata, PSUs, fpc and
    lonely-PSU rule.  Tests and intervals use the t distribution on R's residual degrees of freedom,
    PSUs minus strata minus coefficients plus one.  With ``by``, the model is fitted in each group, each a
    domain of the whole design (R's ``svyby(formula, by, design, svyglm)``), in one pass.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    formula : str
        Model in patsy / statsmodels syntax, e.g. ``"q_overall ~ group + C(year)"``.  A response with two
        columns (a two-level text column, or a comparison such as ``I(q_overall >= 4)``) models its
        second level, as R's binomial family does.
    family : {"gaussian", "quasibinomial", "quasipoisson"}
        Linear regression, logistic regression of a proportion, log-linear regression of a count or rate.
    by : str or list of str, optional
        Fit the model in each group of these columns (a county, a wave); a group where a term does not vary
        gets NaN coefficients.
    strata, psu, weight, domain, fpc, nest, lonely_psu, confidence
        The design and the domain, as :func:`evalkit.measures.survey.svy_mean` takes them.

    Returns
    -------
    pandas.DataFrame
        The ``by`` keys, then one row per coefficient (per group): ``term`` (patsy's column name), ``value``,
        ``se``, ``lower``, ``upper``, ``confidence``, ``statistic`` ("coefficient"), ``t``, ``p`` (two-sided),
        ``df``, ``method`` ("svyglm <family>") and ``n`` (rows in the model).

    Examples
    --------
    >>> df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3, 4, 4], "x": [0., 1, 2, 3, 4, 5, 6, 7],
    ...                    "y": [1.0, 2.9, 5.2, 7.1, 8.8, 11.2, 13.1, 14.8]})
    >>> fit = svy_glm(df, "y ~ x", psu="psu")
    >>> fit["term"].tolist(), round(float(fit["value"].iloc[1]), 4), int(fit["df"].iloc[0])
    (['Intercept', 'x'], 1.9917, 2)
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(map(repr, FAMILIES))}; got {family!r}.")
    check_confidence(confidence)
    d = code_design(data, strata, psu, weight, fpc, nest, lonely_psu)
    data, names, rows = _model_rows(data, formula, domain, missing_codes)
    g, keys = group_codes(data, by)
    rows &= g >= 0
    y, x, terms = _design_matrices(data, formula, names, rows)
    if family == "quasibinomial" and ((y < 0) | (y > 1)).any():
        raise ValueError(f"The response of {formula!r} must lie between 0 and 1 for the quasibinomial family.")
    if family == "quasipoisson" and (y < 0).any():
        raise ValueError(f"The response of {formula!r} must not be negative for the quasipoisson family.")
    n_groups, p = len(keys), x.shape[1]
    gm = g[rows]
    order = np.argsort(gm, kind="stable")
    starts = np.searchsorted(gm[order], np.arange(n_groups + 1))
    w = d.weight[rows]
    w = w / w.mean()
    xs, ys, ws = x[order], y[order], w[order]
    if by is None:
        _check_rank(xs.T @ (xs * ws[:, None]), terms, formula)
    beta, mu, info = _irls(xs, ys, ws, family, starts)
    _, deriv, variance, _ = _family(family)
    scores = np.empty_like(x)
    scores[order] = xs * (ws * (ys - mu) * deriv(mu) / variance(mu))[:, None]
    ok = ~np.isnan(beta).any(axis=1)
    a_inv = np.full((n_groups, p, p), np.nan)
    a_inv[ok] = np.linalg.inv(info[ok])
    var_u, degf = total_covariance(d, rows, scores, g, n_groups, with_df=True)
    cov = a_inv @ var_u @ a_inv
    dof = degf + 1 - p
    n = np.bincount(gm, minlength=n_groups)
    out = _coef_frame(terms, beta, cov, confidence, dof, "coefficient", f"svyglm {family}", n)
    if by is None:
        return out
    return pd.concat([keys.loc[keys.index.repeat(p)].reset_index(drop=True), out], axis=1)


# ---------------------------------------------------------------------------------------------------------------
# proportional odds


def _olr_parts(theta, x, level, n_cut, w):
    """Weighted log-likelihood, its gradient, Hessian and the rows' scores, at ``theta = (beta, zeta)``."""
    p = x.shape[1]
    beta, zeta = theta[:p], theta[p:]
    eta = x @ beta
    cuts = np.concatenate([[-np.inf], zeta, [np.inf]])
    a, b = cuts[level + 1] - eta, cuts[level] - eta  # upper and lower cut of each row's category
    fa, fb = expit(a), expit(b)
    pr = fa - fb
    ua, ub = fa * (1 - fa), fb * (1 - fb)  # densities
    da, db = ua * (1 - 2 * fa), ub * (1 - 2 * fb)  # their derivatives
    rows = np.arange(len(level))
    za = np.zeros((len(level), p + n_cut))
    zb = np.zeros((len(level), p + n_cut))
    za[:, :p] = x
    zb[:, :p] = x
    up, low = level < n_cut, level > 0
    za[rows[up], p + level[up]] = -1.0
    zb[rows[low], p + level[low] - 1] = -1.0
    c = ub[:, None] * zb - ua[:, None] * za  # d pr / d theta
    with np.errstate(divide="ignore"):
        loglik = float(np.sum(w * np.log(pr)))
    scores = c * (w / pr)[:, None]
    hess = ((za * (w * da / pr)[:, None]).T @ za - (zb * (w * db / pr)[:, None]).T @ zb
            - (c * (w / pr**2)[:, None]).T @ c)
    return loglik, scores.sum(axis=0), hess, scores


def _fit_olr(x: np.ndarray, level: np.ndarray, n_cut: int, w: np.ndarray) -> np.ndarray:
    """Maximum weighted likelihood by Newton's method with step halving (the log-likelihood is concave)."""
    share = np.cumsum(np.bincount(level, weights=w, minlength=n_cut + 1))[:-1] / w.sum()
    theta = np.concatenate([np.zeros(x.shape[1]), np.log(share / (1 - share))])
    loglik, grad, hess, _ = _olr_parts(theta, x, level, n_cut, w)
    for _ in range(_MAX_ITER):
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
            new = theta - t * step
            ok = np.all(np.diff(new[x.shape[1]:]) > 0)
            if ok:
                new_loglik, new_grad, new_hess, _ = _olr_parts(new, x, level, n_cut, w)
                if new_loglik >= loglik - 1e-12 * abs(loglik):
                    break
            t /= 2
            if t < 1e-10:
                return theta
        theta, loglik, grad, hess = new, new_loglik, new_grad, new_hess
        if np.max(np.abs(t * step)) < 1e-11:
            break
    return theta


def svy_olr(data: pd.DataFrame, formula: str, *, strata: str | None = None, psu: Columns = None,
            weight: str | None = None, domain: Any = None, fpc: Columns = None, nest: bool = False,
            lonely_psu: str = "adjust", confidence: float = 0.95, missing_codes: Any = None) -> pd.DataFrame:
    """Proportional-odds (ordinal logistic) regression of survey data (R's ``svyolr``).

    :math:`\\mathrm{logit}\\,P(Y \\le k \\mid x) = \\zeta_k - x^T \\beta` (MASS's ``polr`` signs: a positive
    :math:`\\beta` moves answers up the scale), fitted by maximum weighted likelihood; the variance is the
    design-based sandwich of the module notes.  Intervals and p-values use the normal distribution, as R's
    ``confint`` and ``summary`` of a ``svyolr`` do.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    formula : str
        ``"response ~ predictors"`` (patsy syntax, without intercept: the cut-points take its place).  The
        response is a column whose ordered values (sorted, or a categorical's categories) are the levels; it
        needs at least three.
    strata, psu, weight, domain, fpc, nest, lonely_psu, confidence
        The design and the domain, as :func:`evalkit.measures.survey.svy_mean` takes them.
    missing_codes : sequence of numbers, optional
        Codes of the formula's numeric columns that mean "missing".  None (default): a five-point item (a
        ``q_*`` column, or one whose other values are 1-5) holding 8 (don't know) or 9 (refused) in the domain
        is refused, as modelled as numbers they bias the result; ``(8, 9)``: those rows leave the model;
        ``()``: the values are numbers.

    Returns
    -------
    pandas.DataFrame
        The coefficients (``statistic`` "coefficient"), then the cut-points named ``"1|2"``, ``"2|3"``, ...
        (``statistic`` "cut-point"), with the columns of :func:`svy_glm`; ``method`` is "svyolr logistic".

    Examples
    --------
    >>> df = pd.DataFrame({"psu": np.repeat(np.arange(6), 4), "x": np.tile([0., 1.], 12),
    ...                    "y": [1, 2, 2, 3, 1, 1, 2, 3, 2, 2, 3, 3, 1, 2, 3, 3, 1, 2, 2, 2, 1, 3, 2, 3]})
    >>> fit = svy_olr(df, "y ~ x", psu="psu")
    >>> fit["term"].tolist(), round(float(fit["value"].iloc[0]), 4)
    (['x', '1|2', '2|3'], 1.7851)
    """
    check_confidence(confidence)
    d = code_design(data, strata, psu, weight, fpc, nest, lonely_psu)
    data, names, rows = _model_rows(data, formula, domain, missing_codes)
    lhs, rhs = formula.split("~", 1)
    response = lhs.strip()
    require_columns(data, [response], "the response of formula (a column name)")
    y = data[response].iloc[np.flatnonzero(rows)]
    if isinstance(y.dtype, pd.CategoricalDtype):
        levels = [c for c in y.cat.categories if (y == c).any()]
    else:
        levels = sorted(y.unique())
    if len(levels) < 3:
        raise ValueError(f"The response {response!r} has {len(levels)} levels in the model's rows; an ordinal "
                         "model needs at least 3.")
    level = pd.Categorical(y, categories=levels).codes.astype(np.int64)
    _, x, terms = _design_matrices(data, f"{response} ~ {rhs}", names, rows)
    if "Intercept" in terms:
        keep = [i for i, t in enumerate(terms) if t != "Intercept"]
        x, terms = x[:, keep], [terms[i] for i in keep]
    x1 = np.column_stack([np.ones(len(x)), x])
    _check_rank(x1.T @ x1, ["(cut-points)", *terms], formula)
    n_cut = len(levels) - 1
    w = d.weight[rows]
    w = w / w.mean()
    theta = _fit_olr(x, level, n_cut, w)
    _, _, hess, scores = _olr_parts(theta, x, level, n_cut, w)
    h_inv = np.linalg.inv(-hess)
    cov = h_inv @ total_covariance(d, rows, scores) @ h_inv
    cut_names = [f"{_label(a)}|{_label(b)}" for a, b in zip(levels[:-1], levels[1:])]
    out = _coef_frame([*terms, *cut_names], theta, cov, confidence, np.inf, "coefficient",
                      "svyolr logistic", rows.sum())
    out.loc[len(terms):, "statistic"] = "cut-point"
    return out


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------------------------------
# tests of association


def svy_chisq(data: pd.DataFrame, row: str, col: str, *, statistic: str = "F", strata: str | None = None,
              psu: Columns = None, weight: str | None = None, domain: Any = None, fpc: Columns = None,
              nest: bool = False, lonely_psu: str = "adjust", confidence: float = 0.95,
              missing_codes: Any = None) -> pd.DataFrame:
    """Test of independence of two categorical variables in survey data (R's ``svychisq``).

    Pearson's :math:`X^2` of the weighted table scaled to the number of rows :math:`N`, corrected as Rao and
    Scott [3]_ do: with :math:`\\hat\\Delta` the design effect matrix of the interaction contrasts
    (:math:`(C^T D^{-1} C / N)^{-1} C^T D^{-1} \\hat V D^{-1} C`, :math:`\\hat V` the design-based covariance
    of the cell proportions),

    * ``"F"`` (second order, default): :math:`F = X^2 / \\mathrm{tr}\\,\\hat\\Delta` on
      :math:`d_0 = (\\mathrm{tr}\\,\\hat\\Delta)^2 / \\mathrm{tr}\\,\\hat\\Delta^2` and :math:`d_0 \\nu`
      degrees of freedom, :math:`\\nu` the design's PSUs minus strata;
    * ``"Chisq"`` (first order): :math:`X^2 / \\bar\\delta` against :math:`\\chi^2_{(r-1)(c-1)}`,
      :math:`\\bar\\delta` the mean eigenvalue; the ``value`` is :math:`X^2` itself, as R prints it.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    row, col : str
        The two categorical columns; rows missing either leave the table but stay in the design.
    statistic : {"F", "Chisq"}
        Second-order (F) or first-order (chi-squared) correction.
    strata, psu, weight, domain, fpc, nest, lonely_psu
        The design and the domain, as :func:`evalkit.measures.survey.svy_mean` takes them.
    confidence : float
        Accepted for a uniform signature; a test has no interval.
    missing_codes : sequence of numbers, optional
        Codes of the two columns that mean "missing".  None (default): a five-point item (a
        ``q_*`` column, or one whose other values are 1-5) holding 8 (don't know) or 9 (refused) in the domain
        is refused, as modelled as numbers they bias the result; ``(8, 9)``: those rows leave the model;
        ``()``: the values are numbers.

    Returns
    -------
    pandas.DataFrame
        One row: ``value`` (F, or :math:`X^2`), ``ndf``, ``ddf`` (infinite for "Chisq"), ``p``, ``statistic``,
        ``method``, ``chisq`` (Pearson's :math:`X^2`) and ``n`` (rows in the table).

    Examples
    --------
    >>> df = pd.DataFrame({"psu": np.repeat(np.arange(8), 5), "a": np.tile(["u", "r"], 20),
    ...                    "b": np.repeat([1, 0, 1, 1, 0, 0, 1, 0], 5) * np.tile([1, 0, 1, 1, 1], 8)})
    >>> res = svy_chisq(df, "a", "b", psu="psu")
    >>> res["statistic"].iloc[0], bool(0 < res["p"].iloc[0] < 1)
    ('F', True)
    """
    if statistic not in CHISQ_STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(map(repr, CHISQ_STATISTICS))}; got {statistic!r}.")
    check_confidence(confidence)
    require_columns(data, [row, col], "row/col")
    d = code_design(data, strata, psu, weight, fpc, nest, lonely_psu)
    dom = domain_mask(data, domain)
    data = _coded_missing(data, list(dict.fromkeys([row, col])), dom, missing_codes)
    rows = dom & data[row].notna().to_numpy() & data[col].notna().to_numpy()
    r_codes, r_levels = pd.factorize(data[row].iloc[np.flatnonzero(rows)], sort=True)
    c_codes, c_levels = pd.factorize(data[col].iloc[np.flatnonzero(rows)], sort=True)
    nr, nc = len(r_levels), len(c_levels)
    if nr < 2 or nc < 2:
        raise ValueError(f"A test of association needs at least two values of each variable; {row!r} has {nr} "
                         f"and {col!r} has {nc} in the domain.")
    cell = r_codes + nr * c_codes  # R's interaction(rows, cols): rows vary fastest
    w = d.weight[rows]
    w_tot = w.sum()
    share = np.bincount(cell, weights=w, minlength=nr * nc) / w_tot
    z = -np.broadcast_to(share, (len(cell), nr * nc)) * w[:, None] / w_tot
    z[np.arange(len(cell)), cell] += w / w_tot
    v = total_covariance(d, rows, z)
    n = int(rows.sum())
    # the interaction contrasts, residuals of the saturated model's interaction columns on the main effects
    grid_r, grid_c = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    main = np.column_stack([np.ones(nr * nc)] + [grid_r == i for i in range(1, nr)]
                           + [grid_c == j for j in range(1, nc)]).astype(float)
    inter = np.column_stack([(grid_r == i) & (grid_c == j) for j in range(1, nc)
                             for i in range(1, nr)]).astype(float)
    cmat = inter - main @ np.linalg.lstsq(main, inter, rcond=None)[0]
    with np.errstate(divide="ignore"):
        inv_d = np.where(share == 0, 0.0, 1 / share)
    denom = cmat.T @ (cmat * (inv_d / dom.sum())[:, None])
    numr = (cmat * inv_d[:, None]).T @ v @ (cmat * inv_d[:, None])
    delta = np.linalg.solve(denom, numr)
    tr, tr2 = np.trace(delta), np.trace(delta @ delta)
    p_row = np.bincount(r_codes, weights=w, minlength=nr) / w_tot
    p_col = np.bincount(c_codes, weights=w, minlength=nc) / w_tot
    expected = np.outer(p_row, p_col).reshape(-1, order="F")
    # R scales the weighted table to the rows of the domain, counting those missing one of the variables
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = int(dom.sum()) * float(np.sum((share - expected) ** 2 / expected))
    nu = int(_design_df(d, dom)[0])
    if statistic == "F":
        d0 = tr**2 / tr2
        value, ndf, ddf = x2 / tr, d0, d0 * nu
        p = float(stats.f.sf(value, ndf, ddf))
        method = "Pearson's X^2: Rao & Scott adjustment (second order, F)"
    else:
        value, ndf, ddf = x2, float(delta.shape[0]), np.inf
        p = float(stats.chi2.sf(x2 / (tr / delta.shape[0]), ndf))
        method = "Pearson's X^2: Rao & Scott adjustment (first order)"
    return pd.DataFrame({"value": [value], "ndf": [float(ndf)], "ddf": [float(ddf)], "p": [p],
                         "statistic": [statistic], "method": [method], "chisq": [x2], "n": [n]})[CHISQ_COLUMNS]
