"""Find and remove personal data: scrub free text, scan rendered outputs.

Survey respondents and service users are identifiable people (``shared/domain.md``): their names,
phone numbers and resident identity numbers must never reach a report.  This module gives two
lines of defence, and points to the way to prove that the second one works:

1. :func:`scrub` removes personal data from free text (the survey's ``comment`` column) before
   anything reaches a notebook.  It is deliberately greedy: it also removes any long number.
2. :func:`scan_text`, :func:`scan_file` and :class:`Scanner` look for personal data in every
   rendered output (HTML, PDF, executed notebook, JSON) and for every person id of the inputs.  They
   are precise, so that the region codes, counts and figures of a real report never trip them: an
   output with a finding must not be published.
3. Planting personal data for an audit lives in :mod:`evalkit.planting` (a generated corpus of 500+
   values of 17 categories, planted in a copy of a province; ``evalkit plant``), and its
   :meth:`~evalkit.planting.Planted.missing` checks a scan of the outputs against it (``evalkit scan
   --planted``); :mod:`evalkit.audit` (``make audit``) shows the scan finding them when scrubbing is
   switched off, and none reaching a page when it is on.

What counts as personal data is defined once, in :mod:`evalkit.personal` (issue 16): its detectors
serve :func:`scrub`, :func:`assess` (default deny: a comment any detector is unsure about is withheld),
the scan below and the pseudonym screens of :mod:`evalkit.schema`.  Besides the kinds below it finds
WeChat ids (``[wechat]``), QQ numbers (``[qq]``), licence plates (``[plate]``), bank card numbers
(``[card]``), names without a title or roster (a segmenter, rjieba) and in pinyin, and everything in the
forms a reader reads through: spaced or full-width characters, Chinese numerals, dots in phone numbers,
``＠``/``。``/``点``/``at`` in e-mail addresses (see :func:`evalkit.personal.normalise`).

What is found (``kind`` of a :class:`Finding`, placeholder left by :func:`scrub`):

=============  ================  ==========================================================================
kind           placeholder       what
=============  ================  ==========================================================================
``phone``      ``[phone]``       mobile numbers ``1[3-9]x xxxx xxxx`` (also with spaces, dashes, ``+86``,
                                 ``0086``) and landlines written with their area code apart
                                 (``0731-84561234``, ``(010) 6512 3456``, extensions ``转123``/``ext 12``)
``id_number``  ``[id]``          18-character resident identity numbers with a valid GB 11643 check digit
                                 and birth date, and the old 15-digit form with a valid birth date [1]_
``id_like``    ``[id]``          18-character numbers with a plausible birth date (1900 to today) whose check
                                 digit fails: a mistyped identity number still identifies someone, so the
                                 scan counts it, but separately from valid ones
``email``      ``[email]``       e-mail addresses (full-width ``＠`` too)
``address``    ``[address]``     street addresses with a house number: ``人民路12号3栋502室``,
                                 ``幸福小区3栋2单元501室``, ``桃花村3组15号``, ``12 Renmin Road``
``name``       ``[name]``        names from the input roster (Chinese, and pinyin in any order), and a
                                 conservative heuristic for Chinese surnames next to a cue: ``张阿姨``,
                                 ``李老师``, ``王某某``, ``社工小刘``, ``联系人：王芳`` (the cue is kept:
                                 ``[name]阿姨``)
``person_id``  (not scrubbed)    any person id of the inputs (``person_id``, ``respondent_id``,
                                 ``interviewer_id``), as a whole token or joined to others by ``-``, ``_``
                                 or ``.``: respondent-level rows never reach a rendered output
``number``     ``[number]``      :func:`scrub` only: any other run of 7 or more digits, or 9 or more in
                                 groups (``6222 0212 3456 7890``): bank cards, bare landlines, numbers that
                                 fail the identity-number check
=============  ================  ==========================================================================

The placeholders are short ASCII tokens in square brackets, the same in both languages, so that a
report can translate them at presentation time (they never contain digits, ``@`` or Chinese
surnames, so scrubbing twice changes nothing).  Full-width digits and letters (``１３８…``) are read
as their ASCII forms, and runs of Chinese numerals (``一三八…``) as digits.

Choices that keep real reports free of false alarms, and what they cost:

- Numbers are whole: a match may not touch another digit, an ASCII letter or a decimal point, so
  SVG coordinates (``0.13812345678``), ids (``P13800138000``) and the 6-, 9- and 12-digit region
  codes are never read as phones or identity numbers.  Landlines need their area code written apart
  (a bare ``073184561234`` is also the shape of a village code); :func:`scrub` removes bare ones as
  ``[number]``.
- Person ids are matched as whole tokens of ``A-Z a-z 0-9 _ . -`` by a hash lookup (never one regular
  expression per id), so millions of ids cost about as much as a few.  A token with a letter and a
  separator is also looked up by every run of up to six of its parts, so ids joined into one token
  (``P0000012345-P0000099999``, ``P0000012345.P0000099999``) are each found; ``P0000012345x`` is not
  ``P0000012345``.  Ids that cannot be told from
  ordinary words or figures (no digit, or digits only and fewer than 8) are not searched for; the
  :class:`Scanner` counts them in ``skipped_ids``.
- Roster names of one character are ignored, and names that are part of a place name or of the
  report's own texts cannot be scanned for (they would always be found); :func:`scanner_for` sets
  them aside in ``Scanner.unscanned_names`` (they are still scrubbed).
- ``data:`` URIs: base64 payloads of binary types (fonts, PNG) are skipped; textual ones (SVG, HTML,
  JSON, text) are decoded and scanned, as are URL-encoded ones.
- Binary outputs of a notebook (``image/png`` and the like) are skipped; every text MIME type, the
  metadata, sources, streams and tracebacks are scanned.  PDFs are scanned through their extracted
  text (PDFium, through pypdfium2), page by page, plus their metadata and link targets.

``EVALKIT_UNSAFE_NO_SCRUB=1`` makes :func:`scrub` return its input unchanged (with a warning).  It
exists for the audit's negative control only: the scan still stops such outputs being published.

References
----------
.. [1] GB 11643-1999, Citizen identification number (公民身份号码).  Standardization Administration
   of China, 1999.  Check digit: ISO 7064:1983 MOD 11-2 over the first 17 digits with weights
   2^(18-i) mod 11, ``X`` standing for 10.
.. [2] GB/T 2260, Codes for the administrative divisions of the People's Republic of China (the first
   six digits of an identity number; 6-, 9- and 12-digit region codes).
.. [3] Ministry of Industry and Information Technology, telecommunication numbering plan: mobile
   numbers are 11 digits beginning 13-19; landline area codes are 010, 02x or 0xxx followed by a
   7- or 8-digit local number.

Examples
--------
>>> scrub("社工小刘很好，电话13800138000，我住在人民路12号。")
'社工小[name]很好，电话[phone]，我住在[address]。'
>>> [f.kind for f in scan_text("call 138-0013-8000 or 11010519491231002X", file="x.txt")]
['phone', 'id_number']
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import unquote

import numpy as np
import pandas as pd

from .errors import DataValidationError, EvalkitError, InputError, PersonalDataFound, ScanError

__all__ = [
    "KINDS",
    "PLACEHOLDERS",
    "MOBILE_PATTERN",
    "LANDLINE_PATTERN",
    "Assessment",
    "Finding",
    "assess",
    "file_text",
    "Scanner",
    "input_person_ids",
    "is_resident_id",
    "load_roster",
    "resident_id_check_digit",
    "scan_file",
    "scan_text",
    "scan_tree",
    "scanner_for",
    "scrub",
]
from .personal import (  # noqa: E402  the one definition of personal data (issue 16)
    _FOLD, _HAN, KINDS, LANDLINE_PATTERN, MOBILE_PATTERN, PLACEHOLDERS, _Hit, _NameIndex, _detect, normalise,
    is_resident_id, resident_id_check_digit,
)

#: The environment variable that switches scrubbing off (audit's negative control only).
UNSAFE_NO_SCRUB = "EVALKIT_UNSAFE_NO_SCRUB"


# --------------------------------------------------------------------------- scrubbing


def _scrub_one(text: str, names: _NameIndex, heuristic_names: bool) -> str:
    for _ in range(5):  # placeholders never match, so a second pass normally finds nothing
        hits = _detect(text.translate(_FOLD), names, heuristic_names, numbers=True)
        if not hits:
            return text
        parts, at = [], 0
        for h in hits:
            parts += [text[at:h.start], PLACEHOLDERS[h.kind]]
            at = h.end
        text = "".join(parts) + text[at:]
    return text


def scrub(texts: Any, names: Iterable[Any] = (), *, heuristic_names: bool = True) -> Any:
    """Remove personal data from free text, leaving placeholders such as ``[phone]``.

    Call it on the survey's comments (or any free text) before they reach a notebook.  It removes
    phones, resident identity numbers (and any other long number), e-mail addresses, street
    addresses with house numbers, the roster's names and Chinese surnames next to a cue (the cue
    stays: ``[name]阿姨``).  See the module docstring for each pattern and its placeholder.

    Parameters
    ----------
    texts : str, sequence of str, or pandas.Series
        The texts; missing values stay missing.  Each distinct text is scrubbed once.
    names : iterable of str
        Names from the input roster (:func:`load_roster`), Chinese or pinyin; one-character names
        are ignored.
    heuristic_names : bool
        Also remove surnames next to a title or cue (张阿姨, 李老师, 社工小刘).

    Returns
    -------
    Same shape as ``texts``: a str, a list, or a Series with the same index.

    Notes
    -----
    Idempotent: ``scrub(scrub(x)) == scrub(x)``; and nothing :func:`scan_text` finds survives it.
    ``EVALKIT_UNSAFE_NO_SCRUB=1`` returns ``texts`` unchanged, with a warning (the audit's negative
    control only).

    Examples
    --------
    >>> scrub(["王芳阿姨来过", None, "邮箱 wang.fang@example.com"], names=["王芳"])
    ['[name]阿姨来过', None, '邮箱 [email]']
    """
    if os.environ.get(UNSAFE_NO_SCRUB) == "1":
        warnings.warn(f"{UNSAFE_NO_SCRUB}=1: free text is NOT scrubbed of personal data (audit use only).",
                      stacklevel=2)
        return texts
    index = names if isinstance(names, _NameIndex) else _NameIndex(names)

    def one(t: Any) -> Any:
        if t is None or (not isinstance(t, str) and pd.isna(t)):
            return t
        return _scrub_one(str(t), index, heuristic_names)

    if texts is None or isinstance(texts, str):
        return one(texts)
    if isinstance(texts, pd.Series):
        done = {u: one(u) for u in pd.unique(texts.dropna())}
        out = texts.copy()
        present = texts.notna()
        out[present] = texts[present].map(done)  # missing values stay exactly as they were
        return out
    return [one(t) for t in texts]


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` decided about one free text: its scrubbed form and whether it may be published.

    ``publishable`` is false when any detector was unsure about any part of the text after scrubbing
    (default deny); ``reasons`` then names the categories (``KINDS``) it was unsure about, never the text.
    """

    text: str
    publishable: bool
    reasons: tuple[str, ...] = ()


def assess(texts: Iterable[Any], names: Iterable[Any] = ()) -> list[Assessment]:
    """Scrub each text and decide whether it may be published (default deny, issue 16).

    What the detectors of :mod:`evalkit.personal` are sure about is scrubbed (:func:`scrub`); then
    the scrubbed text is read again with the detectors' unsure findings switched on (a segmenter's
    person name without a known surname, a surname followed by given-name characters that are not a
    word, a pair of capitalised Latin words, 5 to 10 digits after a phone, QQ or WeChat cue).  A text
    with any of them is not publishable, and ``reasons`` names their kinds (``KINDS``), never the text.

    Parameters
    ----------
    texts : iterable of str
        The free texts (survey comments); each distinct text is assessed once.
    names : iterable of str
        Roster names (:func:`load_roster`).

    Returns
    -------
    list of Assessment
        One per text, in order.  Missing texts give ``Assessment("", False, ("missing",))``.

    Notes
    -----
    ``EVALKIT_UNSAFE_NO_SCRUB=1`` returns every text unchanged and publishable (the audit's negative
    control only).

    Examples
    --------
    >>> [(a.text, a.publishable, a.reasons) for a in assess(["王芳来过", "电话84561", "社工态度很好。"])]
    [('[name]来过', True, ()), ('电话84561', False, ('phone',)), ('社工态度很好。', True, ())]
    """
    texts = list(texts)
    unsafe = os.environ.get(UNSAFE_NO_SCRUB) == "1"
    if unsafe:
        warnings.warn(f"{UNSAFE_NO_SCRUB}=1: free text is NOT scrubbed or withheld (audit use only).", stacklevel=2)
    index = names if isinstance(names, _NameIndex) else _NameIndex(names)
    done: dict[str, Assessment] = {}
    out = []
    for t in texts:
        if t is None or (not isinstance(t, str) and pd.isna(t)):
            out.append(Assessment("", False, ("missing",)))
            continue
        t = str(t)
        if t not in done:
            if unsafe:
                done[t] = Assessment(t, True, ())
            else:
                clean = _scrub_one(t, index, True)
                unsure = {h.kind for h in _detect(clean.translate(_FOLD), index, True, True, unsure=True)
                          if not h.sure or h.kind != "number"}
                done[t] = Assessment(clean, not unsure, tuple(sorted(unsure)))
        out.append(done[t])
    return out


# --------------------------------------------------------------------------- findings

_KEY = secrets.token_bytes(32)  # digests mean something only inside this process


def _normal(kind: str, value: str) -> str:
    v = normalise(value).text if kind != "person_id" else value.translate(_FOLD)  # 一三八… as 138…
    if kind == "phone":
        d = re.sub(r"[^0-9]", "", v)
        if d.startswith("0086"):
            d = d[4:]
        elif d.startswith("86") and len(d) == 13:
            d = d[2:]
        return d
    if kind in ("id_number", "id_like"):
        return re.sub(r"[^0-9Xx]", "", v).upper()
    if kind == "person_id":
        return v.strip("._-")
    return " ".join(v.split()).lower() if kind == "name" else re.sub(r"\s+", "", v).lower()


def _digest(kind: str, value: str) -> str:
    group = "id" if kind in ("id_number", "id_like") else kind
    return hmac.new(_KEY, f"{group}\0{_normal(kind, value)}".encode(), hashlib.sha256).hexdigest()[:24]


def _mask(value: str) -> str:
    """Most of a value replaced by ``*``: never the whole value in a message or a manifest."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return local[:1] + "*" * max(len(local) - 1, 2) + "@" + domain[:1] + "*" * max(len(domain) - 1, 2)
    n = len(value)
    if n <= 3:
        return value[:1] + "*" * (n - 1 if n > 1 else 1)
    if n < 8:
        return value[:1] + "*" * (n - 2) + value[-1:]
    return value[:3] + "*" * (n - 5) + value[-2:]


@dataclass(frozen=True)
class Finding:
    """One piece of personal data found in an output.

    Attributes
    ----------
    file : str
        The file (as given to the scan).
    kind : str
        One of :data:`KINDS`.
    excerpt : str
        A little text around it, with this and any other finding nearby masked (``138******00``):
        never the full value.
    location : str
        Where in the file: ``line 812``, ``page 3``, ``cell 4 output 1 text/html, line 2``, ``$.reports[0].error``.
    detail : str
        How it was recognised (``mobile``, ``roster``, ``surname with a title``, ...).
    """

    file: str
    kind: str
    excerpt: str
    location: str
    detail: str = ""
    digest: str = field(default="", repr=False, compare=False)

    def matches(self, value: str) -> bool:
        """True when this finding is ``value`` (compared through a keyed hash, valid in this process only)."""
        return bool(self.digest) and hmac.compare_digest(self.digest, _digest(self.kind, value))

    def to_dict(self) -> dict[str, str]:
        """The finding for a manifest or a JSON report (masked; without the digest)."""
        d = asdict(self)
        d.pop("digest")
        return d

    def __str__(self) -> str:
        how = f" ({self.detail})" if self.detail else ""
        return f"{self.file}, {self.location}: {self.kind}{how} in “{self.excerpt}”"


# --------------------------------------------------------------------------- the scanner

_ID_TOKEN = re.compile(r"[A-Za-z0-9_.\-]*[0-9][A-Za-z0-9_.\-]*")
_ID_PART = re.compile(r"[A-Za-z0-9]+")  # a token's parts, between "-", "_" and "."
_LETTER = re.compile(r"[A-Za-z]")
#: Runs of at most this many parts of a token are looked up as ids (ids with more parts are found when
#: they stand alone, not joined to another).
_MAX_ID_PARTS = 6
_DATA_URI = re.compile(r"data:([A-Za-z0-9.+/-]*)((?:;[A-Za-z0-9.+=-]*)*),([^\s\"'<>)]*)", re.I)
_TEXT_MIME = re.compile(r"text/.*|image/svg\+xml|application/(?:json|xml|xhtml\+xml|javascript|x-latex)"
                        r"|.*\+(?:json|xml)", re.I)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Chunk:
    """A piece of a file to scan, with a label saying where it is (and its first line, if it has lines)."""

    __slots__ = ("text", "label", "line", "group")

    def __init__(self, text: str, label: str, line: int | None = None, group: str | None = None):
        self.text, self.label, self.line = text, label, line
        self.group = label if group is None else group  # chunks of one document share a group

    def where(self, offset: int) -> str:
        if self.line is None:
            return self.label
        line = f"line {self.line + self.text.count(chr(10), 0, offset)}"
        return f"{self.label}, {line}" if self.label else line


class Scanner:
    """Look for personal data and person ids in texts and files; build it once, scan many files.

    Parameters
    ----------
    person_ids : iterable of str
        Every person id of the inputs (services ``person_id``, survey ``respondent_id`` and
        ``interviewer_id``; :func:`input_person_ids`).  Held as 64-bit hashes: millions are fine.
        Ids with no digit, or of fewer than 8 digits and nothing else, are not searched for (they
        cannot be told from words and figures); ``skipped_ids`` counts them.
    names : iterable of str
        Names from the roster (:func:`load_roster`).
    heuristic_names : bool
        Also report Chinese surnames next to a title or cue (张阿姨, 社工小刘).
    places : iterable of str
        Place names of the inputs (township, county, ... names): a number followed by one of them
        (``3 Furong Street`` in a table of townships) is not an address.

    Examples
    --------
    >>> s = Scanner(person_ids=["P0000012345", "7"], names=["王芳"])
    >>> [(f.kind, f.excerpt) for f in s.text("王芳 P0000012345 7", file="t")]
    [('name', '王* P00******45 7'), ('person_id', '王* P00******45 7')]
    >>> s.skipped_ids
    1
    """

    def __init__(self, person_ids: Iterable[Any] = (), names: Iterable[Any] = (), *, heuristic_names: bool = True,
                 places: Iterable[str] = (), background: str | None = None):
        ids = pd.Series(pd.unique(pd.Series(list(person_ids), dtype=object).dropna().astype(str)), dtype=object)
        strong = ((ids.str.contains(r"[A-Za-z]", regex=True) & ids.str.contains(r"[0-9]", regex=True))
                  | ids.str.fullmatch(r"[0-9]{8,}")).fillna(False).astype(bool)
        #: Ids not searched for (no digit, or short and digits only).
        self.skipped_ids = int((~strong).sum())
        self._ids = np.sort(pd.util.hash_array(ids[strong].to_numpy(dtype=object), categorize=False))
        self.names = names if isinstance(names, _NameIndex) else _NameIndex(names)
        self.heuristic_names = heuristic_names
        self.places = {" ".join(str(p).split()).lower() for p in places if str(p).strip()}
        #: What a report shows anyway (place names, the catalogues' texts): a segmenter's or pinyin name
        #: found in it is not reported (``張家界`` is a place, ``Ning Xiang`` a county).
        self.background = _background_texts(None) if background is None else background
        self._background_low = self.background.lower()
        #: Roster names that are not scanned for (set by :func:`scanner_for`).
        self.unscanned_names: list[str] = []

    def _in_background(self, value: str) -> bool:
        """True when a name found by the segmenter, by where it stands or as pinyin is part of what a report
        shows anyway: Chinese as a substring of a place name or catalogue text (黄花 in 黄花镇), Latin as
        whole words (``Li Li`` is not in ``Liling``)."""
        low = getattr(self, "_background_low", "")
        if re.search(r"[A-Za-z]", value):
            words = re.findall(r"[A-Za-z]+", value.lower())
            if all(len(w) == 1 for w in words):  # w a n g f a n g: one word as a reader reads it
                words = ["".join(words)]
            return re.search(r"(?<![a-z])" + r"[\s\-']*".join(map(re.escape, words)) + r"(?![a-z])", low) is not None
        return "".join(value.split()) in low

    @property
    def n_ids(self) -> int:
        """How many person ids are searched for."""
        return int(self._ids.size)

    def _id_spans(self, text: str) -> list[tuple[int, int]]:
        if not self._ids.size:
            return []
        spans: list[tuple[int, int]] = []
        most = _MAX_ID_PARTS
        for m in _ID_TOKEN.finditer(text):  # the token, and the token without its end punctuation ("P123.")
            tok = m.group()
            inner = tok.strip("._-")
            spans.append(m.span())
            s = m.start() + len(tok) - len(tok.lstrip("._-"))
            if inner != tok:
                spans.append((s, s + len(inner)))
            if not ("-" in inner or "_" in inner or "." in inner) or not _LETTER.search(inner):
                continue
            # ids joined by "-", "_" or ".": every run of up to `most` parts.  An id with a separator has a
            # letter (ids of digits only are searched for without one), so figures ("12.5") are not split.
            parts = [p.span() for p in _ID_PART.finditer(text, s, s + len(inner))]
            for i in range(len(parts)):
                for j in range(i, min(i + most, len(parts))):
                    if i or j < len(parts) - 1:  # the whole is there already
                        spans.append((parts[i][0], parts[j][1]))
        if not spans:
            return []
        h = pd.util.hash_array(np.array([text[s:e] for s, e in spans], dtype=object), categorize=False)
        pos = np.searchsorted(self._ids, h)
        hit = self._ids[np.minimum(pos, self._ids.size - 1)] == h
        found = sorted((spans[i] for i in np.flatnonzero(hit)), key=lambda sp: (sp[0], -sp[1]))
        out: list[tuple[int, int]] = []
        for sp in found:  # the longest id where found ones overlap
            if not out or sp[0] >= out[-1][1]:
                out.append(sp)
        return out

    def _scan(self, chunks: Sequence[_Chunk], file: str) -> list[Finding]:
        extra: list[_Chunk] = []
        seen_uris: set[str] = set()
        for c in chunks:  # data: URIs: decode the textual ones (once each), drop every payload
            if "data:" in c.text or "DATA:" in c.text:
                c.text = _DATA_URI.sub(lambda m, c=c: _data_uri(m, c, extra, seen_uris), c.text)
        chunks = [c for c in [*chunks, *extra] if c.text]
        if not chunks:
            return []
        starts, pos = [], 0
        for c in chunks:
            starts.append(pos)
            pos += len(c.text) + 1
        text = "\n".join(c.text for c in chunks)
        folded = text.translate(_FOLD)
        hits = _detect(folded, self.names, self.heuristic_names, numbers=False)
        if self.places:  # "3 Furong Street": a figure before a township's name, not an address
            hits = [h for h in hits if h.kind != "address" or
                    " ".join(_HOUSE_NUMBER.sub("", folded[h.start:h.end]).split()).lower() not in self.places]
        hits = [h for h in hits if h.kind != "name" or not h.detail.startswith(("segmenter", "pinyin", "name slot"))
                or not self._in_background(folded[h.start:h.end])]
        hits += [_Hit(s, e, "person_id", "input person id") for s, e in self._id_spans(folded)]
        hits.sort(key=lambda h: h.start)
        hit_starts = [h.start for h in hits]
        out, seen = [], set()
        for h in hits:
            i = bisect.bisect_right(starts, h.start) - 1
            c = chunks[i]
            digest = _digest(h.kind, text[h.start:h.end])
            line = None if c.line is None else c.line + c.text.count("\n", 0, h.start - starts[i])
            key = (h.kind, digest, c.group, line if line is not None else c.label)
            if key in seen:  # the same value at the same place: raw HTML and its parsed text
                continue
            seen.add(key)
            lo, hi = max(starts[i], h.start - 20), min(starts[i] + len(c.text), h.end + 20)
            out.append(Finding(file, h.kind, _excerpt(text, lo, hi, hits, hit_starts),
                               c.where(h.start - starts[i]), h.detail, digest))
        return out

    def text(self, text: str, *, file: str = "<text>", location: str = "") -> list[Finding]:
        """Findings in one text (its lines are numbered from 1)."""
        return self._scan([_Chunk(text, location, 1)], file)

    def file(self, path: str | Path, *, name: str | None = None, without: str | re.Pattern = "") -> list[Finding]:
        """Findings in one file: ``.html``/``.htm``/``.svg``/``.xml``, ``.ipynb``, ``.pdf``, ``.json``, or text
        (``.txt``, ``.md``, ``.csv``, ``.tsv``, ``.py``, ``.log``), by the suffix of ``name`` (what to call
        the file in the findings; default ``path``).  With ``without`` (a string or a compiled pattern), the file
        is scanned as if that were taken out of every piece of text the scan reads in it (how
        :meth:`evalkit.planting.Planted.missing` tells whether a finding was a planted value).

        Raises
        ------
        ScanError
            When the file cannot be read or has a type the scan does not know: count it as failed.
        """
        label = str(path) if name is None else name
        chunks = _file_chunks(Path(path), label)
        if without:
            for c in chunks:
                c.text = without.sub("", c.text) if isinstance(without, re.Pattern) else c.text.replace(without, "")
        return self._scan(chunks, label)

    def check(self, paths: Iterable[str | Path] | Mapping[str, str | Path]) -> None:
        """Scan the outputs of one report before they are published; raise if any must not be.

        ``paths`` may map the name each file will be published under to where it is now (a temporary
        file, ``{"090102.html": Path(".090102.html.4711.tmp.html")}``): the name gives the file's type
        and is what the findings call it.

        Raises
        ------
        PersonalDataFound
            When any file holds personal data or a person id; ``.findings`` lists them (masked).
        ScanError
            When a file cannot be scanned.
        """
        items = paths.items() if isinstance(paths, Mapping) else [(None, p) for p in paths]
        findings = [f for name, p in items for f in self.file(p, name=name)]
        if findings:
            raise PersonalDataFound(findings)

    def tree(self, folder: str | Path) -> list[Finding]:
        """Findings in every HTML, PDF, notebook, JSON and text file under ``folder``."""
        out: list[Finding] = []
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and path.suffix.lower() in _SCANNED:
                out.extend(self.file(path))
        return out


_HOUSE_NUMBER = re.compile(r"^(?:No\.?[ \t]*)?[0-9]{1,5}[A-Za-z]?,?[ \t]+")
_SCANNED = (".html", ".htm", ".svg", ".xml", ".xhtml", ".ipynb", ".pdf", ".json", ".txt", ".md", ".csv", ".tsv", ".log")


def _file_chunks(path: Path, label: str) -> list[_Chunk]:
    """The pieces of text the scan reads in a file, by the suffix of ``label`` (:meth:`Scanner.file`)."""
    suffix = Path(label).suffix.lower()
    try:
        if suffix == ".pdf":
            return _pdf_chunks(path)
        raw = path.read_text(encoding="utf-8")
        if suffix in (".html", ".htm", ".svg", ".xml", ".xhtml"):
            return _html_chunks(raw)
        if suffix == ".ipynb":
            return _notebook_chunks(json.loads(raw))
        if suffix == ".json":
            chunks: list[_Chunk] = []
            _json_chunks(json.loads(raw), "$", chunks)
            return chunks
        if suffix in (".txt", ".md", ".csv", ".tsv", ".py", ".log"):
            return [_Chunk(raw, "", 1)]
        raise ScanError(f"{label}: the privacy scan does not know '{suffix}' files; scan it as text "
                        "or leave it out of the published outputs.")
    except ScanError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScanError(f"{label}: cannot be read for the privacy scan ({err}); treat it as failed.") from err


def file_text(path: str | Path, *, name: str | None = None) -> str:
    """Every piece of text the scan reads in a file (:meth:`Scanner.file`), joined by new lines: an HTML
    page's source, text and attribute values, a notebook's sources and text outputs, a PDF's page text.

    Raises
    ------
    ScanError
        As :meth:`Scanner.file`.
    """
    label = str(path) if name is None else name
    return "\n".join(c.text for c in _file_chunks(Path(path), label))


def _data_uri(m: re.Match, chunk: _Chunk, extra: list[_Chunk], seen: set[str]) -> str:
    mime, params, payload = m.group(1).lower(), m.group(2).lower(), m.group(3)
    textual = not mime or _TEXT_MIME.fullmatch(mime)
    if textual and payload and payload not in seen:
        seen.add(payload)
        if ";base64" in params:
            try:
                decoded = base64.b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                decoded = ""
        else:
            decoded = unquote(payload)
        if decoded:
            extra.append(_Chunk(decoded, f"{chunk.where(m.start())}: data:{mime} URI"))
    return f"data:{m.group(1)}{m.group(2)},"


def _excerpt(text: str, lo: int, hi: int, hits: list[_Hit], starts: list[int]) -> str:
    """``text[lo:hi]`` (widened to whole findings) with every finding in it masked, on one line."""
    inside = [h for h in hits[bisect.bisect_left(starts, lo - 100):bisect.bisect_left(starts, hi)]
              if h.end > lo and h.start < hi]
    if inside:
        lo, hi = min(lo, inside[0].start), max(hi, max(h.end for h in inside))
    parts, at = [], lo
    for h in inside:
        if h.start >= at:
            parts += [text[at:h.start], _mask(text[h.start:h.end])]
            at = h.end
    parts.append(text[at:hi])
    return " ".join("".join(parts).split())


def scan_text(text: str, person_ids: Iterable[Any] | Scanner = (), names: Iterable[Any] = (), *,
              file: str = "<text>") -> list[Finding]:
    """Personal data and person ids in one text.

    Parameters
    ----------
    text : str
        The text.
    person_ids : iterable of str, or Scanner
        Person ids of the inputs, or a :class:`Scanner` built once for many texts.
    names : iterable of str
        Roster names (ignored when ``person_ids`` is a Scanner).
    file : str
        What to call the text in the findings.

    Returns
    -------
    list of Finding
        In the order they appear; empty when the text is clean.

    Examples
    --------
    >>> scan_text("region 430102001 and 430102001001, 2,149,736 yuan, 0.13812345678")
    []
    >>> [(f.kind, f.excerpt) for f in scan_text("wang@example.com", file="x")]
    [('email', 'w***@e**********')]
    """
    scanner = person_ids if isinstance(person_ids, Scanner) else Scanner(person_ids, names)
    return scanner.text(text, file=file)


def scan_file(path: str | Path, person_ids: Iterable[Any] | Scanner = (), names: Iterable[Any] = ()) -> list[Finding]:
    """Personal data and person ids in one rendered output (HTML, PDF, notebook, JSON or text).

    HTML: the text with tags stripped and entities unescaped, every attribute value, scripts and
    styles, comments, and the raw source too.  Notebooks: every cell's source, every output (every
    text MIME type, streams, tracebacks) and all metadata.  PDF: the extracted text of every page,
    the document information and link targets.  See :meth:`Scanner.file`.

    Raises
    ------
    ScanError
        When the file cannot be read or is of an unknown type.
    """
    scanner = person_ids if isinstance(person_ids, Scanner) else Scanner(person_ids, names)
    return scanner.file(path)


def scan_tree(folder: str | Path, person_ids: Iterable[Any] | Scanner = (), names: Iterable[Any] = ()) -> list[Finding]:
    """Personal data and person ids in every output file under ``folder`` (a batch's run folder)."""
    scanner = person_ids if isinstance(person_ids, Scanner) else Scanner(person_ids, names)
    return scanner.tree(folder)


# --------------------------------------------------------------------------- reading outputs


class _HTMLChunks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[_Chunk] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if value:
                self.chunks.append(_Chunk(value, f"attribute {name}", line))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.chunks.append(_Chunk(data, "", self.getpos()[0]))

    def handle_comment(self, data: str) -> None:
        self.chunks.append(_Chunk(data, "comment", self.getpos()[0]))


def _html_chunks(raw: str, label: str = "") -> list[_Chunk]:
    """The text, attribute values and comments of an HTML or SVG document, and its raw source."""
    raw = _DATA_URI.sub(lambda m: m.group(0) if _TEXT_MIME.fullmatch(m.group(1) or "text/plain")
                        else f"data:{m.group(1)}{m.group(2)},", raw)  # binary payloads: gone before parsing
    parser = _HTMLChunks()
    parser.feed(raw)
    parser.close()
    for c in parser.chunks:
        c.group = label
        if label:
            c.label = f"{label}{', ' + c.label if c.label else ''}"
    return [_Chunk(raw, label, 1), *parser.chunks]


def _join(v: Any) -> str:
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "".join(v)
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _json_chunks(obj: Any, path: str, out: list[_Chunk]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            sub = f"{path}.{k}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k)) else f"{path}[{json.dumps(str(k))}]"
            out.append(_Chunk(str(k), f"{sub} (key)"))
            _json_chunks(v, sub, out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _json_chunks(v, f"{path}[{i}]", out)
    elif isinstance(obj, str):
        out.append(_Chunk(obj, path))
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, int) or (isinstance(obj, float) and obj.is_integer() and abs(obj) < 1e20):
        out.append(_Chunk(str(int(obj)), path))


def _bundle(data: dict, where: str, out: list[_Chunk]) -> None:
    """A notebook MIME bundle: HTML and SVG parsed, text and JSON scanned, binary (base64) types skipped."""
    for mime, value in data.items():
        if mime in ("text/html", "image/svg+xml", "application/xhtml+xml"):
            out.extend(_html_chunks(_join(value), f"{where} {mime}"))
        elif _TEXT_MIME.fullmatch(mime):
            lines = isinstance(value, list) and all(isinstance(x, str) for x in value)
            if isinstance(value, (dict, list)) and not lines:
                _json_chunks(value, f"{where} {mime}", out)
            else:
                out.append(_Chunk(_join(value), f"{where} {mime}", 1))


def _notebook_chunks(nb: dict) -> list[_Chunk]:
    """Every cell's source, attachments' text, outputs (all text MIME types, streams, tracebacks) and all metadata."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise ScanError("not a Jupyter notebook (no list of cells).")
    out: list[_Chunk] = []
    for k, v in nb.items():
        if k != "cells":
            _json_chunks(v, k, out)
    for i, cell in enumerate(nb.get("cells", []), 1):
        where = f"cell {i}"
        for k, v in cell.items():
            if k == "source":
                out.append(_Chunk(_join(v), f"{where} source", 1))
            elif k == "attachments" and isinstance(v, dict):
                for name, bundle in v.items():
                    _bundle(bundle, f"{where} attachment {name}", out)
            elif k == "outputs" and isinstance(v, list):
                for j, o in enumerate(v, 1):
                    ow = f"{where} output {j}"
                    for ok, ov in o.items():
                        if ok == "data" and isinstance(ov, dict):
                            _bundle(ov, ow, out)
                        elif ok == "text":
                            out.append(_Chunk(_join(ov), f"{ow} text", 1))
                        elif ok == "traceback" and isinstance(ov, list):
                            out.append(_Chunk(_ANSI.sub("", "\n".join(map(str, ov))), f"{ow} traceback", 1))
                        else:
                            _json_chunks(ov, f"{ow} {ok}", out)
            else:
                _json_chunks(v, f"{where} {k}", out)
    return out


_HAN_WRAP = re.compile(rf"(?<=[{_HAN}])\n(?=[{_HAN}])")


def _pdf_chunks(path: Path) -> list[_Chunk]:
    """The text of every page (lines of Chinese that the layout wrapped are joined again), the
    document information and link targets.  Text through PDFium (pypdfium2): a report's PDF in
    about 0.1 s, where a pure-Python parser took over a second."""
    try:
        import pypdfium2 as pdfium
    except ImportError as err:  # pragma: no cover - pypdfium2 is a dependency
        raise ScanError(f"{path}: scanning PDFs needs pypdfium2 (`pip install pypdfium2`).") from err
    try:
        raw = Path(path).read_bytes()
        pdf = pdfium.PdfDocument(raw)
        try:
            out = [_Chunk(str(v), f"document information /{k}") for k, v in pdf.get_metadata_dict().items() if v]
            for n in range(len(pdf)):
                page = pdf[n]
                textpage = page.get_textpage()
                out.append(_Chunk(_HAN_WRAP.sub("", textpage.get_text_range()), f"page {n + 1}"))
                textpage.close()
                page.close()
        finally:
            pdf.close()
        # link targets: Chromium writes each link annotation's /URI as a literal string
        out += [_Chunk(m.decode("latin-1"), "link") for m in re.findall(rb"/URI\s*\(((?:[^()\\]|\\.)*)\)", raw)]
    except ScanError:
        raise
    except Exception as err:  # a damaged or encrypted file
        raise ScanError(f"{path}: the PDF cannot be read for the privacy scan ({type(err).__name__}: {err}); "
                        "treat it as failed.") from err
    return out


# --------------------------------------------------------------------------- inputs: roster and person ids


def load_roster(data_dir: str | Path) -> list[str]:
    """The names in the optional roster table (``roster.csv``, ``.xlsx`` or ``.parquet``) of ``data_dir``.

    The roster is one column, ``name``: the names of service users, respondents, staff and anyone
    else whose name could appear in a comment, in Chinese or pinyin (one spelling a row).  It is
    only used to find names; it links no name to any id.  No roster gives an empty list.

    Raises
    ------
    DataValidationError
        When the roster breaks the codebook's rules (a missing ``name`` column, an empty name, an
        unexpected column).
    """
    from .io import find_table, read_raw
    from .schema import table_spec, validate_table

    try:
        path = find_table(data_dir, "roster")
    except InputError as err:
        if err.problem.rule == "missing_table":
            return []
        raise
    raw = read_raw(path, [c["name"] for c in table_spec("roster")["columns"]], "roster")
    frame, problems = validate_table(raw, "roster")
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    return sorted({" ".join(str(n).split()) for n in frame["name"].dropna() if str(n).strip()})


#: The id columns whose values are searched for in the outputs.
ID_COLUMNS = {"services": ("person_id",), "survey": ("respondent_id", "interviewer_id")}


def input_person_ids(data_dir: str | Path) -> pd.Series:
    """Every distinct person id in the inputs of ``data_dir`` (services ``person_id``, survey
    ``respondent_id`` and ``interviewer_id``), read straight from the files."""
    from .io import find_table, read_raw

    parts = []
    for table, cols in ID_COLUMNS.items():
        path = find_table(data_dir, table)
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            have = set(pq.read_schema(path).names)
            frame = pd.read_parquet(path, columns=[c for c in cols if c in have])
        else:
            from .schema import table_spec

            frame = read_raw(path, [c["name"] for c in table_spec(table)["columns"]], table).frame
        parts += [frame[c].dropna().astype(str) for c in cols if c in frame.columns]
    return pd.Series(pd.unique(pd.concat(parts, ignore_index=True)) if parts else [], dtype=object)


def _place_names(data_dir: str | Path) -> list[str]:
    """Every province, prefecture, county and township name (English and Chinese) in the regions table."""
    from .io import find_table

    path = find_table(data_dir, "regions")
    cols = [f"{lvl}_name_{lang}" for lvl in ("province", "prefecture", "county", "township") for lang in ("en", "zh")]
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)
        frame = pd.read_parquet(path, columns=[c for c in cols if c in have])
    else:
        from .io import read_raw
        from .schema import table_spec

        frame = read_raw(path, [c["name"] for c in table_spec("regions")["columns"]], "regions").frame
    return [str(v) for c in cols if c in frame.columns for v in pd.unique(frame[c].dropna().astype(str))]


def _background_texts(data_dir: str | Path | None) -> str:
    """Place names of the inputs and every text of the report catalogues: what a report shows anyway."""
    if data_dir is None:
        return _catalogue_texts()
    return _catalogue_texts() + "\n" + "\n".join(_place_names(data_dir))


@functools.lru_cache(maxsize=1)
def _catalogue_texts() -> str:
    """Every text of the report catalogues (en and zh)."""
    from importlib import resources

    from . import registry

    texts = []
    for lang in ("en", "zh"):
        try:
            texts.append(resources.files("evalkit").joinpath(f"report/locale/{lang}.toml").read_text(encoding="utf-8"))
        except (FileNotFoundError, OSError):
            pass
        texts.append("\n".join(registry.texts(lang).values()))  # the indicators' texts, from the registry
    return "\n".join(texts)


def scanner_for(data_dir: str | Path, *, heuristic_names: bool = True) -> Scanner:
    """A :class:`Scanner` for the outputs made from ``data_dir``: every person id of its inputs and
    the names of its roster, less the names a report shows anyway (part of a place name or of the
    report's own texts: they would always be found); those are listed in ``unscanned_names``."""
    places = _place_names(data_dir)
    background = _background_texts(data_dir)
    low = background.lower()
    names, unscanned = [], []
    for n in load_roster(data_dir):
        (unscanned if (n in background or n.lower() in low) else names).append(n)
    scanner = Scanner(input_person_ids(data_dir), names, heuristic_names=heuristic_names, places=places,
                      background=background)
    scanner.unscanned_names = unscanned
    return scanner


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evalkit.privacy plant|scan ...``: plant personal data in a copy of a province, or
    scan outputs (files or folders) for personal data.  Exit status 1 when the scan's expectation fails."""
    ap = argparse.ArgumentParser(prog="python -m evalkit.privacy", description=main.__doc__)
    add_commands(ap.add_subparsers(dest="command", required=True))
    return run(ap.parse_args(argv))


def add_commands(sub) -> None:
    """Add the ``plant`` and ``scan`` commands to an argparse subparsers object (``evalkit`` uses it too)."""
    from .planting import MIN_VALUES, PER_COMMENT

    p = sub.add_parser("plant", help="copy a province folder, planting personal data in its survey comments",
                       description="Copy DATA_DIR to OUT_DIR with a generated corpus of personal data (17 "
                                   "categories: names, phone numbers, identity and bank card numbers, WeChat, QQ, "
                                   "licence plates, e-mail, addresses; evalkit.planting) planted in survey "
                                   "comments of one wave, and the roster names in its roster, for audits.")
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed plants the same values")
    p.add_argument("--values", type=int, default=MIN_VALUES,
                   help=f"the least number of values to plant (default {MIN_VALUES})")
    p.add_argument("--per-comment", type=int, default=PER_COMMENT,
                   help=f"values in one planted comment (default {PER_COMMENT})")
    p.add_argument("--year", type=int, default=None, help="the survey wave to plant in (default the latest)")
    p.add_argument("--planted", help="write the planted values to this JSON file")
    p.set_defaults(command="plant")
    s = sub.add_parser("scan", help="scan output files or folders for personal data and input person ids",
                       description="Scan rendered files (HTML, PDF, notebooks, JSON) or folders for phone and "
                                   "identity numbers, e-mail, addresses, roster names and the inputs' person ids. "
                                   "Exits 1 when the expectation (--expect) fails.")
    s.add_argument("paths", nargs="+")
    s.add_argument("--data", help="the inputs' folder: its person ids and roster names are searched for")
    s.add_argument("--planted", help="the JSON file written by `plant --planted`: report which values were found")
    s.add_argument("--counties", nargs="+", metavar="CODE",
                   help="with --planted: the counties whose planted values must be found (default: those with a "
                        "report among the files, e.g. 090102.html; else all)")
    s.add_argument("--expect", choices=("none", "all"), default="none",
                   help="none (default): fail on any finding; all: fail unless every planted value is found")
    s.add_argument("--json", action="store_true", help="print the findings as JSON lines")
    s.set_defaults(command="scan")


def run(args: argparse.Namespace) -> int:
    """Carry out a ``plant`` or ``scan`` command parsed by :func:`add_commands`."""
    from .planting import Planted, plant

    if args.command == "plant":
        planted = plant(args.data_dir, args.out_dir, args.seed, n=args.values, per_comment=args.per_comment,
                        year=args.year)
        if args.planted:
            planted.to_json(args.planted)
        groups = planted.by_category()
        print(f"planted {len(planted.values)} values of {len(groups)} categories in {len(planted.comments)} comments "
              f"of {len(planted.counties())} counties ({planted.year} wave): {args.out_dir}")
        print("  " + ", ".join(f"{c} {len(vs)}" for c, vs in groups.items()))
        return 0
    t0 = time.perf_counter()
    scanner = scanner_for(args.data) if args.data else Scanner()
    if args.data:
        print(f"searching for {scanner.n_ids:,} person ids ({scanner.skipped_ids:,} too plain to search for) and "
              f"{len(scanner.names):,} roster names ({len(scanner.unscanned_names)} set aside); "
              f"{time.perf_counter() - t0:.1f} s to read them")
    files = []
    for p in map(Path, args.paths):
        files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SCANNED) if p.is_dir() else [p]
    findings, failed, unreadable, t1 = [], [], set(), time.perf_counter()
    for f in files:
        try:
            findings += scanner.file(f)
        except ScanError as err:
            failed.append(str(err))
            unreadable.add(f)
    print(f"scanned {len(files)} files in {time.perf_counter() - t1:.1f} s: {len(findings)} finding(s), "
          f"{len(failed)} unreadable")
    for msg in failed:
        print(f"  unreadable: {msg}")
    for f in findings[:50]:
        print(json.dumps(f.to_dict(), ensure_ascii=False) if args.json else f"  {f}")
    if len(findings) > 50:
        print(f"  ... and {len(findings) - 50} more")
    ok = not failed and (not findings if args.expect == "none" else True)
    if args.planted:
        planted = Planted.from_json(args.planted)
        counties = args.counties or sorted({f.stem for f in files} & set(planted.counties())) or planted.counties()
        wanted = [v for v in planted.values if v.county_code in counties]
        missing = planted.missing(findings, counties, scanner=scanner, files=[f for f in files if f not in unreadable])
        print(f"planted values found: {len(wanted) - len(missing)} of {len(wanted)} "
              f"(in the comments of {len(counties)} counties)")
        for v in missing[:20]:
            print(f"  not found: {v.category} ({v.form}) in county {v.county_code} ({v.respondent_id}): "
                  f"{_mask(v.value)}")
        if len(missing) > 20:
            print(f"  ... and {len(missing) - 20} more")
        if args.expect == "all":
            ok = ok and not missing
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
