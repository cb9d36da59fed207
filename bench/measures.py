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
    check_cols = list(ref.checks) if ref.checks else (
        list(sec.baselines[0].checks) if sec.baselines else [])
    head = ["implementation", "call", f"seconds (best of {repeat})", "baseline / evalkit",
            *check_cols]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for t in [ref, *sec.baselines]:
        ratio = "1" if t is ref else f"{t.seconds / ref.seconds:.0f}x"
        cells = [t.name, t.call, _fmt_seconds(t.seconds), ratio,
                 *[str(t.checks.get(c, "reference")) for c in check_cols]]
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
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # samplics: "archived"
                __import__(name)
        except ImportError:
            skipped.append(f"{name} is not installed (`pip install -e '.[bench]'`).")
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
