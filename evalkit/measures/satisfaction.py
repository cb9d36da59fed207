"""Satisfaction with services from five-point Likert items, design-aware throughout.

Three questions an evaluation report asks of the satisfaction survey, each answered for every
group of ``by`` (year x county, year x county x respondent group, ...) and every item at once:

* :func:`recode_likert`: which answers count?  Valid answers are 1-5; 8 (don't know),
  9 (refused) and anything else are not answers, and the count of each is kept so that a report
  can say how many respondents were excluded.
* :func:`satisfaction`: how satisfied are service users?  Top-two-box rate, mean score, 0-100
  index and net satisfaction, each with a design-based standard error and interval from
  :mod:`evalkit.measures.survey` (Taylor linearisation, validated against R's ``survey``).
* :func:`cronbach_alpha`: do the items measure one thing?  Cronbach's alpha of the scale and
  alpha if each item is dropped.

Survey design
-------------
The survey is stratified by township (``strata="township_code"``), clustered by village or
community (``psu="psu"``) and weighted (``weight="weight"``).  Each wave is a separate sample:
the same village can be drawn in two years, yet it is two clusters.  So, with ``wave="year"``
(the default), strata are (year, township) and PSUs are (year, village); every wave is then an
independent stratified cluster sample, and an estimate for one year equals the one obtained
from that year's design alone (the variance is a sum over strata).  ``fpc`` is optional (the
number of villages in the township, ``regions.villages``, joined by the caller); without it the
variance is that of sampling with replacement, slightly conservative.

Don't know and refused
----------------------
A respondent who answered 8 or 9 on an item is outside the *domain* of that item's estimate but
stays in the *design*: the score is missing, :mod:`evalkit.measures.survey` gives the row a zero
linearisation score, and its PSU and stratum still count (R's ``na.rm=TRUE`` and ``subset``).
Dropping those rows instead would remove a village whose respondents all said "don't know" from
the design, and understate or overstate the variance; the tests show the difference.

References
----------
.. [1] Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
       doi:10.1002/9780470580066
.. [2] Cronbach L.J. (1951). Coefficient alpha and the internal structure of tests.
       *Psychometrika* 16(3), 297-334. doi:10.1007/BF02310555
.. [3] Feldt L.S., Woodruff D.J., Salih F.A. (1987). Statistical inference for coefficient
       alpha. *Applied Psychological Measurement* 11(1), 93-103.
       doi:10.1177/014662168701100107
.. [4] Reichheld F.F. (2003). The one number you need to grow. *Harvard Business Review*
       81(12), 46-54.  (net scores: share of promoters minus share of detractors)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.measures.survey import (
    Columns,
    prop_interval,
    t_quantile,
)
from evalkit.measures.survey import (  # the design engine, under private names: not re-exported
    LevelDomains as _LevelDomains,
    check_confidence as _check_confidence,
    check_prop_args as _check_prop_args,
    code_design as _design,
    column_names as _names,
    group_codes as _groups,
    level_domains as _level_domains,
    mean_of_levels as _mean_of_levels,
    merged_levels as _merged,
    prop_df as _prop_df,
    require_columns as _require,
    stacked_domains as _stacked_domains,
)

__all__ = [
    "LIKERT_ITEMS",
    "MEASURES",
    "RecodedLikert",
    "cronbach_alpha",
    "recode_likert",
    "satisfaction",
]

#: The six satisfaction items of the survey table, in codebook order.
LIKERT_ITEMS = ("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect")
#: Short names accepted by ``satisfaction(measures=...)`` and the stable codes they produce.
MEASURES = {
    "rate": "satisfaction_rate",
    "mean": "mean_score",
    "index": "index_0_100",
    "net": "net_satisfaction",
}
_VALID = (1, 2, 3, 4, 5)
_DONT_KNOW, _REFUSED = 8, 9
_STATUS = ("valid", "dont_know", "refused", "invalid")
OUTPUT_COLUMNS = ["item", "measure", "value", "se", "lower", "upper", "confidence",
                  "statistic", "method", "n", "n_excluded", "deff", "n_eff", "df"]
ALPHA_COLUMNS = ["measure", "item_dropped", "value", "lower", "upper", "confidence",
                 "statistic", "method", "n", "n_excluded", "k"]


class RecodedLikert(NamedTuple):
    """What :func:`recode_likert` returns: unpack as ``data, counts = recode_likert(...)``."""

    data: pd.DataFrame
    """The recoded answers (wide or long layout)."""
    counts: pd.DataFrame
    """Per group and item: ``n`` rows, ``n_valid``, ``n_dont_know``, ``n_refused``,
    ``n_invalid`` and ``n_excluded`` (= ``n - n_valid``)."""


# --- shared helpers ----------------------------------------------------------------------

def _items(survey: pd.DataFrame, items: str | Sequence[str]) -> list[str]:
    if not isinstance(survey, pd.DataFrame):
        raise ValueError(f"survey must be a pandas DataFrame; got {type(survey).__name__}.")
    names = [items] if isinstance(items, str) else list(items)
    if not names:
        raise ValueError("items must name at least one Likert column, such as 'q_overall'.")
    for name in names:
        if name not in survey.columns:
            raise ValueError(f"Column {name!r} given as an item is not in the data.")
        if names.count(name) > 1:
            raise ValueError(f"Item {name!r} is listed more than once.")
    return names


def _recode(survey: pd.DataFrame, items: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Scores (rows x items, float, NaN unless 1-5) and status codes (index into _STATUS)."""
    raw = np.column_stack([pd.to_numeric(survey[c], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan) for c in items]) if len(survey) else np.empty((0, len(items)))
    valid = np.isin(raw, _VALID)
    status = np.full(raw.shape, 3, np.int8)
    status[valid] = 0
    status[raw == _DONT_KNOW] = 1
    status[raw == _REFUSED] = 2
    return np.where(valid, raw, np.nan), status


def _counts(status: np.ndarray, g: np.ndarray, n_groups: int) -> np.ndarray:
    """Rows per (group, item, status): array of shape (groups, items, 4)."""
    n_items = status.shape[1]
    rows = g >= 0
    cell = (g[rows, None] * n_items + np.arange(n_items)) * 4 + status[rows]
    return np.bincount(cell.ravel(), minlength=n_groups * n_items * 4).reshape(
        n_groups, n_items, 4)


# --- recode ------------------------------------------------------------------------------

def recode_likert(survey: pd.DataFrame, items: str | Sequence[str] = LIKERT_ITEMS, *,
                  by: Columns = None,
                  layout: Literal["wide", "long"] = "wide") -> RecodedLikert:
    """Recode Likert items to scores 1-5 and count the answers that are not scores.

    Call it before any analysis of the items outside :func:`satisfaction` (which recodes by
    itself), and to state in a report how many don't-know and refused answers were excluded.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent, such as ``load_province(...).survey``.
    items : str or list of str
        Likert columns; default the six items of the codebook (:data:`LIKERT_ITEMS`).
    by : str or list of str, optional
        Grouping columns for the count table (rows with a missing key are not counted).
    layout : {"wide", "long"}
        ``"wide"``: ``survey`` with each item column replaced by its float score.
        ``"long"``: one row per respondent and item (items inner): the other columns of
        ``survey``, then ``item``, ``response`` (the code as a number; NaN if it was not a
        number), ``score`` and ``status``.

    Returns
    -------
    RecodedLikert
        A named tuple ``(data, counts)``.  ``counts`` has the ``by`` keys, ``item``, ``n``
        (rows), ``n_valid`` (answers 1-5), ``n_dont_know`` (8), ``n_refused`` (9),
        ``n_invalid`` (anything else, including a missing cell) and ``n_excluded``
        (``n - n_valid``).  Keys sorted, items in the order given.

    Notes
    -----
    Score = the code when it is 1, 2, 3, 4 or 5; NaN otherwise.  Codes are compared as
    numbers, so ``"5"`` and ``5.0`` are 5, and ``4.5`` or ``7`` are invalid.  Validated data
    (``evalkit.load_province``) hold only 1-5, 8 and 9, so ``n_invalid`` is then zero.
    ``status`` is one of ``valid``, ``dont_know``, ``refused`` and ``invalid``.

    Examples
    --------
    >>> df = pd.DataFrame({"county": ["A", "A", "A", "B"], "q_overall": [5, 8, 3, 9]})
    >>> data, counts = recode_likert(df, "q_overall", by="county")
    >>> data["q_overall"].tolist()
    [5.0, nan, 3.0, nan]
    >>> counts[["county", "n", "n_valid", "n_dont_know", "n_refused", "n_excluded"]]
      county  n  n_valid  n_dont_know  n_refused  n_excluded
    0      A  3        2            1          0           1
    1      B  1        0            0          1           1
    """
    names = _items(survey, items)
    if layout not in ("wide", "long"):
        raise ValueError(f"layout must be 'wide' or 'long'; got {layout!r}.")
    scores, status = _recode(survey, names)
    g, keys = _groups(survey, by)
    c = _counts(status, g, len(keys))
    counts = keys.loc[keys.index.repeat(len(names))].reset_index(drop=True)
    counts["item"] = np.tile(names, len(keys))
    flat = c.reshape(-1, 4)
    counts["n"] = flat.sum(axis=1)
    for j, name in enumerate(_STATUS):
        counts[f"n_{name}"] = flat[:, j]
    counts["n_excluded"] = counts["n"] - counts["n_valid"]
    if layout == "wide":
        data = survey.copy()
        for j, name in enumerate(names):
            data[name] = scores[:, j]
        return RecodedLikert(data, counts)
    rest = survey.drop(columns=names)
    data = rest.iloc[np.repeat(np.arange(len(rest)), len(names))]
    raw = np.column_stack([pd.to_numeric(survey[c], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan) for c in names]) if len(survey) else np.empty((0, 0))
    data = data.assign(item=np.tile(names, len(survey)), response=raw.reshape(-1),
                       score=scores.reshape(-1),
                       status=pd.Categorical.from_codes(status.reshape(-1), _STATUS))
    return RecodedLikert(data, counts)


# --- satisfaction ------------------------------------------------------------------------

def _combined(survey: pd.DataFrame, cols: list[str]) -> pd.Categorical:
    """One categorical code for the combination of ``cols`` ('2023/430102001'); NaN if any
    part is missing."""
    codes, parts = _groups(survey, cols)
    parts = parts.astype(str)
    labels = parts.iloc[:, 0]
    for col in parts.columns[1:]:
        labels = labels + "/" + parts[col]
    return pd.Categorical.from_codes(codes, categories=pd.Index(labels.to_numpy(dtype=object)))


def _design_frame(survey: pd.DataFrame, wave: str | None, strata: str | None,
                  psu: str | None, weight: str | None,
                  fpc: str | None) -> tuple[pd.DataFrame, dict]:
    """The design columns, with waves made into strata and (wave, PSU) into PSUs."""
    for arg, col in (("wave", wave), ("strata", strata), ("psu", psu), ("weight", weight),
                     ("fpc", fpc)):
        if col is not None and not isinstance(col, str):
            raise ValueError(f"{arg} takes the name of one column; got {col!r}.")
        _require(survey, _names(col), arg)
    if wave is not None:
        missing = survey[wave].isna().to_numpy()
        if missing.any():
            raise ValueError(f"Column {wave!r} given as wave has a missing value in row "
                             f"{survey.index[np.argmax(missing)]!r}; every row needs one.")
    design: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"strata": None, "psu": None, "weight": weight, "fpc": fpc}
    stratum_cols = [c for c in (wave, strata) if c is not None]
    if stratum_cols:
        name = strata if strata is not None else wave
        design[name] = (_combined(survey, stratum_cols) if len(stratum_cols) > 1
                        else pd.Categorical(survey[name]))
        kwargs["strata"] = name
    if psu is not None:
        design[psu] = (_combined(survey, [wave, psu]) if wave is not None
                       else pd.Categorical(survey[psu]))
        kwargs["psu"] = psu
    for col in (weight, fpc):
        if col is not None:
            design[col] = survey[col].to_numpy()
    return pd.DataFrame(design, index=survey.index), kwargs


def satisfaction(survey: pd.DataFrame, items: str | Sequence[str] = LIKERT_ITEMS, *,
                 by: Columns = None,
                 measures: Sequence[str] = ("rate", "mean", "index", "net"),
                 confidence: float = 0.95, ci_method: Literal["logit", "beta", "wald"] = "logit",
                 df: str | float = "domain", wave: str | None = "year",
                 strata: str | None = "township_code", psu: str | None = "psu",
                 weight: str | None = "weight", fpc: str | None = None,
                 lonely_psu: str = "adjust") -> pd.DataFrame:
    """Satisfaction rate, mean score, 0-100 index and net satisfaction for every group and item.

    The satisfaction figures of a county report (overall and by dimension, by year and by
    respondent group), each with a design-based standard error and interval, in one call for
    every county of a province.

    Measures (each among respondents with a valid answer 1-5 on the item):

    * ``satisfaction_rate``: share answering 4 or 5 (top-two box), by
      :func:`~evalkit.measures.survey.svy_prop` of the indicator ``answer >= 4``; logit
      interval by default (R's ``svyciprop``), ``ci_method="beta"`` for Korn-Graubard, which
      behaves better near 100%.
    * ``mean_score``: weighted mean of the 1-5 score, by
      :func:`~evalkit.measures.survey.svy_mean`.
    * ``index_0_100``: :math:`(\\bar y - 1) / 4 \\times 100`, a linear map of the mean: the
      standard error is multiplied by 25 and the interval is the mean's, mapped the same way.
    * ``net_satisfaction``: share answering 4-5 minus share answering 1-2.  It is exactly the
      mean of a score that is +1 for 4-5, 0 for 3 and -1 for 1-2, so ``svy_mean`` of that
      score gives the estimate and its Taylor-linearised standard error, covariance of the
      two shares included (a net-promoter-style score [4]_).

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent (``load_province(...).survey`` or ``synth.generate()["survey"]``).
    items : str or list of str
        Likert columns (1-5, 8 don't know, 9 refused); default the six codebook items.
    by : str or list of str, optional
        Grouping columns, such as ``["year", "county_code"]`` or
        ``["year", "county_code", "group"]``.  Each group is a domain of the whole design.
        Rows whose key is missing belong to no group but stay in the design.
    measures : sequence of {"rate", "mean", "index", "net"}
        Which measures to return (rows appear in this order within a group and item).
    confidence : float
        Confidence level as a fraction, such as 0.95.
    ci_method : {"logit", "beta", "wald"}
        Interval for the satisfaction rate (see :func:`~evalkit.measures.survey.svy_prop`).
    df : "domain", "design" or float
        Degrees of freedom of the t quantile of every interval.  ``"domain"`` (default): PSUs
        minus strata among the respondents with a valid answer in the group, as R's
        ``svyciprop`` on ``subset(design, group & !is.na(answer))``: a county-year gets the df
        of its own design, a small group a small df and an honestly wider interval.
        ``"design"``: the whole design's PSUs minus strata.  ``float("inf")`` gives normal
        quantiles, as R's ``confint(svymean(...))`` for the mean, index and net measures.
        The domain df never exceeds the domain's respondents minus one, which keeps the
        Korn-Graubard (beta) interval widening with the confidence level; with ``"design"``
        a domain of a few respondents can get a beta interval that narrows as the level rises
        (Korn and Graubard's factor :math:`(t_{n-1}/t_{df})^2`, as in R).
    wave : str or None
        Column of the survey wave; each wave is an independent sample, so strata become
        (wave, stratum) and PSUs (wave, PSU).  None: use the design columns as they are.
    strata, psu, weight : str or None
        Design columns: township stratum, village PSU and sampling weight.
    fpc : str, optional
        Number of PSUs in the stratum's population (such as ``regions.villages`` joined on
        ``township_code`` and ``year``) or the sampling fraction; constant within a stratum.
    lonely_psu : {"adjust", "average", "certainty", "fail", "remove"}
        Rule for a stratum with one sampled PSU (see :mod:`evalkit.measures.survey`).

    Returns
    -------
    pandas.DataFrame
        The ``by`` keys, then ``item``, ``measure`` (``satisfaction_rate``, ``mean_score``,
        ``index_0_100``, ``net_satisfaction``), ``value``, ``se``, ``lower``, ``upper``,
        ``confidence``, ``statistic`` (``proportion``, ``mean``, ``index``,
        ``net proportion``), ``method`` (the rate's ``ci_method``; ``t`` for the others, a
        Wald interval with the t quantile), ``n`` (respondents with a valid answer),
        ``n_excluded`` (respondents of the group without one: don't know, refused, or an
        invalid or missing code), ``deff`` and ``n_eff`` (design effect and Kish effective
        sample size, as R's ``deff=TRUE``) and ``df``.  Rows: groups in sorted key order, then
        items and measures in the order given.  A group in which nobody answered an item gets
        ``n = 0`` and NaN estimates; nothing raises for a small group (suppression is the
        report's job).

    Notes
    -----
    One pass of :func:`~evalkit.measures.survey.svy_prop` and one or two of
    :func:`~evalkit.measures.survey.svy_mean` estimate every item and group at once: the items
    are stacked, each copy of a respondent keeps its stratum and PSU, and (item, group) is the
    domain, which gives exactly the per-item estimates because a PSU's total for one item
    only sums that item's rows.  Answers 8, 9 and invalid codes are missing scores, so those
    respondents leave the item's domain but stay in the design.

    The t quantile is used for all four measures so that one table applies one rule; the
    estimate and standard error are those of R's ``svymean``/``svyciprop`` on the domain.
    The t intervals of the mean, index and net measures are cut to the values the measure
    can take (1-5, 0-100, -1 to 1): a mean of 4.9 with a wide interval gives an upper limit
    of 5, not 5.2.  Cutting never lowers coverage, because the true value lies in that range.
    At a rate of 0 or 100% the logit interval is the single point (as in R); use
    ``ci_method="beta"`` where many groups are at 100%.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "year": 2025, "county_code": ["430102"] * 6 + ["430103"] * 6,
    ...     "township_code": ["t1"] * 3 + ["t2"] * 3 + ["t3"] * 3 + ["t4"] * 3,
    ...     "psu": ["v1", "v1", "v2", "v3", "v4", "v4", "v5", "v6", "v6", "v7", "v7", "v8"],
    ...     "weight": [10.0, 10, 20, 15, 15, 15, 30, 10, 10, 20, 20, 20],
    ...     "q_overall": [5, 4, 3, 5, 8, 2, 4, 4, 5, 1, 3, 9]})
    >>> res = satisfaction(df, "q_overall", by="county_code", measures=("rate", "index"))
    >>> res[["county_code", "measure", "value", "n", "n_excluded"]].round(4)
      county_code            measure    value  n  n_excluded
    0      430102  satisfaction_rate   0.5000  5           1
    1      430102        index_0_100  66.0714  5           1
    2      430103  satisfaction_rate   0.5556  5           1
    3      430103        index_0_100  55.5556  5           1

    County 430102 by hand: valid answers 5, 4, 3, 5, 2 with weights 10, 10, 20, 15, 15
    (the 8 is excluded); rate = (10 + 10 + 15) / 70 = 0.5; mean = 255 / 70 = 3.643, so
    index = (3.643 - 1) / 4 x 100 = 66.07.
    """
    return satisfaction_breakdowns(survey, items, [by], measures=measures, confidence=confidence,
                                   ci_method=ci_method, df=df, wave=wave, strata=strata, psu=psu,
                                   weight=weight, fpc=fpc, lonely_psu=lonely_psu)[0].frame()


def satisfaction_breakdowns(survey: pd.DataFrame, items: str | Sequence[str], breakdowns: Sequence[Columns],
                            *, measures: Sequence[str], confidence: float, ci_method: str, df: str | float,
                            wave: str | None, strata: str | None, psu: str | None, weight: str | None,
                            fpc: str | None, lonely_psu: str,
                            design_effects: bool = True) -> list[_Breakdown]:
    """:func:`satisfaction` for several ``by`` at once (the indicator table asks for seven).

    What does not depend on the groups is done once: recoding the answers, coding the design
    (strata, PSUs, weights) and stacking the items.  Each breakdown then costs its group codes
    and its estimates, whose measures share their domain rows and PSU cells.  Without
    ``design_effects``, ``deff`` and ``n_eff`` are left missing (they cost a pass over the rows).
    """
    names = _items(survey, items)
    codes = _measure_codes(measures)
    if survey.empty:
        raise ValueError("survey has no rows; there is nothing to estimate.")
    grouped = [_groups(survey, by) for by in breakdowns]
    design, kwargs = _design_frame(survey, wave, strata, psu, weight, fpc)
    scores, _ = _recode(survey, names)
    # what svy_prop() checks, in its order; the estimates below are those of svy_prop() and
    # svy_mean() on the items stacked (all rows of item 1, then item 2, ...), each copy of a
    # respondent keeping its stratum and PSU, with (item, group) as the domain
    _check_prop_args(ci_method, df)
    _check_confidence(confidence)
    design.index = pd.Index(design.index.to_numpy(dtype=object), dtype=object)  # row 3 in messages
    d = _design(design, kwargs["strata"], kwargs["psu"], kwargs["weight"], kwargs["fpc"], False,
                lonely_psu)
    # the answers, items stacked (all rows of item 1, then item 2, ...), and the score each measure
    # averages for each answer 1-5
    answered = ~np.isnan(scores.T)  # (items, respondents)
    answers = scores.T.reshape(-1)
    level = np.nan_to_num(answers, nan=1).astype(np.int64) - 1  # each answer's position, 0-4
    done: list[tuple[np.ndarray, int, _LevelDomains]] = []  # breakdowns that put every respondent in a group
    out = []
    for g, keys in grouped:
        k, n_groups = len(names), len(keys)
        ld = None
        everyone = bool((g >= 0).all())
        if everyone:  # merge the groups of a finer breakdown: counties from townships
            ld = next((_merged(fine, (np.arange(k)[:, None] * n_groups + to_group).reshape(-1), k * n_groups)
                       for fine_g, fine_n, fine in done
                       if (to_group := _merging(d, fine_g, fine_n, g)) is not None), None)
        if ld is None:
            valid = answered if everyone else answered & (g >= 0)
            item_keys = pd.DataFrame({"__item": np.repeat(np.arange(k), n_groups),
                                      "__group": np.tile(np.arange(n_groups), k)})
            dom = _stacked_domains(d, g, n_groups, item_keys, valid)
            ld = _level_domains(dom, level[dom.rows], 5)
        if everyone:
            done.append((g, n_groups, ld))
        out.append(_breakdown(ld, g, keys, names, codes, confidence, ci_method, df, design_effects))
    return out


def _merging(d, fine: np.ndarray, n_fine: int, g: np.ndarray) -> np.ndarray | None:
    """Group ``to[i]`` of ``g`` for each group ``i`` of the finer breakdown ``fine``, where ``g`` merges its
    groups and keeps the units of the merged groups apart (a PSU in two of them would be one unit in ``g``
    but two in ``fine``); else None."""
    to = np.full(n_fine, -1, dtype=np.int64)
    to[fine] = g
    if not (to[fine] == g).all():  # a group of fine split between groups of g
        return None
    one = np.full(int(d.psu.max(initial=-1)) + 1, -1, dtype=np.int64)
    one[d.psu] = fine
    if (one[d.psu] == fine).all():  # each PSU in one group of fine (townships): in one of g too
        return to
    # else each PSU's groups in fine must be in as many groups of g: as many (PSU, group) pairs in either
    pairs = [np.sort(d.psu * (int(groups.max(initial=-1)) + 1) + groups) for groups in (fine, g)]
    if np.count_nonzero(np.diff(pairs[0])) != np.count_nonzero(np.diff(pairs[1])):
        return None
    return to


#: The score each measure averages, for the answers 1-5: the rate counts 4-5; the mean is centred
#: at 3 so that a domain where everyone answered 5 (or 3, ...) has a mean of exactly 5 and a variance
#: of exactly 0, not rounding noise (2 w is exact, 5 w is not); net satisfaction is -1, 0 or 1.
_SCORES = {"rate": np.array([0.0, 0, 0, 1, 1]), "mean": np.arange(1.0, 6) - 3,
           "net": np.sign(np.arange(1.0, 6) - 3)}


class _Breakdown(NamedTuple):
    """One breakdown's satisfaction results as arrays; rows are group x item x measure."""

    keys: pd.DataFrame  # the groups' keys
    items: list[str]
    measures: list[str]  # measure codes
    columns: dict[str, np.ndarray]  # per row: OUTPUT_COLUMNS from value on, but statistic, method
    statistic: list[str]  # per measure
    method: list[str]  # per measure

    def index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's group, item and measure (positions in keys, items and measures)."""
        g, k, m = len(self.keys), len(self.items), len(self.measures)
        return (np.repeat(np.arange(g), k * m), np.tile(np.repeat(np.arange(k), m), g),
                np.tile(np.arange(m), k * g))

    def frame(self) -> pd.DataFrame:
        """The table :func:`satisfaction` returns."""
        group, item, measure = self.index()
        out = self.keys.iloc[group].reset_index(drop=True)
        added: dict[str, Any] = {"item": np.array(self.items, dtype=object)[item],
                                 "measure": np.array(self.measures, dtype=object)[measure]}
        for col in OUTPUT_COLUMNS[2:]:
            if col in ("statistic", "method"):
                added[col] = np.array(getattr(self, col), dtype=object)[measure]
            else:
                added[col] = self.columns[col]
        out = pd.concat([out, pd.DataFrame(added, index=out.index)], axis=1)
        return out.astype({"n": np.int64, "n_excluded": np.int64, "df": float, "item": str,
                           "measure": str, "statistic": str, "method": str})


def _breakdown(ld: _LevelDomains, g: np.ndarray, keys: pd.DataFrame, names: list[str], codes: list[str],
               confidence: float, ci_method: str, df: str | float, design_effects: bool) -> _Breakdown:
    """The satisfaction results of one breakdown (groups ``g`` with ``keys``) from its domains: (item, group)
    of the stacked answers, reduced to the weights of the answers 1-5 per cell (:func:`_level_domains`)."""
    k, n_groups = len(names), len(keys)

    def estimate(score: str) -> dict[str, Any]:
        return _mean_of_levels(ld, _SCORES[score], design_effects=design_effects)

    # The rate is always estimated: it gives the domain df (svy_prop's interval).
    rate = estimate("rate")
    dof = _prop_df(ld, df)
    if {"mean_score", "index_0_100", "net_satisfaction"} & set(codes):  # their intervals' t quantile
        with np.errstate(invalid="ignore"):
            t = t_quantile(0.5 + confidence / 2, dof)
    rate["lower"], rate["upper"] = prop_interval(rate["value"], rate["se"], rate["n"], dof,
                                                 confidence, ci_method)
    # respondents of the group without a valid answer (don't know, refused, invalid), item-major like
    # the results: the group's rows less the answers the rate counted
    n_excluded = (np.bincount(g[g >= 0], minlength=n_groups) - rate["n"].reshape(k, n_groups)).reshape(-1)

    blocks: dict[str, tuple[dict[str, Any], str, str]] = {}
    if "satisfaction_rate" in codes:
        blocks["satisfaction_rate"] = rate, "proportion", ci_method
    if {"mean_score", "index_0_100"} & set(codes):
        mean = estimate("mean")  # centred at 3 (_SCORES)
        mean["value"] = mean["value"] + 3
        mean["lower"], mean["upper"] = _t_bounds(mean, t, 1, 5)
        blocks["mean_score"] = mean, "mean", "t"
        blocks["index_0_100"] = {**mean, "value": (mean["value"] - 1) * 25, "se": mean["se"] * 25,
                                 "lower": (mean["lower"] - 1) * 25,
                                 "upper": (mean["upper"] - 1) * 25}, "index", "t"
    if "net_satisfaction" in codes:
        net = estimate("net")
        net["lower"], net["upper"] = _t_bounds(net, t, -1, 1)
        blocks["net_satisfaction"] = net, "net proportion", "t"

    # result rows: group, then item, then measure
    m = len(codes)

    def column(values: list[np.ndarray]) -> np.ndarray:
        return np.stack(values).reshape(m, k, n_groups).transpose(2, 1, 0).reshape(-1)

    columns = {"confidence": np.full(m * k * n_groups, float(confidence)),
               "n_excluded": column([n_excluded] * m), "df": column([dof] * m)}
    for col in ("value", "se", "lower", "upper", "n", "deff", "n_eff"):
        columns[col] = column([blocks[code][0][col] for code in codes])
    return _Breakdown(keys, names, codes, columns, [blocks[c][1] for c in codes],
                      [blocks[c][2] for c in codes])


def _measure_codes(measures: Sequence[str]) -> list[str]:
    allowed = ", ".join(map(repr, MEASURES))
    chosen = [measures] if isinstance(measures, str) else list(measures)
    if not chosen:
        raise ValueError(f"measures must name at least one of {allowed}.")
    codes = []
    for m in chosen:
        code = MEASURES.get(m, m if m in MEASURES.values() else None)
        if code is None:
            raise ValueError(f"measures must be chosen from {allowed}; got {m!r}.")
        if code in codes:
            raise ValueError(f"Measure {m!r} is listed more than once.")
        codes.append(code)
    return codes


def _t_bounds(est: dict[str, Any], t: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """value -/+ t se (``t``: the t(df) quantile, instead of the normal quantile of the Wald
    interval), kept within [low, high], the values the measure can take."""
    with np.errstate(invalid="ignore"):
        half = t * est["se"]
    value = est["value"]
    return np.clip(value - half, low, high), np.clip(value + half, low, high)


# --- Cronbach's alpha --------------------------------------------------------------------

def cronbach_alpha(survey: pd.DataFrame, items: str | Sequence[str] = LIKERT_ITEMS, *,
                   by: Columns = None, weight: str | None = None,
                   confidence: float = 0.95) -> pd.DataFrame:
    """Cronbach's alpha of a Likert scale, and alpha if each item is dropped, for every group.

    Call it to show in a methods appendix that the satisfaction items form one scale (alpha
    of 0.7 or more is the usual threshold), and to find an item that does not belong (alpha
    rises when it is dropped).

    Method: with :math:`C` the covariance matrix of the :math:`k` items,

    .. math:: \\alpha = \\frac{k}{k-1}\\Big(1 - \\frac{\\operatorname{tr} C}{\\sum_{ij} C_{ij}}\\Big)

    (Cronbach [2]_).  Alpha if item *j* is dropped is the same formula on :math:`C` without
    row and column *j*.  With ``weight``, :math:`C` is the weighted covariance
    :math:`\\sum_i w_i (x_i - \\bar x_w)(x_i - \\bar x_w)^\\top / \\sum_i w_i`, an estimate of
    the population covariance; alpha is a ratio of sums of :math:`C`, so the divisor
    (:math:`\\sum w`, :math:`\\sum w - 1`, :math:`n - 1`) does not change it.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent.
    items : str or list of str
        At least two Likert columns (1-5, 8 don't know, 9 refused); default the six items.
    by : str or list of str, optional
        Grouping columns; all groups are computed in one vectorised pass.
    weight : str, optional
        Sampling weight column (positive); None for the unweighted covariance.
    confidence : float
        Level of the Feldt interval, as a fraction.

    Returns
    -------
    pandas.DataFrame
        The ``by`` keys, then ``measure`` (``cronbach_alpha`` for the whole scale, then
        ``alpha_if_item_dropped`` once per item), ``item_dropped`` (missing for the whole scale),
        ``value``, ``lower``, ``upper``, ``confidence``, ``statistic`` (``cronbach_alpha``),
        ``method`` (``feldt``), ``n`` (respondents with a valid answer on every item),
        ``n_excluded`` (respondents of the group without) and ``k`` (items in the scale).
        Alpha is NaN when fewer than two respondents remain, when fewer than two items remain
        (dropping one of two items) or when the scale score does not vary.

    Notes
    -----
    *Listwise deletion*: only respondents with a valid answer (1-5) on every item enter, so
    that every covariance comes from the same people and :math:`C` is a proper covariance
    matrix (pairwise deletion can give a matrix that is not positive semi-definite, and an
    alpha above 1).  This is SPSS ``RELIABILITY``'s rule; R's ``psych::alpha`` defaults to
    pairwise.  Report ``n_excluded`` beside alpha.

    *Interval*: Feldt, Woodruff and Salih [3]_: :math:`(1 - \\alpha)/(1 - \\hat\\alpha)`
    follows :math:`F(n - 1, (n - 1)(k - 1))`, giving
    :math:`[1 - (1 - \\hat\\alpha) F_{1-a/2},\\; 1 - (1 - \\hat\\alpha) F_{a/2}]`.  It assumes
    simple random sampling of respondents; with weights and clustered villages it is only a
    rough guide (too narrow when answers cluster), and it is not a design-based interval.

    Examples
    --------
    Four respondents, three items.  Sums of squares and cross-products about the means:
    a 5, b 4, c 8; ab 4, ac 6, bc 4; so tr = 17, total = 17 + 2 x 14 = 45 and
    alpha = 3/2 x (1 - 17/45) = 0.9333; without a: 2 x (1 - 12/20) = 0.8; without b:
    2 x (1 - 13/25) = 0.96; without c: 2 x (1 - 9/17) = 0.9412.

    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 4], "c": [1, 3, 3, 5]})
    >>> res = cronbach_alpha(df, ["a", "b", "c"])
    >>> res[["measure", "item_dropped", "value", "n", "k"]].round(4)
                     measure item_dropped   value  n  k
    0         cronbach_alpha          NaN  0.9333  4  3
    1  alpha_if_item_dropped            a  0.8000  4  2
    2  alpha_if_item_dropped            b  0.9600  4  2
    3  alpha_if_item_dropped            c  0.9412  4  2
    """
    names = _items(survey, items)
    if len(names) < 2:
        raise ValueError("Cronbach's alpha needs at least two items; got 1.")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not (
            0 < confidence < 1):
        raise ValueError(f"confidence must be a fraction between 0 and 1 (such as 0.95); "
                         f"got {confidence!r}.")
    scores, _ = _recode(survey, names)
    g, keys = _groups(survey, by)
    if weight is None:
        w = np.ones(len(survey))
    else:
        _require(survey, [weight], "weight")
        if not pd.api.types.is_numeric_dtype(survey[weight]):
            raise ValueError(f"Weights in column {weight!r} must be numeric.")
        w = survey[weight].to_numpy(dtype=float, na_value=np.nan)
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"Weights in column {weight!r} must be positive; row "
                             f"{survey.index[i]!r} has {w[i]}.")
    k, n_groups = len(names), len(keys)
    complete = ~np.isnan(scores).any(axis=1)
    in_group = g >= 0
    use = complete & in_group
    # centred at 3 so that an item everyone answered alike deviates by exactly 0
    gu, xu, wu = g[use], scores[use] - 3, w[use]
    n = np.bincount(gu, minlength=n_groups)
    n_excluded = np.bincount(g[in_group], minlength=n_groups) - n
    w_tot = np.bincount(gu, weights=wu, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.column_stack([np.bincount(gu, weights=wu * xu[:, j], minlength=n_groups)
                                 for j in range(k)]) / w_tot[:, None]
        dev = xu - means[gu]
        cov = np.empty((n_groups, k, k))
        for i in range(k):
            for j in range(i, k):
                cov[:, i, j] = cov[:, j, i] = np.bincount(
                    gu, weights=wu * dev[:, i] * dev[:, j], minlength=n_groups) / w_tot
        trace = np.trace(cov, axis1=1, axis2=2)
        total = cov.sum(axis=(1, 2))
        diag = np.diagonal(cov, axis1=1, axis2=2)  # (groups, k)
        rows = cov.sum(axis=2)
        kk = np.array([k] + [k - 1] * k, dtype=float)
        tr = np.column_stack([trace, trace[:, None] - diag])
        tot = np.column_stack([total, total[:, None] - 2 * rows + diag])
        alpha = kk / (kk - 1) * (1 - tr / tot)
        alpha[(n < 2)[:, None] | ~(tr > 0) | ~(tot > 1e-12 * tr) | (kk < 2)] = np.nan
        a = 1 - confidence
        df1 = (n - 1).astype(float)[:, None]
        df2 = df1 * (kk - 1)
        lower = 1 - (1 - alpha) * stats.f.ppf(1 - a / 2, df1, df2)
        upper = 1 - (1 - alpha) * stats.f.ppf(a / 2, df1, df2)
    per = k + 1
    out = keys.loc[keys.index.repeat(per)].reset_index(drop=True)
    out["measure"] = np.tile(["cronbach_alpha"] + ["alpha_if_item_dropped"] * k, n_groups)
    out["item_dropped"] = np.tile(np.array([None, *names], dtype=object), n_groups)
    out["value"] = alpha.reshape(-1)
    out["lower"] = lower.reshape(-1)
    out["upper"] = upper.reshape(-1)
    out["confidence"] = float(confidence)
    out["statistic"] = "cronbach_alpha"
    out["method"] = "feldt"
    out["n"] = np.repeat(n, per).astype(np.int64)
    out["n_excluded"] = np.repeat(n_excluded, per).astype(np.int64)
    out["k"] = np.tile(kk.astype(np.int64), n_groups)
    return out
