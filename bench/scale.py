"""How ``evalkit batch --scheduler`` scales: the same counties on 1 and on 2 Dask workers of this machine.

Starts a ``dask scheduler`` and N ``dask worker`` processes (one thread each: one report at a time per worker),
runs ``evalkit batch --scheduler ...`` on the same counties, each run into a new run folder (the indicator table,
scores and scanner cached beforehand and served to every run, so all runs do the same work; ``--force`` would
build them again in the client every run), and prints a Markdown entry for ``bench/RESULTS.md``:
the wall time of each run, the time of its rendering phase (the manifest's ``seconds``: from the first task sent
to the last report written) and the parallel efficiency ``T1 / (2 * T2)`` (issue 20's target: at least 0.8);
then the CPU seconds of each process group in each run (``bench/_cpu.py``: the client, the scheduler, each worker's
nanny, process, kernel, Playwright driver and Chromium, and the worker processes' threads by name), the cores they
used on average, and the bound that two cores put on the efficiency (``2 * T2`` is at least the 2-worker run's CPU).

    .venv/bin/python bench/scale.py --counties 24 --pin --preload  # issue 20's measure: one core per worker
    .venv/bin/python bench/scale.py --counties 24              # workers share the two cores
    .venv/bin/python bench/scale.py --counties 24 --warm 2     # two runs on warm workers after the cold one

Parallel efficiency compares 1 against 2 workers of the same size: with ``--pin`` each worker (its kernel and
browser too) has one core of its own, so T1 is a one-core time and 2 workers have twice the cores. Unpinned, one
worker alone already keeps about 1.26 of the two cores busy (its Word conversion and privacy scan run while Chromium
prints), so T1 is not a one-core time and 2 workers on the same 2 cores can reach at most about 1 / 1.26 = 0.79
(printed below as the bound): the unpinned figure measures this machine's spare core, not how the cluster path
scales. ``--preload`` starts the workers as ``docs/cluster.md`` says (``dask worker --preload
evalkit.dask_preload``); without it the cold run includes each worker's start (kernel, browser, imports).

The workers see the client's folders here (one machine); ``tests/test_cluster.py`` is where they do not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpu import CpuMeter, GroupMeter  # noqa: E402
from _machine import code_measured, cpu_model  # noqa: E402

BIN = Path(sys.executable).parent
EPOCH = "1764000000"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def kind(chain: list[str]) -> str:
    """What a process below a root is, from its command line and its ancestors' (itself first): its group's suffix."""
    for cmd in chain:  # the nearest ancestor that says wins (Chromium's helpers are below the Playwright driver)
        if "ipykernel" in cmd:
            return "kernel"
        if "chrom" in cmd or "headless_shell" in cmd:
            return "Chromium"
        if "playwright" in cmd:
            return "Playwright driver"
        if "soffice" in cmd:
            return "LibreOffice"
        if "multiprocessing" in cmd:  # the Dask worker process below its nanny (`dask worker`)
            return "process"
    return ""


def _preloaded() -> bool:
    """Whether this Dask worker's preload (evalkit.dask_preload) has made every thread ready (run on each worker)."""
    from evalkit import execute

    return bool(execute._Workers.every) and all(w.preloaded for w in execute._Workers.every)


def cluster_run(workers: int, codes: list[str], data: Path, out: Path, env: dict[str, str], warm: int = 1,
                meter: GroupMeter | None = None, force: bool = False, pin: bool = False, preload: bool = False) -> dict:
    """Start a scheduler and ``workers`` one-thread workers, run the batch on them (once from cold workers, then
    ``warm`` times again on the same workers), stop them; the timings and each process group's CPU seconds, and
    the workers' start-up (``"startup"``: from their launch until registered, and with ``preload`` until every
    worker's preload finished: CPU seconds of the workers' process groups, and wall seconds)."""
    meter = meter or GroupMeter(kind, split=lambda group: group.endswith(" process"))
    meter.start_polling()
    port = _port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    meter.add_root(procs[0].pid, "scheduler")
    try:
        # --pin: worker i (its kernel and browser too, which inherit it) may run on core i only
        procs += [subprocess.Popen([*(["taskset", "-c", str(i % (os.cpu_count() or 1))] if pin else []),
                                    str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                                    "--death-timeout", "60",
                                    *(["--preload", "evalkit.dask_preload"] if preload else [])],
                                   start_new_session=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for i in range(workers)]
        for i, p in enumerate(procs[1:], 1):
            meter.add_root(p.pid, f"worker {i}")
        from distributed import Client

        launched = time.perf_counter()
        time.sleep(2)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=300)
            deadline = time.monotonic() + 300
            while preload and not all(client.run(_preloaded).values()) and time.monotonic() < deadline:
                time.sleep(0.2)
            started = time.perf_counter() - launched
        startup = sum(c for g, c in meter.groups({}, meter.snapshot()).items() if g.startswith("worker"))
        timings = {}
        for run in ["cold", *(f"warm{i + 1}" if warm > 1 else "warm" for i in range(warm))]:
            # cold: new workers; warm: the same again
            load = _loadavg()
            before, busy, me = meter.snapshot(), CpuMeter._busy(), CpuMeter._self()
            waited = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            batch = subprocess.Popen([sys.executable, "-m", "evalkit.cli", "batch", str(data), "--out", str(out),
                                      "--run", f"w{workers}-{run}", "--no-progress", "--no-overview",
                                      *(["--force"] if force else []), "--scheduler", address, "--counties", *codes],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
            meter.add_root(batch.pid, "client")
            _, stderr = batch.communicate()
            wall = time.perf_counter() - t0
            after, busy, me = meter.snapshot(), CpuMeter._busy() - busy, CpuMeter._self() - me
            if batch.returncode != 0:
                raise SystemExit(f"the batch on {workers} worker(s) failed:\n{stderr[-3000:]}")
            m = json.loads((out / f"w{workers}-{run}" / "manifest.json").read_text(encoding="utf-8"))
            cpu = meter.groups(before, after)
            now = resource.getrusage(resource.RUSAGE_CHILDREN)  # the client's whole CPU, its last moments included
            cpu["client"] = max(cpu.get("client", 0.0), now.ru_utime + now.ru_stime - waited.ru_utime - waited.ru_stime)
            cpu["bench (this script: polling /proc)"] = me
            timings[run] = {"wall": wall, "render": m["summary"]["seconds"], "load": load, "cpu": cpu,
                            "busy": busy, "threads": _thread_cpu(address, meter, meter.threads(before, after))}
        timings["cold"]["startup"] = {"cpu": startup, "wall": started}
        return timings
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(timeout=30)


def _thread_names() -> tuple[int, dict[int, str]]:
    """This process's id and its threads' names by native thread id (run on each Dask worker)."""
    import threading

    return os.getpid(), {t.native_id: t.name for t in threading.enumerate()}


def _thread_kind(name: str) -> str:
    """A thread's name without its number: what it does."""
    import re

    if name.startswith("Dask-Default-Threads"):
        return "Dask task thread (waits for the slot)"
    return {"evalkit-slot": "evalkit-slot (papermill, kernel client, HTML, PDF request, final scan)",
            "evalkit-word": "evalkit-word (the .docx conversion)",
            "evalkit-scan": "evalkit-scan (scan of the page and notebook during the print)",
            "MainThread": "MainThread (Dask's event loop: messages, (de)serialising)"}.get(
        re.sub(r"[-_]\d+$", "", name), re.sub(r"[-_]\d+$", "", name))


def _thread_cpu(address: str, meter: GroupMeter, threads: dict[int, dict[int, float]]) -> dict[str, float]:
    """The CPU seconds of the worker processes' threads, summed over the workers by what each thread does."""
    from distributed import Client

    with Client(address, timeout="60s") as client:
        names = dict(client.run(_thread_names).values())
    out: dict[str, float] = {}
    for pid, by_tid in threads.items():
        if meter.group_of(pid) is None:
            continue
        for tid, c in by_tid.items():
            kind = ("the main thread of a process without Python threads" if pid not in names
                    else _thread_kind(names[pid][tid]) if tid in names[pid]
                    else "threads Python does not know (zmq, Arrow, Cairo, ...)")
            out[kind] = out.get(kind, 0.0) + c
    return out


def _order(group: str) -> tuple:
    head, _, rest = group.partition(" ")
    kinds = ["", "process", "kernel", "Playwright driver", "Chromium", "LibreOffice"]
    if head == "worker":
        n, _, k = rest.partition(" ")
        return (2, int(n), kinds.index(k) if k in kinds else len(kinds), k)
    return ({"client": 0, "scheduler": 1}.get(head, 3), 0, 0, group)


def cpu_table(one: dict, two: dict) -> str:
    """Each process group's CPU seconds in each run, and what they add up to, as a Markdown table."""
    cols = [(f"{n} w, {run}", r) for n, res in ((1, one), (2, two)) for run, r in res.items()]
    groups = sorted({g for _, r in cols for g in r["cpu"]}, key=_order)

    def name(g: str) -> str:
        return {"client": "client (`evalkit batch`)", "scheduler": "scheduler (`dask scheduler`)"}.get(
            g, f"{g} (`dask worker`, its nanny)" if g.startswith("worker") and g.count(" ") == 1 else g)

    def worker(r: dict, n: str | None = None) -> float:
        return sum(c for g, c in r["cpu"].items() if g.startswith("worker") and (n is None or g.split()[1] == n))

    lines = [f"| CPU seconds | {' | '.join(c for c, _ in cols)} |", f"|---|{'---:|' * len(cols)}"]
    lines += ["| " + " | ".join([name(g), *(f"{r['cpu'].get(g, 0.0):.1f}" for _, r in cols)]) + " |"
              for g in groups]
    total = [sum(r["cpu"].values()) for _, r in cols]
    rows = [
        ("**worker 1, all its processes**", [worker(r, "1") for _, r in cols]),
        ("**all measured**", total),
        ("wall of the batch (s)", [r["wall"] for _, r in cols]),
        ("rendering (s)", [r["render"] for _, r in cols]),
        ("**cores used on average** (all measured / wall)", [t / r["wall"] for t, (_, r) in zip(total, cols)]),
        ("cores of the workers during rendering (workers' CPU / rendering)",
         [worker(r) / r["render"] for _, r in cols]),
        ("cores of client + scheduler (their CPU / wall)",
         [(r["cpu"].get("client", 0) + r["cpu"].get("scheduler", 0)) / r["wall"] for _, r in cols]),
        ("other processes on the machine (cores: /proc/stat busy - all measured, / wall)",
         [max(0.0, r["busy"] - t) / r["wall"] for t, (_, r) in zip(total, cols)]),
    ]
    lines += [f"| {label} | {' | '.join(f'{v:.2f}' if 'cores' in label else f'{v:.1f}' for v in vals)} |"
              for label, vals in rows]
    kinds = sorted({k for _, r in cols for k, c in r["threads"].items() if c >= 0.05},
                   key=lambda k: -sum(r["threads"].get(k, 0) for _, r in cols))
    lines += ["", "The worker processes' threads (summed over the workers), CPU seconds:", "",
              f"| thread | {' | '.join(c for c, _ in cols)} |", f"|---|{'---:|' * len(cols)}"]
    lines += ["| " + " | ".join([k, *(f"{r['threads'].get(k, 0.0):.1f}" for _, r in cols)]) + " |" for k in kinds]
    return "\n".join(["Each process group's CPU seconds during each run (own user + system time, polled from /proc "
                      "five times a second;", "the client's from its exit status):", "", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=24, help="how many counties (default 24)")
    parser.add_argument("--data", default="data/sample", help="province folder (default data/sample)")
    parser.add_argument("--force", action="store_true",
                        help="run the batches with --force (which also builds the table, scanner, scores and "
                             "small-area fit again in the client, every run)")
    parser.add_argument("--warm", type=int, default=1, help="runs on the same workers after the first (default 1)")
    parser.add_argument("--preload", action="store_true",
                        help="start the workers with --preload evalkit.dask_preload (docs/cluster.md): each worker "
                             "starts its kernel and browser when it starts; the cold run begins once they are ready")
    parser.add_argument("--pin", action="store_true",
                        help="each worker (with its kernel and browser) on a core of its own (taskset): how the "
                             "cluster scales when each worker has one core, what a worker per core of a larger "
                             "machine gets; the client and scheduler are not pinned")
    args = parser.parse_args(argv)
    data = (ROOT / args.data).resolve()
    from evalkit.results import province_data, scanner_path

    with tempfile.TemporaryDirectory(prefix="evalkit-scale-") as tmp:
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "EVALKIT_CACHE": str(Path(tmp) / "cache")}
        os.environ["EVALKIT_CACHE"] = env["EVALKIT_CACHE"]
        p = province_data(data)  # cached once: both runs read it
        year = max(p.years)
        p.scores(year), p.small_area(year), scanner_path(data)
        codes = list(p.counties()["county_code"])
        step = max(1, len(codes) // args.counties)
        codes = codes[::step][:args.counties]
        one = cluster_run(1, codes, data, Path(tmp) / "out", env, args.warm, force=args.force, pin=args.pin,
                          preload=args.preload)
        two = cluster_run(2, codes, data, Path(tmp) / "out", env, args.warm, force=args.force, pin=args.pin,
                          preload=args.preload)
    runs = list(one)
    rows = []
    for run in runs:
        what = ("workers just started (kernels, browsers, blobs sent)" if run == "cold"
                else "the same counties again on the same workers")
        a, b = one[run], two[run]
        rows.append(f"| {run}: {what} | {a['wall']:.1f} / {b['wall']:.1f} | {a['render']:.1f} / {b['render']:.1f} "
                    f"| {a['render'] / (2 * b['render']):.2f} | {a['wall'] / (2 * b['wall']):.2f} "
                    f"| {a['load']} / {b['load']} |")
    forced = (" with `--force` (the client builds its caches again)" if args.force
              else " (caches built beforehand, served to every run)")
    pinned = (", **each pinned to a core of its own** (`taskset -c 0` / `-c 1`, inherited by its kernel and "
              "browser; client and scheduler unpinned)" if args.pin else "")
    preloaded = (", started with `--preload evalkit.dask_preload` (kernel and browser started with the worker; the "
                 "cold run begins once every worker's preload finished)" if args.preload else "")
    startup = "; ".join(f"{n} worker(s) {r['cold']['startup']['cpu']:.1f} CPU-s in {r['cold']['startup']['wall']:.1f} s"
                        for n, r in ((1, one), (2, two)))
    bounds = ", ".join(f"{run} {one[run]['wall'] / sum(two[run]['cpu'].values()):.2f}" for run in runs)
    print(f"""## Scale: {len(codes)} counties on 1 and on 2 Dask workers (issue 20)

- command: `.venv/bin/python bench/scale.py {' '.join(sys.argv[1:] if argv is None else argv)}`
- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; code: {code_measured(str(ROOT))}
- machine: {os.cpu_count()} cores ({cpu_model()}), **shared with other jobs** (load averages in the table);
  workers: `dask worker --nthreads 1` on this machine{pinned}{preloaded}, default formats (HTML, PDF, Word), each run into a
  new run folder{forced}
- counties: {', '.join(codes)}

| run | batch wall (s), 1 / 2 workers | rendering (s), 1 / 2 | efficiency (rendering) | efficiency (wall) | load average before, 1 / 2 |
|---|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Efficiency = T(1 worker) / (2 x T(2 workers)); target >= 0.8. Rendering: the manifest's `seconds` (from the
plan to the last report written); wall: the whole `evalkit batch` command (validation and planning included).
{"Each worker has one core of its own: T1 is a one-core time, 2 workers have twice the cores (issue 20's measure)."
 if args.pin else "Workers unpinned: one worker alone uses more than one of the two cores (cores used below), so "
 "T1 is not a one-core time; the bound at the end says how far 2 workers on the same 2 cores can go."}

{cpu_table(one, two)}

The workers' start-up before the cold run (not in the table: from their launch until registered{
" and preloaded" if args.preload else ""}; all their processes): {startup}.

Two cores bound the efficiency: 2 x T2 is at least the CPU seconds of the 2-worker run, so efficiency (wall)
<= T1 / CPU(2 workers) = {bounds} (binding only where T1 was not slowed by other jobs: on a quiet machine).""")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
