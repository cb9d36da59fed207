"""The layers of evalkit hold (issue 17): the import contracts in pyproject.toml ([tool.importlinter]) are kept,
and no module uses another module's private names.

import-linter checks the layers, the absence of cycles and that the report imports no measure or statistics
library; it cannot see names, so the private-name rule is checked here on the source: a name that starts with
one underscore (``_rate_columns``, not ``__version__``) is private to the module that defines it, and another
evalkit module may neither import it (``from .rates import _rate_columns``) nor reach it through the module
(``fingerprint._key``).  Private *modules* (``evalkit._codes``) are the package's own: modules of that package
may import them (import-linter's private_modules contract checks that).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "evalkit"

# Private names that still cross module lines, as (importing module, defining module, name).  Each is a debt,
# not a permission: the list must only shrink (a crossing not listed here fails, and so does an entry that no
# longer occurs), and it should be empty once issue 17 is done.  The fix for each is in the issue 17 notes.
ALLOWED: set[tuple[str, str, str]] = {
    # the indicator table calls the measures' array-level entry points: public since issue 17 (the old names
    # stay bound until indicators.py imports compare.DIRECTION_CODES, compare.interval_direction,
    # satisfaction.satisfaction_breakdowns, suppress.suppress_arrays, survey.t_quantile and reach's public
    # by_level)
    ("evalkit.indicators", "evalkit.measures.compare", "_CODES"),
    ("evalkit.indicators", "evalkit.measures.compare", "_interval_direction"),
    ("evalkit.indicators", "evalkit.measures.reach", "_by_level"),
    ("evalkit.indicators", "evalkit.measures.satisfaction", "_satisfaction"),
    ("evalkit.indicators", "evalkit.measures.suppress", "_hide"),
    ("evalkit.indicators", "evalkit.measures.survey", "_t_quantile"),
    # reach imports the shared checks from measures._shared (public names) and public proportion_columns and
    # rate_columns from proportions and rates
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_check_method"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_check_not_above"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_check_not_negative"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_check_positive"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_confidence_levels"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_long_columns"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_numbers"),
    ("evalkit.measures.reach", "evalkit.measures.proportions", "_proportion_columns"),
    ("evalkit.measures.reach", "evalkit.measures.rates", "_rate_columns"),
    # privacy's scrub and scan import personal.FOLD, HAN, Hit, NameIndex and detect_folded (public since issue 17)
    ("evalkit.privacy.scan", "evalkit.personal", "_FOLD"),
    ("evalkit.privacy.scan", "evalkit.personal", "_HAN"),
    ("evalkit.privacy.scan", "evalkit.personal", "_Hit"),
    ("evalkit.privacy.scan", "evalkit.personal", "_NameIndex"),
    ("evalkit.privacy.scan", "evalkit.personal", "_detect"),
    ("evalkit.privacy.scrub", "evalkit.personal", "_FOLD"),
    ("evalkit.privacy.scrub", "evalkit.personal", "_NameIndex"),
    ("evalkit.privacy.scrub", "evalkit.personal", "_detect"),
    # the reach split (issue 17, 4b): reach's measures call the engine in measures/ledger.py, which reads the shared
    # checks of proportions; the engine's names (geography, ledger, served, locate, require, ...) become public, or
    # ledger gets a public by-level entry point and reach uses only it
    ("evalkit.measures.ledger", "evalkit.measures.proportions", "_check_method"),
    ("evalkit.measures.ledger", "evalkit.measures.proportions", "_numbers"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_Geography"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_LEVEL_KEYS"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_Served"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_YearArg"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_contacts"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_geography"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_ledger"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_ledger_rows"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_locate"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_plain"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_priority_groups"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_require"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_served"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_sum_by_unit"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_unit_sums"),
    ("evalkit.measures.reach", "evalkit.measures.ledger", "_years"),
    # the batch split (issue 17, 4b): batch's pool and planning use the worker side in evalkit/execute.py; these
    # become public (WARM_UP, RemotePrinter, worker, worker_exit, os_reason, sha256_file, ...) or move with their user
    ("evalkit.batch", "evalkit.execute", "_RemotePrinter"),
    ("evalkit.batch", "evalkit.execute", "_WARM_UP"),
    ("evalkit.batch", "evalkit.execute", "_os_reason"),
    ("evalkit.batch", "evalkit.execute", "_sha256_file"),
    ("evalkit.batch", "evalkit.execute", "_worker"),
    ("evalkit.batch", "evalkit.execute", "_worker_exit"),
    # the framework split (issue 17, 4b): spec checks matrices and polarities with ahp's and scoring's helpers;
    # they become public (as_matrix, matrix_errors, number, POLARITIES)
    ("evalkit.framework.spec", "evalkit.framework.ahp", "_as_matrix"),
    ("evalkit.framework.spec", "evalkit.framework.ahp", "_matrix_errors"),
    ("evalkit.framework.spec", "evalkit.framework.ahp", "_number"),
    ("evalkit.framework.spec", "evalkit.framework.scoring", "_POLARITIES"),
    # the privacy split (issue 17, 4b): scan reads the place names and catalogue texts of privacy.inputs, and the
    # scan command in cli.py prints the scanner's masks and walks its suffixes; these become public
    ("evalkit.cli", "evalkit.privacy.scan", "_SCANNED"),
    ("evalkit.cli", "evalkit.privacy.scan", "_mask"),
    ("evalkit.privacy.scan", "evalkit.privacy.inputs", "_background_texts"),
    ("evalkit.privacy.scan", "evalkit.privacy.inputs", "_place_names"),
    # report.county._resolve (a data folder relative to the project root) goes to evalkit.paths, public
    ("evalkit.report.overview", "evalkit.report.county", "_resolve"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def private_crossings(modules: dict[str, Path] | None = None) -> list[tuple[str, str, str, int]]:
    """Every use of another evalkit module's private name: (importing module, defining module, name, line)."""
    modules = _modules() if modules is None else modules
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        aliases: dict[str, str] = {}  # local name -> evalkit module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "evalkit":
                        if a.asname:
                            aliases[a.asname] = a.name
                        else:
                            aliases["evalkit"] = "evalkit"
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, path, node)
                if source.split(".")[0] != "evalkit":
                    continue
                for a in node.names:
                    submodule = f"{source}.{a.name}"
                    if submodule in modules:  # a module, not a name: private modules are the package's own
                        aliases[a.asname or a.name] = submodule
                        continue
                    if _private(a.name) and source != module:
                        found.append((module, source, a.name, node.lineno))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            chain, inner = [], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if not (isinstance(inner, ast.Name) and inner.id in aliases):
                continue
            target = ".".join([aliases[inner.id], *reversed(chain)])
            if target in modules and target != module:
                found.append((module, target, node.attr, node.lineno))
    return sorted(set(found))


def test_no_private_name_crosses_a_module_line():
    found = private_crossings()
    new = [f"{m}:{line} uses {d}.{n}" for m, d, n, line in found if (m, d, n) not in ALLOWED]
    assert not new, ("private names used outside their module (make the name public, or move the code that "
                     "needs it into the module):\n  " + "\n  ".join(new))
    stale = ALLOWED - {(m, d, n) for m, d, n, _ in found}
    assert not stale, f"no longer used across modules: remove from ALLOWED in tests/test_layers.py: {sorted(stale)}"


def test_the_private_name_check_sees_both_forms(tmp_path):
    pkg = tmp_path / "evalkit"
    (pkg / "measures").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_codes.py").write_text("def _hidden(): pass\n")
    (pkg / "measures" / "__init__.py").write_text("")
    (pkg / "measures" / "rates.py").write_text("def _rate_columns(): pass\n__all__ = []\n")
    (pkg / "measures" / "reach.py").write_text(
        "from .. import _codes\nfrom .rates import _rate_columns, __all__\nfrom . import rates as r\n"
        "def f():\n    return r._rate_columns, _codes._hidden, _codes.__name__\n")
    modules = {".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): p
               for p in pkg.rglob("*.py")}
    assert private_crossings(modules) == [
        ("evalkit.measures.reach", "evalkit._codes", "_hidden", 5),
        ("evalkit.measures.reach", "evalkit.measures.rates", "_rate_columns", 2),
        ("evalkit.measures.reach", "evalkit.measures.rates", "_rate_columns", 5),
    ]


def _lint_imports() -> list[str]:
    script = Path(sys.executable).with_name("lint-imports")
    if script.exists():
        return [str(script)]
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is missing: `make setup` installs import-linter (the test extra)")
    return [found]


def test_import_contracts_are_kept():
    """``lint-imports`` (import-linter) checks the contracts of pyproject.toml: the layers, no cycles, a
    report that computes no statistic.  Its output names every import that breaks one."""
    run = subprocess.run([*_lint_imports(), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
