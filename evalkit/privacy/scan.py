"""Scan rendered outputs (HTML, PDF, executed notebooks, JSON, text) for personal data and the inputs' person ids.

:class:`Scanner` finds what the detectors of :mod:`evalkit.personal` are sure about and every person id of
the inputs, precisely enough that a real report's region codes, counts and figures never trip it; the
text of each kind of file is read here too (HTML text and attributes, ``data:`` URIs, notebook outputs,
PDF text through PDFium).  :func:`scanner_for` builds one for a province's inputs (:mod:`evalkit.results` caches it, once per
set of inputs).  The kinds found are listed in
:mod:`evalkit.privacy`.

Examples
--------
>>> [f.kind for f in scan_text("call 138-0013-8000 or 11010519491231002X", file="x.txt")]
['phone', 'id_number']
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import unquote

import numpy as np
import pandas as pd

from ..errors import PersonalDataFound, ScanError
from ..personal import HAN, Hit, NameIndex, detect_folded, fold, normalise
from .inputs import background_texts, input_person_ids, load_roster, place_names

__all__ = ["Finding", "Scanner", "file_text", "scan_file", "scan_text", "scan_tree", "scanner_for"]

# --------------------------------------------------------------------------- findings

_KEY = secrets.token_bytes(32)  # digests mean something only inside this process


def _normal(kind: str, value: str) -> str:
    v = normalise(value).text if kind != "person_id" else fold(value)  # 一三八… as 138…
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


def mask_value(value: str) -> str:
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

# a run of these characters with a digit in it, matched from the run's start only (the same tokens as
# [A-Za-z0-9_.-]*[0-9][A-Za-z0-9_.-]*, which tried every position of a word without a digit)
_ID_TOKEN = re.compile(r"(?<![A-Za-z0-9_.\-])[A-Za-z_.\-]*[0-9][A-Za-z0-9_.\-]*")
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
        # the lengths of the ids: only a piece of text of one of them can be one (most of a page's tokens are
        # figures, far shorter than any id)
        self._id_lengths = frozenset(int(n) for n in ids[strong].str.len().unique())
        self.names = names if isinstance(names, NameIndex) else NameIndex(names)
        self.heuristic_names = heuristic_names
        self.places = {" ".join(str(p).split()).lower() for p in places if str(p).strip()}
        #: What a report shows anyway (place names, the catalogues' texts): a segmenter's or pinyin name
        #: found in it is not reported (``張家界`` is a place, ``Ning Xiang`` a county).
        self.background = background_texts(None) if background is None else background
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
        lengths = self._id_lengths
        shortest = min(lengths)
        for m in _ID_TOKEN.finditer(text):  # the token, and the token without its end punctuation ("P123.")
            tok = m.group()
            if len(tok) < shortest:  # nor is any piece of it
                continue
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
        spans = [sp for sp in spans if sp[1] - sp[0] in lengths]
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
        folded = fold(text)
        hits = detect_folded(folded, self.names, self.heuristic_names, numbers=False)
        if self.places:  # "3 Furong Street": a figure before a township's name, not an address
            hits = [h for h in hits if h.kind != "address" or
                    " ".join(_HOUSE_NUMBER.sub("", folded[h.start:h.end]).split()).lower() not in self.places]
        hits = [h for h in hits if h.kind != "name" or not h.detail.startswith(("segmenter", "pinyin", "name slot"))
                or not self._in_background(folded[h.start:h.end])]
        hits += [Hit(s, e, "person_id", "input person id") for s, e in self._id_spans(folded)]
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
            if path.is_file() and path.suffix.lower() in SCANNED_SUFFIXES:
                out.extend(self.file(path))
        return out


_HOUSE_NUMBER = re.compile(r"^(?:No\.?[ \t]*)?[0-9]{1,5}[A-Za-z]?,?[ \t]+")
#: The file suffixes that a scan of a folder reads.
SCANNED_SUFFIXES = (".html", ".htm", ".svg", ".xml", ".xhtml", ".ipynb", ".pdf", ".json", ".txt", ".md", ".csv", ".tsv",
                    ".log", ".docx")


def _file_chunks(path: Path, label: str) -> list[_Chunk]:
    """The pieces of text the scan reads in a file, by the suffix of ``label`` (:meth:`Scanner.file`)."""
    suffix = Path(label).suffix.lower()
    try:
        if suffix == ".pdf":
            return _pdf_chunks(path)
        if suffix == ".docx":
            return _docx_chunks(path)
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
    page's source, text and attribute values, a notebook's sources and text outputs, a PDF's page text
    (as extracted, then with the layout's line breaks taken out) and the seams between pages.

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


def _excerpt(text: str, lo: int, hi: int, hits: list[Hit], starts: list[int]) -> str:
    """``text[lo:hi]`` (widened to whole findings) with every finding in it masked, on one line."""
    inside = [h for h in hits[bisect.bisect_left(starts, lo - 100):bisect.bisect_left(starts, hi)]
              if h.end > lo and h.start < hi]
    if inside:
        lo, hi = min(lo, inside[0].start), max(hi, max(h.end for h in inside))
    parts, at = [], lo
    for h in inside:
        if h.start >= at:
            parts += [text[at:h.start], mask_value(text[h.start:h.end])]
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
    text MIME type, streams, tracebacks) and all metadata.  PDF: the extracted text of every page, and
    the same again with the line breaks of the layout taken out (none beside Chinese, a space between
    Latin words; kept between two figures), so that a value the layout wrapped across lines is found,
    and each page's last line joined to the next page's first (a paragraph cut by a page break); the
    document information and link targets.  See :meth:`Scanner.file`.

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


# A line break of a PDF's text (PDFium ends lines with \r\n).  Where Chinese (or a full-width form, CJK
# punctuation) stands on either side, a browser breaks a line where the text has no space (新华巷 / 80号,
# 芙蓉大道２ / １８号): nothing.  Between Latin words it stands for the space it replaced.  Between two
# (ASCII) figures it stays: a browser never wraps a line inside a number, so they are two figures (a
# chart's tick labels one a line, ``0 / 10 / 20``, are not a phone number).
_CJK = f"{HAN}\u3000-\u303f\uff00-\uffef"
_CJK_WRAP = re.compile(rf"(?<=[{_CJK}])[ \t]*\n[ \t]*|[ \t]*\n[ \t]*(?=[{_CJK}])")
_LATIN_WRAP = re.compile(r"\n(?![0-9])|(?<![0-9])\n")


def _unwrapped(text: str) -> str:
    r"""A PDF page's text with the line breaks of its layout taken out where a value may go on: none
    between Chinese (or Chinese and anything else), a space between Latin words, a line break between
    figures; a value that the layout wrapped reads whole again.

    >>> _unwrapped("到了和平\r\n路１９２号 and 12\r\nRenmin Road, 1\r\n2")
    '到了和平路１９２号 and 12 Renmin Road, 1\n2'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _LATIN_WRAP.sub(" ", _CJK_WRAP.sub("", text))


#: A line that is only a page number (``3 / 10``, ``- 3 -``, ``Page 3 of 10``, ``第3页 共10页``; PDFium may cut
#: it in two).
_PAGE_NUMBER = re.compile(r"(?:page|of|第|页|共|[\s0-9/|.\-–—])*", re.IGNORECASE)


def _page_seams(pages: list[str]) -> list[_Chunk]:
    r"""Where a paragraph goes on from one page to the next: the last line of each page joined to the first
    line of the next (:func:`_unwrapped`), labelled ``pages N–N+1``, passing over lines that are only a
    page number (PDFium reads the page's footer first).

    >>> [c.text for c in _page_seams(["1 / \r\n2\r\n他住新华\r\n", "2 / 2\r\n巷80号。"])]
    ['他住新华巷80号。']
    """
    body = [[line for line in p.replace("\r\n", "\n").replace("\r", "\n").split("\n")
             if not _PAGE_NUMBER.fullmatch(line)] for p in pages]
    return [_Chunk(_unwrapped(f"{body[n][-1]}\n{body[n + 1][0]}"), f"pages {n + 1}–{n + 2}")
            for n in range(len(pages) - 1) if body[n] and body[n + 1]]


#: Attributes of a Word file's XML that name fonts (宋体 reads as a person's name): not scanned.
_DOCX_FONT_ATTRS = frozenset({"typeface", "panose"})
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#: WordprocessingML (``w:``) attributes that can hold text (authors, tooltips, bookmark names, content
#: controls' tags), with the elements they hold it on (``None``: any); the others of that namespace are
#: formatting (sizes, colours, style ids, font names) and are not scanned.
_DOCX_TEXT_ATTRS = {"author": None, "initials": None, "tooltip": None, "anchor": None,
                    "name": ("bookmarkStart",), "val": ("tag", "alias")}


def _docx_chunks(path: Path) -> list[_Chunk]:
    """The text of a Word file: every XML part of the package (document, headers, footers, notes, comments,
    properties, relationships): its text and the attribute values that can hold text (pictures'
    descriptions, link targets, authors), less the names of fonts; and the text of each paragraph with its
    runs joined (Word splits a word across runs freely)."""
    import zipfile

    from lxml import etree

    out: list[_Chunk] = []
    w_ns, w_p = f"{{{_W_NS}}}", f"{{{_W_NS}}}p"
    w_texts = (f"{{{_W_NS}}}t", f"{{{_W_NS}}}instrText", f"{{{_W_NS}}}delText")
    whole: set = set()  # text elements that are all of their paragraph's text
    try:
        with zipfile.ZipFile(path) as package:
            for info in package.infolist():
                name = info.filename
                if not name.lower().endswith((".xml", ".rels")):
                    continue  # pictures and fonts: no text of the report
                root = etree.fromstring(package.read(name), etree.XMLParser(resolve_entities=False, huge_tree=True))
                for el in root.iter():
                    tag = el.tag
                    if not isinstance(tag, str):
                        continue  # comments and processing instructions
                    local = tag[tag.rfind("}") + 1:]
                    for attr, value in el.items():
                        if attr.startswith(w_ns):  # WordprocessingML: formatting, but for the attributes of text
                            where = _DOCX_TEXT_ATTRS.get(attr[len(w_ns):], ())
                            if where is not None and local not in where:
                                continue
                        elif attr[attr.rfind("}") + 1:] in _DOCX_FONT_ATTRS:
                            continue
                        if value.strip():
                            out.append(_Chunk(value, f"{name}, attribute {attr[attr.rfind('}') + 1:]} of {local}",
                                              None, name))
                    for text in (el.text if el not in whole else None, el.tail):
                        if text and text.strip():
                            out.append(_Chunk(text, name, None, name))
                    if tag == w_p:
                        texts = list(el.iter(*w_texts))
                        joined = "".join(t.text or "" for t in texts)
                        if joined.strip():
                            out.append(_Chunk(joined, f"{name}, paragraph", None, name))
                            if len(texts) == 1:  # a paragraph of one run: its text is read once, as the paragraph
                                whole.add(texts[0])
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, OSError) as err:
        raise ScanError(f"{path}: the Word file cannot be read for the privacy scan ({type(err).__name__}: {err}); "
                        "treat it as failed.") from err
    return out


def _pdf_chunks(path: Path) -> list[_Chunk]:
    """The text of every page twice, as extracted (lines end with ``\\r\\n``) and with the line breaks of
    its layout taken out (:func:`_unwrapped`: a value the layout wrapped, 新华巷 / 80号, reads whole), both
    labelled ``page N`` (a value found in both is one finding); the last line of each page joined to the first
    of the next (:func:`_page_seams`, ``pages N–N+1``); the document information and link targets.  Text
    through PDFium (pypdfium2): a report's PDF in about 0.1 s, where a pure-Python parser took over a
    second."""
    try:
        import pypdfium2 as pdfium
    except ImportError as err:  # pragma: no cover - pypdfium2 is a dependency
        raise ScanError(f"{path}: scanning PDFs needs pypdfium2 (`pip install pypdfium2`).") from err
    try:
        raw = Path(path).read_bytes()
        pdf = pdfium.PdfDocument(raw)
        try:
            out = [_Chunk(str(v), f"document information /{k}") for k, v in pdf.get_metadata_dict().items() if v]
            pages = []
            for n in range(len(pdf)):
                page = pdf[n]
                textpage = page.get_textpage()
                pages.append(textpage.get_text_range())
                out.append(_Chunk(pages[-1], f"page {n + 1}"))
                out.append(_Chunk(_unwrapped(pages[-1]), f"page {n + 1}"))  # the same label: found in both, once
                textpage.close()
                page.close()
            out += _page_seams(pages)
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


def scanner_for(data_dir: str | Path, *, heuristic_names: bool = True) -> Scanner:
    """A :class:`Scanner` for the outputs made from ``data_dir``: every person id of its inputs and
    the names of its roster, less the names a report shows anyway (part of a place name or of the
    report's own texts: they would always be found); those are listed in ``unscanned_names``."""
    places = place_names(data_dir)
    background = background_texts(data_dir)
    low = background.lower()
    names, unscanned = [], []
    for n in load_roster(data_dir):
        (unscanned if (n in background or n.lower() in low) else names).append(n)
    scanner = Scanner(input_person_ids(data_dir), names, heuristic_names=heuristic_names, places=places,
                      background=background)
    scanner.unscanned_names = unscanned
    return scanner


