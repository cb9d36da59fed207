"""What a cached result depends on: its inputs and the code that builds it, in one recipe.

Every cache of evalkit (the indicator table, the framework's scores, the small-area estimates, the
privacy scanner) names its file by :func:`key`: the SHA-256 of evalkit's version, the caller's
inputs (file hashes, options) and :func:`code_hash` of the modules that build the value.  A
module's code hash covers its own source, the source of every evalkit module it imports (at the
top or inside a function, followed transitively) and the package data files (``*.toml``) their
source names, so a change to a measure, to the scrub or to ``indicators.toml`` invalidates exactly
the caches it feeds and nothing else.  Hashes are computed once per process.

A damaged entry (a truncated Parquet or pickle file) is named in a :class:`CacheWarning`,
discarded and built again (:func:`discard`); a cache file the disk refuses raises
:class:`CacheWriteError` with the same kind of message as an output the disk refuses
(:func:`write`); :func:`force_rebuild` makes this process build every entry it looks up once
again (``evalkit batch --force``).
"""

from __future__ import annotations

import ast
import errno
import functools
import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Callable

from .errors import EvalkitError

__all__ = ["CacheWarning", "CacheWriteError", "code_hash", "sha256_file", "key", "discard", "write", "force_rebuild", "fresh"]

_ROOT = Path(__file__).resolve().parent
_PACKAGE = __name__.split(".")[0]


class CacheWarning(UserWarning):
    """Raised (as a warning) when a cache entry could not be read: it is discarded and built again."""


class CacheWriteError(EvalkitError):
    """Raised when the disk refuses a cache file (full, read-only): the message names the file and the cause."""


@functools.lru_cache(maxsize=None)
def _bytes(path: Path) -> bytes:
    """A source or data file's bytes, read once per process."""
    return path.read_bytes()


@functools.lru_cache(maxsize=None)
def _source(module: str) -> Path | None:
    """The source file of the evalkit module ``module`` (found, not imported), or None."""
    parts = module.split(".")[1:]
    candidates = [_ROOT / Path(*parts[:-1], parts[-1] + ".py")] if parts else []
    for path in candidates + [_ROOT.joinpath(*parts, "__init__.py")]:
        if path.is_file():
            return path
    return None


def _statements(tree: ast.AST):
    """Every statement of ``tree``, nested ones included (an import is a statement: the expressions, most of the
    tree, need no visit; a third of the time of walking every node)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                todo.extend(c for c in children if isinstance(c, ast.AST))


@functools.lru_cache(maxsize=None)
def _imports(module: str, path: Path) -> frozenset[str]:
    """The evalkit modules that ``module``'s source imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(ast.parse(_bytes(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # ``from .measures import survey`` imports the module evalkit.measures.survey (and the package's
            # __init__, counted only when a name is taken from it): never every module of the package
            subs = [f"{stem}.{a.name}" for a in node.names]
            names = [n for n in subs if _source(n) is not None]
            if len(names) < len(subs):
                names.append(stem)
        else:
            continue
        found |= {n for n in names if n.split(".")[0] == _PACKAGE and _source(n) is not None}
    return frozenset(found)


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def code_hash(*modules: str) -> str:
    """SHA-256 of the code behind ``modules`` (dotted names such as ``"evalkit.indicators"``).

    Covers each module's source, the source of every evalkit module it imports (transitively, imports
    inside functions included) and the package's data files its source names (``"indicators.toml"``).
    Computed once per process for each set of modules.
    """
    todo, seen = list(modules), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _source(name)
        if path is not None:
            todo.extend(_imports(name, path) - seen)
    h = hashlib.sha256()
    files: set[Path] = set()
    for name in sorted(seen):
        path = _source(name)
        if path is None:
            continue
        files.add(path)
        for data in re.findall(r"[\"']([\w/]+\.toml)[\"']", _bytes(path).decode("utf-8")):
            if (_ROOT / data).is_file():
                files.add(_ROOT / data)
    for path in sorted(files):
        h.update(str(path.relative_to(_ROOT)).encode() + b"\0" + _bytes(path) + b"\0")
    return h.hexdigest()


def key(modules: tuple[str, ...] | list[str], *inputs: Any) -> str:
    """The cache key (hex SHA-256) of a value built by ``modules`` from ``inputs`` (JSON-able)."""
    from . import __version__

    return hashlib.sha256(json.dumps([__version__, code_hash(*modules), *inputs], sort_keys=True,
                                     default=str).encode()).hexdigest()


def discard(path: str | Path, err: BaseException) -> None:
    """Warn that the cache entry ``path`` is damaged (naming it and what was wrong), and remove it."""
    path = Path(path)
    reason = f"{type(err).__name__}: {err}".splitlines()[0][:300]
    warnings.warn(f"evalkit: the cache file {path} could not be read ({reason}); it was discarded and is "
                  "being built again.", CacheWarning, stacklevel=3)
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def write(path: str | Path, save: Callable[[Path], Any]) -> None:
    """``save(path)``, turning a refusal of the disk into :class:`CacheWriteError` naming the file and the cause."""
    path = Path(path)
    try:
        save(path)
    except OSError as err:
        code = errno.errorcode.get(err.errno or 0)
        said = os.strerror(err.errno) if code else (err.strerror or str(err))  # pyarrow's errors carry no strerror
        raise CacheWriteError(
            f"cannot write the cache file {path.name} in {path.parent}: {said}"
            + (f" ({code})" if code else "") + "; nothing was rendered. Free some space (or make the folder "
            "writable), or set EVALKIT_CACHE to another folder, and run again.") from None


_FORCE: dict[str, bool] = {"on": False}
_DONE: set[str] = set()


def force_rebuild(on: bool = True) -> None:
    """From now on, this process builds every cache entry again the first time it looks it up (``--force``)."""
    _FORCE["on"] = on
    _DONE.clear()


def fresh(path: str | Path) -> bool:
    """Whether the cache entry ``path`` may be served: it exists, and no rebuild of it is pending.

    After :func:`force_rebuild`, the first lookup of each entry says no (the caller builds and writes
    it again); later lookups in this process serve what was written.
    """
    path = Path(path)
    if _FORCE["on"] and str(path) not in _DONE:
        _DONE.add(str(path))
        return False
    return path.is_file()
