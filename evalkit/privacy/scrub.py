"""Scrub personal data from free text and decide whether a text may be published (default deny).

:func:`scrub` removes what the detectors of :mod:`evalkit.personal` are sure about, leaving placeholders
(``[phone]``, ``[name]``...); :func:`assess` scrubs and withholds a text any detector is unsure about.  The
kinds and placeholders are listed in :mod:`evalkit.privacy`.

Examples
--------
>>> scrub("社工小刘很好，电话13800138000，我住在人民路12号。")
'社工小[name]很好，电话[phone]，我住在[address]。'
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from ..personal import PLACEHOLDERS, NameIndex, detect_folded, fold

__all__ = ["UNSAFE_NO_SCRUB", "Assessment", "assess", "scrub"]

#: The environment variable that switches scrubbing off (audit's negative control only).
UNSAFE_NO_SCRUB = "EVALKIT_UNSAFE_NO_SCRUB"


# --------------------------------------------------------------------------- scrubbing


def _scrub_one(text: str, names: NameIndex, heuristic_names: bool) -> str:
    for _ in range(5):  # placeholders never match, so a second pass normally finds nothing
        hits = detect_folded(fold(text), names, heuristic_names, numbers=True)
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
    index = names if isinstance(names, NameIndex) else NameIndex(names)

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
    index = names if isinstance(names, NameIndex) else NameIndex(names)
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
                unsure = {h.kind for h in detect_folded(fold(clean), index, True, True, unsure=True)
                          if not h.sure or h.kind != "number"}
                done[t] = Assessment(clean, not unsure, tuple(sorted(unsure)))
        out.append(done[t])
    return out
