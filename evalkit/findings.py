"""The evaluators' written findings: one Markdown file per county and language in the data folder's ``findings/``.

A file ``findings/<county_code>.<lang>.md`` (``090102.zh.md``, ``090102.en.md``) holds up to three sections,
each under one of the known headings (English or Chinese, in either file)::

    ## Strengths            ## 主要成效
    ## Problems             ## 存在问题
    ## Recommendations      ## 改进建议

and under each heading the findings, one a list item (``- ...``, ``* ...``, ``1. ...``) or one a paragraph.
A report shows them in its summary (strengths and problems) and recommendations, marked as the evaluators'
judgement and kept apart from the computed findings; a county without a file shows only the computed ones.

What is refused, each problem naming the file and line (:func:`check_findings`): a file whose name is not
``<six-digit county code>.<en|zh>.md`` or whose county is not in the regions; text that is not UTF-8; a heading
that is not one of the known ones, or text before the first heading; more than :data:`MAX_ITEMS` findings in a
section or a finding longer than :data:`MAX_CHARS` characters; HTML of any kind (tags, comments, entities that
spell a tag) and ``javascript:``; anything that links or loads (Markdown links and images, reference
definitions, autolinks, bare ``http://``, ``https://``, ``www.`` addresses); and personal data as
:mod:`evalkit.personal` defines it (a name, a phone or identity number, an address, ...): a finding naming a
person is refused, the message giving the line and the kind of data, never the data.

The text is kept as plain text (Markdown emphasis markers are removed); reports escape it like any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import DataValidationError, Problem
from .personal import detect

__all__ = ["HEADINGS", "KINDS", "MAX_CHARS", "MAX_ITEMS", "Findings", "check_findings", "load_findings",
           "parse_findings"]

#: The kinds of finding, in report order, and the headings that open each (English and Chinese).
KINDS = ("strengths", "problems", "recommendations")
HEADINGS = {
    "strengths": ("Strengths", "主要成效", "优势"),
    "problems": ("Problems", "存在问题", "问题"),
    "recommendations": ("Recommendations", "改进建议", "建议"),
}
#: Findings a section may hold, and characters a finding may have.
MAX_ITEMS = 12
MAX_CHARS = 600
#: Characters a whole file may have.
MAX_FILE_CHARS = 20000

FOLDER = "findings"
_NAME = re.compile(r"^(?P<county>[0-9]{6})\.(?P<lang>en|zh)\.md$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|[0-9]{1,2}[.)、])\s+(.*)$")
_HTML = re.compile(r"<\s*[!/?A-Za-z]|&lt;|&#0*60;|&#x0*3c;|javascript\s*:|vbscript\s*:|data\s*:", re.I)
_LINK = re.compile(r"!\[|\]\s*\(|^\s{0,3}\[[^\]]+\]:\s|<\s*(?:https?|ftp|mailto|file)\s*:|\b(?:https?|ftp|file)\s*:\s*//"
                   r"|\bwww\.|\bmailto\s*:", re.I | re.M)
_UNKNOWN = "(unknown heading)"
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


@dataclass
class Findings:
    """One county's findings in one language: the findings of each kind (plain text) and where they came from."""

    county: str
    lang: str
    file: str
    items: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def __bool__(self) -> bool:
        return any(self.items.values())


def _kind_of(heading: str) -> str | None:
    low = heading.strip().rstrip(":：").strip().casefold()
    for kind, names in HEADINGS.items():
        if low in {n.casefold() for n in names}:
            return kind
    return None


def parse_findings(text: str, file: str, *, county: str = "", lang: str = "",
                   names: Iterable[str] = ()) -> tuple[Findings, list[Problem]]:
    """The findings of one file's text and every problem with it (see the module's rules)."""
    out = Findings(county, lang, file)
    problems: list[Problem] = []

    def refuse(line: int | None, rule: str, message: str, value: str | None = None) -> None:
        problems.append(Problem(file, line, None, value, rule, message))

    if len(text) > MAX_FILE_CHARS:
        refuse(None, "file_too_long", f"the file has {len(text):,} characters; at most {MAX_FILE_CHARS:,} are "
               "accepted: keep the findings short, one point each.")
    kind: str | None = None
    current: list[tuple[int, str]] = []  # lines of the finding being read

    def close() -> None:
        if not current:
            return
        line, body = current[0][0], " ".join(t for _, t in current).strip()
        current.clear()
        if kind == _UNKNOWN:
            return
        if kind is None:
            refuse(line, "text_before_heading", "text before the first heading; put every finding under one of "
                   "the headings " + ", ".join(f"'## {h[0]}' / '## {h[1]}'" for h in HEADINGS.values()) + ".")
            return
        if len(body) > MAX_CHARS:
            refuse(line, "finding_too_long", f"this finding has {len(body)} characters; at most {MAX_CHARS} are "
                   "accepted: split it into several points.")
        if len(out.items[kind]) >= MAX_ITEMS:
            refuse(line, "too_many_findings", f"more than {MAX_ITEMS} findings under one heading; keep the ones "
                   "that matter most.")
            return
        out.items[kind].append(_EMPHASIS.sub(r"\2", body))

    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if _HTML.search(line):
            refuse(number, "html", "HTML or a script is not accepted in findings (a report shows them as plain "
                   "text); write the finding in words.")
            continue
        if _LINK.search(line):
            refuse(number, "link", "links, images and web addresses are not accepted in findings: nothing in a "
                   "report may load or point to anything outside it; describe the source in words.")
            continue
        hits = [d for d in detect(line, names) if d.sure]
        if hits:
            kinds = ", ".join(dict.fromkeys(d.kind for d in hits))
            refuse(number, "personal_data", f"this line holds personal data ({kinds}); a finding must not name "
                   "or identify a person: describe the case without it.")
            continue
        heading = _HEADING.match(line)
        if heading:
            close()
            found = _kind_of(heading.group(2))
            if found is None:
                refuse(number, "unknown_heading", f"'{heading.group(2)}' is not a known heading; the headings are "
                       + ", ".join(f"'{h[0]}' / '{h[1]}'" for h in HEADINGS.values()) + ".", heading.group(2))
                kind = _UNKNOWN  # the section's text is not read, and not refused a second time
                continue
            if found in seen:
                refuse(number, "repeated_heading", f"the heading '{heading.group(2)}' appears twice; put all of "
                       "its findings under one.", heading.group(2))
            seen.add(found)
            kind = found
            continue
        if not line.strip():
            close()
            continue
        item = _ITEM.match(line)
        if item:
            close()
            current.append((number, item.group(1).strip()))
        else:
            current.append((number, line.strip()))
    close()
    return out, problems


def check_findings(data_dir: str | Path, counties: Iterable[str], names: Iterable[str] = ()
                   ) -> tuple[dict[tuple[str, str], Findings], list[Problem]]:
    """Every findings file of ``data_dir/findings`` read and checked: ``{(county, lang): Findings}`` and problems.

    ``counties``: the county codes of the regions table (a file of another county is refused).
    ``names``: the roster's names (refused in findings like any detected name).
    """
    folder = Path(data_dir) / FOLDER
    found: dict[tuple[str, str], Findings] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return found, problems
    known = {str(c) for c in counties}
    names = list(names)
    for path in sorted(folder.iterdir()):
        shown = f"{FOLDER}/{path.name}"
        if path.name.startswith(".") or path.is_dir():
            continue
        m = _NAME.match(path.name)
        if not m:
            problems.append(Problem(shown, None, None, path.name, "findings_name",
                                    "a findings file is named <county code>.<en or zh>.md, such as 090102.zh.md."))
            continue
        if m["county"] not in known:
            problems.append(Problem(shown, None, None, m["county"], "unknown_county",
                                    f"county {m['county']} is not in the regions table."))
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(Problem(shown, None, None, None, "encoding", "the file is not UTF-8 text; save it as "
                                    "UTF-8."))
            continue
        parsed, found_problems = parse_findings(text, shown, county=m["county"], lang=m["lang"], names=names)
        problems.extend(found_problems)
        if parsed:
            found[(m["county"], m["lang"])] = parsed
    return found, problems


def load_findings(data_dir: str | Path, counties: Iterable[str], names: Iterable[str] = ()
                  ) -> dict[tuple[str, str], Findings]:
    """:func:`check_findings`, raising :class:`DataValidationError` when any file breaks a rule."""
    found, problems = check_findings(data_dir, counties, names)
    if problems:
        raise DataValidationError(problems)
    return found
