"""evalkit.privacy: scrubbing free text, scanning outputs for personal data; checking a scan against data planted
by evalkit.planting for an audit.

Every pattern has positives and negatives; the negatives include what real reports are full of
(region codes, dates, counts, decimals in SVG, ids).  The PDF tests print real pages with the
system Chromium (``make test`` installs it); they fail, never skip, without it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from evalkit import cli, privacy
from evalkit.privacy import scan as privacy_scan
from evalkit.errors import DataValidationError, EvalkitError, InputError, PersonalDataFound, ScanError
from evalkit.planting import CATEGORIES, Planted, PlantedValue, as_written, normalise, plant
from evalkit.privacy import (Scanner, is_resident_id, load_roster, resident_id_check_digit, scan_file, scan_text,
                             scanner_for, scrub)
from evalkit.schema import validate_province
from evalkit.synth import _COMMENTS

# GB 11643-1999's own example, and numbers made from it
VALID_ID = "11010519491231002X"
BAD_CHECK = "110105194912310021"


def _id(region: str = "430102", birth: str = "19560312", seq: str = "123") -> str:
    first = region + birth + seq
    return first + resident_id_check_digit(first)


def kinds(text: str, **kw) -> list[str]:
    return [f.kind for f in scan_text(text, **kw)]


# --------------------------------------------------------------------------- resident identity numbers


def test_check_digit_follows_gb_11643():
    assert resident_id_check_digit("11010519491231002") == "X"
    assert is_resident_id(VALID_ID) and is_resident_id(VALID_ID.lower())
    assert not is_resident_id(BAD_CHECK)
    assert is_resident_id(_id()) and len(_id()) == 18
    assert not is_resident_id(_id(birth="19490230"))  # 30 February: the check digit alone is not enough
    assert is_resident_id("110105491231002")  # old 15-digit form: region, YYMMDD, sequence
    assert not is_resident_id("110105491331002")  # month 13
    with pytest.raises(ValueError, match="17 digits"):
        resident_id_check_digit("1234")


def test_schema_uses_the_same_helpers():
    from evalkit import schema

    assert schema.is_resident_id is privacy.is_resident_id
    assert re.fullmatch(privacy.MOBILE_PATTERN, "+8613800138000")
    assert re.fullmatch(privacy.LANDLINE_PATTERN, "(0731)84561234")


@pytest.mark.parametrize("text", [f"身份证{VALID_ID}，", f"ID: {_id()}", f"身份证号 {_id()[:6]} {_id()[6:14]} {_id()[14:]}",
                                  f"{_id(birth='20150101')}", "老证号110105491231002。"])
def test_identity_numbers_are_found(text):
    assert kinds(text) == ["id_number"]
    assert scrub(text).count("[id]") == 1 and not re.search(r"\d{6}", scrub(text))


def test_a_wrong_check_digit_is_scrubbed_and_reported_apart():
    assert kinds(f"身份证{BAD_CHECK}") == ["id_like"]
    assert scrub(f"身份证{BAD_CHECK}") == "身份证[id]"
    # no plausible birth date either: not an identity number at all, but scrub still removes the long number
    assert kinds("订单号 123456789012345678") == []
    assert scrub("订单号 123456789012345678") == "订单号 [number]"


@pytest.mark.parametrize("text", [
    "county 430102, township 430102001, village 430102001001",  # 6/9/12-digit region codes
    "090102 090102001 090102001008 0901 09",
    "2025-09-16, 2023/10/01, 20240315",  # dates
    "2,149,736 yuan; 3,264,100 person-times; 1,933 stations",  # counts with separators
    '<path d="M 0.13812345678 12.110105194912310021 L 3 4"/>',  # decimals in SVG
    "P13800138000 S2025-090102001-001 INT0901-05 L00000001",  # ids with letters
    f"x{VALID_ID}y 1{VALID_ID}",  # inside longer tokens
    "95% (90.9%–96.8%), n = 243, 14 / 14",
])
def test_codes_figures_and_ids_are_not_personal_data(text):
    assert kinds(text) == []


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize("text, detail", [
    ("手机13800138000", "mobile"), ("电话：138 0013 8000。", "mobile"), ("138-0013-8000", "mobile"),
    ("+86 138 0013 8000", "mobile"), ("(+86)19912345678", "mobile"), ("008615912345678", "mobile"),
    ("电话１３８００１３８０００", "mobile"),  # full-width digits
    ("座机0731-84561234", "landline"), ("(010) 6512 3456", "landline"), ("（0731）84561234转123", "landline"),
    ("020-8765 4321 ext. 12", "landline"), ("0746-2345678", "landline"),
])
def test_phones_are_found(text, detail):
    found = scan_text(text)
    assert [(f.kind, f.detail) for f in found] == [("phone", detail)]
    assert "[phone]" in scrub(text) and not re.search(r"\d{4}", scrub(text))


@pytest.mark.parametrize("text", [
    "12800138000", "1380013800", "138001380001",  # 1[3-9], 11 digits exactly
    "0.13800138000", "13800138000.5",  # decimals
    "0901-05", "0731-2025", "2023-12345678",  # not an area code plus a local number
    "073184561234",  # bare: also the shape of a 12-digit village code (scrub removes it as a number)
])
def test_phone_lookalikes_are_not_phones(text):
    assert "phone" not in kinds(text)


def test_scrub_removes_bare_numbers_that_the_scan_leaves():
    assert scrub("号码073184561234") == "号码[phone]"  # issue 16: after a phone cue a bare landline is a phone
    assert scrub("编码073184561234") == "编码[number]"
    assert scrub("本地号码8456123，卡号6222 0212 3456 7890") == "本地号码[number]，卡号[card]"  # a card cue (issue 16)
    assert scrub("本地号码8456123，编号6222 0212 3456 7890") == "本地号码[number]，编号[number]"
    assert scrub("2024年3月15日来过3次，等了20分钟，补贴500元") == "2024年3月15日来过3次，等了20分钟，补贴500元"


# --------------------------------------------------------------------------- e-mail and addresses


@pytest.mark.parametrize("text", ["邮箱 wang.fang@example.com", "mail: Li_Ming+x@mail.example.org.", "ｗａｎｇ＠example.cn"])
def test_emails_are_found(text):
    assert kinds(text) == ["email"]
    assert "[email]" in scrub(text) and "@" not in scrub(text).replace("[email]", "")


@pytest.mark.parametrize("text", ["@media print", "a @ b", "user@localhost", "price@3.5"])
def test_email_lookalikes(text):
    assert kinds(text) == []


@pytest.mark.parametrize("text, address", [
    ("我家住在人民路12号3栋502室，希望上门。", "人民路12号3栋502室"),
    ("住南京西路1266弄3号", "南京西路1266弄3号"),
    ("地址：中山大道88号院", "中山大道88号院"),
    ("幸福小区3栋2单元501室", "幸福小区3栋2单元501室"),
    ("家在桃花村3组15号", "桃花村3组15号"),
    ("五一路十二号", "五一路十二号"),
    ("visit 12 Main Street.", "12 Main Street"),
    ("No. 5, Renmin Road", "No. 5, Renmin Road"),
    ("at 88 Jiefang Lu", "88 Jiefang Lu"),
])
def test_addresses_with_house_numbers_are_found(text, address):
    found = scan_text(text)
    assert [f.kind for f in found] == ["address"]
    assert found[0].matches(address)
    assert scrub(text) == text.replace(address, "[address]")


@pytest.mark.parametrize("text", [
    "我知道12号要开会", "3月12号来的", "社区一组活动", "人民路社工站", "东山街道12个社区", "第3号楼梯",
    "Table 3 shows the stations", "in 2025 Sample Province", "12 townships",
])
def test_address_lookalikes_are_not_addresses(text):
    assert kinds(text) == []


def test_a_figure_before_a_place_name_is_not_an_address():
    text = "Rank 3 Furong Street 95.2%; visit 12 Renmin Road"
    assert kinds(text) == ["address", "address"]
    found = Scanner(places=["Furong Street", "芙蓉街道"]).text(text)
    assert [f.kind for f in found] == ["address"] and found[0].matches("12 Renmin Road")


# --------------------------------------------------------------------------- names


ROSTER = ["张伟", "张伟华", "王芳", "欧阳娜", "Li Ming", "Zhang Wei", "李", "迪丽热巴·迪力木拉提"]


def test_roster_names_longest_first_in_both_scripts():
    assert scrub("张伟华和张伟都来了，王芳没来", ROSTER) == "[name]和[name]都来了，[name]没来"
    assert scrub("call Li Ming or ming li or LI-MING or zhang  wei", ROSTER) == \
        "call [name] or [name] or [name] or [name]"
    assert scrub("迪丽热巴·迪力木拉提来过", ROSTER) == "[name]来过"
    # one character is not a name to look for; a name inside a longer Latin word is not that name
    assert scrub("李子和Liming Road", ROSTER) == "李子和Liming Road"
    found = scan_text("欧阳娜阿姨", names=ROSTER)
    assert [(f.kind, f.detail) for f in found] == [("name", "roster")] and found[0].matches("欧阳娜")


@pytest.mark.parametrize("text, expected", [
    ("张阿姨经常来看我", "[name]阿姨经常来看我"),
    ("李老师讲得很清楚", "[name]老师讲得很清楚"),
    ("王某某没有来", "[name]没有来"),
    ("社工小刘很耐心", "社工小[name]很耐心"),
    ("老王帮了大忙", "老[name]帮了大忙"),
    ("联系人：陈志强，", "联系人：[name]，"),
    ("社工黄丽帮我办了低保", "社工[name]帮我办了低保"),
    ("欧阳老师来过", "[name]老师来过"),
    ("刘姐人很好", "[name]姐人很好"),
])
def test_surnames_next_to_a_cue_are_names(text, expected):
    assert scrub(text) == expected
    assert "name" in kinds(text)


@pytest.mark.parametrize("text", [
    "提高老师的待遇", "谢谢老师", "感谢社工", "照顾老人很辛苦", "养老金不够用", "班主任老师很负责", "每周社工都来",
    "等了二十分钟阿姨才来", "社工马上就来", "社工周末也来", "社工何时能来", "小于一公里", "老毛病又犯了", "社工站人员",
    "小区里的老人", "驻站社工很专业", "老人高兴得很", "社工向居民讲政策", "明白老师的意思", "历史老师", "社工高效",
    "孤寡老人得到照顾", "各位老师辛苦了", "持证社工人数", "女社工态度好",
])
def test_ordinary_sentences_are_not_names(text):
    assert scrub(text) == text
    assert kinds(text) == []


def test_the_sample_comments_are_left_alone():
    assert list(_COMMENTS) == scrub(list(_COMMENTS))
    assert all(scan_text(c) == [] for c in _COMMENTS)


# --------------------------------------------------------------------------- scrub's shapes and switch


def test_scrub_keeps_the_shape_of_its_input():
    assert scrub(None) is None
    assert scrub("电话13800138000") == "电话[phone]"
    assert scrub(("a 13800138000", None, float("nan")))[:2] == ["a [phone]", None]
    s = pd.Series(["电话13800138000", None, "很好"], index=[10, 20, 30], dtype="string")
    out = scrub(s)
    assert out.dtype == s.dtype and list(out.index) == [10, 20, 30]
    assert out[10] == "电话[phone]" and pd.isna(out[20]) and out[30] == "很好"
    obj = scrub(pd.Series(["王芳来过", None], dtype=object), names=["王芳"])
    assert obj.tolist() == ["[name]来过", None]


def test_scrubbing_can_be_switched_off_for_the_audit_only(monkeypatch):
    monkeypatch.setenv("EVALKIT_UNSAFE_NO_SCRUB", "1")
    with pytest.warns(UserWarning, match="NOT scrubbed"):
        assert scrub("电话13800138000") == "电话13800138000"


# --------------------------------------------------------------------------- findings


def test_findings_never_hold_a_whole_value():
    text = f"王芳 13800138000 {VALID_ID} wang.fang@example.com 人民路12号 P0000012345"
    found = scan_text(text, person_ids=["P0000012345"], names=["王芳"], file="r.html")
    assert [f.kind for f in found] == ["name", "phone", "id_number", "email", "address", "person_id"]
    shown = " ".join(str(f) + json.dumps(f.to_dict(), ensure_ascii=False) for f in found)
    for value in ("王芳", "13800138000", VALID_ID, "wang.fang@example.com", "人民路12号", "P0000012345"):
        assert value not in shown
    assert found[1].excerpt.startswith("王* 138******00 110")
    assert set(found[0].to_dict()) == {"file", "kind", "excerpt", "location", "detail"}
    assert found[1].matches("138-0013-8000") and found[1].matches("+86 13800138000")
    assert not found[1].matches("13800138001")
    assert found[0].file == "r.html" and found[0].location == "line 1"


def test_locations_give_the_line():
    found = scan_text("first line\nsecond\nthird has 13800138000")
    assert [f.location for f in found] == ["line 3"]


# --------------------------------------------------------------------------- person ids


def test_person_ids_match_whole_tokens_only():
    ids = ["P0000012345", "S2025-090102001-001", "INT0901-05", "12345678", "7", "abc", "090102"]
    s = Scanner(ids)
    assert s.skipped_ids == 3 and s.n_ids == 4  # "7", "abc" and "090102" cannot be told from words and codes
    text = ("P0000012345. row S2025-090102001-001, INT0901-05; 12345678\n"
            "not: xP0000012345 P00000123456 S2025-090102001-0012 INT0901-050 123456789 7 abc 090102")
    found = s.text(text)
    assert [f.kind for f in found] == ["person_id"] * 4
    assert [f.matches(v) for f, v in zip(found, ids)] == [True] * 4
    assert all(f.location == "line 1" for f in found)


def test_person_ids_joined_by_separators_are_each_found():
    ids = ["P0000012345", "P0000099999", "S2025-090102001-001"]
    s = Scanner(ids)
    text = ("pairs: P0000012345-P0000099999 and P0000099999_S2025-090102001-001.\n"
            "a range P0000012345..P0000099999; not: P0000012345x-S2025-090102001-0012")
    found = s.text(text)  # one finding per id and line
    assert [f.location for f in found] == ["line 1"] * 3 + ["line 2"] * 2
    assert [f.matches(v) for f, v in zip(found, ids + ids[:2])] == [True] * 5


def test_person_id_scan_finds_the_one_id_of_100k_in_a_1mb_page():
    ids = [f"P{i:010d}" for i in range(0, 10_000_000, 100)]  # 100,000 ids
    scanner = Scanner(ids)
    row = "<tr><td>090102001</td><td>S2025-090102001-{:03d}</td><td>P{:010d}</td><td>1,234</td><td>95.2%</td></tr>\n"
    page = "<table>" + "".join(row.format(i % 1000, i * 100 + 1) for i in range(11_000)) + "</table>"
    page += "<p>leak: P0000004200</p>"
    assert len(page) > 1_000_000
    found = scanner.text(page)  # (its speed is a benchmark matter; this is about what it finds)
    assert [f.kind for f in found] == ["person_id"] and found[0].matches("P0000004200")


# --------------------------------------------------------------------------- files


def _font_uri(payload: bytes) -> str:
    return "data:font/woff;base64," + base64.b64encode(payload).decode()


def test_html_scan_reads_text_entities_attributes_scripts_and_comments(tmp_path):
    svg = base64.b64encode("<svg><text>王芳</text></svg>".encode()).decode()
    page = f"""<!doctype html><html><head><style>@font-face {{ src: url({_font_uri(b"13800138000 " * 50)}) }}</style>
    <script>var x = "wang@example.com";</script></head>
    <body><p>电话&#49;&#51;&#56;&#48;&#48;&#49;&#51;&#56;&#48;&#48;&#48;</p>
    <img alt="身份证 {VALID_ID}" src="data:image/svg+xml;base64,{svg}">
    <!-- P0000012345 -->
    <svg><text x="0.13812345678">county 430102001</text></svg></body></html>"""
    path = tmp_path / "r.html"
    path.write_text(page, encoding="utf-8")
    found = scan_file(path, person_ids=["P0000012345"], names=["王芳"])
    got = sorted((f.kind, f.location.split(",")[0]) for f in found)
    assert got == [("email", "line 2"), ("id_number", "line 4"), ("name", "line 4: data:image/svg+xml URI"),
                   ("person_id", "line 5"), ("phone", "line 3")]
    # the font's payload is skipped: "13800138000" 50 times in it is not found
    assert sum(f.kind == "phone" for f in found) == 1


def test_notebook_scan_reads_sources_outputs_and_metadata(tmp_path):
    png = base64.b64encode(b"\x89PNG 13800138000").decode()
    nb = new_notebook(cells=[
        new_markdown_cell("王芳来过"),
        new_code_cell("x = 1  # 13900139000", outputs=[
            new_output("stream", name="stdout", text="wang@example.com\n"),
            new_output("display_data", data={"text/html": f"<b>{VALID_ID}</b>", "image/png": png,
                                             "application/json": {"who": "P0000012345"}, "text/plain": "人民路12号"}),
            new_output("error", ename="ValueError", evalue="bad", traceback=["\x1b[0;31m0731-84561234\x1b[0m"]),
        ]),
    ], metadata={"papermill": {"parameters": {"note": "15912345678"}}})
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    found = scan_file(path, person_ids=["P0000012345"], names=["王芳"])
    got = sorted((f.kind, f.location) for f in found)
    assert got == [
        ("address", "cell 2 output 2 text/plain, line 1"),
        ("email", "cell 2 output 1 text, line 1"),
        ("id_number", "cell 2 output 2 text/html, line 1"),
        ("name", "cell 1 source, line 1"),
        ("person_id", "cell 2 output 2 application/json.who"),
        ("phone", "cell 2 output 3 traceback, line 1"),
        ("phone", "cell 2 source, line 1"),
        ("phone", "metadata.papermill.parameters.note"),
    ]


def test_json_scan_reads_keys_and_values(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"reports": [{"county": "090102", "error": "respondent P0000012345"}],
                                "13800138000": 1, "n": 13900139000, "ok": 3.5}), encoding="utf-8")
    found = scan_file(path, person_ids=["P0000012345"])
    assert sorted((f.kind, f.location) for f in found) == [
        ("person_id", "$.reports[0].error"), ("phone", "$.n"), ("phone", '$["13800138000"] (key)')]


def test_check_raises_before_publishing(tmp_path):
    (tmp_path / "ok.html").write_text("<p>满意率 95%</p>", encoding="utf-8")
    (tmp_path / "bad.html").write_text("<p>王芳 13800138000</p>", encoding="utf-8")
    scanner = Scanner(names=["王芳"])
    scanner.check([tmp_path / "ok.html"])
    with pytest.raises(PersonalDataFound, match=r"2 piece\(s\) of personal data") as err:
        scanner.check([tmp_path / "ok.html", tmp_path / "bad.html"])
    assert [f.kind for f in err.value.findings] == ["name", "phone"]
    assert "13800138000" not in str(err.value) and "王芳" not in str(err.value)
    # temporary files, checked under the names they will be published as
    tmp = tmp_path / ".bad.html.4711.tmp"
    shutil.copy(tmp_path / "bad.html", tmp)
    with pytest.raises(PersonalDataFound) as err:
        scanner.check({"090102.html": tmp})
    assert {f.file for f in err.value.findings} == {"090102.html"}


def test_unknown_or_broken_files_raise(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    with pytest.raises(ScanError, match="does not know '.bin'"):
        scan_file(tmp_path / "x.bin")
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.7 broken")
    with pytest.raises(ScanError, match="cannot be read"):
        scan_file(tmp_path / "x.pdf")
    (tmp_path / "x.json").write_text("{", encoding="utf-8")
    with pytest.raises(ScanError, match="cannot be read"):
        scan_file(tmp_path / "x.json")
    assert issubclass(ScanError, EvalkitError)


def _pdf(html_path: Path, pdf_path: Path) -> Path:
    from evalkit.render import PdfPrinter

    with PdfPrinter() as printer:
        printer.print(html_path, pdf_path)
    return pdf_path


def test_chromium_pdf_with_chinese_is_scanned(tmp_path):
    from evalkit.render import notebook_to_html

    nb = new_notebook(cells=[new_markdown_cell(
        "# 芙蓉区评估报告\n\n满意率为 91.2%，县级代码 430102，乡镇 430102001。\n\n"
        f"王芳阿姨说：我的电话是 138-0013-8000，身份证 {VALID_ID}。\n\n"
        "Write to wang.fang@example.com or visit 12 Renmin Road.")])
    html = tmp_path / "r.html"
    html.write_text(notebook_to_html(nb, lang="zh", title="芙蓉区评估报告 王芳"), encoding="utf-8")
    pdf = _pdf(html, tmp_path / "r.pdf")
    text = "".join(c.text for c in privacy_scan._pdf_chunks(pdf))
    assert "芙蓉区评估报告" in text and "满意率为" in text  # the CJK subset font's text extracts
    found = scan_file(pdf, names=["王芳"])
    assert sorted({f.kind for f in found}) == ["address", "email", "id_number", "name", "phone"]
    assert any(f.kind == "name" and f.location == "document information /Title" for f in found)
    assert {f.location.split(" ")[0] for f in found} <= {"page", "document"}


# --------------------------------------------------------------------------- properties


SURNAMES, GIVEN = "王李张刘陈赵吴徐孙朱", "伟芳娜敏静丽强磊军勇艳杰"
NAMES = [s + g for s in SURNAMES for g in GIVEN]
mobiles = st.builds(lambda p, n, sep: sep.join([f"1{p}{n // 10**8}", f"{n // 10**4 % 10**4:04d}", f"{n % 10**4:04d}"]),
                    st.sampled_from("3456789"), st.integers(0, 10**9 - 1), st.sampled_from(["", " ", "-"]))
id_numbers = st.builds(lambda r, d, q: _id(r, f"{d:%Y%m%d}", f"{q:03d}"),
                       st.sampled_from(["430102", "110105", "090102"]),
                       st.dates(dt.date(1920, 1, 1), dt.date(2015, 12, 31)), st.integers(0, 999))
emails = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,5})?[0-9]{0,3}@example\.(com|org|net)", fullmatch=True)
addresses = st.builds(lambda s, n: f"{s}路{n}号", st.sampled_from(["人民", "解放", "建设", "五一"]), st.integers(1, 999))
planted_values = st.one_of(mobiles, id_numbers, emails, addresses, st.sampled_from(NAMES))
fragments = st.one_of(
    st.sampled_from(_COMMENTS),
    st.text(alphabet="的了很好社工站服务老人孩子希望方便张王李阿姨老师小刘，。！ abcXYZ0123456789-@.", max_size=20),
    planted_values.map(lambda v: f"，{v}，"),
)
texts = st.lists(fragments, max_size=8).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_scrub_is_idempotent_and_leaves_nothing_to_find(text):
    once = scrub(text, NAMES)
    assert scrub(once, NAMES) == once
    assert scan_text(once, names=NAMES) == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_scrub_is_idempotent_on_any_text(text):
    once = scrub(text)
    assert scrub(once) == once
    assert scan_text(once) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(fragments, max_size=4), planted_values, st.lists(fragments, max_size=4))
def test_a_planted_value_is_found_and_then_scrubbed(before, value, after):
    text = "".join(before) + f"，{value}，" + "".join(after)
    found = scan_text(text, names=NAMES)
    assert any(f.matches(value) for f in found), (text, [str(f) for f in found])
    assert scan_text(scrub(text, NAMES), names=NAMES) == []


# --------------------------------------------------------------------------- the roster and planting


def test_roster_is_optional_and_validated(small_province, tmp_path):
    assert load_roster(small_province) == []
    folder = tmp_path / "p"
    shutil.copytree(small_province, folder)
    (folder / "roster.csv").write_text("name\n王芳\n Li  Ming \n王芳\n", encoding="utf-8")
    assert load_roster(folder) == ["Li Ming", "王芳"]
    (folder / "roster.csv").write_text("姓名\n王芳\n", encoding="utf-8")
    with pytest.raises(InputError, match="roster.csv, row 1: has no header row"):
        load_roster(folder)
    # a roster holds names only: another column (a phone!) and an empty name are errors, like in any table
    (folder / "roster.csv").write_text("name,phone\n王芳,13800138000\n,x\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="roster.csv"):
        load_roster(folder)
    _, problems, _, _ = validate_province(folder, today=dt.date(2026, 11, 22))
    assert {(p.rule, p.row) for p in problems if p.file == "roster.csv"} == {("unexpected_column", 1),
                                                                              ("missing_value", 3)}
    assert all(p.value != "13800138000" for p in problems)


@pytest.fixture(scope="module")
def planted(small_province, tmp_path_factory) -> Planted:
    """The audit's corpus (evalkit.planting: 510 values of 17 categories) planted in the small province."""
    return plant(small_province, tmp_path_factory.mktemp("planted") / "data", seed=7)


def test_plant_keeps_the_inputs_valid_and_ids_pseudonymous(planted, small_province):
    typed, problems, _, _ = validate_province(planted.data_dir, today=dt.date(2026, 11, 22))
    assert [str(p) for p in problems if p.severity == "error"] == []
    before = pd.read_parquet(Path(small_province) / "survey.parquet")
    after = typed["survey"]
    assert after["respondent_id"].tolist() == before["respondent_id"].tolist()
    assert after["interviewer_id"].tolist() == before["interviewer_id"].tolist()
    changed = after.set_index("respondent_id")["comment"]
    assert {r: changed[r] for r in planted.comments} == planted.comments
    assert len(planted.counties()) == 4 and len(planted.comments) == 170 and len(planted.values) == 510
    assert list(planted.by_category()) == list(CATEGORIES)
    ids = [re.sub("[^0-9x]", "", normalise(v.value)).upper() for v in planted.by_category()["id_number"]]
    assert ids and all(is_resident_id(i) for i in ids)
    assert set(load_roster(planted.data_dir)) == set(planted.roster)
    assert (Path(planted.data_dir) / "dataset.json").is_file()


def test_plant_is_reproducible_and_refuses_a_used_folder(planted, small_province, tmp_path):
    again = plant(small_province, tmp_path / "again", seed=7)
    assert again.comments == planted.comments and again.values == planted.values  # same values, same rows
    assert plant(small_province, tmp_path / "other", seed=8).comments != planted.comments
    with pytest.raises(EvalkitError, match="not empty"):
        plant(small_province, planted.data_dir, seed=7)


def test_every_planted_value_is_found_until_scrubbed(planted, tmp_path):
    scanner = scanner_for(planted.data_dir)
    assert scanner.unscanned_names == [] and scanner.names.ignored == []
    raw = "\n".join(planted.comments.values())
    findings = scanner.text(raw)
    assert planted.missing(findings, scanner=scanner, texts=[raw]) == []
    # without the text to take values out of, a finding must be the value itself: most are
    assert len(planted.missing(findings)) < len(planted.values) // 20
    clean = scrub(pd.Series(planted.comments), load_roster(planted.data_dir))
    assert scanner.text("\n".join(clean)) == []
    copy = Planted.from_json(planted.to_json(tmp_path / "planted.json"))
    assert copy.values == planted.values and copy.missing(findings, scanner=scanner, texts=[raw]) == []
    # the test can fail: a text without the planted values finds none of them
    assert len(planted.missing(scanner.text("\n".join(clean)), scanner=scanner, texts=["\n".join(clean)])) == 510


def _comment_pages(planted: Planted, folder: Path, comments: pd.Series) -> list[Path]:
    """The comments on a report page: an executed notebook, its HTML and the HTML printed to PDF."""
    from evalkit.render import notebook_to_html

    html = "".join(f"<p>{c}</p>" for c in comments)
    nb = new_notebook(cells=[new_markdown_cell("# 服务对象意见 Comments"), new_code_cell("comments()", outputs=[
        new_output("display_data", data={"text/html": html, "text/plain": "\n".join(comments)})])])
    folder.mkdir()
    nbformat.write(nb, folder / "r.ipynb")
    (folder / "r.html").write_text(notebook_to_html(nb, lang="zh", title="意见"), encoding="utf-8")
    _pdf(folder / "r.html", folder / "r.pdf")
    return [folder / "r.ipynb", folder / "r.html", folder / "r.pdf"]


@pytest.fixture(scope="module")
def rendered(planted, tmp_path_factory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp("rendered")
    comments = pd.Series(planted.comments)
    return {"raw": _comment_pages(planted, folder / "raw", comments),
            "scrubbed": _comment_pages(planted, folder / "scrubbed", scrub(comments, load_roster(planted.data_dir)))}


def _wrapped(value: PlantedValue, pdf: Path) -> bool:
    """Whether the PDF's layout broke ``value`` across two lines."""
    m = as_written(value.value).search(privacy.file_text(pdf))
    return bool(m) and "\n" in m.group()


def test_rendered_comments_are_caught_in_html_pdf_and_notebook_unless_scrubbed(planted, rendered):
    """The audit in small: the 170 planted comments (510 values) shown on a report page, as-is and scrubbed:
    every value is found in the notebook, the HTML and the PDF (also where the PDF's layout wrapped it across
    two lines: the next test), and nothing in their scrubbed forms."""
    scanner = scanner_for(planted.data_dir)
    for path in rendered["scrubbed"]:
        found = scanner.file(path)
        assert found == [], [str(f) for f in found]
    for path in rendered["raw"]:
        missing = planted.missing(scanner.file(path), scanner=scanner, files=[path])
        assert missing == [], (path.name, [(v.category, v.form, v.value) for v in missing])


def test_a_value_the_pdf_layout_wraps_across_lines_is_still_found(planted, rendered):
    """PDFium ends a line with \\r\\n and a browser wraps Chinese anywhere: an address broken as 新华巷 / 80号,
    建设街３８３ / 号 or 芙蓉大道２ / １８号 is still found (the old scan read only the lines as extracted)."""
    scanner = scanner_for(planted.data_dir)
    pdf = rendered["raw"][2]
    wrapped = [v for v in planted.values if _wrapped(v, pdf)]
    assert wrapped  # 170 comments on A4 pages: some values are wrapped
    missing = planted.missing(scanner.file(pdf), values=wrapped, scanner=scanner, files=[pdf])
    assert missing == [], [(v.category, v.form, v.value) for v in missing]


def test_a_pdf_line_wrapped_inside_a_value_is_joined_but_figures_one_a_line_are_not(tmp_path):
    """Narrow boxes make the browser wrap an address, a mobile number written with full-width digits and a
    roster name inside the value: each is found.  A chart's tick labels one a line (0 / 10 / 20 / 20 40 60)
    stay separate figures, not a landline (010-2020-4060)."""
    html = tmp_path / "r.html"
    html.write_text('<html lang="zh"><body style="font: 16px \'Noto Sans CJK SC\'">'
                    '<p style="width: 4em">他住新华巷80号。</p><p style="width: 5em">打１３８００１３８０００。</p>'
                    '<p style="width: 3em">Wang Fang</p>'
                    '<div>0</div><div>10</div><div>20</div><div>20 40 60</div></body></html>', encoding="utf-8")
    pdf = _pdf(html, tmp_path / "r.pdf")
    text = next(c.text for c in privacy_scan._pdf_chunks(pdf) if c.label == "page 1")  # as extracted
    assert "新华巷80号" not in text and "１３８００１３８０００" not in text  # the boxes wrap them
    assert "Wang\r\nFang" in text and "0\r\n10\r\n20\r\n20 40 60" in text
    found = scan_file(pdf, names=["Wang Fang"])
    assert sorted(f.kind for f in found) == ["address", "name", "phone"], [str(f) for f in found]


def test_a_value_a_page_break_cuts_is_still_found(tmp_path):
    """A paragraph that goes on at the top of the next page, cut inside an address: the last line of the page
    and the first of the next (past the page number, ``2 / 2``, that PDFium reads first) are read together."""
    html = tmp_path / "r.html"
    html.write_text('<html lang="zh"><head><style>@page { size: A4; margin: 20mm; @bottom-center { content: '
                    'counter(page) " / " counter(pages) } } body { margin: 0; font: 16px "Noto Sans CJK SC" } '
                    'p { orphans: 1; widows: 1; margin: 0; line-height: 20px; width: 4em }</style></head><body>'
                    '<div style="height: calc(257mm - 30px)"></div><p>他住新华巷80号。</p></body></html>',
                    encoding="utf-8")
    pdf = _pdf(html, tmp_path / "r.pdf")
    pages = [c.text for c in privacy_scan._pdf_chunks(pdf) if c.label.startswith("page ")][::2]  # as extracted
    assert len(pages) == 2 and "新华" in pages[0] and "80号" in pages[1] and pages[1].startswith("2 / 2")
    found = scan_file(pdf)
    assert [(f.kind, f.location) for f in found] == [("address", "pages 1–2")], [str(f) for f in found]


# --------------------------------------------------------------------------- real reports


def test_a_real_batch_has_no_findings(small_batch, small_province):
    """Every HTML, PDF, Word, notebook and JSON file a batch wrote, against every person id of its inputs."""
    scanner = scanner_for(small_province)
    assert scanner.n_ids > 10_000
    files = sorted(p for p in small_batch.rglob("*") if p.suffix in (".html", ".pdf", ".docx", ".ipynb", ".json"))
    assert {p.suffix for p in files} >= {".html", ".pdf", ".docx", ".ipynb", ".json"}
    findings = [f for p in files for f in scanner.file(p)]
    assert findings == [], "\n".join(map(str, findings[:20]))


def test_command_line_plant_and_scan(small_province, tmp_path, capsys):
    out = tmp_path / "data"
    assert cli.main(["plant", str(small_province), str(out), "--seed", "2", "--planted",
                     str(tmp_path / "planted.json")]) == 0
    printed = capsys.readouterr().out
    assert "planted 510 values of 17 categories in 170 comments of 4 counties" in printed
    planted = Planted.from_json(tmp_path / "planted.json")
    assert planted.values == plant(small_province, tmp_path / "api", seed=2).values  # the same as evalkit.planting
    page = tmp_path / "site" / "r.html"
    page.parent.mkdir()
    page.write_text("<p>" + "</p><p>".join(planted.comments.values()) + "</p>", encoding="utf-8")
    args = ["scan", str(page.parent), "--data", str(out), "--planted", str(tmp_path / "planted.json")]
    assert cli.main([*args, "--expect", "all"]) == 0
    assert cli.main(args) == 1  # default: any finding fails
    printed = capsys.readouterr().out
    assert re.search(r"planted values found: 510 of 510 \(in the comments of 4 counties\)", printed)
    # one county's comments on its own page: its values are the ones that must be found
    county = planted.counties()[0]
    page.write_text("<p>" + "</p><p>".join(planted.comments[v.respondent_id] for v in planted.values
                                           if v.county_code == county) + "</p>", encoding="utf-8")
    page.rename(page.with_name(f"{county}.html"))
    ours = sum(v.county_code == county for v in planted.values)
    assert cli.main([*args, "--expect", "all"]) == 0
    assert f"planted values found: {ours} of {ours} (in the comments of 1 counties)" in capsys.readouterr().out
    page.with_name(f"{county}.html").write_text("<p>clean</p>", encoding="utf-8")
    assert cli.main(args) == 0
    assert cli.main([*args, "--expect", "all"]) == 1
    printed = capsys.readouterr().out
    assert f"planted values found: 0 of {ours}" in printed and re.search(rf"not found: \w+ \(\w+\) in county {county} ", printed)
