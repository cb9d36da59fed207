"""Translation catalogues: every text a reader sees, in English and Simplified Chinese.

The catalogues are ``locale/en.toml`` and ``locale/zh.toml``: nested TOML tables whose leaves are
strings, addressed by dotted keys (``t("page.contents", "zh")``).  Placeholders use
``str.format`` names (``"{county} county report"``).  Both catalogues must hold the same keys with
the same placeholders; ``tests/test_i18n.py`` checks it, so a text added in one language and
forgotten in the other fails the build rather than showing a reader a raw key.  The texts about each
indicator (``indicator_short.<id>``, ``definition.<id>``, ``recommend.<id>``) come from the indicator
registry (``evalkit/indicators.toml``, :func:`evalkit.registry.texts`), merged in here.

>>> t("page.contents", "en")
'Contents'
>>> t("page.contents", "zh")
'目录'
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

from .. import registry

__all__ = ["LANGUAGES", "t", "catalogue", "keys", "placeholders", "html_lang"]

#: Languages a report can be rendered in.
LANGUAGES = ("en", "zh")
_HERE = Path(__file__).with_name("locale")


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All texts of one language as ``{dotted key: text}``: the catalogue file's and the indicator registry's."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    with open(_HERE / f"{lang}.toml", "rb") as fh:
        texts = _flatten(tomllib.load(fh))
    both = sorted(set(texts) & set(registry.texts(lang)))
    if both:  # one place for each text: an indicator's texts live in the registry only
        raise ValueError(f"{_HERE / (lang + '.toml')} holds {', '.join(both)}, which the indicator registry "
                         f"({registry.FILE}) gives: keep them there only")
    return {**texts, **registry.texts(lang)}


def keys(lang: str) -> set[str]:
    """The keys of one catalogue."""
    return set(catalogue(lang))


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders of a catalogue text."""
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def t(key: str, lang: str, /, **values: Any) -> str:
    """The text for ``key`` in ``lang``, with ``values`` filled into its placeholders.

    Raises ``KeyError`` naming the key and the catalogue file when the key is missing: a missing
    text is a bug to fix, never something to paper over with the key itself.
    """
    try:
        text = catalogue(lang)[key]
    except KeyError:
        raise KeyError(f"no text {key!r} in {_HERE / (lang + '.toml')}") from None
    return text.format(**values) if values else text


def html_lang(lang: str) -> str:
    """The HTML ``lang`` attribute for a report language (``zh`` is Simplified Chinese)."""
    return {"en": "en", "zh": "zh-Hans"}[lang]
