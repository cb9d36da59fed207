"""What counts as personal data: the one definition that validation, scrubbing and the scan share.

Issue 16: input validation (:mod:`evalkit.schema`'s screens on pseudonymous ids), comment scrubbing
(:func:`evalkit.privacy.scrub`, :func:`evalkit.privacy.assess`) and the output scan
(:class:`evalkit.privacy.Scanner`) all call the detectors defined here, so they cannot disagree about
what is a phone number, an identity number or a name.  It is a module of its own, not a part of
``privacy.py``, because :mod:`evalkit.schema` needs it and must not import the scanner, the PDF reader
and the planting code with it; ``privacy.py`` keeps what *uses* the definition (scrub, assess, scan),
and :mod:`evalkit.planting` plants data for audits.

Text is first read as a reader reads it (:func:`normalise`): full-width characters as half-width,
spaces, dots and dashes inside digit runs and spaces between Chinese characters removed, Chinese
numerals in digit runs read as digits (``一三八〇〇一三八〇〇〇``, ``幺`` = 1), single letters
separated by spaces joined (``W a n g F a n g``).  Every match is mapped back to the characters of the
original text, so a scrub replaces exactly those.

Each detector gives a ``kind`` (:data:`KINDS`) and is either **sure** (scrubbed, and reported by the
scan) or **unsure** (:func:`detect` with ``unsure=True`` only: the comment is withheld by
:func:`evalkit.privacy.assess`, default deny).

==============  ===============  ===================================================================
kind            placeholder      sure                                 / unsure
==============  ===============  ===================================================================
``phone``       ``[phone]``      mobiles, landlines in any written     / 5 to 10 digits after a
                                 form (dots, spaces, dashes, ``+86``,    phone cue (电话, 手机, tel)
                                 Chinese numerals, ``(0731)8456-1234``)
``id_number``   ``[id]``         18/15-digit resident identity numbers (check digit, birth date)
``id_like``     ``[id]``         18 digits with a plausible birth date, failing check digit
``bank_card``   ``[card]``       16 to 19 digits passing the Luhn check (spaced in groups too)
``wechat``      ``[wechat]``     an id after 微信/威信/v信/微x/VX/wx/WeChat cues (with ``：``, ``（``);
                                 ``wxid_...`` anywhere
``qq``          ``[qq]``         5 to 11 digits after QQ/扣扣 cues
``plate``       ``[plate]``      licence plates 湘A12345, 湘A·12345, 湘AD12345
``email``       ``[email]``      ``@``, ``＠``, ``(at)``, `` at ``, ``艾特`` and ``.``/``。``/``点``/``dot``
``address``     ``[address]``    ...路12号, ...小区3栋2单元501室, ...村3组, 桃花村三组15号
``name``        ``[name]``       roster names; surnames with titles or   / a segmenter's person-name
                                 cues; a segmenter's (rjieba) person      token without a known
                                 name beginning with a known surname;     surname; a surname and
                                 a surname and given-name characters      given-name characters not
                                 between a cue and a verb (找于刚办,        in the dictionary; a pair
                                 谢谢郑洋，, 曾明说), written apart (于　洋),  of capitalised Latin words
                                 after 欧阳/诸葛/...; pinyin names in any
                                 order and case (Wang Fang, Fang Wang,
                                 wang fang, W a n g F a n g) unless both
                                 words are English (he can, long run)
``person_id``   (not scrubbed)   the inputs' person ids (the scan only)
==============  ===============  ===================================================================

The Chinese segmenter is rjieba (jieba-rs, Rust): its dictionary is inside the wheel (about 5 MB),
it downloads nothing and writes no cache, and it tags person names ``nr``.  A token it calls a name
is *sure* only when it begins with one of the common surnames below and is not an everyday word;
otherwise it is *unsure*.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

__all__ = [
    "KINDS",
    "PLACEHOLDERS",
    "MOBILE_PATTERN",
    "LANDLINE_PATTERN",
    "Normalised",
    "Detection",
    "detect",
    "identifier_kind",
    "is_resident_id",
    "luhn_ok",
    "normalise",
    "resident_id_check_digit",
]

#: What a finding can be (see the module docstring).
KINDS = ("phone", "id_number", "id_like", "email", "address", "name", "person_id", "wechat", "qq", "plate",
         "bank_card")

#: What :func:`scrub` puts in place of each kind it removes.
PLACEHOLDERS = {
    "phone": "[phone]",
    "id_number": "[id]",
    "id_like": "[id]",
    "email": "[email]",
    "address": "[address]",
    "name": "[name]",
    "wechat": "[wechat]",
    "qq": "[qq]",
    "plate": "[plate]",
    "bank_card": "[card]",
    "number": "[number]",
}

#: A whole id-column value that is a mobile number (used by :mod:`evalkit.schema`).
MOBILE_PATTERN = r"(\+?86)?1[3-9]\d{9}"
#: A whole id-column value that is a landline written with its area code apart (used by :mod:`evalkit.schema`).
LANDLINE_PATTERN = r"\(0\d{2,3}\)[ \t-]?\d{7,8}|0\d{2,3}[ \t-]\d{7,8}"


# --------------------------------------------------------------------------- resident identity numbers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id_check_digit(first17: str) -> str:
    """The check character of a resident identity number from its first 17 digits (GB 11643-1999 [1]_).

    ISO 7064 MOD 11-2: the digits are weighted by 2^(17-i) mod 11 (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7,
    9, 10, 5, 8, 4, 2), summed, and the sum modulo 11 indexes ``"10X98765432"``.

    >>> resident_id_check_digit("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"an identity number's first part is 17 digits, not {first17!r}.")
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def _valid_date(yyyymmdd: str) -> bool:
    try:
        _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
        return True
    except ValueError:
        return False


def is_resident_id(text: str) -> bool:
    """True for a Chinese resident identity number: 18 characters with a valid birth date and
    ISO 7064 MOD 11-2 check digit (GB 11643-1999 [1]_), or the old 15-digit form with a valid date.

    >>> is_resident_id("11010519491231002X"), is_resident_id("110105194912310021")
    (True, False)
    """
    t = text.upper()
    if len(t) == 18 and t[:17].isascii() and t[:17].isdigit():
        if t[17] != resident_id_check_digit(t[:17]):
            return False
        birth = t[6:14]
    elif len(t) == 15 and t.isascii() and t.isdigit():
        birth = "19" + t[6:12]
    else:
        return False
    return _valid_date(birth)


def _plausible_birth(yyyymmdd: str) -> bool:
    return _valid_date(yyyymmdd) and 1900 <= int(yyyymmdd[:4]) <= _dt.date.today().year


# --------------------------------------------------------------------------- patterns

# Full-width digits, letters and signs, and odd dashes and spaces, read as ASCII: one character for
# one, so that a match in the folded text has the same span in the original.
FOLD = {0xFF10 + i: ord("0") + i for i in range(10)}
FOLD.update({0xFF21 + i: ord("A") + i for i in range(26)})
FOLD.update({0xFF41 + i: ord("a") + i for i in range(26)})
FOLD.update({ord(k): v for k, v in {"＋": "+", "－": "-", "（": "(", "）": ")", "＠": "@", "．": ".", "＿": "_",
                                     "\u3000": " ", "\u00a0": " ", "\u2010": "-", "\u2011": "-", "\u2012": "-",
                                     "\u2013": "-", "\u2014": "-", "\u2212": "-", "\ufe63": "-", "＃": "#"}.items()})

_FOLDED_AWAY = re.compile("[" + "".join(re.escape(chr(k)) for k in sorted(FOLD)) + "]")
_FOLD_CHAR = {chr(k): chr(v) if isinstance(v, int) else v for k, v in FOLD.items()}


def fold(text: str) -> str:
    """``text.translate(FOLD)``: the characters :data:`FOLD` maps replaced where they are, without
    ``str.translate``'s walk through every character of a long text (a report page: 18 ms)."""
    return _FOLDED_AWAY.sub(lambda m: _FOLD_CHAR[m.group()], text)


_L = r"(?<![0-9A-Za-z])(?<![0-9]\.)"  # a number starts here: not inside an id, word or decimal
_R = r"(?![0-9A-Za-z])(?!\.[0-9])"
_ID18 = re.compile(_L + r"[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]" + _R)
_ID15 = re.compile(_L + r"[0-9]{15}" + _R)
_MOBILE = re.compile(_L + r"(?:\(?(?:\+|00)?86\)?[ -]?)?1[3-9][0-9](?:[ -]?[0-9]){8}" + _R)
_AREA = r"(?:010|02[0-9]|0[3-9][0-9]{2})"
_LANDLINE = re.compile(_L + r"(?:\(" + _AREA + r"\)[ -]?|" + _AREA + r"[ -])[2-9][0-9]{2,3}[ -]?[0-9]{4}"
                       r"(?:[ ]?(?:转|(?i:ext)\.?|[xX#-])[ ]?[0-9]{1,6})?" + _R)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])")
_NUMBER = re.compile(r"(?<![0-9])[0-9]{7,}(?![0-9])|(?<![0-9])[0-9]{3,4}(?:[ -][0-9]{3,4}){2,}(?![0-9])")

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_NUM_ZH = "0-9一二三四五六七八九十百千零〇两"
# characters that end a place name's left edge ("我家住在|人民路12号"): verbs, pronouns, particles
_STOP = "在住于到是去从的和与及了往向对把给为我你他她它们说叫找来要就还也都很请"
_PLACE = rf"(?:(?![{_STOP}])[{HAN}]){{1,10}}"
_UNIT = rf"(?:[ ]?[0-9A-Za-z{_NUM_ZH}]+(?:栋|幢|座|号楼|单元|楼|层|室|号|户))"
_ADDRESSES = (
    # 人民路12号3栋502室, 南京西路1266弄3号, 中山大道88号院
    re.compile(_PLACE + rf"(?:大道|大街|胡同|路|街|巷|弄)(?:[{_NUM_ZH}]+(?:弄|巷))?[{_NUM_ZH}]+(?:之[0-9]+|-[0-9]+)?"
               rf"号(?:院|楼)?{_UNIT}{{0,4}}"),
    # 幸福小区3栋2单元501室
    re.compile(_PLACE + rf"(?:小区|花园|公寓|新村|家园|大厦|苑|院)[ ]?[0-9A-Za-z{_NUM_ZH}]+(?:栋|幢|座|号楼){_UNIT}{{0,3}}"),
    # 桃花村3组15号
    re.compile(_PLACE + rf"(?:村|社区)[{_NUM_ZH}]+组[{_NUM_ZH}]+号{_UNIT}{{0,2}}"),
    # 3栋2单元501室 without the estate's name
    re.compile(r"(?<![0-9])[0-9]+(?:栋|幢|号楼)[0-9]+单元[0-9]+(?:室|号)"),
    # 12 Main Street, No. 5, Renmin Road, 88 Jiefang Lu
    re.compile(r"(?<![0-9A-Za-z])(?:No\.?[ \t]*)?[0-9]{1,5}[A-Za-z]?,?[ \t]+(?:[A-Z][a-z]+[ \t]+){1,3}"
               r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Alley|Boulevard|Blvd|Drive|Dr|Lu|Jie|Xiang|Hutong|Dadao)"
               r"(?![A-Za-z])"),
)

# text each address pattern cannot match without (a cheap test before running the regex)
_ADDRESS_NEEDS = (("号",), ("栋", "幢", "座", "号楼"), ("号",), ("单元",),
                  ("St", "Ro", "Rd", "Av", "La", "Ln", "Al", "Bl", "Bo", "Dr", "Lu", "Ji", "Xi", "Hu", "Da"))

# The most common Chinese surnames (about 85% of the population), and the compound ones.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
             "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫严段雷侯龙史陶黎贺顾毛郝龚邵万钱覃武戴莫孔向汤于"
             "萧倪翟樊殷聂葛邢俞庞詹靳鲍霍阎甄裴")
_COMPOUND = "欧阳|司马|诸葛|上官|司徒|皇甫|慕容|令狐|夏侯|尉迟"
# surnames that are also everyday words right after 小/老 (小于, 老毛病, 养老金) or after a cue (社工向居民)
_NOT_AFTER_PREFIX = set("于白毛龙石金江万方")
_NOT_AFTER_CUE = set("于向付曾任万何钱")
_TITLES = ("某某|某|阿姨|叔叔|大爷|大妈|大娘|大叔|大哥|大姐|奶奶|爷爷|婆婆|阿婆|阿公|伯伯|老师|师傅|医生|大夫|护士|书记|"
           "主任|站长|村长|组长|队长|局长|所长|社工(?!站)|干事|同志|先生|女士|小姐|老人|老太|老汉|姐|哥|嫂|姨|叔|伯|婶")
_CUES = "名叫|叫做|叫|姓名[:：]?|名字是|联系人[:：]?|户主[:：]?|社工|志愿者|工作人员"
_GIVEN_STOP = ("的了很都也说是在和给帮对把被来去还就又不太真挺非常没有我你他她们这那个让及与跟等过着得地吗呢吧啊呀哦嘛"
               "上下里中会能要想说讲看做到")
_TITLE_NAME = re.compile(rf"(?P<n>{_COMPOUND}|[{_SURNAMES}])(?P<t>{_TITLES})")
_PREFIX_NAME = re.compile(rf"[小老](?P<n>[{_SURNAMES}])")
_CUE_NAME = re.compile(rf"(?:{_CUES})(?P<n>(?:{_COMPOUND}|[{_SURNAMES}])(?:(?![{_GIVEN_STOP}])[{HAN}]){{1,2}})")
# words that end in a surname character (提高老师 is not teacher Gao, 照顾老人 is not old Mr Gu), and words
# that begin with one (社工马上就来 is not social worker Ma Shang)
_WORD_BEFORE = set("""这张 那张 每张 几张 整张 提高 最高 很高 较高 更高 太高 升高 增高 身高 主张 紧张 开张 扩张 夸张 慌张 一张 两张 森林 树林 园林 山林
竹林 少林 长江 沿江 过江 金黄 枯黄 蛋黄 发黄 资金 奖金 现金 基金 租金 黄金 美金 薪金 岩石 宝石 化石 矿石 对方 双方 地方 多方
各方 一方 大方 东方 西方 南方 北方 药方 处方 每周 四周 上周 下周 本周 一周 两周 农田 水田 种田 国王 大王 帝王 如何 为何 任何
几何 千万 一万 几万 上万 数万 十万 子孙 儿孙 外孙 有钱 没钱 花钱 赚钱 价钱 金钱 零钱 工钱 恐龙 明白 空白 坦白 黑白 雪白 历史
立夏 华夏 盛夏 感谢 多谢 谢谢 道谢 答谢 致谢 课程 工程 过程 流程 日程 全程 行程 路程 进程 方向 志向 导向 一向 转向 由于 对于
关于 终于 属于 至于 等于 善于 在于 位于 处于 用于 基于 便于 易于 敢于 勇于 急于 乐于 支付 应付 交付 责任 主任 信任 担任 上任
前任 历任 现任 兼任 不曾 未曾 也曾 树叶 茶叶 落叶 复苏 江苏 熏陶 照顾 回顾 光顾 不顾 兼顾 打雷 面孔 毛孔 喝汤 鸡汤 米汤
爱戴 穿戴 文武 威武 祝贺 庆贺 狗熊 生姜 园丁 多余 其余 剩余 业余 课余 富余 结余 空余 古董 也许 或许 允许 期许 赞许 少许
些许 荒唐 桥梁 栋梁 张罗 网罗 二胡 行李 分钟 时钟 闹钟 点钟 阶段 手段 地段 片段 路段 时段 威严 庄严 尊严 从严 模范 示范
规范 防范 典范 师范 大陆 登陆 内陆 羽毛 眉毛 皮毛 白杨 新陈 推陈""".split())
_WORD_AFTER = set("""高兴 高度 高温 高效 高中 高龄 高血 高压 高大 高级 黄金 黄色 方便 方面 方法 方式 方案 方向 周末 周围 周到
周边 周期 周年 江湖 江边 金额 金钱 石头 石油 马上 马路 马虎 马桶 向来 向前 万一 万分 任何 任务 任劳 何时 何必 何况 何处 钱款
钱包 严重 严格 严谨 龙头 龙虾 白天 白菜 白色 毛病 毛巾 史上 史料 孔雀 汤圆 汤药 钟头 钟表 陆续 陆地 程序 程度 孙子 孙女 孙辈
夏天 夏季 付出 曾经 雷锋 雷电 林业 田地 田间 黎明 顾客 顾问 顾虑 顾及 许多 许可 余额 余下 董事 张罗 张贴 张开 叶子 李子 陈旧
陈述 杨树 胡乱 胡子 杜绝 苏醒 丁点 范围 汪洋 段落 熊猫 陶瓷 贺卡 贺词 戴上 莫非""".split())


class NameIndex:
    """The roster's names, looked up by hashing (longest first), never as one regex per name."""

    def __init__(self, names: Iterable[Any] = ()):
        self.han: dict[int, set[str]] = {}
        self.latin: set[str] = set()
        self.ignored: list[str] = []
        self.accepted = 0
        for raw in names:
            if raw is None or (not isinstance(raw, str) and pd.isna(raw)):
                continue
            name = " ".join(fold(str(raw)).split())
            if not name:
                continue
            if re.fullmatch(rf"[{HAN}·・]+", name):
                if len(name) >= 2:
                    self.han.setdefault(len(name), set()).add(name.replace("・", "·"))
                    self.accepted += 1
                else:
                    self.ignored.append(name)
            elif re.fullmatch(r"[A-Za-z]+(?:[ '\-][A-Za-z]+)*", name):
                words = [w.lower() for w in re.findall(r"[A-Za-z]+", name)]
                if sum(map(len, words)) >= 4:
                    self.accepted += 1
                    self.latin.add(" ".join(words))
                    if len(words) == 2:  # Zhang Wei / Wei Zhang
                        self.latin.add(" ".join(reversed(words)))
                else:
                    self.ignored.append(name)
            else:
                self.ignored.append(name)
        self.lengths = sorted(self.han, reverse=True)
        self.first_chars = {n[0] for s in self.han.values() for n in s}
        self.first_words = {n.split()[0] for n in self.latin}
        self.max_words = max((n.count(" ") + 1 for n in self.latin), default=0)

    def __len__(self) -> int:
        return self.accepted

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of roster names in (folded) ``text``, longest first, left to right."""
        out: list[tuple[int, int]] = []
        if self.han:
            for m in _HAN_RUN.finditer(text):
                run, i = m.group(), 0
                while i < len(run) - 1:
                    if run[i] in self.first_chars:
                        for n in self.lengths:
                            if run[i:i + n] in self.han[n]:
                                out.append((m.start() + i, m.start() + i + n))
                                i += n - 1
                                break
                    i += 1
        if self.latin:
            # only where a roster name's first word stands (a text has few, or none): not word by word
            present = self.first_words.intersection(map(str.lower, _WORD.findall(text)))
            last_end = -1
            for m in (_word_alternatives(frozenset(present)).finditer(text) if present else ()):
                if m.start() < last_end:  # inside the name just found
                    continue
                chunk = [(m.start(), m.end(), m.group().lower())]
                for following in _WORD.finditer(text, m.end()):
                    if len(chunk) >= self.max_words:
                        break
                    chunk.append((following.start(), following.end(), following.group().lower()))
                for n in range(len(chunk), 0, -1):  # the longest name first
                    words = chunk[:n]
                    if all(_GAP.fullmatch(text[a[1]:b[0]]) for a, b in zip(words, words[1:])) and \
                            " ".join(w[2] for w in words) in self.latin:
                        out.append((words[0][0], words[-1][1]))
                        last_end = words[-1][1]
                        break
        return out


_HAN_RUN = re.compile(rf"[{HAN}·]{{2,}}")


@functools.lru_cache(maxsize=64)
def _word_alternatives(words: frozenset[str]) -> re.Pattern:
    """Whole words (maximal runs of ASCII letters, as ``_WORD`` finds them) equal to one of ``words``,
    in any case."""
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![A-Za-z])",
                      re.IGNORECASE | re.ASCII)


_WORD = re.compile(r"[A-Za-z]+")
_GAP = re.compile(r"[ \t\-']+")


@dataclass(frozen=True)
class Hit:
    """A span of folded text that :func:`detect_folded` found: its kind, detail and whether it is sure."""

    start: int
    end: int
    kind: str
    detail: str
    sure: bool = True


# --------------------------------------------------------------------------- normalisation

_ZH_DIGITS = {"〇": "0", "零": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
              "六": "6", "七": "7", "八": "8", "九": "9"}
_ZH_DIGIT_TABLE = str.maketrans(_ZH_DIGITS)
_DIGITISH = "0-9" + "".join(_ZH_DIGITS)
# a run of at least five digits or Chinese numerals (separators allowed) with a Chinese numeral in it
_ZH_NUMBER_RUN = re.compile(rf"[{_DIGITISH}](?:[ \-.·]?[{_DIGITISH}]){{4,}}")
_HAS_ZH_DIGIT = re.compile("[" + "".join(_ZH_DIGITS) + "]")
# what a reader skips: separators inside digit runs, spaces between Chinese characters (and between
# a Chinese character and a digit), spaces between single letters (W a n g)
# (each branch begins with the space it removes, the look back after it: the same matches as with the look
# back first, found three times as fast because only spaces are tried)
_SKIP = re.compile(
    rf"[ \t](?<=[{HAN}0-9][ \t])[ \t]*(?=[{HAN}])|[ \t](?<=[{HAN}][ \t])[ \t]*(?=[0-9])"
    r"| (?<=\b[A-Za-z] )(?=[A-Za-z]\b)"
)
_DIGIT_CHAIN = re.compile(r"[0-9]+(?:(?:[ \t]{1,2}|[ ]?[-·][ ]?)[0-9]+)+")
_CHAIN_SEP = re.compile(r"[^0-9]+")
_DATE_IN_CHAIN = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}[-./·](?:0?[1-9]|1[0-2])[-./·](?:0?[1-9]|[12][0-9]|3[01])(?![0-9])")


# one or two Chinese numerals at an edge of a run (before four ASCII digits, after two): a word that begins or
# ends there (卡号6228…128|一直没到账, 两|13800138000), not part of the number
_ZH_EDGE = re.compile(r"^(?P<head>[" + "".join(_ZH_DIGITS) + r"]{1,2}[ \-.·]?)(?=[0-9]{4})"
                      r"|(?<=[0-9]{2})(?P<tail>[ \-.·]?[" + "".join(_ZH_DIGITS) + r"]{1,2})$")


def _read_zh_digits(m: re.Match) -> str:
    """A run of digits and Chinese numerals (:data:`_ZH_NUMBER_RUN`) with the numerals read as digits,
    except one or two numerals at an edge (before four ASCII digits, after two): they begin or end a word
    (``一直``, ``两个``, ``三天``), not the number."""
    run = m.group()
    if not _HAS_ZH_DIGIT.search(run):
        return run
    head = tail = ""
    for e in _ZH_EDGE.finditer(run):
        head = head or (e.group("head") or "")
        tail = tail or (e.group("tail") or "")
    body = run[len(head):len(run) - len(tail)]
    return head + body.translate(_ZH_DIGIT_TABLE) + tail


def _reader_grouping(chain: str) -> bool:
    """True when digit groups are written the way phone, card and identity numbers are grouped: every
    group of at most four digits (138 0013 8000, 6222 0212 ..., 1 3 8 ...), or an identity number's
    6-8-4 (never two region codes side by side: ``430102 430102001``)."""
    groups = _CHAIN_SEP.split(chain.strip(" .-·"))
    sizes = [len(g) for g in groups]
    if _DATE_IN_CHAIN.search(chain):  # 2025-06-30 2025-06-30: dates side by side, not a card
        return False
    if len(sizes) >= 3 and sizes[0] <= 3 and all(n == 3 for n in sizes[1:]):  # 13 800 138 000: thousands
        return False
    return max(sizes) <= 4 or sizes in ([6, 8, 4], [6, 8, 3], [6, 4, 4, 4], [6, 6, 3], [3, 3, 5], [2, 3, 4, 4, 4])


_DOTTED = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+){2,}(?![0-9]|\.[0-9])")  # 138.0013.8000, not 12.5
_SPACED_LETTERS = re.compile(r"(?<![A-Za-z])[A-Za-z](?: [A-Za-z]){3,}(?![A-Za-z])")


@dataclass(frozen=True)
class Normalised:
    """A text as a reader reads it (:func:`normalise`), with the way back to the original.

    Attributes
    ----------
    text : str
        The normalised text.
    source : str
        The original text.
    """

    text: str
    source: str
    _at: tuple[int, ...] = ()  # normalised positions where characters were removed before them
    _gone: tuple[int, ...] = ()  # how many characters of the source were removed up to there
    #: True when digits were read differently (separators in digit runs removed, Chinese numerals read).
    digits_changed: bool = False

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the source that ``text[start:end]`` was read from."""
        if not self._at:
            return start, end
        i = bisect.bisect_right(self._at, start)
        j = bisect.bisect_right(self._at, end - 1)
        return start + (self._gone[i - 1] if i else 0), end + (self._gone[j - 1] if j else 0)


def normalise(text: str) -> Normalised:
    """Read ``text`` as a reader would: full-width as half-width, Chinese numerals in digit runs as
    digits, and separators a reader skips removed.

    Full-width letters, digits and signs become ASCII, the ideographic space a space, dashes ``-``
    (one character for one); runs of five or more digits and Chinese numerals (``一三八〇〇一三八〇〇〇``,
    ``幺`` = 1, ``两`` = 2, ``〇``/``零`` = 0) become digits; then spaces and dashes between digits, dots
    in runs of three or more dotted groups (``138.0013.8000``; never the point of ``12.5``), spaces
    between Chinese characters or between one and a digit, and spaces between single letters
    (``W a n g``) are removed.  :meth:`Normalised.span` maps a match back to the original characters.

    >>> n = normalise("电话：一三八 ００１３ 8000，王　芳")
    >>> n.text
    '电话：13800138000，王芳'
    >>> n.span(3, 14)
    (3, 16)
    """
    folded = fold(text)
    digits_changed = False
    if _HAS_ZH_DIGIT.search(folded):
        before = folded
        folded = _ZH_NUMBER_RUN.sub(_read_zh_digits, folded)
        digits_changed = folded != before
    cuts = [m.span() for m in _SKIP.finditer(folded)]
    # chains of fewer than 10 digits are no phone, identity or card number: left as they are
    chains = [m for m in _DIGIT_CHAIN.finditer(folded) if len(m.group()) >= 8 and _reader_grouping(m.group())]
    if "." in folded:
        chains += [m for m in _DOTTED.finditer(folded) if len(m.group()) >= 12 and _reader_grouping(m.group())]
    cuts += [(m.start() + g.start(), m.start() + g.end()) for m in chains for g in _CHAIN_SEP.finditer(m.group())]
    cuts.sort()
    digits_changed = digits_changed or bool(chains)
    if not cuts:
        return Normalised(folded, text, digits_changed=digits_changed)
    parts, at, gone, starts, totals = [], 0, 0, [], []
    for s, e in cuts:
        if s < at:
            continue
        parts.append(folded[at:s])
        gone += e - s
        starts.append(s - gone + (e - s))  # normalised position of the character after the cut
        totals.append(gone)
        at = e
    parts.append(folded[at:])
    return Normalised("".join(parts), text, tuple(starts), tuple(totals), digits_changed)


# --------------------------------------------------------------------------- the new detectors

def luhn_ok(digits: str) -> bool:
    """True when ``digits`` passes the Luhn (mod 10) check of payment card numbers (ISO/IEC 7812-1).

    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# on the normalised text, where separators are gone
_N_MOBILE = re.compile(_L + r"(?:\(?(?:\+|00)?86\)?)?1[3-9][0-9]{9}" + _R)
_N_LANDLINE = re.compile(_L + r"(?:\(" + _AREA + r"\)|" + _AREA + r")[2-9][0-9]{6,7}" + _R)
_N_ID = re.compile(_L + r"(?:[0-9]{17}[0-9Xx]|[0-9]{15})" + _R)
_N_CARD = re.compile(_L + r"[0-9]{16,19}" + _R)
_CUED_CARD = re.compile(r"(?:卡号|银行卡|储蓄卡|信用卡|账号|帐号|(?i:card)(?: no\.?)?)[号:：是为 ]{0,3}(?P<v>[0-9]{12,19})(?![0-9])")
_PHONE_CUE = re.compile(r"(?:电话|手机|座机|联系方式|号码|热线|(?i:tel|phone|mobile))(?:号码?)?[:：是为]?[ ]?$")
_N_CUED_DIGITS = re.compile(r"(?<![0-9])[0-9]{5,10}(?![0-9])")
_QQ = re.compile(r"(?:(?<![A-Za-z])(?i:qq)|扣扣|企鹅)(?:号码?|号)?[ ]?[:：是为]?[ ]?(?P<v>[1-9][0-9]{4,10})(?![0-9])")
# the cue (微信, 威信, 薇信, v信, 微x, VX, wx, WeChat), then 号/ID, a colon, 是 or an opening bracket, then the id
_WECHAT = re.compile(r"(?:[微威薇]信|(?<![A-Za-z])[Vv]信|微[Xx](?![A-Za-z])|(?<![A-Za-z])(?i:vx|wx|weixin|wechat|we chat)"
                     r"(?![A-Za-z]))(?:号码?|(?i:id))?[ ]?[:：是为]?[ ]?[(\[【「<《]?[ ]?"
                     r"(?P<v>[A-Za-z][-_A-Za-z0-9]{5,19}|1[3-9][0-9]{9})(?![-_A-Za-z0-9])")
_WXID = re.compile(r"(?<![A-Za-z0-9_])wxid_[A-Za-z0-9_]{4,30}(?![A-Za-z0-9_])", re.I)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"[{_PROVINCES}](?P<v>[A-HJ-NP-Z][ ]?[·.\-]?[ ]?(?=[A-HJ-NP-Z0-9]*[0-9][A-HJ-NP-Z0-9]*[0-9])"
                    rf"[A-HJ-NP-Z0-9]{{5,6}})(?![A-Za-z0-9])")
_TLD = r"(?:com|cn|net|org|edu|gov|info|io|me|cc|top|xyz|hk|tw|uk|de|jp|us|co)"
_EMAIL_AT = r"(?:\s*(?:@|\(at\)|\[at\]|\{at\}|艾特|圈a)\s*|\s+(?i:at)\s+)"
_EMAIL_DOT = r"(?:\s*(?:\.|。|点|\(dot\)|\[dot\])\s*|\s+(?i:dot)\s+)"
_EMAIL_ZH = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*" + _EMAIL_AT +
                       r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:" + _EMAIL_DOT +
                       r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*" + _EMAIL_DOT + _TLD + r"(?![A-Za-z0-9])")
_EMAIL_AT_NEEDED = re.compile(r"@|\(at\)|\[at\]|\{at\}|艾特|圈a|\s(?i:at)\s")
_ANY_PHONE_CUE = re.compile(r"电话|手机|座机|联系方式|号码|热线|(?i:tel|phone|mobile)")
_VILLAGE_GROUP = re.compile(_PLACE + rf"(?:村|社区|屯|寨)[{_NUM_ZH}]+(?:组|队)(?:[{_NUM_ZH}]+号)?{_UNIT}{{0,2}}")
_VILLAGE = re.compile(rf"(?P<v>(?:(?![{_STOP}村])[{HAN}]){{2,4}}(?<![农乡山渔])(?:村|屯|寨))(?![里委民干口子庄部])")
_LIVES = re.compile(r"(?:住在|住|家在|家住|来自|住址|地址)[:：]?$")
_STOP_PLACE_INITIAL = set("向和与及对把给为从")
_UNIT_ROOM = re.compile(rf"(?<![0-9])[0-9]+(?:单元|栋|幢)[0-9]+(?:室|号)|(?<![0-9])[0-9]{{3,4}}室")

# pinyin: the syllables of Mandarin, loosely (an initial and a final), and the common surnames
_SYL = (r"(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|van|"
        r"ai|ei|ao|ou|an|en|in|un|ia|ie|iu|ua|uo|ue|ui|ve|er|a|o|e|i|u|v))")
_GIVEN_PY = re.compile(rf"{_SYL}{{1,2}}", re.I)
_PINYIN_SURNAMES = frozenset("""wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang
xie song tang han feng deng cao peng zeng xiao tian dong yuan pan jiang cai yu du ye cheng su wei lv lu ding ren shen yao cui zhong
tan fan jin shi jia xia fu fang bai zou meng xiong qin qiu yin xue yan duan lei hou long shi tao li gu mao hao gong shao wan qian qin
dai mo kong xiang nie pang pei huo zhai xing ouyang situ shangguan zhuge sima""".split())
_LATIN_PAIR = re.compile(r"(?<![A-Za-z])(?P<a>[A-Z][a-z]{1,11}|[A-Z]{2,12})[ \t]+(?P<b>[A-Z][a-z]{1,11}|[A-Z]{2,12})"
                         r"(?![A-Za-z])")
# everyday English words that begin a capitalised pair that is no name (Thank You, Very Good, Social Work)
_ENGLISH = frozenset("""the this that these very good great thank thanks you your we our my it is are was not no yes ok
please happy service services social work worker workers station staff help helpful nice kind and or but all
more much too so well best bad poor home visit day week month year time""".split())
_CAMEL = re.compile(r"(?<![A-Za-z])(?P<a>[A-Z][a-z]{1,5})(?P<b>[A-Z][a-z]{1,11})(?![A-Za-z])")

# the segmenter: person-name tags, and words it tags as names that are not (titles, courtesies)
_NAME_TAGS = ("nr", "nrfg", "nrt")
_NOT_NAMES = set("""阿姨 叔叔 大爷 大妈 大娘 大叔 大哥 大姐 奶奶 爷爷 婆婆 阿婆 阿公 伯伯 老师 师傅 医生 大夫 护士 书记 主任 站长
村长 组长 队长 局长 所长 社工 干事 同志 先生 女士 小姐 老人 老太 老汉 谢谢 感谢 多谢 简体中文 老伴 老乡
老公 老婆 小孩 孩子 儿子 女儿 孙子 孙女 邻居 领导 残疾 低保 特困 五保 留守 小姑娘 小伙子 小朋友 老太太 老大爷 老奶奶
老爷爷 小妹妹 小弟弟 姑娘 小伙
养老 敬老 养老金 养老院 敬老院 托老所 幼儿园 孤儿 保姆 银行卡 慈善 慈善会 唐氏 老总 老大 老二 老三 老四 老五 岳父 岳母 伯母""".split())
# (the second line: everyday words of social work that the segmenter's dictionary tags as person names)
# characters common in given names: a surname followed by one or two of them, not a dictionary word, is unsure
_GIVEN_CHARS = set("伟芳娜敏静丽强磊军勇艳杰娟涛超秀刚英玉兰萍建志辉斌鹏婷雪慧琴华明红平桂霞梅波宇浩晨欣怡佳俊峰亮"
                   "琳燕凤洁颖倩茜晓宏海鑫淑珍翠莲娥梓轩涵睿博文彬")


@functools.lru_cache(maxsize=1)
def _segmenter():
    """rjieba (jieba-rs): its dictionary is in the wheel; nothing is downloaded or cached on disk."""
    import rjieba

    return rjieba


def _pinyin_name(a: str, b: str) -> bool:
    """True when ``a b`` reads as a Chinese name in pinyin: a common surname, then one or two syllables."""
    return a.lower() in _PINYIN_SURNAMES and bool(_GIVEN_PY.fullmatch(b)) and len(b) >= 2


def _split_joined(word: str) -> bool:
    """True when one word (``wangfang`` from ``w a n g f a n g``) is a surname and one or two syllables."""
    low = word.lower()
    return any(low[:k] in _PINYIN_SURNAMES and _GIVEN_PY.fullmatch(low[k:]) is not None
               for k in range(1, min(len(low) - 1, 8)))


# the syllables of Mandarin as pinyin writes them (without tones; ü as v): a given name is one or two of them
_SYLLABLES = frozenset("""a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao
ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu
cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng er
fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han
hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue
jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian
liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming
miu mo mou mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo nv nve o ou pa pai
pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun
ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she
shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te
teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing
xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha
zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun
zuo""".split())
# English words that are also pinyin (a surname, or one or two syllables), common enough in English prose that a pair of
# them reads as English, not as a name, when it is not capitalised as names are: "he can", "long run", "sun tan"
# (the common ones of a 6 MB sample of English documentation, and common verbs)
_ENGLISH_PINYIN = frozenset("""a an he she me you ma pa la ha ye yo ban can fan man men pan ran tan wan women bin pin tin
chin shin hen pen den ten zen die lie tie pie run gun sun long song hang sang tang china mean dean lean tango mango bingo
lingo name data page made one line make like same see suite open range change date case size here along longer running sure
pure mailing routing media mode base take side guide share due site route rule sense sale demo repo human taken bare age piece
sake binding naming care seen hence timing paying cure face fame fake mini shaping menu saying sue mouse danger denying came
waiting citing cite sending dining lining mining pining tiding hiding biding riding siding ruling taking making baking faking
caring daring paring sharing bathing dating rating mating hating seeing being tuning fuming fine mine pine dine tine wine
nine shine bone cone done gone hone lone none tone zone rose nose hose pose dose lose chose tide ride hide bide wide
side kite bite mite rite site cane lane mane pane sane wane bane tame game lame dame gate hate late mate rate sate ache
rake bake cake fake lake make sake wake""".split()) | _ENGLISH
# pinyin that is no name: phrases people write in pinyin (谢谢, 你好, 好的), and places (Hong Kong)
_NOT_PINYIN_NAMES = frozenset({"xie xie", "ni hao", "hao de", "mei you", "zai jian", "shi de", "bu yao", "hong kong",
                               "dui bu", "bu shi", "hao le", "hen hao"})
# surnames that are also the pinyin of an administrative unit, which follows a place name as a surname follows a
# given name: Ning Xiang (宁乡), Changsha Shi (长沙市), Huangtu Zhen
_ADMIN_SUFFIXES = frozenset({"xiang", "shi", "zhen", "xian", "qu", "cun", "sheng"})


@functools.lru_cache(maxsize=4096)
def _syllables(word: str, most: int = 2) -> bool:
    """True when ``word`` is one to ``most`` pinyin syllables (``xiuying``, ``Jian-Guo``, ``Xi'an``)."""
    low = word.lower().replace("-", "").replace("'", "")
    return low.isascii() and low.isalpha() and _split_syllables(low, most)


def _split_syllables(low: str, most: int) -> bool:
    if not low:
        return True
    return most > 0 and any(low[:k] in _SYLLABLES and _split_syllables(low[k:], most - 1)
                            for k in range(min(6, len(low)), 0, -1))


def _pinyin_pairs(nt: str) -> list[tuple[int, int, str]]:
    """Pinyin names of two words in any order and case: a common surname before or after one or two
    syllables (``Wang Fang``, ``Fang Wang``, ``wang fang``, ``WANG fang``), unless both its words are
    also everyday English (``he can``, ``long run``, ``Can He``) or it is part of a phrase people write in
    pinyin (``xie xie ni``, ``ni hao``).  Gives (start, end, detail)."""
    out: list[tuple[int, int, str]] = []
    lowered = nt.lower()
    if len(lowered) == len(nt) and not _CASE_FOLDS_TO_ASCII.search(nt):  # the same words, a fifth of the time
        surnames = [m.span() for m in _PY_SURNAME_LOWER.finditer(lowered)]
    else:
        surnames = [m.span() for m in _PY_SURNAME_WORD.finditer(nt)]
    for start, end in surnames:
        # the two words before the surname and the two after it, when they are apart by spaces only
        lo, hi = max(0, start - 40), min(len(nt), end + 40)
        left = _LEFT_WORDS.search(nt, lo, start)
        right = _RIGHT_WORDS.match(nt, end, hi)
        sur = nt[start:end]
        low = sur.lower()
        seq = [left.group("w1") if left and left.group("w1") else "", left.group("w2") if left else "", sur,
               right.group("w1") if right else "", right.group("w2") if right and right.group("w2") else ""]
        # a phrase in pinyin overlapping words k to k + 1 of seq (the surname is word 2): xie xie ni, ni hao ma
        phrase = [bool(a and b and f"{a} {b}".lower() in _NOT_PINYIN_NAMES) for a, b in zip(seq, seq[1:])]
        pairs = []
        if right and not any(phrase[1:4]):  # surname first: words 2 and 3
            g = right.group("w1")
            pairs.append((start, right.end("w1"), sur, g, g, "pinyin, surname first"))
        if left and low not in _ADMIN_SUFFIXES and not any(phrase[0:3]):  # given name first: words 1 and 2
            g = left.group("w2")
            pairs.append((left.start("w2"), end, g, sur, g, "pinyin, given name first"))
        for s, e, a, b, given, detail in pairs:
            if not 2 <= len(given) <= 12 or not _syllables(given):
                continue
            if a.lower() not in _ENGLISH_PINYIN or b.lower() not in _ENGLISH_PINYIN:
                out.append((s, e, detail))
                break
    return out


def _letter_trie(words: Iterable[str]) -> str:
    """A regular expression for ``words`` (lower-case letters) as a trie: far faster than an alternation."""
    groups: dict[str, list[str]] = {}
    for w in sorted(set(words)):
        groups.setdefault(w[0], []).append(w[1:])
    parts = []
    for c, rest in groups.items():
        tails = [r for r in rest if r]
        parts.append(c + (f"(?:{_letter_trie(tails)}){'?' if '' in rest else ''}" if tails else ""))
    return "|".join(parts)


_PY_SURNAME_WORD = re.compile(r"(?<![A-Za-z])(?:" + _letter_trie(_PINYIN_SURNAMES) + r")(?![A-Za-z])", re.IGNORECASE)
# the same on the text in lower case, without re.IGNORECASE (five times as fast); exact unless the text has one
# of the four letters that re.IGNORECASE takes for an ASCII one (K, ſ, İ, ı)
_PY_SURNAME_LOWER = re.compile(r"(?<![a-z])(?:" + _letter_trie(_PINYIN_SURNAMES) + r")(?![a-z])")
_CASE_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")
_LEFT_WORDS = re.compile(r"(?:(?<![A-Za-z])(?P<w1>[A-Za-z]+)[ \t]+)?(?<![A-Za-z])(?P<w2>[A-Za-z]+)[ \t]+$")
_RIGHT_WORDS = re.compile(r"[ \t]+(?P<w1>[A-Za-z]+)(?![A-Za-z])(?:[ \t]+(?P<w2>[A-Za-z]+)(?![A-Za-z]))?")


_COMMON_WORDS = _WORD_BEFORE | _WORD_AFTER | _NOT_NAMES
_HAN_RUN2 = re.compile(rf"[{HAN}]{{2,}}")


# what follows a place name, not a person's: 龙泉|街道, 白沙|镇
_PLACE_SUFFIX = re.compile("街道|镇|乡|村|县|区|市|州|省|社区|路|街|巷|小区")
# 张家界, 王家湾, 刘家坪: a clan's place
_CLAN_PLACE = re.compile("..?家[界湾坪冲港庄桥岭坡塘岗屯寨铺嘴坝湖山河洲集营沟园口台垸堡]")
# verbs and particles a segmenter glues to the name that follows (找周 娜娜, 找余玉)
_GLUED_BEFORE = set("找叫问请让给跟和与同被把对向帮谢由是喊陪等见")


# characters of given names for the name-slot rule: those of _GIVEN_CHARS and a few more (国, 德, 春, 洋, ...)
_SLOT_GIVEN = frozenset(_GIVEN_CHARS | set("国德春洋庆林玲芬云飞龙嘉"))
# where a name may begin: a surname followed by a given-name character (a look-ahead: every position)
_SLOT_CANDIDATE = re.compile(rf"(?=(?:{_COMPOUND}|[{_SURNAMES}])[{''.join(sorted(_SLOT_GIVEN))}])")
# compound surnames that are nothing else (上官 is also 上|官网)
_SURE_COMPOUND = ("欧阳", "诸葛", "司徒", "皇甫", "慕容", "令狐", "尉迟", "司马")
# what comes before a name: a cue (找, 谢谢, 我是, 社工), or the start of a sentence
_SLOT_LEFT_STRONG = re.compile("(?:我是|我叫|名叫|叫做|叫|谢谢|感谢|多谢|多亏了?|找|问|请|社工|志愿者|工作人员|联系人|户主)$")
_SLOT_LEFT_WEAK = re.compile(rf"(?:^|[^{HAN}A-Za-z0-9]|[{''.join(_GLUED_BEFORE)}是和])$")
# what comes after one: the end of a sentence, or a verb that a person does (说, 来, 办)
_SLOT_RIGHT_STRONG = re.compile(rf"$|[^{HAN}A-Za-z0-9]|说|讲|来|去|办|帮|打|经常|告诉|是")
_SLOT_RIGHT_WEAK = re.compile("的|人|很|也|都|和|跟|对|给|让|在|已|又|还")


def _slot_names(nt: str) -> list[tuple[int, int, str]]:
    """Chinese names found by where they stand: a common surname and one or two given-name characters
    (:data:`_SLOT_GIVEN`) between a cue or a sentence's start (找, 谢谢, 我是, 社工, ``，``) and a verb a person
    does or a sentence's end (说, 来, 办, ``。``): 找于刚办, 谢谢郑洋，, 曾明说, 韩国强说.  A compound surname
    that is nothing else (欧阳, 诸葛) with given-name characters is a name wherever it stands.
    The segmenter misses these where it glues the name to a word (找于|刚办, 韩国|强说).  Gives (start, end, detail)."""
    out: list[tuple[int, int, str]] = []
    n = len(nt)
    last = 0
    for c in _SLOT_CANDIDATE.finditer(nt):
        i = c.start()
        if i < last:
            continue
        ch = nt[i]
        found = None
        for L in ((2, 1) if nt[i:i + 2] in _COMPOUND_SET else (1,)):
            if L == 1 and ch not in _SURNAME_SET:
                continue
            for k in (2, 1):
                e = i + L + k
                if e > n or not all(c in _SLOT_GIVEN for c in nt[i + L:e]):
                    continue
                name = nt[i:e]
                if name in _COMMON_WORDS or nt[i:i + 2] in _COMMON_WORDS or nt[i + L:e] in _COMMON_WORDS:
                    continue
                if L == 2 and nt[i:i + 2] in _SURE_COMPOUND:
                    found = (i, e, "name slot: compound surname")
                    break
                left = nt[max(0, i - 4):i]
                strong_left = _SLOT_LEFT_STRONG.search(left) is not None
                if not strong_left and not _SLOT_LEFT_WEAK.search(left):
                    continue
                if _SLOT_RIGHT_STRONG.match(nt, e) or (strong_left and _SLOT_RIGHT_WEAK.match(nt, e)):
                    found = (i, e, "name slot: between a cue and a verb")
                    break
            if found:
                break
        if found:
            out.append(found)
            last = found[1]
    return out


# a surname and its given name written apart, character by character (萧 德 明, 于　洋, 欧 阳 娜)
_SPACED_NAME = re.compile("(?:" + "|".join("[ \t]*".join(c) for c in _COMPOUND.split("|")) + rf"|[{_SURNAMES}])"
                          rf"(?:[ \t]+[{''.join(sorted(_SLOT_GIVEN))}]){{1,2}}(?![ \t]+[{HAN}])")


def _segmenter_names(nt: str, want_unsure: bool) -> list[tuple[int, int, bool, str]]:
    """Person names the segmenter finds in the normalised text: (start, end, sure, detail).

    A token tagged as a person name (``nr``, ``nrfg``; ``nrt`` for transliterated names) is a sure
    name when it begins with a common surname and is not an everyday word (谢谢, 阿姨); it ends
    before a function word (王芳来|过).  What the segmenter glues together is taken apart: a verb
    before the surname (找|余玉), a surname alone followed by one or two given-name characters
    (谢谢|朱|建兰), a verb and surname followed by a name token (找周|娜娜).  Other name tokens, and
    a surname followed by given-name characters that the segmenter did not call a name, are unsure.
    """
    out = []
    surnames = _SURNAME_SET
    seg = _segmenter()
    for m in _HAN_RUN2.finditer(nt):
        run = m.group()
        if not want_unsure and not any(ch in surnames for ch in run):
            continue
        tokens, pos = [], m.start()
        for word, tag in seg.tag(run):
            tokens.append([pos, word, tag])
            pos += len(word)
        for k, (s, word, tag) in enumerate(tokens):
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if len(word) >= 2 and word[0] in _GLUED_BEFORE and word[1] in surnames and word not in _COMMON_WORDS \
                    and (tag in _NAME_TAGS or (len(word) == 2 and nxt is not None and
                                               (nxt[2] in _NAME_TAGS or _given_like(nxt[1])))):
                s, word = s + 1, word[1:]  # 找余玉 -> 余玉, 找周|娜娜 -> 周|娜娜, 找梁|英辉 -> 梁|英辉
            if len(word) == 1 and word in surnames and nxt is not None and 1 <= len(nxt[1]) <= 2 and \
                    _HAN_RUN1.fullmatch(nxt[1]) and nxt[1] not in _COMMON_WORDS and nxt[1][0] not in _GIVEN_STOP:
                # a surname the segmenter tagged as a name on its own (袁|立新), or followed by given-name characters
                given_like = _given_like(nxt[1]) or nxt[2] in _NAME_TAGS or tag in _NAME_TAGS
                if given_like or want_unsure:
                    out.append((s, s + 1 + len(nxt[1]), given_like, "segmenter: surname and given name"
                                if given_like else "surname and given-name characters"))
                nxt[2] = "_used"
                continue
            if tag == "_used":
                continue
            cut = next((i for i, ch in enumerate(word) if i and ch in _GIVEN_STOP), len(word))
            if cut < len(word) and tag in _NAME_TAGS:  # 王芳来(过): the name ends before a function word
                word = word[:cut]
            if len(word) < 2 or word in _COMMON_WORDS or word[:2] in _WORD_AFTER or \
                    (s > 0 and nt[s - 1] + word[0] in _WORD_BEFORE and tag not in _NAME_TAGS):
                continue
            if tag in _NAME_TAGS and len(word) == 2 and cut == len(word) and nxt is not None and \
                    len(nxt[1]) == 1 and nxt[2] in _NAME_TAGS and nxt[1] in _GIVEN_CHARS:
                word = word + nxt[1]  # 张涛|静
                nxt[2] = "_used"
            if tag in _NAME_TAGS and 2 <= len(word) <= 4:
                sure = (tag != "nrt" or word[0] in surnames) and (word[0] in surnames or word[:2] in _COMPOUND_SET) \
                    and not any(word.startswith(t) or word.endswith(t) for t in ("社工", "老师"))
                e = s + len(word)
                if _PLACE_SUFFIX.match(nt, e) or _PLACE_SUFFIX.fullmatch(word[-1]) or \
                        _PLACE_SUFFIX.fullmatch(word[-2:]) or _CLAN_PLACE.fullmatch(word):
                    continue  # 龙泉|街道, 白竹镇, 张家界: (part of) a place name
                if sure and len(word) == 2 and e < len(nt) and nt[e] in _GIVEN_CHARS and \
                        (nt[e] not in _GIVEN_BUT_WORD or e + 1 >= len(nt) or not _HAN_RUN1.match(nt[e + 1])
                         or (nt[e + 1] in _GIVEN_STOP and nt[e] != "刚")):
                    word = nt[s:e + 1]  # 孙娟|静来过: a third given-name character the segmenter glued to a verb
                if not sure and any(c.start() < e and c.end() > s
                                    for c in _CUT_WORDS.finditer(nt, max(0, s - 3), e + 3)):
                    continue  # 加微|信聊: the segmenter cut through a word (微信); not a name
                if not sure and word[0] in _GIVEN_STOP:
                    continue  # 太贵, 很好: no name begins with an adverb or a particle
                if sure or want_unsure:
                    out.append((s, s + len(word), sure, "segmenter: person name" if sure else
                                "segmenter: name without a known surname"))
            elif want_unsure and 2 <= len(word) <= 3 and word[0] in surnames and \
                    all(ch in _GIVEN_CHARS for ch in word[1:]):
                out.append((s, s + len(word), False, "surname and given-name characters"))
        if want_unsure:  # 阿强, 小芳: a nickname, a given-name character after 阿 or 小
            for n in _NICKNAME.finditer(run):
                out.append((m.start() + n.start(), m.start() + n.end(), False, "a nickname"))
    return out


_HAN_RUN1 = re.compile(rf"[{HAN}]+")
_NICKNAME = re.compile("阿[伟芳娜敏静丽强磊军勇艳杰娟涛超秀刚英玉兰萍志辉斌鹏婷雪慧琴华明红平桂霞梅波亮燕凤洁颖倩晓宏海鑫珍翠莲娥]"
                       "|小[芳娜敏静丽强磊军勇艳杰娟涛婷雪慧琴霞梅亮燕凤洁颖倩莲娥红](?![花区学时组孩朋吃事店卖])")
# words the segmenter cuts through when it guesses a name (加微|信): an unsure name overlapping one is none
_CUT_WORDS = re.compile("微信|扣扣|社工|志愿|阿姨|老师|服务|活动|政策|补贴|低保|医生|上门")
# given-name characters that also begin everyday words after a name (刚来, 超级, 明天, 平时, 建议, 志愿, 文件, 海边, 华丽)
_GIVEN_BUT_WORD = set("刚超明平建志文海华英宏亮")


def _given_like(word: str) -> bool:
    """One or two characters common in given names (建平, 娜)."""
    return 1 <= len(word) <= 2 and all(ch in _GIVEN_CHARS for ch in word)


def detect(text: str, names: Iterable[Any] = (), *, unsure: bool = False, numbers: bool = False,
           heuristic_names: bool = True) -> list[Detection]:
    """Every piece of personal data in ``text``: what scrubbing removes and the scan reports.

    Parameters
    ----------
    text : str
        Any text (it is normalised first, :func:`normalise`).
    names : iterable of str
        Roster names.
    unsure : bool
        Also give what a detector is unsure about (``Detection.sure`` false): what makes
        :func:`evalkit.privacy.assess` withhold a comment.
    numbers : bool
        Also give any other long number (kind ``number``), as scrubbing removes them.
    heuristic_names : bool
        Surnames with titles and cues, the segmenter and pinyin names.

    Returns
    -------
    list of Detection
        In text order, without overlaps; spans are of ``text``.

    Examples
    --------
    >>> [(d.kind, d.value) for d in detect("王芳的电话138.0013.8000，住桃花村三组")]
    [('name', '王芳'), ('phone', '138.0013.8000'), ('address', '桃花村三组')]
    """
    index = names if isinstance(names, NameIndex) else NameIndex(names)
    hits = detect_folded(fold(text), index, heuristic_names, numbers, unsure=unsure)
    return [Detection(h.kind, h.start, h.end, text[h.start:h.end], h.sure, h.detail) for h in hits]


@dataclass(frozen=True)
class Detection:
    """One piece of personal data found by :func:`detect`: its kind, where, and whether the detector is sure."""

    kind: str
    start: int
    end: int
    value: str
    sure: bool = True
    detail: str = ""


#: Where, in a value of digits and separators, a sure detector can find a phone, identity or card
#: number: a superset, in RE2 syntax, so that :mod:`evalkit.schema` can find the few ids to run the
#: detectors on with pyarrow (mobile, landline, identity number as written; groups of at most four
#: digits or an identity number's 6-8-4 as :func:`normalise` joins them; ten digits in a row).
IDENTIFIER_PREFILTER = (r"1[3-9][0-9](?:[ -]?[0-9]){8}|\(?0[0-9]{2,3}\)?[ -]?[2-9][0-9]{2,3}[ -]?[0-9]{4}"
                        r"|[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]|[0-9]{10}"
                        r"|[0-9]{1,4}(?:(?:[ \t]{1,2}|[ ]?[-·.][ ]?)[0-9]{1,4}){2,}"
                        r"|[0-9]{6}[ .·-][0-9]{4,8}|[0-9]{3}[ .·-][0-9]{3}[ .·-][0-9]{5}")


#: The same for a value of digits alone: a mobile (with 86 or 0086), or 15 to 19 digits (identity and
#: card numbers); a run of digits holds nothing else a sure detector finds (a bare landline needs a cue).
DIGITS_PREFILTER = r"^(?:(?:0086|86)?1[3-9][0-9]{9}|[0-9]{15,19})$"


def identifier_kind(value: str) -> str | None:
    """The kind of personal data an id-column value holds, or ``None`` for a possible pseudonym.

    The pseudonym screens of :mod:`evalkit.schema` use it, so that a value validation accepts as a
    ``person_id`` is never one in which the scan finds a phone, identity or card number: it is the
    kind of the first sure detection anywhere in the value (the scan's own detectors, on the same text).

    >>> identifier_kind("138.0013.8000"), identifier_kind("110105194912310021"), identifier_kind("P0000012345")
    ('phone', 'id_like', None)
    """
    v = str(value).strip()
    if not v:
        return None
    hits = [h for h in detect_folded(fold(v), _EMPTY_INDEX, True, False) if h.sure]
    return hits[0].kind if hits else None


def detect_folded(folded: str, names: NameIndex, heuristic_names: bool, numbers: bool, *,
                  unsure: bool = False) -> list[Hit]:
    """Every piece of personal data in ``folded`` (text after ``translate(FOLD)``), without overlaps,
    in priority order: e-mail, cued WeChat/QQ ids, identity numbers, phones, bank cards, plates,
    addresses, roster names, name cues, segmenter and pinyin names, numbers; and with ``unsure``
    what a detector is unsure about.  Spans are of ``folded`` (the same as of the original text)."""
    hits: list[Hit] = []
    taken: list[tuple[int, int]] = []

    def add(s: int, e: int, kind: str, detail: str = "", sure: bool = True) -> None:
        if e <= s:
            return
        i = bisect.bisect_left(taken, (s, s))
        if (i > 0 and taken[i - 1][1] > s) or (i < len(taken) and taken[i][0] < e):
            return
        taken.insert(i, (s, e))
        hits.append(Hit(s, e, kind, detail, sure))

    nz = normalise(folded)
    nt = nz.text

    def addn(s: int, e: int, kind: str, detail: str = "", sure: bool = True) -> None:
        add(*nz.span(s, e), kind, detail, sure)

    if "@" in folded:
        for m in _EMAIL.finditer(folded):
            add(*m.span(), "email")
    low = nt.lower()
    if _EMAIL_AT_NEEDED.search(nt):
        for m in _EMAIL_ZH.finditer(nt):
            addn(*m.span(), "email", "written with other punctuation")
    if "wx" in low or "vx" in low or "we" in low or "信" in nt or "微" in nt:
        for m in _WXID.finditer(nt):
            addn(*m.span(), "wechat", "wxid")
        for m in _WECHAT.finditer(nt):
            addn(*m.span("v"), "wechat", "after a WeChat cue")
    if "qq" in low or "扣扣" in nt or "企鹅" in nt:
        for m in _QQ.finditer(nt):
            addn(*m.span("v"), "qq", "after a QQ cue")
    for m in _ID18.finditer(folded):
        digits = re.sub(r"[ -]", "", m.group()).upper()
        if is_resident_id(digits):
            add(*m.span(), "id_number", "valid check digit and birth date")
        elif _plausible_birth(digits[6:14]):
            add(*m.span(), "id_like", "birth date plausible but the check digit fails")
    for m in _ID15.finditer(folded):
        if is_resident_id(m.group()):
            add(*m.span(), "id_number", "old 15-digit form with a valid birth date")
    if nz.digits_changed:  # what only the reader's reading shows: 138.0013.8000, 一三八…, 4301 0219…
        for m in _N_ID.finditer(nt):
            digits = m.group().upper()
            if is_resident_id(digits):
                addn(*m.span(), "id_number", "valid check digit and birth date")
            elif len(digits) == 18 and _plausible_birth(digits[6:14]):
                addn(*m.span(), "id_like", "birth date plausible but the check digit fails")
    if "卡" in nt or "账号" in nt or "帐号" in nt or "card" in low:
        for m in _CUED_CARD.finditer(nt):
            addn(*m.span("v"), "bank_card", "after a card cue")
    for m in _N_CARD.finditer(nt):
        if luhn_ok(m.group()):
            addn(*m.span(), "bank_card", "16 to 19 digits passing the Luhn check")
    for m in _MOBILE.finditer(folded):
        add(*m.span(), "phone", "mobile")
    for m in _LANDLINE.finditer(folded):
        add(*m.span(), "phone", "landline")
    if nz.digits_changed:
        for m in _N_MOBILE.finditer(nt):
            addn(*m.span(), "phone", "mobile")
        for m in _N_LANDLINE.finditer(nt):
            s, e = nz.span(*m.span())
            if folded[s:e] != m.group():  # written apart (dots, spaces, Chinese numerals), not a bare code
                add(s, e, "phone", "landline")
    if _ANY_PHONE_CUE.search(nt):
        for m in _N_LANDLINE.finditer(nt):  # a bare landline after a phone cue
            if _PHONE_CUE.search(nt, max(0, m.start() - 8), m.start()):
                addn(*m.span(), "phone", "landline after a cue")
    if any(p in nt for p in _PROVINCES):
        for m in _PLATE.finditer(nt):
            addn(m.start(), m.end(), "plate")
    def place(s: int) -> int:  # 住|向阳村: a place name may begin with 向, 和, 与, ... right after 住 or 在
        return s - 1 if s >= 2 and nt[s - 1] in _STOP_PLACE_INITIAL and nt[s - 2] in "住在于到往" else s

    for pattern, needs in zip(_ADDRESSES, _ADDRESS_NEEDS):
        if any(n in nt for n in needs):
            for m in pattern.finditer(nt):
                addn(place(m.start()), m.end(), "address")
    if "组" in nt or "队" in nt:
        for m in _VILLAGE_GROUP.finditer(nt):
            addn(place(m.start()), m.end(), "address", "village group")
    if "村" in nt or "屯" in nt or "寨" in nt:
        for m in _VILLAGE.finditer(nt):  # 住在桃花村: where someone lives; 桃花村的老人: unsure
            lived = _LIVES.search(nt, max(0, m.start() - 3), m.start()) is not None
            if lived or unsure:
                addn(m.start("v"), m.end("v"), "address", "village where someone lives" if lived else "village",
                     sure=lived)
    if "室" in nt or "号" in nt:
        for m in _UNIT_ROOM.finditer(nt):
            addn(*m.span(), "address", "building, unit or room")
    for s, e in names.find(nt):
        addn(s, e, "name", "roster")
    if heuristic_names:
        for m in _TITLE_NAME.finditer(nt):
            s = m.start("n")
            if s > 0 and nt[s - 1] + nt[s] in _WORD_BEFORE:
                continue
            whole = m.group("t") in ("某", "某某")
            addn(s, m.end() if whole else m.end("n"), "name", "surname with a title")
        for m in _PREFIX_NAME.finditer(nt):
            s, e = m.span("n")
            if nt[s] in _NOT_AFTER_PREFIX or nt[s:e + 1] in _WORD_AFTER or \
                    (m.start() > 0 and nt[m.start() - 1:m.start() + 1] in _PREFIX_WORDS):
                continue
            addn(s, e, "name", "surname after 小/老")
        for m in _CUE_NAME.finditer(nt):
            s, e = m.span("n")
            if nt[s] in _NOT_AFTER_CUE or nt[s:s + 2] in _WORD_AFTER:
                continue
            addn(s, e, "name", "name after a cue")
        # names by where they stand before the segmenter's: it cuts a compound surname from its given name
        # (司马|志强) and glues a name to a word (韩国|强说)
        if " " in folded or "\t" in folded:
            for m in _SPACED_NAME.finditer(folded):
                add(*m.span(), "name", "name slot: written apart")
        for s, e, detail in _slot_names(nt):
            addn(s, e, "name", detail)
        for s, e, sure, detail in _segmenter_names(nt, unsure):
            addn(s, e, "name", detail, sure)
        if any(c.isascii() and c.isalpha() for c in nt):
            for s, e, detail in _pinyin_pairs(nt):
                addn(s, e, "name", detail)
        for m in _LATIN_PAIR.finditer(nt):
            a, b = m.group("a"), m.group("b")
            if _pinyin_name(a, b):
                addn(*m.span(), "name", "pinyin")
            elif unsure and a.lower() not in _ENGLISH and b.lower() not in _ENGLISH:  # John Smith, Ah Fang
                addn(*m.span(), "name", "a pair of capitalised words", sure=False)
        for m in _CAMEL.finditer(nt):
            if _pinyin_name(m.group("a"), m.group("b")):
                addn(*m.span(), "name", "pinyin")
        if " " in folded:
            for m in _SPACED_LETTERS.finditer(folded):  # w a n g f a n g
                if _split_joined(m.group().replace(" ", "")):
                    add(*m.span(), "name", "pinyin, spaced letters")
    if unsure:
        for m in _N_CUED_DIGITS.finditer(nt):
            if _PHONE_CUE.search(nt, max(0, m.start() - 8), m.start()) or \
                    re.search(r"(?:(?i:qq|vx|wx)|微信|扣扣)[号:： ]*$", nt[max(0, m.start() - 8):m.start()]):
                addn(*m.span(), "phone", "digits after a phone cue", sure=False)
    if numbers:
        for m in _NUMBER.finditer(folded):
            add(*m.span(), "number")
    hits.sort(key=lambda h: h.start)
    return hits


# 养老金, 从小刘..: words that end in 小 or 老 just before a surname
_PREFIX_WORDS = set("养老 敬老 尊老 防老 古老 衰老 年老 到老 终老 元老 大小 从小 最小 很小 较小 缩小 弱小 幼小 矮小 短小 渺小 "
                    "狭小 胆小 减小 变小".split())

_SURNAME_SET = frozenset(_SURNAMES)
_COMPOUND_SET = frozenset(_COMPOUND.split("|"))
_EMPTY_INDEX = NameIndex()
