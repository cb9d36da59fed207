"""evalkit at two revisions side by side: the working tree against a git revision, alternating.

This shared machine's speed drifts by up to 2x over minutes, so two timings made minutes apart say
little about a change worth 10%.  This script runs both versions in one run, each in a worker process
of its own that reads the province once and then waits; the workers take turns, round after round
(the order swapped every round), so that both meet the same machine.  It prints each side's best and
median time, the ratio of the bests and each round's own ratio (median and range), and whether both
sides made the same result (the indicator table and ``load_province``'s frames, compared exactly).

    .venv/bin/python bench/ab.py                          # working tree vs HEAD: the indicator table
    .venv/bin/python bench/ab.py HEAD~3 --job load --rounds 9
    .venv/bin/python bench/ab.py --data data/sample       # an existing province instead of the full one

Jobs (``--job``): ``table`` (``indicator_table`` on the side's own validated province), ``load``
(``load_province``: read + validate) and ``read`` (the bare Parquet read, the same code on both sides:
a control whose ratio should be 1 within the noise).  The baseline is ``git archive REV evalkit``,
unpacked into a temporary folder; the working tree's ``evalkit/`` is used as it is, uncommitted
changes included.  Each worker imports evalkit from its own tree (checked) with the venv's libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import code_measured, cpu_model, git, version  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: The worker: imports evalkit from the tree it is given, prepares its job, then runs it on each "run" line.
_WORKER = r"""
import gc, json, sys, time
from pathlib import Path
tree, data, job = sys.argv[1:4]
sys.path.insert(0, tree)
import evalkit
assert Path(evalkit.__file__).resolve().is_relative_to(Path(tree).resolve()), evalkit.__file__
import pandas as pd
from evalkit.schema import TABLES, load_province
from evalkit.indicators import indicator_table
province = load_province(data)
jobs = {"read": lambda: [pd.read_parquet(f"{data}/{t}.parquet") for t in TABLES],
        "load": lambda: load_province(data), "table": lambda: indicator_table(province)}
run = jobs[job]
result = run()  # warm-up; its result is the one compared
print(json.dumps({"ready": evalkit.__file__}), flush=True)
for line in sys.stdin:
    command, *arg = line.split()
    if command == "run":
        gc.collect()
        start = time.perf_counter()
        run()
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)
    elif command == "save":
        frames = {"table": result} if job == "table" else {t: getattr(province, t) for t in TABLES}
        for name, frame in frames.items():
            frame.to_pickle(f"{arg[0]}-{name}.pkl")
        print(json.dumps({"saved": sorted(frames)}), flush=True)
"""


class Worker:
    """One side: a process with evalkit from ``tree`` on the path, its job prepared."""

    def __init__(self, name: str, tree: Path, data: Path, job: str) -> None:
        self.name, self.runs = name, []
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER, str(tree), str(data), job], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tree)
        self.ask(None)

    def ask(self, command: str | None) -> dict:
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench/ab.py: the {self.name} worker stopped (its error is above)")
        return json.loads(line)

    def run(self) -> None:
        self.runs.append(self.ask("run")["seconds"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def baseline_tree(rev: str, into: Path) -> str:
    """Unpack ``evalkit/`` at ``rev`` into ``into``; the commit's full hash."""
    commit = git(str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}")
    if not commit:
        raise SystemExit(f"bench/ab.py: {rev!r} is not a commit of {ROOT}")
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "evalkit"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def same_results(paths: dict[str, Path], names: list[str]) -> str:
    """Whether both sides' saved results are equal (exactly, dtypes included); else what differs."""
    import pandas as pd

    differ = []
    for name in names:
        a, b = (pd.read_pickle(f"{paths[side]}-{name}.pkl") for side in ("baseline", "working tree"))
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            differ.append(f"{name} ({a.shape[0]:,} and {b.shape[0]:,} rows): {' '.join(lines[:3])}")
    return "identical" if not differ else "differ: " + "; ".join(differ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time evalkit's working tree against a git revision, "
                                                 "alternating in one run; print a Markdown report.")
    parser.add_argument("rev", nargs="?", default="HEAD", help="the baseline revision (default HEAD)")
    parser.add_argument("--job", choices=("table", "load", "read"), default="table",
                        help="what to time (default table: the whole indicator table)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds, each side once per round (default 7)")
    parser.add_argument("--data", type=Path, help="a province folder (default: the full synthetic province, "
                                                  "written to a temporary folder)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1.")

    with tempfile.TemporaryDirectory(prefix="evalkit-ab-") as tmp:
        tmp = Path(tmp)
        commit = baseline_tree(args.rev, tmp / "base")
        data = args.data
        if data is None:
            print("ab: writing the full synthetic province", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "evalkit.cli", "synth", str(tmp / "data"), "--size", "full"],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            data = tmp / "data"
        print("ab: starting both sides (each reads and validates the province once)", file=sys.stderr)
        sides = [Worker("baseline", tmp / "base", data.resolve(), args.job),
                 Worker("working tree", ROOT, data.resolve(), args.job)]
        try:
            for i in range(args.rounds):
                print(f"ab: round {i + 1} of {args.rounds}", file=sys.stderr)
                for side in sides if i % 2 == 0 else sides[::-1]:
                    side.run()
            saved = {side.name: tmp / side.name.replace(" ", "-") for side in sides}
            names = [side.ask(f"save {saved[side.name]}")["saved"] for side in sides][0]
            same = same_results(saved, names)
        finally:
            for side in sides:
                side.close()

    base, new = sides
    paired = sorted(n / b for n, b in zip(new.runs, base.runs))
    command = "python bench/ab.py " + " ".join(sys.argv[1:] if argv is None else argv)
    job = {"table": "`indicator_table`", "load": "`load_province` (read + validate)",
           "read": "`pd.read_parquet` of the four tables (control: the same code on both sides)"}[args.job]
    lines = [
        f"## A/B: {job}, working tree against {args.rev}",
        "",
        f"- command: `{command.strip()}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores; python {sys.version.split()[0]}, "
        f"numpy {version('numpy')}, pandas {version('pandas')}, scipy {version('scipy')}",
        f"- baseline: {args.rev} = commit {commit[:7]}; working tree: {code_measured(str(ROOT))}",
        f"- data: {args.data or 'the full synthetic province (evalkit synth --size full)'}",
        f"- {args.rounds} rounds, each side once per round, the order swapped every round",
        "",
        "| side | best (s) | median (s) | best / baseline's best |",
        "|---|---:|---:|---:|",
    ]
    for side in sides:
        lines.append(f"| {side.name} | {min(side.runs):.3f} | {statistics.median(side.runs):.3f} | "
                     f"{min(side.runs) / min(base.runs):.3f} |")
    lines += [
        "",
        f"- working tree / baseline within each round: median {statistics.median(paired):.3f}, "
        f"range {paired[0]:.3f}-{paired[-1]:.3f}",
        f"- results: {same}",
        "- all runs (s): " + "; ".join(f"{s.name} " + ", ".join(f"{x:.3f}" for x in s.runs) for s in sides),
    ]
    print("\n".join(lines))
    return 0 if same == "identical" else 1


if __name__ == "__main__":
    sys.exit(main())
