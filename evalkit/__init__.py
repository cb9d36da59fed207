"""evalkit: third-party evaluation of county social-service programmes.

Read and validate a province's input tables, compute measures and indicators,
and render one evaluation report per county.  Importing evalkit has no side
effects; the heavy modules load when first used.

>>> import evalkit
>>> evalkit.__version__
'0.1.0'
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DataValidationError",
    "FrameworkError",
    "InputError",
    "Problem",
    "Province",
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
    "Province": "evalkit.schema",
    "SurveyDesign": "evalkit.measures.design",
    "load_province": "evalkit.schema",
    "validate_province": "evalkit.schema",
    "generate": "evalkit.synth",
    "synthesize": "evalkit.synth",
    "load_framework": "evalkit.framework",
    "score_counties": "evalkit.framework",
    "import_folder": "evalkit.importer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
