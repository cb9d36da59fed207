"""``evalkit batch`` end to end on the small synthetic province: real kernels through papermill, real
Chromium for PDFs, real worker processes, a real Dask LocalCluster, real SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from evalkit.batch import COUNTY_NOTEBOOK, run_batch
from conftest import EPOCH, run_evalkit

COUNTIES = ["090102", "090121", "090202", "090221"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def _visible_files(run_dir: Path) -> set[str]:
    return {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}


def test_batch_renders_every_county_as_html_and_pdf_with_overview_and_index(small_batch):
    for code in COUNTIES:
        html = (small_batch / f"{code}.html").read_text(encoding="utf-8")
        assert "<nav" in html and "Summary of key findings" in html and "Appendix C: provenance" in html
        assert "county_code =" not in html and "CountyReport.load" not in html  # no code, no parameters cell
        assert "Run it in JupyterLab" not in html  # the notebook's own introduction stays in the notebook
        assert "output_stream" not in html and "output_error" not in html  # no stray print, warning or error
        assert (small_batch / f"{code}.pdf").read_bytes().startswith(b"%PDF")
        assert (small_batch / "notebooks" / f"{code}.ipynb").is_file()
    assert (small_batch / "overview.html").is_file() and (small_batch / "overview.pdf").is_file()
    index = (small_batch / "index.html").read_text(encoding="utf-8")
    for code in COUNTIES:
        assert f'href="{code}.html"' in index and f'href="{code}.pdf"' in index
    assert not [f for f in _visible_files(small_batch) if f.endswith(".tmp")]


def test_manifest_records_what_made_each_report(small_batch, small_province):
    m = _manifest(small_batch)
    assert m["summary"] == {"reports": 5, "rendered": 5, "skipped": 0, "failed": 0, "failed_keys": [],
                            "seconds": m["summary"]["seconds"], "browser_launches": 1}
    inputs = {p.stem: _sha(p) for p in small_province.iterdir() if p.suffix == ".parquet"}
    entry = m["reports"]["090121"]
    assert entry["status"] == "ok" and entry["error"] is None
    assert entry["parameters"]["county_code"] == "090121"
    assert entry["notebook_sha256"] == _sha(COUNTY_NOTEBOOK)
    assert entry["evalkit_version"] == m["evalkit_version"]
    assert {k: entry["inputs"][k] for k in inputs} == inputs
    assert set(entry["durations"]) >= {"execute", "html", "pdf", "total"}
    for out in entry["outputs"].values():
        assert _sha(small_batch / out["file"]) == out["sha256"]


def test_two_workers_print_through_the_batch_s_one_browser(small_province, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    m = run_batch(small_province, jobs=2, progress=False, out=tmp_path, counties=COUNTIES[:3], overview=False)
    assert m["summary"]["failed"] == 0 and m["summary"]["browser_launches"] == 1
    for code in COUNTIES[:3]:
        assert (tmp_path / "small-2025-en" / f"{code}.pdf").read_bytes().rstrip().endswith(b"%%EOF")
        # the function's formats are the command's: HTML, PDF and Word unless told otherwise
        assert {"html", "pdf", "docx"} <= set(m["reports"][code]["outputs"])


def test_a_local_worker_starts_no_browser_of_its_own(small_province):
    from evalkit.execute import RemotePrinter, _Worker

    worker = _Worker()
    worker.remote = RemotePrinter(None, None, 1)
    try:
        worker.prepare(str(COUNTY_NOTEBOOK), None, None, pdf=True)  # a kernel, but no browser
        assert worker.printer is None and worker.pdf_printer() is worker.remote
    finally:
        worker.close()


def test_a_report_made_in_a_batch_is_identical_to_the_same_report_made_alone(small_batch, small_province, tmp_path):
    """The batch's kernel had rendered three reports before 090221: wiping it between reports leaves no trace."""
    done = run_evalkit("render", "090221", "--data", str(small_province), "--out", str(tmp_path),
                       env={"EVALKIT_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    alone = tmp_path / "small-2025-en"
    assert (alone / "090221.html").read_bytes() == (small_batch / "090221.html").read_bytes()
    assert (alone / "notebooks" / "090221.ipynb").read_bytes() == (small_batch / "notebooks" / "090221.ipynb").read_bytes()


@pytest.fixture()
def batch_copy(small_batch, small_province, tmp_path):
    """A private copy of the small province and of its batch run, to change and re-run."""
    data = tmp_path / "small"
    shutil.copytree(small_province, data)
    out = tmp_path / "out"
    shutil.copytree(small_batch, out / "small-2025-en")
    return data, out


def _rerun(data: Path, out: Path, *extra: str):
    return run_evalkit("batch", str(data), "--out", str(out), "--no-progress", *extra,
                       env={"EVALKIT_CACHE": str(out / "cache")})


def test_a_rerun_renders_nothing_when_nothing_changed(batch_copy):
    data, out = batch_copy
    run_dir = out / "small-2025-en"
    # the reports themselves; index.html is rewritten on every run (it shows each report as "unchanged")
    before = {f: _sha(run_dir / f) for f in _visible_files(run_dir)
              if f.endswith((".html", ".pdf", ".docx", ".ipynb")) and f != "index.html"}
    done = _rerun(data, out)
    assert done.returncode == 0, done.stderr
    summary = _manifest(run_dir)["summary"]
    assert (summary["rendered"], summary["skipped"], summary["failed"]) == (0, 5, 0)
    after = {f: _sha(run_dir / f) for f in before}
    assert after == before


def test_a_rerun_renders_exactly_the_county_whose_data_changed(batch_copy):
    """A township renamed in 090202 changes only that county's report: only it is rendered again."""
    data, out = batch_copy
    regions = pd.read_parquet(data / "regions.parquet")
    township = sorted(regions.loc[regions["county_code"] == "090202", "township_code"])[0]
    regions.loc[regions["township_code"] == township, "township_name_en"] = "Renamed Township"
    regions.to_parquet(data / "regions.parquet", index=False)
    done = _rerun(data, out)
    assert done.returncode == 0, done.stderr
    reports = _manifest(out / "small-2025-en")["reports"]
    assert {k for k, v in reports.items() if v["last_run"] == "rendered"} == {"090202"}
    assert "Renamed Township" in (out / "small-2025-en" / "090202.html").read_text(encoding="utf-8")


def test_force_renders_everything_again(batch_copy):
    data, out = batch_copy
    done = _rerun(data, out, "--force", "--counties", "090102", "--no-overview")
    assert done.returncode == 0, done.stderr
    assert _manifest(out / "small-2025-en")["summary"]["rendered"] == 1


def test_sigkill_midway_then_a_rerun_completes_with_no_partial_file(small_province, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "evalkit.cli", "batch", str(small_province), "--out", str(out), "--jobs", "1",
           "--no-progress"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "EVALKIT_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_dir = out / "small-2025-en"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if list(run_dir.glob("*.html")):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("no report appeared within 300 s")
    os.killpg(proc.pid, signal.SIGKILL)  # the batch, its worker, its kernel and its browser
    proc.wait()
    rendered = list(run_dir.glob("*.html"))
    assert 1 <= len(rendered) < 5, "the kill should land midway"
    for html in rendered:  # whatever is visible under a final name is whole
        assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    m = _manifest(run_dir)
    assert m["summary"]["failed"] == 0 and all(v["status"] == "ok" for v in m["reports"].values())
    assert not [f for f in _visible_files(run_dir) if ".tmp" in f]
    for code in COUNTIES:
        assert (run_dir / f"{code}.pdf").read_bytes().rstrip().endswith(b"%%EOF")


def _faulty_notebook(tmp_path: Path) -> Path:
    """The county report with one extra cell that hangs for 090121, kills its kernel for 090202 and raises
    for 090221."""
    nb = nbformat.read(str(COUNTY_NOTEBOOK), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        "import os, signal, time\n"
        "if county_code == '090121':\n    time.sleep(3600)\n"
        "if county_code == '090202':\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "if county_code == '090221':\n    raise ValueError('planted failure')\n"))
    path = tmp_path / "faulty_report.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_a_hung_or_dead_kernel_or_a_failing_cell_fails_its_county_and_the_batch_goes_on(small_province, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    m = run_batch(small_province, jobs=1, progress=False, out=tmp_path, timeout=25, pdf=False, overview=False,
                  notebook=_faulty_notebook(tmp_path), log=lambda _: None)
    reports = m["reports"]
    assert reports["090121"]["status"] == "failed"
    assert "did not finish within 25 s" in reports["090121"]["error"]
    assert reports["090202"]["status"] == "failed"
    assert "DeadKernelError" in reports["090202"]["error"] or "died" in reports["090202"]["error"]
    # papermill's error: the cell that raised, with the exception
    assert re.fullmatch(r"cell \d+: ValueError: planted failure", reports["090221"]["error"]), reports["090221"]["error"]
    assert reports["090102"]["status"] == "ok"
    assert m["summary"]["failed_keys"] == ["090121", "090202", "090221"]
    assert not (tmp_path / "small-2025-en" / "090221.html").exists()
    index = (tmp_path / "small-2025-en" / "index.html").read_text(encoding="utf-8")
    assert index.count("status status-failed") == 3


def test_the_command_exits_non_zero_when_a_county_failed(small_province, tmp_path):
    done = run_evalkit("batch", str(small_province), "--out", str(tmp_path), "--counties", "999999", "--no-progress")
    assert done.returncode == 1
    assert "unknown county code(s) 999999" in done.stderr


def test_no_report_is_made_from_data_that_failed_validation(tmp_path):
    from conftest import overlay

    data = overlay("leading_zero_lost", tmp_path)
    done = run_evalkit("batch", str(data), "--out", str(tmp_path / "out"), "--no-progress")
    assert done.returncode == 1
    assert "failed validation" in done.stderr and "nothing was rendered" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_corrupt_manifest_is_set_aside_and_the_run_completes(batch_copy):
    data, out = batch_copy
    (out / "small-2025-en" / "manifest.json").write_text('{"reports": [1, 2', encoding="utf-8")
    done = _rerun(data, out, "--no-overview")
    assert done.returncode == 0, done.stderr
    assert "could not be read" in done.stderr
    assert _manifest(out / "small-2025-en")["summary"]["rendered"] == 4
    assert list((out / "small-2025-en").glob("manifest.corrupt-*.json"))


def test_the_same_batch_runs_on_a_dask_cluster(small_batch, small_province, tmp_path, monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        m = run_batch(small_province, scheduler=cluster.scheduler_address, progress=False, out=tmp_path,
                      counties=["090102", "090221"], overview=False, log=lambda _: None)
    assert m["summary"]["rendered"] == 2 and m["summary"]["failed"] == 0
    for code in ("090102", "090221"):
        assert (tmp_path / "small-2025-en" / f"{code}.html").read_bytes() == (small_batch / f"{code}.html").read_bytes()
