"""Project paths, computed once.  Notebooks and scripts never build paths by hand.

In a checkout (this package beside ``pyproject.toml`` and ``notebooks/``) every path is the checkout's,
as ``make province`` expects.  Installed from a wheel, inputs and outputs are the working directory's
(``./data``, ``./reports``) and the notebooks that the batch runs are the copies shipped inside the
package (``evalkit/_notebooks/``, made by the build step in ``setup.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "DATA", "SAMPLE", "REPORTS", "NOTEBOOKS", "CHECKOUT", "cache_dir", "data_folder"]

_PACKAGE = Path(__file__).resolve().parent
#: Whether evalkit runs from its checkout (editable install or source tree) rather than from a wheel.
CHECKOUT = (_PACKAGE.parent / "pyproject.toml").is_file() and (_PACKAGE.parent / "notebooks").is_dir()
#: The project checkout (the folder holding pyproject.toml), or the working directory when evalkit is
#: installed elsewhere; ``EVALKIT_ROOT`` overrides both (the batch hands its own to its kernels).
ROOT = Path(os.environ.get("EVALKIT_ROOT") or (_PACKAGE.parent if CHECKOUT else Path.cwd()))
#: Input data.
DATA = ROOT / "data"
#: The generated sample province (made by ``make sample``; not in git).
SAMPLE = DATA / "sample"
#: Rendered outputs.
REPORTS = ROOT / "reports"
#: The notebooks that ``evalkit batch`` runs: the checkout's ``notebooks/``, or the copies in the package.
NOTEBOOKS = _PACKAGE.parent / "notebooks" if CHECKOUT else _PACKAGE / "_notebooks"


def cache_dir(given: str | Path | None = None) -> Path:
    """Where cached tables, scores and scanners live: ``given``, else ``EVALKIT_CACHE``, else
    ``reports/.cache``; absolute, so that a kernel running in ``notebooks/`` finds the same folder."""
    return Path(given or os.environ.get("EVALKIT_CACHE") or REPORTS / ".cache").resolve()


def data_folder(data_dir: str | Path) -> Path:
    """A data folder: absolute as given, relative to the project root otherwise (notebooks run in notebooks/)."""
    path = Path(data_dir)
    return path if path.is_absolute() else ROOT / path
