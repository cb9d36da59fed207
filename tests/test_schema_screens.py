"""The fast screens of evalkit.schema never change an answer.

Pseudonyms and free text are first screened with pyarrow's character-class kernels, and only the rows
the screen cannot clear go through the regular expressions.  These tests run the expressions on every
row and check that no row the screen cleared would have been refused.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow
import pyarrow.compute as pc

from evalkit import schema

IDS = ["P0000012345", "S2023-090102001-001", "INT0901-05", "Ab.c", "a_b", "abc", "ab", "A" * 64, "A" * 65,
       "11010519491231002X", "X1010519491231002", "110105194912310021", "110105491231002", "13800138000",
       "+8613800138000", "8613800138000", "138-0013-8000", "(010)12345678", "010-12345678", "0101234567",
       "张三", "P张三", "é" * 3, "1abc", "_abc", "-abc", "A b", "abc\n", "A\u202ebc", "x13800138000",
       "a-13800138000", "ab(010)12345678", "Ⅻabc", "ａｂｃ", "٣٣٣", "A٣٣", "", " ", None]


def test_an_id_cleared_by_the_screen_breaks_no_rule():
    text = pd.Series(IDS, dtype="str")
    plain = schema._plain_ids(text)
    refused = pd.concat(schema._personal_or_malformed(text), axis=1).any(axis=1).to_numpy()
    assert not (plain & refused).any(), [v for v, p, r in zip(IDS, plain, refused) if p and r]
    cleared = {v for v, p in zip(IDS, plain) if p}
    assert {"P0000012345", "S2023-090102001-001", "INT0901-05", "A" * 64} <= cleared
    assert not cleared & {"11010519491231002X", "13800138000", "+8613800138000", "(010)12345678", "张三",
                          "A" * 65, "1abc", "_abc"}


def test_printable_ascii_holds_no_refused_character():
    chars = [chr(i) for i in range(0x3000)] + [chr(i) for i in range(0x2066, 0x206a)]
    printable = pc.ascii_is_printable(pyarrow.array(chars)).to_pylist()
    assert sum(printable) == 95  # space to tilde
    for pattern in (schema._UNSAFE, schema._UNSAFE_MULTILINE):
        assert not [c for c, p in zip(chars, printable) if p and re.search(pattern, c)]
    assert re.search(schema._UNSAFE, "\x7f") and not printable[0x7f]
