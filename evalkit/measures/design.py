"""The satisfaction survey as one design object, as R's ``svydesign`` gives it (``SurveyDesign``).

A researcher states the design once, :func:`survey_design` (``province.survey_design()``), and asks it
for estimates: :meth:`~SurveyDesign.mean`, :meth:`~SurveyDesign.total`, :meth:`~SurveyDesign.ratio`,
:meth:`~SurveyDesign.prop` (every interval of R's ``svyciprop``), :meth:`~SurveyDesign.quantile`
(R's ``svyquantile``), :meth:`~SurveyDesign.contrast` (R's ``svyby(..., covmat=TRUE)`` with
``svycontrast``) and the models of :mod:`evalkit.measures.models`, each a tidy frame with the columns
every measure has (``value``, ``se``, ``lower``, ``upper``, ``confidence``, ``statistic``, ``method``,
``n``, ``df``, ``deff`` where they apply).  The estimates are those of :mod:`evalkit.measures.survey`,
the engine, which this module only feeds.

The design
----------
* Strata are wave x township and PSUs wave x village (each wave is a sample of its own: a village
  drawn in two years is two clusters), with the survey's weights; the lonely-PSU rule is the data's
  (``dataset.json``).
* The answers 8 (don't know) and 9 (refused) of every five-point item are missing (NaN): such a
  respondent is outside the item's domain and inside the design, as with ``na.rm=TRUE`` in R.
* The township's covariates are joined by (year, township): from the regions table the province,
  prefecture, county and township codes and names, ``urban_rural``, population and villages; from the
  stations table the station's opening date, staff, volunteers, ``service_level``, budget and
  supervision (missing where a township had no station that year).
* :meth:`~SurveyDesign.subset` and ``domain=`` keep the whole design, as R's ``subset.survey.design``:
  rows outside score zero, and every PSU still counts in the variance.
* Waves are never pooled silently: with more than one wave, an estimate needs ``by`` with the year,
  or one wave (``survey_design(year=...)`` or ``subset("year == 2025")``).

References
----------
.. [1] Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
       doi:10.1002/9780470580066
.. [2] Woodruff R.S. (1952). Confidence intervals for medians and other position measures.
       *JASA* 47(260), 635-646. doi:10.1080/01621459.1952.10483443
.. [3] Korn E.L., Graubard B.I. (1998). Confidence intervals for proportions with small expected
       number of positive counts estimated from survey data. *Survey Methodology* 24(2), 193-201.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from evalkit.measures.satisfaction import LIKERT_ITEMS
from evalkit.measures.survey import (
    MISSING_CODES,
    PROP_METHODS,
    Columns,
    check_confidence,
    column_names,
    domain_covariance,
    group_codes,
    prop_interval,
    require_columns,
    svy_mean,
    svy_prop,
    svy_ratio,
    svy_total,
    t_quantile,
)

if TYPE_CHECKING:
    from evalkit.schema import Province

__all__ = ["PROP_CI_METHODS", "SurveyDesign", "survey_design"]

#: The intervals :meth:`SurveyDesign.prop` offers: R's ``svyciprop`` methods, and the Wald interval.
PROP_CI_METHODS = (*PROP_METHODS, "likelihood")
#: The design's own columns, added to the survey's.
STRATUM, CLUSTER = "design_stratum", "design_psu"
_REGION_KEYS = ["year", "township_code"]


def survey_design(province: Province, year: int | None = None, *,
                  lonely_psu: str | None = None) -> SurveyDesign:
    """The province's satisfaction survey as a design (R's ``svydesign``), ready to estimate.

    Parameters
    ----------
    province : evalkit.schema.Province
        The validated tables (:func:`evalkit.load_province`).
    year : int, optional
        One wave only (its rows alone: the same estimates as the wave within all waves, since the
        variance is a sum over strata).  None: every wave, and each estimate then needs ``by`` with
        ``"year"`` or a year filter.
    lonely_psu : str, optional
        Rule for a stratum with one sampled PSU (see :mod:`evalkit.measures.survey`); None: the data's
        (``dataset.json``'s ``lonely_psu``).

    Returns
    -------
    SurveyDesign
    """
    survey = province.survey
    if year is not None:
        years = sorted(int(y) for y in survey["year"].unique())
        if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or int(year) not in years:
            raise ValueError(f"year={year!r} is not a wave of the survey; its waves are "
                             f"{', '.join(map(str, years))}.")
        survey = survey[survey["year"] == int(year)]
    data = survey.reset_index(drop=True).copy()
    for item in LIKERT_ITEMS:
        if item in data.columns:
            values = data[item].astype(float)
            data[item] = values.where(~values.isin(MISSING_CODES))
    data = _join(data, province.regions, "regions")
    data = _join(data, province.stations, "stations")
    data[STRATUM] = _combined(data, ["year", "township_code"])
    data[CLUSTER] = _combined(data, ["year", "psu"])
    rule = lonely_psu if lonely_psu is not None else province.meta.get("lonely_psu", "adjust")
    return SurveyDesign(data, strata=STRATUM, psu=CLUSTER, weight="weight", lonely_psu=rule)


def _join(data: pd.DataFrame, table: pd.DataFrame, name: str) -> pd.DataFrame:
    """``data`` with the columns of ``table`` it lacks, matched on (year, township)."""
    if not set(_REGION_KEYS) <= set(table.columns):
        return data
    cols = [c for c in table.columns if c not in data.columns]
    if not cols:
        return data
    right = table[_REGION_KEYS + cols].drop_duplicates(_REGION_KEYS)
    return data.merge(right, on=_REGION_KEYS, how="left", validate="many_to_one")


def _combined(data: pd.DataFrame, cols: list[str]) -> pd.Categorical:
    labels = data[cols[0]].astype(str)
    for col in cols[1:]:
        labels = labels + "/" + data[col].astype(str)
    return pd.Categorical(labels)


def _name_list(names: Sequence[str]) -> str:
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class SurveyDesign:
    """A survey with its design: strata, PSUs, weights, and the rows of a subset (R's ``survey.design``).

    Build it with :func:`survey_design` (``province.survey_design()``), or from any frame with one row
    per respondent::

        SurveyDesign(frame, strata="stratum", psu="village", weight="weight")

    Every estimate keeps the whole design: a :meth:`subset`, a ``domain`` or a group of ``by`` is a
    domain whose rows outside score zero while every PSU still counts, as in R.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, with the design's columns.
    strata, psu, weight, fpc : str or None
        The stratum, PSU, weight and finite-population-correction columns (as
        :func:`~evalkit.measures.survey.svy_mean`).
    lonely_psu : str
        Rule for a stratum with one sampled PSU.
    wave : str or None
        Column of the survey wave: with more than one wave in the rows, an estimate needs ``by`` with
        it (waves are never pooled silently).  None: no waves.
    """

    def __init__(self, data: pd.DataFrame, *, strata: str | None = None, psu: str | None = None,
                 weight: str | None = None, fpc: Columns = None, lonely_psu: str = "adjust",
                 wave: str | None = "year", mask: np.ndarray | None = None) -> None:
        if not isinstance(data, pd.DataFrame):
            raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
        require_columns(data, column_names(strata) + column_names(psu) + column_names(weight)
                        + column_names(fpc), "design")
        if wave is not None and wave not in data.columns:
            wave = None
        self._data = data.reset_index(drop=True)
        self._strata, self._psu, self._weight, self._fpc = strata, psu, weight, fpc
        self._wave, self._lonely = wave, lonely_psu
        self._mask = np.ones(len(data), bool) if mask is None else np.asarray(mask, dtype=bool)

    # --- what the design holds --------------------------------------------------------------

    @property
    def variables(self) -> pd.DataFrame:
        """Every row of the design (with the design's and the joined columns), subset or not."""
        return self._data

    @property
    def data(self) -> pd.DataFrame:
        """The rows of this (sub)design."""
        return self._data[self._mask]

    @property
    def mask(self) -> np.ndarray:
        """Per row of :attr:`variables`: in this (sub)design."""
        return self._mask.copy()

    @property
    def design(self) -> dict[str, Any]:
        """The design's keyword arguments of the ``svy_*`` functions."""
        return {"strata": self._strata, "psu": self._psu, "weight": self._weight, "fpc": self._fpc,
                "lonely_psu": self._lonely}

    @property
    def years(self) -> list[int]:
        """The waves among the rows of this (sub)design."""
        if self._wave is None:
            return []
        return sorted(int(y) for y in self._data.loc[self._mask, self._wave].dropna().unique())

    @property
    def df(self) -> int:
        """Design degrees of freedom of the (sub)design: PSUs minus strata with rows (R's ``degf``)."""
        rows = self._data[self._mask]
        psus = rows[self._psu].nunique() if self._psu else len(rows)
        return int(psus - (rows[self._strata].nunique() if self._strata else 1))

    def __len__(self) -> int:
        return int(self._mask.sum())

    def __repr__(self) -> str:
        waves = ", ".join(map(str, self.years)) or "-"
        sub = "" if self._mask.all() else f" (a subset of {len(self._data)} rows)"
        return (f"<SurveyDesign: {len(self)} rows{sub}, waves {waves}, strata {self._strata!r}, "
                f"PSUs {self._psu!r}, weights {self._weight!r}>")

    def subset(self, where: Any) -> SurveyDesign:
        """The design restricted to the rows ``where`` holds, keeping every PSU (R's ``subset``).

        ``where``: a boolean column's name, a query (``"year == 2025 and urban_rural == 'rural'"``,
        pandas' ``DataFrame.eval`` syntax) or a boolean mask (array or Series) over :attr:`variables`.
        """
        return SurveyDesign(self._data, strata=self._strata, psu=self._psu, weight=self._weight,
                            fpc=self._fpc, lonely_psu=self._lonely, wave=self._wave, mask=self._mask & self._where(where))

    # --- reading columns and expressions ----------------------------------------------------

    def _where(self, where: Any) -> np.ndarray:
        if where is None:
            return np.ones(len(self._data), bool)
        if isinstance(where, str):
            values = self._data[where] if where in self._data.columns else self._eval(where)
        else:
            values = where
        if isinstance(values, pd.Series) and len(values) == len(self._data):
            values = values.to_numpy()
        mask = pd.Series(np.asarray(values, dtype=object) if np.ndim(values) else [values])
        if len(mask) != len(self._data):
            raise ValueError(f"A subset or domain needs one True/False per row ({len(self._data)}); "
                             f"got {len(mask)} values.")
        if pd.api.types.infer_dtype(mask, skipna=True) not in ("boolean", "empty"):
            raise ValueError(f"A subset or domain must be True/False for each row; {where!r} is not.")
        return mask.fillna(False).to_numpy(dtype=bool)

    def _eval(self, expr: str) -> pd.Series:
        try:
            return self._data.eval(expr, engine="python")
        except Exception as exc:  # the expression's own error, said in terms of the design
            raise ValueError(f"{expr!r} is neither a column of the design nor an expression over its "
                             f"columns ({type(exc).__name__}: {exc}).") from None

    def _values(self, expr: str) -> np.ndarray:
        """A column, or an expression over columns, as floats; missing where a column it reads is."""
        if not isinstance(expr, str):
            raise ValueError(f"Give a column name or an expression as a string; got {expr!r}.")
        if expr in self._data.columns:
            col = self._data[expr]
        else:
            col = self._eval(expr)
            if not isinstance(col, pd.Series):
                raise ValueError(f"{expr!r} gives one value, not one per row.")
            missing = np.zeros(len(self._data), bool)
            for name in set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", expr)):
                if name in self._data.columns and not keyword.iskeyword(name):
                    missing |= self._data[name].isna().to_numpy()
            col = col.astype(float).where(~missing)
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise ValueError(f"{expr!r} must be numeric; it has dtype {col.dtype}.")
        return col.astype(float).to_numpy(dtype=float, na_value=np.nan)

    def _setup(self, by: Columns, domain: Any, columns: dict[str, np.ndarray]
               ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The frame the engine reads (design, ``by`` and analysed columns) and its keyword arguments;
        refuses to pool waves."""
        keys = column_names(by)
        require_columns(self._data, keys, "by")
        mask = self._mask & self._where(domain)
        self._check_waves(keys, mask)
        design_cols = column_names(self._strata) + column_names(self._psu) + column_names(self._weight) \
            + column_names(self._fpc)
        frame = self._data[list(dict.fromkeys(keys + design_cols))].copy()
        for name, values in columns.items():
            frame[name] = values
        kw = {"by": keys or None, "domain": mask, **self.design}
        return frame, kw

    def _check_waves(self, keys: list[str], mask: np.ndarray) -> None:
        if self._wave is None or self._wave in keys:
            return
        years = sorted(int(y) for y in self._data.loc[mask, self._wave].dropna().unique())
        if len(years) > 1:
            raise ValueError(
                f"This design holds the waves {_name_list(years)}: an estimate over them would pool "
                "separate samples of different years into one. Estimate one wave with "
                f"survey_design(year={years[-1]}) (province.survey_design(year={years[-1]})) or "
                f".subset(\"{self._wave} == {years[-1]}\"), or each wave with by=\"{self._wave}\".")

    @staticmethod
    def _labelled(res: pd.DataFrame, variable: str) -> pd.DataFrame:
        res.insert(0, "variable", variable)
        return res

    # --- estimates --------------------------------------------------------------------------

    def mean(self, y: str, *, by: Columns = None, domain: Any = None, confidence: float = 0.95,
             missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
        """Weighted mean of a column or expression, by domain (R's ``svymean`` / ``svyby``).

        Wald interval with the normal quantile (``confint(svymean(...))``).  Missing values leave the
        domain (``na.rm=TRUE``).

        Examples
        --------
        >>> d = SurveyDesign(pd.DataFrame({"h": [1, 1, 2, 2], "y": [1.0, 3.0, 2.0, 6.0],
        ...                                "w": [2.0, 2.0, 1.0, 1.0]}), strata="h", weight="w")
        >>> round(float(d.mean("y")["value"].iloc[0]), 4)
        2.6667
        """
        frame, kw = self._setup(by, domain, {y: self._values(y)})
        return self._labelled(svy_mean(frame, y, confidence=confidence, missing_codes=missing_codes,
                                       **kw), y)

    def total(self, y: str, *, by: Columns = None, domain: Any = None, confidence: float = 0.95,
              missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
        """Estimated population total of a column or expression, by domain (R's ``svytotal``)."""
        frame, kw = self._setup(by, domain, {y: self._values(y)})
        return self._labelled(svy_total(frame, y, confidence=confidence, missing_codes=missing_codes,
                                        **kw), y)

    def ratio(self, numerator: str, denominator: str, *, by: Columns = None, domain: Any = None,
              confidence: float = 0.95, missing_codes: Sequence[float] | None = None) -> pd.DataFrame:
        """Ratio of two estimated totals, by domain (R's ``svyratio``)."""
        if numerator == denominator:
            raise ValueError("numerator and denominator are the same column.")
        frame, kw = self._setup(by, domain, {numerator: self._values(numerator),
                                             denominator: self._values(denominator)})
        return self._labelled(svy_ratio(frame, numerator, denominator, confidence=confidence,
                                        missing_codes=missing_codes, **kw), f"{numerator}/{denominator}")

    def _indicator(self, y: str, level: Any) -> np.ndarray:
        if level is None:
            values = self._values(y)
            bad = ~np.isnan(values) & (values != 0) & (values != 1)
            if bad.any():
                raise ValueError(f"{y!r} must be 0/1 or True/False for a proportion; it has "
                                 f"{values[np.argmax(bad)]:g}. Pass level= to count one category, or "
                                 "an expression such as 'q_overall >= 4'.")
            return values
        col = self._data[y] if y in self._data.columns else self._eval(y)
        return np.where(col.isna(), np.nan, (col == level).astype(float))

    def _default_df(self, by: Columns, domain: Any) -> str:
        # R: svyciprop on a subset, and svyby(..., svyciprop), use the subset's degf
        return "domain" if (column_names(by) or domain is not None or not self._mask.all()) else "design"

    def prop(self, y: str, *, level: Any = None, method: str = "logit", by: Columns = None,
             domain: Any = None, confidence: float = 0.95, df: str | float | None = None) -> pd.DataFrame:
        """Proportion with an interval as R's ``svyciprop``, by domain.

        ``y``: a 0/1 or True/False column, an expression (``"q_overall >= 4"``: missing where the
        answer is), or any column with ``level`` (the share with ``y == level``).  Methods, each as
        R's ``svyciprop(method=...)`` computes it, with the t quantile on ``df`` degrees of freedom:

        * ``"logit"`` (default) and ``"xlogit"``: :math:`\\mathrm{expit}(\\mathrm{logit}\\,\\hat p \\pm
          t\\,\\mathrm{se} / (\\hat p (1-\\hat p)))` (the first from the intercept of a quasi-binomial
          ``svyglm``, the second from ``svycontrast``; the same numbers but at p = 0 or 1, where
          ``"logit"`` gives the point p and ``"xlogit"`` NaN, as R);
        * ``"likelihood"``: the profile likelihood of that ``svyglm``'s intercept, its cut-off scaled
          by the design effect (Rao-Scott), interpolated on R's profile grid with R's spline;
        * ``"asin"``: :math:`\\sin^2(\\arcsin\\sqrt{\\hat p} \\pm t\\,\\mathrm{se} / (2\\sqrt{\\hat p (1 -
          \\hat p)}))`;
        * ``"beta"``: Korn and Graubard [3]_ (see :func:`~evalkit.measures.survey.svy_prop`);
        * ``"mean"``: :math:`\\hat p \\pm t\\,\\mathrm{se}`;
        * ``"wilson"``: Wilson's score interval on the effective sample size
          :math:`n^* = \\hat p (1 - \\hat p) / \\mathrm{se}^2` with the t quantile (survey 4.5; not in
          4.1-1, the version the references come from, so it is checked against the published formula);
        * ``"wald"``: :math:`\\hat p \\pm z\\,\\mathrm{se}` (``confint(svymean(...))``).

        ``df``: None gives R's default, ``degf`` of the design or, with ``by``, ``domain`` or a subset,
        of the domain ("domain"); or "design", "domain" or a number.
        """
        if method not in PROP_CI_METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, PROP_CI_METHODS))}; "
                             f"got {method!r}.")
        name = y if level is None else f"{y} == {level!r}"
        values = self._indicator(y, level)
        frame, kw = self._setup(by, domain, {name: values})
        dof = self._default_df(by, domain) if df is None else df
        res = svy_prop(frame, name, ci_method="wald", df=dof, confidence=confidence, missing_codes=(), **kw)
        if method == "likelihood":
            lower, upper = self._likelihood(frame, name, kw, res, confidence)
        else:
            lower, upper = prop_interval(res["value"], res["se"], res["n"], res["df"], confidence, method)
        res["lower"], res["upper"], res["method"] = lower, upper, method
        return self._labelled(res, name)

    def _likelihood(self, frame: pd.DataFrame, name: str, kw: dict, res: pd.DataFrame,
                    confidence: float) -> tuple[np.ndarray, np.ndarray]:
        """R's ``svyciprop(method="likelihood")`` for each group of ``res``."""
        y = frame[name].to_numpy(dtype=float)
        w = frame[self._weight].to_numpy(dtype=float) if self._weight else np.ones(len(frame))
        g = group_codes(frame, kw["by"])[0]  # the groups as the engine numbers them
        present = ~np.isnan(y)
        lower, upper = np.full(len(res), np.nan), np.full(len(res), np.nan)
        for i in range(len(res)):
            rows = (g == i) & kw["domain"]  # R's subset() of a design keeps only these rows
            fit = rows & present
            lower[i], upper[i] = likelihood_interval(
                y[fit], w[fit], float(res["value"].iloc[i]), float(res["se"].iloc[i]),
                w_design=float(w[rows].sum()), n_rows=int(rows.sum()), n_fit=int(fit.sum()),
                dof=float(res["df"].iloc[i]), confidence=confidence)
        return lower, upper

    def quantile(self, y: str, quantiles: float | Sequence[float] = 0.5, *, by: Columns = None,
                 domain: Any = None, confidence: float = 0.95) -> pd.DataFrame:
        """Weighted quantiles with Woodruff's interval, as R's ``svyquantile`` (survey 4.x defaults).

        The quantile is R's ``qrule="math"``: the smallest value whose weighted cumulative share
        reaches the probability.  The interval (``interval.type="mean"``) is Woodruff's [2]_: the
        share :math:`\\hat F` of the domain at or below the quantile, its interval
        :math:`\\hat F \\pm t_{df}\\,\\mathrm{se}` (df: the domain's PSUs minus strata), mapped back
        through the same rule (NaN where the share's bound leaves [0, 1], as R); ``se`` is the
        interval's width over :math:`2 t_{df}`, as R reports it.

        Examples
        --------
        >>> d = SurveyDesign(pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0], "w": [1.0] * 5}), weight="w")
        >>> float(d.quantile("y", 0.5)["value"].iloc[0])
        3.0
        """
        check_confidence(confidence)
        probs = [float(quantiles)] if np.ndim(quantiles) == 0 else [float(q) for q in quantiles]
        if not probs or any(not 0 <= q <= 1 for q in probs):
            raise ValueError(f"quantiles must be probabilities between 0 and 1; got {quantiles!r}.")
        values = self._values(y)
        frame, kw = self._setup(by, domain, {y: values})
        keys = column_names(kw["by"])
        g = group_codes(frame, kw["by"])[0]  # the groups as the engine numbers them
        w = frame[self._weight].to_numpy(dtype=float) if self._weight else np.ones(len(frame))
        use = kw["domain"] & ~np.isnan(values) & (g >= 0)
        alpha = 1 - confidence
        out = []
        for p in probs:
            n_groups = int(g.max(initial=-1)) + 1
            qhat = np.full(max(n_groups, 1), np.nan)
            for i in range(n_groups):
                rows = use & (g == i)
                if rows.any():
                    qhat[i] = qrule_math(values[rows], w[rows], p)
            below = np.where(np.isnan(values), np.nan, (values <= qhat[np.maximum(g, 0)]).astype(float))
            frame["__below"] = below
            share = svy_prop(frame, "__below", ci_method="wald", df="domain", confidence=confidence,
                             missing_codes=(), **kw)
            frame.pop("__below")
            half = t_quantile(1 - alpha / 2, share["df"].to_numpy()) * share["se"].to_numpy()
            p_low, p_up = share["value"].to_numpy() - half, share["value"].to_numpy() + half
            lower, upper = np.full(len(share), np.nan), np.full(len(share), np.nan)
            for i in range(len(share)):
                rows = use & (g == i)
                if not rows.any():
                    continue
                if not (np.isnan(p_low[i]) or p_low[i] < 0):
                    lower[i] = qrule_math(values[rows], w[rows], p_low[i])
                if not (np.isnan(p_up[i]) or p_up[i] > 1):
                    upper[i] = qrule_math(values[rows], w[rows], p_up[i])
            res = share.copy()
            res.insert(len(keys), "quantile", p)
            res["value"] = qhat[: len(share)]
            res["lower"], res["upper"] = lower, upper
            res["se"] = (upper - lower) / (2 * t_quantile(1 - alpha / 2, share["df"].to_numpy()))
            res["statistic"], res["method"] = "quantile", "woodruff"
            res["deff"] = res["n_eff"] = np.nan
            out.append(res)
        res = pd.concat(out, ignore_index=True)
        if keys:
            res = res.sort_values(keys, kind="stable", ignore_index=True)
        return self._labelled(res, y)

    def covariance(self, y: str, by: Columns, *, statistic: str = "mean", denominator: str | None = None,
                   domain: Any = None) -> pd.DataFrame:
        """The covariance matrix of the domains' estimates (R's ``vcov(svyby(..., covmat=TRUE))``).

        Rows and columns are labelled by the groups of ``by`` (a tuple of keys for several columns).
        """
        keys, value, n, cov = self._covariance(y, by, statistic, denominator, domain)
        labels = _labels(keys)
        return pd.DataFrame(cov, index=labels, columns=labels)

    def _covariance(self, y, by, statistic, denominator, domain, contrasts=None):
        if statistic not in ("mean", "total", "ratio"):
            raise ValueError(f"statistic must be 'mean', 'total' or 'ratio'; got {statistic!r}.")
        if (statistic == "ratio") != (denominator is not None):
            raise ValueError("A ratio needs denominator=, and only a ratio takes one.")
        if not column_names(by):
            raise ValueError("Name the domains to compare with by=, such as by='urban_rural'.")
        yv = self._values(y)
        xv = self._values(denominator) if denominator is not None else None
        frame, kw = self._setup(by, domain, {})
        if callable(contrasts):  # coefficients from the groups' labels
            g, keys = group_codes(frame, kw["by"])
            contrasts = contrasts(_labels(keys))
        return domain_covariance(frame, statistic, yv, xv, contrasts=contrasts, **kw)

    def contrast(self, y: str, by: Columns, weights: Any, *, statistic: str = "mean",
                 denominator: str | None = None, domain: Any = None, confidence: float = 0.95
                 ) -> pd.DataFrame:
        """Linear contrasts of the domains' estimates with their covariance (R's ``svyby(...,
        covmat=TRUE)`` and ``svycontrast``).

        ``weights``: the coefficient of each group, as a mapping from the group's key (a tuple for
        several ``by`` columns) to its coefficient (groups not named get 0) or a sequence in the
        groups' sorted order; or a mapping from contrast names to such coefficients, for several.
        The value is :math:`\\sum_g c_g \\hat\\theta_g`, its variance :math:`c^\\top V c` with ``V``
        the domains' full covariance (PSUs shared by domains count); Wald interval with the normal
        quantile (``confint(svycontrast(...))``).

        Examples
        --------
        >>> d = SurveyDesign(pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 3.0, 2.0, 6.0]}))
        >>> float(d.contrast("y", "g", {"b": 1, "a": -1})["value"].iloc[0])
        2.0
        """
        check_confidence(confidence)
        named = (weights if isinstance(weights, Mapping) and weights
                 and all(isinstance(v, (Mapping, list, tuple, np.ndarray, pd.Series)) for v in weights.values())
                 else {"contrast": weights})
        keys, value, n, var = self._covariance(
            y, by, statistic, denominator, domain,
            contrasts=lambda labels: np.array([_coefficients(c, labels) for c in named.values()]))
        labels = _labels(keys)
        rows = []
        z = stats.norm.ppf(0.5 + confidence / 2)
        for (cname, coef), v in zip(named.items(), var):
            c = _coefficients(coef, labels)
            est = float(c @ value)
            se = float(np.sqrt(max(v, 0.0)))
            rows.append({"contrast": cname, "value": est, "se": se, "lower": est - z * se,
                         "upper": est + z * se, "confidence": float(confidence), "statistic": "contrast",
                         "method": "wald", "n": int(n[c != 0].sum()), "deff": np.nan, "n_eff": np.nan,
                         "df": float(self.subset(self._where(domain)).df)})
        return self._labelled(pd.DataFrame(rows), y)

    # --- models (evalkit.measures.models) ------------------------------------------------------

    def _model_args(self, domain: Any, uses: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
        mask = self._mask & self._where(domain)
        if self._wave is not None and self._wave not in uses:
            self._check_waves([], mask)
        return self._data, {"domain": mask, **self.design}

    def glm(self, formula: str, family: str = "gaussian", *, domain: Any = None, **kwargs: Any) -> Any:
        """A design-based generalised linear model (R's ``svyglm``), by
        :func:`evalkit.measures.models.svy_glm`; ``formula`` in statsmodels' syntax."""
        from evalkit.measures.models import svy_glm

        uses = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", formula) + column_names(kwargs.get("by"))
        data, kw = self._model_args(domain, uses)
        return svy_glm(data, formula, family=family, **kw, **kwargs)

    def olr(self, formula: str, *, domain: Any = None, **kwargs: Any) -> Any:
        """A design-based proportional-odds model (R's ``svyolr``), by
        :func:`evalkit.measures.models.svy_olr`."""
        from evalkit.measures.models import svy_olr

        data, kw = self._model_args(domain, re.findall(r"[A-Za-z_][A-Za-z_0-9]*", formula))
        return svy_olr(data, formula, **kw, **kwargs)

    def chisq(self, row: str, col: str, *, domain: Any = None, **kwargs: Any) -> Any:
        """A design-based test of independence (R's ``svychisq``, Rao-Scott), by
        :func:`evalkit.measures.models.svy_chisq`."""
        from evalkit.measures.models import svy_chisq

        data, kw = self._model_args(domain, [row, col])
        return svy_chisq(data, row, col, **kw, **kwargs)


def _labels(keys: pd.DataFrame) -> list[Any]:
    if keys.shape[1] == 1:
        return keys.iloc[:, 0].tolist()
    return list(keys.itertuples(index=False, name=None))


def _coefficients(coef: Any, labels: list[Any]) -> np.ndarray:
    if isinstance(coef, Mapping):
        unknown = [k for k in coef if k not in labels]
        if unknown:
            raise ValueError(f"Contrast weights name {unknown[0]!r}, which is not a group; the groups "
                             f"are {', '.join(map(repr, labels))}.")
        return np.array([float(coef.get(label, 0.0)) for label in labels])
    c = np.asarray(coef, dtype=float)
    if c.shape != (len(labels),):
        raise ValueError(f"Contrast weights need one number per group ({len(labels)}: "
                         f"{', '.join(map(repr, labels))}); got {c.size}.")
    return c


def qrule_math(x: np.ndarray, w: np.ndarray, p: float) -> float:
    """R's ``qrule_math``: the smallest value whose cumulative weight share reaches ``p`` (``survey:::qs``).

    Ties in the sort keep the rows' order (R's ``order``); where no cumulative weight is at or below
    :math:`pW`, R takes the second value, as here.
    """
    keep = w != 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    x, cumw = x[order], np.cumsum(w[order])
    total = w.sum()
    at = np.flatnonzero(cumw <= p * total)
    pos = int(at[-1]) if at.size else 0
    if p - cumw[pos] / total == 0:
        return float(x[pos])
    return float(x[min(pos + 1, len(x) - 1)])


def likelihood_interval(y: np.ndarray, w: np.ndarray, p: float, se: float, *, w_design: float,
                        n_rows: int, n_fit: int, dof: float, confidence: float) -> tuple[float, float]:
    """R's ``svyciprop(method="likelihood")`` from one domain's answers ``y`` (0/1) and weights ``w``.

    R fits ``svyglm(y ~ 1, family=quasibinomial)`` on the domain's ``n_rows`` rows (``n_fit`` of them
    with an answer; weights rescaled to mean 1 over the ``n_rows``, whose weight is ``w_design``) and
    profiles the intercept's deviance as ``MASS::profile.glm`` does:
    steps of ``zmax / 5`` standard errors up to 9 on each side, :math:`z = \\pm\\sqrt{(D(b) -
    D(\\hat b)) / \\phi}` with :math:`\\phi` the design-based variance of the Pearson residuals, until
    :math:`|z| \\ge z_{max} = \\sqrt{F^{-1}(1 - a; 1, n - 1)}`; then an interpolating spline (R's
    ``spline``, Forsythe-Malcolm-Moler ends, ``3 k`` points) of z on b is inverted linearly at
    :math:`\\pm t_{df}\\sqrt{\\lambda}`, :math:`\\lambda` the ratio of the sandwich variance to the
    model variance of the intercept (the design effect), and :math:`a = \\Phi(t\\sqrt\\lambda) / 2`.
    """
    if not (0 < p < 1) or not se > 0 or dof <= 0:
        return np.nan, np.nan
    scale = w_design / n_rows  # R rescales the weights to mean 1 over the design's rows
    wt = w / scale
    s1, s0 = float((wt * y).sum()), float((wt * (1 - y)).sum())

    def deviance(mu: Any) -> float:
        # R's binomial()$linkinv keeps mu within [eps, 1 - eps]
        mu = np.clip(mu, np.finfo(float).eps, 1 - np.finfo(float).eps)
        return float(-2 * (wt * (y * np.log(mu) + (1 - y) * np.log1p(-mu))).sum())

    # R's glm.fit (IRLS) of the intercept, to its convergence: the model ("naive") variance is from
    # the working weights of its last iteration, which were computed before that iteration's update
    mu = (wt * y + 0.5) / (wt + 1)  # binomial()$initialize
    eta = np.log(mu / (1 - mu))
    dev_old = deviance(mu)
    for _ in range(25):
        work = wt * mu * (1 - mu)
        b0 = float((work * (eta + (y - mu) / (mu * (1 - mu)))).sum() / work.sum())
        eta, mu = np.full(len(y), b0), np.full(len(y), expit(b0))
        dev0 = deviance(mu)
        if abs(dev0 - dev_old) / (abs(dev0) + 0.1) < 1e-8:
            break
        dev_old = dev0
    naive = 1 / float(work.sum())
    p_fit = float(expit(b0))
    # svyvar() of the Pearson residuals of residuals.svyglm: (y - mu) / sqrt(mu (1 - mu)), scaled by the
    # ratio of the weights' means before and after rows without an answer leave
    k = (w.sum() / n_fit) / scale
    r = (y - p_fit) * np.sqrt(k) / np.sqrt(p_fit * (1 - p_fit))
    n = len(y)
    r_bar = (w * r).sum() / w.sum()
    phi = float((w * (r - r_bar) ** 2 * n / (n - 1)).sum() / w.sum())
    se_b = se / (p * (1 - p))
    lam = se_b**2 / naive
    alpha = stats.norm.cdf(stats.t.ppf((1 - confidence) / 2, dof) * np.sqrt(lam)) / 2
    zmax = np.sqrt(stats.f.isf(alpha, 1, n_fit - 1))
    delta = zmax / 5
    zs, bs = [0.0], [b0]
    for sgn in (-1, 1):
        step, z = 0, 0.0
        while (step := step + 1) < 10 and abs(z) < zmax:
            b = b0 + sgn * step * delta * se_b
            zz = (deviance(np.full(1, expit(b))) - dev0) / phi
            z = sgn * np.sqrt(max(zz, 0.0))
            zs.append(z)
            bs.append(b)
    order = np.argsort(zs, kind="stable")
    sx, sy = fmm_spline(np.array(bs)[order], np.array(zs)[order], 3 * len(zs))
    cut = stats.t.ppf((1 - confidence) / 2, dof) * np.sqrt(lam)
    lo, up = _approx(sy, sx, np.array([cut, -cut]))
    return float(expit(lo)), float(expit(up))


def fmm_spline(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """R's ``spline(x, y, n)`` (``method="fmm"``): the interpolating cubic spline of Forsythe, Malcolm
    and Moler (ends fitted to the cubics through the first and last four points), evaluated at ``n``
    equally spaced points from ``min(x)`` to ``max(x)``."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    m = len(x)
    b, c, d = np.zeros(m), np.zeros(m), np.zeros(m)
    if m < 3:
        b[:] = (y[1] - y[0]) / (x[1] - x[0])
    else:
        # R's spline_coef (splines.c), with its 1-based indices shifted to 0
        nm1 = m - 1
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in range(1, nm1):
            d[i] = x[i + 1] - x[i]
            b[i] = 2.0 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        b[0] = -d[0]
        b[nm1] = -d[m - 2]
        c[0] = c[nm1] = 0.0
        if m > 3:
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[nm1] = c[m - 2] / (x[nm1] - x[m - 3]) - c[m - 3] / (x[m - 2] - x[m - 4])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[nm1] = -c[nm1] * d[m - 2] * d[m - 2] / (x[nm1] - x[m - 4])
        for i in range(1, m):
            t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        c[nm1] = c[nm1] / b[nm1]
        for i in range(m - 2, -1, -1):
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        b[nm1] = (y[nm1] - y[m - 2]) / d[m - 2] + d[m - 2] * (c[m - 2] + 2.0 * c[nm1])
        for i in range(nm1):
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3.0 * c[i]
        c[nm1] = 3.0 * c[nm1]
        d[nm1] = d[m - 2]
    # R's seq.int(xmin, xmax, length.out=n): from + (0:(n-1)) * by, with the last point set to xmax
    by = (x[-1] - x[0]) / (n - 1)
    u = x[0] + np.arange(n) * by
    u[-1] = x[-1]
    i = np.clip(np.searchsorted(x, u, side="right") - 1, 0, m - 1)
    dx = u - x[i]
    return u, y[i] + dx * (b[i] + dx * (c[i] + dx * d[i]))


def _approx(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout)`` (linear, ``rule=1``: NaN outside; tied x take the mean y)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return np.full(len(xout), np.nan)
    frame = pd.DataFrame({"x": x[ok], "y": y[ok]}).groupby("x", sort=True)["y"].mean()
    xs, ys = frame.index.to_numpy(float), frame.to_numpy(float)
    out = np.interp(xout, xs, ys)
    out[(xout < xs[0]) | (xout > xs[-1])] = np.nan
    return out
