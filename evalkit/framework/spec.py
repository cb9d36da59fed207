"""The evaluation framework: its parts (grades, tiers, indicators, weights) and the file that describes it.

:func:`load_framework` reads and checks a framework file (default the shipped ``evalkit/framework.toml``;
the format is documented in ``docs/framework.md``) and reports every problem at once.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import FrameworkError, FrameworkProblem, InconsistentJudgementsError
from .ahp import MAX_CR, AHPResult, ahp_weights, as_matrix, as_number, matrix_errors
from .scoring import POLARITIES, linear_score, step_score

__all__ = ["Grade", "Tier", "Indicator", "RubricItem", "WeightSet", "Framework", "load_framework", "parse_framework"]

#: Natural range of each unit: draws are truncated to it.
_UNIT_RANGE = {
    "proportion": (0.0, 1.0),
    "net": (-1.0, 1.0),
    "index_0_100": (0.0, 100.0),
    "score_1_5": (1.0, 5.0),
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: Tolerance on grade cut-offs: a score equal to a cut-off up to floating-point error gets the higher grade.
_GRADE_EPS = 1e-9


# --- the framework -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Grade:
    """One grade: its id, names and the lowest score (inclusive) that earns it."""

    id: str
    en: str
    zh: str
    min: float


@dataclass(frozen=True)
class Tier:
    """One tier of the framework (input, process, output, outcome) and its weight."""

    id: str
    en: str
    zh: str
    weight: float


@dataclass(frozen=True)
class Indicator:
    """One indicator of the framework: what it reads, how it scores, and its weights."""

    id: str
    tier: str
    en: str
    zh: str
    measure: str
    item: str
    group: str
    polarity: str
    unit: str
    target: float
    rule: str
    floor: float
    steps: tuple[tuple[float, float], ...]
    otherwise: float
    uncertainty: str
    draw_group: str
    source: str
    local_weight: float
    weight: float

    def score(self, values: Any) -> np.ndarray:
        """Points from 0 to 100 for values of this indicator (missing stays missing)."""
        if self.rule == "linear":
            return linear_score(values, self.floor, self.target)
        return step_score(values, [t for t, _ in self.steps], [s for _, s in self.steps],
                          otherwise=self.otherwise, polarity=self.polarity)


@dataclass(frozen=True)
class RubricItem:
    """One item of the inspection rubric ([rubric.<id>]): scored on site by the evaluators, 0 to ``maximum``.

    ``weight`` is the item's share of its tier when the county was inspected: the tier's computed indicators
    then share ``1 - (sum of its rubric weights)`` in their own proportions (:mod:`evalkit.framework.rubric`).
    """

    id: str
    tier: str
    en: str
    zh: str
    maximum: float
    weight: float


@dataclass(frozen=True)
class WeightSet:
    """How the weights of one group of elements (the tiers, or one tier's indicators) were set."""

    key: str
    method: str
    labels: tuple[str, ...]
    weights: tuple[float, ...]
    matrix: tuple[tuple[float, ...], ...] | None
    ahp: AHPResult | None
    allow_inconsistent: bool
    reason: str


@dataclass(frozen=True)
class Framework:
    """A validated indicator framework (made by :func:`load_framework`)."""

    id: str
    version: str
    en: str
    zh: str
    file: str
    sha256: str
    tiers: tuple[Tier, ...]
    indicators: tuple[Indicator, ...]
    grades: tuple[Grade, ...]
    weight_sets: tuple[WeightSet, ...]
    max_missing_weight: float
    max_cr: float
    _unit_ranges: dict = field(default_factory=dict, repr=False, compare=False)
    #: Inspection rubric items (empty when the file declares none); used only when inspections are given.
    rubric: tuple[RubricItem, ...] = ()

    def indicator_frame(self) -> pd.DataFrame:
        """One row per indicator: what it reads, its scoring rule, target and weights (for a methods table)."""
        rows = []
        tier_weight = {t.id: t.weight for t in self.tiers}
        for i in self.indicators:
            rows.append({
                "indicator": i.id, "tier": i.tier, "en": i.en, "zh": i.zh, "measure": i.measure, "item": i.item,
                "group": i.group, "polarity": i.polarity, "unit": i.unit, "target": i.target, "rule": i.rule,
                "floor": i.floor if i.rule == "linear" else np.nan,
                "steps": "; ".join(f"{t:g}: {s:g}" for t, s in i.steps) if i.rule == "steps" else "",
                "otherwise": i.otherwise if i.rule == "steps" else np.nan,
                "uncertainty": i.uncertainty, "draw_group": i.draw_group, "source": i.source,
                "tier_weight": tier_weight[i.tier], "local_weight": i.local_weight, "weight": i.weight,
            })
        return pd.DataFrame(rows)

    def consistency_frame(self) -> pd.DataFrame:
        """One row per weight set: method, order, and for AHP matrices lambda_max, CI, RI and CR."""
        rows = []
        for w in self.weight_sets:
            r = w.ahp
            rows.append({
                "key": w.key, "method": w.method, "n": len(w.labels), "labels": ", ".join(w.labels),
                "lambda_max": r.lambda_max if r else np.nan, "ci": r.ci if r else np.nan,
                "ri": r.ri if r else np.nan, "cr": r.cr if r else np.nan,
                "consistent": (r.cr < self.max_cr) if r else True,
                "allow_inconsistent": w.allow_inconsistent, "reason": w.reason,
            })
        return pd.DataFrame(rows)

    def grade_frame(self) -> pd.DataFrame:
        """One row per grade, best first: id, English and Chinese names, lowest score and highest score."""
        upper = [100.0] + [g.min for g in self.grades[:-1]]
        return pd.DataFrame({"grade": [g.id for g in self.grades], "en": [g.en for g in self.grades],
                             "zh": [g.zh for g in self.grades], "min": [g.min for g in self.grades],
                             "below": upper})

    def grade(self, scores: Any) -> np.ndarray:
        """Grade ids for scores (object array; ``None`` for a missing score).

        >>> fw = load_framework()
        >>> fw.grade([95, 90, 89.99, 80, 60, 59.9, float("nan")]).tolist()
        ['excellent', 'excellent', 'good', 'good', 'pass', 'fail', None]
        """
        idx = self._grade_index(np.asarray(scores, dtype=float))
        ids = np.array([g.id for g in self.grades] + [None], dtype=object)
        return ids[idx]

    def _grade_index(self, scores: np.ndarray) -> np.ndarray:
        """Index into :attr:`grades` (best first) for each score; ``len(grades)`` for missing."""
        mins = np.array([g.min for g in self.grades])  # decreasing
        # number of cut-offs above the score = index of its grade
        idx = (scores[..., None] + _GRADE_EPS < mins[None, :]).sum(axis=-1)
        return np.where(np.isnan(scores), len(self.grades), np.minimum(idx, len(self.grades) - 1))


# --- reading and validating a framework file ---------------------------------------------------------

_TOP_KEYS = {"id", "version", "en", "zh", "max_missing_weight", "max_cr", "grades", "tiers", "tier_weights",
             "indicators", "rubric"}
_RUBRIC_KEYS = {"tier", "en", "zh", "maximum", "weight"}
_TIER_KEYS = {"en", "zh", "weights"}
_WEIGHT_KEYS = {"method", "order", "matrix", "weights", "allow_inconsistent", "reason"}
_INDICATOR_KEYS = {"tier", "en", "zh", "measure", "item", "group", "polarity", "unit", "target", "source",
                   "scoring", "uncertainty", "draw_group"}
_SCORING_KEYS = {"rule", "floor", "steps", "otherwise"}
_GRADE_KEYS = {"id", "en", "zh", "min"}


class _Checker:
    """Collects problems with one framework file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[FrameworkProblem] = []

    def add(self, key: str, value: Any, rule: str, message: str) -> None:
        shown = None if value is None else _show(value)
        self.problems.append(FrameworkProblem(self.file, key, shown, rule, message))

    def keys(self, table: Any, key: str, allowed: set[str], required: Sequence[str] = ()) -> bool:
        """Check that ``table`` is a table with only allowed keys and every required one."""
        if not isinstance(table, dict):
            self.add(key, table, "table", f"must be a table (a [section] or {{ key = value }}); got {_show(table)}.")
            return False
        for k in table:
            if k not in allowed:
                self.add(f"{key}.{k}" if key else k, table[k], "unknown_key",
                         f"'{k}' is not a key this table may have (misspelt?); the keys allowed are "
                         f"{', '.join(sorted(allowed))}.")
        for k in required:
            if k not in table:
                self.add(f"{key}.{k}" if key else k, None, "required", f"'{k}' is required here and missing.")
        return True

    def text(self, table: dict, key: str, name: str, default: str | None = None) -> str:
        value = table.get(name, default)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(f"{key}.{name}" if key else name, value, "text", f"must be a non-empty text in quotes; "
                     f"got {_show(value)}.")
            return ""
        return value.strip()

    def number(self, table: dict, key: str, name: str, *, low: float | None = None, high: float | None = None,
               default: float | None = None, required: bool = True) -> float:
        path = f"{key}.{name}" if key else name
        if name not in table:
            if default is None and required:
                self.add(path, None, "required", f"'{name}' is required here and missing.")
            return np.nan if default is None else default
        value = table[name]
        try:
            x = as_number(value)
        except (TypeError, ValueError, ZeroDivisionError):
            self.add(path, value, "number", f"must be a number; got {_show(value)}.")
            return np.nan
        if not np.isfinite(x):
            self.add(path, value, "number", f"must be a finite number; got {_show(value)}.")
            return np.nan
        if (low is not None and x < low) or (high is not None and x > high):
            rng = f"from {low:g} to {high:g}" if low is not None and high is not None else (
                f"at least {low:g}" if low is not None else f"at most {high:g}")
            self.add(path, value, "range", f"must be {rng}; got {_show(value)}.")
        return x

    def identifier(self, value: Any, key: str) -> bool:
        if not isinstance(value, str) or not _ID.match(value):
            self.add(key, value, "identifier", f"must be an id of lower-case letters, digits and underscores that "
                     f"starts with a letter (it names columns), such as 'outcome'; got {_show(value)}.")
            return False
        return True


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_framework(path: str | Path | None = None, *, catalogue: pd.DataFrame | None = None) -> Framework:
    """Read and validate an indicator framework file (TOML).

    Call it before scoring: every problem in the file is reported at once, each naming the
    file, the key (``indicators.coverage.scoring.floor``), the value and the rule broken, so an
    evaluator can correct the file without reading code.

    Parameters
    ----------
    path : path, optional
        The framework file; default the shipped ``evalkit/framework.toml`` (township
        social-work stations).
    catalogue : DataFrame, optional
        The indicators the indicator table has (default :func:`evalkit.indicators.catalogue`),
        against which measures, units and polarities are checked.

    Returns
    -------
    Framework

    Raises
    ------
    FrameworkError
        With every problem found (``.problems``), including pairwise-comparison matrices whose
        consistency ratio is 0.1 or more and that the file does not explicitly accept.

    Examples
    --------
    >>> fw = load_framework()
    >>> [t.id for t in fw.tiers]
    ['input', 'process', 'output', 'outcome']
    >>> round(sum(i.weight for i in fw.indicators), 12)
    1.0
    """
    if path is None:
        text = resources.files("evalkit").joinpath("framework.toml").read_text(encoding="utf-8")
        return parse_framework(text, file="framework.toml", catalogue=catalogue)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FrameworkError([FrameworkProblem(path.name, "", None, "file_missing",
                                               f"The framework file {path} does not exist.")]) from None
    except UnicodeDecodeError:
        raise FrameworkError([FrameworkProblem(path.name, "", None, "encoding",
                                               "The framework file is not UTF-8 text; save it as UTF-8.")]) from None
    return parse_framework(text, file=path.name, catalogue=catalogue)


def parse_framework(text: str, *, file: str = "framework.toml", catalogue: pd.DataFrame | None = None) -> Framework:
    """Validate a framework given as TOML text (see :func:`load_framework`); ``file`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FrameworkError([FrameworkProblem(file, "", None, "toml_syntax",
                                               f"The file is not valid TOML: {e}. Check quotes, brackets and "
                                               "'=' signs on that line.")]) from None
    if catalogue is None:
        from ..indicators import catalogue as _catalogue

        catalogue = _catalogue()
    c = _Checker(file)
    fw = _build(data, c, catalogue, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if c.problems:
        raise FrameworkError(c.problems)
    assert fw is not None
    return fw


def _build(data: dict, c: _Checker, catalogue: pd.DataFrame, sha: str) -> Framework | None:
    c.keys(data, "", _TOP_KEYS, required=("id", "en", "zh", "grades", "tiers", "tier_weights", "indicators"))
    fid = data.get("id")
    if fid is not None and not (isinstance(fid, str) and fid.strip()):
        c.add("id", fid, "text", f"must be a non-empty text in quotes; got {_show(fid)}.")
    version = data.get("version", "")
    name_en, name_zh = c.text(data, "", "en"), c.text(data, "", "zh")
    max_missing = c.number(data, "", "max_missing_weight", low=0, high=0.99, default=0.25)
    max_cr = c.number(data, "", "max_cr", low=0.0, high=0.3, default=MAX_CR)
    if max_cr == 0:
        c.add("max_cr", 0, "range", "must be above 0 (no matrix of three or more elements is perfectly consistent in practice).")

    grades = _grades(data.get("grades"), c)
    tiers_raw = data.get("tiers", {})
    tier_ids: list[str] = []
    tier_names: dict[str, tuple[str, str]] = {}
    if c.keys(tiers_raw, "tiers", set(tiers_raw) if isinstance(tiers_raw, dict) else set()):
        for tid, t in tiers_raw.items():
            key = f"tiers.{tid}"
            if not c.identifier(tid, key):
                continue
            if c.keys(t, key, _TIER_KEYS, required=("en", "zh")):
                tier_names[tid] = (c.text(t, key, "en"), c.text(t, key, "zh"))
                tier_ids.append(tid)
        if not tier_ids:
            c.add("tiers", None, "required", "at least one tier is required, such as [tiers.outcome].")

    raw_indicators = data.get("indicators", {})
    indicators = _indicators(raw_indicators, c, catalogue, tier_ids)
    # membership of tiers as declared, so that one faulty indicator does not also break its tier's weights
    declared = {iid: spec.get("tier") for iid, spec in raw_indicators.items() if isinstance(spec, dict)} \
        if isinstance(raw_indicators, dict) else {}
    by_tier: dict[str, list[str]] = {t: [i for i, tier in declared.items() if tier == t] for t in tier_ids}
    for t in tier_ids:
        if not by_tier[t]:
            c.add(f"tiers.{t}", None, "empty_tier", f"tier '{t}' has no indicator; give it one "
                  f"(tier = \"{t}\" in an [indicators.<id>] table) or remove the tier.")

    weight_sets: list[WeightSet] = []
    tier_w = _weights(data.get("tier_weights"), "tier_weights", tier_ids, c, max_cr)
    if tier_w is not None:
        weight_sets.append(tier_w)
    local: dict[str, float] = {}
    for t in tier_ids:
        spec = tiers_raw[t].get("weights") if isinstance(tiers_raw.get(t), dict) else None
        members = by_tier[t]
        if spec is None and len(members) == 1:
            local[members[0]] = 1.0
            continue
        if spec is None and members:
            c.add(f"tiers.{t}.weights", None, "required", f"tier '{t}' has {len(members)} indicators "
                  f"({', '.join(members)}) and needs weights: an AHP matrix or direct weights.")
            continue
        ws = _weights(spec, f"tiers.{t}.weights", members, c, max_cr)
        if ws is not None:
            weight_sets.append(ws)
            local.update(dict(zip(ws.labels, ws.weights)))
    rubric = _rubric(data.get("rubric", {}), c, tier_ids, set(declared))
    if c.problems:
        return None

    tw = dict(zip(tier_w.labels, tier_w.weights))
    tiers = tuple(Tier(t, *tier_names[t], tw[t]) for t in tier_ids)
    inds = tuple(Indicator(**{k: v for k, v in i.items()}, local_weight=local[i["id"]],
                           weight=tw[i["tier"]] * local[i["id"]]) for i in indicators)
    # indicators in tier order, then file order within the tier
    inds = tuple(sorted(inds, key=lambda i: tier_ids.index(i.tier)))
    ranges = {i.id: _UNIT_RANGE.get(i.unit, (0.0, np.inf)) for i in inds}
    return Framework(id=str(fid).strip(), version=str(version), en=name_en, zh=name_zh,
                     file=c.file, sha256=sha, tiers=tiers, indicators=inds, grades=grades,
                     weight_sets=tuple(weight_sets), max_missing_weight=max_missing, max_cr=max_cr,
                     _unit_ranges=ranges, rubric=rubric)


def _rubric(raw: Any, c: _Checker, tier_ids: list[str], indicator_ids: set[str]) -> tuple[RubricItem, ...]:
    """The [rubric.<id>] items: tier, en/zh text, maximum points and weight within the tier (below 1 per tier)."""
    if not c.keys(raw, "rubric", set(raw) if isinstance(raw, dict) else set()):
        return ()
    items = []
    for rid, spec in raw.items():
        key = f"rubric.{rid}"
        if not c.identifier(rid, key) or not c.keys(spec, key, _RUBRIC_KEYS,
                                                    required=("tier", "en", "zh", "maximum", "weight")):
            continue
        if rid in indicator_ids:
            c.add(key, rid, "duplicate_id", f"'{rid}' is also an indicator id; give the rubric item another id.")
        tier = spec.get("tier")
        if tier not in tier_ids:
            c.add(f"{key}.tier", tier, "unknown_tier", f"must be one of the tiers {', '.join(tier_ids)}.")
        maximum = c.number(spec, key, "maximum", low=1, high=1000)
        weight = c.number(spec, key, "weight", low=0.01, high=0.9)
        items.append(RubricItem(rid, str(tier), c.text(spec, key, "en"), c.text(spec, key, "zh"), maximum, weight))
    for t in tier_ids:
        share = sum(i.weight for i in items if i.tier == t and np.isfinite(i.weight))
        if share >= 1:
            c.add(f"rubric", t, "rubric_weight", f"the rubric items of tier '{t}' weigh {share:g} of the tier "
                  "together; they must weigh less than 1, leaving a share to the computed indicators.")
    return tuple(items)


def _grades(raw: Any, c: _Checker) -> tuple[Grade, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        c.add("grades", raw, "grades", "must list at least two grades as [[grades]] tables, best first.")
        return ()
    out: list[Grade] = []
    for k, g in enumerate(raw):
        key = f"grades[{k + 1}]"
        if not c.keys(g, key, _GRADE_KEYS, required=("id", "en", "zh", "min")):
            continue
        if "id" in g and not c.identifier(g["id"], f"{key}.id"):
            continue
        out.append(Grade(str(g.get("id", "")), c.text(g, key, "en"), c.text(g, key, "zh"),
                         c.number(g, key, "min", low=0, high=100)))
    ids = [g.id for g in out]
    for d in sorted({i for i in ids if ids.count(i) > 1}):
        c.add("grades", d, "unique", f"grade id {d!r} is used more than once; each grade needs its own id.")
    mins = [g.min for g in out]
    if len(out) == len(raw):
        for k in range(1, len(mins)):
            if not mins[k] < mins[k - 1]:
                c.add(f"grades[{k + 1}].min", mins[k], "grades_descending",
                      f"grades are listed best first, so each 'min' must be below the one before "
                      f"({mins[k - 1]:g}); got {mins[k]:g}.")
        if mins and mins[-1] != 0:
            c.add(f"grades[{len(mins)}].min", mins[-1], "lowest_grade_zero",
                  f"the last (lowest) grade must start at 0 so that every score gets a grade; got {mins[-1]:g}.")
    return tuple(out)


def _indicators(raw: Any, c: _Checker, catalogue: pd.DataFrame, tier_ids: list[str]) -> list[dict]:
    out: list[dict] = []
    if not isinstance(raw, dict) or not raw:
        c.add("indicators", raw if raw else None, "required",
              "at least one indicator is required, as an [indicators.<id>] table.")
        return out
    for iid, spec in raw.items():
        key = f"indicators.{iid}"
        if not c.identifier(iid, key):
            continue
        if not c.keys(spec, key, _INDICATOR_KEYS, required=("tier", "en", "zh", "scoring")):
            continue
        n_before = len(c.problems)
        tier = spec.get("tier")
        if tier is not None and tier not in tier_ids:
            c.add(f"{key}.tier", tier, "known_tier", f"tier {_show(tier)} is not one of the tiers defined "
                  f"under [tiers]: {', '.join(tier_ids) or 'none'}.")
        measure = spec.get("measure", iid)
        cat = None
        if not isinstance(measure, str) or measure not in catalogue.index:
            c.add(f"{key}.measure" if "measure" in spec else key, measure, "known_measure",
                  f"measure {_show(measure)} is not an indicator of the indicator table; the measures are "
                  f"{', '.join(catalogue.index)} (evalkit/indicators.toml).")
        else:
            cat = catalogue.loc[measure]
        item = spec.get("item", "all")
        group = spec.get("group", "all")
        for name, value in (("item", item), ("group", group)):
            if not isinstance(value, str) or not value:
                c.add(f"{key}.{name}", value, "text", f"must be a text in quotes such as 'all'; got {_show(value)}.")
        if cat is not None and cat["kind"] != "survey" and item != "all":
            c.add(f"{key}.item", item, "item_all", f"measure '{measure}' is not from the survey, so its item "
                  "must be 'all'.")
        if cat is not None and cat["kind"] == "survey" and item == "all":
            c.add(f"{key}.item", item, "survey_item", f"measure '{measure}' comes from the survey: name the "
                  "question it reads, such as item = \"q_overall\".")
        unit = spec.get("unit", cat["unit"] if cat is not None else None)
        if cat is not None and unit != cat["unit"]:
            c.add(f"{key}.unit", unit, "unit_matches", f"measure '{measure}' is in unit '{cat['unit']}' in the "
                  f"indicator table; the unit here must be the same (targets and floors are in it), not {_show(unit)}.")
        polarity = spec.get("polarity", cat["polarity"] if cat is not None else None)
        if polarity not in POLARITIES:
            c.add(f"{key}.polarity", polarity, "polarity", "must be 'higher_is_better' or 'lower_is_better' "
                  f"(a scored indicator needs a direction); got {_show(polarity)}.")
        elif cat is not None and cat["polarity"] in POLARITIES and polarity != cat["polarity"]:
            c.add(f"{key}.polarity", polarity, "polarity_matches", f"measure '{measure}' is "
                  f"'{cat['polarity']}' in the indicator table; the framework may not reverse it.")
        target = c.number(spec, key, "target", required=False)
        uncertainty = spec.get("uncertainty", "interval")
        if uncertainty not in ("interval", "none"):
            c.add(f"{key}.uncertainty", uncertainty, "uncertainty", "must be 'interval' (simulate from the "
                  f"indicator's interval) or 'none' (hold it fixed); got {_show(uncertainty)}.")
        draw_group = spec.get("draw_group", "")
        if not isinstance(draw_group, str):
            c.add(f"{key}.draw_group", draw_group, "text", f"must be a text in quotes; got {_show(draw_group)}.")
            draw_group = ""
        rule, floor, steps, otherwise = _scoring(spec.get("scoring"), f"{key}.scoring", c, polarity, target)
        if rule == "steps" and np.isnan(target) and steps:
            target = steps[0][0]
        if len(c.problems) > n_before:
            continue
        out.append({"id": iid, "tier": tier, "en": c.text(spec, key, "en"), "zh": c.text(spec, key, "zh"),
                    "measure": measure, "item": item, "group": group, "polarity": polarity, "unit": unit,
                    "target": target, "rule": rule, "floor": floor, "steps": steps, "otherwise": otherwise,
                    "uncertainty": uncertainty, "draw_group": draw_group, "source": spec.get("source", "")})
    return out


def _scoring(raw: Any, key: str, c: _Checker, polarity: Any, target: float
             ) -> tuple[str, float, tuple[tuple[float, float], ...], float]:
    if raw is None:
        return "", np.nan, (), 0.0
    if not c.keys(raw, key, _SCORING_KEYS, required=("rule",)):
        return "", np.nan, (), 0.0
    rule = raw.get("rule")
    higher = polarity != "lower_is_better"
    if rule == "linear":
        for extra in ("steps", "otherwise"):
            if extra in raw:
                c.add(f"{key}.{extra}", raw[extra], "linear_keys", f"a linear rule has a floor and uses the "
                      f"indicator's target; '{extra}' belongs to a stepped rule.")
        floor = c.number(raw, key, "floor")
        if np.isnan(target):
            c.add(key.rsplit(".", 1)[0] + ".target", None, "required", "a linear rule scores 100 at the target: "
                  "'target' is required for this indicator.")
        elif not np.isnan(floor) and polarity in POLARITIES:
            if higher and not floor < target:
                c.add(f"{key}.floor", raw["floor"], "floor_below_target", f"for a higher-is-better indicator the "
                      f"floor (0 points) must be below the target {target:g} (100 points); got {floor:g}.")
            if not higher and not floor > target:
                c.add(f"{key}.floor", raw["floor"], "floor_above_target", f"for a lower-is-better indicator the "
                      f"floor (0 points) must be above the target {target:g} (100 points); got {floor:g}.")
        return "linear", floor, (), 0.0
    if rule == "steps":
        if "floor" in raw:
            c.add(f"{key}.floor", raw["floor"], "steps_keys", "a stepped rule has steps and 'otherwise'; "
                  "'floor' belongs to a linear rule.")
        steps_raw = raw.get("steps")
        steps: list[tuple[float, float]] = []
        if not isinstance(steps_raw, list) or not steps_raw:
            c.add(f"{key}.steps", steps_raw, "steps", "must be a list of [threshold, points] pairs from the best "
                  "step down, such as [[0.95, 100], [0.90, 80]].")
            return "steps", np.nan, (), 0.0
        for k, s in enumerate(steps_raw):
            try:
                if isinstance(s, (str, bytes)) or len(s) != 2:
                    raise ValueError
                t, p = as_number(s[0]), as_number(s[1])
            except (TypeError, ValueError, ZeroDivisionError):
                c.add(f"{key}.steps[{k + 1}]", s, "step_pair", f"each step must be a [threshold, points] pair of "
                      f"numbers; got {_show(s)}.")
                continue
            if not 0 <= p <= 100:
                c.add(f"{key}.steps[{k + 1}]", s, "step_points", f"points must be from 0 to 100; got {p:g}.")
            steps.append((t, p))
        if len(steps) == len(steps_raw):
            for k in range(1, len(steps)):
                (t0, p0), (t1, p1) = steps[k - 1], steps[k]
                if (higher and not t1 < t0) or (not higher and not t1 > t0):
                    word = "below" if higher else "above"
                    c.add(f"{key}.steps[{k + 1}]", list(steps_raw[k]), "steps_order", f"steps run from the best "
                          f"down, so for a {'higher' if higher else 'lower'}-is-better indicator each threshold must "
                          f"be {word} the one before ({t0:g}); got {t1:g}.")
                if p1 > p0:
                    c.add(f"{key}.steps[{k + 1}]", list(steps_raw[k]), "steps_points_order", f"a lower step cannot "
                          f"earn more points than the step before ({p0:g}); got {p1:g}.")
        otherwise = c.number(raw, key, "otherwise", low=0, high=100, default=0.0)
        if steps and otherwise > steps[-1][1]:
            c.add(f"{key}.otherwise", raw.get("otherwise"), "otherwise_lowest", f"'otherwise' (a value below every "
                  f"step) cannot earn more than the last step ({steps[-1][1]:g}); got {otherwise:g}.")
        return "steps", np.nan, tuple(steps), otherwise
    c.add(f"{key}.rule", rule, "rule", f"must be 'linear' (floor to target) or 'steps' (a stepped rubric); "
          f"got {_show(rule)}.")
    return "", np.nan, (), 0.0


def _weights(raw: Any, key: str, members: list[str], c: _Checker, max_cr: float) -> WeightSet | None:
    if raw is None:
        c.add(key, None, "required", f"weights are required here: an AHP matrix or direct weights for "
              f"{', '.join(members)}.")
        return None
    if not c.keys(raw, key, _WEIGHT_KEYS, required=("method",)):
        return None
    method = raw.get("method")
    allow = raw.get("allow_inconsistent", False)
    reason = raw.get("reason", "")
    if not isinstance(allow, bool):
        c.add(f"{key}.allow_inconsistent", allow, "boolean", f"must be true or false; got {_show(allow)}.")
        allow = False
    if allow and not (isinstance(reason, str) and reason.strip()):
        c.add(f"{key}.reason", reason or None, "reason_required", "accepting inconsistent judgements "
              "(allow_inconsistent = true) needs a reason, which the report shows.")
    if method == "direct":
        w = raw.get("weights")
        if not isinstance(w, dict):
            c.add(f"{key}.weights", w, "direct_weights", "direct weights must be a table such as "
                  "{ a = 0.6, b = 0.4 }.")
            return None
        _same_members(list(w), members, f"{key}.weights", c)
        values = []
        for m in w:
            v = c.number(w, f"{key}.weights", m, low=0)
            if v == 0:
                c.add(f"{key}.weights.{m}", w[m], "positive", "a weight must be above 0; remove the element instead.")
            values.append(v)
        total = float(np.nansum(values))
        if values and abs(total - 1) > 1e-6 and not np.isnan(values).any():
            c.add(f"{key}.weights", w, "sum_to_one", f"direct weights must add up to 1; these add up to {total:g}.")
        return WeightSet(key, "direct", tuple(w), tuple(values), None, None, allow, str(reason))
    if method == "ahp":
        order, matrix = raw.get("order"), raw.get("matrix")
        if not isinstance(order, list) or not all(isinstance(o, str) for o in order):
            c.add(f"{key}.order", order, "order", "must list the compared elements in the order of the matrix rows, "
                  f"such as [{', '.join(repr(m) for m in members)}].")
            return None
        _same_members(order, members, f"{key}.order", c)
        if not isinstance(matrix, list):
            c.add(f"{key}.matrix", matrix, "matrix", "must be a list of rows, such as [[1, 3], [\"1/3\", 1]].")
            return None
        try:
            a = as_matrix(matrix)
        except ValueError as e:
            c.add(f"{key}.matrix", matrix, "matrix_numbers", str(e))
            return None
        if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] != len(order):
            c.add(f"{key}.matrix", f"{a.shape[0]} x {a.shape[1]}", "matrix_order",
                  f"the matrix has {a.shape[0]} rows but 'order' lists {len(order)} elements.")
            return None
        errors = matrix_errors(a, order)
        for rule, msg in errors:
            c.add(f"{key}.matrix", None, rule, msg)
        if errors:
            return None
        try:
            r = ahp_weights(a, labels=order, name=f"'{key}'", max_cr=max_cr, allow_inconsistent=allow)
        except InconsistentJudgementsError as e:
            c.add(f"{key}.matrix", f"CR = {_cr(a):.3f}", "consistency_ratio", str(e))
            return None
        return WeightSet(key, "ahp", tuple(order), tuple(float(x) for x in r.weights),
                         tuple(tuple(row) for row in a.tolist()), r, allow, str(reason))
    c.add(f"{key}.method", method, "weight_method", f"must be 'ahp' (a pairwise-comparison matrix) or 'direct' "
          f"(weights that add up to 1); got {_show(method)}.")
    return None


def _cr(a: np.ndarray) -> float:
    return ahp_weights(a, allow_inconsistent=True).cr


def _same_members(given: list[str], members: list[str], key: str, c: _Checker) -> None:
    missing = [m for m in members if m not in given]
    extra = [g for g in given if g not in members]
    dup = sorted({g for g in given if given.count(g) > 1})
    if missing:
        c.add(key, given, "members_missing", f"must include every element it weighs; missing: {', '.join(missing)}.")
    if extra:
        c.add(key, given, "members_unknown", f"names elements that are not here: {', '.join(extra)}; the elements "
              f"are {', '.join(members)}.")
    if dup:
        c.add(key, given, "members_unique", f"names an element more than once: {', '.join(dup)}.")
