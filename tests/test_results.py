"""The results layer (issue 17, item 3): one key recipe names every cached value and every report's fingerprint,
and no module outside ``evalkit/results.py`` keeps data-dependent results in module-level memory.

The keys are computed by the real code in a copy of the package with one file changed, as
tests/test_stops.py does for the caches.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BASE
from test_stops import _package_copy

ROOT = Path(__file__).resolve().parents[1]

_PLAN = """
import json, sys
from pathlib import Path
from evalkit.batch import plan
data, out = sys.argv[1], sys.argv[2]
p = plan(data, counties=["090102"], out=out)
print(json.dumps({"tables": sorted(f.name for f in Path(sys.argv[3]).glob("indicators-*")),
                  **{t.key: t.fingerprint for t in p.tasks}}))
"""


def _planned(package: Path, tmp_path: Path) -> dict:
    """The indicator table's cache file and the fingerprints ``evalkit batch`` plans with, for county 090102 and the
    overview, with the package at ``package`` (each copy its own cache folder)."""
    cache, out = tmp_path / f"cache-{package.name}", tmp_path / f"out-{package.name}"
    for name in ("notebooks", "pyproject.toml"):  # a checkout: the batch runs the checkout's notebooks
        (package / name).symlink_to(ROOT / name)
    env = {**os.environ, "PYTHONPATH": str(package), "EVALKIT_CACHE": str(cache), "EVALKIT_ROOT": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _PLAN, str(BASE), str(out), str(cache)], capture_output=True,
                          text=True, env=env, timeout=600, cwd=package)
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    assert len(planned["tables"]) == 1 and set(planned) == {"tables", "090102", "overview"}, planned
    return planned


def test_a_change_to_the_scrub_gives_the_table_and_every_report_a_new_key_and_unrelated_code_does_not(tmp_path):
    """The scrub feeds the comments stored with the indicator table: a change to it must give the table a new cache
    key (no table serving old comments) and every report a new fingerprint (the batch renders it again).  A change
    to a catalogue re-renders the reports and keeps the table; a change to code no report runs (the sample
    generator) neither rebuilds the table nor re-renders 244 reports."""
    before = _planned(_package_copy(tmp_path, None), tmp_path)
    scrub = _planned(_package_copy(tmp_path, "privacy/scrub.py"), tmp_path)
    assert scrub["tables"] != before["tables"]
    assert scrub["090102"] != before["090102"] and scrub["overview"] != before["overview"]

    words = _planned(_package_copy(tmp_path, "report/locale/zh.toml"), tmp_path)
    assert words["tables"] == before["tables"]
    assert words["090102"] != before["090102"] and words["overview"] != before["overview"]

    unrelated = _planned(_package_copy(tmp_path, "synth.py"), tmp_path)
    assert unrelated == before


# --------------------------------------------------------------------------- no memory of results elsewhere

#: Module-level memory outside evalkit/results.py that is allowed, by name (wherever the code lives), and why.
#: Constant caches: of files shipped in the package, or of pure functions of their arguments.
CONSTANT = {
    "catalogue": "indicators.toml; the i18n catalogues (packaged files)",
    "catalogue_columns": "indicators.toml, as dicts (a packaged file)",
    "indicators": "the indicator registry (a packaged file)", "texts": "the registry's texts of one language",
    "_toml": "tables.toml, codes.toml (packaged files)",
    "_templates": "the packaged theme's templates", "_theme": "the packaged theme", "_exporter": "nbconvert exporter",
    "_groups": "indicators.toml groups", "_catalogue": "packaged catalogues",
    "_register": "the bundled font", "_cmap": "the bundled font", "_web_master": "the bundled font",
    "_glyph_order": "the bundled font", "_woff": "the bundled font subset for a set of characters",
    "_catalogue_texts": "the packaged catalogues' texts",
    "_word_alternatives": "pure function of its argument", "_segmenter": "word segmenter (a library)",
    "_syllables": "pure function of its argument",
    # the importer's lookup tables: built from tables.toml and codes.toml (packaged files) and constant texts
    "aliases": "tables.toml column names and labels", "_personal_index": "constant header texts",
    "_likert": "codes.toml and constant texts", "_category": "codes.toml and constant texts",
    "_SPACE": "which characters Arrow's trim and Python's strip remove (the installed libraries)",
    # the key recipe itself: code hashes of the package's source files, constant for a process
    "_bytes": "source files", "_source": "source files", "_imports": "source files", "code_hash": "source files",
}
#: Process state that holds no result: the recipe's --force bookkeeping, a weak index of immutable arrays,
#: a worker's kernel, the papermill engine class, the scanning and Word threads, the font made known to fontconfig.
STATE = {"_FORCE", "_DONE", "_KNOWN", "_WORKER", "_ENGINE", "_SCAN_THREAD", "_WORD_THREAD", "_FONT_ADDED"}

_MUTATORS = {"append", "add", "update", "setdefault", "pop", "popitem", "clear", "extend", "insert", "remove",
             "discard", "__setitem__"}
_MUTABLE_CALLS = {"dict", "set", "list", "defaultdict", "OrderedDict", "WeakValueDictionary", "WeakKeyDictionary"}


def _memos(path: Path) -> set[str]:
    """Module-level names of ``path`` that keep memory between calls: functions under ``@cache``/``lru_cache``,
    containers a function of the module changes, and names rebound through ``global``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    containers: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                name = ast.unparse(d.func if isinstance(d, ast.Call) else d)
                if name.split(".")[-1] in ("cache", "lru_cache"):
                    found.add(node.name)
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if value is None:
            continue
        mutable = (isinstance(value, (ast.Dict, ast.Set, ast.List, ast.DictComp, ast.SetComp, ast.ListComp))
                   or (isinstance(value, ast.Call) and ast.unparse(value.func).split(".")[-1] in _MUTABLE_CALLS))
        if mutable:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            containers |= {t.id for t in targets if isinstance(t, ast.Name)}
    inside = [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
              for n in ast.walk(f)]  # what runs after import: building a constant at import is no memory
    for node in inside:
        if isinstance(node, ast.Global):
            found |= set(node.names)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            for t in (node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]):
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in containers:
                    found.add(t.value.id)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS
              and isinstance(node.func.value, ast.Name) and node.func.value.id in containers):
            found.add(node.func.value.id)
    return found


def test_the_scan_finds_the_memos_the_results_layer_replaced(tmp_path):
    """The check below would have caught the memos of the old code (report/data.py, privacy.py, batch.py)."""
    old = ("_MEMO: dict = {}\n_LOADED: dict = {}\nKEEP = {'a': 1}\n"
           "def province_data(k):\n    _MEMO.clear()\n    _MEMO[k] = 1\n"
           "def load_scanner(k):\n    _LOADED.setdefault(k, 2)\n"
           "import functools\n@functools.lru_cache(maxsize=1)\ndef table(data_dir):\n    return data_dir\n")
    path = tmp_path / "old.py"
    path.write_text(old, encoding="utf-8")
    assert _memos(path) == {"_MEMO", "_LOADED", "table"}


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "evalkit").rglob("*.py") if p.name != "results.py"),
                         ids=lambda p: str(p.relative_to(ROOT / "evalkit")))
def test_no_module_outside_the_results_layer_keeps_results_in_memory(path):
    """A value built from a province's inputs and kept in module-level memory outside evalkit/results.py is served
    stale when the inputs or the code change (the cached table that served old comments).  Build and keep it in
    the results layer; a constant cache of packaged files goes in CONSTANT above, with its reason."""
    unexplained = _memos(path) - set(CONSTANT) - STATE
    assert not unexplained, (f"{path.relative_to(ROOT)} keeps {sorted(unexplained)} in module-level memory: move it "
                             "into evalkit/results.py, or add a constant cache to CONSTANT in tests/test_results.py")
