"""A generated corpus of personal data, planted in a copy of a province for the privacy audit.

:func:`corpus` makes at least 500 synthetic values of every category of personal data that issue 16
asks the detectors to find, each written the ways people really write it: with ASCII and full-width
spaces between the characters, full-width digits and letters, dots, dashes and Chinese punctuation,
``点`` and ``at`` in e-mail addresses, Chinese numerals in phone numbers.  :func:`plant` copies a
province folder and writes the corpus into survey comments of its latest wave (a few values a
comment), and the roster names into the copy's roster; :mod:`evalkit.audit` renders the copy and
measures what reaches a page and what the scan finds, per category.

Categories (``category`` of a :class:`PlantedValue`; ``kind`` is the personal-data kind it belongs to):

=======================  ==========  ===========================================================
category                 kind        forms
=======================  ==========  ===========================================================
``name_roster``          name        a name listed in the copy's roster (Chinese or pinyin)
``name_bare``            name        a Chinese name with no title and no roster entry
``name_spaced``          name        the same, its characters apart (ASCII or full-width spaces)
``name_pinyin``          name        a pinyin name not in the roster, in any order and case
``phone_mobile``         phone       11 digits plain, +86, spaces, dashes, dots, full-width
``phone_landline``       phone       area code apart, in brackets, dotted, with an extension
``phone_zh_numerals``    phone       a mobile number in Chinese numerals (幺 for 1 too), or mixed
``id_number``            id_number   18 characters with a valid check digit: plain, spaced, full-width
``wechat``               wechat      a WeChat id after 微信 / VX / v信 / WeChat
``qq``                   qq          a QQ number after QQ / 扣扣 / 企鹅号
``licence_plate``        plate       a Chinese licence plate (ordinary and new-energy), with ·, space, -
``bank_card``            bank_card   a 16-19 digit UnionPay card number with a valid Luhn digit
``email``                email       plain, full-width ＠, Chinese 。, ``at``/``dot``, 点, (at)
``address_street``       address     street and house number: 人民路12号3栋502室, 解放大道 88 号
``address_village``      address     village and group: 桃花村3组15号, 李家村五组
``address_estate``       address     estate, building, unit, room: 幸福小区3栋2单元501室, 2单元302室
``address_en``           address     12 Renmin Road
=======================  ==========  ===========================================================

Every value is synthetic (random digits, example domains, names drawn from common surnames and given
names and checked to appear in no place name or report text of the province); keep planted copies
out of git all the same.  ``evalkit plant`` runs :func:`plant`, and ``evalkit scan --planted`` checks a
scan of rendered outputs against what was planted (:meth:`Planted.missing`).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from .errors import EvalkitError
from .personal import luhn_ok, resident_id_check_digit

__all__ = ["CATEGORIES", "PlantedValue", "Planted", "as_written", "corpus", "plant", "normalise"]

#: Category -> the kind of personal data it is (what the report's reasons and the audit's tables name).
CATEGORIES: dict[str, str] = {
    "name_roster": "name", "name_bare": "name", "name_spaced": "name", "name_pinyin": "name",
    "phone_mobile": "phone", "phone_landline": "phone", "phone_zh_numerals": "phone",
    "id_number": "id_number", "wechat": "wechat", "qq": "qq", "licence_plate": "plate", "bank_card": "bank_card",
    "email": "email", "address_street": "address", "address_village": "address", "address_estate": "address",
    "address_en": "address",
}

#: At least this many values are planted (issue 16).
MIN_VALUES = 500
#: Values in one planted comment.
PER_COMMENT = 3


@dataclass(frozen=True)
class PlantedValue:
    """One planted value: its category, the form it was written in, the value as written, and the
    sentence (``carrier``, with ``{v}`` where the value goes) it was written in.  ``county_code`` and
    ``respondent_id`` say where it went (empty until :func:`plant` places it)."""

    category: str
    form: str
    value: str
    carrier: str
    county_code: str = ""
    respondent_id: str = ""

    @property
    def kind(self) -> str:
        """The kind of personal data (:data:`CATEGORIES`)."""
        return CATEGORIES[self.category]

    def sentence(self) -> str:
        """The value in its sentence, as written into the comment."""
        return self.carrier.replace("{v}", self.value)


@dataclass
class Planted:
    """What :func:`plant` put into a copy of a province (synthetic values; keep them out of git).

    Attributes
    ----------
    data_dir : str
        The planted copy.
    values : list of PlantedValue
        Every planted value, with its county and respondent.
    roster : list of str
        The names written to the copy's roster.
    comments : dict
        Respondent id -> the planted comment.
    year : int
        The wave the comments were planted in.
    """

    data_dir: str
    values: list[PlantedValue]
    roster: list[str] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)
    year: int = 0

    def by_category(self) -> dict[str, list[PlantedValue]]:
        """Planted values grouped by category, in the order of :data:`CATEGORIES`."""
        out: dict[str, list[PlantedValue]] = {c: [] for c in CATEGORIES}
        for v in self.values:
            out[v.category].append(v)
        return {c: vs for c, vs in out.items() if vs}

    def counties(self) -> list[str]:
        """The counties whose survey got planted comments."""
        return sorted({v.county_code for v in self.values if v.county_code})

    def missing(self, findings: Iterable[Any], counties: Iterable[str] | None = None, *,
                values: Iterable[PlantedValue] | None = None, scanner: Any = None,
                files: Iterable[str | Path] = (), texts: Iterable[str] = ()) -> list[PlantedValue]:
        """Planted values the scan did not find: an empty list means it found every one.

        A value is found when a finding is that value (:meth:`evalkit.privacy.Finding.matches`, whatever
        its kind), or, given the ``scanner`` and what it scanned (``files``, ``texts``), when taking the
        value out of a file or text that holds it makes the scan of that file or text give fewer findings:
        the scan found the value whatever span it gave the finding (a finding's digest matches the value
        only when its span is exactly the value, not ``社工罗 静人`` for ``罗 静``).  The value is taken out
        however the page writes it (:func:`as_written`: a PDF's line wrapped inside it, full-width forms).  This is the audit's
        test (:mod:`evalkit.audit`, run 3) and ``evalkit scan --planted``'s.

        Parameters
        ----------
        findings : iterable of evalkit.privacy.Finding
            The scan's findings, made in this process (their digests are keyed).
        counties : iterable of str, optional
            Only the values planted in these counties (default all).
        values : iterable of PlantedValue, optional
            Only these values (default all, or those of ``counties``).
        scanner : evalkit.privacy.Scanner, optional
            The scanner that made ``findings``: without it, only the findings' digests are compared.
        files : iterable of path
            The files it scanned (HTML, notebooks, PDF, JSON, text): a value is taken out of those whose
            text holds it as written.
        texts : iterable of str
            The texts it scanned (:meth:`evalkit.privacy.Scanner.text`).

        Returns
        -------
        list of PlantedValue
            In planting order.
        """
        from .privacy import file_text

        findings = list(findings)
        wanted = None if counties is None else set(counties)
        pool = self.values if values is None else list(values)
        files, texts = [Path(f) for f in files], list(texts)
        read: dict[Path, str] = {}
        counts: dict[Any, int] = {}

        def fewer(source: Any, value: str) -> bool:
            pattern = as_written(value)
            if isinstance(source, Path):
                if source not in read:
                    read[source] = file_text(source)
                if not pattern.search(read[source]):
                    return False
                if source not in counts:
                    counts[source] = len(scanner.file(source))
                return len(scanner.file(source, without=pattern)) < counts[source]
            if not pattern.search(source):
                return False
            if id(source) not in counts:
                counts[id(source)] = len(scanner.text(source))
            return len(scanner.text(pattern.sub("", source))) < counts[id(source)]

        out = []
        for v in pool:
            if wanted is not None and v.county_code not in wanted:
                continue
            if any(f.matches(v.value) for f in findings):
                continue
            if scanner is not None and any(fewer(src, v.value) for src in [*texts, *files]):
                continue
            out.append(v)
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the planted values to ``path`` (JSON)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data_dir": self.data_dir, "year": self.year,
                                    "values": [asdict(v) for v in self.values],
                                    "roster": self.roster, "comments": self.comments},
                                   ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> Planted:
        """Read what :meth:`to_json` wrote."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(d["data_dir"], [PlantedValue(**v) for v in d["values"]], d["roster"], d["comments"], d["year"])


def normalise(text: str) -> str:
    """``text`` as compared for a literal leak: full-width forms folded to ASCII (NFKC), all white space
    (ASCII, full-width, no-break) removed and lower case, so that a value is found however a page wraps
    or spaces it."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def as_written(value: str) -> re.Pattern:
    r"""A pattern for ``value`` however a page may write it: any white space (none, spaces, full-width
    spaces, a line break where a PDF wrapped it) between its characters, each character in its ASCII or
    full-width form (NFKC), any case.

    >>> bool(as_written("罗\u3000静").search("社工罗 静人"))
    True
    >>> as_written("和平路192号").sub("", "到了和平\r\n路１９２号附近")
    '到了附近'
    """
    import unicodedata

    parts = []
    for ch in "".join(unicodedata.normalize("NFKC", value).split()):
        forms = {ch, chr(ord(ch) + 0xFEE0)} if ch.isascii() and ch.isalnum() else {ch}
        parts.append("[" + "".join(re.escape(f) for f in sorted(forms)) + "]" if len(forms) > 1 else re.escape(ch))
    return re.compile(r"\s*".join(parts), re.IGNORECASE)


# --------------------------------------------------------------------------- the values

_SURNAMES = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
             ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"), ("徐", "Xu"), ("孙", "Sun"),
             ("胡", "Hu"), ("朱", "Zhu"), ("高", "Gao"), ("林", "Lin"), ("何", "He"), ("郭", "Guo"),
             ("马", "Ma"), ("罗", "Luo"), ("梁", "Liang"), ("宋", "Song"), ("郑", "Zheng"), ("谢", "Xie"),
             ("韩", "Han"), ("唐", "Tang"), ("冯", "Feng"), ("于", "Yu"), ("董", "Dong"), ("萧", "Xiao"),
             ("曹", "Cao"), ("彭", "Peng"), ("曾", "Zeng"), ("蒋", "Jiang"), ("欧阳", "Ouyang"), ("司马", "Sima")]
_GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("秀英", "xiuying"),
          ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("艳", "yan"), ("杰", "jie"),
          ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀兰", "xiulan"), ("霞", "xia"),
          ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("建国", "jianguo"), ("建华", "jianhua"),
          ("志强", "zhiqiang"), ("丽华", "lihua"), ("海燕", "haiyan"), ("春梅", "chunmei"), ("国强", "guoqiang"),
          ("玉兰", "yulan"), ("淑珍", "shuzhen"), ("德明", "deming"), ("红霞", "hongxia")]
_STREETS = [("人民", "Renmin"), ("解放", "Jiefang"), ("建设", "Jianshe"), ("中山", "Zhongshan"), ("胜利", "Shengli"),
            ("朝阳", "Chaoyang"), ("五一", "Wuyi"), ("芙蓉", "Furong"), ("新华", "Xinhua"), ("和平", "Heping")]
_VILLAGES = ["桃花", "李家", "王家湾", "石门", "柳树", "白沙", "青山", "大塘", "新安", "杨柳"]
_ESTATES = ["幸福小区", "金色家园", "阳光花园", "锦绣公寓", "和谐新村", "翠湖苑", "滨江大厦", "书香家园"]
_REGIONS = ["430102", "430104", "430111", "430602", "431121", "110105", "440305", "510104"]
_AREAS = ["0731", "0730", "0746", "010", "020", "0739", "0755"]
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on plates
_ZH_DIGITS = "零一二三四五六七八九"
_SPACES = (" ", "\u3000")  # ASCII and full-width (ideographic) space


def _fullwidth(s: str) -> str:
    """ASCII digits and letters as their full-width forms (０-９, Ａ-Ｚ, ａ-ｚ)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in s)


def _groups(s: str, sizes: tuple[int, ...], sep: str) -> str:
    out, at = [], 0
    for n in sizes:
        out.append(s[at:at + n])
        at += n
    if at < len(s):
        out.append(s[at:])
    return sep.join(p for p in out if p)


def _luhn_digit(body: str) -> str:
    """The check digit that makes ``body`` + digit pass the Luhn check (:func:`evalkit.personal.luhn_ok`)."""
    return next(d for d in "0123456789" if luhn_ok(body + d))


def _zh_number(n: int) -> str:
    """1-99 in Chinese numerals (十二, 五, 三十)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _ZH_DIGITS[tens]) + "十" if tens else "") + (_ZH_DIGITS[ones] if ones or not tens else "")


class _Maker:
    """Makes the values of each category from one random generator (same seed, same corpus)."""

    def __init__(self, rng: np.random.Generator, background: str):
        self.rng, self.background, self.low = rng, background, background.lower()
        self.used: set[str] = set()

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def digits(self, n: int) -> str:
        return "".join(str(int(d)) for d in self.rng.integers(0, 10, n))

    def mobile(self) -> str:
        return "1" + self.pick("3456789") + self.digits(9)

    def name(self) -> tuple[str, str]:
        """A new (Chinese, pinyin) name that is in no place name or report text and not used before."""
        for _ in range(10_000):
            sur, given = self.pick(_SURNAMES), self.pick(_GIVEN)
            zh, py = sur[0] + given[0], f"{sur[1]} {given[1].capitalize()}"
            if zh in self.used or zh in self.background or py.lower() in self.low \
                    or py.lower().replace(" ", "") in self.low:
                continue
            self.used.add(zh)
            return zh, py
        raise EvalkitError("could not find an unused synthetic name for the audit corpus")

    # each maker returns (form, value, carrier); the carrier holds {v} where the value goes

    def name_roster(self, i: int):
        zh, py = self.name()
        form = ("chinese", "pinyin")[i % 2]
        return form, (zh if form == "chinese" else py), self.pick(["社工{v}很负责。", "{v}经常来看我。", "多亏了{v}帮忙。"])

    def name_bare(self, i: int):
        zh, _ = self.name()
        return "chinese", zh, self.pick(["{v}说补助下个月到。", "谢谢{v}，服务很好。", "我是{v}，想反映个情况。",
                                         "找{v}办的手续。"])

    def name_spaced(self, i: int):
        zh, _ = self.name()
        sep = _SPACES[i % 2]
        form = ("ascii_space", "fullwidth_space")[i % 2]
        return form, sep.join(zh), self.pick(["{v}说补助下个月到。", "谢谢{v}的帮助。", "社工{v}人很好。"])

    def name_pinyin(self, i: int):
        _, py = self.name()
        sur, given = py.split(" ")
        forms = [("surname_first", f"{sur} {given}"), ("upper_surname", f"{sur.upper()} {given}"),
                 ("given_first", f"{given} {sur}"), ("lower", f"{sur.lower()} {given.lower()}")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["Thanks to {v} for the help.", "{v} visited us twice.", "请找 {v} 联系。"])

    def phone_mobile(self, i: int):
        m = self.mobile()
        forms = [("plain", m), ("plus86", "+86 " + m), ("spaced", _groups(m, (3, 4, 4), " ")),
                 ("dashed", _groups(m, (3, 4, 4), "-")), ("dotted", _groups(m, (3, 4, 4), ".")),
                 ("fullwidth", _fullwidth(m)), ("fullwidth_space", _groups(m, (3, 4, 4), "\u3000")),
                 ("digit_spaced", " ".join(m))]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["有事打{v}。", "电话：{v}", "手机{v}，随时联系。", "联系电话 {v} 。"])

    def phone_landline(self, i: int):
        area, local = self.pick(_AREAS), str(int(self.rng.integers(2, 10))) + self.digits(7)
        forms = [("dashed", f"{area}-{local}"), ("brackets", f"({area}) {local[:4]} {local[4:]}"),
                 ("dotted", f"{area}.{local[:4]}.{local[4:]}"), ("extension", f"{area}-{local}转{self.digits(3)}"),
                 ("fullwidth_brackets", f"（{_fullwidth(area)}）{_fullwidth(local)}")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["家里座机{v}。", "办公室电话{v}，白天有人。", "固话：{v}"])

    def phone_zh_numerals(self, i: int):
        m = self.mobile()
        zh = "".join(_ZH_DIGITS[int(d)] for d in m)
        forms = [("chinese", zh), ("chinese_yao", zh.replace("一", "幺")), ("chinese_ling_o", zh.replace("零", "〇")),
                 ("mixed", "".join(_ZH_DIGITS[int(d)] if k % 2 else d for k, d in enumerate(m))),
                 ("chinese_spaced", _groups(zh, (3, 4, 4), " "))]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["电话{v}。", "打我手机{v}就行。", "号码是{v}。"])

    def id_number(self, i: int):
        birth = pd.Timestamp("1940-01-01") + pd.Timedelta(days=int(self.rng.integers(0, 365 * 75)))
        first = f"{self.pick(_REGIONS)}{birth:%Y%m%d}{self.digits(3)}"
        idn = first + resident_id_check_digit(first)
        forms = [("plain", idn), ("spaced", f"{idn[:6]} {idn[6:14]} {idn[14:]}"), ("fullwidth", _fullwidth(idn)),
                 ("dashed", f"{idn[:6]}-{idn[6:14]}-{idn[14:]}"), ("lower_x_or_plain", idn.lower())]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["我的身份证号是{v}。", "身份证{v}，补助还没到账。", "证件号：{v}"])

    def wechat(self, i: int):
        _, py = self.name()
        base = py.replace(" ", "").lower()
        ids = [f"wxid_{self.digits(4)}{self.pick('abcdefgh')}{self.digits(4)}", f"{base}_{self.digits(2)}",
               f"{base}-{self.digits(4)}", f"{base[:1].upper()}{base[1:]}{self.digits(3)}"]
        carriers = [("weixin", "加我微信{v}。"), ("weixin_colon", "微信号：{v}"), ("vx", "VX: {v}"), ("v_xin", "v信 {v}"),
                    ("wechat", "WeChat {v} 联系。"), ("weixin_fullwidth_colon", "微信（{v}）")]
        form, carrier = carriers[i % len(carriers)]
        return form, ids[i % len(ids)], carrier

    def qq(self, i: int):
        number = str(int(self.rng.integers(1, 10))) + self.digits(int(self.rng.integers(7, 10)))
        forms = [("qq", number, "QQ {v}"), ("qq_joined", number, "QQ{v}"), ("qq_colon", number, "QQ号：{v}"),
                 ("koukou", number, "扣扣 {v}"), ("penguin", number, "企鹅号{v}"),
                 ("fullwidth", _fullwidth(number), "ＱＱ：{v}")]
        form, value, carrier = forms[i % len(forms)]
        return form, value, carrier

    def licence_plate(self, i: int):
        prov, letter = self.pick(_PLATE_PROVINCES), self.pick(_PLATE_LETTERS)
        tail = "".join(self.pick(_PLATE_LETTERS + "0123456789") if k < 2 else str(int(self.rng.integers(10)))
                       for k in range(5))
        energy = self.pick("DF") + self.digits(5)
        forms = [("plain", f"{prov}{letter}{tail}"), ("dot", f"{prov}{letter}·{tail}"),
                 ("space", f"{prov}{letter} {tail}"), ("dash", f"{prov}{letter}-{tail}"),
                 ("new_energy", f"{prov}{letter}{energy}"), ("fullwidth", f"{prov}{_fullwidth(letter + tail)}")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["车牌{v}的车经常停在站门口。", "我的车是{v}。", "车牌号：{v}"])

    def bank_card(self, i: int):
        length = (16, 19)[i % 2]
        body = "62" + self.pick(["2202", "2848", "1700", "2588", "1226"]) + self.digits(length - 7)
        card = body + _luhn_digit(body)
        forms = [("plain", card), ("spaced", _groups(card, (4, 4, 4, 4), " ")), ("dashed", _groups(card, (4, 4, 4, 4), "-")),
                 ("fullwidth", _fullwidth(card)), ("fullwidth_space", _groups(card, (4, 4, 4, 4), "\u3000"))]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["补助打到卡号{v}。", "银行卡{v}一直没到账。", "账号：{v}"])

    def email(self, i: int):
        _, py = self.name()
        local = py.replace(" ", ".").lower() + self.digits(2)
        domain, tld = self.pick(["example", "mail-example", "test-example"]), self.pick(["com", "org", "net", "cn"])
        forms = [("plain", f"{local}@{domain}.{tld}"), ("fullwidth_at", f"{local}＠{domain}.{tld}"),
                 ("chinese_stop", f"{local}@{domain}。{tld}"), ("chinese_all", f"{local}＠{domain}。{tld}"),
                 ("at_dot_words", f"{local} at {domain} dot {tld}"), ("dian", f"{local}@{domain}点{tld}"),
                 ("bracket_at", f"{local}(at){domain}.{tld}"), ("qq_mail", f"{self.digits(9)}@qq.com")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["有问题请发邮件到{v}，谢谢。", "邮箱：{v}", "Email me at {v} please."])

    def address_street(self, i: int):
        street, _ = self.pick(_STREETS)
        n, b, r = int(self.rng.integers(1, 400)), int(self.rng.integers(1, 20)), int(self.rng.integers(101, 1899))
        kind = self.pick(["路", "街", "大道", "巷"])
        forms = [("full", f"{street}{kind}{n}号{b}栋{r}室"), ("house", f"{street}{kind}{n}号"),
                 ("spaced", f"{street}{kind} {n} 号"), ("chinese_numerals", f"{street}{kind}{_zh_number(n % 99 + 1)}号"),
                 ("fullwidth", f"{street}{kind}{_fullwidth(str(n))}号")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["我家住在{v}，希望社工多上门。", "地址：{v}", "站点搬到了{v}附近吗？"])

    def address_village(self, i: int):
        village = self.pick(_VILLAGES)
        g, n = int(self.rng.integers(1, 15)), int(self.rng.integers(1, 80))
        forms = [("group_house", f"{village}村{g}组{n}号"), ("group_zh", f"{village}村{_zh_number(g)}组"),
                 ("group_zh_house", f"{village}村{_zh_number(g)}组{n}号"), ("spaced", f"{village}村 {g} 组 {n} 号")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["我住{v}，路不好走。", "老人在{v}独居。", "地址是{v}。"])

    def address_estate(self, i: int):
        estate = self.pick(_ESTATES)
        b, u, r = int(self.rng.integers(1, 30)), int(self.rng.integers(1, 6)), int(self.rng.integers(101, 2899))
        forms = [("estate_full", f"{estate}{b}栋{u}单元{r}室"), ("unit_room", f"{b}栋{u}单元{r}室"),
                 ("estate_building", f"{estate}{b}号楼{r}室"), ("spaced", f"{estate} {b} 栋 {u} 单元 {r} 室"),
                 ("zh_unit", f"{estate}{_zh_number(b)}栋{_zh_number(u)}单元{r}室")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["我家在{v}。", "请到{v}找我。", "住址：{v}"])

    def address_en(self, i: int):
        _, py = self.pick(_STREETS)
        n = int(self.rng.integers(1, 900))
        forms = [("road", f"{n} {py} Road"), ("street", f"{n} {py} Street"), ("no", f"No. {n}, {py} Road"),
                 ("lu", f"{n} {py} Lu")]
        form, value = forms[i % len(forms)]
        return form, value, self.pick(["Please visit {v}.", "We live at {v}, near the station.", "地址 {v}"])


def corpus(n: int = MIN_VALUES, seed: int = 0, *, background: str = "") -> list[PlantedValue]:
    """At least ``n`` synthetic values, the same number of each category (rounded up), in every form.

    Parameters
    ----------
    n : int
        The least number of values.
    seed : int
        Random seed: the same seed gives the same corpus.
    background : str
        Text a report shows anyway (place names, catalogue texts): no name in it is used.

    Returns
    -------
    list of PlantedValue
        Not yet placed (``county_code`` and ``respondent_id`` empty), the categories interleaved.
    """
    maker = _Maker(np.random.default_rng(seed), background)
    each = -(-n // len(CATEGORIES))
    makers: dict[str, Callable[[int], tuple[str, str, str]]] = {c: getattr(maker, c) for c in CATEGORIES}
    out = []
    for i in range(each):
        for category, make in makers.items():
            form, value, carrier = make(i)
            out.append(PlantedValue(category, form, value, carrier))
    return out


# --------------------------------------------------------------------------- planting


def _background(data_dir: Path) -> str:
    """Place names of the province and every text of the report catalogues: what a report shows anyway."""
    from importlib import resources

    from . import registry
    from .io import find_table, read_raw
    from .schema import table_spec

    texts = [resources.files("evalkit").joinpath(f"report/locale/{lang}.toml").read_text(encoding="utf-8")
             + "\n" + "\n".join(registry.texts(lang).values())  # the indicators' texts, from the registry
             for lang in ("en", "zh")]
    path = find_table(data_dir, "regions")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = read_raw(path, [c["name"] for c in table_spec("regions")["columns"]], "regions").frame
    texts += [str(v) for c in frame.columns if "_name_" in c for v in pd.unique(frame[c].dropna().astype(str))]
    return "\n".join(texts)


def _read_survey(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The survey file as it is (Parquet types and metadata, or text cells and encoding)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        extra = {k.decode()[len("evalkit."):]: v.decode() for k, v in meta.items() if k.startswith(b"evalkit.")}
        return pd.read_parquet(path), {"metadata": extra}
    from .io import read_raw
    from .schema import table_spec

    raw = read_raw(path, [c["name"] for c in table_spec("survey")["columns"]], "survey")
    return raw.frame.reset_index(drop=True), {"encoding": raw.encoding or "utf-8"}


def plant(data_dir_in: str | Path, data_dir_out: str | Path, seed: int = 0, *, n: int = MIN_VALUES,
          per_comment: int = PER_COMMENT, year: int | None = None) -> Planted:
    """Copy a province folder and plant the :func:`corpus` in survey comments of one wave, for an audit.

    The values are spread evenly over the counties, ``per_comment`` values (of different categories)
    to a comment, each in its own sentence; the planted comments replace those of randomly chosen
    respondents of the wave.  The ``name_roster`` names are written to the copy's roster (added to any
    roster the folder had); no other planted name is.  Id columns are not touched, so the copy still
    passes ``evalkit validate``.

    Parameters
    ----------
    data_dir_in : str or Path
        The province folder (any format evalkit reads); it is not changed.
    data_dir_out : str or Path
        Where the copy goes; it must not exist yet (or be empty).
    seed : int
        Random seed: the same seed plants the same values in the same rows.
    n : int
        The least number of values planted (default :data:`MIN_VALUES`).
    per_comment : int
        Values in one comment.
    year : int, optional
        The survey wave (default the latest).

    Returns
    -------
    Planted
        Every planted value with its county and respondent.
    """
    from .io import find_table, write_table
    from .privacy import load_roster

    src, dst = Path(data_dir_in), Path(data_dir_out)
    if not src.is_dir():
        raise EvalkitError(f"The province folder {src} does not exist.")
    if dst.exists() and any(dst.iterdir()):
        raise EvalkitError(f"{dst} already exists and is not empty; plant writes a fresh copy: remove it or "
                           "choose another folder.")
    shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
    path = find_table(dst, "survey")
    survey, how = _read_survey(path)
    years = pd.to_numeric(survey["year"], errors="coerce")
    wave = int(years.max()) if year is None else int(year)
    if "comment" not in survey.columns:
        cols = list(survey.columns)
        survey.insert(cols.index("interviewer_id") if "interviewer_id" in cols else len(cols), "comment", None)
    survey["comment"] = survey["comment"].astype(object)
    # no planted name may be part of what a page shows anyway, the province's own comments included
    background = _background(dst) + "\n" + "\n".join(pd.unique(survey["comment"].dropna().astype(str)))
    values = corpus(n, seed, background=background)
    rng = np.random.default_rng(seed + 1)
    groups = {c: g.index.to_numpy() for c, g in survey[years == wave].groupby(survey["county_code"].astype(str),
                                                                                sort=True)}
    if not groups:
        raise EvalkitError(f"The survey in {src} has no respondents in {wave} to plant comments for.")
    n_comments = -(-len(values) // per_comment)
    room = sum(len(rows) for rows in groups.values())
    if n_comments > room:
        raise EvalkitError(f"{len(values)} values need {n_comments} comments, but the {wave} wave of {src} has only "
                           f"{room} respondents: plant fewer values or more to a comment.")
    # comments go to the counties in turn (each county gets its share), to distinct respondents
    order = {c: list(rng.permutation(rows)) for c, rows in groups.items()}
    counties = [c for c in sorted(order)]
    placed, comments = [], {}
    k = 0
    for start in range(0, len(values), per_comment):
        for _ in range(len(counties)):
            county = counties[k % len(counties)]
            k += 1
            if order[county]:
                break
        row = order[county].pop()
        rid = str(survey.at[row, "respondent_id"])
        chunk = [PlantedValue(v.category, v.form, v.value, v.carrier, county, rid)
                 for v in values[start:start + per_comment]]
        text = " ".join(v.sentence() for v in chunk)
        survey.at[row, "comment"] = text
        comments[rid] = text
        placed += chunk
    write_table(survey, path, encoding=how.get("encoding", "utf-8"), metadata=how.get("metadata"))
    roster = sorted({v.value for v in placed if v.category == "name_roster"} | set(load_roster(dst)))
    for old in dst.glob("roster.*"):
        old.unlink()
    write_table(pd.DataFrame({"name": roster}), dst / "roster.csv")
    return Planted(str(dst), placed, roster, comments, wave)
