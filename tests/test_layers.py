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
    found = [f"{m}:{line} uses {d}.{n}" for m, d, n, line in private_crossings()]
    assert not found, ("private names used outside their module (make the name public, or move the code that "
                       "needs it into the module):\n  " + "\n  ".join(found))


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
