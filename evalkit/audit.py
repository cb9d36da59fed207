"""The privacy audit (``make audit``): render a province with personal data planted in its inputs, and prove
that none of it reaches a published output, and that the scan would have caught it.

Three batch runs over a copy of the province whose survey comments hold planted names, phone and
identity numbers, e-mail and street addresses (:func:`evalkit.privacy.plant`):

1. **Normal** (comments scrubbed, outputs scanned before publishing): the batch succeeds, and a
   scan of every published file (HTML, PDF, notebooks, index, manifest) finds nothing: zero leaks.
2. **Scrubbing off** (``EVALKIT_UNSAFE_NO_SCRUB``): the batch's own scan stops every report whose
   comments carry planted data: those counties are marked failed and none of their files is
   published.
3. **Scrubbing and the batch's scan off** (``EVALKIT_UNSAFE_NO_SCAN`` too): the outputs now hold the
   planted values that reached a report, and a separate scan finds every one of them: the scan is
   able to fail.

Each run writes under ``WORK``; nothing touches ``reports/``.  The summary says what was planted,
what reached a report and what was found, by kind; the exit status is 1 when any expectation fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

__all__ = ["AuditResult", "run_audit", "main"]


@dataclass
class AuditResult:
    """What each run of the audit showed; ``ok`` when every expectation held."""

    planted: int = 0
    reached: int = 0
    leaks: int = 0
    gated: list[str] = field(default_factory=list)
    published_gated: list[str] = field(default_factory=list)
    found: int = 0
    missed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _batch(data: Path, out: Path, extra: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evalkit.cli", "batch", str(data), "--out", str(out), "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})


def run_audit(data_dir: str | Path, work: str | Path, *, seed: int = 1, batch_args: Sequence[str] = (),
              log=print) -> AuditResult:
    """Run the three batches described in the module docstring over a planted copy of ``data_dir``."""
    from .privacy import Planted, plant, scanner_for

    work = Path(work).resolve()  # kernels run in notebooks/: every path they are given is absolute
    if work.exists() and any(work.iterdir()):
        raise FileExistsError(f"{work} is not empty: the audit needs a fresh folder")
    res = AuditResult()
    data = work / "data"
    planted: Planted = plant(data_dir, data, seed)
    res.planted = len(planted.values)
    log(f"audit: planted {res.planted} values ({', '.join(f'{len(v)} {k}' for k, v in sorted(planted.by_kind().items()))}) "
        f"in the comments of {len(planted.counties())} counties: {data}")
    cache = {"EVALKIT_CACHE": str(work / "cache")}
    scanner = scanner_for(data)

    # 1. the normal run: nothing leaks
    done = _batch(data, work / "scrubbed", batch_args, cache)
    if done.returncode != 0:
        res.problems.append(f"the normal run failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    findings = scanner.tree(work / "scrubbed")
    res.leaks = len(findings)
    if findings:
        res.problems.append(f"{len(findings)} finding(s) in the normal run's outputs: "
                            + "; ".join(str(f) for f in findings[:10]))
    log(f"audit: 1. scrubbed and scanned: exit {done.returncode}, {res.leaks} finding(s) in "
        f"{sum(1 for _ in (work / 'scrubbed').rglob('*') if _.is_file())} published files")

    # 2. scrubbing off: the batch's scan refuses to publish what carries planted data
    unsafe = {**cache, "EVALKIT_UNSAFE_NO_SCRUB": "1"}
    gated = _batch(data, work / "gated", batch_args, unsafe)
    run_dir = next((work / "gated").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    res.gated = sorted(k for k, r in manifest["reports"].items() if r.get("privacy"))
    res.published_gated = sorted(k for k in res.gated if (run_dir / f"{k}.html").exists()
                                 or (run_dir / f"{k}.pdf").exists() or (run_dir / "notebooks" / f"{k}.ipynb").exists())
    if gated.returncode == 0 or not res.gated:
        res.problems.append("with scrubbing off the batch published every report: its scan stopped nothing")
    if res.published_gated:
        res.problems.append(f"reports stopped by the scan were published anyway: {', '.join(res.published_gated)}")
    log(f"audit: 2. unscrubbed, scanned: exit {gated.returncode}, {len(res.gated)} report(s) stopped by the scan "
        f"and not published")

    # 3. scrubbing and the batch's scan off: a scan of what was published finds every planted value shown
    leaky = _batch(data, work / "leaky", batch_args, {**unsafe, "EVALKIT_UNSAFE_NO_SCAN": "1"})
    if leaky.returncode != 0:
        res.problems.append(f"the unscanned run failed (exit {leaky.returncode}): {leaky.stderr.strip()[-2000:]}")
    html = {p.stem: p.read_text(encoding="utf-8") for p in (work / "leaky").rglob("*.html")}
    # the planted values a report shows (a report shows a few comments of each county): those must be found
    shown = [v for v in planted.values
             if any(v.value in text for text in (html.get(v.county_code, ""),))]
    res.reached = len(shown)
    findings = scanner.tree(work / "leaky")
    not_found = set(planted.missing(findings))
    missed = [v for v in shown if v in not_found]
    res.found = res.reached - len(missed)
    res.missed = [f"{v.kind} in {v.county_code}" for v in missed]
    if not shown:
        res.problems.append("no planted value reached a report: the negative control shows nothing")
    if missed:
        res.problems.append(f"the scan missed {len(missed)} planted value(s) that reached a report: "
                            + ", ".join(res.missed[:20]))
    log(f"audit: 3. unscrubbed, unscanned: exit {leaky.returncode}; {res.reached} planted value(s) reached a report, "
        f"the scan found {res.found} of them ({len(findings)} finding(s) in all)")
    log("audit: " + ("PASSED: zero leaks, and the scan is proven able to fail" if res.ok
                     else "FAILED:\n  " + "\n  ".join(res.problems)))
    return res


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evalkit.audit", description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path, help="the province to audit (a planted copy is made; it is not changed)")
    ap.add_argument("work", type=Path, help="an empty folder for the copy, the runs and their outputs")
    ap.add_argument("--seed", type=int, default=1, help="seed of the planted values (default 1)")
    ap.add_argument("batch_args", nargs=argparse.REMAINDER,
                    help="after --: options for every evalkit batch run (e.g. -- --prefecture 0901)")
    args = ap.parse_args(argv)
    extra = [a for a in args.batch_args if a != "--"]
    return 0 if run_audit(args.data_dir, args.work, seed=args.seed, batch_args=extra).ok else 1


if __name__ == "__main__":
    sys.exit(main())
