"""Turn answers as exports write them into codebook values: Likert texts (非常满意 ... 非常不满意, Very
satisfied ... Very dissatisfied, 不知道 / 说不清 / Don't know -> 8, 拒绝回答 / Refused -> 9), code-list labels
in English or Chinese (低保对象 -> ``dibao``), dates written 2024年5月3日 or 2024.5.3, and the value maps of the
mapping file, which come first.

Every rule looks at each distinct value once (a ledger has millions of rows and a few dozen values), and
counts what it changed, for the import report.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from ..schema import codes
from .recognise import normalise

__all__ = ["Recoded", "recode", "LIKERT_TEXTS", "CATEGORY_ALIASES", "YES_NO"]

#: Likert answer texts (besides codes.toml's labels) -> code.
LIKERT_TEXTS: dict[str, int] = {
    "非常满意": 5, "很满意": 5, "满意": 4, "比较满意": 4, "一般": 3, "不满意": 2, "比较不满意": 2, "非常不满意": 1,
    "很不满意": 1, "不知道": 8, "说不清": 8, "不清楚": 8, "拒绝回答": 9, "拒答": 9,
    "very satisfied": 5, "satisfied": 4, "neutral": 3, "neither satisfied nor dissatisfied": 3,
    "dissatisfied": 2, "very dissatisfied": 1, "don't know": 8, "dont know": 8, "do not know": 8, "refused": 9,
}

#: Common short forms of code-list labels (besides codes.toml's en and zh labels): list -> {text: code}.
CATEGORY_ALIASES: dict[str, dict[str, str]] = {
    "person_group": {"低保": "dibao", "低保户": "dibao", "特困": "tekun", "特困供养人员": "tekun",
                     "留守儿童": "left_behind_child", "困境儿童": "child_in_difficulty", "老年人": "elderly",
                     "困难老人": "elderly", "独居老人": "elderly", "残疾": "disabled", "残疾人员": "disabled",
                     "一般群众": "general", "普通居民": "general", "居民": "general"},
    "urban_rural": {"城市": "urban", "街道": "urban", "乡村": "rural", "乡镇": "rural"},
    "mode": {"来访": "drop_in", "接待": "drop_in", "入户": "home_visit", "上门": "home_visit", "探访": "home_visit",
             "小组活动": "group_activity", "社区活动": "group_activity", "个案": "case_work", "摸排": "screening",
             "排查": "screening"},
}

#: Yes/no answers, for a column of kind ``bool`` (none in today's codebook; kept for the first one).
YES_NO: dict[str, str] = {"是": "true", "否": "false", "有": "true", "无": "false", "yes": "true", "no": "false",
                          "y": "true", "n": "false"}

_CN_DATE = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?(?:\s+(\d{1,2}:\d{2}(?::\d{2})?))?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_CODE_AND_LABEL = re.compile(r"^([A-Za-z0-9_.]+)\s*[\s:：.、)）-]\s*(\S.*)$")
#: Day 0 of Excel's date serial numbers (1900 date system, with its 1900-02-29).
EXCEL_EPOCH = _dt.date(1899, 12, 30)


@dataclass
class Recoded:
    """A column after recoding: the values, what changed (source value -> codebook value: rows), the
    distinct values a value map of the mapping file did not cover (with their first position)."""

    values: pd.Series
    changed: dict[tuple[str, str], int] = field(default_factory=dict)
    uncovered: dict[str, int] = field(default_factory=dict)


@cache
def _likert() -> dict[str, str]:
    out = {normalise(k): str(v) for k, v in LIKERT_TEXTS.items()}
    for code, label in codes("likert").items():
        out.setdefault(normalise(label["en"]), code)
        out.setdefault(normalise(label["zh"]), code)
    return out


@cache
def _category(list_name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, label in codes(list_name).items():
        out[normalise(code)] = code
        out.setdefault(normalise(label["en"]), code)
        out.setdefault(normalise(label["zh"]), code)
    for text, code in CATEGORY_ALIASES.get(list_name, {}).items():
        out.setdefault(normalise(text), code)
    return out


def _number(text: str) -> str | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return str(int(v)) if v.is_integer() else None


def _standard(value: str, col: dict) -> tuple[str, bool]:
    """The codebook value for one source value by the standard rules, and whether it is a valid one."""
    kind = col["kind"]
    if kind == "likert":
        number = _number(value)
        if number is not None:
            return number, number in codes("likert")
        found = _likert().get(normalise(value))
        if found is None:  # "5 非常满意", "(4) satisfied": the number, when its text agrees
            m = _CODE_AND_LABEL.match(value.strip("()（） "))
            if m and m.group(1) in codes("likert") and _likert().get(normalise(m.group(2))) in (None, m.group(1)):
                found = m.group(1)
        return (found, True) if found else (value, False)
    if kind == "category":
        allowed = codes(col["codes"])
        if value in allowed:
            return value, True
        found = _category(col["codes"]).get(normalise(value))
        if found:
            return found, True
        number = _number(value) if all(re.fullmatch(r"\d+\.0", c) for c in allowed) else None
        if number is not None and f"{number}.0" in allowed:
            return f"{number}.0", True
        m = _CODE_AND_LABEL.match(value)  # "S05 老年人探访关爱", "dibao: 低保对象"
        if m and m.group(1) in allowed:
            return m.group(1), True
        return value, False
    if kind == "date":
        m = _CN_DATE.match(value)
        if m and not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}(?: .*)?", value):
            y, mo, d, t = m.groups()
            return f"{y}-{int(mo):02d}-{int(d):02d}" + (f" {t}" if t else ""), True
        m = _COMPACT_DATE.match(value)
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}", True
        serial = _number(value)
        if serial is not None and 20000 <= int(serial) <= 80000:  # an Excel date serial (1954-2119) shown as a number
            return (EXCEL_EPOCH + _dt.timedelta(days=int(serial))).isoformat(), True
        return value, True
    if kind == "bool":
        found = YES_NO.get(normalise(value))
        return (found, True) if found else (value, False)
    return value, True


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def recode(values: pd.Series, col: dict, value_map: dict[str, Any] | None = None) -> Recoded:
    """Recode one source column (text) for codebook column ``col`` (its tables.toml entry).

    The value map (source text -> codebook value) comes first; then the standard rules of the column's
    kind.  With a value map, a Likert or code-list value that neither the map nor the standard rules
    turn into an allowed value is ``uncovered`` (the caller refuses it, naming the map's line).

    >>> r = recode(pd.Series(["非常满意", "说不清", "4", None]), {"name": "q_overall", "kind": "likert"})
    >>> r.values.tolist(), r.changed
    (['5', '8', '4', nan], {('非常满意', '5'): 1, ('说不清', '8'): 1})
    """
    kind = col["kind"]
    if kind not in ("likert", "category", "date", "bool") and not value_map:
        return Recoded(values)
    codes_, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return Recoded(values)
    new = []
    changed: dict[tuple[str, str], int] = {}
    uncovered: dict[str, int] = {}
    counts = np.bincount(codes_[codes_ >= 0], minlength=len(uniques))
    for i, value in enumerate(uniques):
        value = str(value)
        if value_map and value in value_map:
            out, ok = _text(value_map[value]), True
            if kind in ("likert", "category"):
                out, ok = _standard(out, col)
        else:
            out, ok = _standard(value, col)
        if value_map and not ok and kind in ("likert", "category"):
            uncovered[value] = int(np.flatnonzero(codes_ == i)[0])
        if out != value:
            changed[(value, out)] = int(counts[i])
        new.append(out)
    if not changed:
        return Recoded(values, {}, uncovered)
    mapped = np.asarray(new, dtype=object)[np.where(codes_ >= 0, codes_, 0)]
    result = pd.Series(mapped, index=values.index, dtype=object).where(codes_ >= 0, np.nan).astype("str")
    return Recoded(result, changed, uncovered)
