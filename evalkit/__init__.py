"""evalkit: third-party evaluation of county social-service programmes.

Read and validate a province's input tables, compute measures and indicators,
and render one evaluation report per county.  Importing evalkit has no side
effects and imports neither pandas nor numpy; the names below and the
submodules (``evalkit.measures``, ``evalkit.registry``, ...) load when first
used, and ``dir(evalkit)`` (Tab completion) lists both.

>>> import evalkit
>>> evalkit.__version__
'0.1.0'
>>> "load_province" in dir(evalkit) and "measures" in dir(evalkit)
True
"""

from importlib import import_module
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DataValidationError",
    "FrameworkError",
    "InputError",
    "Problem",
    "Province",
    "Indicators",
    "SurveyDesign",
    "load_province",
    "validate_province",
    "generate",
    "synthesize",
    "load_framework",
    "score_counties",
    "import_folder",
]

_LAZY = {
    "DataValidationError": "evalkit.errors",
    "FrameworkError": "evalkit.errors",
    "InputError": "evalkit.errors",
    "Problem": "evalkit.errors",
    # the researcher's province (validated tables cached, indicators, survey design): evalkit.schema.load_province
    # stays the validation entry
    "Province": "evalkit.analysis",
    "Indicators": "evalkit.analysis",
    "SurveyDesign": "evalkit.measures.design",
    "load_province": "evalkit.analysis",
    "validate_province": "evalkit.schema",
    "generate": "evalkit.synth",
    "synthesize": "evalkit.synth",
    "load_framework": "evalkit.framework",
    "score_counties": "evalkit.framework",
    "import_folder": "evalkit.importer",
}


_HERE = Path(__file__).parent


def _submodules() -> list[str]:
    """The public submodules (``measures``, ``schema``, ...), found by their files: none is imported."""
    found = {p.stem for p in _HERE.glob("*.py")} | {p.parent.name for p in _HERE.glob("*/__init__.py")}
    return sorted(n for n in found if not n.startswith("_") and n.isidentifier())


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _submodules():
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API and the submodules (what Tab completion offers); nothing is imported to list them."""
    return sorted({*__all__, *_submodules(), *(n for n in globals() if n.startswith("__") and n != "__getattr__")})
