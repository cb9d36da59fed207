"""How ``evalkit batch --scheduler`` scales: the same counties on 1 and on 2 Dask workers of this machine.

Starts a ``dask scheduler`` and N ``dask worker`` processes (one thread each: one report at a time per worker),
runs ``evalkit batch --scheduler ... --force`` on the same counties (the indicator table, scores and scanner
cached beforehand, so both runs do the same work), and prints a Markdown entry for ``bench/RESULTS.md``:
the wall time of each run, the time of its rendering phase (the manifest's ``seconds``: from the first task sent
to the last report written) and the parallel efficiency ``T1 / (2 * T2)`` (issue 20's target: at least 0.8).

    .venv/bin/python bench/scale.py --counties 24

The workers see the client's folders here (one machine); ``tests/test_cluster.py`` is where they do not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
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


def cluster_run(workers: int, codes: list[str], data: Path, out: Path, env: dict[str, str]) -> dict:
    """Start a scheduler and ``workers`` one-thread workers, run the batch on them, stop them; the timings."""
    port = _port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                                    "--death-timeout", "60"], start_new_session=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(workers)]
        from distributed import Client

        time.sleep(2)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=300)
        timings = {}
        for run, counties in (("cold", codes), ("warm", codes)):  # cold: new workers; warm: the same again
            load = _loadavg()
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "evalkit.cli", "batch", str(data), "--out", str(out),
                                   "--run", f"w{workers}-{run}", "--no-progress", "--no-overview", "--force",
                                   "--scheduler", address, "--counties", *counties], capture_output=True, text=True,
                                  env=env, cwd=ROOT)
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                raise SystemExit(f"the batch on {workers} worker(s) failed:\n{done.stderr[-3000:]}")
            m = json.loads((out / f"w{workers}-{run}" / "manifest.json").read_text(encoding="utf-8"))
            timings[run] = {"wall": wall, "render": m["summary"]["seconds"], "load": load}
        return timings
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=24, help="how many counties (default 24)")
    parser.add_argument("--data", default="data/sample", help="province folder (default data/sample)")
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
        one = cluster_run(1, codes, data, Path(tmp) / "out", env)
        two = cluster_run(2, codes, data, Path(tmp) / "out", env)
    rows = []
    for run, what in (("cold", "workers just started (kernels, browsers, blobs sent)"),
                      ("warm", "the same counties again on the same workers")):
        a, b = one[run], two[run]
        rows.append(f"| {run}: {what} | {a['wall']:.1f} / {b['wall']:.1f} | {a['render']:.1f} / {b['render']:.1f} "
                    f"| {a['render'] / (2 * b['render']):.2f} | {a['wall'] / (2 * b['wall']):.2f} "
                    f"| {a['load']} / {b['load']} |")
    print(f"""## Scale: {len(codes)} counties on 1 and on 2 Dask workers (issue 20)

- command: `.venv/bin/python bench/scale.py --counties {args.counties} --data {args.data}`
- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; code: {code_measured(str(ROOT))}
- machine: {os.cpu_count()} cores ({cpu_model()}), **shared with other jobs** (load averages in the table);
  workers: `dask worker --nthreads 1` on this machine, PDFs on, `--force`
- counties: {', '.join(codes)}

| run | batch wall (s), 1 / 2 workers | rendering (s), 1 / 2 | efficiency (rendering) | efficiency (wall) | load average before, 1 / 2 |
|---|---:|---:|---:|---:|---|
{chr(10).join(rows)}

Efficiency = T(1 worker) / (2 x T(2 workers)); target >= 0.8. Rendering: the manifest's `seconds` (from the
plan to the last report written); wall: the whole `evalkit batch` command (validation and planning included).""")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
