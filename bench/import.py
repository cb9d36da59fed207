"""``evalkit import`` of the raw sample against ``evalkit validate`` of the clean sample, side by side in one run.

Issue 18's target: importing the raw sample province (every format: questionnaire-platform workbooks, an
SPSS file, a ledger workbook per county and a GB18030 CSV, the registers and stations workbooks) takes at
most twice as long as validating the clean sample of the same seed and size (Parquet).

Both are written first (untimed): ``evalkit synth CLEAN --raw RAW``.  Then, round after round, the order
swapped every round, in this process:

(a) **validate**: :func:`evalkit.schema.validate_province` on the clean folder, the work of ``evalkit validate``;
(b) **import**: :func:`evalkit.importer.import_folder` of the raw folder with its ``mapping.toml`` (read,
    recognise, recode, join, write Parquet, validate: the work of ``evalkit import``).

It checks that the import gives the clean tables (regions and services compared in key order: they come a
sheet per prefecture and a file per county), prints best-of and median seconds, the ratio of the bests and
the median of the rounds' own ratios, and with ``--profile`` where one more import spends its time.

    .venv/bin/python bench/import.py                    # the small province (4 counties), 3 rounds
    .venv/bin/python bench/import.py --size full --rounds 1 --profile   # the full province (slow: minutes)
    .venv/bin/python bench/import.py --size full --keep /tmp/b --reuse   # again on the folders kept in /tmp/b

The Markdown report goes to standard output (paste it whole into ``bench/RESULTS.md``), progress to
standard error.  Exit status 1 if the imported tables differ from the clean ones.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _machine  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent

# phases of one import, by the function that does each (cumulative time in the profile)
_PHASES = [
    ("read files (evalkit.importer.read.read_file)", "importer/read.py", "read_file"),
    ("  of which openpyxl's workbook cells (evalkit.io._workbook_cells)", "evalkit/io.py", "_workbook_cells"),
    ("  of which SPSS (pyreadstat.read_sav)", "pyreadstat", "read_sav"),
    ("find headers and columns (locate)", "importer/locate.py", "locate"),
    ("recode and join (_assemble)", "importer/__init__.py", "_assemble"),
    ("validate (evalkit.schema.validate_province)", "evalkit/schema.py", "validate_province"),
    ("write Parquet (evalkit.io.write_table)", "evalkit/io.py", "write_table"),
    ("import report (summary.import_report)", "importer/summary.py", "import_report"),
]


def _same(clean: Path, imported: Path) -> list[str]:
    """Tables of the imported folder that differ from the clean folder's (empty: identical)."""
    import pandas as pd

    import evalkit
    from evalkit.schema import TABLES, table_spec

    a, b = evalkit.load_province(clean), evalkit.load_province(imported)
    differ = []
    for table in TABLES:
        x, y = getattr(a, table), getattr(b, table)
        if table in ("regions", "services"):
            key = table_spec(table)["key"]
            x, y = x.sort_values(key, ignore_index=True), y.sort_values(key, ignore_index=True)
        try:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        except AssertionError:
            differ.append(table)
    return differ


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the import's reading workers): on a
    machine shared with other jobs, CPU time moves far less with the load than wall time."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _profile(raw: Path, out: Path, top: int) -> list[str]:
    from evalkit.importer import import_folder

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    import_folder(raw, out, mapping=raw / "mapping.toml")
    prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    lines = ["", f"### Where one import spends its time (cProfile, {total:.2f} s under the profiler)", "",
             "| phase | seconds | share |", "|---|---:|---:|"]
    for label, file_part, func in _PHASES:
        cum = sum(v[3] for (f, _, name), v in stats.stats.items() if name == func and file_part in f)
        if cum:
            lines.append(f"| {label} | {cum:.2f} | {cum / total:.0%} |")
    lines += ["", f"Top {top} functions by own time:", "", "| function | own s | cumulative s |", "|---|---:|---:|"]
    ranked = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (f, line, name), v in ranked:
        where = f.split("site-packages/")[-1].split("/evalkit/")[-1]
        lines.append(f"| `{where}:{line}({name})` | {v[2]:.2f} | {v[3]:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("small", "full"), default="small")
    parser.add_argument("--seed", type=int, default=None, help="default: the sample's seed")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each timing both once (default 3)")
    parser.add_argument("--profile", action="store_true", help="profile one more import and say where time goes")
    parser.add_argument("--top", type=int, default=12, help="functions listed by --profile (default 12)")
    parser.add_argument("--keep", type=Path, default=None, help="write the folders here and keep them")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: use the clean and raw folders an earlier run kept there (same seed and "
                             "size) instead of writing them again")
    args = parser.parse_args(argv)

    import evalkit
    from evalkit.importer import import_folder
    from evalkit.schema import validate_province
    from evalkit.synth import DEFAULT_SEED, generate, write_province, province_meta
    from evalkit.synth_raw import write_raw

    seed = DEFAULT_SEED if args.seed is None else args.seed
    work = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-bench-import-"))
    clean, raw, out = work / "clean", work / "raw", work / "imported"
    try:
        if args.reuse and (clean / "dataset.json").is_file() and (raw / "mapping.toml").is_file():
            print(f"import: using the folders kept in {work}", file=sys.stderr)
            t_clean = t_raw = float("nan")
        else:
            print(f"import: writing the {args.size} province, clean and raw (untimed)", file=sys.stderr)
            t0 = time.perf_counter()
            tables = generate(seed=seed, size=args.size)
            write_province(tables, clean, meta=province_meta(seed, args.size))
            t_clean = time.perf_counter() - t0
            t0 = time.perf_counter()
            write_raw(raw, seed=seed, size=args.size, tables=tables)
            t_raw = time.perf_counter() - t0
            del tables
        files = sorted(p for p in raw.rglob("*") if p.is_file())
        by_suffix: dict[str, list[int]] = {}
        for p in files:
            by_suffix.setdefault(p.suffix, []).append(p.stat().st_size)

        times: dict[str, list[float]] = {"validate": [], "import": []}
        cpu: dict[str, list[float]] = {"validate": [], "import": []}
        ratios = []
        load0, ticks0 = os.getloadavg()[0], _machine.cpu_ticks()
        for i in range(args.rounds):
            print(f"import: round {i + 1} of {args.rounds}", file=sys.stderr)
            order = ["validate", "import"] if i % 2 == 0 else ["import", "validate"]
            got = {}
            for job in order:
                t0, c0 = time.perf_counter(), _cpu()
                if job == "validate":
                    validate_province(clean)
                else:
                    import_folder(raw, out, mapping=raw / "mapping.toml")
                got[job] = time.perf_counter() - t0
                times[job].append(got[job])
                cpu[job].append(_cpu() - c0)
            ratios.append(got["import"] / got["validate"])
        load1, ticks1 = os.getloadavg()[0], _machine.cpu_ticks()
        differ = _same(clean, out)

        best = {k: min(v) for k, v in times.items()}
        ratio = best["import"] / best["validate"]
        rows = {t: len(getattr(evalkit.load_province(out), t)) for t in ("regions", "stations", "services", "survey")}
        lines = [
            f"## Import: `evalkit import` of the raw sample against `evalkit validate` of the clean one ({args.size})",
            "",
            f"- command: `python bench/import.py {' '.join(argv if argv is not None else sys.argv[1:])}`".rstrip(),
            f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- code: {_machine.code_measured(str(ROOT))}; evalkit {evalkit.__version__}, openpyxl "
            f"{_machine.version('openpyxl')}, pyreadstat {_machine.version('pyreadstat')}, pandas "
            f"{_machine.version('pandas')}",
            f"- machine: {_machine.cpu_model()}, {os.cpu_count()} cores; load average {load0:.1f} before the rounds, "
            f"{load1:.1f} after; CPU stolen by the host: {_machine.steal_share(ticks0, ticks1)}",
            f"- province: seed {seed}, size {args.size}: " + ", ".join(f"{t} {n:,} rows" for t, n in rows.items()),
            f"- raw folder: {len(files)} files (" + ", ".join(
                f"{len(v)} {k or 'other'} {sum(v) / 1e6:.1f} MB" for k, v in sorted(by_suffix.items())) + "); "
            + (f"written in {t_raw:.1f} s (the clean Parquet folder in {t_clean:.1f} s), untimed" if t_raw == t_raw
               else "kept from an earlier run (--reuse)"),
            f"- {args.rounds} round(s), each timing both once, the order swapped every round",
            "",
            "| step | best (s) | median (s) | best / validate's best | CPU, best (s) | CPU / validate's |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for job in ("validate", "import"):
            lines.append(f"| {job} | {best[job]:.2f} | {statistics.median(times[job]):.2f} | "
                         f"{best[job] / best['validate']:.1f}x | {min(cpu[job]):.2f} | "
                         f"{min(cpu[job]) / min(cpu['validate']):.1f}x |")
        lines += [
            "",
            f"- import / validate within each round: median {statistics.median(ratios):.1f}x, range "
            f"{min(ratios):.1f}-{max(ratios):.1f}x",
            f"- target (import within 2x validate): {'met' if ratio <= 2 else 'NOT met'} ({ratio:.1f}x best-of)",
            f"- results: {'identical tables' if not differ else 'DIFFER: ' + ', '.join(differ)}",
            "- all runs (s): " + "; ".join(f"{k} " + ", ".join(f"{x:.2f}" for x in v) for k, v in times.items()),
            "- CPU seconds (this process and the import's reading workers, all runs): " + "; ".join(
                f"{k} " + ", ".join(f"{x:.2f}" for x in v) for k, v in cpu.items()),
        ]
        if args.profile:
            print("import: profiling one more import", file=sys.stderr)
            lines += _profile(raw, out, args.top)
        print("\n".join(lines))
        return 1 if differ else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
