"""``evalkit batch`` against the loop a user would write by hand, side by side in one run.

On the sample province (``data/sample``), for the same counties:

(a) **the hand-written loop**: for each county, one after another, the ``papermill`` command line
    (``-r county_code 090102``: ``-p`` would turn the code into the number 90102) and then
    ``jupyter nbconvert --to html --no-input``, the venv's executables, timed wall-clock as a whole;
(b) **``evalkit batch``** with its default settings (``--jobs`` = cores, ``--pdf auto``: PDFs too
    when Chromium is present; Word files), ``--no-overview --no-progress`` into a new run folder (``--force``
    only for a folder kept from an earlier run: it also builds every cache again), timed wall-clock as one
    command (process start, validation and cache read, planning, worker and kernel start-up, every
    report, the index); and once more with ``--pdf no``, so both are on record.

Then it checks that both made the same reports: the outputs of every code cell of the executed
notebooks of (a) and (b) are compared, after removing the provenance section's "Made" row (the only
place a time appears; both sides run with the same ``SOURCE_DATE_EPOCH``, so it should agree too).
The HTML pages themselves differ by design ((a) nbconvert's lab template, (b) evalkit's own page),
so they are not compared.

Last, the **floor**: the same cells (``CountyReport.load`` and every section) executed in this
already warm interpreter, per county, against the per-report durations that (b) recorded in its
manifest.

The indicator table is read from the cache under ``reports/.cache`` by both sides; this script
builds it first (``province_data``, untimed) so that neither side pays for building it.

    .venv/bin/python bench/batch.py                  # 12 counties (the issue's minimum)
    .venv/bin/python bench/batch.py --counties 24
    .venv/bin/python bench/batch.py --all            # all 122 counties, on both sides (slow: (a) about half an hour)
    .venv/bin/python bench/batch.py --keep /tmp/bb   # keep every output for inspection

The Markdown report goes to standard output (paste it whole into ``bench/RESULTS.md``), progress to
standard error.  Exit status 1 if a command failed or any county's content differs.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _machine  # bench/ is the script's folder
from _cpu import CpuMeter
from _machine import cpu_model as _cpu_model, version as _version

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's executables, next to the python running this
NOTEBOOK = ROOT / "notebooks" / "county_report.ipynb"
#: The issue's target: (b) at least this many times faster than (a).
TARGET = 10.0
#: The issue's minimum number of counties for the naive side.
MIN_COUNTIES = 12
#: Fixed provenance time for both sides (2026-01-01 00:00 UTC), so the "Made" rows agree.
EPOCH = "1767225600"
#: Confidence level of the reports: ``evalkit batch``'s (it has no option for another).
CONFIDENCE = 0.95
#: Report sections in the notebook's order (after ``CountyReport.load``): read from the notebook itself,
#: so that the floor runs exactly the cells the report has.
SECTIONS = tuple(re.findall(r"^report\.(\w+)\(\)$",
                            (Path(__file__).resolve().parents[1] / "notebooks" / "county_report.py").read_text(),
                            re.M))
#: Marks every process this run starts (inherited by kernels and browsers), to find any left running.
MARK = "EVALKIT_BENCH_BATCH_RUN"


def log(msg: str) -> None:
    print(f"[bench/batch {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------- helpers




def _chromium() -> tuple[str | None, str]:
    """The Chromium evalkit would use, and its version line."""
    from evalkit.render import find_chromium

    path = find_chromium()
    if path is None:
        return None, "not found"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
        return path, (out.strip().splitlines() or ["version unknown"])[0]
    except (OSError, subprocess.SubprocessError) as err:
        return path, f"version unknown ({type(err).__name__})"


def _fmt(s: float) -> str:
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def choose_counties(codes: list[str], n: int) -> list[str]:
    """``n`` codes spread evenly over the sorted list (every k-th code, so across prefectures)."""
    n = max(1, min(n, len(codes)))
    return [codes[i * len(codes) // n] for i in range(n)]


#: Longest a single command may take (``--timeout``); a hung command stops the benchmark.
TIMEOUT = [1800.0]


def _run(cmd: list[str], env: dict[str, str], what: str) -> float:
    """Run a command from the project root; its wall-clock seconds.  Stops the benchmark if it fails or hangs."""
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=TIMEOUT[0])
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"")[-4000:], (err.stderr or b"")[-4000:]
        sys.stderr.write("".join(x.decode(errors="replace") if isinstance(x, bytes) else x for x in out))
        raise SystemExit(f"bench/batch: {what} did not finish within {TIMEOUT[0]:g} s (stopped): {' '.join(cmd)}")
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"bench/batch: {what} failed (exit {done.returncode}): {' '.join(cmd)}")
    return seconds


def code_state() -> dict[str, str]:
    """Which code is measured: the commit, uncommitted changes to the package or notebook, and a hash of both."""
    from evalkit.results import report_code_hash

    def git(*a: str) -> str:
        return _machine.git(str(ROOT), *a)

    import hashlib

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "evalkit", "notebooks", "pyproject.toml")
             .splitlines()]
    digest = hashlib.sha256((report_code_hash() + NOTEBOOK.read_bytes().hex()).encode()).hexdigest()
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or "unknown", "dirty": ", ".join(dirty), "digest": digest}


def _marked_processes(mark: str) -> list[tuple[int, str]]:
    """Processes still running that this run started: those whose environment carries its mark
    (kernels, workers, browsers, ...) and their descendants (Chromium's helpers rewrite their
    environment block, so they are found through their parent)."""
    needle = f"{MARK}={mark}".encode()
    parent: dict[int, int] = {}
    marked: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            parent[pid] = int(stat[stat.rindex(")") + 2:].split()[1])
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                marked.add(pid)
        except (OSError, ValueError, IndexError):
            continue
    found, grew = set(marked), True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in found and pid not in found}
        found |= more
        grew = bool(more)
    out = []
    for pid in sorted(found):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out.append((pid, cmd[:120]))
    return out


# --------------------------------------------------------------------------------------- the sides


def run_naive(codes: list[str], out: Path, data_dir: Path, year: int, lang: str, confidence: float,
              env: dict[str, str]) -> dict[str, Any]:
    """(a) papermill then nbconvert, county after county."""
    out.mkdir(parents=True, exist_ok=True)
    per: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    for i, code in enumerate(codes, 1):
        nb = out / f"{code}.ipynb"
        pm = _run([str(BIN / "papermill"), str(NOTEBOOK), str(nb),
                   "-r", "county_code", code, "-p", "year", str(year), "-r", "data_dir", str(data_dir),
                   "-r", "lang", lang, "-p", "confidence", repr(confidence)], env, f"papermill {code}")
        nbc = _run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb)], env,
                   f"nbconvert {code}")
        per[code] = {"papermill": pm, "nbconvert": nbc}
        log(f"(a) {i}/{len(codes)} {code}: papermill {pm:.1f} s, nbconvert {nbc:.1f} s")
    seconds = time.perf_counter() - start
    missing = [c for c in codes if not (out / f"{c}.html").is_file()]
    if missing:
        raise SystemExit(f"bench/batch: nbconvert made no HTML for {', '.join(missing)}")
    return {"seconds": seconds, "per": per, "notebooks": {c: out / f"{c}.ipynb" for c in codes}}


def run_evalkit_batch(codes: list[str], out: Path, run: str, data_arg: str, env: dict[str, str],
                      extra: list[str]) -> dict[str, Any]:
    """(b) one ``evalkit batch`` command; its wall-clock time and manifest."""
    # a new run folder: every report is made without --force, which would also build the indicator table and
    # the other caches again (that neither side is to pay for, see the module's docstring)
    again = ["--force"] if (out / run).exists() else []
    cmd = [str(BIN / "evalkit"), "batch", data_arg, "--out", str(out), "--run", run, "--counties", *codes,
           *again, "--no-overview", "--no-progress", *extra]
    log(f"(b) {' '.join(['evalkit', *cmd[1:3], '...', *extra])}")
    seconds = _run(cmd, env, f"evalkit batch {' '.join(extra)}".strip())
    run_dir = out / run
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    reports = manifest["reports"]
    bad = [c for c in codes if reports.get(c, {}).get("status") != "ok"]
    if bad:
        raise SystemExit(f"bench/batch: evalkit batch failed for {', '.join(bad)}")
    pdfs = sum((run_dir / f"{c}.pdf").is_file() for c in codes)
    words = sum((run_dir / f"{c}.docx").is_file() for c in codes)
    log(f"(b) {' '.join(extra) or 'defaults'}: {seconds:.1f} s, {pdfs} PDFs")
    return {"seconds": seconds, "manifest": manifest, "pdfs": pdfs, "words": words, "run_dir": run_dir,
            "notebooks": {c: run_dir / "notebooks" / f"{c}.ipynb" for c in codes}}


def floor_times(codes: list[str], data_dir: Path, year: int, lang: str, confidence: float
                ) -> tuple[list[float], dict[str, list[str]]]:
    """The same cells in this warm interpreter: ``CountyReport.load`` + every section, per county.

    One untimed warm-up report first (first-call costs: splitting the table by confidence, the
    catalogue, matplotlib and its fonts), as the batch's kernels also warm up before their first
    report.  Returns the seconds per county and each county's HTML fragments (for the check).
    """
    import matplotlib

    matplotlib.use("Agg")
    from evalkit.report.county import CountyReport

    def one(code: str) -> list[str]:
        report = CountyReport.load(str(data_dir), code, year=year, lang=lang, confidence=confidence,
                                   benchmarks=["prefecture", "province"])
        return [getattr(report, name)()._repr_html_() for name in SECTIONS]

    one(codes[0])
    times, fragments = [], {}
    for code in codes:
        start = time.perf_counter()
        fragments[code] = one(code)
        times.append(time.perf_counter() - start)
    return times, fragments


# --------------------------------------------------------------------------------------- content check


def _made_row(lang: str) -> re.Pattern:
    from evalkit.report.i18n import t

    return re.compile(r"<tr><td>" + re.escape(html.escape(t("provenance.made", lang), quote=True))
                      + r"</td><td>[^<]*</td></tr>")


def notebook_outputs(path: Path) -> tuple[list[str], list[Any]]:
    """The text/html outputs of every code cell, and every output of every code cell (type, data, text)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    htmls, everything = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if "text/html" in out.get("data", {}):
                htmls.append(out["data"]["text/html"])
            everything.append([out.get("output_type"), out.get("name"), dict(out.get("data", {})), out.get("text"),
                               out.get("ename"), out.get("evalue")])
    return htmls, everything


def check_content(codes: list[str], a: dict[Path], b: dict[Path], floor: dict[str, list[str]],
                  lang: str) -> dict[str, Any]:
    made = _made_row(lang)
    result = {"html": [], "all": [], "raw": [], "floor": [], "made_rows": [], "differ": [], "cells": []}
    for code in codes:
        ha, ea = notebook_outputs(a[code])
        hb, eb = notebook_outputs(b[code])
        result["raw"].append(ha == hb)
        clean_a = [made.sub("", h) for h in ha]
        clean_b = [made.sub("", h) for h in hb]
        removed = (sum(len(made.findall(h)) for h in ha), sum(len(made.findall(h)) for h in hb))
        result["made_rows"].append(removed)
        result["cells"].append(len(hb))
        same = clean_a == clean_b and len(hb) == len(SECTIONS)
        result["html"].append(same)
        strip = lambda outs: json.loads(made.sub("", json.dumps(outs, ensure_ascii=False)))  # noqa: E731
        result["all"].append(strip(ea) == strip(eb))
        result["floor"].append([made.sub("", h) for h in floor.get(code, [])] == clean_b)
        if not same:
            result["differ"].append(code)
    return result


# --------------------------------------------------------------------------------------- report


def section(args: argparse.Namespace, command: str, info: dict[str, Any], codes: list[str], naive: dict,
            batch: dict, nopdf: dict, floor: list[float], check: dict, leftovers: list) -> str:
    n = len(codes)
    code = info["code"]
    a_s, b_s, c_s = naive["seconds"], batch["seconds"], nopdf["seconds"]
    ratio, ratio_nopdf = a_s / b_s, a_s / c_s
    verdict = ("met" if ratio >= TARGET else
               f"**not met**: {ratio:.1f}x, {TARGET / ratio:.2f}x short of {TARGET:g}x "
               f"((b) would need {a_s / TARGET:.1f} s or less, it took {_fmt(b_s)} s)")
    pdf_note = (f"PDFs made: {batch['pdfs']} of {n}, by {info['chromium']}" if batch["pdfs"]
                else "no PDFs: Chromium not found, so the default run made HTML only")
    pm = [v["papermill"] for v in naive["per"].values()]
    nbc = [v["nbconvert"] for v in naive["per"].values()]

    def durations(m: dict, key: str) -> list[float]:
        return [m["reports"][c]["durations"][key] for c in codes if key in m["reports"][c]["durations"]]

    def dur_cells(m: dict, stat=None) -> list[str]:
        stat = stat or _median
        return [_fmt(stat(durations(m, k))) if durations(m, k) else "—"
                for k in ("kernel_ready", "execute", "html", "pdf", "total")]

    def breakdown(res: dict) -> str:
        """The command's wall-clock split: before the first report, in reports (per worker), the rest."""
        rendering = res["manifest"]["summary"]["seconds"]
        in_reports = sum(durations(res["manifest"], "total")) / min(info["usable"], n)
        return (f"{_fmt(res['seconds'] - rendering)} s before rendering (process start, imports, validation and "
                f"cache read, planning), {_fmt(in_reports)} s in reports (sum of the manifest's `total` / "
                f"{min(info['usable'], n)} workers), {_fmt(rendering - in_reports)} s other (worker processes "
                f"starting and stopping with their kernels and browser, the index, imbalance)")

    floor_med = _median(floor)
    ex_b, ex_c = _median(durations(batch["manifest"], "execute")), _median(durations(nopdf["manifest"], "execute"))
    tot_b, tot_c = _median(durations(batch["manifest"], "total")), _median(durations(nopdf["manifest"], "total"))
    ok = sum(check["html"])
    small = (f" (below the issue's minimum of {MIN_COUNTIES}: a check of the script, not a result)"
             if n < MIN_COUNTIES else "")
    lines = [
        f"## {time.strftime('%Y-%m-%d')}: {args.title}", "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {info['cpu']}, {info['cores']} logical cores ({info['usable']} usable), "
        f"{platform.system()} {platform.release()}; load average (1/5/15 min) {info['load_before']} before, "
        f"{info['load_after']} after",
        f"- python {platform.python_version()} ({platform.python_implementation()}); "
        + ", ".join(f"{d} {_version(d)}" for d in ("evalkit", "papermill", "nbconvert", "nbclient", "jupyter_client",
                                                    "ipykernel", "matplotlib", "playwright"))
        + f"; Chromium: {info['chromium']}",
        f"- code measured: commit {code['commit']}, "
        + (f"with uncommitted changes to {code['dirty']}" if code["dirty"] else "evalkit/ and notebooks/ as committed")
        + ("" if code["digest"] == info["code_after"]["digest"] else
           " (**the package or notebook changed during the run**: the sides may not have run the same code)"),
        f"- data: `{args.data}` ({info['n_all']} counties), year {info['year']}, lang {args.lang}, "
        f"confidence {CONFIDENCE}; {n} counties on both sides{small}, spread evenly over the sorted codes "
        f"(code number i x {info['n_all']} / {n}; {info['prefectures']} of {info['n_prefectures']} prefectures): "
        f"{', '.join(codes)}",
        f"- indicator table: read from the cache under `reports/.cache` by both sides; built or read once "
        f"before any timing ({_fmt(info['cache_s'])} s in this process, untimed)",
        f"- both sides run with `SOURCE_DATE_EPOCH={EPOCH}` and the same data folder; nothing else is shared",
        "",
        "| side | what it makes | counties | seconds | seconds per report | (a) / side |",
        "|---|---|---:|---:|---:|---:|",
        f"| (a) loop: `papermill -r county_code CODE -p year {info['year']} -r data_dir ABS -r lang {args.lang} "
        f"-p confidence {CONFIDENCE}` then `jupyter nbconvert --to html --no-input`, one county after another "
        f"| executed notebook, HTML | {n} | {_fmt(a_s)} | {_fmt(a_s / n)} | 1 |",
        f"| (b) `evalkit batch {args.data} --counties ... --no-overview --no-progress"
        f"{'' if args.lang == 'en' else ' --lang ' + args.lang}` (defaults: "
        f"`--jobs {info['usable']}`, `--pdf auto`) | executed notebook, HTML, "
        f"{'PDF' if batch['pdfs'] else 'no PDF'}, {'Word' if batch['words'] else 'no Word'}, index, manifest "
        f"| {n} | {_fmt(b_s)} | {_fmt(b_s / n)} "
        f"| {ratio:.1f}x |",
        f"| (b) the same with `--pdf no` | executed notebook, HTML, {'Word' if nopdf['words'] else 'no Word'}, index, "
        f"manifest | {n} | {_fmt(c_s)} "
        f"| {_fmt(c_s / n)} | {ratio_nopdf:.1f}x |",
        "",
        f"- target: (b) with default settings at least {TARGET:g}x faster than (a): {verdict}. "
        f"With `--pdf no`: {ratio_nopdf:.1f}x ({'met' if ratio_nopdf >= TARGET else 'not met'}).",
        f"- default (b): {pdf_note}. (a) makes no PDFs.",
        f"- (a) per county, median: papermill {_fmt(_median(pm))} s (range {_fmt(min(pm))}–{_fmt(max(pm))}), "
        f"nbconvert {_fmt(_median(nbc))} s (range {_fmt(min(nbc))}–{_fmt(max(nbc))})",
        f"- (b) default, where the {_fmt(b_s)} s go: {breakdown(batch)}; "
        "\"before rendering\" is the command's time minus the manifest's `summary.seconds`",
        f"- (b) `--pdf no`, where the {_fmt(c_s)} s go: {breakdown(nopdf)}",
        "- CPU used during each phase (other engineers' jobs share this machine): "
        + "; ".join(info["meter"].text(k, info["cores"]) for k in ("(a)", "(b) default", "(b) --pdf no", "floor"))
        + ". (a) runs one process at a time and needs about one core; (b) can keep every core busy, so other "
        "processes' load slows (b) more than (a)",
        "",
        "### Same content",
        "",
        f"- {ok} of {n} counties: the text/html outputs of every code cell of (a)'s and (b)'s executed "
        f"notebooks are identical ({len(SECTIONS)} sections each) after removing the provenance \"Made\" row "
        f"(removed rows (a)/(b): {sum(r[0] for r in check['made_rows'])}/{sum(r[1] for r in check['made_rows'])}); "
        f"{sum(check['raw'])} of {n} are identical without removing it (same `SOURCE_DATE_EPOCH`)",
        f"- every output of every code cell (all MIME types, streams, errors), same removal: identical for "
        f"{sum(check['all'])} of {n}",
        f"- the floor's HTML (below) equals (b)'s outputs for {sum(check['floor'])} of {n} counties",
        "- compared: the executed notebooks, not the HTML pages, which differ by design ((a) nbconvert's lab "
        "template with its CSS and JavaScript, (b) evalkit's self-contained page with embedded font subset)",
    ]
    if check["differ"]:
        lines.append(f"- **differ**: {', '.join(check['differ'])}")
    lines += [
        "",
        "### Per report against its floor",
        "",
        f"Floor: the same cells (`CountyReport.load` + the {len(SECTIONS)} sections, HTML produced) executed in this "
        "already warm interpreter (table in memory, one untimed warm-up report), per county. (b): per-report "
        "durations (seconds) from its `manifest.json`. A worker's first report also pays for starting its "
        "kernel, browser and imports and reading the table into the kernel (in `kernel_ready`, `execute`, "
        "`html` and `pdf`), so the medians are the steady state and the slowest report shows the first.",
        "",
        "| per report | kernel_ready | execute | html | pdf | total |",
        "|---|---:|---:|---:|---:|---:|",
        f"| (b) default, median | {' | '.join(dur_cells(batch['manifest']))} |",
        f"| (b) default, slowest | {' | '.join(dur_cells(batch['manifest'], max))} |",
        f"| (b) `--pdf no`, median | {' | '.join(dur_cells(nopdf['manifest']))} |",
        f"| (b) `--pdf no`, slowest | {' | '.join(dur_cells(nopdf['manifest'], max))} |",
        f"| floor (warm interpreter), median | | {_fmt(floor_med)} | | | {_fmt(floor_med)} |",
        "",
        f"- floor: median {_fmt(floor_med)} s per report (range {_fmt(min(floor))}–{_fmt(max(floor))}); "
        f"(b)'s `execute` / floor: {ex_b / floor_med:.2f}x default, {ex_c / floor_med:.2f}x `--pdf no`; "
        f"(b)'s `total` / floor: {tot_b / floor_med:.2f}x default, {tot_c / floor_med:.2f}x `--pdf no`",
        f"- (b)'s wall-clock per report / floor: {b_s / n / floor_med:.1f}x default, "
        f"{c_s / n / floor_med:.1f}x `--pdf no` ({info['usable']} workers in parallel); (a)'s: "
        f"{a_s / n / floor_med:.1f}x",
        f"- processes of this run left running afterwards: "
        + ("none" if not leftovers else f"{len(leftovers)}, stopped by pid: "
           + "; ".join(f"{pid} {cmd}" for pid, cmd in leftovers)),
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time evalkit batch against the papermill + nbconvert loop on "
                                                 "the same counties; print a Markdown section for bench/RESULTS.md.")
    parser.add_argument("--counties", type=int, default=MIN_COUNTIES,
                        help=f"how many counties, spread over the province (default {MIN_COUNTIES}, the issue's "
                             "minimum)")
    parser.add_argument("--all", action="store_true", help="every county of the province, on both sides")
    parser.add_argument("--data", default="data/sample", help="province folder (default data/sample)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write every output under DIR (naive/, batch/bench, batch/bench-nopdf) and keep it")
    parser.add_argument("--timeout", type=float, default=TIMEOUT[0],
                        help=f"seconds any one command may take before the benchmark stops (default {TIMEOUT[0]:g})")
    parser.add_argument("--title", default="evalkit batch against the hand-written papermill + nbconvert loop",
                        help="heading of the printed section")
    args = parser.parse_args(argv)
    if args.counties < 1:
        parser.error("--counties must be at least 1.")
    TIMEOUT[0] = args.timeout
    command = "python bench/batch.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for exe in ("papermill", "jupyter", "evalkit"):
        if not (BIN / exe).is_file():
            parser.error(f"{BIN / exe} not found: run this with the project's .venv/bin/python.")
    data_dir = (ROOT / args.data).resolve()
    if not (data_dir / "dataset.json").is_file():
        parser.error(f"{data_dir} holds no province: run `make sample` first.")

    mark = uuid.uuid4().hex
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, MARK: mark}
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH  # the floor's provenance, in this process

    info: dict[str, Any] = {"cpu": _cpu_model(), "cores": os.cpu_count(), "load_before": _loadavg(),
                            "usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                            else os.cpu_count()}
    _, info["chromium"] = _chromium()
    meter = info["meter"] = CpuMeter()
    info["code"] = code_state()
    log("reading (or building) the indicator table cache")
    start = time.perf_counter()
    from evalkit.report.data import province_data

    data = province_data(data_dir)
    info["cache_s"] = time.perf_counter() - start
    counties = data.counties()
    all_codes = list(counties["county_code"])
    codes = choose_counties(all_codes, len(all_codes) if args.all else args.counties)
    info["n_all"], info["year"] = len(all_codes), max(data.years)
    info["prefectures"] = counties.set_index("county_code").loc[codes, "prefecture_code"].nunique()
    info["n_prefectures"] = counties["prefecture_code"].nunique()
    log(f"{len(codes)} counties: {' '.join(codes)}")

    tmp = None
    if args.keep:
        base = args.keep.resolve()
        base.mkdir(parents=True, exist_ok=True)
        for sub in ("naive", "batch"):
            shutil.rmtree(base / sub, ignore_errors=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="evalkit-bench-batch-")
        base = Path(tmp.name)
    try:
        log("floor: the same cells in this warm interpreter")
        meter.start("floor")
        floor, fragments = floor_times(codes, data_dir, info["year"], args.lang, CONFIDENCE)
        meter.stop("floor")
        log(f"floor: median {_median(floor):.3f} s per report")
        log("(a) papermill + nbconvert, one county after another")
        meter.start("(a)")
        naive = run_naive(codes, base / "naive", data_dir, info["year"], args.lang, CONFIDENCE, env)
        meter.stop("(a)")
        log(f"(a) {naive['seconds']:.1f} s")
        meter.start("(b) default")
        lang = [] if args.lang == "en" else ["--lang", args.lang]  # en is the default
        batch = run_evalkit_batch(codes, base / "batch", "bench", args.data, env, lang)
        meter.stop("(b) default")
        meter.start("(b) --pdf no")
        nopdf = run_evalkit_batch(codes, base / "batch", "bench-nopdf", args.data, env, [*lang, "--pdf", "no"])
        meter.stop("(b) --pdf no")
        log("checking content")
        check = check_content(codes, naive["notebooks"], batch["notebooks"], fragments, args.lang)
        check_nopdf = check_content(codes, batch["notebooks"], nopdf["notebooks"], fragments, args.lang)
        if not all(check_nopdf["raw"]):
            check["differ"] += [f"{c} (default vs --pdf no)" for c, same in zip(codes, check_nopdf["raw"])
                                if not same]
    finally:
        time.sleep(1)  # let just-closed kernels and browsers finish exiting before looking for leftovers
        leftovers = _marked_processes(mark)
        for pid, _ in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if leftovers:
            log(f"stopped {len(leftovers)} processes of this run left running: {leftovers}")
        if tmp is not None:
            tmp.cleanup()
        elif args.keep:
            log(f"outputs kept in {base}")
    info["load_after"] = _loadavg()
    info["code_after"] = code_state()
    print(section(args, command.strip(), info, codes, naive, batch, nopdf, floor, check, leftovers), flush=True)
    return 1 if check["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
