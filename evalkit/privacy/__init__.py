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

from .inputs import input_person_ids, load_roster
from .scan import (  # noqa: F401
    Finding, Scanner, file_text, scan_file, scan_text, scan_tree, scanner_for,
)
from .scrub import UNSAFE_NO_SCRUB, Assessment, assess, scrub  # noqa: F401

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
from ..personal import (  # noqa: E402  the one definition of personal data (issue 16)
    KINDS, LANDLINE_PATTERN, MOBILE_PATTERN, PLACEHOLDERS, is_resident_id, resident_id_check_digit,
)
