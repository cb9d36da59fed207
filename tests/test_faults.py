"""Faults (issue 6, items 4 and 5), end to end: see the table in docs/robustness.md.

A full disk (a small tmpfs), a read-only output folder (a read-only bind mount: root ignores file
modes), a manifest that cannot be written, and SIGKILL of one kernel or one worker process in the middle
of a report: each ends with a clear message, leaves no partial or temporary file visible and a valid
manifest, and a re-run completes.  And with ``SOURCE_DATE_EPOCH`` set, a forced re-run writes the same
bytes: every page, notebook and PDF.

The file-system faults run the real ``evalkit batch`` inside a private mount namespace (``unshare``;
as root, or with ``--map-root-user`` otherwise), so nothing is mounted outside the test.  SIGKILL of the
whole batch, a hung cell, a kernel that kills itself and a corrupt manifest are in tests/test_batch.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from evalkit.batch import COUNTY_NOTEBOOK, BatchError, run_batch
from conftest import EPOCH, run_evalkit

COUNTIES = ["090102", "090121", "090202", "090221"]
RUN = "small-2025-en"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(run_dir: Path) -> dict[str, str]:
    """Every file under ``run_dir`` (hidden ones too) and its SHA-256."""
    return {str(p.relative_to(run_dir)): _sha(p) for p in sorted(run_dir.rglob("*")) if p.is_file()}


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def _assert_whole(run_dir: Path) -> dict:
    """No temporary file; a valid manifest whose every recorded output is there with its hash; every page,
    notebook and PDF complete.  Returns the manifest."""
    from pypdf import PdfReader

    files = _files(run_dir)
    assert not [f for f in files if ".tmp" in f or Path(f).name.startswith(".")], files
    manifest = _manifest(run_dir)
    for key, entry in manifest["reports"].items():
        for out in entry["outputs"].values() if entry["status"] == "ok" else ():
            assert files.get(out["file"]) == out["sha256"], (key, out)
    for name in files:
        path = run_dir / name
        if name.endswith(".html"):
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), name
        elif name.endswith(".pdf"):
            assert path.read_bytes().rstrip().endswith(b"%%EOF") and len(PdfReader(path).pages) > 0, name
        elif name.endswith(".ipynb"):
            nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    return manifest


def _report_files(key: str) -> list[str]:
    return [f"{key}.html", f"{key}.pdf", f"notebooks/{key}.ipynb"]


def _in_namespace(script: str, env: dict[str, str], timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) in a private mount namespace, where it may mount tmpfs and bind mounts."""
    assert shutil.which("unshare"), "these tests need unshare (util-linux)"
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix.insert(1, "--map-root-user")
    done = subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PY": sys.executable, **env})
    assert done.returncode == 0, f"the namespace script failed: {done.stdout}\n{done.stderr}"
    return done


#: ``run N [options]``: the batch into $OUT, its output in $RES/N.out, .err and .rc.
_RUN = """
set -u
run() {
  n=$1; shift
  "$PY" -m evalkit.cli batch "$DATA" --out "$OUT" --jobs 1 --no-progress "$@" >"$RES/$n.out" 2>"$RES/$n.err"
  echo $? >"$RES/$n.rc"
}
"""


def _result(res: Path, n: int) -> tuple[int, str]:
    """Exit status and everything printed by run ``n``."""
    return (int((res / f"{n}.rc").read_text()),
            (res / f"{n}.out").read_text(encoding="utf-8") + (res / f"{n}.err").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- a full disk


def test_a_full_disk_fails_the_counties_it_hits_and_a_rerun_completes(small_province, small_batch, tmp_path):
    """The batch writes into a tmpfs with room for about half of its files; then the tmpfs grows and the
    batch runs again; then the disk is filled to the brim before a third run starts."""
    complete = sum(p.stat().st_size for p in small_batch.rglob("*") if p.is_file())
    size_kb = max(256, complete // 2 // 4096 * 4)
    out, res = tmp_path / "out", tmp_path / "res"
    out.mkdir()
    res.mkdir()
    script = _RUN + f"""
mkdir -p "$RES/snap1" "$RES/snap2" "$RES/snap3"
mount -t tmpfs -o size={size_kb}k evalkit-full "$OUT"
run 1 --pdf yes
cp -a "$OUT/." "$RES/snap1/"
mount -o remount,size=100m "$OUT"
run 2 --pdf yes
cp -a "$OUT/." "$RES/snap2/"
mount -o remount,size=$(( $(df -k --output=used "$OUT" | tail -n 1) + 256 ))k "$OUT"
dd if=/dev/zero of="$OUT/filler" bs=4096 2>/dev/null
run 3 --pdf yes --force
rm "$OUT/filler"
cp -a "$OUT/." "$RES/snap3/"
"""
    _in_namespace(script, {"DATA": str(small_province), "OUT": str(out), "RES": str(res),
                           "EVALKIT_CACHE": str(tmp_path / "cache")})

    # 1. out of space midway: the counties hit fail, each with a message naming the file and the cause
    status, printed = _result(res, 1)
    assert status == 1 and "Traceback" not in printed, printed
    run1 = res / "snap1" / RUN
    m1 = _assert_whole(run1)
    failed = [k for k, v in m1["reports"].items() if v["status"] == "failed"]
    done = [k for k, v in m1["reports"].items() if v["status"] == "ok"]
    assert failed and done, f"the disk should fill midway ({size_kb} kB): {printed}"
    for key in failed:
        assert f"evalkit batch: {key} failed: cannot write " in printed
        assert "No space left on device (ENOSPC)" in m1["reports"][key]["error"]
        assert not [f for f in _report_files(key) if (run1 / f).exists()], "a failed report left files"
    if "cannot write manifest.json" in printed:  # the manifest itself did not fit: said so, the old one kept
        assert "the manifest there is the last one written" in printed
    else:
        assert f"{len(done)} rendered, 0 unchanged, {len(failed)} failed" in printed

    # 2. room again: only what run 1 did not record as done is made
    status, printed = _result(res, 2)
    assert status == 0, printed
    run2 = res / "snap2" / RUN
    m2 = _assert_whole(run2)
    assert all(v["status"] == "ok" for v in m2["reports"].values()) and len(m2["reports"]) == 5
    assert {k for k, v in m2["reports"].items() if v["last_run"] == "rendered"} == set(failed)
    assert {k for k, v in m2["reports"].items() if v["last_run"] == "skipped"} == set(done)
    for key in done:  # what run 1 made is untouched
        for f in _report_files(key):
            assert _sha(run2 / f) == _sha(run1 / f)

    # 3. no room at all when a run starts: refused before anything is rendered, nothing changed
    status, printed = _result(res, 3)
    assert status == 1 and "Traceback" not in printed
    assert f"cannot write in the output folder {out / RUN}: No space left on device; nothing was rendered" in printed
    assert _files(res / "snap3" / RUN) == _files(run2)


def test_a_manifest_that_cannot_be_written_ends_with_a_clear_message(small_province, tmp_path, monkeypatch):
    """The disk refuses manifest.json and index.html during a run: the reports are made, the batch says what it
    could not write and what that means, the previous manifest and index stay, whole; the next run completes."""
    import evalkit.batch as batch

    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    options = {"jobs": 1, "progress": False, "out": tmp_path, "overview": False, "pdf": False}
    run_batch(small_province, counties=["090102"], log=lambda _: None, **options)
    run_dir = tmp_path / RUN
    before = (run_dir / "manifest.json").read_bytes()
    index = (run_dir / "index.html").read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real = batch._save_manifest, batch._write_index
    monkeypatch.setattr(batch, "_save_manifest", no_space)
    monkeypatch.setattr(batch, "_write_index", no_space)
    logged: list[str] = []
    with pytest.raises(BatchError) as err:
        run_batch(small_province, counties=["090102", "090121"], log=logged.append, **options)
    message = str(err.value)
    assert (f"cannot write manifest.json in {run_dir}: No space left on device (ENOSPC): the manifest there is the "
            "last one written and is whole; the next run makes again every report it does not record as done"
            in message)
    assert (f"cannot write index.html in {run_dir}: No space left on device (ENOSPC): the index page there is out of "
            "date" in message)
    assert "This run: 1 rendered, 1 unchanged, 0 failed. Free some space" in message
    assert sum("cannot update" in line and "manifest.json" in line for line in logged) == 1  # said once
    assert (run_dir / "manifest.json").read_bytes() == before
    assert (run_dir / "index.html").read_bytes() == index
    assert (run_dir / "090121.html").is_file()
    monkeypatch.setattr(batch, "_save_manifest", real[0])
    monkeypatch.setattr(batch, "_write_index", real[1])
    m = run_batch(small_province, counties=["090102", "090121"], log=lambda _: None, **options)
    assert {k: v["last_run"] for k, v in m["reports"].items()} == {"090102": "skipped", "090121": "rendered"}
    _assert_whole(run_dir)


# --------------------------------------------------------------------------- a read-only output folder


def test_a_read_only_output_folder_is_refused_before_rendering_and_a_rerun_completes(small_province, small_batch,
                                                                                     tmp_path):
    """The previous run lacks one county; its folder is mounted read-only (root ignores file modes, a
    mount does not): the batch stops before rendering with the reason, nothing changes; once writable,
    the re-run makes the missing county."""
    out, res = tmp_path / "out", tmp_path / "res"
    shutil.copytree(small_batch, out / RUN)
    manifest = _manifest(out / RUN)
    del manifest["reports"]["090221"]
    (out / RUN / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for f in _report_files("090221"):
        (out / RUN / f).unlink()
    res.mkdir()
    script = _RUN + """
state() { (cd "$OUT" && find . -printf '%p %s %T@\\n' && find . -type f -exec sha256sum {} +) | sort; }
state >"$RES/before"
mount --bind "$OUT" "$OUT"
mount -o remount,bind,ro "$OUT"
run 1 --pdf yes
run 2 --pdf yes --run fresh
umount "$OUT"
state >"$RES/after"
run 3 --pdf yes
"""
    _in_namespace(script, {"DATA": str(small_province), "OUT": str(out), "RES": str(res),
                           "EVALKIT_CACHE": str(tmp_path / "cache")})
    status, printed = _result(res, 1)
    assert status == 1 and "Traceback" not in printed
    assert (f"evalkit: cannot write in the output folder {out / RUN}: Read-only file system; nothing was rendered. "
            "Choose another folder with --out, or make this one writable.") in printed
    status, printed = _result(res, 2)
    assert status == 1 and "Traceback" not in printed
    assert f"cannot create the output folder {out / 'fresh'}: Read-only file system; nothing was rendered" in printed
    # nothing changed: every file and folder, its size, time and content
    assert (res / "after").read_text() == (res / "before").read_text()
    assert "./small-2025-en/manifest.json" in (res / "before").read_text()
    status, printed = _result(res, 3)
    assert status == 0, printed
    m = _assert_whole(out / RUN)
    assert {k for k, v in m["reports"].items() if v["last_run"] == "rendered"} == {"090221"}
    assert all(v["status"] == "ok" for v in m["reports"].values()) and len(m["reports"]) == 5
    assert not (out / "fresh").exists()


# --------------------------------------------------------------------------- SIGKILL of one kernel or worker


def _pausing_notebook(tmp_path: Path) -> Path:
    """The county report with one extra cell: for 090121, when $EVALKIT_TEST_PIDS names a file, it writes its
    kernel's and its worker's process ids there and waits, so that the test can kill either mid-report."""
    nb = nbformat.read(str(COUNTY_NOTEBOOK), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        "import os as _os, time as _time\n"
        "if county_code == '090121' and _os.environ.get('EVALKIT_TEST_PIDS'):\n"
        "    with open(_os.environ['EVALKIT_TEST_PIDS'] + '.part', 'w') as _f:\n"
        "        _f.write(f'{_os.getpid()} {_os.getppid()}')\n"
        "    _os.replace(_os.environ['EVALKIT_TEST_PIDS'] + '.part', _os.environ['EVALKIT_TEST_PIDS'])\n"
        "    _time.sleep(600)\n"))
    path = tmp_path / "pausing_report.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("victim", ["kernel", "worker"])
def test_sigkill_of_one_kernel_or_worker_fails_its_county_and_a_rerun_completes(small_province, tmp_path,
                                                                                monkeypatch, victim):
    pids = tmp_path / "pids"
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("EVALKIT_TEST_PIDS", str(pids))
    killed: list[int] = []

    def kill_when_paused() -> None:
        deadline = time.monotonic() + 600
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        kernel, worker = map(int, pids.read_text().split())
        os.kill(kernel if victim == "kernel" else worker, signal.SIGKILL)
        killed.append(kernel if victim == "kernel" else worker)
        if victim == "worker":  # its kernel, orphaned, would sleep on
            time.sleep(0.5)
            os.kill(kernel, signal.SIGKILL)

    watcher = threading.Thread(target=kill_when_paused, daemon=True)
    watcher.start()
    options = {"jobs": 1, "progress": False, "out": tmp_path, "overview": False, "pdf": False, "timeout": 300,
               "counties": ["090102", "090121", "090202"], "notebook": _pausing_notebook(tmp_path)}
    m = run_batch(small_province, log=lambda _: None, **options)
    watcher.join(timeout=10)
    assert killed, "nothing was killed"
    reports = m["reports"]
    assert reports["090121"]["status"] == "failed"
    error = reports["090121"]["error"]
    if victim == "kernel":
        assert "DeadKernelError" in error or "died" in error, error
    else:
        assert f"worker process {killed[0]} died (exit code -9)" == error
    assert reports["090102"]["status"] == "ok" and reports["090202"]["status"] == "ok"  # the batch went on
    run_dir = tmp_path / RUN
    assert not [f for f in _report_files("090121") if (run_dir / f).exists()]
    _assert_whole(run_dir)

    monkeypatch.delenv("EVALKIT_TEST_PIDS")
    m = run_batch(small_province, log=lambda _: None, **options)
    assert {k: v["last_run"] for k, v in m["reports"].items()} == \
        {"090102": "skipped", "090121": "rendered", "090202": "skipped"}
    assert m["summary"]["failed"] == 0
    _assert_whole(run_dir)


# --------------------------------------------------------------------------- determinism


def test_with_source_date_epoch_a_forced_rerun_writes_the_same_bytes(small_batch, small_province, tmp_path):
    """Every county's page, notebook and PDF, the overview and the index: byte for byte (PDFs too:
    Chromium stamps only the print time, which evalkit sets from SOURCE_DATE_EPOCH)."""
    out = tmp_path / "out"
    shutil.copytree(small_batch, out / RUN)
    before = {f: h for f, h in _files(out / RUN).items() if f != "manifest.json"}
    assert len([f for f in before if f.endswith(".pdf")]) == 5 and "index.html" in before
    done = run_evalkit("batch", str(small_province), "--out", str(out), "--jobs", "1", "--force", "--no-progress",
                       env={"EVALKIT_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert _manifest(out / RUN)["summary"]["rendered"] == 5
    after = {f: h for f, h in _files(out / RUN).items() if f != "manifest.json"}
    assert after == before
