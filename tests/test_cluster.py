"""``evalkit batch --scheduler`` on a real cluster: a ``dask scheduler`` and two ``dask worker`` processes (Dask's
default threads) started here, each worker in its own mount namespace where the client's data and output folders
are hidden under an empty tmpfs, as on machines that share no file system with the client."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EPOCH, run_evalkit

pytestmark = pytest.mark.slow

#: Each worker gets a mount namespace of its own (util-linux's unshare; as another user than root, in a user
#: namespace of its own too).  Where that cannot be had the tests fail saying so: they are never skipped.
UNSHARE = ["unshare"] + ([] if os.geteuid() == 0 else ["--user", "--map-root-user"]) + ["--mount", "--fork"]


@pytest.fixture(autouse=True, scope="module")
def _namespaces_available():
    assert sys.platform.startswith("linux") and shutil.which("unshare"), (
        "the cluster tests hide the client's folders from each Dask worker in a mount namespace of its own: they "
        "need Linux and util-linux's unshare")
    probe = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True)
    assert probe.returncode == 0, (f"`{' '.join(UNSHARE)} true` failed ({probe.stderr.strip()}): the cluster tests "
                                   "need mount namespaces (run as root, or allow unprivileged user namespaces)")


BIN = Path(sys.executable).parent
COUNTIES = ["090102", "090221"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The children of every thread of ``pid`` (a nanny starts its worker from another thread than its main one)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


class Cluster:
    """A scheduler and two workers (each with its nanny, Dask's default threads) that cannot see ``hidden``; with
    ``preload``, started as docs/cluster.md suggests (``--preload evalkit.dask_preload``)."""

    def __init__(self, hidden: Path, tmp: Path, preload: bool = False, scheduler_env: dict | None = None) -> None:
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH" and not k.startswith("EVALKIT_")}
        self.log = tmp / "cluster-logs"
        self.log.mkdir()
        self.scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                           str(self.port), "--no-dashboard"], env={**env, **(scheduler_env or {})},
                                          start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=open(self.log / "scheduler.log", "w"))
        # each worker: a mount namespace of its own, with an empty tmpfs over the folder holding the client's data,
        # output and cache folders; the client's settings (SOURCE_DATE_EPOCH, EVALKIT_*) are not in its environment
        inner = (f"mount -t tmpfs evalkit-hidden {hidden} && exec {BIN / 'dask'} worker {self.address} "
                 "--no-dashboard --death-timeout 60" + (" --preload evalkit.dask_preload" if preload else ""))
        self.workers = [subprocess.Popen(UNSHARE + ["sh", "-c", inner], env=env,
                                         start_new_session=True, stdout=subprocess.DEVNULL,
                                         stderr=open(self.log / f"worker-{i}.log", "w"))
                        for i in range(2)]
        from distributed import Client

        deadline = time.monotonic() + 180
        while True:
            try:
                self.client = Client(self.address, timeout="5s", set_as_default=False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        self.client.wait_for_workers(2, timeout=180)

    def worker_pids(self) -> list[int]:
        """The Dask worker processes (unshare -> nanny -> worker; not the nanny's resource tracker)."""
        found = []
        for w in self.workers:
            for nanny in _children(w.pid):
                for pid in _children(nanny):
                    try:
                        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                    except OSError:
                        continue
                    if b"resource_tracker" not in cmd:
                        found.append(pid)
        return found

    def kill_all_workers(self) -> None:
        for w in self.workers:
            os.killpg(w.pid, signal.SIGKILL)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            for proc in [*self.workers, self.scheduler]:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait(timeout=30)


@pytest.fixture()
def hidden(tmp_path_factory) -> Path:
    """A folder for the client's data, output and cache, which the workers cannot see."""
    return tmp_path_factory.mktemp("client-only")


@pytest.fixture()
def client_data(small_province, hidden) -> Path:
    data = hidden / "small"
    shutil.copytree(small_province, data)
    return data


@pytest.fixture()
def cluster(hidden, tmp_path):
    c = Cluster(hidden, tmp_path)
    try:
        yield c
    finally:
        c.close()


def _batch(data: Path, out: Path, cluster: Cluster, *extra: str, popen: bool = False):
    args = ["batch", str(data), "--out", str(out), "--no-progress", "--scheduler", cluster.address, *extra]
    env = {"EVALKIT_CACHE": str(out / "cache")}
    if popen:
        return subprocess.Popen([sys.executable, "-m", "evalkit.cli", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **env})
    return run_evalkit(*args, env=env)


def _consistent(run_dir: Path) -> dict:
    """The manifest, after checking that it matches the files: every recorded file is there with its hash, and
    every report file there is recorded."""
    m = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    recorded = set()
    for entry in m["reports"].values():
        for out in entry["outputs"].values():
            assert _sha(run_dir / out["file"]) == out["sha256"]
            recorded.add(out["file"])
    present = {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()
               and p.suffix in (".html", ".pdf", ".docx", ".ipynb") and p.name != "index.html"}
    assert present == recorded
    assert not list(run_dir.rglob("*.tmp"))
    return m


def test_the_workers_cannot_see_the_client_s_folders(cluster, client_data, hidden):
    seen = cluster.client.run(lambda: [os.path.exists(str(client_data)), os.listdir(str(hidden))])
    assert len(seen) == 2 and all(v == [False, []] for v in seen.values())  # an empty tmpfs there
    assert client_data.is_dir() and os.listdir(hidden)


def _same_as_local(cluster: Cluster, client_data: Path, hidden: Path) -> tuple[Path, str]:
    """Run the batch (with the overview) on ``cluster`` and locally; assert every file is byte-identical; the
    cluster run's folder and what its batch printed."""
    out = hidden / "out"
    done = _batch(client_data, out, cluster, "--counties", *COUNTIES)
    assert done.returncode == 0, done.stderr
    local = hidden / "local"
    here = run_evalkit("batch", str(client_data), "--out", str(local), "--no-progress", "--jobs", "1",
                       "--counties", *COUNTIES, env={"EVALKIT_CACHE": str(local / "cache")})
    assert here.returncode == 0, here.stderr
    run_dir, small_batch = out / "small-2025-en", local / "small-2025-en"
    for name in [f"{c}.{kind}" for c in COUNTIES for kind in ("html", "pdf", "docx")] + [
            f"notebooks/{c}.ipynb" for c in COUNTIES] + ["overview.html", "overview.pdf", "overview.docx"]:
        assert (run_dir / name).read_bytes() == (small_batch / name).read_bytes(), name
    return run_dir, done.stderr


def test_reports_made_on_the_cluster_are_identical_to_local_ones(cluster, client_data, hidden):
    run_dir, stderr = _same_as_local(cluster, client_data, hidden)
    assert "2 worker(s), 4 thread(s)" in stderr  # Dask's default: one thread per core (2 here)
    m = _consistent(run_dir)
    workers = set(cluster.client.nthreads())
    assert {e["worker"] for e in m["reports"].values()} <= workers


def _kernels(cluster: Cluster) -> dict[str, list]:
    """Per worker, each thread's state: whether its kernel was preloaded and is alive, its browser running, its pid."""
    def state():
        from evalkit import execute

        return [(w.preloaded, w.kernel is not None and w.kernel.alive(), w.printer is not None,
                 w.kernel.km.provisioner.pid if w.kernel is not None else None) for w in execute._Workers.every]

    return cluster.client.run(state)


def test_a_preloaded_worker_is_ready_before_its_first_report_which_is_the_same(client_data, hidden, tmp_path):
    """``dask worker --preload evalkit.dask_preload``: each thread's kernel (report code imported) and browser run
    before any task; the reports then use those kernels and are byte-identical to a local run's."""
    cluster = Cluster(hidden, tmp_path, preload=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            ready = _kernels(cluster)
            if all(len(v) == 2 and all(t[:3] == (True, True, True) for t in v) for v in ready.values()):
                break
            assert time.monotonic() < deadline, f"the workers were not ready within 180 s: {ready}"
            time.sleep(1)
        assert len(ready) == 2
        run_dir, _ = _same_as_local(cluster, client_data, hidden)
        _consistent(run_dir)
        after = _kernels(cluster)  # no kernel was started again: the preloaded ones made the reports
        for worker, threads in after.items():
            assert [t[3] for t in threads] == [t[3] for t in ready[worker]] and all(t[1] for t in threads)
        assert sum(not t[0] for v in after.values() for t in v) >= 1  # kernels that took a task (one may take all)
    finally:
        cluster.close()


def _rendered_per_key(cluster: Cluster) -> dict[str, int]:
    """How many times the scheduler saw each report task finish (from its transition log)."""
    def count(dask_scheduler=None):
        done: dict[str, int] = {}
        for entry in dask_scheduler.transition_log:
            key, finish = entry[0], entry[2]
            if isinstance(key, str) and key.startswith("evalkit-") and not key.startswith("evalkit-blob-") \
                    and finish == "memory":
                done[key] = done.get(key, 0) + 1
        return done

    return cluster.client.run_on_scheduler(count)


def test_a_worker_killed_mid_run_loses_nothing_and_makes_nothing_twice(cluster, client_data, hidden):
    out = hidden / "out"
    run_dir = out / "small-2025-en"
    proc = _batch(client_data, out, cluster, "--counties", "090102", "090121", "090202", "090221", "--no-overview",
                  "--worker-timeout", "60", popen=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # once the first report is recorded, the others are in flight
            try:
                m = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
                made = [e["worker"] for e in m["reports"].values() if e.get("status") == "ok"]
                if made:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        # the worker that made the first report (which would hold its result, were it kept) is killed while
        # the others are in flight; its nanny starts a new worker, as in production
        victim = cluster.client.run(os.getpid, workers=[made[0]])[made[0]]
        assert victim in cluster.worker_pids()
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    m = _consistent(run_dir)
    assert set(m["reports"]) == {"090102", "090121", "090202", "090221"}
    for key, entry in m["reports"].items():  # retried elsewhere, or failed with the reason
        assert entry["status"] == "ok" or "Dask worker was lost" in entry["error"], (key, entry["error"])
    assert all(n == 1 for n in _rendered_per_key(cluster).values()), _rendered_per_key(cluster)


def _kill_the_worker_making(cluster: Cluster, county: str, not_on: set[str], deadline: float) -> str:
    """Wait until the report of ``county`` is being made on a worker not in ``not_on``; SIGKILL that worker while
    the report is still being made there (the worker is stopped first, so it cannot finish the report between the
    look and the kill; the scheduler is asked again after the stop)."""
    def where(dask_scheduler=None, county=county):
        return [ts.processing_on.address for key, ts in dask_scheduler.tasks.items()
                if isinstance(key, str) and key.startswith(f"evalkit-{county}-") and ts.processing_on is not None]

    pids = cluster.client.run(os.getpid, on_error="ignore")  # asked beforehand: the stop follows the look at once
    while time.monotonic() < deadline:
        on = [a for a in cluster.client.run_on_scheduler(where) if a not in not_on]
        if not on:
            time.sleep(0.02)
        elif on[0] not in pids:  # a new worker (a nanny's restart): its process, asked while it answers
            pids.update(cluster.client.run(os.getpid, on_error="ignore"))  # not the workers just lost
        else:
            pid = pids[on[0]]
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.5)  # what it sent before the stop reaches the scheduler
            if on[0] in cluster.client.run_on_scheduler(where):
                os.kill(pid, signal.SIGKILL)
                return on[0]
            os.kill(pid, signal.SIGCONT)
            raise AssertionError(f"the report of {county} was made on {on[0]} before the worker could be stopped")
    raise AssertionError(f"the report of {county} was never being made")


def _lose_its_worker_twice(cluster: Cluster, client_data: Path, hidden: Path) -> tuple[dict, str]:
    """Batch one report, kill the worker making it, then the worker making it again; the batch must exit 1 with the
    report failed and never made.  The report's manifest entry and the batch's standard error."""
    out = hidden / "out"
    proc = _batch(client_data, out, cluster, "--counties", "090102", "--no-overview", popen=True)
    try:
        deadline = time.monotonic() + 600
        first = _kill_the_worker_making(cluster, "090102", set(), deadline)
        second = _kill_the_worker_making(cluster, "090102", {first}, deadline)  # the retry, on another worker
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first != second
    assert proc.returncode == 1, stderr
    entry = _consistent(out / "small-2025-en")["reports"]["090102"]
    assert entry["status"] == "failed" and "its Dask worker was lost" in entry["error"], entry["error"]
    assert "090102 failed: its Dask worker was lost" in stderr
    assert not any(k.startswith("evalkit-090102-") for k in _rendered_per_key(cluster))  # never made
    return entry, stderr


def test_a_report_whose_worker_is_lost_twice_fails_with_the_reason(cluster, client_data, hidden):
    """The report's worker is killed while it makes the report, then the worker that makes it again: the report
    fails with the reason, and is not made a third time (its inputs may be lost with the second worker: the
    scheduler then forgets the task, and its two losses are read from the scheduler's log)."""
    entry, _ = _lose_its_worker_twice(cluster, client_data, hidden)
    assert "not tried a third time" in entry["error"]


def test_a_scheduler_limited_to_one_loss_fails_the_report_at_the_second_with_the_reason(client_data, hidden,
                                                                                      tmp_path):
    """docs/cluster.md: a scheduler started with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1`` stops a task
    at its second loss itself (or the client does first); the report fails with the reason and is never made."""
    cluster = Cluster(hidden, tmp_path, scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"})
    try:
        assert cluster.client.run_on_scheduler(lambda dask_scheduler=None: dask_scheduler.allowed_failures) == 1
        entry, _ = _lose_its_worker_twice(cluster, client_data, hidden)
        assert "not tried a third time" in entry["error"] or "2 times (the scheduler's limit" in entry["error"]
    finally:
        cluster.close()


def test_a_batch_with_every_worker_gone_stops_within_the_worker_timeout(cluster, client_data, hidden):
    out = hidden / "out"
    proc = _batch(client_data, out, cluster, "--counties", "090102", "090121", "--no-overview",
                  "--worker-timeout", "8", popen=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "small-2025-en" / "manifest.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)  # the batch has planned and is sending work to the cluster
        cluster.kill_all_workers()
        killed = time.monotonic()
        stdout, stderr = proc.communicate(timeout=120)
        took = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "no Dask worker was connected" in stderr and "for 8 s" in stderr
    assert took < 8 + 30  # the timeout, the scheduler noticing the loss, writing the manifest
    m = _consistent(out / "small-2025-en")
    for entry in m["reports"].values():
        assert entry["status"] == "ok" or "no Dask worker" in entry["error"] or "lost" in entry["error"]


def test_an_unreachable_scheduler_is_reported_before_any_folder_is_made(small_province, tmp_path):
    out = tmp_path / "out"
    port = _free_port()  # nothing listens there
    t0 = time.monotonic()
    done = run_evalkit("batch", str(small_province), "--out", str(out), "--no-progress", "--scheduler",
                       f"tcp://127.0.0.1:{port}", "--worker-timeout", "3")
    assert done.returncode != 0
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert time.monotonic() - t0 < 60


def test_a_national_run_on_the_cluster_is_the_local_one(cluster, hidden):
    """A reduced country (two provinces, small) batch-run on workers that see none of its folders: each province's
    reports and the national index, byte-identical to a local run, with manifests that match the files."""
    from evalkit.synth import synthesize_national

    country = hidden / "country"
    synthesize_national(country, size="national-small", provinces=2)
    out, local = hidden / "out", hidden / "local"
    done = _batch(country, out, cluster, "--pdf", "no")
    assert done.returncode == 0, done.stderr
    assert "2 province(s): 10 rendered, 0 unchanged, 0 failed" in done.stdout
    done = run_evalkit("batch", str(country), "--out", str(local), "--pdf", "no", "--no-progress", "--jobs", "1",
                       env={"EVALKIT_CACHE": str(local / "cache")})
    assert done.returncode == 0, done.stderr
    run_dir, local_dir = out / "country-2025-en", local / "country-2025-en"
    workers = set(cluster.client.nthreads())
    for province in ("11", "12"):
        m = _consistent(run_dir / province)
        assert {e["worker"] for e in m["reports"].values()} <= workers
        names = [p.name for p in (local_dir / province).glob("*") if p.suffix in (".html", ".docx")
                 and p.name != "index.html"]  # the index says when it was made; the reports do not
        assert len(names) == 10  # 4 counties and the overview, HTML and Word
        for name in names:
            assert (run_dir / province / name).read_bytes() == (local_dir / province / name).read_bytes(), name
    assert (run_dir / "index.html").is_file() and (run_dir / "national.json").is_file()
