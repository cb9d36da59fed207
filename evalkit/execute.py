"""Execute one report notebook in a warm kernel and publish its files: the worker side of a batch.

:func:`render_one` is what each batch worker (a local process or a Dask worker) runs for one
:class:`Task`: it executes the notebook through papermill in a Jupyter kernel kept warm between reports
(:func:`execute`; the kernel's namespace is wiped and its counter reset first, so a report made in a
batch is byte-identical to the same report made alone), with a time limit for the whole report, exports
HTML and PDF, scans every output for personal data and renames the files into place.  Planning which
reports to render, the pool of workers, the manifest and the index are :mod:`evalkit.batch`'s.
"""

from __future__ import annotations

import copy
import errno
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EvalkitError, PersonalDataFound
from .fingerprint import sha256_file
from .io import atomic_path
from .params import injected_source, parameters_cell
from .paths import ROOT

if TYPE_CHECKING:
    import nbformat

__all__ = ["DEFAULT_TIMEOUT", "Task", "RemoteTask", "execute", "preload_dask_worker", "preload_worker", "render_one",
           "render_remote", "shaping_env", "skip_unused_imports"]

DEFAULT_TIMEOUT = 600.0
#: The first cell of every execution (removed from the result): a kernel that ran other reports is
#: wiped, and its counter restarted, so that a report is the same in a warm kernel as in a fresh one.
_RESET = ("get_ipython().reset(new_session=True)\n"  # namespace, history and counter, as in a new kernel
          "import sys as _sys\n"
          "if 'matplotlib.pyplot' in _sys.modules: _sys.modules['matplotlib.pyplot'].close('all')\n"
          "del _sys\n"
          # what survives the wipe (modules, the province's table) is moved out of the garbage
          # collector's sight, so that the next wipe's collection does not walk it again
          "import gc as _gc\n_gc.freeze()\ndel _gc\n")
#: The report code a kernel imports before its first report.
_REPORT_IMPORTS = "import evalkit.report, evalkit.report.overview, evalkit.measures.compare, evalkit.measures.trend\n"
#: Run once in a new kernel before its first report (never part of a report): import the report
#: code and read the province's table into memory, so that the first report does not pay for them.
WARM_UP = ("import gc\n"
           + _REPORT_IMPORTS +
           "from evalkit.report.data import province_data\n"
           "try:\n"
           "    _data = province_data({data_dir!r}, build={build!r})\n"
           "    _data.parts({confidence!r})\n"
           "    _data.scores({year!r} or max(_data.years))\n"  # the framework's grades of every county
           "    _data.small_area({year!r} or max(_data.years))\n"  # the townships' model-based satisfaction
           "    del _data\n"
           "except LookupError:\n"  # not cached yet: read once the parent has validated and cached it
           "    pass\n"
           "gc.collect()\ngc.freeze()\n")


def skip_unused_imports() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in processes evalkit runs itself.

    nbformat imports jsonschema, which imports ``rfc3987_syntax`` when it is installed (Jupyter's
    ``jsonschema[format-nongpl]`` brings it) and so builds a Lark grammar: about 3 s of CPU in every
    process, for IRI format checks that nbformat never makes (it validates without a format checker).
    Called first thing in the command line and in batch worker processes, never on import.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def preload_worker() -> None:
    """Load what a worker needs before its first report.  Run once in the fork server the local workers are
    forked from (:mod:`evalkit._worker_preload`), so that they find it loaded, and by each worker as it
    prepares its kernel (at no cost then, except in a Dask worker)."""
    skip_unused_imports()
    import jupyter_client.manager  # noqa: F401 - loaded for the workers
    import nbformat
    import papermill.clientwrap  # noqa: F401
    import papermill.engines  # noqa: F401

    from . import privacy  # noqa: F401
    from .render import notebook_to_html

    notebook_to_html(nbformat.v4.new_notebook(), lang="en", title="warm-up")  # nbconvert, templates, font




# --------------------------------------------------------------------------- tasks


@dataclass
class Task:
    """One report to render: which notebook, with which parameters, to which files."""

    key: str  # county code, or "overview"
    notebook: str
    parameters: dict[str, Any]
    out_dir: str
    stem: str
    title: str
    lang: str
    fingerprint: str
    synthetic: bool = False
    pdf: bool = True
    timeout: float = DEFAULT_TIMEOUT
    #: The pickled privacy scanner (:func:`evalkit.results.scanner_path`) every output is checked with
    #: before it is published; ``None`` only for the privacy audit's negative control.
    scanner: str | None = None
    #: Whether a Word version (``<stem>.docx``, :mod:`evalkit.word`) is made from the page too.
    docx: bool = False


# --------------------------------------------------------------------------- the worker side


class _WarmKernel:
    """One Jupyter kernel kept alive across reports (papermill/nbclient talk to it; it is wiped before each)."""

    def __init__(self, kernel_name: str, cwd: str) -> None:
        import tempfile

        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        # local sockets (ipc) in a private folder: no TCP port open to the machine, no warning about it; a socket's
        # path has at most 107 bytes, so a long temporary folder (the batch's own is inside TMPDIR) gives way to /tmp
        base = tempfile.gettempdir()
        if len(base) > 60 and os.path.isdir("/tmp"):
            base = "/tmp"
        self._sockets = tempfile.mkdtemp(prefix="evalkit-kernel-", dir=base)
        self.km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(self._sockets, "k"))
        # no history database: kernels in parallel would contend for one SQLite file, and a report needs none;
        # the kernel runs in the notebook's folder (inside the package when installed), so it is told the batch's
        # root: relative data folders and the default cache are then the same for the batch and its kernels
        #: The kernel's environment (:meth:`move` changes it).
        self.env = self._env()
        run_sync(self.km.start_kernel)(cwd=cwd, env=self.env, extra_arguments=["--HistoryManager.enabled=False"])
        self._kc = None

    @staticmethod
    def _env() -> dict[str, str]:
        """The environment a kernel started now gets: this process's, and the batch's root."""
        return {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "EVALKIT_ROOT": str(ROOT)}

    def move(self, cwd: str) -> bool:
        """Give this kernel the folder ``cwd`` and the environment a kernel started now in ``cwd`` would get (the
        settings of this process as they are now); whether it took them.  Only for a kernel that has run no
        report, and has imported nothing that reads a setting when it is imported (evalkit reads them when used)."""
        env = self._env()
        gone = sorted(set(self.env) - set(env))
        changed = {k: v for k, v in env.items() if self.env.get(k) != v}
        if not self.run(f"import os as _os\n_os.chdir({cwd!r})\nfor _k in {gone!r}:\n    _os.environ.pop(_k, None)\n"
                        f"_os.environ.update({changed!r})\n"):
            return False
        self.env = env
        return True

    @property
    def kc(self):
        """One client for the kernel's lifetime (a client per report costs a connection and a round trip)."""
        if self._kc is None:
            from jupyter_core.utils import run_sync

            kc = self.km.client()
            kc.start_channels()
            run_sync(kc.wait_for_ready)(timeout=120)
            kc.allow_stdin = False
            self._kc = kc
        return self._kc

    def run(self, code: str, timeout: float = 300.0) -> bool:
        """Execute ``code`` outside any report (outputs discarded); whether it succeeded."""
        from jupyter_core.utils import run_sync

        reply = run_sync(self.kc.execute_interactive)(code, timeout=timeout, output_hook=lambda msg: None,
                                                      allow_stdin=False, store_history=False)
        return reply.get("content", {}).get("status") == "ok"

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return bool(run_sync(self.km.is_alive)())

    def kill(self) -> None:
        """Stop the kernel at once with SIGKILL (safe from any thread, or while the process exits)."""
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            try:  # the kernel leads its own process group (jupyter_client starts it in a new session): all of it
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        import shutil

        self.kill()
        if self._kc is not None:
            try:
                self._kc.stop_channels()
            except Exception:  # noqa: BLE001 - the kernel is gone already
                pass
            self._kc = None
        shutil.rmtree(self._sockets, ignore_errors=True)


class _PrintFailed(EvalkitError):
    """The batch's browser could not print a report (the message is the browser's error, as it was)."""


#: Seconds a worker waits for its PDF from the batch's browser (several reports may be queued before it).
_PRINT_TIMEOUT = 600.0


class RemotePrinter:
    """A local worker's handle on the batch's one browser: it asks the parent's :class:`_PrintService`."""

    def __init__(self, requests, reply, worker_id: int) -> None:
        self.requests, self.reply, self.worker_id = requests, reply, worker_id

    def print(self, html_path: str | Path, pdf_path: str | Path) -> None:
        import queue

        self.requests.put((self.worker_id, str(html_path), str(pdf_path)))
        try:
            answer = self.reply.get(timeout=_PRINT_TIMEOUT)
        except queue.Empty:
            raise TimeoutError(f"no PDF from the batch's browser within {_PRINT_TIMEOUT:g} s") from None
        if answer is None:
            return
        kind, *detail = answer
        if kind == "os":  # a full disk or a read-only folder: the same message as for any other write
            raise OSError(*detail)
        raise _PrintFailed(detail[0])


class _Worker:
    """Per-process state: the warm kernel, the HTML exporter, the browser for PDFs."""

    def __init__(self) -> None:
        self.kernel: _WarmKernel | None = None
        self.printer = None
        self.warm_for: str | None = None
        #: The batch's shared browser, in the parent process (local pool); None: a browser of our own (Dask).
        self.remote: RemotePrinter | None = None
        #: On a Dask worker: the hash of the settings the kernel was started with, and this evalkit's report code.
        self.env: str | None = None
        self.code: str | None = None
        #: On a Dask worker: the kernel was started before any task (:func:`preload_dask_worker`), with no client's
        #: settings, the report code imported but no table read; the first task gives it its settings (:meth:`adopt`).
        self.preloaded = False

    def kernel_for(self, task: Task) -> _WarmKernel:
        if self.preloaded and not self.adopt(task):
            self.drop_kernel()
        if self.kernel is not None and not self.kernel.alive():
            self.drop_kernel()
        if self.kernel is None:
            self.prepare(task.notebook, task.parameters.get("data_dir"), task.parameters.get("confidence"),
                         task.pdf, year=task.parameters.get("year"))
        return self.kernel

    def prepare(self, notebook: str, data_dir: str | None, confidence: float | None, pdf: bool,
                build: bool = True, year: int | None = None) -> None:
        """Start a kernel (and the browser, while it boots) and warm it: report code imported, and the
        province's table read (only from the cache unless ``build``: the batch's parent validates)."""
        skip_unused_imports()  # before nbformat (a Dask worker's first import of it): no grammar built for nothing
        import nbformat

        nb = nbformat.read(notebook, as_version=4)
        name = nb.metadata.get("kernelspec", {}).get("name", "python3")
        self.kernel = _WarmKernel(name, str(Path(notebook).parent))
        with _HTML_LOCK:  # nothing left to load in a worker forked from the fork server; a Dask worker loads it here
            preload_worker()
        if pdf and self.remote is None:  # our own browser starts while the new kernel boots
            try:
                self.pdf_printer().warm()
            except Exception:  # noqa: BLE001 - no browser: the report records it when it asks for a PDF
                pass
        if data_dir and confidence:
            # a failure here is not the report's: the report itself then meets it and records it
            self.kernel.run(WARM_UP.format(data_dir=str(data_dir), confidence=float(confidence), build=build,
                                           year=year))

    def preload(self, pdf: bool = True) -> None:
        """Start the kernel and the browser before any task (a Dask worker's preload): the kernel as for the
        package's county notebook, with the report code imported; modules loaded, the browser printed a page."""
        from .paths import NOTEBOOKS
        from .word import docx_bytes

        self.prepare(str(NOTEBOOKS / "county_report.ipynb"), None, None, pdf=pdf)
        with _HTML_LOCK:  # python-docx, CairoSVG and the figures' font loaded and set up for the Word thread
            docx_bytes(_WORD_WARM_UP, lang="en", title="warm-up")
        self.preloaded = self.kernel.run("import gc\n" + _REPORT_IMPORTS + "gc.collect()\ngc.freeze()\n")

    def adopt(self, task: Task) -> bool:
        """Make the preloaded kernel ``task``'s, as if it had been started now for it (:meth:`prepare`): in its
        notebook's folder, with this process's settings (the client's, applied), its province's table read;
        whether it could (else it is to be started again)."""
        preloaded, self.preloaded = self.preloaded, False
        kernel = self.kernel
        if not preloaded or kernel is None or not kernel.alive():
            return False
        name = _notebook(task.notebook).metadata.get("kernelspec", {}).get("name", "python3")
        if name != kernel.km.kernel_name or not kernel.move(str(Path(task.notebook).parent)):
            return False
        data_dir, confidence = task.parameters.get("data_dir"), task.parameters.get("confidence")
        if data_dir and confidence:  # as prepare() does
            kernel.run(WARM_UP.format(data_dir=str(data_dir), confidence=float(confidence), build=True,
                                      year=task.parameters.get("year")))
        return True

    def drop_kernel(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
        self.kernel = None
        self.preloaded = False

    def pdf_printer(self):
        if self.remote is not None:
            return self.remote
        if self.printer is None:
            from .render import PdfPrinter

            self.printer = PdfPrinter().__enter__()
        return self.printer

    def close(self) -> None:
        self.drop_kernel()
        if self.printer is not None:
            self.printer.__exit__(None, None, None)
            self.printer = None


class _Workers(threading.local):
    """Each thread's worker state (a kernel and a browser are never shared between threads), and all of them."""

    every: list[_Worker] = []  # class-level: shared by the threads (the per-thread part is ``mine``)
    mine: _Worker | None = None


_WORKER = _Workers()


def current_worker() -> _Worker:
    """This thread's worker state (a local worker process's, or one slot's of a Dask worker, kept between tasks)."""
    if _WORKER.mine is None:
        _WORKER.mine = _Worker()
        _Workers.every.append(_WORKER.mine)
        import atexit

        atexit.register(_WORKER.mine.drop_kernel)  # a Dask worker's kernels go with it
    return _WORKER.mine


def worker_exit(status: int) -> None:
    """Stop this worker process now: its kernels killed, their socket folders removed, no clean-up of
    Python's own (its queues are the batch's; the batch removes what a report was writing)."""
    for worker in list(_Workers.every):
        if worker.kernel is not None:
            with suppress(BaseException):
                worker.kernel.kill()
                import shutil

                shutil.rmtree(worker.kernel._sockets, ignore_errors=True)
    os._exit(status)


def execute(task: Task, kernel: _WarmKernel) -> nbformat.NotebookNode:
    """Execute the task's notebook in ``kernel`` through papermill, within the whole-report time limit.

    The parameters (checked by :func:`evalkit.params.check` when the task was planned) are
    injected as papermill does, in a cell tagged ``injected-parameters`` after the parameters
    cell.  The steps are those of ``papermill.execute_notebook`` (its metadata, its engine, its
    error marker) without its round trip of the notebook through JSON text and back, and without
    writing the executed notebook (the caller writes it).  Raises papermill's
    ``PapermillExecutionError`` for an error in a cell (the executed notebook carries papermill's
    error marker), and ``TimeoutError`` when the limit was reached (the kernel is then killed: a
    hung cell cannot be interrupted reliably).
    """
    from papermill.execute import prepare_notebook_metadata, raise_for_execution_errors, remove_error_markers

    nb = _inject(_notebook(task.notebook), task.parameters)
    for cell in nb.cells:  # papermill's loader gives every cell a list of tags
        cell.metadata.setdefault("tags", [])
    nb = remove_error_markers(prepare_notebook_metadata(nb, task.notebook, None, False))
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        kernel.kill()

    timer = threading.Timer(task.timeout, stop)
    timer.daemon = True
    timer.start()
    try:
        done = _warm_engine().execute_notebook(nb, kernel.km.kernel_name, output_path=None, progress_bar=False,
                                               log_output=False, kernel=kernel)
        raise_for_execution_errors(done, None)
        done.metadata["papermill"]["parameters"] = task.parameters  # papermill records only what it injected
        done.cells = [c for c in done.cells if c.get("id") != "evalkit-reset"]
        return done
    except BaseException as err:
        if fired.is_set():
            raise TimeoutError(f"the report did not finish within {task.timeout:g} s; its kernel was stopped.") from err
        raise
    finally:
        timer.cancel()


def _notebook(path: str) -> nbformat.NotebookNode:
    """The notebook at ``path``, read once per content of the file (:func:`evalkit.results.notebook`; not to be
    changed: :func:`_inject` copies it)."""
    from .results import notebook

    return notebook(path)


_ENGINE = None


def _warm_engine():
    """The papermill engine that runs a notebook in an already running kernel instead of starting one."""
    global _ENGINE
    if _ENGINE is None:
        from papermill.clientwrap import PapermillNotebookClient
        from papermill.engines import Engine

        class WarmEngine(Engine):
            @classmethod
            def execute_managed_notebook(cls, nb_man, kernel_name, kernel: _WarmKernel | None = None, **kwargs):
                client = PapermillNotebookClient(nb_man, km=kernel.km, kernel_name=kernel_name, log_output=False,
                                                 timeout=None, startup_timeout=120)
                client.kc = kernel.kc  # the kernel's own client, kept open between reports
                return client.execute(cleanup_kc=False)

        _ENGINE = WarmEngine
    return _ENGINE


def _inject(nb: nbformat.NotebookNode, values: dict[str, Any]) -> nbformat.NotebookNode:
    """Insert papermill's ``injected-parameters`` cell after the parameters cell (values checked already)."""
    import nbformat

    nb = copy.deepcopy(nb)
    at = parameters_cell(nb)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    cell = nbformat.v4.new_code_cell(injected_source(values))
    cell.metadata["tags"] = ["injected-parameters"]
    cell.id = "injected-parameters"
    nb.cells.insert(at + 1, cell)
    reset = nbformat.v4.new_code_cell(_RESET)
    reset.id = "evalkit-reset"
    nb.cells.insert(0, reset)
    nb.metadata.setdefault("papermill", {})["parameters"] = values
    return nb


def render_one(task: Task) -> dict[str, Any]:
    """Render one task in this process's warm kernel; never raises: the result says what happened."""
    worker = current_worker()
    started = time.monotonic()
    out = Path(task.out_dir)
    result: dict[str, Any] = {"key": task.key, "status": "failed", "fingerprint": task.fingerprint,
                              "parameters": task.parameters, "outputs": {}, "durations": {}, "error": None}
    writing: Path | None = None  # the file being written, for the message when the disk says no
    try:
        kernel = worker.kernel_for(task)
        result["durations"]["kernel_ready"] = round(time.monotonic() - started, 3)
        t0 = time.monotonic()
        try:
            nb = execute(task, kernel)
        except BaseException:
            if not kernel.alive():
                worker.drop_kernel()
            raise
        result["durations"]["execute"] = round(time.monotonic() - t0, 3)
        t0 = time.monotonic()
        import nbformat

        from .render import notebook_to_html

        with _HTML_LOCK:  # one exporter per process, and a Dask worker runs reports in several threads
            html = notebook_to_html(nb, lang=task.lang, title=task.title, synthetic=task.synthetic,
                                    index_href="index.html")
        files = {"ipynb": out / "notebooks" / f"{task.stem}.ipynb", "html": out / f"{task.stem}.html"}
        if task.pdf:
            files["pdf"] = out / f"{task.stem}.pdf"
        if task.docx:
            files["docx"] = out / f"{task.stem}.docx"
        # all the report's files are written under temporary names and renamed together at the end: a
        # report that fails on the way (a full disk, a dead browser) leaves its previous files as they
        # were, never a new notebook beside an old page
        with ExitStack() as stack:
            tmp = {kind: stack.enter_context(atomic_path(path)) for kind, path in files.items()}
            writing = files["ipynb"]
            tmp["ipynb"].write_bytes(nbformat.writes(_strip_meta(nb)).encode("utf-8"))
            writing = files["html"]
            tmp["html"].write_bytes(html.encode("utf-8"))
            result["durations"]["html"] = round(time.monotonic() - t0, 3)
            word = None
            if task.docx:  # the Word version, converted from the page as written (evalkit.word), while the browser prints
                word = _docx_in_background(html, tmp["docx"], task.lang, task.title)
                stack.callback(word.exception)  # however this ends, the file is complete before it is renamed or removed
            scanning = None
            if task.scanner and task.pdf:  # the page and the notebook are scanned while the browser prints
                scanning = _scan_in_background(task.scanner, {str(files[k].relative_to(out)): tmp[k]
                                                              for k in ("html", "ipynb")})
            if task.pdf:
                t0 = time.monotonic()
                writing = files["pdf"]
                worker.pdf_printer().print(tmp["html"], tmp["pdf"])  # the page as written, under its temporary name
                result["durations"]["pdf"] = round(time.monotonic() - t0, 3)
            if word is not None:
                writing = files["docx"]
                result["durations"]["docx"] = word.result()  # its own time, not the wait; an error is raised here
            writing = None  # written: what fails from here on is no write
            if task.scanner:  # nothing with personal data or a person id in it is ever published
                t0 = time.monotonic()
                from .results import load_scanner

                rest = {str(path.relative_to(out)): tmp[kind] for kind, path in files.items()
                        if scanning is None or kind in ("pdf", "docx")}
                findings = [f for name, path in rest.items() for f in load_scanner(task.scanner).file(path, name=name)]
                if scanning is not None:
                    findings = scanning.result() + findings  # a ScanError there is raised here
                if findings:
                    raise PersonalDataFound(findings)
                result["durations"]["scan"] = round(time.monotonic() - t0, 3)  # what the scan added after the PDF
            hashes = {kind: sha256_file(tmp[kind]) for kind in files}
            writing = out
        result["outputs"] = {kind: {"file": str(path.relative_to(out)), "sha256": hashes[kind]}
                             for kind, path in files.items()}
        result["status"] = "ok"
    except PersonalDataFound as err:
        kinds = ", ".join(sorted({f.kind for f in err.findings}))
        result["error"] = (f"personal data found in the outputs ({len(err.findings)} finding(s): {kinds}); "
                           "nothing of this report was published")
        result["privacy"] = [f.to_dict() for f in err.findings[:20]]  # masked excerpts, never the values
    except OSError as err:
        result["error"] = _os_error_summary(err, writing) if writing is not None else _error_summary(err)
    except BaseException as err:  # noqa: BLE001 - a failed county is recorded, the batch goes on
        result["error"] = _error_summary(err)
    result["durations"]["total"] = round(time.monotonic() - started, 3)
    return result


_SCAN_THREAD = None
_HTML_LOCK = threading.Lock()


_WORD_THREAD = None


def _docx_in_background(page: str, path: Path, lang: str, title: str):
    """Write the Word version of ``page`` to ``path`` in this process's Word thread; a future of the seconds it took.

    The worker only waits while the browser prints a PDF (its figures' drawing and compression release the GIL).
    """
    global _WORD_THREAD
    if _WORD_THREAD is None:
        from concurrent.futures import ThreadPoolExecutor

        _WORD_THREAD = ThreadPoolExecutor(1, thread_name_prefix="evalkit-word")
    from .word import html_to_docx

    def convert() -> float:
        t0 = time.monotonic()
        html_to_docx(page, path, lang=lang, title=title)
        return round(time.monotonic() - t0, 3)

    return _WORD_THREAD.submit(convert)


def _scan_in_background(scanner: str, files: dict[str, Path]):
    """Scan ``files`` (published name -> where it is now) in this process's scanning thread; a future of the findings.

    The worker only waits while the browser prints a PDF, so the page and the notebook are scanned then.
    """
    global _SCAN_THREAD
    if _SCAN_THREAD is None:
        from concurrent.futures import ThreadPoolExecutor

        _SCAN_THREAD = ThreadPoolExecutor(1, thread_name_prefix="evalkit-scan")
    from .results import load_scanner

    return _SCAN_THREAD.submit(lambda: [f for name, path in files.items()
                                        for f in load_scanner(scanner).file(path, name=name)])


def _strip_meta(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook without run times, so that it is reproducible."""
    nb = copy.deepcopy(nb)
    nb.metadata.get("papermill", {}).pop("start_time", None)
    nb.metadata.get("papermill", {}).pop("end_time", None)
    nb.metadata.get("papermill", {}).pop("duration", None)
    nb.metadata.get("papermill", {}).pop("input_path", None)
    nb.metadata.get("papermill", {}).pop("output_path", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nb


def os_reason(err: OSError) -> str:
    """``No space left on device (ENOSPC)``: what the system said, and its name."""
    code = errno.errorcode.get(err.errno or 0)
    return f"{err.strerror or err}" + (f" ({code})" if code else "")


def _os_error_summary(err: OSError, path: Path) -> str:
    """``cannot write 090102.pdf in reports/run: No space left on device (ENOSPC); ...``: what the disk said, where."""
    where = str(path) if path.is_dir() else f"{path.name} in {path.parent}"
    return f"cannot write {where}: {os_reason(err)}; this report's files were left as they were"[:2000]


def _error_summary(err: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        return f"cell {err.exec_count}: {err.ename}: {err.evalue}"[:2000]
    text = f"{type(err).__name__}: {err}"
    if not isinstance(err, (EvalkitError, TimeoutError)):
        text += " | " + " ".join(traceback.format_exception_only(type(err), err)).strip()
    return text[:2000]


# --------------------------------------------------------------------------- on a Dask worker

#: Environment variables that shape a report and travel with each task to a Dask worker: ``SOURCE_DATE_EPOCH``
#: and every ``EVALKIT_*`` but these, which name places on the client's machine (a worker uses its own).
LOCAL_ONLY = ("EVALKIT_CACHE", "EVALKIT_ROOT", "EVALKIT_CHROMIUM", "EVALKIT_CJK_FONT", "EVALKIT_SHIPPED_INPUTS")


def shaping_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings of ``environ`` (default: this process's) that shape a report (:data:`LOCAL_ONLY` left out).

    >>> shaping_env({"SOURCE_DATE_EPOCH": "1", "EVALKIT_CACHE": "/x", "HOME": "/root"})
    {'SOURCE_DATE_EPOCH': '1'}
    """
    environ = os.environ if environ is None else environ
    return {k: v for k, v in sorted(environ.items())
            if (k == "SOURCE_DATE_EPOCH" or k.startswith("EVALKIT_")) and k not in LOCAL_ONLY}


@dataclass
class RemoteTask:
    """A :class:`Task` as it travels to a Dask worker, with what the worker needs to make it without any path of
    the client's: the blobs it reads (sent beside it, each named by its SHA-256), the settings that shape it."""

    task: Task
    #: :func:`shaping_env` of the client.
    env: dict[str, str]
    #: The client's :func:`evalkit.results.report_code_hash`: a worker running other code refuses the task.
    code: str
    #: The data folder's input hashes (:func:`evalkit.indicators.input_hashes`), as the client validated them.
    inputs: dict[str, str]
    #: Cache entries the report reads, by file name -> SHA-256 (indicator table, scores, small-area estimates).
    cache: dict[str, str]
    #: SHA-256 of the notebook and of the pickled scanner (``None``: no scan).
    notebook: str
    scanner: str | None


class _Slot:
    """One thread of a Dask worker's that keeps a worker state (:func:`current_worker`: its kernel, its browser).

    Dask runs each task in a copy of its caller's context, so an event loop that jupyter_client keeps in a
    context variable would be new for every task, and playwright's browser belongs to the thread that started
    it: every report of a slot runs in the slot's own thread instead, whichever Dask thread asked for it."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.thread = ThreadPoolExecutor(1, thread_name_prefix="evalkit-slot")


class _Slots:
    """A Dask worker's slots: as many as tasks run at once in it (its threads), each taken by one task at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free: list[_Slot] = []
        self.made = 0  # slots made so far (free or taken)
        self.env_lock = threading.Lock()
        self.store_lock = threading.Lock()

    def run(self, func, *args: Any) -> Any:
        with self.lock:
            slot = self.free.pop() if self.free else self.new()
        try:
            return slot.thread.submit(func, *args).result()
        finally:
            with self.lock:
                self.free.append(slot)

    def new(self) -> _Slot:
        self.made += 1
        return _Slot()


_SLOTS = _Slots()


def preload_dask_worker(nthreads: int | None = None, *, pdf: bool = True, dask_worker: Any = None) -> int:
    """Make this Dask worker ready for reports before its first task: ``nthreads`` slots (default: the worker's
    threads), each with its kernel started and the report code imported in it, its browser started (unless not
    ``pdf``), and what the worker process loads for a report loaded (:func:`preload_worker`, the report code's
    hash); how many slots it started making ready (in their threads: it returns at once).

    What runs in the slots' threads, beside the worker: a task that comes meanwhile waits for its slot.  The first
    task gives a slot's kernel its settings and its province's table (:meth:`_Worker.adopt`), so a report is the
    same as from a kernel started for it.  Called by the preload :mod:`evalkit.dask_preload` (``dask worker
    --preload evalkit.dask_preload``) as the worker starts, and by a batch's client on every worker as it connects
    (``Client.run``), so that the workers get ready while it validates and plans; slots a worker made already
    count: only the missing ones are made."""
    if nthreads is None:
        if dask_worker is None:
            from distributed import get_worker

            dask_worker = get_worker()
        nthreads = dask_worker.state.nthreads
    with _SLOTS.lock:
        slots = [_SLOTS.new() for _ in range(nthreads - _SLOTS.made)]
        _SLOTS.free.extend(slots)
    for slot in slots:
        slot.thread.submit(_preload_slot, pdf)
    return len(slots)


#: A page with a figure, converted to Word once by a preloaded worker (:meth:`_Worker.preload`).
_WORD_WARM_UP = ('<!doctype html><html><body><main><h1>warm-up</h1><p>warm-up</p><figure><svg '
                 'xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20"><text x="2" y="14">'
                 'w \u5b57</text></svg><figcaption>warm-up</figcaption></figure></main></body></html>')


def _preload_slot(pdf: bool) -> None:
    skip_unused_imports()
    worker = current_worker()
    try:
        if worker.code is None:
            from .results import report_code_hash

            with _SLOTS.store_lock:
                worker.code = report_code_hash()
        worker.preload(pdf)
    except Exception:  # noqa: BLE001 - not ready: the first task starts what is missing and meets the failure
        pass


def _store() -> Path:
    """This worker's own folder for what clients send (the Dask worker's local directory, else a temporary one)."""
    import tempfile

    try:
        from distributed import get_worker

        base = Path(get_worker().local_directory)
    except (ImportError, ValueError):
        base = Path(tempfile.gettempdir())
    return base / "evalkit-store"


def _blob(store: Path, sha: str, data: bytes | None) -> Path:
    """The blob ``sha`` in ``store`` (written once, checked against its hash)."""
    import hashlib

    from .io import write_atomic

    path = store / "blobs" / sha
    if not path.is_file():
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            raise EvalkitError(f"the data sent for blob {sha[:12]} did not arrive whole; the report is made again "
                               "by the next run.")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    return path


def render_remote(job: RemoteTask, blobs: dict[str, bytes]) -> dict[str, Any]:
    """Render ``job`` on this Dask worker, from the blobs sent with it (SHA-256 -> bytes); never raises.

    The blobs are kept in this worker's store by their hash (a cache entry under its own name, the notebook
    under its own name), the client's settings applied for this worker's kernels, the report made in a
    private folder by :func:`render_one`, and its files returned by value: the result's ``files`` (kind ->
    bytes) and ``worker`` (this worker's address).  Nothing is read or written at a path of the client's."""
    skip_unused_imports()  # a Dask worker is not started by evalkit: its first report built a grammar (~1.4 CPU-s)
    store = _store()
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):
        address = None
    result = _SLOTS.run(_render_in_slot, job, blobs, store)
    result["worker"] = address
    return result


def _render_in_slot(job: RemoteTask, blobs: dict[str, bytes], store: Path) -> dict[str, Any]:
    import dataclasses
    import hashlib
    import json
    import shutil
    import tempfile

    task = job.task
    worker = current_worker()
    try:
        if worker.code is None:
            from .results import report_code_hash

            with _SLOTS.store_lock:  # Python 3.11's ast (the code hash parses the source) is not for two threads
                worker.code = report_code_hash()
        if worker.code != job.code:
            from . import __version__

            raise EvalkitError(f"this Dask worker runs other evalkit code than the client (evalkit {__version__}, "
                               "report code differs): install the same evalkit on every worker.")
        cache = store / "cache"
        notebook = store / "notebooks" / job.notebook / Path(task.notebook).name
        with _SLOTS.store_lock:  # the slots of this worker write each blob once, one at a time
            cache.mkdir(parents=True, exist_ok=True)
            for name, sha in job.cache.items():
                if not (cache / name).is_file():
                    shutil.copyfile(_blob(store, sha, blobs.get(sha)), cache / f".{name}.tmp")
                    os.replace(cache / f".{name}.tmp", cache / name)
            if not notebook.is_file():
                notebook.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(_blob(store, job.notebook, blobs.get(job.notebook)), notebook)
            scanner = str(_blob(store, job.scanner, blobs.get(job.scanner))) if job.scanner else None
        env = {**job.env, "EVALKIT_CACHE": str(cache),
               "EVALKIT_SHIPPED_INPUTS": json.dumps({str(task.parameters.get("data_dir")): job.inputs})}
        with _SLOTS.env_lock:  # the process's environment (PDF dates, the kernels' settings) is the client's
            for key in [k for k in shaping_env() if k not in env]:
                del os.environ[key]
            os.environ.update(env)
        said = hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()
        if worker.env != said:  # a kernel started with other settings is not reused (a preloaded one takes them)
            if not worker.preloaded:
                worker.drop_kernel()
            worker.env = said
        out = Path(tempfile.mkdtemp(prefix="evalkit-out-", dir=store))
    except BaseException as err:  # noqa: BLE001 - recorded as the report's failure
        return {"key": task.key, "status": "failed", "fingerprint": task.fingerprint, "parameters": task.parameters,
                "outputs": {}, "durations": {}, "error": _error_summary(err)}
    try:
        result = render_one(dataclasses.replace(task, notebook=str(notebook), out_dir=str(out), scanner=scanner))
        result["files"] = {kind: (out / o["file"]).read_bytes() for kind, o in result["outputs"].items()}
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)
