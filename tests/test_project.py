"""The project's own promises: two README commands, CI calling them, files kept in sync."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from evalkit.schema import CODEBOOK_BEGIN, CODEBOOK_END, codebook_markdown

ROOT = Path(__file__).resolve().parents[1]


def _names(specs):
    return {re.split(r"[<>=!~ \[]", s.strip(), maxsplit=1)[0].lower() for s in specs}


def test_environment_yml_matches_pyproject():
    import yaml

    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    wanted = {s.replace(" ", "") for s in py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"]}
    conda = [d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # what conda-forge lacks comes from PyPI, in the pip list before evalkit itself
    assert {d.replace(" ", "") for d in conda + pip[:-1]} == wanted
    assert pip[-1] == "-e ."


def test_required_building_blocks_are_dependencies():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = _names(py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"])
    assert {"jupyterlab", "papermill", "pandas", "statsmodels", "matplotlib", "nbval", "pytest"} <= names


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make province" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY: (.+)$", makefile, re.M).group(1).split()
    for target in phony:
        assert f"make {target} " in out, f"make help does not list {target}"


def test_codebook_in_data_readme_is_current():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    section = text.split(CODEBOOK_BEGIN, 1)[1].split(CODEBOOK_END, 1)[0]
    assert section.strip() == codebook_markdown().strip(), "run `make codebook`"


def test_test_inputs_are_reproducible(tmp_path):
    """tests/data is what tests/data/make_inputs.py writes (nobody hand-edited a fixture)."""
    import shutil
    import sys

    copy = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "data", copy)
    subprocess.run([sys.executable, str(copy / "make_inputs.py")], check=True, capture_output=True)
    import pandas as pd

    for f in (ROOT / "tests" / "data").rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            made = copy / f.relative_to(ROOT / "tests" / "data")
            if f.read_bytes().startswith(b"PK"):  # workbooks carry their save time: compare the cells
                pd.testing.assert_frame_equal(pd.read_excel(made, header=None, dtype=str),
                                              pd.read_excel(f, header=None, dtype=str))
            else:
                assert made.read_bytes() == f.read_bytes(), f
