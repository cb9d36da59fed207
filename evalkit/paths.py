"""Project paths, computed once.  Notebooks and scripts never build paths by hand."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "DATA", "SAMPLE", "REPORTS", "NOTEBOOKS", "cache_dir"]

#: The project checkout (the folder holding pyproject.toml), or the working directory
#: when evalkit is installed elsewhere.
ROOT = Path(os.environ.get("EVALKIT_ROOT", Path(__file__).resolve().parent.parent))
#: Input data.
DATA = ROOT / "data"
#: The generated sample province (made by ``make sample``; not in git).
SAMPLE = DATA / "sample"
#: Rendered outputs.
REPORTS = ROOT / "reports"
#: Notebooks.
NOTEBOOKS = ROOT / "notebooks"


def cache_dir(given: str | Path | None = None) -> Path:
    """Where cached tables, scores and scanners live: ``given``, else ``EVALKIT_CACHE``, else
    ``reports/.cache``; absolute, so that a kernel running in ``notebooks/`` finds the same folder."""
    return Path(given or os.environ.get("EVALKIT_CACHE") or REPORTS / ".cache").resolve()
