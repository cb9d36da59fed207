"""Benchmarks of ``evalkit.measures`` against other Python libraries, run side by side.

Each comparison runs evalkit and its baselines in the same process on the same data, checks
that they give the same numbers, and prints a Markdown section (seconds, ratio baseline /
evalkit, largest differences) to paste into ``bench/RESULTS.md`` together with the command.

    .venv/bin/python bench/measures.py                    # every comparison
    .venv/bin/python bench/measures.py --only survey --repeat 3

Comparisons (``--only``):

``survey``
    Design-based estimates for every domain year x county x respondent group of the full
    synthetic province: the weighted proportion satisfied (``q_overall`` 4 or 5) and the
    weighted mean of ``q_overall`` among valid answers (1-5; 8 = don't know and 9 = refused
    are outside the domain but stay in the design), with Taylor-linearised standard errors.
    evalkit (``svy_prop``/``svy_mean``), samplics (``TaylorEstimator``) and svy
    (``Sample.estimation``).

``glm`` (issue 19)
    Design-based regression by domain: ``score ~ group`` (gaussian; ``score`` = ``q_overall`` 1-5, 8/9
    missing) fitted in each of the 122 counties, each a domain of the whole wave design: evalkit's
    ``svy_glm(..., by="county_code")`` (one pass), samplics' ``SurveyGLM`` (each county's answers as a
    design of its own) and svy's ``sample.glm.fit(where=...)`` (one fit per county).

``prop`` (issue 19)
    Proportions with their interval method by domain (year x county x group): evalkit's
    ``svy_prop(ci_method="logit", df="domain")`` against svy's ``estimation.prop(ci_method="logit")``
    (values, SEs and bounds) and samplics' ``TaylorEstimator(PopParam.prop)`` (values and SEs).

``indicators``
    The whole indicator table (``evalkit.indicators.indicator_table``) on the full province
    against the time to read the inputs once (plain Parquet read, and ``load_province``:
    read + validate), and the peak memory of load + table in a fresh process.

A further comparison is another ``bench_<name>(repeat, ...)`` function registered in
``BENCHMARKS``.

Timing: each implementation runs once untimed (warm-up; its output is the one checked), then
``--repeat`` times; the best wall-clock time (``time.perf_counter``) is reported.  Preparing
inputs (generating the province, deriving columns, converting to polars for svy) is outside
the timed region and the same for every implementation.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from _machine import (code_measured, cpu_model as _cpu_model, cpu_ticks, steal_share,  # bench/ is the script's folder
                      version as _version)

#: The target the comparisons are judged against (baseline seconds / evalkit seconds).
TARGET_RATIO = 20.0
#: Numbers must agree to this: relative difference, or absolute where the reference is near 0.
TOLERANCE = 1e-8
#: A reference value this close to 0 is compared by absolute difference (e.g. SE = 0 at p = 1).
NEAR_ZERO = 1e-6

SURVEY_BY = ["year", "county_code", "group"]
SURVEY_KEYS = ["statistic", *SURVEY_BY]
SURVEY_DESIGNS = {
    # strata and PSUs of each design; "wave" is the design of the data model
    # (data/README.md: each township is a stratum in each wave, sampled anew every year).
    "wave": ("wave_stratum", "wave_psu"),
    # township strata pooled over the three waves: a PSU sampled in two waves is one PSU,
    # and a stratum counts the PSUs of every wave.  Kept to compare with the literal design.
    "pooled": ("township_code", "psu"),
}


# ---------------------------------------------------------------------------------------------
# shared machinery


@dataclass
class Timing:
    """One implementation of a comparison: its time and how its numbers compare."""

    name: str
    call: str
    seconds: float
    runs: list[float]
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    """What a comparison prints: a title, notes on the data and method, and its timings."""

    title: str
    notes: list[str]
    reference: Timing
    baselines: list[Timing]
    skipped: list[str] = field(default_factory=list)


def _importable(name: str, skipped: list[str]) -> bool:
    """Whether the baseline library ``name`` imports; if not, say so in ``skipped``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # samplics: "archived"
            __import__(name)
    except ImportError:
        skipped.append(f"{name} is not installed (`pip install -e '.[bench]'`).")
        return False
    return True


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, list[float]]:
    """Run ``fn`` once to warm up, then ``repeat`` times; the warm-up result and best time."""
    result = fn()
    runs = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return result, min(runs), runs




def machine_info() -> list[str]:
    """Markdown bullet lines describing the machine and the library versions."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    libs = ", ".join(f"{d} {_version(d)}" for d in
                     ("evalkit", "numpy", "pandas", "scipy", "polars", "samplics", "svy", "svy_rs"))
    return [
        f"- machine: {_cpu_model()}, {cores} logical cores ({usable} usable), "
        f"{platform.system()} {platform.release()}",
        f"- python {platform.python_version()} ({platform.python_implementation()}); {libs}",
        f"- code measured: {code_measured(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}",
    ]


def _fmt_seconds(s: float) -> str:
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def _fmt_diff(x: float) -> str:
    return "0" if x == 0 else ("n/a" if not np.isfinite(x) else f"{x:.1e}")


def section_markdown(sec: Section, repeat: int) -> str:
    """The Markdown section of one comparison."""
    ref = sec.reference
    lines = [f"## {sec.title}", "", *sec.notes, ""]
    check_cols = list(ref.checks) if ref.checks else list(dict.fromkeys(
        c for t in sec.baselines for c in t.checks if c != "agree")) + (["agree"] if sec.baselines else [])
    head = ["implementation", "call", f"seconds (best of {repeat})", "baseline / evalkit",
            *check_cols]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for t in [ref, *sec.baselines]:
        ratio = "1" if t is ref else f"{t.seconds / ref.seconds:.0f}x"
        cells = [t.name, t.call, _fmt_seconds(t.seconds), ratio,
                 *[str(t.checks.get(c, "reference" if t is ref else "-")) for c in check_cols]]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for t in sec.baselines:
        ratio = t.seconds / ref.seconds
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        agree = "agree" if t.checks.get("agree") == "yes" else "DO NOT agree"
        lines.append(f"- {t.name}: {ratio:.0f}x slower than evalkit (target {TARGET_RATIO:.0f}x: "
                     f"{verdict}); numbers {agree} with evalkit to {TOLERANCE:g}.")
    for s in sec.skipped:
        lines.append(f"- skipped: {s}")
    lines.append("- all runs (s): " + "; ".join(
        f"{t.name} " + ", ".join(_fmt_seconds(r) for r in t.runs) for t in [ref, *sec.baselines]))
    return "\n".join(lines) + "\n"


def compare_tables(ref: pd.DataFrame, other: pd.DataFrame, keys: list[str],
                   cols: tuple[str, ...] = ("value", "se")) -> dict[str, Any]:
    """Largest differences of ``cols`` between two tidy tables matched on ``keys``.

    The difference is relative to the reference value, or absolute where the reference is
    within ``NEAR_ZERO`` of 0.  Rows present in one table only, and rows where one value is
    missing and the other is not, are counted; either makes the tables disagree.
    """
    m = ref.merge(other, on=keys, how="outer", suffixes=("_ref", "_other"), indicator=True)
    only_ref = int((m["_merge"] == "left_only").sum())
    only_other = int((m["_merge"] == "right_only").sum())
    m = m[m["_merge"] == "both"]
    out: dict[str, Any] = {"estimates": f"{len(m)} matched"
                           + (f", {only_ref} only in evalkit" if only_ref else "")
                           + (f", {only_other} only here" if only_other else "")}
    ok = only_ref == 0 and only_other == 0
    for col in cols:
        a = m[f"{col}_ref"].to_numpy(dtype=float)
        b = m[f"{col}_other"].to_numpy(dtype=float)
        nan_mismatch = int((np.isnan(a) ^ np.isnan(b)).sum())
        both = ~np.isnan(a) & ~np.isnan(b)
        a, b = a[both], b[both]
        diff = np.abs(a - b)
        near = np.abs(a) < NEAR_ZERO
        rel = float((diff[~near] / np.abs(a[~near])).max()) if (~near).any() else 0.0
        absolute = float(diff[near].max()) if near.any() else 0.0
        out[f"max rel. diff {col}"] = _fmt_diff(rel)
        out[f"max abs. diff {col} near 0"] = _fmt_diff(absolute)
        if nan_mismatch:
            out[f"max rel. diff {col}"] += f" ({nan_mismatch} NaN vs number)"
        ok &= rel <= TOLERANCE and absolute <= TOLERANCE and nan_mismatch == 0
    out["agree"] = "yes" if ok else "no"
    return out


# ---------------------------------------------------------------------------------------------
# comparison 1: design-based estimates by domain


def survey_inputs(size: str = "full") -> pd.DataFrame:
    """The synthetic survey with the columns every implementation needs (not timed).

    ``valid`` (answer 1-5) is the domain, ``satisfied`` (4 or 5) the 0/1 outcome; the wave
    design gets its own stratum and PSU codes (year + township, year + village), and samplics
    gets the combined keys it needs (one ``by`` and one ``domain`` column, see
    ``_run_samplics``).
    """
    from evalkit.synth import generate

    df = generate(size=size)["survey"]
    df = df[["year", "county_code", "township_code", "psu", "weight", "group", "q_overall"]].copy()
    df["valid"] = df["q_overall"].between(1, 5)
    df["satisfied"] = df["q_overall"].isin([4, 5]).astype(np.int64)
    year = df["year"].astype(str)
    df["wave_stratum"] = year + "-" + df["township_code"]
    df["wave_psu"] = year + "-" + df["psu"]
    invalid = "(invalid answer)"
    # samplics: `by` = the unit its strata are nested in, `domain` = the rest of year x county
    # x group; rows with answers 8/9 form a domain of their own, so they stay in the design.
    df["wave_by"] = year + "|" + df["county_code"]
    df["wave_domain"] = df["group"].where(df["valid"], invalid)
    df["pooled_by"] = df["county_code"]
    df["pooled_domain"] = (year + "|" + df["group"]).where(df["valid"], invalid)
    return df


def _run_evalkit(df: pd.DataFrame, strata: str, psu: str):
    from evalkit.measures.survey import svy_mean, svy_prop

    kw = dict(by=SURVEY_BY, domain="valid", strata=strata, psu=psu, weight="weight")
    return svy_prop(df, "satisfied", **kw), svy_mean(df, "q_overall", **kw)


def _tidy_evalkit(out) -> pd.DataFrame:
    prop, mean = out
    return pd.concat([prop.assign(statistic="proportion"), mean.assign(statistic="mean")],
                     ignore_index=True)[[*SURVEY_KEYS, "value", "se"]]


def _run_samplics(df: pd.DataFrame, strata: str, psu: str, by: str, domain: str):
    # documented call (samplics docs, "Taylor-based Estimation": TaylorEstimator(PopParam.mean)
    # .estimate(y=, samp_weight=, stratum=, psu=, domain=)), plus estimate()'s `by=`: each by
    # group is analysed as a design of its own (a subset), each domain within it as a domain.
    # The strata are nested in `by` (wave: year x county; pooled: county), so this gives the
    # domain estimates of the whole design.  domain= alone over the whole design loops over
    # every stratum for every domain: about 15 s per domain here, ~10 hours per statistic.
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

    common = dict(samp_weight=df["weight"], stratum=df[strata], psu=df[psu], by=df[by],
                  domain=df[domain])
    prop = TaylorEstimator(PopParam.prop)
    prop.estimate(y=df["satisfied"], **common)
    mean = TaylorEstimator(PopParam.mean)
    mean.estimate(y=df["q_overall"], **common)
    return prop, mean


def _tidy_samplics(out, design: str) -> pd.DataFrame:
    # with by=, samplics keeps {by: {domain: value}} (and {level: value} within a domain for a
    # proportion); to_dataframe() does not support by= (it raises), so the dicts are read.
    prop, mean = out
    rows = []
    for stat, est in (("proportion", prop), ("mean", mean)):
        for b, doms in est.point_est.items():
            for d, value in doms.items():
                if d.startswith("("):  # the answers 8/9 domain
                    continue
                se = est.stderror[b][d]
                if stat == "proportion":
                    value, se = value.get(1, 0.0), se.get(1, np.nan)
                if design == "wave":
                    year, county = b.split("|")
                    group = d
                else:
                    county = b
                    year, group = d.split("|")
                rows.append((stat, int(year), county, group, float(value), float(se)))
    return pd.DataFrame(rows, columns=[*SURVEY_KEYS, "value", "se"])


def _run_svy(pdf, strata: str, psu: str):
    # documented call (svy skill docs, estimation.md "Domains"): a Sample bound to its Design,
    # estimation.prop / .mean with by= a tuple of columns and where= an expression; numbers
    # out with .to_polars().
    import svy

    sample = svy.Sample(pdf, svy.Design(stratum=strata, psu=psu, wgt="weight"))
    where = svy.col("valid")
    by = tuple(SURVEY_BY)
    prop = sample.estimation.prop("satisfied", by=by, where=where).to_polars()
    mean = sample.estimation.mean("q_overall", by=by, where=where).to_polars()
    return prop, mean


def _tidy_svy(out) -> pd.DataFrame:
    import polars as pl

    prop, mean = out
    prop = prop.filter(pl.col("satisfied") == 1).to_pandas().assign(statistic="proportion")
    mean = mean.to_pandas().assign(statistic="mean")
    tidy = pd.concat([prop, mean], ignore_index=True).rename(columns={"est": "value"})
    return tidy[[*SURVEY_KEYS, "value", "se"]]


def bench_survey(repeat: int = 2, *, size: str = "full", design: str = "wave",
                 baselines: tuple[str, ...] = ("samplics", "svy")) -> Section:
    """evalkit's svy_prop/svy_mean against samplics and svy on every year x county x group."""
    strata, psu = SURVEY_DESIGNS[design]
    unknown = sorted(set(baselines) - {"samplics", "svy"})
    if unknown:
        raise ValueError(f"Unknown survey baseline(s) {', '.join(unknown)}; choose from "
                         "samplics, svy.")
    t0 = time.perf_counter()
    df = survey_inputs(size)
    prep = time.perf_counter() - t0
    valid = df["valid"]
    n_strata, n_psu = df[strata].nunique(), df.groupby([strata, psu]).ngroups
    print(f"survey: {len(df):,} rows prepared in {prep:.1f} s; running evalkit", file=sys.stderr)

    out, sec, runs = best_of(lambda: _run_evalkit(df, strata, psu), repeat)
    ref_table = _tidy_evalkit(out)
    n_domains = len(out[0])
    ref = Timing("evalkit", "`svy_prop` + `svy_mean`, `by=[year, county_code, group]`, "
                 "`domain=valid`", sec, runs)
    empty = int((out[0]["n"] == 0).sum())

    done, skipped = [], []
    for name in baselines:
        if not _importable(name, skipped):
            continue
        print(f"survey: running {name}", file=sys.stderr)
        if name == "samplics":
            by, domain = f"{design}_by", f"{design}_domain"
            out, sec, runs = best_of(lambda: _run_samplics(df, strata, psu, by, domain), repeat)
            table = _tidy_samplics(out, design)
            call = (f"`TaylorEstimator(PopParam.prop / .mean).estimate(..., by={by}, "
                    f"domain={domain})`")
        else:
            import polars as pl

            pdf = pl.from_pandas(df[[*SURVEY_BY, strata, psu, "weight", "valid", "satisfied",
                                     "q_overall"]])
            out, sec, runs = best_of(lambda: _run_svy(pdf, strata, psu), repeat)
            table = _tidy_svy(out)
            call = "`Sample(data, Design(...)).estimation.prop / .mean(by=(year, county_code, " \
                   "group), where=col('valid'))`"
        timing = Timing(name, call, sec, runs, compare_tables(ref_table, table, SURVEY_KEYS))
        done.append(timing)

    design_text = {
        "wave": "strata = wave x township, PSU = wave x village (the data model's design: each "
                "wave is a sample of its own)",
        "pooled": "strata = township_code, PSU = psu, pooled over the three waves",
    }[design]
    notes = [
        f"- data: `evalkit.synth.generate(size={size!r})[\"survey\"]`: {len(df):,} respondents, "
        f"{df['year'].nunique()} waves, {df['county_code'].nunique()} counties, "
        f"{n_strata:,} strata, {n_psu:,} PSUs; {int(valid.sum()):,} valid answers "
        f"({int((~valid).sum()):,} answers 8/9 stay in the design outside the domain)",
        f"- design: {design_text}; weight = `weight`; with replacement, no fpc; "
        "Taylor linearisation",
        f"- estimates: {n_domains:,} domains year x county x group "
        f"({empty} without a valid answer) x 2 statistics (proportion satisfied, mean "
        "q_overall), each with its standard error",
        "- timed: the library calls and getting the numbers out; not timed: generating the "
        "data, deriving `valid`/`satisfied` and the design and key columns, converting to "
        "polars for svy",
        "- samplics takes one `by` and one `domain` column: combined keys built beforehand "
        "(`by` = the unit the strata are nested in, `domain` = the rest, answers 8/9 a "
        "domain of their own)",
    ]
    return Section("Design-based estimates by domain (`--only survey`)", notes, ref, done,
                   skipped)


# ---------------------------------------------------------------------------------------------
# comparison 3: design-based regression by domain (issue 19)

GLM_FORMULA = "score ~ group"


def glm_inputs(size: str = "full") -> pd.DataFrame:
    """The survey of :func:`survey_inputs` with ``score``: ``q_overall`` where valid (1-5), else missing."""
    df = survey_inputs(size)
    df["score"] = df["q_overall"].where(df["valid"]).astype(float)
    return df


def _run_evalkit_glm(df: pd.DataFrame, strata: str, psu: str) -> pd.DataFrame:
    from evalkit.measures.models import svy_glm

    return svy_glm(df, GLM_FORMULA, by="county_code", strata=strata, psu=psu, weight="weight")


def _plain_term(term: str) -> str:
    """One name per coefficient across the libraries: "Intercept", "group_dibao"."""
    for old, new in (("[T.", "_"), ("]", ""), ("_intercept_", "Intercept")):
        term = term.replace(old, new)
    return term


def _tidy_evalkit_glm(out: pd.DataFrame) -> pd.DataFrame:
    return out.assign(term=out["term"].map(_plain_term))[["county_code", "term", "value", "se"]]


def _run_samplics_glm(df: pd.DataFrame, strata: str, psu: str, counties: list[str]) -> list:
    # documented call (samplics docs, "Survey GLM": SurveyGLM(ModelType.LINEAR).estimate(y=, x=, x_cat=,
    # samp_weight=, stratum=, psu=, add_intercept=True)); no domain argument: each county's valid answers are
    # fitted as a design of their own (its strata are whole townships, so this is the domain's variance as
    # long as no village is left without a valid answer).
    from samplics.regression import SurveyGLM
    from samplics.utils.types import ModelType

    fits = []
    valid = df[df["valid"]]
    for county, rows in valid.groupby("county_code", sort=True):
        glm = SurveyGLM(ModelType.LINEAR)
        glm.estimate(y=rows["score"].to_numpy(), x_cat=rows[["group"]].to_numpy(), x_cat_labels=["group"],
                     samp_weight=rows["weight"].to_numpy(), stratum=rows[strata].to_numpy(),
                     psu=rows[psu].to_numpy(), add_intercept=True)
        fits.append((county, glm))
    return fits


def _tidy_samplics_glm(out) -> pd.DataFrame:
    rows = [(county, _plain_term(term), float(value), float(se)) for county, glm in out
            for term, value, se in zip(glm.x_labels, glm.beta["point_est"], glm.beta["stderror"])]
    return pd.DataFrame(rows, columns=["county_code", "term", "value", "se"])


def _run_svy_glm(sample, counties: list[str]) -> list:
    # documented call (svy skill docs, glm.md: sample.glm.fit(y=, x=[svy.Cat(...)], family=, where=): "where=
    # fits on a subpopulation with the full design"); one fit per county, as glm has no by=
    import svy

    return [(c, sample.glm.fit(y="score", x=[svy.Cat("group")], family="gaussian",
                               where=(svy.col("county_code") == c) & svy.col("valid")).to_polars())
            for c in counties]


def _tidy_svy_glm(out) -> pd.DataFrame:
    frames = [fit.to_pandas().assign(county_code=county) for county, fit in out]
    tidy = pd.concat(frames, ignore_index=True).rename(columns={"estimate": "value", "std_err": "se"})
    tidy["term"] = tidy["term"].map(_plain_term)
    return tidy[["county_code", "term", "value", "se"]]


def bench_glm(repeat: int = 2, *, size: str = "full", design: str = "wave",
              baselines: tuple[str, ...] = ("samplics", "svy")) -> Section:
    """evalkit's svy_glm(by=county) against samplics' SurveyGLM and svy's glm, one fit per county."""
    strata, psu = SURVEY_DESIGNS[design]
    df = glm_inputs(size)
    counties = sorted(df["county_code"].unique())
    print(f"glm: {len(df):,} rows, {len(counties)} counties; running evalkit", file=sys.stderr)
    out, sec, runs = best_of(lambda: _run_evalkit_glm(df, strata, psu), repeat)
    ref_table = _tidy_evalkit_glm(out)
    ref = Timing("evalkit", f"`svy_glm(data, {GLM_FORMULA!r}, by='county_code', ...)`", sec, runs)
    done, skipped = [], []
    for name in baselines:
        if not _importable(name, skipped):
            continue
        print(f"glm: running {name}", file=sys.stderr)
        if name == "samplics":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                out, sec, runs = best_of(lambda: _run_samplics_glm(df, strata, psu, counties), repeat)
            table = _tidy_samplics_glm(out)
            call = "`SurveyGLM(ModelType.LINEAR).estimate(...)` on each county's valid answers"
        else:
            import polars as pl
            import svy

            pdf = pl.from_pandas(df[["county_code", strata, psu, "weight", "valid", "score", "group"]])
            sample = svy.Sample(pdf, svy.Design(stratum=strata, psu=psu, wgt="weight"))
            out, sec, runs = best_of(lambda: _run_svy_glm(sample, counties), repeat)
            table = _tidy_svy_glm(out)
            call = "`sample.glm.fit(y='score', x=[Cat('group')], where=county & valid)` per county"
        # a coefficient with no variance (every answer in its cells the same) has SE 0: samplics gives rounding
        # noise there and svy NaN; those SEs are left out of the comparison (the values are compared)
        zero = ref_table["se"] == 0
        ref_cmp = ref_table.assign(se=ref_table["se"].mask(zero))
        table = table.merge(ref_table[zero][["county_code", "term"]].assign(_zero=True), how="left",
                            on=["county_code", "term"])
        table["se"] = table["se"].mask(table.pop("_zero").fillna(False).astype(bool))
        done.append(Timing(name, call, sec, runs, compare_tables(ref_cmp, table, ["county_code", "term"])))
    notes = [
        f"- data: `evalkit.synth.generate(size={size!r})[\"survey\"]`: {len(df):,} respondents, "
        f"{len(counties)} counties; `score` = `q_overall` where it is an answer 1-5 (8/9 missing: out of the "
        "model, in the design)",
        f"- design: strata = wave x township, PSU = wave x village, weight = `weight`; Taylor linearisation",
        f"- model: `{GLM_FORMULA}` (gaussian: mean score by respondent group, 7 coefficients) in each county, "
        f"each a domain of the whole design: {len(ref_table):,} coefficients with their SEs",
        "- timed: the library calls and getting the numbers out; not timed: generating the data, deriving "
        "columns, converting to polars and building svy's `Sample` (once)",
        f"- SEs not compared where evalkit's is 0 ({int((ref_table['se'] == 0).sum())} coefficient(s): every answer "
        "behind them is the same, so the scores cancel exactly): samplics gives rounding noise there (~3e-8), "
        "svy NaN",
    ]
    return Section("Design-based regression by domain (`--only glm`)", notes, ref, done, skipped)


# ---------------------------------------------------------------------------------------------
# comparison 4: proportions with an interval method by domain (issue 19)


def _run_evalkit_prop(df: pd.DataFrame, strata: str, psu: str, method: str) -> pd.DataFrame:
    from evalkit.measures.survey import svy_prop

    return svy_prop(df, "satisfied", by=SURVEY_BY, domain="valid", strata=strata, psu=psu, weight="weight",
                    ci_method=method, df="domain")


def _tidy_samplics_prop(est, design: str) -> pd.DataFrame:
    rows = []
    for b, doms in est.point_est.items():
        for d, value in doms.items():
            if d.startswith("("):  # the answers 8/9 domain
                continue
            year, county = b.split("|") if design == "wave" else (d.split("|")[0], b)
            group = d if design == "wave" else d.split("|")[1]
            rows.append((int(year), county, group, float(value.get(1, 0.0)),
                         float(est.stderror[b][d].get(1, np.nan))))
    return pd.DataFrame(rows, columns=[*SURVEY_BY, "value", "se"])


def bench_prop(repeat: int = 2, *, size: str = "full", design: str = "wave",
               baselines: tuple[str, ...] = ("samplics", "svy")) -> Section:
    """evalkit's svy_prop(ci_method="logit") by domain against svy's and samplics' proportions with intervals."""
    strata, psu = SURVEY_DESIGNS[design]
    df = survey_inputs(size)
    keys = SURVEY_BY
    print(f"prop: {len(df):,} rows; running evalkit", file=sys.stderr)
    out, sec, runs = best_of(lambda: _run_evalkit_prop(df, strata, psu, "logit"), repeat)
    ref_table = out[[*keys, "value", "se", "lower", "upper"]]
    ref = Timing("evalkit", "`svy_prop(..., ci_method='logit', df='domain', by=[year, county_code, group], "
                 "domain=valid)`", sec, runs)
    done, skipped = [], []
    for name in baselines:
        if not _importable(name, skipped):
            continue
        print(f"prop: running {name}", file=sys.stderr)
        if name == "samplics":
            from samplics.estimation import TaylorEstimator
            from samplics.utils.types import PopParam

            by, domain = f"{design}_by", f"{design}_domain"

            def run():
                est = TaylorEstimator(PopParam.prop, ciprop_method="logit")
                est.estimate(y=df["satisfied"], samp_weight=df["weight"], stratum=df[strata], psu=df[psu],
                             by=df[by], domain=df[domain])
                return est

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                est, sec, runs = best_of(run, repeat)
            table = _tidy_samplics_prop(est, design)
            call = f"`TaylorEstimator(PopParam.prop, ciprop_method='logit').estimate(..., by={by}, domain={domain})`"
            cols: tuple[str, ...] = ("value", "se")
        else:
            import polars as pl
            import svy

            pdf = pl.from_pandas(df[[*keys, strata, psu, "weight", "valid", "satisfied"]])

            def run():
                sample = svy.Sample(pdf, svy.Design(stratum=strata, psu=psu, wgt="weight"))
                return sample.estimation.prop("satisfied", by=tuple(keys), where=svy.col("valid"),
                                              ci_method="logit").to_polars()

            res, sec, runs = best_of(run, repeat)
            table = res.filter(pl.col("satisfied") == 1).to_pandas().rename(
                columns={"est": "value", "lci": "lower", "uci": "upper"})[[*keys, "value", "se", "lower", "upper"]]
            call = "`Sample(...).estimation.prop(by=(year, county_code, group), where=col('valid'), " \
                   "ci_method='logit')`"
            cols = ("value", "se", "lower", "upper")
        # at p = 0 or 1 svy gives no bounds and evalkit the point p (svy_prop's documented choice): those
        # bounds are left out of the comparison (the values and SEs are compared)
        edge = ref_table["value"].isin([0.0, 1.0])
        ref_cmp = ref_table.assign(lower=ref_table["lower"].mask(edge), upper=ref_table["upper"].mask(edge))
        done.append(Timing(name, call, sec, runs, compare_tables(ref_cmp, table, keys, cols)))
    notes = [
        f"- data: `evalkit.synth.generate(size={size!r})[\"survey\"]`: {len(df):,} respondents; the design of "
        "`--only survey` (strata = wave x township, PSU = wave x village)",
        f"- estimates: the proportion satisfied (`q_overall` 4 or 5 among answers 1-5) in {len(out):,} domains "
        "year x county x group, with SE and the logit interval of R's `svyciprop` on the domain's degrees of "
        "freedom (PSUs minus strata holding the domain: what svy uses)",
        "- compared: value, SE and both bounds with svy; value and SE with samplics, whose `by=` analyses each "
        "year x county as a design of its own and so puts that design's df in its t quantile (bounds not "
        "comparable)",
        f"- bounds not compared where the proportion is 0 or 1 ({int(out['value'].isin([0.0, 1.0]).sum()):,} "
        "domains): svy gives none there, evalkit the point p (documented in `svy_prop`)",
        "- not compared: Korn-Graubard (`ci_method='beta'`): svy's `'korn-graubard'` is not R's "
        "`svyciprop(method='beta')`, which evalkit reproduces (tests/test_survey.py)",
    ]
    return Section("Proportions with their interval method, by domain (`--only prop`)", notes, ref, done, skipped)


# ---------------------------------------------------------------------------------------------
# the indicator table against reading the inputs once

_PEAK_SCRIPT = """
import sys, time
from evalkit.schema import load_province
from evalkit.indicators import indicator_table
t0 = time.perf_counter()
p = load_province(sys.argv[1])
t1 = time.perf_counter()
t = indicator_table(p)
t2 = time.perf_counter()
# VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's size at fork
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(t), t1 - t0, t2 - t1, hwm)
"""


def bench_indicators(repeat: int = 2, *, size: str = "full") -> str:
    """Time the whole indicator table against reading (and validating) the inputs once.

    Reading is measured twice: the plain Parquet read of the four tables (the floor of any
    program that looks at the data), and ``load_province`` (read plus validation, what every
    evalkit run must do before computing anything).  Peak memory is measured in a fresh
    process running load + table, as a user would.
    """
    import subprocess
    import tempfile

    from evalkit.indicators import indicator_table
    from evalkit.schema import TABLES, load_province
    from evalkit.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        print(f"indicators: writing the {size} province", file=sys.stderr)
        synthesize(tmp, size=size)
        # the three steps in turn, round after round, so that each round's steps meet the same load on the
        # machine (a shared machine's speed drifts over minutes): the best of each, and each round's ratio
        steps = {"read": lambda: [pd.read_parquet(f"{tmp}/{t}.parquet") for t in TABLES],
                 "load": lambda: load_province(tmp)}
        province = steps["load"]()  # warm-ups
        steps["table"] = lambda: indicator_table(province)
        steps["read"]()
        table = steps["table"]()
        runs: dict[str, list[float]] = {name: [] for name in steps}
        ticks = cpu_ticks()
        for i in range(repeat):
            print(f"indicators: round {i + 1} of {repeat} (read, load_province, indicator_table)", file=sys.stderr)
            for name, step in steps.items():
                gc.collect()
                start = time.perf_counter()
                step()
                runs[name].append(time.perf_counter() - start)
        stolen = steal_share(ticks, cpu_ticks())
        raw_runs, load_runs, table_runs = runs["read"], runs["load"], runs["table"]
        raw_s, load_s, table_s = min(raw_runs), min(load_runs), min(table_runs)
        paired = sorted(t / r for t, r in zip(table_runs, raw_runs))
        out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, tmp], capture_output=True, text=True,
                             check=True).stdout.split()
    peak_mib = int(out[3]) / 1024
    rows = f"{len(table):,}"
    lines = [
        "## The indicator table against reading the inputs once (`--only indicators`)", "",
        f"- data: `evalkit.synth.synthesize(size={size!r})` written as Parquet: "
        f"{len(province.services):,} ledger rows, {len(province.survey):,} respondents, "
        f"{province.regions['township_code'].nunique():,} townships, {len(province.years)} waves",
        f"- table: {rows} rows (every indicator x unit x year x item x group x confidence 0.95/0.998), "
        "intervals, suppression and benchmark comparisons",
        "- target: the table in at most 3x the time to read the inputs once; peak memory under 2 GiB",
        "",
        f"| step | seconds (best of {repeat} rounds) | indicator table / step |",
        "|---|---:|---:|",
        f"| `pd.read_parquet` of the four tables | {_fmt_seconds(raw_s)} | {table_s / raw_s:.1f}x |",
        f"| `load_province` (read + validate) | {_fmt_seconds(load_s)} | {table_s / load_s:.1f}x |",
        f"| `indicator_table` | {_fmt_seconds(table_s)} | 1 |",
        "",
        f"- indicator table / read + validate: {table_s / load_s:.1f}x (target 3x: "
        f"{'met' if table_s <= 3 * load_s else 'NOT met'}); / plain Parquet read: {table_s / raw_s:.1f}x "
        f"(target 3x: {'met' if table_s <= 3 * raw_s else 'NOT met'}); the same ratio within each round: "
        f"median {paired[len(paired) // 2]:.1f}x, range {paired[0]:.1f}-{paired[-1]:.1f}x",
        f"- peak resident memory, fresh process, load + table: {peak_mib:,.0f} MiB (target 2,048 MiB: "
        f"{'met' if peak_mib < 2048 else 'NOT met'})",
        "- all runs (s): read " + ", ".join(_fmt_seconds(r) for r in raw_runs) + "; load_province "
        + ", ".join(_fmt_seconds(r) for r in load_runs) + "; indicator_table "
        + ", ".join(_fmt_seconds(r) for r in table_runs),
        f"- CPU time the host took from this virtual machine during the rounds (steal, /proc/stat): {stolen}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# command line

#: name (``--only``) -> how to run it from the parsed command line
BENCHMARKS: dict[str, Callable[[argparse.Namespace], Section | str]] = {
    "indicators": lambda a: bench_indicators(a.repeat, size=a.size),
    "survey": lambda a: bench_survey(a.repeat, size=a.size, design=a.design,
                                     baselines=tuple(b for b in a.baselines.split(",") if b)),
    "glm": lambda a: bench_glm(a.repeat, size=a.size, design=a.design,
                               baselines=tuple(b for b in a.baselines.split(",") if b)),
    "prop": lambda a: bench_prop(a.repeat, size=a.size, design=a.design,
                                 baselines=tuple(b for b in a.baselines.split(",") if b)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run evalkit and its baselines side by side; print a Markdown report "
                    "for bench/RESULTS.md.")
    parser.add_argument("--repeat", type=int, default=2,
                        help="timed runs per implementation after one warm-up run; the best "
                             "is reported (default 2)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append",
                        help="run only this comparison (repeatable; default: all)")
    parser.add_argument("--size", choices=("full", "small"), default="full",
                        help="synthetic province size (default full; small is a quick check)")
    parser.add_argument("--design", choices=sorted(SURVEY_DESIGNS), default="wave",
                        help="survey: the design (default wave: strata = wave x township)")
    parser.add_argument("--baselines", default="samplics,svy",
                        help="survey: comma-separated baselines (default samplics,svy)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1.")

    command = "python bench/measures.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"# evalkit benchmarks\n\n- command: `{command.strip()}`")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print("\n".join(machine_info()) + "\n", flush=True)
    failed = False
    for name in args.only or list(BENCHMARKS):
        sec = BENCHMARKS[name](args)
        if isinstance(sec, str):
            print(sec, flush=True)
            continue
        print(section_markdown(sec, args.repeat), flush=True)
        failed |= any(t.checks.get("agree") != "yes" for t in sec.baselines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
