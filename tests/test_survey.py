"""Tests for evalkit.measures.survey against R's survey package, plus properties and messages.

Every entry of tests/reference/survey/reference.json and extra/extra_reference.json is checked:
the R design formulas and the R call stored with each entry are parsed here and turned into the
equivalent evalkit call, so each expected number sits next to the R call that produced it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.measures.survey import (
    RESULT_COLUMNS,
    _domains,
    _estimate_on,
    code_design as _design,
    group_codes as _groups,
    level_domains as _level_domains,
    mean_of_levels as _mean_of_levels,
    merged_levels as _merged,
    svy_mean,
    svy_prop,
    svy_ratio,
    svy_total,
)

REF = Path(__file__).parent / "reference" / "survey"
REF_FILES = ["reference.json", "extra/extra_reference.json"]
ENTRIES = [e for f in REF_FILES for e in json.loads((REF / f).read_text())["entries"]]
REL = 1e-6  # R's *_full values carry 15 digits; the brief asks for 1e-4 or tighter


# --- a small reader for the R formulas and calls stored in the reference files ------------

@lru_cache(maxsize=None)
def _dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, dtype={"cds": str})


def _terms(formula: str | None) -> list[str]:
    """'~dnum+snum' -> ['dnum', 'snum']; '~1' or None -> []."""
    if not formula:
        return []
    terms = [t.strip() for t in _split(formula.strip().lstrip("~"), "+")]
    return [t for t in terms if t != "1"]


def _split(text: str, sep: str = ",") -> list[str]:
    """Split at top-level separators (outside brackets and quotes)."""
    parts, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    return parts + [cur.strip()] if cur.strip() else parts


def _call(text: str) -> tuple[str, list[str], dict[str, str]]:
    """'f(a, b, k=v)' -> ('f', ['a', 'b'], {'k': 'v'})."""
    m = re.fullmatch(r"\s*([\w.]+)\((.*)\)\s*", text, re.S)
    assert m, text
    pos, kw = [], {}
    for arg in _split(m.group(2)):
        km = re.fullmatch(r"([\w.]+)\s*=(?!=)\s*(.+)", arg, re.S)
        if km:
            kw[km.group(1)] = km.group(2)
        else:
            pos.append(arg)
    return m.group(1), pos, kw


_TOKEN = re.compile(r"('[^']*'|\"[^\"]*\")|([A-Za-z_][\w.]*)")


def _r_eval(df: pd.DataFrame, expr: str) -> np.ndarray:
    """Evaluate a simple R expression; NA where any column it uses is NA (as in R)."""
    used: list[str] = []

    def quote(m: re.Match) -> str:
        if m.group(2) in df.columns:
            used.append(m.group(2))
            return f"`{m.group(2)}`"
        return m.group(0)

    out = np.array(df.eval(_TOKEN.sub(quote, expr), engine="python"), dtype=float)
    out[df[used].isna().any(axis=1).to_numpy()] = np.nan
    return out


def _column(df: pd.DataFrame, term: str) -> str:
    """A formula term as a column of df: I(expr) is evaluated into a new column."""
    m = re.fullmatch(r"I\((.*)\)", term)
    if m:
        df[term] = _r_eval(df, m.group(1))
    return term


def _design_kwargs(entry: dict, df: pd.DataFrame) -> dict:
    des = entry["design"]
    ids = _terms(des["ids"])
    strata, weights = _terms(des.get("strata")), _terms(des.get("weights"))
    fpc = [_column(df, t) for t in _terms(des.get("fpc"))]
    return {
        "strata": strata[0] if strata else None,
        "psu": (ids[0] if len(ids) == 1 else ids) or None,
        "weight": weights[0] if weights else None,
        "fpc": (fpc[0] if len(fpc) == 1 else fpc) or None,
        "nest": bool(des.get("nest", False)),
        # R's default rule is "fail": entries without a rule had no lonely PSU in R
        "lonely_psu": entry.get("lonely_psu", "fail"),
    }


def _translate(entry: dict) -> tuple[pd.DataFrame, object, dict, tuple[str, str] | None]:
    """Turn an entry's R call into (data, evalkit function, kwargs, (by column, row))."""
    df = _dataset(entry["dataset"]).copy()
    kwargs = _design_kwargs(entry, df)
    call, _, tail = entry["r_call"].partition("->")
    statements = [s.strip() for s in call.split("#")[0].split(";") if s.strip()]
    fn, pos, kw = _call(statements[-1])
    row = re.search(r"row\s+([^,\s]+)", tail)  # an svyby row, or a factor level's row
    column = re.search(r"column\s+([^,\s]+)", tail)
    by = None
    if fn == "svyby":
        by = _terms(pos[1])[0]
        fun = kw.get("FUN") or next(p for p in pos[2:] if p.startswith("svy"))
        design = kw.get("design") or next(p for p in pos[2:] if not p.startswith("svy"))
        kwargs["by"] = by
        fn, pos, kw = fun, [pos[0]], kw | {"design": design}
    design = kw.get("design") or pos[2 if fn == "svyratio" else 1]
    subset = re.fullmatch(r"subset\(\s*\w+\s*,\s*(.+)\)", design)
    if subset:
        kwargs["domain"] = np.nan_to_num(_r_eval(df, subset.group(1))).astype(bool)
    for stmt in statements[:-1]:  # vars<-names(apiclus1)[c(12:13,16:23,27:37)]
        spans = re.findall(r"(\d+):(\d+)", stmt)
        cols = [df.columns[i - 1] for a, b in spans for i in range(int(a), int(b) + 1)]
        kwargs["domain"] = df[cols].notna().all(axis=1).to_numpy()  # na.rm=TRUE jointly
    pick = (by, row.group(1)) if by else None
    terms = _terms(pos[0]) if pos[0].startswith("~") else []
    name, level = None, None
    if column:
        name = column.group(1)
    elif "=" in entry["variable"] and "==" not in entry["variable"] and by is None:
        name, level = entry["variable"].split("=")
    else:
        name = _column(df, terms[0])
    if fn == "svyratio":
        den = _terms(kw.get("denominator") or pos[1])[0]
        return df, svy_ratio, kwargs | {"numerator": name, "denominator": den}, pick
    if fn == "svyciprop":
        kwargs |= {"ci_method": kw["method"].strip("'\""),
                   "confidence": float(kw.get("level", 0.95)),
                   # R evaluates df=degf(design) on the design it is given: a subset's own
                   "df": "domain" if (by or subset) else "design"}
        return df, svy_prop, kwargs | {"y": name}, pick
    if level is not None and fn == "svymean":
        return df, svy_prop, kwargs | {"y": name, "level": level, "ci_method": "wald"}, None
    if level is not None:  # total of a factor level: total of its indicator
        df["indicator"] = np.where(df[name].isna(), np.nan, (df[name] == level).astype(float))
        name = "indicator"
    func = {"svymean": svy_mean, "svytotal": svy_total}[fn]
    return df, func, kwargs | {"y": name}, pick


def _full(record: dict, key: str) -> float:
    """The unrounded value where the file has it, else the printed one."""
    return record[f"{key}_full"] if f"{key}_full" in record else record[key]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_matches_r_survey(entry: dict) -> None:
    df, func, kwargs, row = _translate(entry)
    res = func(df, **kwargs)
    if row:
        res = res[res[row[0]].astype(str) == row[1]]
    assert len(res) == 1
    got = res.iloc[0]
    assert got["value"] == pytest.approx(_full(entry, "estimate"), rel=REL)
    assert got["se"] == pytest.approx(_full(entry, "se"), rel=REL)
    if "deff_full" in entry:
        assert got["deff"] == pytest.approx(entry["deff_full"], rel=REL)
        assert got["n_eff"] == pytest.approx(got["n"] / entry["deff_full"], rel=REL)
    if kwargs.get("df", "design") == "design":
        assert got["df"] == entry["degf"]
    if "ci" in entry:
        ci = entry["ci"]
        assert got["method"] == ci["method"] and got["confidence"] == ci["level"]
        assert got["lower"] == pytest.approx(_full(ci, "lcl"), rel=REL)
        assert got["upper"] == pytest.approx(_full(ci, "ucl"), rel=REL)
        if "df" in ci:
            assert got["df"] == ci["df"]


def test_every_reference_kind_is_translated() -> None:
    kinds = {_call(e["r_call"].split("->")[0].split("#")[0].split(";")[-1])[0] for e in ENTRIES}
    assert kinds == {"svymean", "svytotal", "svyratio", "svyciprop", "svyby"}


# --- behaviour --------------------------------------------------------------------------

def _toy() -> pd.DataFrame:
    return pd.DataFrame({
        "h": ["a", "a", "a", "b", "b", "b", "c", "c"],
        "c": [1, 1, 2, 3, 4, 4, 5, 6],
        "w": [2.0, 2.0, 3.0, 1.0, 1.0, 1.0, 4.0, 4.0],
        "y": [1.0, 2.0, 4.0, 3.0, 5.0, np.nan, 2.0, 7.0],
        "g": ["x", "y", "x", "y", "x", "y", "x", None],
        "yes": [True, False, True, True, False, True, False, True],
    })


def test_result_columns_and_types() -> None:
    res = svy_mean(_toy(), "y", by="g", strata="h", psu="c", weight="w")
    assert list(res.columns) == ["g", *RESULT_COLUMNS]
    assert list(res["g"]) == ["x", "y"]  # sorted keys; the row with a missing key is dropped
    assert res["n"].dtype == np.int64 and (res["confidence"] == 0.95).all()
    assert set(res["statistic"]) == {"mean"} and set(res["method"]) == {"wald"}


def test_empty_group_is_nan_not_an_error() -> None:
    df = _toy()
    res = svy_mean(df, "y", by="g", domain=(df["g"] == "x").to_numpy(), strata="h", psu="c")
    empty = res[res["g"] == "y"].iloc[0]
    assert empty["n"] == 0 and np.isnan(empty["value"]) and np.isnan(empty["se"])


def test_lonely_rules_differ_and_default_is_adjust() -> None:
    df = _toy().assign(h=["a", "a", "a", "b", "b", "b", "c", "c"], c=[1, 1, 1, 3, 4, 4, 5, 6])
    ses = {r: svy_mean(df, "y", strata="h", psu="c", weight="w", lonely_psu=r)["se"].iloc[0]
           for r in ("adjust", "average", "certainty", "remove")}
    assert ses["certainty"] == ses["remove"] < ses["average"]
    assert ses["adjust"] > ses["certainty"]
    assert svy_mean(df, "y", strata="h", psu="c", weight="w")["se"].iloc[0] == ses["adjust"]


def test_prop_level_equals_indicator() -> None:
    df = _toy().assign(cat=lambda d: np.where(d["yes"], "A", "B"))
    a = svy_prop(df, "cat", level="A", strata="h", psu="c", weight="w", ci_method="beta")
    b = svy_prop(df, "yes", strata="h", psu="c", weight="w", ci_method="beta")
    pd.testing.assert_frame_equal(a, b)


def test_prop_at_zero_keeps_a_sensible_interval() -> None:
    df = _toy().assign(no=0)
    beta = svy_prop(df, "no", strata="h", psu="c", ci_method="beta").iloc[0]
    assert beta["value"] == 0 and beta["lower"] == 0 and 0 < beta["upper"] < 1
    logit = svy_prop(df, "no", strata="h", psu="c", ci_method="logit").iloc[0]
    assert logit["lower"] == logit["upper"] == 0


# --- properties --------------------------------------------------------------------------

@st.composite
def samples(draw) -> pd.DataFrame:
    rows = []
    for h in range(draw(st.integers(1, 3))):
        for c in range(draw(st.integers(2, 4))):
            for _ in range(draw(st.integers(1, 3))):
                rows.append((h, c, draw(st.floats(0.5, 50)), draw(st.floats(-100, 100)),
                             draw(st.booleans()), draw(st.sampled_from("pq"))))
    df = pd.DataFrame(rows, columns=["h", "c", "w", "y", "yes", "g"])
    return df.assign(pop=lambda d: d.groupby("h")["c"].transform("nunique") * 3)


DESIGN = {"strata": "h", "psu": "c", "weight": "w", "nest": True, "fpc": "pop"}
FUNCS = [
    lambda d, **k: svy_mean(d, "y", **DESIGN, **k),
    lambda d, **k: svy_total(d, "y", **DESIGN, **k),
    lambda d, **k: svy_ratio(d, "y", "w", **DESIGN, **k),
    *[lambda d, m=m, **k: svy_prop(d, "yes", ci_method=m, **DESIGN, **k) for m in
      ("logit", "beta", "wald")],
]
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(samples(), st.sampled_from(FUNCS))
def test_interval_contains_estimate(df: pd.DataFrame, func) -> None:
    res = func(df, by="g")
    bounded = res["lower"].notna() & res["upper"].notna()
    assert (res.loc[~bounded, "n"] < 2).all()  # only Korn-Graubard on one row has no interval
    res = res[bounded]
    tol = 1e-9 * (1 + res["value"].abs())
    assert (res["lower"] <= res["value"] + tol).all() and (res["value"] <= res["upper"] + tol).all()


@fast
@given(samples(), st.sampled_from(FUNCS), st.floats(0.5, 0.9), st.floats(0.01, 0.09))
def test_interval_widens_with_confidence(df, func, low, step) -> None:
    narrow, wide = func(df, confidence=low), func(df, confidence=low + step)
    tol = 1e-9 * (1 + narrow["value"].abs())
    assert (wide["upper"] - wide["lower"] >= narrow["upper"] - narrow["lower"] - tol).all()


@fast
@given(samples(), st.sampled_from(FUNCS), st.randoms())
def test_invariant_to_row_order(df, func, rnd) -> None:
    order = list(range(len(df)))
    rnd.shuffle(order)
    a, b = func(df, by="g"), func(df.iloc[order], by="g")
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-9)


@fast
@given(samples(), st.sampled_from(FUNCS))
def test_domain_of_whole_population_equals_full_estimate(df, func) -> None:
    pd.testing.assert_frame_equal(func(df, domain=np.ones(len(df), bool)), func(df))


@fast
@given(samples(), st.sampled_from(FUNCS))
def test_by_group_equals_domain_estimate(df, func) -> None:
    by = func(df, by="g").set_index("g")
    for key in by.index:
        one = func(df, domain=(df["g"] == key).to_numpy()).iloc[0]
        assert one[["value", "se", "deff"]].astype(float).to_numpy() == pytest.approx(
            by.loc[key, ["value", "se", "deff"]].astype(float).to_numpy(), rel=1e-9, nan_ok=True)


@fast
@given(samples(), st.sampled_from(FUNCS[:3]))
def test_group_of_whole_strata_equals_its_own_design(df, func) -> None:
    """A county made of whole strata: domain of the full design == the county's own design."""
    df = df.assign(county=df["h"] % 2)
    by = func(df, by="county").set_index("county")
    for key in by.index:
        own = func(df[df["county"] == key]).iloc[0]
        assert own[["value", "se"]].astype(float).to_numpy() == pytest.approx(
            by.loc[key, ["value", "se"]].astype(float).to_numpy(), rel=1e-9)


@fast
@given(samples(), st.sampled_from(["adjust", "average", "certainty", "remove"]), st.booleans())
def test_mean_of_levels_equals_the_mean_of_the_rows(df, lonely, two_stage) -> None:
    """The satisfaction items' path (a score taking a few values, summed from the weights of each value per
    cell) gives the general estimate's value, SE and design effect up to rounding, as do domains merged from
    finer ones (strata of a county: each PSU in one of them)."""
    score = np.array([-2.0, 0.5, 3.0])
    level = np.digitize(df["y"].to_numpy(), [-30.0, 30.0])  # each row's value: one of score
    y = score[level]
    if two_stage:  # a second stage: each row its own unit, of ten in its PSU
        df = df.assign(ssu=np.arange(len(df)), pop2=10)
    d = _design(df, "h", ["c", "ssu"] if two_stage else "c", "w", ["pop", "pop2"] if two_stage else "pop",
                True, lonely)
    df = df.assign(gh=df["g"] + df["h"].astype(str), county=df["g"] + (df["h"] % 2).astype(str))
    yes = df["yes"].to_numpy()
    g_fine, keys_fine = _groups(df, "gh")
    fine = _level_domains(_domains(d, g_fine, keys_fine, (g_fine >= 0) & yes), level[(g_fine >= 0) & yes], 3)
    for by in ("g", "county"):
        g, keys = _groups(df, by)
        dom = _domains(d, g, keys, (g >= 0) & yes)
        want = _estimate_on(dom, "mean", y, None)
        to = np.zeros(len(keys_fine), dtype=np.int64)
        to[g_fine] = g  # every row has both groups
        for got in (_mean_of_levels(_level_domains(dom, level[dom.rows], 3), score),
                    _mean_of_levels(_merged(fine, to, len(keys)), score)):
            np.testing.assert_array_equal(got["n"], want["n"], err_msg="n")
            np.testing.assert_allclose(got["value"], want["value"], rtol=1e-12, err_msg="value")
            # rounding: the scores' totals per PSU summed in another order
            np.testing.assert_allclose(got["se"], want["se"], rtol=1e-9, atol=1e-12 * np.abs(y).max(), err_msg="se")
            # a design effect is a ratio of two variances: where y is the same for all of a group's rows both are
            # rounding noise (score 3.0 times a weight is not exact) and their ratio means nothing
            present = np.bincount(g[dom.rows] * 3 + level[dom.rows], minlength=3 * len(keys)).reshape(-1, 3) > 0
            varied = present.sum(axis=1) >= 2
            for col in ("deff", "n_eff"):
                np.testing.assert_allclose(got[col][varied], want[col][varied], rtol=1e-9, err_msg=col)


def test_beta_quantiles_in_two_threads_equal_one_call() -> None:
    """Many Korn-Graubard bounds are computed in two halves, one in a second thread: the same bits as
    one call, and an error in either half reaches the caller."""
    from scipy import stats

    from evalkit.measures import survey

    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.5, 400, 3 * survey._THREADS_FROM), rng.uniform(0.5, 400, 3 * survey._THREADS_FROM)
    a[::7] = np.nan  # a missing bound stays missing
    np.testing.assert_array_equal(survey._beta_quantile(0.001, a, b), stats.beta.ppf(0.001, a, b))

    def fails_on_first_half(x: np.ndarray) -> np.ndarray:
        if x[0] == 0:
            raise ZeroDivisionError("first half")
        return x

    with pytest.raises(ZeroDivisionError, match="first half"):
        survey._in_two_threads(fails_on_first_half, np.arange(2.0 * survey._THREADS_FROM))


# --- argument checks: one per message ----------------------------------------------------

MESSAGES = [
    (dict(y="nope"), "Column 'nope' given as y is not in the data."),
    (dict(by="nope"), "Column 'nope' given as by is not in the data."),
    (dict(strata="nope"), "Column 'nope' given as strata is not in the data."),
    (dict(y="g"), f"Column 'g' given as y must be numeric; it has dtype {_toy()['g'].dtype}."),
    (dict(weight="bad_w"), "Weights in column 'bad_w' must be positive; row 2 has 0.0."),
    (dict(lonely_psu="drop"), "lonely_psu must be one of 'adjust', 'average', 'certainty', "
                              "'fail', 'remove'; got 'drop'."),
    (dict(confidence=95), "confidence must be a fraction between 0 and 1 (such as 0.95); got 95."),
    (dict(psu="c", strata="h2", lonely_psu="fail"),
     "Stratum 'solo' has only one PSU at stage 1, which lonely_psu='fail' does not allow; "
     "choose 'adjust', 'average', 'certainty' or 'remove'."),
    (dict(psu="c", strata="h3"), "PSU 1 in column 'c' appears in more than one stratum; pass "
                                 "nest=True if PSU ids are only unique within strata."),
    (dict(psu="c", strata="h", fpc="mixed"), "fpc must give either population sizes (all >= 1) "
                                             "or sampling fractions (all <= 1), not a mix."),
    (dict(psu="c", strata="h", fpc="small"), "fpc column 'small' implies more than 100% sampling "
                                             "in 'a': 2 units sampled from a population of 1.5."),
    (dict(psu="c", strata="h", fpc="uneven"), "fpc column 'uneven' varies within 'a'; it must "
                                              "be constant there."),
    (dict(psu="c", fpc=["pop", "pop"]), "fpc needs one column per sampling stage (1); got 2."),
    (dict(psu=["c", "c", "c"]), "psu takes one column, or two for a two-stage design; got 3."),
    (dict(psu="gap"),
     "Column 'gap' given as psu has a missing value in row 7; every row needs one."),
    (dict(domain="g"), "domain must be True/False for each row (missing counts as False)."),
    (dict(domain=[True, False]), "domain has 2 values but the data have 8 rows."),
]


@pytest.mark.parametrize(("kwargs", "message"), MESSAGES, ids=[m for _, m in MESSAGES])
def test_argument_messages(kwargs: dict, message: str) -> None:
    df = _toy().assign(bad_w=[1, 1, 0, 1, 1, 1, 1, 1], h2=["a"] * 3 + ["solo"] + ["b"] * 4,
                       c=[1, 1, 2, 3, 4, 4, 5, 6], h3=["a", "b"] + ["b"] * 6,
                       mixed=[0.5] * 4 + [2.0] * 4, small=1.5, pop=10.0, uneven=[5, 6] + [9] * 6,
                       gap=[1, 1, 2, 2, 3, 3, 4, None])
    df.loc[3, "c"] = 9  # the 'solo' stratum holds one PSU
    kwargs = {"y": "y", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        svy_mean(df, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(ci_method="exact"), "ci_method must be one of 'logit', 'beta', 'wald'; got 'exact'."),
    (dict(df=0), "df must be 'design', 'domain' or a positive number; got 0."),
    (dict(y="y"), "Column 'y' must hold 0/1 or True/False for a proportion; row 1 has 2. "
                  "Pass level= to count one category."),
])
def test_prop_argument_messages(kwargs: dict, message: str) -> None:
    df = _toy().assign(y=[1.0, 2.0, 0, 1, 0, 1, 1, 0])
    kwargs = {"y": "yes", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        svy_prop(df, **kwargs)


def test_estimate_with_no_row_in_the_domain_is_nan_not_a_crash() -> None:
    """Every answer missing: value and SE are NaN, n is 0 (found by hypothesis through satisfaction():
    numpy's bincount of no rows is an integer array, which cannot hold NaN)."""
    df = pd.DataFrame({"stratum": ["t0", "t0"], "psu": ["v0", "v1"], "y": [np.nan, np.nan], "w": [1.0, 1.0]})
    res = svy_mean(df, "y", strata="stratum", psu="psu", weight="w").iloc[0]
    assert res["n"] == 0 and np.isnan(res["value"]) and np.isnan(res["se"])
