"""Build step: the wheel carries the notebooks that ``evalkit batch`` runs.

The report notebooks live at the project root (``notebooks/``) for JupyterLab, nbval and the
checkout. A wheel installs only the package, so building it copies the top-level notebooks (those the
batch runs; ``notebooks/explore/`` is for researchers in a checkout) into ``evalkit/_notebooks/``,
where ``evalkit.paths.NOTEBOOKS`` finds them when evalkit is not run from its checkout.  An editable
install reads ``notebooks/`` itself, so nothing is copied for it.  Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithNotebooks(build_py):
    """``build_py`` that also copies ``notebooks/*.ipynb`` into the built package's ``_notebooks/``."""

    def _notebooks(self) -> list[tuple[Path, Path]]:
        target = Path(self.build_lib, "evalkit", "_notebooks")
        found = sorted((HERE / "notebooks").glob("*.ipynb"))
        if not found:
            raise SystemExit("notebooks/*.ipynb not found: the wheel would have no report notebook to run")
        return [(source, target / source.name) for source in found]

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in self._notebooks():
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(target) for _, target in self._notebooks()]


setup(cmdclass={"build_py": BuildWithNotebooks})
