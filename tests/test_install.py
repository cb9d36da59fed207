"""evalkit as a user gets it: the wheel, installed into a fresh virtual environment outside the checkout,
run from an empty folder (issue 17: the wheel had no notebooks and wrote into site-packages).

The wheel is built from a copy of the checkout (``pip wheel --no-deps``, build isolation as for a user).
To keep the test to about a minute, the new environment takes its *dependencies* from the test's own
environment through a ``.pth`` file; evalkit itself comes only from the wheel (checked).  With
``EVALKIT_TEST_FULL_INSTALL=1`` the dependencies are installed from the index too (about 2 more minutes).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

#: What the copy of the checkout leaves out: environments, build leftovers, generated data and outputs.
_LEAVE_OUT = {".git", ".venv", ".venv.tools", "build", "dist", "reports", "__pycache__", ".pytest_cache",
              ".hypothesis", ".ipynb_checkpoints"}


def _leave_out(folder: str, names: list[str]) -> list[str]:
    here = Path(folder).resolve()
    return [n for n in names if n in _LEAVE_OUT or n.endswith(".egg-info")
            or (here == ROOT / "data" and n == "sample")]


def _run(args: list, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout as ``pip wheel . --no-deps`` builds it."""
    where = tmp_path_factory.mktemp("build")
    source = where / "evalkit-src"
    shutil.copytree(ROOT, source, ignore=_leave_out)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", where / "dist", source], cwd=where)
    (found,) = (where / "dist").glob("evalkit-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """A fresh virtual environment outside the checkout with the wheel installed: its folder and the
    environment variables a shell in it would have."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    full = os.environ.get("EVALKIT_TEST_FULL_INSTALL") == "1"
    # pip of the test's environment installs into the new one (--python): no pip to bootstrap there
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
          *([] if full else ["--no-deps", "--no-index"]), wheel], cwd=env_dir, timeout=900)
    if not full:  # the dependencies, read from the test's environment, after evalkit's own site-packages
        inner = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          cwd=env_dir).stdout.strip())
        (inner / "zz_evalkit_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith("EVALKIT_")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if not full:  # and the dependencies' data files (nbconvert's templates)
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                            env.get("JUPYTER_PATH")]))
    return env_dir, env


def test_the_wheel_holds_what_evalkit_reads_and_no_tests_or_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "evalkit").rglob("*")
               if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts}
    assert shipped - names == set(), "package data missing from the wheel"
    assert {"evalkit/_notebooks/county_report.ipynb", "evalkit/_notebooks/province_overview.ipynb"} <= names
    assert (ROOT / "notebooks" / "county_report.ipynb").read_bytes() == \
        zipfile.ZipFile(wheel).read("evalkit/_notebooks/county_report.ipynb")
    assert "evalkit/__main__.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {n.split("/")[0] for n in names} == {"evalkit", wheel.name.split("-py")[0] + ".dist-info"}
    metadata = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT AND OFL-1.1" in metadata.splitlines()


def test_installed_evalkit_renders_a_county_from_an_empty_folder(installed, tmp_path):
    env_dir, env = installed
    python, evalkit = env_dir / "bin" / "python", env_dir / "bin" / "evalkit"
    where = _run([python, "-c", "import evalkit; print(evalkit.__file__)"], cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).is_relative_to(env_dir.resolve()) or Path(where).is_relative_to(env_dir), where
    assert "usage: evalkit" in _run([python, "-m", "evalkit", "--help"], cwd=tmp_path, env=env).stdout

    folder = tmp_path / "work"  # an empty folder: no checkout, no notebooks, no data
    folder.mkdir()
    # the default data folder is the working directory's data/sample, not one inside site-packages
    missing = subprocess.run([evalkit, "batch"], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert missing.returncode == 1 and f"not found in {folder / 'data' / 'sample'}:" in missing.stderr, missing.stderr
    assert list(folder.iterdir()) == []
    _run([evalkit, "synth", "small-province", "--size", "small"], cwd=folder, env=env)
    code = json.loads(_run([python, "-c", "import pandas as pd, json; print(json.dumps(sorted(pd.read_parquet("
                                          "'small-province/regions.parquet').county_code.unique())))"],
                           cwd=folder, env=env).stdout)[0]
    _run([evalkit, "batch", "small-province", "--counties", code, "--pdf", "no", "--no-overview", "--no-progress"],
         cwd=folder, env=env)
    (run,) = (folder / "reports").glob("small-province-*-en")
    page = (run / f"{code}.html").read_text(encoding="utf-8")
    assert code in page and "</html>" in page
    assert json.loads((run / "manifest.json").read_text())["reports"][code]["status"] == "ok"
    assert sorted(p.name for p in folder.iterdir()) == ["reports", "small-province"]
    leftovers = [p for p in env_dir.rglob("*") if p.name in {"reports", ".cache"}]
    assert leftovers == [], f"written inside the installed package: {leftovers}"
