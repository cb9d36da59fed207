"""Render many county reports: plan, skip what is current, execute in warm kernels, record a manifest.

:func:`run_batch` is what ``evalkit batch`` calls:

1. **Validate and compute once.**  The province's indicator table is built (or read from the cache)
   from validated inputs; a validation error stops the batch before any kernel starts or any file
   is written.
2. **Plan.**  Each county report has a *fingerprint*: the SHA-256 of the notebook, the parameters,
   the code that makes a report, and the data the report shows (the county's and its townships' rows of the
   indicator table, plus the context every report draws: prefecture, province and county-level
   figures).  A report whose fingerprint matches the manifest, and whose files are present with
   their recorded hashes, is skipped; ``force`` renders it again.  Hashes, never file times.
3. **Execute** (:mod:`evalkit.execute`).  Workers (processes on this machine, or a Dask cluster) each keep one Jupyter kernel
   warm and reuse it: before each report the kernel's namespace is wiped, figures closed and its
   execution counter reset, so a report made in a batch is byte-identical to the same report made
   alone (a test checks it).  Execution goes through papermill (parameters injected after the
   cell tagged ``parameters``), with a time limit for the whole report: a hung or dead kernel is
   killed, recorded as the county's failure, and replaced; the batch goes on.
4. **Write atomically.**  Each file appears whole or not at all (temporary file and rename);
   the manifest is rewritten atomically after each county; leftovers of a killed run are removed
   at the start of the next.
5. **Index.**  ``index.html`` lists every county with status, key figures and links.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import __version__
from .errors import EvalkitError, PersonalDataFound
from .execute import (  # the worker side: one report executed in a warm kernel and published
    DEFAULT_TIMEOUT,
    WARM_UP,
    RemotePrinter,
    Task,
    current_worker,
    os_reason,
    render_one,
    skip_unused_imports,
    worker_exit,
)
from .fingerprint import sha256_file
from .io import atomic_path, write_atomic
from .params import check, declared
from .paths import NOTEBOOKS, REPORTS, cache_dir

__all__ = ["BatchError", "Task", "plan", "run_batch", "render_one", "COUNTY_NOTEBOOK", "OVERVIEW_NOTEBOOK",
           "MANIFEST_VERSION"]

COUNTY_NOTEBOOK = NOTEBOOKS / "county_report.ipynb"
OVERVIEW_NOTEBOOK = NOTEBOOKS / "province_overview.ipynb"
MANIFEST_VERSION = 1
#: Set (to anything) for the privacy audit's negative control only: outputs are published without the
#: personal-data scan, so that a separate ``evalkit scan`` can show planted values being found.
UNSAFE_NO_SCAN = "EVALKIT_UNSAFE_NO_SCAN"


class BatchError(EvalkitError):
    """Raised when a batch cannot start: bad options, an unreadable manifest, an unwritable output folder."""


class BatchStopped(BaseException):
    """Raised when ``evalkit batch`` was told to stop (SIGINT, SIGTERM or SIGHUP), once its workers, kernels
    and browser are stopped and its temporary files removed; the message is the one line to show.

    A :class:`BaseException`, like :class:`KeyboardInterrupt`: no ``except Exception`` on the way catches it.
    """

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(message or f"evalkit batch: stopped by {signal.Signals(signum).name}.")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process ended by it: 130, 143, 129."""
        return 128 + self.signum


#: The signals that stop a batch cleanly: Ctrl-C, ``timeout``/systemd/CI, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# --------------------------------------------------------------------------- processes


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (children, grandchildren, ...), from ``/proc`` (Linux; else psutil)."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        try:
            import psutil

            return {p.pid for p in psutil.Process(pid).children(recursive=True)}
        except Exception:  # noqa: BLE001 - no way to know: the known processes are stopped anyway
            return set()
    for name in names:
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] not in (b"Z", b"X"):
                children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with suppress(OSError):
            os.kill(pid, sig)


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    if sys.platform.startswith("linux"):
        with suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1: PR_SET_PDEATHSIG


class _StopSignals:
    """While active (in the main thread), SIGINT, SIGTERM and SIGHUP raise :class:`BatchStopped` in the main
    thread; :meth:`critical` holds them back while a file the next run goes by (the manifest) is written.

    Python runs a signal's handler wherever the main thread happens to be, finalizers (``__del__``) included,
    and an exception raised in a finalizer is printed and dropped ("Exception ignored in ..."): the batch would
    go on, its browser's driver killed by the same Ctrl-C, and end "failed" (exit 1) instead of "stopped" (130).
    So the signal is also recorded (:attr:`received`), and :meth:`check`, called wherever the batch waits for or
    takes a result, raises it again."""

    def __init__(self) -> None:
        self.saved: dict[int, Any] = {}
        self.active = threading.current_thread() is threading.main_thread()
        #: The stop signal received, if any.
        self.received: int | None = None

    def check(self) -> None:
        """Raise :class:`BatchStopped` if a stop signal was received (even if its first raise was lost)."""
        if self.received is not None:
            raise BatchStopped(self.received)

    def __enter__(self) -> "_StopSignals":
        if self.active:
            for sig in STOP_SIGNALS:
                if sig != signal.SIGTERM and signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # ``nohup`` (SIGHUP) or a background job of a script (SIGINT): it stays ignored
                self.saved[sig] = signal.signal(sig, self._raise)
        return self

    def _raise(self, signum: int, frame: Any) -> None:
        self.received = signum
        for sig in self.saved:  # stopping now: a second Ctrl-C does not interrupt the clean-up
            signal.signal(sig, signal.SIG_IGN)
        raise BatchStopped(signum)

    def critical(self):
        """A context in which the stop signals wait (they are delivered when it ends)."""
        if not self.active:
            return suppress()
        stack = ExitStack()
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        stack.callback(signal.pthread_sigmask, signal.SIG_UNBLOCK, STOP_SIGNALS)
        return stack

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------- the run folder's lock

#: The lock file in a run folder while a batch writes into it (removed when it ends).
LOCK_NAME = ".evalkit-batch.lock"


class _RunLock:
    """An exclusive ``flock`` on ``<run folder>/.evalkit-batch.lock``, holding the holder's pid, host and start.

    The kernel releases it when the holder dies, however it dies; a lock file left by a holder that is gone
    is taken over with a message.  A batch refused by the lock touches nothing in the folder.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LOCK_NAME
        self.fd: int | None = None

    @staticmethod
    def _holder(fd: int) -> dict[str, Any]:
        with suppress(OSError, ValueError):
            data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
            if isinstance(data, dict):
                return data
        return {}

    @staticmethod
    def _who(holder: dict[str, Any]) -> str:
        if not holder:
            return "another batch"
        return (f"another batch (pid {holder.get('pid')} on host {holder.get('host')}, started "
                f"{holder.get('started')})")

    def acquire(self, wait: bool, log: Callable[[str], None]) -> None:
        import fcntl
        import socket

        said = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    who = self._who(self._holder(fd))
                    if not wait:
                        raise BatchError(f"{who} is writing into {self.run_dir}; nothing was done. Wait for it to "
                                         "finish (or run again with --wait), or choose another folder with --out "
                                         "or --run.") from None
                    if not said:
                        log(f"evalkit batch: {who} is writing into {self.run_dir}; waiting for it to finish.")
                        said = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                try:  # the previous holder may have removed the file after we opened it: lock the new one
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                break
            os.close(fd)
        left = self._holder(fd)
        host = socket.gethostname()
        if left.get("pid"):
            gone = left.get("host") == host and not _alive(int(left["pid"]))
            log(f"evalkit batch: the batch that last wrote into {self.run_dir} (pid {left.get('pid')} on host "
                f"{left.get('host')}) stopped without finishing ({'it is no longer running' if gone else 'its lock was free'}"
                "); its lock is taken over.")
        self.fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": host,
                                      "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        except OSError:  # a full or read-only disk: the folder is left as it was, and the caller says why
            self.release()
            raise

    def release(self) -> None:
        if self.fd is not None:
            with suppress(OSError):
                if os.fstat(self.fd).st_ino == os.stat(self.path).st_ino:
                    self.path.unlink()
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------- planning


@dataclass
class Plan:
    """What a batch will do: all tasks, and which of them are current already."""

    run_dir: Path
    tasks: list[Task]
    skip: list[str]
    manifest: dict[str, Any]
    data: Any
    inputs: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"version": MANIFEST_VERSION, "reports": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("reports"), dict):
            raise ValueError("no 'reports' object")
    except (ValueError, UnicodeDecodeError) as err:
        # a corrupt manifest only costs a re-render: keep it aside for inspection, start afresh
        aside = path.with_name(f"manifest.corrupt-{int(time.time())}.json")
        os.replace(path, aside)
        print(f"evalkit batch: {path} could not be read ({err}); moved to {aside.name}, all reports will be "
              "rendered again.", file=sys.stderr)
        return {"version": MANIFEST_VERSION, "reports": {}}
    return manifest


def _clean_leftovers(run_dir: Path) -> list[Path]:
    """Remove temporary files a killed run left behind (they were never visible under a final name)."""
    gone = []
    for path in list(run_dir.glob(".*.tmp")) + list(run_dir.glob("notebooks/.*.tmp")):
        path.unlink(missing_ok=True)
        gone.append(path)
    return gone


def plan(data_dir: str | Path, *, year: int | None = None, lang: str = "en", counties: Iterable[str] | None = None,
         prefecture: str | None = None, out: str | Path | None = None, run: str | None = None,
         confidence: float = 0.95, force: bool = False, pdf: bool = True, timeout: float = DEFAULT_TIMEOUT,
         overview: bool = True, notebook: str | Path = COUNTY_NOTEBOOK, docx: bool = True,
         _state: dict[str, Any] | None = None) -> Plan:
    """Validate the province, choose the counties, and work out which reports need rendering.

    ``docx``: each report is also written as a Word file (:mod:`evalkit.word`), made from its page (the default,
    as ``evalkit batch`` does; ``docx=False`` for HTML and PDF only).

    Called by :func:`run_batch` with ``_state``, it also locks the run folder (:data:`LOCK_NAME`; a folder
    another batch writes into is refused, or waited for with ``_state["wait"]``) before it touches anything
    in it, and records the folder and the lock in ``_state``.
    """
    from .results import province_data, report_code_hash, report_fingerprints, scanner_path

    data_dir = Path(data_dir).resolve()
    data = province_data(data_dir)  # validates; raises DataValidationError before anything is written
    if year is not None and int(year) not in data.years:
        raise BatchError(f"--year {year}: {data_dir} has no data for {year} (its waves: "
                         f"{', '.join(map(str, data.years))}); nothing was rendered.")
    year = int(year) if year is not None else max(data.years)
    all_counties = data.counties()
    chosen = list(all_counties["county_code"])
    if prefecture is not None:
        chosen = [c for c, p in zip(all_counties["county_code"], all_counties["prefecture_code"]) if p == prefecture]
        if not chosen:
            raise BatchError(f"prefecture {prefecture!r} has no counties in {data_dir} (prefecture codes: "
                             f"{', '.join(sorted(set(all_counties['prefecture_code'])))}).")
    if counties:
        wanted = list(dict.fromkeys(counties))
        unknown = [c for c in wanted if c not in set(all_counties["county_code"])]
        if unknown:
            raise BatchError(f"unknown county code(s) {', '.join(unknown)} in {data_dir}.")
        chosen = [c for c in chosen if c in wanted]
    run = check_run_name(run or f"{data_dir.name}-{year}-{lang}")
    run_dir = Path(out or REPORTS) / run
    notebook = Path(notebook)
    params = declared(notebook)
    nb_hash = sha256_file(notebook)
    code_hash = report_code_hash()
    # every output is scanned for personal data before it is published, with a scanner built once per set
    # of inputs (the privacy audit's negative control alone switches it off)
    scanner = None
    if not os.environ.get(UNSAFE_NO_SCAN):
        scanner = str(scanner_path(data_dir, hashes=data.meta.get("inputs")))
    names = all_counties.set_index("county_code")[f"name_{lang}"]
    from .report.i18n import t

    tasks = []
    county_values = [check(params, {"county_code": code, "year": year, "data_dir": str(data_dir), "lang": lang,
                                    "confidence": float(confidence), "benchmarks": ["prefecture", "province"]})
                     for code in chosen]
    # what each report depends on (the results layer's fingerprint): notebook, parameters, code and its rows
    for code, values, fp in zip(chosen, county_values, report_fingerprints(data, notebook, county_values,
                                                                            scanned=scanner is not None)):
        tasks.append(Task(code, str(notebook), values, str(run_dir), code,
                          t("cover.title", lang, county=names[code], year=year), lang, fp, data.synthetic, pdf,
                          timeout, scanner, docx=docx))
    if overview:
        ov_params = declared(OVERVIEW_NOTEBOOK)
        values = check(ov_params, {"year": year, "data_dir": str(data_dir), "lang": lang,
                                   "confidence": float(confidence)})
        # the overview shows county, prefecture and province figures of the year: the context, nothing else
        [fp] = report_fingerprints(data, OVERVIEW_NOTEBOOK, [values], scanned=scanner is not None)
        tasks.append(Task("overview", str(OVERVIEW_NOTEBOOK), values, str(run_dir), "overview",
                          t("overview.title", lang, province=data.province_name(lang), year=year), lang, fp,
                          data.synthetic, pdf, timeout, scanner, docx=docx))
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(f"cannot create the output folder {run_dir}: {err.strerror}; nothing was rendered.") from None
    if _state is not None:  # one batch at a time in a run folder: nothing in it is touched before the lock is held
        lock = _RunLock(run_dir)
        try:
            lock.acquire(bool(_state.get("wait")), _state.get("log") or (lambda m: print(m, file=sys.stderr)))
        except OSError as err:
            if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):  # a full or read-only disk
                raise BatchError(f"cannot write in the output folder {run_dir}: {err.strerror}; nothing was "
                                 "rendered. Choose another folder with --out, or make this one writable.") from None
            lock = None  # a file system without locks (some network mounts): the batch runs unlocked
        _state.update(lock=lock, run_dir=run_dir)
    probe = run_dir / f".evalkit-write-test.{os.getpid()}.tmp"
    try:  # a real write, not os.access: it also sees a read-only mount, a full disk or a quota
        probe.write_bytes(b"x" * 4096)
        probe.unlink()
    except OSError as err:
        with suppress(OSError):
            probe.unlink(missing_ok=True)
        raise BatchError(f"cannot write in the output folder {run_dir}: {err.strerror}; nothing was rendered. "
                         "Choose another folder with --out, or make this one writable.") from None
    _clean_leftovers(run_dir)
    manifest = _read_manifest(run_dir / "manifest.json")
    skip = [] if force else [task.key for task in tasks if _current(manifest, task, run_dir)]
    return Plan(run_dir, tasks, skip, manifest, data, data.meta.get("inputs", {}),
                {"year": year, "lang": lang, "run": run, "notebook_sha256": nb_hash, "evalkit_source": code_hash})


def check_run_name(run: str) -> str:
    """``run`` if it is a plain folder name (the run's folder under ``--out``), else a :class:`BatchError`."""
    if (not isinstance(run, str) or not run or len(run) > 100 or not run.isprintable() or "/" in run
            or "\\" in run or run.startswith(".")):
        raise BatchError(f"run name {run!r} must be a plain folder name: at most 100 printable characters, "
                         "no '/' or '\\', not starting with '.'.")
    return run


def check_request(options: dict[str, Any], jobs: Any = None) -> None:
    """Refuse malformed county and prefecture codes, run names and parameters before anything starts.

    Called by :func:`run_batch` before any worker, kernel or browser starts and before anything is
    read or written: a code such as ``../x`` is refused here with the parameter's own message
    (:func:`evalkit.params.check`).  Whether a well-formed code exists is known only from the data,
    so :func:`plan` checks that afterwards.
    """
    from .params import ParameterError, RULES

    params = declared(Path(options.get("notebook", COUNTY_NOTEBOOK)))
    problems = []
    given = {k: options[k] for k in ("year", "lang", "confidence") if options.get(k) is not None}
    for values in [{"county_code": code} for code in options.get("counties") or []] + [given]:
        try:
            check(params, values, require=False)
        except ParameterError as err:
            problems.append(str(err).rstrip("."))
    prefecture = options.get("prefecture")
    if prefecture is not None and (not isinstance(prefecture, str) or RULES["prefecture_code"](prefecture)):
        problems.append(f"prefecture {prefecture!r} must be a 4-digit prefecture code such as '0901'")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        problems.append(f"--jobs {jobs!r} must be a whole number of worker processes, at least 1")
    timeout = options.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not math.isfinite(timeout) or timeout <= 0):
        problems.append(f"--timeout {timeout!r} must be a number of seconds greater than 0")
    if options.get("run") is not None:
        try:
            check_run_name(options["run"])
        except BatchError as err:
            problems.append(str(err).rstrip("."))
    if problems:
        raise BatchError("; ".join(dict.fromkeys(problems)) + "; nothing was rendered.")


def _current(manifest: dict[str, Any], task: Task, run_dir: Path) -> bool:
    entry = manifest.get("reports", {}).get(task.key)
    if not entry or entry.get("status") != "ok" or entry.get("fingerprint") != task.fingerprint:
        return False
    if task.pdf and "pdf" not in entry.get("outputs", {}):
        return False
    if task.docx and "docx" not in entry.get("outputs", {}):
        return False
    for out in entry.get("outputs", {}).values():
        path = run_dir / out["file"]
        if not path.is_file() or sha256_file(path) != out["sha256"]:
            return False
    return True


# --------------------------------------------------------------------------- running


class _PrintService:
    """The batch's one browser: a thread of the parent process prints every local worker's PDFs.

    Workers send ``(worker, page, pdf)`` on ``requests`` and wait for the answer on their own reply
    queue: ``None``, ``("os", errno, strerror, filename)`` or ``("error", message)``.  One Chromium
    (:class:`evalkit.render.PdfPrinter`, restarted once if it crashes) serves the whole run, and its
    start, which costs about 3.5 s of CPU, overlaps the planning; workers start no browser of their own.
    """

    def __init__(self, ctx, warm: bool) -> None:
        self.requests = ctx.Queue()
        self.replies: dict[int, Any] = {}
        self.ctx = ctx
        #: How many times the browser was started (0 without PDFs, 1 unless it crashed).
        self.launches = 0
        self.printer = None
        self.aborted = False
        self._thread = threading.Thread(target=self._serve, args=(warm,), name="evalkit-print", daemon=True)
        self._thread.start()

    def handle(self, worker_id: int) -> tuple:
        """What a new worker process needs to print through this service (its arguments)."""
        self.replies[worker_id] = self.ctx.Queue()
        return self.requests, self.replies[worker_id], worker_id

    def abort(self) -> None:
        """The batch is stopping: the browser is about to be killed, and must not be started again."""
        self.aborted = True
        if self.printer is not None:
            self.printer.stopping = True

    def _serve(self, warm: bool) -> None:
        printer = None
        if warm:
            try:
                from .render import PdfPrinter

                printer = self.printer = PdfPrinter()
                printer.warm()
                self.launches = printer.launches
            except Exception:  # noqa: BLE001 - no browser: each report that asks for a PDF says why
                pass
        try:
            while (request := self.requests.get()) is not None:
                worker_id, page, pdf = request
                try:
                    if printer is None:
                        from .render import PdfPrinter

                        printer = self.printer = PdfPrinter()
                        printer.stopping = self.aborted
                    try:
                        printer.print(page, pdf)
                    finally:
                        self.launches = printer.launches
                    answer = None
                except OSError as err:
                    answer = ("os", err.errno, err.strerror, err.filename)
                except BaseException as err:  # noqa: BLE001 - the report records it and the batch goes on
                    answer = ("error", f"{type(err).__name__}: {err}"
                              if not isinstance(err, EvalkitError) else str(err))
                reply = self.replies.get(worker_id)
                if reply is not None:
                    reply.put(answer)
        finally:
            if printer is not None:
                printer.close()

    def stop(self) -> None:
        """No more pages: the browser stops once it has printed what was asked."""
        self.requests.put(None)

    def close(self) -> None:
        self.stop()
        self._thread.join(timeout=60)


def _watch_batch(batch_pid: int) -> None:
    """A worker's watch on the batch that started it: when the batch is gone (even by SIGKILL), the worker and
    its kernel go too, within a second, whatever the worker's main thread is doing."""
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if not _alive(batch_pid):
                worker_exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="evalkit-watch", daemon=True).start()


def _worker_main(tasks, results, warm: dict[str, Any], ready, go, printing: tuple | None = None,
                 env: dict[str, str] | None = None, batch_pid: int | None = None) -> None:
    """A local worker process: render tasks until told to stop, then close its kernel and browser.

    It starts while the parent still validates and plans, and spends that time loading papermill,
    nbconvert and the page templates and starting its kernel and browser; once the parent has
    validated the province (``ready``), the kernel reads its table, so that the first report pays
    for none of this.

    ``env`` is the parent's environment when it started this worker: a worker forked from the fork
    server would otherwise see the environment the server started with (``SOURCE_DATE_EPOCH``,
    ``EVALKIT_CACHE``, ... set since then would be missing, for the worker and for its kernel).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the batch, which stops its workers
    # SIGTERM or SIGHUP (from the batch stopping, from systemd, or from Linux when the fork server dies):
    # the kernel goes with the worker
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: worker_exit(128 + signum))
    _die_with_parent()
    if batch_pid is not None:
        _watch_batch(batch_pid)
    if env is not None:
        import tempfile

        os.environ.clear()
        os.environ.update(env)
        tempfile.tempdir = None  # the batch's private temporary folder (TMPDIR), for the kernel's sockets too
    skip_unused_imports()
    worker = current_worker()
    if printing is not None:
        worker.remote = RemotePrinter(*printing)
    try:
        # the kernel starts first (its boot is the longest wait), then nbconvert and the page templates
        # load and the browser starts while it boots; the table is read now if it is cached, else once
        # the parent has validated the province
        worker.prepare(warm["notebook"], warm["data_dir"] if warm.get("cached", True) else None, warm["confidence"],
                       warm["pdf"], build=False, year=warm["year"])
        ready.wait()
        if go.value:  # the province passed validation (and its table is cached) and there is work
            worker.kernel.run(WARM_UP.format(data_dir=warm["data_dir"], confidence=warm["confidence"], build=True,
                                             year=warm["year"]))
    except Exception:  # noqa: BLE001 - a real failure shows, with its message, on the first report
        pass
    try:
        while (task := tasks.get()) is not None:
            results.put(("start", task.key, os.getpid()))
            results.put(("done", render_one(task), os.getpid()))
    finally:
        worker.close()


def _failure(task: Task, error: str) -> dict[str, Any]:
    return {"key": task.key, "status": "failed", "fingerprint": task.fingerprint, "parameters": task.parameters,
            "outputs": {}, "durations": {}, "error": error}


class _Pool:
    """``jobs`` local worker processes fed from one queue; a process that dies is recorded against its task
    and replaced."""

    def __init__(self, jobs: int, warm: dict[str, Any]) -> None:
        import multiprocessing as mp

        # workers are forked from a fork server that has loaded what they need once (evalkit._worker_preload):
        # a new worker costs a fork, not 2.5 s of imports; the server has no threads, so forking it is safe
        self.ctx = mp.get_context("forkserver")
        self.ctx.set_forkserver_preload(["evalkit._worker_preload"])
        self.todo, self.results = self.ctx.Queue(), self.ctx.Queue()
        self.warm, self.ready, self.go = warm, self.ctx.Event(), self.ctx.Value("b", 0)
        self.procs: dict[int, Any] = {}
        self.printing = _PrintService(self.ctx, bool(warm.get("pdf")))  # the run's one browser
        self._started = 0
        self._finished = False
        for _ in range(max(1, jobs)):
            self._start()

    def start_warming(self, go: bool = True) -> None:
        """Tell the workers the province is validated (they read its table into their kernels), or not."""
        self.go.value = int(go)
        self.ready.set()

    def _start(self) -> None:
        self._started += 1
        proc = self.ctx.Process(target=_worker_main, args=(self.todo, self.results, self.warm, self.ready, self.go,
                                                           self.printing.handle(self._started), dict(os.environ),
                                                           os.getpid()),
                                daemon=False)
        proc.start()
        self.procs[proc.pid] = proc

    def run(self, tasks: list[Task], check: Callable[[], None] = lambda: None) -> Iterable[dict[str, Any]]:
        """The tasks' results as they come; ``check`` is called at least once a second while waiting."""
        import queue

        for task in tasks:
            self.todo.put(task)
        by_key = {task.key: task for task in tasks}
        current: dict[int, str] = {}
        left = len(tasks)
        while left:
            try:
                kind, payload, pid = self.results.get(timeout=1.0)
            except queue.Empty:
                check()
                for pid, proc in list(self.procs.items()):
                    if not proc.is_alive():
                        del self.procs[pid]
                        key = current.pop(pid, None)
                        if key is not None:
                            left -= 1
                            yield _failure(by_key[key], f"worker process {pid} died (exit code {proc.exitcode})")
                        self._start()
                continue
            if kind == "start":
                current[pid] = payload
            else:
                current.pop(pid, None)
                left -= 1
                yield payload

    def finish(self) -> None:
        """No more work: the workers close their kernels and the browser stops, while the parent writes the
        manifest and the index."""
        if not self._finished:
            self._finished = True
            self.ready.set()
            for _ in self.procs:
                self.todo.put(None)
            self.printing.stop()

    def close(self) -> None:
        self.finish()
        for proc in self.procs.values():
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
        self.printing.close()

    def stop(self, keep: set[int]) -> None:
        """Stop at once (the batch was told to stop): every worker (which kills its kernel), the fork server,
        the browser and its driver; every process below this one that is not in ``keep`` (those running
        before the batch started).  Within about two seconds."""
        self._finished = True
        keep = keep | {_tracker_pid()}
        self.printing.abort()
        doomed = _descendants(os.getpid()) - keep
        _signal_all([pid for pid in self.procs], signal.SIGTERM)  # each kills its kernel and exits
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(_alive(pid) for pid in self.procs):
            time.sleep(0.05)
        doomed |= _descendants(os.getpid()) - keep
        _signal_all(doomed, signal.SIGKILL)
        for q in [self.todo, self.results, self.printing.requests, *self.printing.replies.values()]:
            q.cancel_join_thread()  # nobody reads them any more: exiting must not wait to flush them
        for proc in self.procs.values():
            proc.join(timeout=1)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(_alive(pid) for pid in doomed):
            time.sleep(0.05)


def _dask_connect(scheduler: str, wait: float, log: Callable[[str], None], pdf: bool = True):
    """A client of the Dask scheduler at ``scheduler``; a :class:`BatchError` (before any folder is made) when it
    cannot be reached within ``wait`` seconds (at most 30).  Says how many workers and threads it found, and has
    them start their kernels (and browsers, with ``pdf``) now (:func:`evalkit.execute.preload_dask_worker`)."""
    from distributed import Client

    from .execute import preload_dask_worker

    try:
        client = Client(scheduler, timeout=f"{min(wait, 30.0):g}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler} ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no answer'}); nothing was rendered. Start it "
                         "(`dask scheduler`) or check the address (--scheduler tcp://HOST:8786).") from None
    threads = client.nthreads()
    log(f"evalkit batch: Dask scheduler {scheduler}: {len(threads)} worker(s), {sum(threads.values())} thread(s).")
    try:  # while this client validates and plans (a worker started with the preload is ready, or getting ready)
        client.run(preload_dask_worker, pdf=pdf)  # returns at once: the workers get ready in their slots' threads
    except Exception:  # noqa: BLE001 - not ready: each worker thread's first report starts what it needs
        pass
    return client


def _dask_run(client, tasks: list[Task], p: Plan, worker_timeout: float, log: Callable[[str], None],
              check: Callable[[], None] = lambda: None, ready: Callable[[], Any] = lambda: None
              ) -> Iterable[dict[str, Any]]:
    """The tasks' results from the Dask cluster, each report's files written here as it arrives.

    What a report reads (the cache entries of the table, scores and small-area estimates, the notebook, the
    scanner) is scattered once, each blob named by its SHA-256, and wanted by the client until the run ends; a
    task carries the settings that shape it (:func:`evalkit.execute.shaping_env`).  A future is released as
    soon as its result is taken, so a finished report is never made again when a worker is lost; a report whose
    worker is lost is made again once elsewhere (by the scheduler, or sent again with its inputs when they were
    lost too), and fails when that worker is lost too.  With no worker for ``worker_timeout`` seconds, the
    reports not made fail with that reason."""
    import uuid
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed import wait as dask_wait

    from .execute import RemoteTask, render_remote, shaping_env
    from .results import cached_entries, report_code_hash

    if not tasks:
        return
    year = p.info["year"]
    ready()  # the scores, computed for the index, are sent too (cached_entries prepares what a report reads)
    blobs: dict[str, bytes] = {}

    def add(path: Path) -> str:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        blobs[sha] = data
        return sha

    cache = {path.name: add(path) for path in cached_entries(p.data, year)}
    notebooks = {nb: add(Path(nb)) for nb in {t.notebook for t in tasks}}
    scanners = {sc: add(Path(sc)) for sc in {t.scanner for t in tasks if t.scanner}}
    env, code = shaping_env(), report_code_hash()

    def fail_all(pending: dict, why: str) -> Iterable[dict[str, Any]]:
        for fut, task in list(pending.items()):
            fut.cancel()
            del pending[fut]
            yield _failure(task, why)

    def no_workers_for(limit: float) -> bool:
        """Wait up to ``limit`` seconds for a worker; whether there was none all along."""
        deadline = time.monotonic() + limit
        while not client.nthreads():
            check()
            if time.monotonic() > deadline:
                return True
            time.sleep(0.5)
        return False

    gone = (f"no Dask worker was connected to {client.scheduler.address} for {worker_timeout:g} s (--worker-timeout); "
            "this report was not made")
    if no_workers_for(worker_timeout):
        log(f"evalkit batch: {gone.split(';')[0]}; {len(tasks)} report(s) not made. Start workers and run again.")
        for task in tasks:
            yield _failure(task, gone)
        return
    check()
    # each blob is sent once to each worker that needs it; the client keeps wanting it until the end (Dask forgets
    # scattered data nobody wants), and sends it again if every worker holding it was lost
    held: dict[str, Any] = {}
    run = uuid.uuid4().hex[:8]
    pending: dict[Any, Task] = {}
    earlier: dict[str, int] = {}  # by future's key: how many times the report's worker was lost before it
    twice = ("its Dask worker was lost while it was being made, and so was the worker that made it again; not "
             "tried a third time")

    def send(task: Task, lost: int = 0) -> dict[str, Any] | None:
        """Submit ``task`` (its inputs sent where missing); its failure when no worker took the inputs in time."""
        needs = [*cache.values(), notebooks[task.notebook], *([scanners[task.scanner]] if task.scanner else [])]
        again = {f"evalkit-blob-{sha}": blobs[sha] for sha in needs if sha not in held
                 or held[sha].status != "finished"}
        if again:
            try:
                held.update({k.removeprefix("evalkit-blob-"): f for k, f in
                             client.scatter(again, broadcast=True, hash=False, timeout=worker_timeout).items()})
            except (TimeoutError, OSError):
                return _failure(task, gone)
        job = RemoteTask(task, env, code, p.inputs, cache, notebooks[task.notebook],
                         scanners.get(task.scanner) if task.scanner else None)
        fut = client.submit(render_remote, job, {sha: held[sha] for sha in needs},
                            key=f"evalkit-{task.key}-{task.fingerprint[:12]}-{run}-{lost}", pure=False, retries=0)
        pending[fut] = task
        earlier[fut.key] = lost
        return None

    for task in tasks:
        failed = send(task)
        if failed is not None:
            yield failed

    seen: dict[str, int] = {}  # by key: the most losses counted so far (the scheduler's log is bounded)

    def losses(keys: list[str]) -> dict[str, int]:
        """How many times the worker making each task was lost while it ran: every ``processing -> released`` of
        the key in the scheduler's transition log (kept after the scheduler forgot the task, as it does when the
        lost worker took the last copy of an input), or the task's own count (``suspicious``) while the scheduler
        knows it, or the most counted before, whichever is larger."""
        def count(dask_scheduler=None, keys=keys):
            found = dict.fromkeys(keys, 0)
            for e in dask_scheduler.transition_log:
                if e[0] in found and e[1] == "processing" and e[2] == "released":
                    found[e[0]] += 1
            return {k: max(n, dask_scheduler.tasks[k].suspicious if k in dask_scheduler.tasks else 0)
                    for k, n in found.items()}

        counts = client.run_on_scheduler(count)
        seen.update({k: max(n, seen.get(k, 0)) for k, n in counts.items()})
        return {k: seen[k] for k in keys}

    workers = set(client.nthreads())
    idle_since: float | None = None
    while pending:
        check()
        try:
            with client.as_current():
                done, _ = dask_wait(list(pending), timeout=1.0, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except CancelledError:  # a task the scheduler gave up on: taken below with the others that are done
            done = {f for f in pending if f.status in ("finished", "error", "cancelled")}
        for fut in done:
            task = pending.pop(fut)
            try:
                result = fut.result()
            except CancelledError:  # forgotten by the scheduler: its worker was lost with the only copy of an input
                fut.release()
                # how often its worker was lost while it ran: the scheduler may have made it again on another
                # worker (with the inputs) before that one was lost too, taking the last copy of an input with it
                lost = earlier[fut.key] + max(1, losses([fut.key])[fut.key])
                if lost < 2:  # made again once, its inputs sent again
                    result = send(task, lost)
                    if result is None:
                        continue
                else:
                    result = _failure(task, twice)
            except KilledWorker as err:  # the scheduler's own limit (distributed.scheduler.allowed-failures)
                times = getattr(err, "allowed_failures", None)
                result = _failure(task, "its Dask worker was lost while it was being made, "
                                  + (f"{times + 1} times" if isinstance(times, int) else "again and again")
                                  + " (the scheduler's limit, distributed.scheduler.allowed-failures); not tried again")
            except BaseException as err:  # noqa: BLE001 - a task the cluster could not run: the report fails
                result = _failure(task, f"the Dask cluster could not make it: {type(err).__name__}: {err}"[:2000])
            fut.release()  # released at once: a finished report is never made again
            yield _publish(p.run_dir, result)
        now = set(client.nthreads())
        if now < workers or now - workers:
            if workers - now and pending:
                counts = losses([f.key for f in pending])
                for fut, task in list(pending.items()):
                    if counts[fut.key] + earlier[fut.key] >= 2:
                        fut.cancel()
                        del pending[fut]
                        yield _failure(task, twice)
            workers = now
        if now:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > worker_timeout and pending:
            log(f"evalkit batch: {gone.split(';')[0]}; {len(pending)} report(s) not made. Start workers and run "
                "again.")
            yield from fail_all(pending, gone)
    held.clear()


def _publish(run_dir: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Write the files a Dask worker sent with ``result`` into ``run_dir``, all of them atomically, and record
    them in it (``outputs``); a file that does not match its hash, or a write the disk refuses, fails the report
    and leaves its previous files as they were."""
    files = result.pop("files", None) or {}
    if result.get("status") != "ok":
        return result
    try:
        with ExitStack() as stack:
            for kind, out in result["outputs"].items():
                data = files[kind]
                if hashlib.sha256(data).hexdigest() != out["sha256"]:
                    raise ValueError(f"{out['file']} did not arrive whole from {result.get('worker')}")
                stack.enter_context(atomic_path(run_dir / out["file"])).write_bytes(data)
    except (OSError, ValueError, KeyError) as err:
        reason = (f"cannot write it in {run_dir}: {os_reason(err)}" if isinstance(err, OSError)
                  else f"{type(err).__name__}: {err}")
        result.update(status="failed", outputs={}, error=f"{reason}; this report's files were left as they were")
    return result


def run_batch(data_dir: str | Path, *, jobs: int | None = None, scheduler: str | None = None,
              progress: bool = True, log: Callable[[str], None] | None = None, worker_timeout: float = 120.0,
              **options: Any) -> dict[str, Any]:
    """Render every chosen county report (and the overview and index); return the manifest.

    Options are those of :func:`plan`.  The manifest's ``summary`` counts rendered, skipped and
    failed reports; ``evalkit batch`` exits non-zero when any failed.  With ``scheduler`` (a Dask
    scheduler's address) the reports are made on its workers, which need evalkit and Chromium only
    (``docs/cluster.md``); ``worker_timeout``: seconds without any worker before the batch gives up.
    """
    import shutil
    import tempfile

    log = log or (lambda m: print(m, file=sys.stderr))
    wait = bool(options.pop("wait", False))
    check_request(options, jobs=jobs)  # before any process, kernel or file
    if isinstance(worker_timeout, bool) or not isinstance(worker_timeout, (int, float)) or not worker_timeout > 0:
        raise BatchError(f"--worker-timeout {worker_timeout!r} must be a number of seconds greater than 0; nothing "
                         "was rendered.")
    if os.environ.get("EVALKIT_CACHE"):  # kernels run in notebooks/: a relative cache folder would move there
        os.environ["EVALKIT_CACHE"] = str(cache_dir())
    if options.get("force"):  # --force builds the caches again too (the table, scanner, scores, small-area fit)
        from . import fingerprint

        fingerprint.force_rebuild()
    warm = {"notebook": str(options.get("notebook", COUNTY_NOTEBOOK)), "data_dir": str(Path(data_dir).resolve()),
            "confidence": float(options.get("confidence", 0.95)), "pdf": options.get("pdf", True),
            "year": options.get("year"), "cached": not options.get("force")}
    state: dict[str, Any] = {"wait": wait, "log": log}
    stopped: BatchStopped | None = None
    keep = _descendants(os.getpid())  # processes running before the batch: never stopped by it
    old_tmp = os.environ.get("TMPDIR")
    with _StopSignals() as signals:
        state["signals"] = signals
        # everything the batch's processes put in the temporary folder (kernels' sockets, the browser's profile,
        # caches of the libraries) goes into one private folder, removed when the batch ends, however it ends
        from multiprocessing import util

        util.get_temp_dir()  # multiprocessing's own folder (the fork server's socket) stays where it was: it outlives us
        _remove_orphaned_temp()
        tmp = tempfile.mkdtemp(prefix=f"evalkit-{os.getpid()}-", dir=_short_temp())
        os.environ["TMPDIR"] = tmp
        tempfile.tempdir = None
        pool = None
        manifest: dict[str, Any] = {}
        try:
            # workers start, and warm up, while the province is validated and the work planned
            if scheduler:  # an unreachable scheduler is said before any folder is made
                state["dask"] = _dask_connect(scheduler, worker_timeout, log, pdf=options.get("pdf", True))
                state["worker_timeout"] = worker_timeout
            pool = None if scheduler else _Pool(jobs or os.cpu_count() or 1, warm)
            manifest = _run(pool, data_dir, scheduler, progress, log, options, state)
            signals.check()
        except BatchStopped as err:
            stopped = err
        except Exception:
            if signals.received is None:
                raise
            # the stop's raise came out as another error: the code it interrupted wrapped it (Python 3.11 wraps
            # what a class body's __set_name__ raises, as in a module imported at that moment, in a RuntimeError)
            stopped = BatchStopped(signals.received)
        finally:
            if stopped is None and pool is not None:
                try:  # the workers close their kernels; a stop signal now stops them at once instead
                    pool.close()
                    signals.check()
                except BatchStopped as err:
                    stopped = err
            with signals.critical():  # the clean-up is not interrupted
                if state.get("dask") is not None:  # what is still queued on the cluster is cancelled with it
                    with suppress(Exception):
                        state["dask"].close(timeout=10)
                if stopped is not None:
                    if state.get("bar") is not None:
                        with suppress(Exception):
                            state["bar"].close()
                    if pool is not None:
                        pool.stop(keep)
                    _signal_all(_descendants(os.getpid()) - keep - {_tracker_pid()}, signal.SIGKILL)
                    if state.get("run_dir") is not None and state.get("lock") is not None:
                        _clean_leftovers(state["run_dir"])  # ours: the folder is locked
                if state.get("lock") is not None:
                    state["lock"].release()
                if old_tmp is None:
                    os.environ.pop("TMPDIR", None)
                else:
                    os.environ["TMPDIR"] = old_tmp
                tempfile.tempdir = None
                shutil.rmtree(tmp, ignore_errors=True)
                if options.get("force"):
                    from . import fingerprint

                    fingerprint.force_rebuild(False)
    if stopped is None:
        return manifest
    raise BatchStopped(stopped.signum, _stopped_message(stopped.signum, state)) from None


def _remove_orphaned_temp() -> None:
    """Remove the private temporary folders of batches on this machine that were killed (SIGKILL leaves them)."""
    import shutil

    for path in Path(_short_temp()).glob("evalkit-*-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _short_temp() -> str:
    """The temporary folder, or ``/tmp`` when its path is long: Chromium and the kernels put Unix sockets a few
    folders below it, and a socket's path has at most 107 bytes."""
    import tempfile

    base = tempfile.gettempdir()
    return "/tmp" if len(base) > 35 and os.path.isdir("/tmp") else base


def _tracker_pid() -> int:
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None) or 0


def _stopped_message(signum: int, state: dict[str, Any]) -> str:
    """The one line ``evalkit batch`` prints when it was stopped: what is kept and where."""
    name = signal.Signals(signum).name
    manifest = state.get("manifest")
    if manifest is None or state.get("run_dir") is None:
        return (f"evalkit batch: stopped by {name} before any report was rendered; workers, kernels and browser "
                "stopped, temporary files removed.")
    done = sum(1 for key in state.get("recorded", ()) if manifest["reports"].get(key, {}).get("status") == "ok")
    return (f"evalkit batch: stopped by {name}; {done} of {state.get('todo', 0)} report(s) made in this run are "
            f"recorded in {state['run_dir'] / 'manifest.json'}, the rest are made by the next run; workers, kernels "
            "and browser stopped, temporary files removed.")


def _run(pool: _Pool | None, data_dir, scheduler: str | None, progress: bool, log: Callable[[str], None],
         options: dict[str, Any], state: dict[str, Any] | None = None) -> dict[str, Any]:
    state = state if state is not None else {}
    p = plan(data_dir, _state=state, **options)
    if options.get("force") and pool is not None:  # the caches were built again: the workers read them once built
        p.data.prepare(p.info["year"])
    todo = [task for task in p.tasks if task.key not in p.skip]
    if pool is not None:
        pool.start_warming(go=bool(todo))
    # the index shows every county's grade: computed here while the workers warm up and render
    scoring = threading.Thread(target=p.data.scores, args=(p.info["year"],), daemon=True)
    scoring.start()
    if any(task.pdf for task in todo):
        from .render import find_chromium

        if find_chromium() is None:
            from .report.i18n import t

            log(t("page.pdf_missing", "en"))
            for task in todo:
                task.pdf = False
    manifest = p.manifest
    manifest.update({"version": MANIFEST_VERSION, "evalkit_version": __version__, "data_dir": str(p.data.data_dir),
                     "inputs": p.inputs, **p.info})
    reports = manifest.setdefault("reports", {})
    state.update(manifest=manifest, todo=len(todo), recorded=[])
    # entries for counties no longer chosen stay (a partial run does not forget the others)
    started = time.time()
    log(f"evalkit batch: {len(p.tasks)} reports in {p.run_dir}: {len(todo)} to render, {len(p.skip)} unchanged.")
    for key in p.skip:
        reports[key]["status"] = "ok"
        reports[key]["last_run"] = "skipped"
    unwritten: dict[str, OSError] = {}  # manifest.json or index.html, when the disk refused them
    critical = state["signals"].critical if state.get("signals") else suppress

    def save() -> None:
        """Write the manifest; when the disk refuses (full, read-only), say so once and go on: the
        manifest there stays the last one written, whole, and the next run makes what it does not record."""
        try:
            with critical():  # a stop signal waits until the manifest is written whole
                _save_manifest(p.run_dir, manifest)
            unwritten.pop("manifest.json", None)
        except OSError as err:
            if "manifest.json" not in unwritten:
                log(f"evalkit batch: cannot update {p.run_dir / 'manifest.json'}: {os_reason(err)}; the batch goes "
                    "on and tries again after each report.")
            unwritten["manifest.json"] = err

    save()
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="report", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        state["bar"] = bar
    check = state["signals"].check if state.get("signals") else (lambda: None)
    check()
    results = (_dask_run(state["dask"], todo, p, state["worker_timeout"], log, check, scoring.join) if scheduler
               else pool.run(todo, check))
    failed = []
    for result in results:
        check()  # a report that failed because a stop signal killed its browser is not recorded as failed
        key = result["key"]
        result["evalkit_version"] = __version__
        result["inputs"] = p.inputs
        result["notebook_sha256"] = sha256_file(Path(next(t.notebook for t in p.tasks if t.key == key)))
        result["last_run"] = "rendered" if result["status"] == "ok" else "failed"
        reports[key] = result
        save()
        state["recorded"].append(key)
        if result["status"] != "ok":
            failed.append(key)
            log(f"evalkit batch: {key} failed: {result['error']}")
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"failed {len(failed)}" if failed else key)
    check()
    if bar is not None:
        bar.close()
    if pool is not None:
        pool.finish()
    scoring.join()
    manifest["summary"] = {"reports": len(p.tasks), "rendered": len(todo) - len(failed), "skipped": len(p.skip),
                           "failed": len(failed), "failed_keys": sorted(failed),
                           "seconds": round(time.time() - started, 1)}
    if pool is not None:  # local workers print through one browser; Dask workers each start their own
        manifest["summary"]["browser_launches"] = pool.printing.launches
    save()  # the manifest first: it is what the next run goes by
    try:
        _write_index(p, manifest)
    except OSError as err:
        unwritten["index.html"] = err
    if unwritten:
        s = manifest["summary"]
        failures = f" ({', '.join(s['failed_keys'])})" if s["failed_keys"] else ""
        consequence = {"manifest.json": "the manifest there is the last one written and is whole; the next run makes "
                                        "again every report it does not record as done",
                       "index.html": "the index page there is out of date"}
        raise BatchError(
            "; ".join(f"cannot write {name} in {p.run_dir}: {os_reason(err)}: {consequence[name]}"
                      for name, err in unwritten.items())
            + f". This run: {s['rendered']} rendered, {s['skipped']} unchanged, {s['failed']} failed{failures}. "
            "Free some space (or make the folder writable) and run again.")
    return manifest


def _save_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    write_atomic(run_dir / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False,
                                                       sort_keys=True).encode("utf-8"))


def _write_index(p: Plan, manifest: dict[str, Any]) -> None:
    from .render import index_html
    from .report.overview import index_page

    html = index_html(**index_page(p.data, manifest, year=p.info["year"], lang=p.info["lang"],
                                   keys=[t.key for t in p.tasks if t.key != "overview"], run_dir=p.run_dir))
    scanner = next((t.scanner for t in p.tasks if t.scanner), None)
    if scanner:
        from .results import load_scanner

        findings = load_scanner(scanner).text(html, file="index.html")
        if findings:
            raise PersonalDataFound(findings)
    write_atomic(p.run_dir / "index.html", html.encode("utf-8"))
