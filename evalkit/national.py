"""Evaluate the whole country: a folder of province folders, batch-run province by province into one run.

One data folder is one province (:func:`evalkit.schema.one_province` refuses a folder holding more):
a country is a folder holding one province folder per sub-folder (``evalkit synth --size national``
writes one).  :func:`run_national` is what ``evalkit batch`` calls on such a folder (or with
``--provinces``):

1. **Tables, province by province.**  Each province's indicator table is built (or found in the
   cache) on its own, so that only one province's inputs are in memory at a time in each process:
   in parallel on the Dask cluster when a scheduler is given (each task gets the province's input
   files by value and sends the built table back, which the client writes into its cache), else in
   local worker processes (``jobs``), each building one province and exiting.
2. **Reports, province by province.**  :func:`evalkit.batch.run_batch` runs each province into its
   own sub-folder of the run (named as the province's data folder): its county reports, overview,
   manifest and index, exactly as a run of that province alone would make them.
3. **National index.**  ``index.html`` at the top of the run lists every county of every province,
   searchable by province, prefecture and county, with each county's grade, rank in its province
   and key figures, and links each province's own index; ``national.json`` records the provinces,
   their table times and their batch summaries.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from .batch import BatchError, check_run_name, run_batch
from .io import write_atomic

__all__ = ["NationalError", "build_tables", "is_national", "province_folders", "run_national"]


class NationalError(BatchError):
    """Raised when a folder of province folders cannot be run (no province in it, an unknown province)."""


def _has_tables(folder: Path) -> bool:
    return any(folder.glob("regions.*"))


def is_national(data_dir: str | Path) -> bool:
    """Whether ``data_dir`` is a folder of province folders: no tables of its own, a sub-folder with some."""
    data_dir = Path(data_dir)
    return (data_dir.is_dir() and not _has_tables(data_dir)
            and any(p.is_dir() and _has_tables(p) for p in data_dir.iterdir()))


def province_folders(data_dir: str | Path, provinces: Iterable[str] | None = None) -> list[Path]:
    """The province folders of ``data_dir`` (its sub-folders holding a regions table), in name order.

    ``provinces`` keeps only those named (by folder name, e.g. the 2-digit province code that
    ``evalkit synth --size national`` uses), in the order given; an unknown name is a :class:`NationalError`.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise NationalError(f"the data folder {data_dir} does not exist; nothing was rendered.")
    found = {p.name: p for p in sorted(data_dir.iterdir()) if p.is_dir() and _has_tables(p)}
    if not found:
        raise NationalError(f"{data_dir} holds no province folder (a sub-folder with regions, stations, services "
                            "and survey tables); nothing was rendered.")
    if not provinces:
        return list(found.values())
    wanted = list(dict.fromkeys(provinces))
    unknown = [p for p in wanted if p not in found]
    if unknown:
        raise NationalError(f"--provinces: no province folder {', '.join(map(repr, unknown))} in {data_dir} (its "
                            f"province folders: {', '.join(found)}); nothing was rendered.")
    return [found[p] for p in wanted]


# --------------------------------------------------------------------------- the tables, province by province


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _build_local(folder: str, cache_dir: str | None = None) -> dict[str, Any]:
    """Build (or find in the cache) one province's indicator table in this process; what it took."""
    from .results import indicator_table

    t0 = time.perf_counter()
    table, meta = indicator_table(folder, cache_dir)
    province = table.loc[table["level"] == "province"].iloc[0]
    return {"folder": folder, "province_code": str(province["code"]), "name_en": str(province["name_en"]),
            "name_zh": str(province["name_zh"]), "years": sorted(int(y) for y in table["year"].unique()),
            "rows": len(table), "seconds": round(time.perf_counter() - t0, 3), "peak_rss_mb": round(_peak_rss_mb(), 1)}


def build_remote(files: dict[str, bytes], unscrubbed: bool = False) -> dict[str, Any]:
    """On a Dask worker: build a province's indicator table from its input files' bytes.

    Nothing is read from or written to the client's folders: the files are written to a temporary
    folder of the worker, and the table comes back as the bytes of its cache file (``table``, with
    the cache file's name ``entry``), which the client checks and writes into its own cache.
    """
    import tempfile

    from .results import entry, indicator_table

    old = os.environ.get("EVALKIT_UNSAFE_NO_SCRUB")
    with tempfile.TemporaryDirectory(prefix="evalkit-table-") as tmp:
        folder, cache = Path(tmp) / "province", Path(tmp) / "cache"
        folder.mkdir()
        for name, data in files.items():
            (folder / Path(name).name).write_bytes(data)
        if unscrubbed:
            os.environ["EVALKIT_UNSAFE_NO_SCRUB"] = "1"
        else:
            os.environ.pop("EVALKIT_UNSAFE_NO_SCRUB", None)
        try:
            result = _build_local(str(folder), str(cache))
            from . import indicators

            hashes = indicators.input_hashes(folder)
            path = entry("indicators", [indicators.__name__],
                         [indicators.LAYOUT_VERSION, hashes, *(["unscrubbed"] if unscrubbed else [])], "parquet",
                         cache)
            result.update(entry=path.name, table=path.read_bytes())
        finally:
            if old is None:
                os.environ.pop("EVALKIT_UNSAFE_NO_SCRUB", None)
            else:
                os.environ["EVALKIT_UNSAFE_NO_SCRUB"] = old
    return result


def _cache_path(folder: Path) -> Path:
    from . import indicators
    from .results import entry

    unscrubbed = bool(os.environ.get("EVALKIT_UNSAFE_NO_SCRUB"))
    return entry("indicators", [indicators.__name__], [indicators.LAYOUT_VERSION, indicators.input_hashes(folder),
                                                      *(["unscrubbed"] if unscrubbed else [])], "parquet")


def _build_dask(folders: list[Path], scheduler: str, log: Callable[[str], None]) -> Iterable[dict[str, Any]]:
    from distributed import Client, as_completed

    unscrubbed = bool(os.environ.get("EVALKIT_UNSAFE_NO_SCRUB"))
    with Client(scheduler, timeout="30s") as client:
        width = max(1, sum(client.nthreads().values()))
        queue = list(folders)

        def submit(folder: Path):
            # the inputs travel by value, a few provinces at a time (a province's files are tens of MB)
            files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
            return client.submit(build_remote, files, unscrubbed, key=f"evalkit-table-{folder.name}-{time.time_ns()}",
                                 pure=False)

        futures: dict[str, Path] = {}
        pending = as_completed()

        def start(folder: Path) -> None:
            fut = submit(folder)
            futures[fut.key] = folder
            pending.add(fut)

        for folder in queue[:width]:
            start(folder)
        queue = queue[width:]
        for fut in pending:
            folder = futures.pop(fut.key)
            result = fut.result()
            fut.release()  # the table's bytes are not kept on the cluster
            if queue:
                start(queue.pop(0))
            path = _cache_path(folder)
            if result.pop("entry") != path.name:
                raise NationalError(f"the Dask worker that built the table of {folder} runs other evalkit code than "
                                    "this client (its cache entry differs): install the same evalkit on every "
                                    "worker.")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, result.pop("table"))
            result["folder"] = str(folder)
            yield result


def build_tables(folders: Iterable[str | Path], *, jobs: int | None = None, scheduler: str | None = None,
                 log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Build (or find in the cache) every province's indicator table, one province per process at a time.

    With ``scheduler`` each province is a task on the Dask cluster; else ``jobs`` local processes
    (default: one per core) each build one province and exit, so a process never holds more than
    one province.  Returns, per province in the order given: folder, province code and names,
    waves, rows, seconds and the peak memory of the process that built it (``peak_rss_mb``).
    """
    log = log or (lambda m: print(m, file=sys.stderr))
    folders = [Path(f).resolve() for f in folders]
    order = {str(f): i for i, f in enumerate(folders)}
    out: list[dict[str, Any]] = []
    if scheduler:
        results = _build_dask(folders, scheduler, log)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        workers = max(1, min(jobs or os.cpu_count() or 1, len(folders)))
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1)
        futures = [pool.submit(_build_local, str(f)) for f in folders]

        def local():
            try:
                for fut in as_completed(futures):
                    yield fut.result()
            finally:
                pool.shutdown(cancel_futures=True)

        results = local()
    for result in results:
        log(f"evalkit batch: table of {Path(result['folder']).name} ({result['province_code']}): "
            f"{result['rows']:,} rows in {result['seconds']:.1f} s")
        out.append(result)
    return sorted(out, key=lambda r: order[str(Path(r["folder"]).resolve())])


# --------------------------------------------------------------------------- the run


def run_national(data_dir: str | Path, *, provinces: Iterable[str] | None = None, jobs: int | None = None,
                 scheduler: str | None = None, progress: bool = True, log: Callable[[str], None] | None = None,
                 **options: Any) -> dict[str, Any]:
    """Run every province of a folder of province folders into one run folder, with a national index.

    ``options`` are those of :func:`evalkit.batch.run_batch` (``year``, ``lang``, ``out``, ``run``,
    ``force``, ``pdf``, ``timeout``, ``overview``, ``wait``; ``counties`` and ``prefecture`` go to the
    province whose code they begin with).  Returns the national record (``national.json``): per province
    its folder, code, names, table time and batch summary, and the ``summary`` of the whole run.
    """
    from .paths import REPORTS

    log = log or (lambda m: print(m, file=sys.stderr))
    data_dir = Path(data_dir).resolve()
    folders = province_folders(data_dir, provinces)
    lang = options.get("lang", "en")
    run = options.pop("run", None)
    if run is not None:
        check_run_name(run)
    out = options.pop("out", None)
    counties = options.pop("counties", None)
    prefecture = options.pop("prefecture", None)
    started = time.time()
    log(f"evalkit batch: {len(folders)} province(s) in {data_dir}: building their indicator tables "
        f"({'on the Dask cluster' if scheduler else 'locally'}).")
    t0 = time.perf_counter()
    tables = build_tables(folders, jobs=jobs, scheduler=scheduler, log=log)
    table_seconds = round(time.perf_counter() - t0, 1)
    codes = [t["province_code"] for t in tables]
    if len(set(codes)) < len(codes):
        twice = sorted({c for c in codes if codes.count(c) > 1})
        raise NationalError(f"province code(s) {', '.join(twice)} appear in more than one province folder of "
                            f"{data_dir}: each province has its own folder; nothing was rendered.")
    year = options.pop("year", None)
    if year is None:
        year = max(max(t["years"]) for t in tables)
    lacking = [Path(t["folder"]).name for t in tables if int(year) not in t["years"]]
    if lacking:
        raise NationalError(f"--year {year}: province folder(s) {', '.join(lacking)} have no data for {year}; "
                            "nothing was rendered.")
    run = run or check_run_name(f"{data_dir.name}-{year}-{lang}")
    run_dir = Path(out or REPORTS) / run
    record: dict[str, Any] = {"data_dir": str(data_dir), "year": int(year), "lang": lang, "provinces": [],
                              "table_seconds": table_seconds}
    entries: list = []
    columns: list = []
    links: list[tuple[str, str]] = []
    synthetic = False
    for info in tables:
        folder = Path(info["folder"])
        mine = [c for c in counties or [] if c.startswith(info["province_code"])]
        if (counties and not mine) or (prefecture and not prefecture.startswith(info["province_code"])):
            continue
        log(f"evalkit batch: province {folder.name} ({info['province_code']} {info[f'name_{lang}']}).")
        manifest = run_batch(folder, jobs=jobs, scheduler=scheduler, progress=progress, log=log, out=run_dir,
                             run=folder.name, year=int(year), counties=mine or None, prefecture=prefecture,
                             **options)
        province_entries, province_columns, name, n, overview = _province_index(folder, manifest, int(year), lang)
        entries += province_entries
        columns = columns or province_columns
        links.append((_t("national.province_link", lang, province=name, n=n), f"{folder.name}/index.html"))
        synthetic = synthetic or _synthetic(folder)
        record["provinces"].append({**{k: info[k] for k in ("province_code", "name_en", "name_zh", "rows",
                                                            "seconds", "peak_rss_mb")},
                                    "folder": folder.name, "summary": manifest["summary"],
                                    "overview": f"{folder.name}/{overview}" if overview else None})
    summaries = [p["summary"] for p in record["provinces"]]
    record["summary"] = {k: sum(s[k] for s in summaries) for k in ("reports", "rendered", "skipped", "failed")}
    record["summary"]["failed_keys"] = sorted(f"{p['folder']}/{k}" for p in record["provinces"]
                                              for k in p["summary"]["failed_keys"])
    record["summary"]["seconds"] = round(time.time() - started, 1)
    record["run"] = run
    from .render import index_html

    html = index_html(entries, columns, lang=lang, title=_t("national.title", lang),
                      subtitle=_t("national.subtitle", lang, n=len(entries), provinces=len(record["provinces"]),
                                  year=year),
                      synthetic=synthetic, links=links)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "national.json", json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True))
    write_atomic(run_dir / "index.html", html)
    return record


def _t(key: str, lang: str, **values: Any) -> str:
    from .report.i18n import t

    return t(key, lang, **values)


def _synthetic(folder: Path) -> bool:
    from .schema import read_meta

    return bool(read_meta(folder).get("synthetic"))


def _province_index(folder: Path, manifest: dict[str, Any], year: int, lang: str):
    """One province's rows of the national index (its own index page's rows, links into its sub-folder)."""
    from .report.index import IndexColumn
    from .report.overview import index_page
    from .results import province_data

    data = province_data(folder)
    keys = list(data.counties()["county_code"])
    page = index_page(data, manifest, year=year, lang=lang, keys=keys, run_dir=folder)
    name = data.province_name(lang)

    def inside(href: str | None) -> str | None:
        return f"{folder.name}/{href}" if href else None

    entries = [replace(e, html=inside(e.html), pdf=inside(e.pdf), docx=inside(e.docx), province=name)
               for e in page["entries"]]
    columns = [IndexColumn(c.key, _t("national.rank", lang)) if c.key == "rank" else c for c in page["columns"]]
    return entries, columns, name, len(keys), page["overview_href"]
