"""Time ``evalkit.load_province`` in a fresh process: validating (the first load) against reading the validated
tables from the cache (every later load of unchanged inputs), as a new kernel sees it (issue 19, item 5).

Each timed load runs in a new Python process, measured inside it from before ``import evalkit`` to the
Province in hand (the interpreter's own start-up is printed apart).  The rounds alternate the three ways:

- ``schema.load_province``: read and validate every time (what ``evalkit.load_province`` did before);
- ``load_province, cold``: the first load, with an empty cache folder (validates, then writes the entry);
- ``load_province, cached``: a later load, the entry written (the target: under 1 s).

The processes keep Python's bytecode cache (``__pycache__``) as Python does by default, also where the
environment turns it off (``PYTHONDONTWRITEBYTECODE``, as this benchmark's own sandbox does): a kernel on a
researcher's machine does not compile evalkit's modules from source every time.

The cache folder is a temporary one (``reports/.cache`` is left alone).  Prints a Markdown section for
``bench/RESULTS.md``; progress goes to standard error.

    .venv/bin/python bench/load.py                      # data/sample, 5 rounds
    .venv/bin/python bench/load.py --rounds 3 --data path/to/province
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import code_measured, cpu_model, cpu_ticks, steal_share, version

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys, time
start = time.perf_counter()
import evalkit
if sys.argv[1] == "schema":
    import evalkit.schema
    p = evalkit.schema.load_province(sys.argv[2])
else:
    p = evalkit.load_province(sys.argv[2], cache_dir=sys.argv[3])
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "rows": {k: len(v) for k, v in p.tables().items()}, "warnings": len(p.warnings),
                  "type": type(p).__name__}))
"""


def run(way: str, data: str, cache: str, env: dict[str, str]) -> tuple[float, float, dict]:
    """(seconds inside the process, seconds of the whole process, what it said)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, way, data, cache], capture_output=True, text=True,
                          cwd=ROOT, timeout=900, env=env)
    whole = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{way} failed:\n{done.stderr}")
    said = json.loads(done.stdout)
    return said["seconds"], whole, said


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    data = str(Path(args.data).resolve())
    ways = {"schema.load_province (validates every time)": "schema", "load_province, cold (validates, writes the "
            "entry)": "cold", "load_province, cached (unchanged inputs)": "cached"}
    times: dict[str, list[tuple[float, float]]] = {w: [] for w in ways}
    said: dict[str, dict] = {}
    ticks = cpu_ticks()
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-load-") as tmp:
        # Python's default: bytecode written to and read from __pycache__ (the sandbox may have turned it off)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        warm = Path(tmp) / "warm"
        run("cached", data, str(warm), env)  # the entry the cached loads read, and the bytecode written
        entry = next(warm.glob("province-*"))
        for r in range(args.rounds):
            order = list(ways.items()) if r % 2 == 0 else list(ways.items())[::-1]
            for label, way in order:
                cache = str(Path(tmp) / f"cold-{r}") if way == "cold" else str(warm)
                inside, whole, out = run("schema" if way == "schema" else "cached", data, cache, env)
                if way == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                times[label].append((inside, whole))
                said[label] = {k: out[k] for k in ("rows", "warnings")}
                print(f"round {r + 1}: {label}: {inside:.3f} s", file=sys.stderr)
        size = entry.stat().st_size
    stolen = steal_share(ticks, cpu_ticks())
    cached = [t for t, _ in times["load_province, cached (unchanged inputs)"]]
    schema = [t for t, _ in times["schema.load_province (validates every time)"]]
    print("## `load_province` in a fresh process: validating against the cached validated tables\n")
    print(f"- command: `python bench/load.py --data {args.data} --rounds {args.rounds}`")
    print(f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"- code: {code_measured(str(ROOT))}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    print(f"- machine: {cpu_model()}, {os.cpu_count()} CPUs; CPU stolen by the host during the run: {stolen}; load "
          f"average at the end (1, 5, 15 min): {load}")
    print(f"- python {sys.version.split()[0]}, pandas {version('pandas')}, pyarrow {version('pyarrow')}; bytecode "
          "cache on (Python's default)")
    print(f"- data: {args.data}, rows {said[next(iter(said))]['rows']}; cache entry {size / 1e6:.0f} MB")
    print(f"- {args.rounds} rounds, each way once per round in a new process, the order swapped every round; seconds "
          "inside the process from before `import evalkit` to the Province (the whole process, interpreter "
          "start-up included, in brackets)\n")
    print("| way | best (s) | median (s) | all runs (s) |\n|---|---:|---:|---|")
    for label, runs in times.items():
        inside = [t for t, _ in runs]
        print(f"| {label} | {min(inside):.3f} ({min(w for _, w in runs):.3f}) | {statistics.median(inside):.3f} "
              f"({statistics.median(w for _, w in runs):.3f}) | {', '.join(f'{t:.2f}' for t in inside)} |")
    same = len({json.dumps(v, sort_keys=True) for v in said.values()}) == 1
    print(f"\n- same tables (rows) and warnings every way: {'yes' if same else 'NO'}")
    print(f"- target, a cached load under 1 s: {'met' if statistics.median(cached) < 1 else 'NOT met'} (median "
          f"{statistics.median(cached):.3f} s, worst {max(cached):.3f} s); {statistics.median(schema) / statistics.median(cached):.1f}x "
          "faster than validating (medians)")


if __name__ == "__main__":
    main()
