"""The ``evalkit`` command line: a thin layer over the Python API.

Each command forwards to one documented function; errors in the input data
are printed as messages naming file, row, column and value, never as a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__
from .errors import DataValidationError, EvalkitError, InputError, Problem

__all__ = ["main"]


def _cmd_synth(args: argparse.Namespace) -> int:
    from .synth import NATIONAL_SIZES, synthesize, synthesize_national

    if args.out_dir is None and args.raw is None:
        raise ValueError("synth: give OUT_DIR (the codebook-shaped sample), --raw DIR (raw exports), or both.")
    if args.out_dir is not None:
        t0 = time.perf_counter()
        if args.size in NATIONAL_SIZES:
            written = synthesize_national(args.out_dir, seed=args.seed, size=args.size, provinces=args.provinces,
                                          fmt=args.format)
            folders = sorted({path.parent.name for path in written})
            print(f"Wrote a synthetic country ({args.size}, seed {args.seed}) to {args.out_dir} in "
                  f"{time.perf_counter() - t0:.1f} s: {len(folders)} province folder(s), {', '.join(folders)}")
            return 0
        if args.provinces is not None:
            print(f"evalkit synth: --provinces {args.provinces} is only for --size national or national-small; "
                  "nothing was written.", file=sys.stderr)
            return 2
        written = synthesize(args.out_dir, seed=args.seed, size=args.size, fmt=args.format)
        print(f"Wrote the synthetic sample province ({args.size}, seed {args.seed}) to {args.out_dir} "
              f"in {time.perf_counter() - t0:.1f} s:")
        for path in written:
            print(f"  {path.name}")
    if args.raw is not None:
        from .synth_raw import write_raw

        t0 = time.perf_counter()
        written = write_raw(args.raw, seed=args.seed, size=args.size)
        print(f"Wrote the synthetic sample province ({args.size}, seed {args.seed}) as raw exports to {args.raw} "
              f"in {time.perf_counter() - t0:.1f} s ({len(written)} files; import them with "
              f"`evalkit import {args.raw} -o DATA_DIR --map {Path(args.raw) / 'mapping.toml'}`).")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .national import is_national, province_folders

    if is_national(args.data_dir):  # a folder of province folders: each province in turn
        if not args.json:
            return max(_validate_one(folder, args) for folder in province_folders(args.data_dir))
        import contextlib
        import io

        results, status = [], 0
        for folder in province_folders(args.data_dir):  # --json: one list, an object per province
            with contextlib.redirect_stdout(io.StringIO()) as text:
                status = max(status, _validate_one(folder, args))
            results.append(json.loads(text.getvalue()))
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return status
    return _validate_one(args.data_dir, args)


def _validate_one(data_dir: Path, args: argparse.Namespace) -> int:
    from .schema import TABLES, validate_province

    t0 = time.perf_counter()
    typed, problems, meta, sources = validate_province(data_dir)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), "errors": len(errors), "warnings": len(warnings),
                          "problems": [p.__dict__ for p in problems]}, ensure_ascii=False, indent=1))
        return 1 if errors else 0
    label = " (synthetic data)" if meta.get("synthetic") else ""
    print(f"Validating {data_dir}{label}")
    for table in TABLES:
        if table in sources:
            n_err = sum(1 for p in errors if p.file.split(" (sheet '")[0] == sources[table].name)
            state = "ok" if not n_err else f"{n_err} error(s)"
            print(f"  {sources[table].name:<22} {len(typed[table]):>10,} rows  {state}")
        else:
            print(f"  {table:<22} {'':>10}       not read")
    for title, items in (("Errors", errors), ("Warnings", warnings)):
        if items:
            print(f"\n{title}:")
            for p in items[: args.limit]:
                print(f"  {p}")
            if len(items) > args.limit:
                print(f"  ... {len(items) - args.limit} more (use --limit or --json to see all)")
    took = time.perf_counter() - t0
    if errors:
        print(f"\nFAILED: {len(errors)} error(s), {len(warnings)} warning(s) in {took:.1f} s. Fix the files "
              "above; no indicator or report is produced from data that failed validation.")
        return 1
    print(f"\nOK: all tables valid, {len(warnings)} warning(s), in {took:.1f} s.")
    return 0


def _cmd_indicators(args: argparse.Namespace) -> int:
    from .errors import DataValidationError
    from .indicators import indicator_table, write_indicator_table
    from .schema import load_province

    t0 = time.perf_counter()
    try:
        province = load_province(args.data_dir)
    except DataValidationError as err:
        print(f"evalkit: {args.data_dir} failed validation; no indicator table was written.\n{err}", file=sys.stderr)
        print(f"Run `evalkit validate {args.data_dir}` for the full list.", file=sys.stderr)
        return 1
    t1 = time.perf_counter()
    table = indicator_table(province)
    path = write_indicator_table(table, args.output, province)
    label = " (synthetic data)" if province.synthetic else ""
    print(f"Wrote {len(table):,} rows to {path}{label}: read and validated in {t1 - t0:.1f} s, "
          f"indicators in {time.perf_counter() - t1:.1f} s.")
    return 0


def _cmd_scores(args: argparse.Namespace) -> int:
    from .framework import load_framework, score_counties
    from .report.data import province_data

    framework = load_framework(args.framework)  # FrameworkError: every problem, with file and key
    data = province_data(args.data_dir.resolve())
    years = [args.year] if args.year else data.years
    frames = []
    for year in years:
        scores = score_counties(data.table, framework, year=year, draws=args.draws, seed=args.seed,
                                inspections=data.inspections())
        frames.append(scores.counties)
    import pandas as pd

    table = pd.concat(frames, ignore_index=True)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False, encoding="utf-8-sig")  # Excel opens UTF-8 with a BOM correctly
    graded = table[table["graded"]]
    print(f"Wrote {len(table)} county-years to {out}: {len(graded)} graded "
          f"({', '.join(f'{g} {n}' for g, n in graded['grade'].value_counts().items())}), "
          f"framework {framework.id} {framework.version}, {args.draws:,} draws, seed {args.seed}.")
    return 0


def _cmd_framework(args: argparse.Namespace) -> int:
    from .framework import load_framework

    fw = load_framework(args.file)
    cr = fw.consistency_frame()
    print(f"{args.file or 'the default framework'}: valid. {len(fw.indicators)} indicators in {len(fw.tiers)} tiers; "
          f"largest AHP consistency ratio {float(cr['cr'].max()) if len(cr) else 0:.3f}; "
          f"grades {', '.join(f'{g.id} >= {g.min:g}' for g in fw.grades)}.")
    return 0


def _add_privacy_commands(sub) -> None:
    """Add the ``plant`` and ``scan`` commands (moved from ``evalkit.privacy``)."""
    from .planting import MIN_VALUES, PER_COMMENT

    p = sub.add_parser("plant", help="copy a province folder, planting personal data in its survey comments",
                       description="Copy DATA_DIR to OUT_DIR with a generated corpus of personal data (17 "
                                   "categories: names, phone numbers, identity and bank card numbers, WeChat, QQ, "
                                   "licence plates, e-mail, addresses; evalkit.planting) planted in survey "
                                   "comments of one wave, and the roster names in its roster, for audits.")
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed plants the same values")
    p.add_argument("--values", type=int, default=MIN_VALUES,
                   help=f"the least number of values to plant (default {MIN_VALUES})")
    p.add_argument("--per-comment", type=int, default=PER_COMMENT,
                   help=f"values in one planted comment (default {PER_COMMENT})")
    p.add_argument("--year", type=int, default=None, help="the survey wave to plant in (default the latest)")
    p.add_argument("--planted", help="write the planted values to this JSON file")
    p.set_defaults(command="plant", func=_cmd_privacy)
    s = sub.add_parser("scan", help="scan output files or folders for personal data and input person ids",
                       description="Scan rendered files (HTML, PDF, notebooks, JSON) or folders for phone and "
                                   "identity numbers, e-mail, addresses, roster names and the inputs' person ids. "
                                   "Exits 1 when the expectation (--expect) fails.")
    s.add_argument("paths", nargs="+")
    s.add_argument("--data", help="the inputs' folder: its person ids and roster names are searched for")
    s.add_argument("--planted", help="the JSON file written by `plant --planted`: report which values were found")
    s.add_argument("--counties", nargs="+", metavar="CODE",
                   help="with --planted: the counties whose planted values must be found (default: those with a "
                        "report among the files, e.g. 090102.html; else all)")
    s.add_argument("--expect", choices=("none", "all"), default="none",
                   help="none (default): fail on any finding; all: fail unless every planted value is found")
    s.add_argument("--json", action="store_true", help="print the findings as JSON lines")
    s.set_defaults(command="scan", func=_cmd_privacy)


def _cmd_privacy(args: argparse.Namespace) -> int:
    """Carry out a ``plant`` or ``scan`` command parsed by :func:`_add_privacy_commands`."""
    from .planting import Planted, plant
    from .errors import ScanError
    from .privacy.scan import SCANNED_SUFFIXES, Scanner, mask_value, scanner_for

    if args.command == "plant":
        planted = plant(args.data_dir, args.out_dir, args.seed, n=args.values, per_comment=args.per_comment,
                        year=args.year)
        if args.planted:
            planted.to_json(args.planted)
        groups = planted.by_category()
        print(f"planted {len(planted.values)} values of {len(groups)} categories in {len(planted.comments)} comments "
              f"of {len(planted.counties())} counties ({planted.year} wave): {args.out_dir}")
        print("  " + ", ".join(f"{c} {len(vs)}" for c, vs in groups.items()))
        return 0
    t0 = time.perf_counter()
    scanner = scanner_for(args.data) if args.data else Scanner()
    if args.data:
        print(f"searching for {scanner.n_ids:,} person ids ({scanner.skipped_ids:,} too plain to search for) and "
              f"{len(scanner.names):,} roster names ({len(scanner.unscanned_names)} set aside); "
              f"{time.perf_counter() - t0:.1f} s to read them")
    files = []
    for p in map(Path, args.paths):
        files += (sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SCANNED_SUFFIXES) if p.is_dir()
                  else [p])
    findings, failed, unreadable, t1 = [], [], set(), time.perf_counter()
    for f in files:
        try:
            findings += scanner.file(f)
        except ScanError as err:
            failed.append(str(err))
            unreadable.add(f)
    print(f"scanned {len(files)} files in {time.perf_counter() - t1:.1f} s: {len(findings)} finding(s), "
          f"{len(failed)} unreadable")
    for msg in failed:
        print(f"  unreadable: {msg}")
    for f in findings[:50]:
        print(json.dumps(f.to_dict(), ensure_ascii=False) if args.json else f"  {f}")
    if len(findings) > 50:
        print(f"  ... and {len(findings) - 50} more")
    ok = not failed and (not findings if args.expect == "none" else True)
    if args.planted:
        planted = Planted.from_json(args.planted)
        counties = args.counties or sorted({f.stem for f in files} & set(planted.counties())) or planted.counties()
        wanted = [v for v in planted.values if v.county_code in counties]
        missing = planted.missing(findings, counties, scanner=scanner, files=[f for f in files if f not in unreadable])
        print(f"planted values found: {len(wanted) - len(missing)} of {len(wanted)} "
              f"(in the comments of {len(counties)} counties)")
        for v in missing[:20]:
            print(f"  not found: {v.category} ({v.form}) in county {v.county_code} ({v.respondent_id}): "
                  f"{mask_value(v.value)}")
        if len(missing) > 20:
            print(f"  ... and {len(missing) - 20} more")
        if args.expect == "all":
            ok = ok and not missing
    return 0 if ok else 1


def _cmd_audit(args: argparse.Namespace) -> int:
    from .audit import run_audit

    return 0 if run_audit(args.data_dir, args.work, seed=args.seed, batch_args=args.batch_args, n=args.values,
                          markdown=args.markdown).ok else 1


def _cmd_import(args: argparse.Namespace) -> int:
    from .importer import import_folder, suggest

    if args.suggest:
        text = suggest(args.raw_dir, mapping=args.map)
        if args.output:
            from .io import write_atomic

            write_atomic(args.output, text)
            print(f"Wrote a draft mapping file to {args.output}: check it, then run evalkit import {args.raw_dir} "
                  f"-o DATA_DIR --map {args.output}")
        else:
            sys.stdout.write(text)
        return 0
    if args.output is None:
        raise InputError(Problem(str(args.raw_dir), None, None, None, "no_output",
                                 "say where to write the data folder: evalkit import RAW_DIR -o DATA_DIR "
                                 "(or --suggest to draft a mapping file)."))
    try:
        result = import_folder(args.raw_dir, args.output, mapping=args.map, keep_invalid=args.keep_invalid)
    except DataValidationError as err:
        result = getattr(err, "result", None)
        if result is not None:
            print(result.report)
        errors = [p for p in err.problems if p.severity == "error"]
        print(f"evalkit: the raw data in {args.raw_dir} cannot be imported ({len(errors)} error(s)); nothing was "
              f"written to {args.output}:", file=sys.stderr)
        for problem in errors[: args.limit]:
            print(f"  {problem}", file=sys.stderr)
        if len(errors) > args.limit:
            print(f"  ... {len(errors) - args.limit} more (use --limit)", file=sys.stderr)
        return 1
    print(result.report)
    state = "valid" if result.ok else "NOT valid (written because of --keep-invalid)"
    print(f"Imported {args.raw_dir} into {args.output} in {result.seconds:.1f} s: {state}; report in "
          f"{Path(args.output) / 'import-report.md'}")
    return 0 if result.ok else 1


def _cmd_codebook(args: argparse.Namespace) -> int:
    from .schema import codebook_markdown, update_codebook

    if args.update:
        from .importer.summary import update_import_rules

        changed = update_import_rules(args.update) | update_codebook(args.update)
        print(f"{args.update}: {'updated' if changed else 'already up to date'}")
        return 0
    text = codebook_markdown()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch
    from .national import is_national, run_national
    from .render import find_chromium

    pdf = {"auto": find_chromium() is not None, "yes": True, "no": False}[args.pdf]
    docx = True  # Word files by default: python-docx and CairoSVG are dependencies, always present
    if getattr(args, "formats", None) is not None:
        formats = _formats(args.formats)
        docx = "docx" in formats
        if args.pdf == "auto":  # --formats says whether PDFs are wanted; --pdf yes/no still decides if given
            pdf = "pdf" in formats
            if pdf and find_chromium() is None:
                from .render import BrowserMissing

                raise BrowserMissing()
    if args.pdf == "yes" and find_chromium() is None:
        from .render import BrowserMissing

        raise BrowserMissing()
    # --counties A B C or --counties A,B,C
    counties = [c for arg in getattr(args, "counties", None) or [] for c in arg.split(",") if c.strip()]
    counties = [c.strip() for c in counties] or ([args.county] if getattr(args, "county", None) else None)
    jobs = getattr(args, "jobs", None)
    if counties and jobs is None:  # no more workers (each a kernel and a browser) than reports
        import os

        jobs = min(os.cpu_count() or 1, len(counties) + (0 if getattr(args, "no_overview", True) else 1))
    if getattr(args, "provinces", None) or (getattr(args, "county", None) is None and is_national(args.data_dir)):
        provinces = [p.strip() for arg in args.provinces or [] for p in arg.split(",") if p.strip()]
        record = run_national(args.data_dir.resolve(), provinces=provinces or None, jobs=getattr(args, "jobs", None),
                              scheduler=getattr(args, "scheduler", None), progress=not args.no_progress,
                              year=args.year, lang=args.lang, counties=counties,
                              prefecture=getattr(args, "prefecture", None), out=args.out, run=args.run,
                              force=args.force, pdf=pdf, timeout=args.timeout,
                              overview=not getattr(args, "no_overview", True), wait=getattr(args, "wait", False),
                              docx=docx,
                              worker_timeout=getattr(args, "worker_timeout", 120.0))
        s = record["summary"]
        print(f"{len(record['provinces'])} province(s): {s['rendered']} rendered, {s['skipped']} unchanged, "
              f"{s['failed']} failed in {s['seconds']} s: {Path(args.out or 'reports') / record['run'] / 'index.html'}")
        return 1 if s["failed"] else 0
    manifest = run_batch(args.data_dir.resolve(), jobs=jobs, scheduler=getattr(args, "scheduler", None),
                         progress=not args.no_progress, year=args.year, lang=args.lang, counties=counties,
                         prefecture=getattr(args, "prefecture", None), out=args.out, run=args.run, force=args.force,
                         pdf=pdf, docx=docx, timeout=args.timeout, overview=not getattr(args, "no_overview", True),
                         wait=getattr(args, "wait", False), worker_timeout=getattr(args, "worker_timeout", 120.0))
    s = manifest["summary"]
    run_dir = Path(args.out or "reports") / manifest["run"]
    print(f"{s['rendered']} rendered, {s['skipped']} unchanged, {s['failed']} failed in {s['seconds']} s: "
          f"{run_dir / 'index.html'}")
    return 1 if s["failed"] else 0


#: The output formats of a report (``--formats``); the HTML page is always made: the others are made from it.
FORMATS = ("html", "pdf", "docx")


def _formats(text: str) -> set[str]:
    """``"html,pdf,docx"`` as a set; a :class:`~evalkit.batch.BatchError` naming an unknown format."""
    from .batch import BatchError

    chosen = {f.strip().lower() for f in text.split(",") if f.strip()}
    unknown = sorted(chosen - set(FORMATS))
    if unknown or not chosen:
        raise BatchError(f"--formats {text!r}: {', '.join(unknown) or 'no format'} is not one of "
                         f"{', '.join(FORMATS)}; nothing was rendered.")
    return chosen | {"html"}


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int, default=None, help="evaluation wave (default: the latest in the data)")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default: en)")
    p.add_argument("--out", type=Path, default=None, help="parent folder of the run folder (default: reports/)")
    p.add_argument("--run", default=None, help="run folder name (default: <data folder>-<year>-<lang>)")
    p.add_argument("--force", action="store_true", help="render again even where nothing changed")
    p.add_argument("--pdf", choices=("auto", "yes", "no"), default="auto",
                   help="PDF through headless Chromium: auto (when Chromium is found, with a message when not), "
                        "yes (fail without it) or no")
    p.add_argument("--formats", default=None, metavar="LIST",
                   help="output formats, comma-separated, of html, pdf and docx (default: all three, PDF when "
                        "Chromium is found); the HTML page is always made, the PDF and Word files are made from it. "
                        "--pdf yes/no, if given, decides about the PDF")
    p.add_argument("--timeout", type=float, default=600, help="seconds one report may take (default 600)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--wait", action="store_true",
                   help="when another batch is writing into the same run folder, wait for it to finish "
                        "(default: refuse at once, naming it)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from .paths import SAMPLE

    parser = argparse.ArgumentParser(
        prog="evalkit",
        description="Third-party evaluation of county social-service programmes: validate input data, "
                    "generate the sample province, compute indicators and render county reports.")
    parser.add_argument("--version", action="version", version=f"evalkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("synth", help="write the synthetic sample province",
                       description="Write a deterministic, synthetic sample province (regions, stations, "
                                   "services, survey and dataset.json) to OUT_DIR. Same as evalkit.synth.synthesize().")
    p.add_argument("out_dir", metavar="OUT_DIR", type=Path, nargs="?", help="folder to write (created if missing)")
    p.add_argument("--raw", metavar="DIR", type=Path, default=None,
                   help="also (or instead) write the same province the way real exports look, with the mapping.toml "
                        "that `evalkit import` needs, into DIR (evalkit.synth_raw.write_raw; --format does not apply)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the shipped sample's seed)")
    p.add_argument("--size", choices=("full", "small", "national", "national-small"), default="full",
                   help="full: 122 counties, 1,933 townships; small: 4 counties, 40 townships, for tests; national: "
                        "31 provinces, 2,850 counties, 38,000 townships, one sub-folder per province; "
                        "national-small: 31 provinces of 4 counties, for tests")
    p.add_argument("--provinces", type=int, default=None, metavar="N",
                   help="with --size national(-small): only the first N provinces (a reduced country)")
    p.add_argument("--format", choices=("parquet", "csv", "csv-gb18030", "xlsx"), default="parquet",
                   help="file format of the tables (default: parquet; xlsx only for the small province)")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("validate", help="check a data folder and report every problem",
                       description="Read the four tables in DATA_DIR and check every rule in the codebook "
                                   "(data/README.md). Prints each problem with file, row, column and value; "
                                   "exits 1 if any error is found. Same as evalkit.validate_province().")
    p.add_argument("data_dir", metavar="DATA_DIR", type=Path, help="folder holding regions, stations, services, survey")
    p.add_argument("--limit", type=int, default=100, help="problems to print per severity (default 100)")
    p.add_argument("--json", action="store_true", help="print all problems as JSON")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("indicators", help="compute the indicator table of a data folder",
                       description="Validate DATA_DIR, then compute every indicator for every township, county, "
                                   "prefecture and the province, every wave, with intervals, suppression and "
                                   "benchmark comparisons, and write it as Parquet (layout: evalkit.indicators). "
                                   "Same as evalkit.indicators.indicator_table().")
    p.add_argument("data_dir", metavar="DATA_DIR", type=Path, help="folder holding regions, stations, services, survey")
    p.add_argument("-o", "--output", type=Path, default=Path("reports/indicators.parquet"),
                   help="Parquet file to write (default: reports/indicators.parquet)")
    p.set_defaults(func=_cmd_indicators)

    p = sub.add_parser("scores", help="grade every county by the evaluation framework (score, grade, rank)",
                       description="Composite score with its interval, grade with its probability and rank with "
                                   "its interval for every county and year, by the evaluation framework "
                                   "(docs/framework.md). Same as evalkit.framework.score_counties().")
    p.add_argument("data_dir", metavar="DATA_DIR", type=Path, help="folder holding regions, stations, services, survey")
    p.add_argument("--framework", type=Path, default=None, help="framework file (default: the shipped framework)")
    p.add_argument("--year", type=int, default=None, help="one wave (default: every wave)")
    p.add_argument("--draws", type=int, default=4000, help="simulation draws (default 4000)")
    p.add_argument("--seed", type=int, default=20250101, help="random seed (default 20250101)")
    p.add_argument("-o", "--output", type=Path, default=Path("reports/scores.csv"),
                   help="CSV or .parquet file to write (default: reports/scores.csv)")
    p.set_defaults(func=_cmd_scores)

    p = sub.add_parser("framework", help="check an evaluation framework file",
                       description="Read and check a framework file (tiers, indicators, scoring, AHP matrices, "
                                   "grades); every problem is listed with its key. Exits 1 on any problem.")
    p.add_argument("file", metavar="FILE", type=Path, nargs="?", default=None,
                   help="framework file (default: the shipped framework)")
    p.set_defaults(func=_cmd_framework)

    _add_privacy_commands(sub)  # plant, scan

    from .audit import __doc__ as audit_doc

    p = sub.add_parser("audit", help="prove that planted personal data reaches no published page (make audit)",
                       description=audit_doc.split("\n\n")[0],
                       epilog="Options after -- go to every evalkit batch run (e.g. -- --prefecture 0901).")
    p.add_argument("data_dir", type=Path, help="the province to audit (a planted copy is made; it is not changed)")
    p.add_argument("work", type=Path, help="an empty folder for the copy, the runs and their outputs")
    p.add_argument("--seed", type=int, default=1, help="seed of the planted values (default 1)")
    p.add_argument("--values", type=int, default=None, help="the least number of planted values (default 500)")
    p.add_argument("--markdown", type=Path, default=None,
                   help="also write recall per category and comments withheld per county as Markdown tables")
    p.set_defaults(func=_cmd_audit, batch_args=[])

    p = sub.add_parser("import", help="turn raw exports (xlsx, CSV, SPSS, Stata, Parquet) into a validated data folder",
                       description="Read every file in RAW_DIR (CSV, every sheet of .xlsx workbooks, SPSS .sav and "
                                   "Stata .dta with value labels, Parquet), recognise each table and column (or follow "
                                   "MAP.toml), recode answers, drop platform personal-data columns and write a "
                                   "validated data folder with import-report.md. Nothing is written unless it "
                                   "validates; RAW_DIR is never changed. The mapping file is documented in "
                                   "data/README.md (\"Importing raw exports\"). Same as evalkit.import_folder().")
    p.add_argument("raw_dir", metavar="RAW_DIR", type=Path, help="folder of raw exports")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="data folder to write (with --suggest: the draft mapping file; default: print it)")
    p.add_argument("--map", type=Path, default=None, metavar="MAP.toml", help="mapping file")
    p.add_argument("--keep-invalid", action="store_true", help="write the data folder even when it does not validate")
    p.add_argument("--suggest", action="store_true", help="draft a mapping file instead of importing")
    p.add_argument("--limit", type=int, default=50, help="errors to print (default 50)")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("codebook", help="print the codebook of the input tables as Markdown",
                       description="Print the codebook (columns, types, units, allowed values, meaning in "
                                   "English and Chinese) generated from evalkit's data model.")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    p.add_argument("--update", type=Path, metavar="README",
                   help="rewrite the generated codebook section of README (data/README.md) in place")
    p.set_defaults(func=_cmd_codebook)

    p = sub.add_parser("batch", help="render the county reports of a province (HTML, PDF, Word, overview, index)",
                       description="Validate the province, then render every county's report (or those chosen) "
                                   "as HTML, PDF and Word (--formats), the province overview and index.html into "
                                   "reports/<run>/, with manifest.json. Reports whose notebook, parameters, "
                                   "data and evalkit are unchanged are skipped. Exits 1 if any report failed. "
                                   "Same as evalkit.batch.run_batch().")
    p.add_argument("data_dir", metavar="DATA_DIR", type=Path, nargs="?", default=SAMPLE,
                   help="folder of the province's input tables (default: the sample province, data/sample)")
    _add_render_options(p)
    p.add_argument("--counties", nargs="+", metavar="CODE",
                   help="only these county codes (6 digits, as text; spaces or commas between them)")
    p.add_argument("--prefecture", metavar="CODE", help="only the counties of this prefecture (4-digit code)")
    p.add_argument("--jobs", type=int, default=None, help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask distributed cluster (e.g. tcp://10.0.0.5:8786) instead of locally; "
                        "workers need evalkit and Chromium only (docs/cluster.md)")
    p.add_argument("--worker-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="with --scheduler: give up after this long without any Dask worker (default 120)")
    p.add_argument("--no-overview", action="store_true", help="skip the province overview")
    p.add_argument("--provinces", nargs="+", metavar="NAME",
                   help="DATA_DIR holds one province folder per sub-folder: run only these (default: every one, "
                        "when DATA_DIR holds no tables of its own); each into its own sub-folder of the run, with a "
                        "national index")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("render", help="render one county's report",
                       description="Render one county's report (HTML and PDF) in a fresh kernel, exactly as the "
                                   "batch would; output in reports/<run>/.")
    p.add_argument("county", metavar="COUNTY", help="6-digit county code, e.g. 090102 (leading zeros are kept)")
    p.add_argument("--data", dest="data_dir", type=Path, default=SAMPLE, metavar="DATA_DIR",
                   help="folder of the province's input tables (default: the sample province, data/sample)")
    _add_render_options(p)
    p.set_defaults(func=_cmd_batch, jobs=1, no_overview=True)
    return parser


def _plain_cache_warnings() -> None:
    """Show a damaged cache entry's warning as its one line (it names the file), not with a source line."""
    import warnings

    from .fingerprint import CacheWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CacheWarning):
            print(message, file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from .execute import skip_unused_imports

    skip_unused_imports()
    argv = list(sys.argv[1:] if argv is None else argv)
    batch_args: list[str] = []
    if argv[:1] == ["audit"] and "--" in argv:  # options after -- go to every batch run of the audit
        argv, batch_args = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    args = build_parser().parse_args(argv)
    if batch_args:
        args.batch_args = batch_args
    if getattr(args, "seed", 0) is None:
        from .synth import DEFAULT_SEED

        args.seed = DEFAULT_SEED
    from .batch import BatchStopped

    _plain_cache_warnings()
    try:
        return args.func(args)
    except BatchStopped as err:  # SIGINT, SIGTERM or SIGHUP: everything stopped and cleaned up; one line
        print(err, file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:  # Ctrl-C outside a batch
        print("evalkit: interrupted.", file=sys.stderr)
        return 130
    except InputError as err:
        print(f"evalkit: {err.problem}", file=sys.stderr)
        return 1
    except DataValidationError as err:
        errors = [p for p in err.problems if p.severity == "error"]
        print(f"evalkit: the input data failed validation ({len(errors)} errors); nothing was rendered. "
              "Fix these and run again (evalkit validate DATA_DIR lists them all):", file=sys.stderr)
        for problem in errors[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (EvalkitError, ValueError, OSError) as err:
        print(f"evalkit: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
