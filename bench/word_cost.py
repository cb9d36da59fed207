"""What the Word file costs per report (issue 21), beside the HTML page and the PDF.

Runs ``evalkit batch data/sample --counties ... --force --no-overview --no-progress --jobs 1`` twice on the
same counties: with ``--formats html,pdf,docx`` and with ``--formats html,pdf``, and prints (Markdown) the
per-report durations the manifest recorded (mean, min, max of ``html``, ``docx``, ``pdf``, ``scan``,
``total``), the batch's wall time, and the sizes of the files.

    .venv/bin/python bench/word_cost.py                 # 8 counties
    .venv/bin/python bench/word_cost.py --counties 12
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=8)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from evalkit.results import province_data

    data = province_data(ROOT / "data" / "sample")  # builds or reads the cached table, untimed
    codes = list(data.counties()["county_code"])[: args.counties]
    print(f"## `.docx` cost per report: {len(codes)} counties of the sample province, one worker\n")
    print(f"- command: `python bench/word_cost.py --counties {args.counties}`; load average before: "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| formats | batch wall (s) | per report (s), mean [min, max]: html | docx | pdf | scan | total | "
          "mean size (kB) html / pdf / docx |")
    print("|---|---|---|---|---|---|---|---|")
    for formats in ("html,pdf,docx", "html,pdf"):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.monotonic()
            done = subprocess.run([str(ROOT / ".venv" / "bin" / "evalkit"), "batch", str(ROOT / "data" / "sample"),
                                   "--counties", ",".join(codes), "--force", "--no-overview", "--no-progress",
                                   "--jobs", "1", "--formats", formats, "--out", out, "--run", "r"],
                                  capture_output=True, text=True)
            wall = time.monotonic() - t0
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 1
            reports = json.loads((Path(out) / "r" / "manifest.json").read_text())["reports"]

            def stat(kind: str) -> str:
                values = [r["durations"][kind] for r in reports.values() if kind in r["durations"]]
                if not values:
                    return "—"
                return f"{statistics.mean(values):.2f} [{min(values):.2f}, {max(values):.2f}]"

            def size(kind: str) -> str:
                files = [Path(out) / "r" / r["outputs"][kind]["file"] for r in reports.values()
                         if kind in r["outputs"]]
                return f"{statistics.mean(f.stat().st_size for f in files) / 1024:.0f}" if files else "—"

            print(f"| {formats} | {wall:.1f} | {stat('html')} | {stat('docx')} | {stat('pdf')} | {stat('scan')} | "
                  f"{stat('total')} | {size('html')} / {size('pdf')} / {size('docx')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
