"""Strict notebook parameters: declared in the notebook, checked before any kernel starts.

A parameterized notebook declares its parameters in the cell tagged ``parameters``, one
annotated, commented literal per line::

    county_code: str = "090102"  # (required) 6-digit county code, always a string

:func:`declared` reads that cell with :mod:`ast` (nothing is executed) and :func:`check` refuses,
with a message naming the parameter, before execution:

- a name the notebook does not declare (papermill only logs a warning, and injects it anyway:
  a crafted name such as ``x=__import__('os').system('...');y`` would run in the kernel);
- a missing required parameter (comment starting with ``(required)``);
- a value of the wrong type: nothing is coerced (papermill's command line turns ``-p county 01001``
  into the number 1001, and YAML reads ``01001`` as the octal number 513);
- a value that breaks the parameter's rule (:data:`RULES`: a county code is six digits, a
  language is ``en`` or ``zh``, ...).

Values reach the kernel as Python literals written with :func:`repr` and read back with
:func:`ast.literal_eval` as a check, so no value can become code either.

>>> p = {"county_code": Parameter("county_code", "str", "090102", "6-digit code", True)}
>>> check(p, {"county_code": "090102"})
{'county_code': '090102'}
>>> check(p, {"county_code": 90102})
Traceback (most recent call last):
...
evalkit.params.ParameterError: parameter county_code must be a str such as '090102', not 90102 (int); nothing is converted, so quote codes with leading zeros.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .errors import EvalkitError

__all__ = ["Parameter", "ParameterError", "declared", "check", "RULES", "parameters_cell"]

if TYPE_CHECKING:
    import nbformat

_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (float, int), "bool": (bool,),
                                       "list": (list,)}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ParameterError(EvalkitError, ValueError):
    """Raised when notebook parameters are unknown, missing, of the wrong type or break a rule."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: name, type name, default value, help text, required or not."""

    name: str
    type: str
    default: Any
    help: str
    required: bool = False


def _one_of(*allowed: Any) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else f"must be one of {', '.join(map(repr, allowed))}"


#: Rules for values, by parameter name: a function returning ``None`` when the value is fine,
#: else what is wrong.
RULES: dict[str, Callable[[Any], str | None]] = {
    # [0-9], not \d: \d also matches other scripts' digits, such as fullwidth ０９０１０２
    "county_code": lambda v: None if re.fullmatch(r"[0-9]{6}", v) else "must be a 6-digit county code such as '090102'",
    "prefecture_code": lambda v: None if re.fullmatch(r"[0-9]{4}", v) else "must be a 4-digit prefecture code",
    "lang": _one_of("en", "zh"),
    "confidence": _one_of(0.95, 0.998),
    "year": lambda v: None if 2000 <= v <= 2100 else "must be a year between 2000 and 2100",
    "benchmarks": lambda v: (None if v and all(b in ("prefecture", "province") for b in v) and len(set(v)) == len(v)
                             else "must list 'prefecture' and/or 'province', each once"),
    "data_dir": lambda v: None if v and "\x00" not in v else "must be a folder path",
}


def parameters_cell(nb: nbformat.NotebookNode) -> int:
    """Index of the cell tagged ``parameters``; a :class:`ParameterError` when there is not exactly one."""
    found = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(found) != 1:
        raise ParameterError(f"the notebook must have exactly one cell tagged 'parameters' (found {len(found)}).")
    return found[0]


def declared(notebook: str | Path | nbformat.NotebookNode) -> dict[str, Parameter]:
    """The parameters a notebook declares, in order, read from its parameters cell without running it."""
    if isinstance(notebook, (str, Path)):
        import nbformat

        nb = nbformat.read(str(notebook), as_version=4)
    else:
        nb = notebook
    source = nb.cells[parameters_cell(nb)].source
    lines = source.splitlines()
    out: dict[str, Parameter] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None
                and isinstance(node.annotation, ast.Name) and node.annotation.id in _TYPES):
            raise ParameterError(f"line {node.lineno} of the parameters cell is not `name: type = literal  # help` "
                                 f"with a type among {', '.join(_TYPES)}.")
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise ParameterError(f"parameter {node.target.id} (line {node.lineno}) must default to a literal, "
                                 "not an expression.") from None
        line = lines[node.lineno - 1]
        help_text = line.split("#", 1)[1].strip() if "#" in line[node.value.end_col_offset:] else ""
        out[node.target.id] = Parameter(node.target.id, node.annotation.id, default, help_text,
                                        help_text.startswith("(required)"))
    return out


def _type_ok(value: Any, type_name: str) -> bool:
    if type_name in ("int", "float") and isinstance(value, bool):
        return False
    if type_name == "list":
        return isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)
    return isinstance(value, _TYPES[type_name])


def check(params: dict[str, Parameter], given: dict[str, Any], *, require: bool = True) -> dict[str, Any]:
    """Check ``given`` against the declared ``params``; return the values to inject.

    Raises :class:`ParameterError` listing every problem: unknown or badly formed names,
    missing required parameters (when ``require``), wrong types and broken rules.
    """
    problems = []
    for name in given:
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{name!r} is not a parameter name (letters, digits and _ only)")
        elif name not in params:
            problems.append(f"unknown parameter {name} (the notebook declares {', '.join(params)})")
    if require:
        problems += [f"missing required parameter {p.name} ({p.help})" for p in params.values()
                     if p.required and p.name not in given]
    out = {}
    for name, value in given.items():
        p = params.get(name) if isinstance(name, str) else None
        if p is None:
            continue
        if not _type_ok(value, p.type):
            example = repr(p.default)
            problems.append(f"parameter {name} must be a {p.type} such as {example}, not {value!r} "
                            f"({type(value).__name__}); nothing is converted, so quote codes with leading zeros")
            continue
        value = float(value) if p.type == "float" else value
        broken = RULES.get(name, lambda v: None)(value)
        if broken:
            problems.append(f"parameter {name}={value!r} {broken}")
            continue
        if ast.literal_eval(repr(value)) != value:  # pragma: no cover - literals of the allowed types round-trip
            problems.append(f"parameter {name} cannot be written as a Python literal")
        out[name] = value
    if problems:
        raise ParameterError("; ".join(problems) + ".")
    return out


def injected_source(values: dict[str, Any]) -> str:
    """The source of the injected-parameters cell: one ``name = literal`` line per value."""
    return "# Parameters\n" + "".join(f"{name} = {value!r}\n" for name, value in values.items())


def fingerprint(values: dict[str, Any]) -> str:
    """A canonical text of parameter values, for hashing."""
    return json.dumps(values, sort_keys=True, ensure_ascii=False)
