"""The indicator registry: everything about each indicator, from ``indicators.toml``.

One entry per indicator holds the measure that computes it, its unit, polarity, tier and kind, the
report sections that show it, whether it is compared, the input tables it is made from, and its
English and Chinese name, short name, definition and recommendation.  The indicator table
(:mod:`evalkit.indicators`), the reports, the framework's checks and the report catalogues read it
here; no other module lists indicators.  The file's header says what each key means, how to add an
indicator and when ``LAYOUT_VERSION`` must change.

The file is read and checked once per process; a broken entry raises :class:`RegistryError` naming
the indicator and the key.

>>> names(section="overview")
('satisfaction_rate', 'coverage', 'home_visit_share', 'social_workers_per_10k')
>>> get("home_visit_share").unit
'proportion'
>>> sources()["cost_per_person_time"]
('stations', 'services')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["RegistryError", "Indicator", "FILE", "SECTIONS", "UNITS", "TIERS", "POLARITIES", "KINDS", "SOURCE_TABLES",
           "indicators", "get", "names", "sources", "pairs", "families", "texts", "parse"]

#: The registry file (package data of evalkit).
FILE = "indicators.toml"
#: The report lists an indicator can be placed in (``section`` key), with what each is.
SECTIONS = {
    "summary": "the county summary, the trends and the overview's distributions",
    "reach": "the township table of the reach section",
    "staffing": "the staffing section",
    "overview": "the key figures of the province overview and the index page",
}
UNITS = ("proportion", "score_1_5", "index_0_100", "net", "per_1000", "per_10000", "count", "yuan", "hours")
TIERS = ("input", "process", "output", "outcome")
POLARITIES = ("higher_is_better", "lower_is_better", "no_judgement")
KINDS = ("survey", "persons", "facility")
#: Input tables an indicator can be made from (besides ``regions``).
SOURCE_TABLES = ("stations", "services", "survey")
#: The columns that can count the persons a ``persons`` figure is about.
PERSONS = ("n", "denominator", "persons")

_REQUIRED = ("en", "zh", "tier", "unit", "polarity", "kind", "measure", "sources", "definition_en", "definition_zh",
             "recommendation_en", "recommendation_zh")
_OPTIONAL = ("short_en", "short_zh", "persons", "compare", "target", "output", "item", "section")
_KEYS = (*_REQUIRED, *_OPTIONAL)
_TEXTS = ("en", "zh", "short_en", "short_zh", "definition_en", "definition_zh", "recommendation_en",
          "recommendation_zh", "measure", "output", "item")


class RegistryError(ValueError):
    """Raised when ``indicators.toml`` has an entry that breaks the registry's rules (the message names
    the indicator, the key and the rule)."""


@dataclass(frozen=True)
class Indicator:
    """One entry of the registry (keys as in ``indicators.toml``; optional ones filled with their defaults)."""

    name: str
    en: str
    zh: str
    tier: str
    unit: str
    polarity: str
    kind: str
    measure: str
    sources: tuple[str, ...]
    definition_en: str
    definition_zh: str
    recommendation_en: str
    recommendation_zh: str
    short_en: str | None = None
    short_zh: str | None = None
    persons: str = "n"
    compare: bool = True
    target: float | None = None
    output: str | None = None
    item: str = "all"
    section: dict[str, int] = field(default_factory=dict)
    #: the keys the entry gives itself (the rest are defaults)
    given: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        """The module of the measure (``evalkit.measures.reach``)."""
        return self.measure.split(":")[0]

    @property
    def function(self) -> str:
        """The measure function's name (``home_visit_share``)."""
        return self.measure.split(":")[1]

    def short(self, lang: str) -> str:
        """The short name for a column heading in ``lang`` (the full name where there is none)."""
        return getattr(self, f"short_{lang}") or getattr(self, lang)


def _error(name: str, key: str | None, message: str) -> RegistryError:
    where = f"[{name}]" + (f" key '{key}'" if key else "")
    return RegistryError(f"{FILE}: indicator {where}: {message}")


def _check(name: str, raw: Any) -> Indicator:
    if not isinstance(raw, dict):
        raise _error(name, None, "must be a table of keys ([<id>] followed by key = value lines).")
    if not name.isidentifier() or name != name.lower():
        raise _error(name, None, "the id must be lower-case letters, digits and underscores.")
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        raise _error(name, unknown[0], f"unknown key; the keys are {', '.join(_KEYS)}.")
    for k in _REQUIRED:
        if k not in raw:
            raise _error(name, k, "is required and missing (every indicator needs its English and Chinese "
                                  "name, definition and recommendation, tier, unit, polarity, kind, measure "
                                  "and sources).")
    for k in _TEXTS:
        if k in raw and (not isinstance(raw[k], str) or not raw[k].strip()):
            raise _error(name, k, f"must be a non-empty text in quotes, not {raw[k]!r}.")
    if ("short_en" in raw) != ("short_zh" in raw):
        missing = "short_zh" if "short_en" in raw else "short_en"
        raise _error(name, missing, "is missing: give the short name in both languages or in neither.")
    for k, allowed in (("tier", TIERS), ("unit", UNITS), ("polarity", POLARITIES), ("kind", KINDS),
                       ("persons", PERSONS)):
        if k in raw and raw[k] not in allowed:
            raise _error(name, k, f"{raw[k]!r} is not one of {', '.join(allowed)}.")
    if "persons" in raw and raw["kind"] != "persons":
        raise _error(name, "persons", "is only for indicators of kind 'persons'.")
    module, _, function = raw["measure"].partition(":")
    if not module.startswith("evalkit.measures.") or not function.isidentifier() or function.startswith("_"):
        raise _error(name, "measure", f"{raw['measure']!r} must name a public measure function as "
                                      "'evalkit.measures.<module>:<function>'.")
    src = raw["sources"]
    if not isinstance(src, list) or not src or any(s not in SOURCE_TABLES for s in src):
        raise _error(name, "sources", f"{src!r} must be a list of input tables from {', '.join(SOURCE_TABLES)}.")
    if "compare" in raw and not isinstance(raw["compare"], bool):
        raise _error(name, "compare", f"must be true or false, not {raw['compare']!r}.")
    if "target" in raw and (isinstance(raw["target"], bool) or not isinstance(raw["target"], (int, float))):
        raise _error(name, "target", f"must be a number in the indicator's unit, not {raw['target']!r}.")
    section = raw.get("section", {})
    if not isinstance(section, dict):
        raise _error(name, "section", "must be a table such as { reach = 30 }.")
    for s, at in section.items():
        if s not in SECTIONS:
            raise _error(name, "section", f"unknown section {s!r}; the sections are {', '.join(SECTIONS)}.")
        if isinstance(at, bool) or not isinstance(at, int) or at < 1:
            raise _error(name, "section", f"the position in {s!r} must be a whole number from 1, not {at!r}.")
    values = {k: v for k, v in raw.items() if k not in ("sources", "section", "target")}
    return Indicator(name=name, sources=tuple(src), section=dict(section),
                     target=float(raw["target"]) if "target" in raw else None, given=tuple(raw), **values)


def parse(text: str) -> dict[str, Indicator]:
    """The registry of a TOML text (what :func:`indicators` reads from the package), checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RegistryError(f"{FILE}: not valid TOML: {err}") from None
    out = {name: _check(name, raw) for name, raw in data.items()}
    for s in SECTIONS:
        seen: dict[int, str] = {}
        for name, e in out.items():
            at = e.section.get(s)
            if at is None:
                continue
            if at in seen:
                raise _error(name, "section", f"position {at} in {s!r} is taken by {seen[at]!r} already.")
            seen[at] = name
    outputs: dict[tuple[str, str | None], str] = {}
    for name, e in out.items():
        key = (e.measure, e.output)
        if key in outputs:
            raise _error(name, "output", f"{e.measure} gives {outputs[key]!r} already"
                                         + (f" as {e.output!r}" if e.output else "; name this one's output") + ".")
        outputs[key] = name
    return out


@cache
def indicators() -> dict[str, Indicator]:
    """Every indicator of the registry, in the file's order, by id (read and checked once)."""
    return parse(resources.files("evalkit").joinpath(FILE).read_text(encoding="utf-8"))


def get(name: str) -> Indicator:
    """The registry entry of indicator ``name``; :class:`KeyError` naming the known ones if there is none."""
    try:
        return indicators()[name]
    except KeyError:
        raise KeyError(f"no indicator {name!r} in {FILE}; the indicators are {', '.join(indicators())}") from None


def names(*, section: str | None = None, module: str | None = None, compared: bool | None = None,
          kind: str | None = None) -> tuple[str, ...]:
    """Indicator ids, in the file's order, or in ``section``'s order when a section is given.

    ``module`` keeps those whose measure is in that module (``evalkit.measures.reach``), ``compared``
    those that are (or are not) compared with benchmarks, ``kind`` those of that disclosure kind.
    """
    if section is not None and section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}; the sections are {', '.join(SECTIONS)}")
    chosen = [e for e in indicators().values()
              if (section is None or section in e.section) and (module is None or e.module == module)
              and (compared is None or e.compare == compared) and (kind is None or e.kind == kind)]
    if section is not None:
        chosen.sort(key=lambda e: e.section[section])
    return tuple(e.name for e in chosen)


def pairs(section: str) -> tuple[tuple[str, str], ...]:
    """The (indicator, item) pairs a section shows, in its order: each indicator with its headline item."""
    return tuple((name, get(name).item) for name in names(section=section))


def sources() -> dict[str, tuple[str, ...]]:
    """The input tables each indicator is made from (besides ``regions``)."""
    return {name: e.sources for name, e in indicators().items()}


def families() -> dict[str, tuple[str, ...]]:
    """The indicators computed by each measures module, in the file's order."""
    out: dict[str, list[str]] = {}
    for name, e in indicators().items():
        out.setdefault(e.module, []).append(name)
    return {module: tuple(found) for module, found in out.items()}


@cache
def texts(lang: str) -> dict[str, str]:
    """The registry's texts for the report catalogue of ``lang`` (dotted keys): ``indicator_short.<id>``
    (where there is a short name), ``definition.<id>`` and ``recommend.<id>``."""
    if lang not in ("en", "zh"):
        raise ValueError(f"language must be en or zh, not {lang!r}")
    out = {}
    for name, e in indicators().items():
        short = getattr(e, f"short_{lang}")
        if short is not None:
            out[f"indicator_short.{name}"] = short
    for name, e in indicators().items():
        out[f"definition.{name}"] = getattr(e, f"definition_{lang}")
    for name, e in indicators().items():
        out[f"recommend.{name}"] = getattr(e, f"recommendation_{lang}")
    return out
