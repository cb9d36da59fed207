"""The results layer: everything a report, the batch and the notebooks read, built once and cached.

One module builds, caches and serves the values that are made from a province's inputs: the
validated tables (:func:`province`), the indicator table with the scrubbed survey comments in its
metadata (:func:`indicator_table`, :func:`province_data`), the framework's scores and the
small-area estimates (:meth:`ProvinceData.scores`, :meth:`ProvinceData.small_area`), the privacy
scanner (:func:`scanner_path`, :func:`load_scanner`), and what a rendered report depends on (its
fingerprint, :func:`report_fingerprints`).  Nothing else in evalkit keeps a data-dependent value in
module-level memory (a test checks it).

One key recipe names every cache entry (:func:`entry`): :func:`evalkit.fingerprint.key` of the
modules that build the value (their code hash: their source and everything they import) and its
inputs (the input files' SHA-256, options).  A change to the scrub thus gives the indicator table,
what is computed from it and every report a new key; a change to the small-area model, the
small-area estimates only.  Each value is built once per process per inputs: in memory here, on
disk in the cache folder (:func:`evalkit.paths.cache_dir`).  A damaged entry is named, discarded
and built again; ``--force`` builds each entry again once (:func:`evalkit.fingerprint.force_rebuild`).

This layer may import io, schema, measures, indicators, framework and privacy; the report layer,
render, batch and the command line import it, never the reverse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import pandas as pd

from . import fingerprint

if TYPE_CHECKING:
    import datetime

    import nbformat

    from .privacy import Scanner
    from .schema import Province

__all__ = ["ProvinceData", "province_data", "province", "indicator_table", "scanner_path", "load_scanner", "entry",
           "cached_entries",
           "notebook", "report_code_hash", "data_hashes", "report_fingerprints", "forget", "REPORT_CODE"]

#: The modules that turn a province's results into a report: the notebooks' imports (the report package), the
#: export to HTML and PDF, the execution in a kernel and this layer.  With the package's data files (catalogues,
#: theme, fonts, framework and table definitions) they are the code part of a report's fingerprint.
REPORT_CODE = ("evalkit", "evalkit.report", "evalkit.report.county", "evalkit.report.overview", "evalkit.render",
               "evalkit.batch", __name__)

# what this process has built or read, per inputs: the only module-level memory of results in evalkit
_PROVINCES: dict[tuple[str, str], "ProvinceData"] = {}  # one province at a time
_SCANNERS: dict[str, "Scanner"] = {}  # the last scanner loaded, by its cache file
_NOTEBOOKS: dict[str, tuple[bytes, "nbformat.NotebookNode"]] = {}  # each notebook read, with the bytes it was read from


def forget() -> None:
    """Drop what this process keeps in memory (the province's tables, the scanner, the notebooks read): the next
    lookup reads the cache or builds again."""
    _PROVINCES.clear()
    _SCANNERS.clear()
    _NOTEBOOKS.clear()


# --------------------------------------------------------------------------- the one key recipe


def entry(kind: str, builders: Iterable[str], inputs: list, suffix: str, cache_dir: str | Path | None = None) -> Path:
    """The cache file of a value of ``kind`` built by the modules ``builders`` from ``inputs`` (JSON-able).

    Named by :func:`evalkit.fingerprint.key`: evalkit's version, the code hash of ``builders`` (their source
    and every evalkit module they import) and ``inputs``; in :func:`evalkit.paths.cache_dir` (``cache_dir``,
    else ``EVALKIT_CACHE``, else ``reports/.cache``).
    """
    from .paths import cache_dir as cache_folder

    return cache_folder(cache_dir) / f"{kind}-{fingerprint.key(list(builders), *inputs)[:20]}.{suffix}"


_MISSING = object()


def _read(path: Path, load: Callable[[Path], Any]) -> Any:
    """``load(path)`` if the entry may be served (:func:`evalkit.fingerprint.fresh`), else ``_MISSING``; a damaged
    entry is named in a warning, discarded and reported missing."""
    if fingerprint.fresh(path):
        try:
            return load(path)
        except Exception as err:  # noqa: BLE001 - a damaged entry (truncated file) is named and built again
            fingerprint.discard(path, err)
    return _MISSING


def _pickled(path: Path) -> Any:
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)  # noqa: S301 - evalkit's own cache file


# --------------------------------------------------------------------------- validated tables, indicator table


def province(data_dir: str | Path, cache_dir: str | Path | None = None, *, cached: bool = False,
             today: datetime.date | None = None) -> "Province":
    """The validated input tables of ``data_dir`` (:func:`evalkit.schema.load_province`).

    Not kept in memory: they are read to build the indicator table (what every report reads instead), and
    a province's ledger is too large to hold in every kernel.  Raises :class:`evalkit.DataValidationError`.

    With ``cached`` (what :func:`evalkit.load_province` asks for: a researcher's kernel), the validated
    tables are also kept on disk, so that the next process reads them in a fraction of a second instead of
    validating again (7-15 s).  The entry (:func:`entry`) is named by the SHA-256 of every input file
    (:func:`evalkit.indicators.input_hashes`), the code hash of :mod:`evalkit.schema` (its source and what it
    imports: ``io.py``, ``personal.py``, ``errors.py`` ..., and the ``tables.toml`` and ``codes.toml`` it
    names), pandas' and pyarrow's versions, the folder and ``today`` when one is given: a changed input byte
    or validation rule validates again.  Only data that passed validation is kept, with its warnings.  The
    one rule that depends on the day (no date in the future) cannot fail later on data that passed it, so
    the day is not part of the key unless ``today`` is given.  A damaged entry is named in a
    :class:`evalkit.fingerprint.CacheWarning`, discarded and built again; a folder the disk refuses to write
    to only costs the next process the validation.  One entry per folder is kept: writing a new one removes
    the folder's older entries (each holds the whole ledger).
    """
    from .schema import load_province

    if not cached:
        return load_province(data_dir, today=today)
    import pyarrow

    from .errors import InputError
    from .indicators import input_hashes
    from .io import atomic_path
    from .schema import Province

    folder = Path(data_dir).resolve()
    try:
        hashes = input_hashes(folder)
    except (InputError, OSError):  # a missing or ambiguous table: validation says what is wrong
        return load_province(data_dir, today=today)
    kind = f"province-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"
    path = entry(kind, ["evalkit.schema"], ["province-1", str(folder), hashes, today.isoformat() if today else None,
                                            pd.__version__, pyarrow.__version__], "arrow", cache_dir)
    found = _read(path, _read_tables)
    if found is not _MISSING and found["inputs"] == hashes:
        return Province(**found["tables"], meta=found["meta"], warnings=found["warnings"],
                        sources={name: Path(data_dir) / file for name, file in found["sources"].items()})
    loaded = load_province(data_dir, today=today)
    try:
        with atomic_path(path) as tmp:
            _write_tables(tmp, loaded.tables(), {"inputs": hashes, "meta": loaded.meta, "warnings": loaded.warnings,
                                                 "sources": {n: Path(p).name for n, p in loaded.sources.items()}})
        for old in path.parent.glob(f"{kind}-*.{path.suffix[1:]}"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:  # a read-only or full cache folder only costs the next process the validation
        pass
    return loaded


# the validated tables on disk: each table's Arrow IPC file, one after the other (64-byte aligned, so that they
# are read in place from a memory map, without a copy), then the rest (pickled, with where each table is), its
# length and a magic number
_TABLES_MAGIC = b"EVKTBL01"


def _write_tables(path: Path, tables: dict[str, pd.DataFrame], rest: dict[str, Any]) -> None:
    import pickle

    import pyarrow as pa

    where = {}
    with open(path, "wb") as fh:
        for name, frame in tables.items():
            fh.write(b"\0" * (-fh.tell() % 64))
            start = fh.tell()
            arrow = pa.Table.from_pandas(frame)
            with pa.ipc.new_file(fh, arrow.schema) as writer:
                writer.write_table(arrow)
            where[name] = (start, fh.tell() - start)
        tail = pickle.dumps({**rest, "tables": where}, protocol=pickle.HIGHEST_PROTOCOL)
        fh.write(tail + len(tail).to_bytes(8, "little") + _TABLES_MAGIC)


def _read_tables(path: Path) -> dict[str, Any]:
    """What :func:`_write_tables` wrote; the frames' text stays in the memory-mapped file (an atomic replace or
    removal of the file leaves a mapped copy intact)."""
    import pickle

    import pyarrow as pa

    whole = pa.memory_map(str(path)).read_buffer()
    if whole.size < 16 or whole[-8:].to_pybytes() != _TABLES_MAGIC:
        raise ValueError("not a complete table file (no end marker)")
    size = int.from_bytes(whole[-16:-8].to_pybytes(), "little")
    rest = pickle.loads(whole[len(whole) - 16 - size:len(whole) - 16].to_pybytes())  # noqa: S301 - evalkit's own
    rest["tables"] = {name: pa.ipc.open_file(whole.slice(start, length)).read_all().to_pandas()
                      for name, (start, length) in rest["tables"].items()}
    return rest


def indicator_table(data_dir: str | Path, cache_dir: str | Path | None = None, *, build: bool = True,
                    hashes: dict[str, str] | None = None, categories: bool = False, cached_inputs: bool = False
                    ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The indicator table of ``data_dir``: read from the cache when its inputs are unchanged, else built.

    The cache file is named by the inputs' SHA-256 (:func:`evalkit.indicators.input_hashes`), the layout
    version and the code of :mod:`evalkit.indicators` (the scrub and the measures it calls included), so a
    changed input file, even with an old time stamp, or changed code is never served a stale table.
    Building validates the inputs first (:func:`province`), so a table, and hence a report, never comes
    from data that failed validation; the validation warnings travel in the metadata (``warnings``: file,
    row, column, rule, message; never the value, which could be personal data), and so do the scrubbed
    survey comments a report may show (``comments``, ``comments_withheld``, ``comments_reviewed``).

    Parameters
    ----------
    data_dir : path
        The province's input folder.
    cache_dir : path, optional
        Where cached tables live; default ``reports/.cache`` of the project (``EVALKIT_CACHE``).
    build : bool
        When false, only a cached table is returned: :class:`LookupError` if there is none.
    hashes : dict, optional
        The inputs' hashes when the caller has them already (:func:`evalkit.indicators.input_hashes`).
    categories : bool
        Codes and names as categoricals (:func:`evalkit.indicators.read_indicator_table`).
    cached_inputs : bool
        Validate the inputs through the validated tables kept on disk (:func:`province` with ``cached``): what
        a researcher's kernel asks for, having loaded them already.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table and its metadata (see :func:`evalkit.indicators.write_indicator_table`).
    """
    import os

    from . import indicators
    from .paths import cache_dir as cache_folder

    hashes = hashes or indicators.input_hashes(data_dir)
    path = _table_entry(hashes, cache_dir)
    found = _read(path, lambda at: indicators.read_indicator_table(at, categories=categories))
    if found is not _MISSING and found[1].get("inputs") == hashes:
        return found
    if not build:
        raise LookupError(f"no cached indicator table for {data_dir} in {cache_folder(cache_dir)}")
    inputs = province(data_dir, cache_dir, cached=cached_inputs)
    table = indicators.indicator_table(inputs)
    fingerprint.write(path, lambda at: indicators.write_indicator_table(table, at, inputs))
    return indicators.read_indicator_table(path, categories=categories)


def _table_entry(hashes: dict[str, str], cache_dir: str | Path | None = None) -> Path:
    """The cache file of the indicator table of inputs with these ``hashes``."""
    import os

    from . import indicators

    # comments are scrubbed when the table is built: a table built with scrubbing off (the privacy audit's
    # negative control) is never served to a run with it on, nor the other way round
    unscrubbed = bool(os.environ.get("EVALKIT_UNSAFE_NO_SCRUB"))
    return entry("indicators", [indicators.__name__],
                 [indicators.LAYOUT_VERSION, hashes, *(["unscrubbed"] if unscrubbed else [])], "parquet", cache_dir)


def _shipped_inputs(data_dir: Path) -> dict[str, str] | None:
    """The input hashes a Dask client sent for ``data_dir`` (``EVALKIT_SHIPPED_INPUTS``, set by
    :func:`evalkit.execute.render_remote` for its kernels): the folder is the client's, absent here, and its
    indicator table was sent into this worker's cache."""
    import json
    import os

    shipped = os.environ.get("EVALKIT_SHIPPED_INPUTS")
    return json.loads(shipped).get(str(data_dir)) if shipped else None


def cached_entries(data: "ProvinceData", year: int) -> list[Path]:
    """The cache files a report of ``year`` reads: the indicator table, the framework's scores, the small-area
    estimates, and the evaluators' inspections and findings (built by :meth:`ProvinceData.prepare` if need be).

    What a Dask client sends its workers, which see neither its data folder nor its cache."""
    paths = [_table_entry(data.meta.get("inputs") or {}, data.cache_dir)]
    if not paths[0].is_file():  # read from memory, but not in this cache folder (EVALKIT_CACHE changed): written
        indicator_table(data.data_dir, data.cache_dir, hashes=data.meta.get("inputs"))
    data.prepare(year)
    paths += [_disk_entry(data, *_scores_name(year)), _disk_entry(data, *_small_area_name(year)),
              _disk_entry(data, *_INSPECTIONS_NAME), _disk_entry(data, *_FINDINGS_NAME)]
    return [p for p in paths if p.is_file()]


# --------------------------------------------------------------------------- the privacy scanner


def scanner_path(data_dir: str | Path, cache_dir: str | Path | None = None, *,
                 hashes: dict[str, str] | None = None) -> Path:
    """The path of a pickled :func:`evalkit.privacy.scanner_for` ``data_dir``, built once per set of inputs.

    Reading millions of person ids takes seconds; every batch and worker process would pay it.  The
    file is named, like every entry, by the inputs' SHA-256 (the roster included) and the code of
    :mod:`evalkit.privacy` and of :func:`evalkit.indicators.input_hashes`, and is written atomically (``hashes``: the inputs' hashes when the caller has
    them, :func:`evalkit.indicators.input_hashes`).  Load it with :func:`load_scanner`.
    """
    import pickle

    from . import privacy
    from .indicators import input_hashes
    from .io import write_atomic

    # built by the privacy module from the inputs named by their hashes (made by evalkit.indicators.input_hashes)
    path = entry("scanner", [privacy.__name__, "evalkit.indicators"], ["scanner-2", hashes or input_hashes(data_dir)],
                 "pickle", cache_dir)
    if _read(path, load_scanner) is not _MISSING:
        return path
    _SCANNERS.clear()
    scanner = pickle.dumps(privacy.scanner_for(data_dir), protocol=pickle.HIGHEST_PROTOCOL)
    fingerprint.write(path, lambda at: write_atomic(at, scanner))
    return path


def load_scanner(path: str | Path) -> "Scanner":
    """The scanner pickled at ``path`` by :func:`scanner_path` (kept in memory per process)."""
    key = str(path)
    scanner = _SCANNERS.get(key)
    if scanner is None:  # a Dask worker's threads may load scanners at once: each returns its own
        scanner = _pickled(Path(path))
        _SCANNERS.clear()
        _SCANNERS[key] = scanner
    return scanner


# --------------------------------------------------------------------------- what a report depends on


def notebook(path: str | Path) -> "nbformat.NotebookNode":
    """The notebook at ``path``, read, validated and upgraded as papermill's loader does, once per content
    of the file (not to be changed: the caller copies it before injecting parameters)."""
    import nbformat

    path = str(path)
    raw = Path(path).read_bytes()
    if path not in _NOTEBOOKS or _NOTEBOOKS[path][0] != raw:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        _NOTEBOOKS[path] = (raw, nbformat.v4.upgrade(nb) or nb)
    return _NOTEBOOKS[path][1]


def report_code_hash() -> str:
    """SHA-256 of the code that makes a report from the results: :func:`evalkit.fingerprint.code_hash` of
    :data:`REPORT_CODE` and every data file of the package (catalogues, theme, fonts, ``*.toml``).

    A change to the scrub, a measure, the report code or a catalogue changes it; a change to code no report
    runs (the sample generator, the privacy audit, the command line) does not.
    """
    return hashlib.sha256((fingerprint.code_hash(*REPORT_CODE) + _package_files()).encode()).hexdigest()


def _package_files() -> str:
    """SHA-256 of the package's files other than Python source: what the report code reads by a built path."""
    root = Path(fingerprint.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".py", ".pyc"):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def data_hashes(table, year: int, counties: Iterable[str] | None = None) -> tuple[dict[str, str], str]:
    """Per county, the SHA-256 of its own rows (county and townships); and one hash of the shared context.

    The context is what every report draws besides its own county: the prefecture and province
    rows and every county's county-level rows of the year (funnel plot, ranks).  ``counties``
    limits the per-county hashes to those counties (the others are not hashed at all).
    """
    import numpy as np

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    level = table["level"]
    own = level.isin(["county", "township"]).to_numpy().copy()
    if counties is not None:
        own &= table["county_code"].isin(list(counties)).to_numpy()
    context = (level.isin(["prefecture", "province"]).to_numpy()
               | ((level == "county").to_numpy() & (table["year"] == year).to_numpy()))
    mine = table.loc[own]
    rows = pd.util.hash_pandas_object(mine, index=False).to_numpy()
    county = mine["county_code"].astype(str).to_numpy()
    order = np.argsort(county, kind="stable")
    codes, starts = np.unique(county[order], return_index=True)
    hashes = rows[order]
    bounds = list(starts[1:]) + [len(order)]
    per = {str(c): sha(hashes[s:e].tobytes()) for c, s, e in zip(codes, starts, bounds)}
    shared = pd.util.hash_pandas_object(table.loc[context], index=False).to_numpy()
    return per, sha(shared.tobytes())


def report_fingerprints(data: "ProvinceData", notebook: str | Path, parameters: list[dict[str, Any]], *,
                        scanned: bool) -> list[str]:
    """What each report depends on, as one hex SHA-256 per entry of ``parameters``: the key
    (:func:`evalkit.fingerprint.key`, as for every cache entry) of :data:`REPORT_CODE` and of the report's
    inputs: the package's data files (catalogues, theme, fonts), the notebook's SHA-256, its parameters (the data
    folder's path left out: its content is in the hashes, and a moved folder is the same data), the rows of
    the indicator table it shows and whether its outputs are scanned for personal data.

    A report with a ``county_code`` shows its county's and townships' rows, the context every report draws
    (prefecture, province and county-level rows of its ``year``), its county's scrubbed comments of the year,
    the comments withheld (counted by reason) and whether a reviewed list applied; one without (the overview)
    shows the context only.  :func:`evalkit.batch.plan` renders a report again when its fingerprint changed.
    """
    nb_hash = fingerprint.sha256_file(Path(notebook))
    files = _package_files()
    counties = [v["county_code"] for v in parameters if "county_code" in v]
    hashed: dict[int, tuple[dict[str, str], str]] = {}
    said: dict[tuple[int, str], list] = {}
    for c in data.meta.get("comments", []):  # the comments a report shows live beside the table, scrubbed
        said.setdefault((c["year"], c["county_code"]), []).append(c["text"])
    for w in data.meta.get("comments_withheld", []):
        said.setdefault((w["year"], w["county_code"]), []).append(["withheld", w["withheld"], w["reasons"]])
    reviewed = ["reviewed"] if data.meta.get("comments_reviewed") else []
    out = []
    for values in parameters:
        year = int(values["year"])
        if year not in hashed:
            hashed[year] = data_hashes(data.table, year, counties)
        own, context = hashed[year]
        shown = {k: v for k, v in values.items() if k != "data_dir"}
        if "county_code" in values:
            county = values["county_code"]
            depends = [own.get(county), context, said.get((year, county), []), scanned, *reviewed]
        else:
            depends = [context, scanned]
        out.append(fingerprint.key(REPORT_CODE, "report-1", files, nb_hash, shown, *depends))
    return out


# --------------------------------------------------------------------------- the province's results, in memory


@dataclass(frozen=True)
class ProvinceData:
    """The indicator table of one province and its metadata (inputs' hashes, warnings, dataset)."""

    table: pd.DataFrame
    meta: dict[str, Any]
    data_dir: Path
    cache_dir: Path | None = None
    _parts: dict = field(default_factory=dict, repr=False, compare=False)

    def parts(self, confidence: float) -> "_Parts":
        """The rows at one confidence level, indexed once per process so that each report only looks up:
        ``("unit", level, code)``, ``("townships", county_code)`` and ``("level_year", level, year)``."""
        if confidence not in self._parts:
            self._parts[confidence] = _Parts(self.table[self.table["confidence"] == confidence])
        return self._parts[confidence]

    def shared(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, made once per process for ``key``: what the reports of many counties draw alike (every
        county's figures of a year, the province's rows) is derived by the first report and looked up by the
        others.  Shared, so read-only: a report that changes it copies it first."""
        key = ("shared", *key)
        if key not in self._parts:
            self._parts[key] = compute()
        return self._parts[key]

    def scores(self, year: int):
        """The framework's composite scores, grades and ranks of every county in ``year``
        (:func:`evalkit.framework.score_counties` with the shipped framework, its default draws and seed).

        Kept in memory, and on disk beside the cached indicator table, named by the inputs' hashes,
        the framework file's and the scoring code's SHA-256, the draws, the seed and the year: the
        simulation runs once per set of inputs, not once per kernel.
        """
        key = ("scores", int(year))
        if key not in self._parts:
            from . import framework as fw

            framework = fw.load_framework()
            self._parts[key] = _on_disk(self, *_scores_name(year),
                                        lambda: fw.score_counties(self.table, framework, year=int(year),
                                                                  inspections=self.inspections()))
        return self._parts[key]

    def prepare(self, year: int) -> None:
        """Build (or read) every cache entry a report of ``year`` reads besides the indicator table: the scores,
        the small-area estimates, the inspections and the findings.  A batch calls it before its reports are
        made (with ``--force`` they are built again here, once; a Dask client sends them to its workers)."""
        self.scores(year)
        self.small_area(year)
        self.inspections()
        self._findings()

    def findings(self, county_code: str, lang: str):
        """The evaluators' written findings of a county in a language (:class:`evalkit.findings.Findings`), or
        ``None`` when the folder has no ``findings/<county>.<lang>.md``.  The files were checked with the inputs
        (:func:`evalkit.schema.validate_province`; their hashes are among the inputs')."""
        return self._findings().get((str(county_code), lang))

    def _findings(self) -> dict:
        """Every county's findings in every language, (county, lang) -> Findings, read once."""
        key = ("findings",)
        if key not in self._parts:
            from .findings import load_findings

            def read() -> dict:
                counties = self.table.loc[self.table["level"] == "county", "code"].astype(str).unique()
                return load_findings(self._folder("findings"), counties)

            self._parts[key] = _on_disk(self, *_FINDINGS_NAME, read)
        return self._parts[key]

    def inspection_scores(self, year: int) -> pd.DataFrame | None:
        """Every inspected station's mean score per rubric item in ``year`` (:func:`evalkit.figuredata.
        inspection_scores`), or ``None`` without an inspections table or a rubric."""
        key = ("inspection_scores", int(year))
        if key not in self._parts:
            from . import framework as fw
            from .figuredata import inspection_scores

            table, framework = self.inspections(), fw.load_framework()
            self._parts[key] = (None if table is None or not framework.rubric
                                else inspection_scores(table, framework.rubric, int(year)))
        return self._parts[key]

    def inspections(self) -> pd.DataFrame | None:
        """The evaluators' inspection scores of the folder (the optional ``inspections`` table), or ``None``."""
        key = ("inspections",)
        if key not in self._parts:
            from .schema import load_inspections

            self._parts[key] = _on_disk(self, *_INSPECTIONS_NAME, lambda: load_inspections(self._folder("inspections")))
        return self._parts[key]

    def _folder(self, what: str) -> Path:
        """The data folder, to read ``what`` from; an error on a Dask worker, which never sees the client's folder
        (everything a report reads from it is sent in the cache entries of :func:`cached_entries`)."""
        if _shipped_inputs(Path(self.data_dir)) is not None and not Path(self.data_dir).is_dir():
            from .errors import EvalkitError

            raise EvalkitError(f"{what} of {self.data_dir} was not sent to this Dask worker with the cache entries "
                               "(evalkit.results.cached_entries): a bug; report it.")
        return Path(self.data_dir)

    def small_area(self, year: int) -> pd.DataFrame:
        """Model-based (empirical Bayes) overall satisfaction of every township in ``year``, shrunk toward its
        prefecture (:func:`evalkit.measures.smallarea.shrink_indicator`): kept in memory, and on disk beside
        the cached indicator table as :meth:`scores` are, so that each kernel does not fit the model again."""
        key = ("small_area", int(year))
        if key not in self._parts and "survey" in self.gaps(year):
            # no survey wave this year: nothing to model (an empty frame of the model's columns, not an error)
            self._parts[key] = pd.DataFrame({c: pd.Series(dtype=object) for c in (
                "level", "code", "county_code", "township_code", "year", "value", "lower", "upper", "suppressed")})
        if key not in self._parts:
            def fit() -> pd.DataFrame:
                from .measures.smallarea import shrink_indicator  # scipy.stats: seconds to import

                return shrink_indicator(self.table, level="township", toward="prefecture", year=int(year))

            self._parts[key] = _on_disk(self, *_small_area_name(year), fit)
        return self._parts[key]

    def trend_changes(self, confidence: float, years: list[int], headline: frozenset) -> dict[tuple[str, str], dict]:
        """The change of every county's ``headline`` (indicator, item) pairs from its first wave in ``years`` to its
        last, by (county code, indicator) (:func:`evalkit.measures.trend.change_between_waves`): one vectorised
        call for all counties (each county's change uses its own rows only, so it is the same as a call per
        county).  What the trends section of every county's report shows."""
        import numpy as np

        from .measures.trend import change_between_waves, se_from_interval

        parts = self.parts(confidence)
        frames = [parts[("level_year", "county", y)] for y in years if ("level_year", "county", y) in parts]
        if len(years) < 2 or not frames:
            return {}
        c = pd.concat(frames)
        pairs = [pair in headline for pair in zip(c["indicator"].tolist(), c["item"].tolist())]
        c = c[(c["group"] == "all").to_numpy() & np.array(pairs, dtype=bool)]
        series = c[["code", "indicator", "year", "value", "se", "lower", "upper", "confidence"]]
        series = series.dropna(subset=["value"])
        if series.empty:
            return {}
        # Wilson and Poisson intervals carry no se: take it from the interval
        series["se"] = series["se"].fillna(se_from_interval(series["lower"], series["upper"], series["confidence"]))
        series = series.astype({"code": str, "indicator": str})
        changes = change_between_waves(series, by=["code", "indicator"], against=("first",), confidence=confidence)
        return {(r["code"], r["indicator"]): r for r in changes.to_dict("records")}

    def funnel(self, confidence: float, year: int, province: dict | None
               ) -> tuple[pd.DataFrame, pd.DataFrame, float] | None:
        """Every county's overall satisfaction in ``year`` with its effective sample size, the funnel's limits
        around the province's (``province``: its row of ``satisfaction_rate``, ``q_overall``) and the province's
        value; ``None`` when either is missing (:func:`evalkit.figuredata.funnel_data`, which
        :func:`evalkit.plot.funnel` draws too)."""
        from .figuredata import funnel_data

        c = self.parts(confidence)[("level_year", "county", int(year))]
        if province is None:
            return None
        data = funnel_data(c, "satisfaction_rate", item="q_overall", target=float(province["value"]))
        if data is None:
            return None
        return data.points[["code", "x", "value"]], data.limits, data.target

    def gaps(self, year: int) -> dict[str, int | None]:
        """The input tables (``survey``, ``services``, ``stations``) with no row for ``year``, each with the latest
        earlier year it has rows for (``None`` when none): what a report of ``year`` says is missing.  From the
        table's metadata (``table_years``); empty for a table cached without it."""
        from .indicators import missing_years

        years = self.meta.get("table_years") or {}
        out: dict[str, int | None] = {}
        for name, absent in missing_years(years).items():
            if int(year) in absent:
                earlier = [y for y in years[name] if y < int(year)]
                out[name] = max(earlier) if earlier else None
        return out

    def county_gaps(self, year: int, county_code: str) -> dict[str, int | None]:
        """The input tables (``survey``, ``services``) that have rows for ``year`` but none of this county (its
        questionnaires or ledger not delivered yet), each with the latest earlier year it has the county's rows
        for (``None`` when none).  From the table's metadata (``county_gaps``, ``table_years``)."""
        years = self.meta.get("table_years") or {}
        out: dict[str, int | None] = {}
        for name, counties in (self.meta.get("county_gaps") or {}).items():
            lacking = set(counties.get(county_code, []))
            if int(year) in lacking:
                earlier = [y for y in years.get(name, []) if y < int(year) and y not in lacking]
                out[name] = max(earlier) if earlier else None
        return out

    @property
    def years(self) -> list[int]:
        """The waves in the table (looked up once: each report checks its year against them)."""
        return list(self.shared(("years",), lambda: sorted(int(y) for y in self.table["year"].unique())))

    @property
    def confidence_levels(self) -> list[float]:
        """The confidence levels of the table's intervals, as fractions."""
        return list(self.shared(("confidence_levels",),
                                lambda: sorted(float(c) for c in self.table["confidence"].unique())))

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    def counties(self) -> pd.DataFrame:
        """One row per county: codes and names, sorted by code (found once per process; a copy)."""
        def find() -> pd.DataFrame:
            rows = self.table.loc[self.table["level"] == "county",
                                  ["county_code", "prefecture_code", "name_en", "name_zh"]]
            return rows.drop_duplicates("county_code").sort_values("county_code").reset_index(drop=True)

        return self.shared(("counties",), find).copy()

    def province_name(self, lang: str) -> str:
        """The province's name in ``lang``."""
        row = self.table.loc[self.table["level"] == "province"].iloc[0]
        return str(row[f"name_{lang}"])

    def unit_names(self, level: str) -> pd.DataFrame:
        """Codes and names of every unit of one level."""
        rows = self.table.loc[self.table["level"] == level, ["code", "name_en", "name_zh"]]
        return rows.drop_duplicates("code").set_index("code")

    def select(self, **where: Any) -> pd.DataFrame:
        """Rows where every column equals the given value (a list or tuple: any of its values); a copy."""
        mask = pd.Series(True, index=self.table.index)
        for column, value in where.items():
            col = self.table[column]
            mask &= col.isin(value) if isinstance(value, (list, tuple, set)) else col == value
        return self.table.loc[mask].copy()


def _on_disk(data: "ProvinceData", kind: str, module: str, key: list, compute):
    """``compute()``, or its result pickled by an earlier process: the cache entry (:func:`entry`) of ``kind``
    built by the module named ``module`` and :mod:`evalkit.indicators` (the value is computed from the indicator
    table: the code that built the table feeds it too), from the inputs' hashes, the table's layout and ``key``."""
    import pickle

    from .io import write_atomic

    path = _disk_entry(data, kind, module, key)
    result = _read(path, _pickled)
    if result is not _MISSING:
        return result
    result = compute()
    try:
        write_atomic(path, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only cache folder only costs the next process the computation
        pass
    return result


def _disk_entry(data: "ProvinceData", kind: str, module: str, key: list) -> Path:
    """The cache file of :func:`_on_disk`."""
    return entry(kind, [module, "evalkit.indicators"], [data.meta.get("inputs"), data.meta.get("layout_version"), *key],
                 "pickle", data.cache_dir)


def _scores_name(year: int) -> tuple[str, str, list]:
    """What names the framework's scores of ``year`` on disk: kind, building module, key."""
    from . import framework as fw

    return "scores", fw.__name__, [fw.load_framework().sha256, fw.DEFAULT_DRAWS, fw.DEFAULT_SEED, int(year)]


#: What names the evaluators' inspections and findings on disk (kind, reading module, key): read from the data
#: folder, whose hashes (the inspections table's and the findings folder's among them) name the entries.
_INSPECTIONS_NAME = ("inspections", "evalkit.schema", [])
_FINDINGS_NAME = ("findings", "evalkit.findings", [])


def _small_area_name(year: int) -> tuple[str, str, list]:
    """What names the small-area estimates of ``year`` on disk: kind, building module, key."""
    return "small-area", "evalkit.measures.smallarea", [int(year)]


class _Parts:
    """Row positions of each unit, county's townships and level-year, found once; frames taken on demand.

    Taking a few hundred rows by position is cheap; splitting the whole table into thousands of
    frames up front (what a report does not need) is not.
    """

    def __init__(self, at: pd.DataFrame) -> None:
        self._at = at
        towns = (at["level"] == "township").to_numpy()
        self._index: dict[tuple, Any] = {}
        for family, columns, rows in (("unit", ["level", "code"], None), ("townships", ["county_code"], towns),
                                      ("level_year", ["level", "year"], None)):
            frame = at if rows is None else at.loc[rows]
            offset = None if rows is None else rows.nonzero()[0]
            for key, positions in frame.groupby(columns, observed=True, sort=False).indices.items():
                key = key if isinstance(key, tuple) else (key,)
                if family == "level_year":
                    key = (key[0], int(key[1]))
                self._index[(family, *key)] = positions if offset is None else offset[positions]

    def __getitem__(self, key: tuple) -> pd.DataFrame:
        return self._at.take(self._index[key])

    def get(self, key: tuple, default: Any = None) -> Any:
        return self[key] if key in self._index else default

    def __contains__(self, key: object) -> bool:
        return key in self._index


def province_data(data_dir: str | Path, cache_dir: str | Path | None = None, *, build: bool = True
                  ) -> ProvinceData:
    """The indicator table of the province in ``data_dir``, from memory, the cache or built anew.

    A report never reads the input files itself: it reads this (:func:`indicator_table`: validated
    inputs, cached on disk), kept in memory keyed by the inputs' hashes, so a kernel that renders many
    reports reads it once, and a corrected input file is never served from memory.  The frames are
    shared read-only: selections are copies.

    Raises :class:`evalkit.DataValidationError` when the inputs fail validation: no report is
    made from such data.  With ``build=False`` the table is never built: :class:`LookupError`
    when it is neither in memory nor cached.
    """
    from .indicators import input_hashes

    data_dir = Path(data_dir).resolve()
    shipped = _shipped_inputs(data_dir)  # on a Dask worker: the client's folder, its table sent here
    hashes = shipped or input_hashes(data_dir)
    key = (str(data_dir), repr(sorted(hashes.items())))
    if key not in _PROVINCES:
        table, meta = indicator_table(data_dir, cache_dir, build=build and not shipped, hashes=hashes,
                                      categories=True)
        # codes and names as categories: reports select rows thousands of times, and taking rows of
        # categorical columns is a fraction of the cost of Arrow-backed strings
        text = [c for c in table.columns if pd.api.types.is_string_dtype(table[c]) and
                not isinstance(table[c].dtype, pd.CategoricalDtype)]
        table = table.astype({c: "category" for c in text})
        _PROVINCES.clear()  # one province at a time: a kernel does not hoard old tables
        _PROVINCES[key] = ProvinceData(table, meta, data_dir, Path(cache_dir) if cache_dir else None)
    return _PROVINCES[key]
