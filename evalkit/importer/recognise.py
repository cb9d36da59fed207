"""Recognise raw headers and tables: which codebook column a header names, which table a sheet holds,
and which columns are a questionnaire platform's personal data or bookkeeping (dropped, with the reason).

A header names a codebook column when it equals, after :func:`normalise`, the column's English name
(``q_overall``) or its Chinese label in ``tables.toml`` (``总体满意度``).  A sheet holds the table all of
whose required columns it has; a sheet that could be two tables, or none, is refused by the caller.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

from ..schema import OPTIONAL_TABLES, TABLES, table_spec

__all__ = ["normalise", "aliases", "codebook_matches", "personal_reason", "PERSONAL_COLUMNS",
           "PLATFORM_COLUMNS", "required", "fuzzy", "KEYWORDS"]

ALL_TABLES = (*TABLES, *OPTIONAL_TABLES)

#: A leading question number: ``5、`` ``5.`` ``Q5.`` ``Q5`` ``(5)`` ``第5题`` (after NFKC: full-width forms are ASCII).
_QUESTION_NUMBER = re.compile(
    r"^\s*(?:q\s*\d+(?:\.\d+)*\s*[.、:)\]-]?|\d+(?:\.\d+)*\s*[、.:)\]]|[(\[]\s*\d+\s*[)\]]|第\s*\d+\s*题\s*[、.:]?)\s*")
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: object) -> str:
    """A header as compared: NFKC (full-width to half-width), case-folded, a leading question number
    stripped, spaces, underscores and punctuation removed.

    >>> normalise("5、总体满意度？"), normalise("Q_Overall"), normalise("Ｑ３．服务 态度")
    ('总体满意度', 'qoverall', '服务态度')
    """
    t = unicodedata.normalize("NFKC", str(text)).casefold().strip()
    stripped = _QUESTION_NUMBER.sub("", t, count=1)
    t = stripped if _NOT_WORD.sub("", stripped) else t  # a header that is only a number keeps it
    return _NOT_WORD.sub("", t)


@cache
def aliases() -> dict[str, dict[str, set[str]]]:
    """Normalised header -> {table: {codebook columns it names}}, from every table's English names and
    Chinese labels.  A column's label in one table also names the column of that name in another
    (``年度`` is ``year`` wherever there is a year)."""
    by_name: dict[str, set[str]] = {}
    for table in ALL_TABLES:
        for col in table_spec(table)["columns"]:
            by_name.setdefault(col["name"], set()).update({normalise(col["name"]), normalise(col["zh"])})
    out: dict[str, dict[str, set[str]]] = {}
    for table in ALL_TABLES:
        for col in table_spec(table)["columns"]:
            for alias in by_name[col["name"]]:
                out.setdefault(alias, {}).setdefault(table, set()).add(col["name"])
    return out


def codebook_matches(header: object, table: str | None = None) -> set[tuple[str, str]]:
    """The (table, column) pairs ``header`` names, in ``table`` only when given."""
    found = aliases().get(normalise(header), {})
    return {(t, c) for t, cols in found.items() if table in (None, t) for c in cols}


def required(table: str) -> list[str]:
    """The columns of ``table`` that must be present."""
    return [c["name"] for c in table_spec(table)["columns"] if c.get("required", True)]


#: Columns a questionnaire platform adds that are personal data: dropped on import unless mapped, with
#: the reason.  Each entry: reason -> header spellings (compared after :func:`normalise`; a header that
#: contains one of the longer spellings counts too, e.g. 您的手机号码).
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "IP address": ("IP", "来源IP", "IP地址", "填写者IP", "IP address"),
    "nickname": ("昵称", "微信昵称", "nickname", "用户名"),
    "phone number": ("手机", "电话", "手机号", "手机号码", "联系电话", "电话号码", "phone", "mobile"),
    "WeChat account": ("微信号", "微信", "openid", "unionid", "WeChat", "微信openid"),
    "free-text location": ("地理位置", "所在地区", "所在地", "地理位置省市", "location", "address", "住址", "地址"),
    "submission device": ("设备", "浏览器", "操作系统", "User-Agent", "UA", "device", "browser", "os",
                          "提交设备", "终端"),
}

#: A questionnaire platform's bookkeeping: dropped as "platform metadata" unless mapped.
PLATFORM_COLUMNS: tuple[str, ...] = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "答题时长", "开始时间",
                                     "结束时间", "提交时间", "填写时长", "来源渠道", "总分")


@cache
def _personal_index() -> tuple[dict[str, str], list[tuple[str, str]]]:
    exact = {normalise(name): reason for reason, names in PERSONAL_COLUMNS.items() for name in names}
    contained = [(normalise(name), reason) for reason, names in PERSONAL_COLUMNS.items() for name in names
                 if len(normalise(name)) >= 2 and not normalise(name).isascii()]
    return exact, contained


def personal_reason(header: object) -> str | None:
    """Why a column with this header is dropped (``"phone number"``, ``"platform metadata"``), or None.

    >>> personal_reason("来源IP"), personal_reason("您的手机号码"), personal_reason("所用时间"), personal_reason("年度")
    ('IP address', 'phone number', 'platform metadata', None)
    """
    n = normalise(header)
    if not n:
        return None
    exact, contained = _personal_index()
    if n in exact:
        return exact[n]
    if n in {normalise(x) for x in PLATFORM_COLUMNS}:
        return "platform metadata"
    if len(n) <= 10:  # a short header holding 手机/电话/微信...; a long question text merely mentions them
        for name, reason in contained:
            if name in n:
                return reason
    return None


#: Words a question text uses for a codebook column (a hint for ``--suggest`` only, confidence 0.7): the
#: survey items as questionnaires word them.
KEYWORDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("survey", "q_overall"): ("总体", "总的来说", "整体", "综合评价"),
    ("survey", "q_access"): ("方便", "便利", "便捷", "可及"),
    ("survey", "q_attitude"): ("态度",),
    ("survey", "q_professional"): ("专业",),
    ("survey", "q_timely"): ("及时",),
    ("survey", "q_effect"): ("效果", "成效", "有帮助"),
    ("survey", "group"): ("哪类", "人员类别", "身份", "属于"),
    ("survey", "comment"): ("意见", "建议"),
    ("survey", "weight"): ("权重",),
}


def fuzzy(header: object, table: str | None = None, cutoff: float = 0.5) -> list[tuple[str, str, float]]:
    """Codebook columns a header resembles, best first: ``(table, column, confidence)`` with confidence in
    [0, 1] (1 for an exact match after :func:`normalise`; else the longest common run of characters
    of a Chinese label relative to the shorter text, times 0.9, or difflib's ratio when higher).  Used by ``evalkit import --suggest``.

    >>> fuzzy("5、您对社工的服务态度是否满意？", "survey")[0][:2]
    ('survey', 'q_attitude')
    """
    n = normalise(header)
    if not n:
        return []
    scores: dict[tuple[str, str], float] = {}
    for alias, tables in aliases().items():
        if not alias:
            continue
        if alias == n:
            score = 1.0
        else:
            sm = difflib.SequenceMatcher(None, n, alias, autojunk=False)
            score = sm.ratio()
            if not alias.isascii():  # a Chinese label inside a question text: 您对社工的服务态度是否满意 has 服务态度
                run = sm.find_longest_match(0, len(n), 0, len(alias)).size
                if run >= 2:
                    score = max(score, 0.9 * run / len(alias) if len(alias) <= len(n) else 0.9 * run / len(n))
        for t, cols in tables.items():
            if table not in (None, t):
                continue
            for c in cols:
                if score > scores.get((t, c), 0.0):
                    scores[(t, c)] = score
    for (t, c), words in KEYWORDS.items():
        if table in (None, t) and any(w in n for w in words) and scores.get((t, c), 0.0) < 0.7:
            scores[(t, c)] = 0.7
    ranked = sorted(((t, c, s) for (t, c), s in scores.items() if s >= cutoff), key=lambda x: (-x[2], x[1]))
    return ranked
