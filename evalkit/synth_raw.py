"""Write the sample province the way real exports look (``evalkit synth --raw DIR``).

The tables are those of :func:`evalkit.synth.generate` (same seed, same size), written as an evaluator
receives them rather than in the codebook's shape, together with the mapping file that
``evalkit import`` needs to turn them back into the codebook's tables (``mapping.toml``):

* **survey**: one questionnaire-platform export per wave (``问卷/``), as a questionnaire platform writes
  it: platform columns first (序号, 提交答卷时间, 所用时间, 来源, 来源详情, 来源IP, 微信昵称, 手机号:
  bookkeeping and personal data, with made-up values, which the import drops), then numbered question
  texts as headers (``9、您对社工的服务态度是否满意？``) with text answers (非常满意 ... 非常不满意,
  说不清, 拒绝回答) and group names in Chinese, the weight added by the evaluator as the last column, and
  no wave column (the wave is a constant of each file in the mapping); the last wave's questionnaire was
  revised (one question reworded: :data:`REVISED`).  The first wave is an SPSS
  ``.sav`` file instead, with numeric answers carrying value labels and the question texts as variable
  labels;
* **services**: the ledger (``服务台账/``) as one workbook per county with a sheet per half-year
  (``2024年上半年``), Chinese headers and Chinese names for groups, items and modes; one county in ten
  sends a CSV in GB18030 from another station system instead;
* **regions**: the registers as one workbook with a sheet per prefecture, a title row above the header
  and the codebook's Chinese column names (recognised without a mapping);
* **stations**: one workbook with a sheet per year, Chinese headers, and opening dates written four
  ways in turn (``2021-03-05``, ``2021/3/5``, ``2021年3月5日`` and an Excel date cell);
* ``mapping.toml`` (the contract: ``data/README.md``, "Importing raw exports"), ``dataset.json`` (the
  dataset's description, as for the clean sample) and a ``README.txt`` the mapping ignores.

Every value is kept exactly: codes as text (leading zeros), weights and money as full-precision
floats, comments verbatim, and the rows of each table in the clean sample's order (files sort in wave
order, sheets in year order), so that importing the folder gives the clean sample's tables and an
identical indicator table (``tests/test_import_roundtrip.py``).

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> written = write_raw(folder / "raw", size="small")
>>> sorted(p.name for p in written if p.suffix in (".toml", ".sav"))
['mapping.toml', '满意度调查-2023.sav']
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .io import atomic_path
from .schema import codes
from .synth import DEFAULT_SEED, generate, province_meta

__all__ = ["LIKERT_TEXT", "REVISED", "SURVEY_QUESTIONS", "mapping_text", "write_raw"]

#: Likert code -> the answer text a questionnaire platform exports (the import's standard texts).
LIKERT_TEXT = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意", 8: "说不清", 9: "拒绝回答"}

#: Survey column -> (SPSS variable name, numbered question text as the platform's header).
SURVEY_QUESTIONS = {
    "respondent_id": ("Q1", "1、受访者编号"),
    "interview_date": ("Q2", "2、访问日期"),
    "county_code": ("Q3", "3、所在县（市、区）代码"),
    "township_code": ("Q4", "4、所在乡镇（街道）代码"),
    "psu": ("Q5", "5、所在村（社区）代码"),
    "group": ("Q6", "6、您属于以下哪类人员？"),
    "q_overall": ("Q7", "7、总的来说，您对社工站提供的服务是否满意？"),
    "q_access": ("Q8", "8、您觉得到社工站办事、获得服务是否方便？"),
    "q_attitude": ("Q9", "9、您对社工的服务态度是否满意？"),
    "q_professional": ("Q10", "10、您对社工的专业水平是否满意？"),
    "q_timely": ("Q11", "11、您对社工回应您需求的及时性是否满意？"),
    "q_effect": ("Q12", "12、您对社工服务的效果是否满意？"),
    "comment": ("Q13", "13、您对社工站的服务还有什么意见和建议？"),
    "interviewer_id": ("Q14", "14、访员编号"),
    "weight": ("权重", "权重"),
}
#: The last wave's questionnaire was revised: these questions are worded differently (so its headers differ).
REVISED = {"q_timely": "11、社工回应您的需求是否及时？"}
_PLATFORM = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来源IP", "微信昵称", "手机号"]
_NICKNAMES = ("开心每一天", "清风徐来", "向日葵", "平安是福", "小溪流水", "山水之间", "阳光明媚", "岁月静好",
              "知足常乐", "一帆风顺", "晨曦", "老树", "云淡风轻", "笑口常开")
_SOURCES = (("微信", "直接访问"), ("手机提交", "直接访问"), ("链接", "N/A"))

#: Ledger column -> its header in the station systems' exports.
LEDGER_HEADERS = {
    "record_id": "记录编号", "date": "服务日期", "county_code": "县（市、区）代码",
    "township_code": "乡镇（街道）代码", "person_id": "服务对象编号", "person_group": "服务对象类别",
    "service_item": "服务项目", "mode": "服务方式", "minutes": "服务时长（分钟）",
}
#: Station column -> its header in the stations workbook.
STATION_HEADERS = {
    "year": "年度", "county_code": "县（市、区）代码", "township_code": "乡镇（街道）代码", "opened": "建站时间",
    "social_workers": "驻站社工（人）", "certified_social_workers": "其中：持证社工（人）",
    "volunteers": "志愿者（人）", "service_level": "专业化水平", "budget_yuan": "年度财政投入（元）",
    "supervision_hours": "接受督导（小时）",
}
_LEDGER_NOTE = "备注"
_REGISTERS = "区划与重点人群登记.xlsx"
_STATIONS = "社工站基本情况.xlsx"


def _zh(table: str) -> dict[str, str]:
    """The codebook's Chinese column names of a table (tables.toml ``zh``)."""
    from .schema import table_spec

    return {c["name"]: c["zh"] for c in table_spec(table)["columns"]}


def _labels(code_list: str) -> dict[str, str]:
    return {k: v["zh"] for k, v in codes(code_list).items()}


def _workbook(path: Path, sheets: dict[str, tuple[list[str], list[list[object]]]], title: str | None = None) -> Path:
    """Write a workbook (write-only openpyxl: cells as given, datetimes as Excel date cells)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for name, (header, rows) in sheets.items():
        ws = book.create_sheet(name)
        if title:
            ws.append([title])
        ws.append(header)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        book.save(tmp)
    return path


def _cells(frame: pd.DataFrame) -> list[list[object]]:
    """Rows of Python values (None for missing, datetime for dates): what a spreadsheet holds."""
    out = frame.astype(object).where(frame.notna(), None)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            out[col] = [None if pd.isna(v) else v.to_pydatetime() for v in frame[col]]
    return out.to_numpy().tolist()


def _platform(rng: np.random.Generator, d: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Made-up platform columns: submission time, time taken, source, IP, nickname, masked phone."""
    n = len(d)
    seconds = rng.integers(8 * 3600, 20 * 3600, n)
    submitted = d["interview_date"] + pd.to_timedelta(seconds, unit="s")
    source = rng.integers(0, len(_SOURCES), n)
    ip = [f"{a}.{b}.{c}.{e}({city})" for a, b, c, e, city in zip(
        rng.choice([36, 113, 175, 183, 222], n), rng.integers(1, 255, n), rng.integers(0, 255, n),
        rng.integers(1, 255, n), "示例省-" + names)]
    nick = np.array(_NICKNAMES)[rng.integers(0, len(_NICKNAMES), n)]
    nick = np.where(rng.random(n) < 0.3, nick + rng.integers(1, 999, n).astype(str), nick)
    phone = [f"1{p}****{q:04d}" for p, q in zip(rng.choice([38, 39, 58, 77, 86, 89], n), rng.integers(0, 10_000, n))]
    return pd.DataFrame({
        "序号": np.arange(1, n + 1),
        "提交答卷时间": [f"{t.year}/{t.month}/{t.day} {t:%H:%M:%S}" for t in submitted],
        "所用时间": [f"{s}秒" for s in rng.integers(95, 900, n)],
        "来源": [_SOURCES[i][0] for i in source],
        "来源详情": [_SOURCES[i][1] for i in source],
        "来源IP": ip,
        "微信昵称": np.where(source == 0, nick, None),
        "手机号": phone,
    }, index=d.index)


def _survey(rng: np.random.Generator, survey: pd.DataFrame, regions: pd.DataFrame, out: Path) -> list[Path]:
    pref_name = regions.drop_duplicates("county_code").set_index("county_code")["prefecture_name_zh"]
    group_zh = _labels("person_group")
    written = []
    for i, year in enumerate(sorted(survey["year"].unique())):
        d = survey[survey["year"] == year].drop(columns="year")
        platform = _platform(rng, d, d["county_code"].map(pref_name))
        answers = d.copy()
        answers["group"] = d["group"].map(group_zh)
        if i == 0:  # the first wave as SPSS: numeric answers with value labels
            path = out / "问卷" / f"满意度调查-{year}.sav"
            written.append(_sav(platform, answers, path))
            continue
        for q in ("q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect"):
            answers[q] = d[q].map(LIKERT_TEXT)
        answers["interview_date"] = d["interview_date"].dt.strftime("%Y-%m-%d")
        last = i == survey["year"].nunique() - 1
        frame = pd.concat([platform, answers[list(SURVEY_QUESTIONS)].set_axis(
            list(_headers(last).values()), axis=1)], axis=1)
        path = out / "问卷" / f"满意度调查-{year}.xlsx"
        written.append(_workbook(path, {"Sheet1": (list(frame.columns), _cells(frame))}))
    return written


def _headers(last: bool) -> dict[str, str]:
    """Survey column -> the platform export's header, in the last (revised) wave or an earlier one."""
    return {c: REVISED.get(c, text) if last else text for c, (_, text) in SURVEY_QUESTIONS.items()}


def _sav(platform: pd.DataFrame, answers: pd.DataFrame, path: Path) -> Path:
    import pyreadstat

    group_codes = list(codes("person_group"))
    frame = platform.fillna("").astype({"序号": "float64"})
    for col, (var, _) in SURVEY_QUESTIONS.items():
        frame[var] = answers[col]
    frame["Q2"] = [t.date() for t in answers["interview_date"]]
    frame["Q6"] = answers["group"].map({_labels("person_group")[c]: k + 1 for k, c in enumerate(group_codes)})
    frame["Q6"] = frame["Q6"].astype("float64")
    frame["Q13"] = answers["comment"].fillna("")
    likert = [SURVEY_QUESTIONS[q][0] for q in ("q_overall", "q_access", "q_attitude", "q_professional",
                                                 "q_timely", "q_effect")]
    for var in likert:
        frame[var] = frame[var].astype("float64")
    value_labels = {var: {float(k): v for k, v in LIKERT_TEXT.items()} for var in likert}
    value_labels["Q6"] = {float(k + 1): _labels("person_group")[c] for k, c in enumerate(group_codes)}
    labels = {var: text for var, text in SURVEY_QUESTIONS.values()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pyreadstat.write_sav(frame.reset_index(drop=True), str(tmp), column_labels=labels,
                             variable_value_labels=value_labels,
                             variable_measure={**{v: "ordinal" for v in likert}, "Q6": "nominal"})
    return path


def _ledgers(services: pd.DataFrame, regions: pd.DataFrame, out: Path) -> list[Path]:
    names = regions.drop_duplicates("county_code").set_index("county_code")["county_name_zh"]
    d = services.copy()
    d["person_group"] = d["person_group"].map(_labels("person_group"))
    d["service_item"] = d["service_item"].map(_labels("service_item"))
    d["mode"] = d["mode"].map(_labels("mode"))
    d = d[list(LEDGER_HEADERS)]
    # a note column the stations fill now and then: not a codebook column (dropped in the mapping)
    d[_LEDGER_NOTE] = np.where(np.arange(len(d)) % 97 == 5, "补录", None)
    half = np.where(d["date"].dt.month <= 6, "上半年", "下半年")
    sheet = d["date"].dt.year.astype(str) + "年" + half
    written = []
    for k, (county, part) in enumerate(d.groupby("county_code", sort=True)):
        stem = f"服务台账/{county}{names[county]}服务台账"
        if k % 10 == 1:  # another station system: one CSV in GB18030, dates as text
            path = out / f"{stem}.csv"
            text = part.assign(date=part["date"].dt.strftime("%Y-%m-%d")).rename(columns=LEDGER_HEADERS)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                text.to_csv(tmp, index=False, encoding="gb18030")
            written.append(path)
            continue
        sheets = {name: ([*LEDGER_HEADERS.values(), _LEDGER_NOTE], _cells(rows))
                  for name, rows in part.groupby(sheet.loc[part.index], sort=True)}
        written.append(_workbook(out / f"{stem}.xlsx", sheets))
    return written


def _registers(regions: pd.DataFrame, out: Path) -> Path:
    zh = _zh("regions")
    sheets = {}
    for _, part in regions.groupby("prefecture_code", sort=True):
        part = part.assign(urban_rural=part["urban_rural"].map(_labels("urban_rural")))
        sheets[part["prefecture_name_zh"].iloc[0]] = (list(zh.values()), _cells(part[list(zh)]))
    years = regions["year"]
    title = f"示例省（合成数据）乡镇（街道）区划、人口及重点人群登记表（{years.min()}-{years.max()}年）"
    return _workbook(out / _REGISTERS, sheets, title=title)


def _stations(stations: pd.DataFrame, out: Path) -> Path:
    d = stations[list(STATION_HEADERS)].copy()
    opened = d["opened"]
    forms = np.arange(len(d)) % 4
    text = np.select([forms == 0, forms == 1, forms == 2],
                     [opened.dt.strftime("%Y-%m-%d"),
                      [f"{t.year}/{t.month}/{t.day}" for t in opened],
                      [f"{t.year}年{t.month}月{t.day}日" for t in opened]], "")
    cells = _cells(d)
    col = list(STATION_HEADERS).index("opened")
    for row, form, value in zip(cells, forms, text):
        if form != 3:
            row[col] = str(value)
    sheets: dict[str, tuple[list[str], list[list[object]]]] = {}
    for year, row in zip(d["year"], cells):
        sheets.setdefault(f"{year}年", (list(STATION_HEADERS.values()), []))[1].append(row)
    return _workbook(out / _STATIONS, sheets)


def _toml(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def mapping_text(survey_years: list[int]) -> str:
    """The mapping file the raw sample needs (the contract is in data/README.md, "Importing raw exports")."""
    lines = [
        "# evalkit import mapping for the raw sample province written by `evalkit synth --raw`",
        "# (documented in data/README.md, \"Importing raw exports\"). Run: evalkit import RAW_DIR -o DATA_DIR --map mapping.toml",
        "version = 1",
        'ignore = ["README.txt"]',
        "",
        "# The registers (one sheet per prefecture) use the codebook's Chinese column names, so they need no",
        "# columns here; only the title row above the header is said.",
        "[[source]]",
        f"files = {_toml(_REGISTERS)}",
        'table = "regions"',
        "header_row = 2",
        "",
        "[[source]]",
        f"files = {_toml(_STATIONS)}",
        'table = "stations"',
        "",
        "[source.columns]",
    ]
    zh_st = _zh("stations")
    lines += [f"{c} = {_toml(h)}" for c, h in STATION_HEADERS.items() if zh_st[c] != h]
    lines += [
        "",
        "# The ledgers: one workbook (or CSV) per county, a sheet per half-year.",
        "[[source]]",
        'files = "服务台账/*"',
        'table = "services"',
        f"drop = [{_toml(_LEDGER_NOTE)}]",
        "",
        "[source.columns]",
    ]
    zh_sv = _zh("services")
    lines += [f"{c} = {_toml(h)}" for c, h in LEDGER_HEADERS.items() if zh_sv[c] != h]
    for i, year in enumerate(survey_years):
        sav = i == 0
        lines += ["", f"# The {year} survey wave: {'an SPSS file (variables Q1..Q14, value labels)' if sav else 'a questionnaire-platform export'}; the wave is not a column.",
                  "[[source]]", f"files = {_toml(f'问卷/满意度调查-{year}.' + ('sav' if sav else 'xlsx'))}",
                  'table = "survey"', "", "[source.columns]"]
        headers = _headers(i == len(survey_years) - 1)
        lines += [f"{c} = {_toml(var if sav else headers[c])}" for c, (var, _) in SURVEY_QUESTIONS.items()]
        lines += ["", "[source.constants]", f"year = {year}"]
    return "\n".join(lines) + "\n"


_README = """示例省（合成数据）原始导出样例 / Raw exports of the synthetic sample province

Written by `evalkit synth --raw` (seed {seed}, size {size}). Nothing here describes real people or places:
the names, nicknames, IP addresses and (masked) phone numbers are made up.

  问卷/                       survey: questionnaire-platform exports per wave (the first as SPSS .sav)
  服务台账/                   service ledgers: one workbook per county, a sheet per half-year (some CSV, GB18030)
  {registers}    registers: a sheet per prefecture
  {stations}          stations: a sheet per year
  mapping.toml                how these files map to the codebook (evalkit import ... --map mapping.toml)
"""


def write_raw(out_dir: str | Path, *, seed: int = DEFAULT_SEED, size: str = "full",
              tables: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the sample province as raw exports, with ``mapping.toml``, into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write (created if missing).  Files of an earlier raw sample in it are overwritten.
    seed, size
        As for :func:`evalkit.synth.generate`: the same seed and size give the same province.
    tables : dict, optional
        The tables of ``generate(seed, size)`` when the caller already has them.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out_dir)
    tables = tables if tables is not None else generate(seed=seed, size=size)
    rng = np.random.default_rng([seed, 18])  # the made-up platform values; the tables are generate's
    out.mkdir(parents=True, exist_ok=True)
    written = [_registers(tables["regions"], out), _stations(tables["stations"], out)]
    written += _ledgers(tables["services"], tables["regions"], out)
    written += _survey(rng, tables["survey"], tables["regions"], out)
    years = [int(y) for y in sorted(tables["survey"]["year"].unique())]
    for name, text in (("mapping.toml", mapping_text(years)),
                       ("dataset.json", json.dumps(province_meta(seed, size), ensure_ascii=False, indent=2) + "\n"),
                       ("README.txt", _README.format(seed=seed, size=size, registers=_REGISTERS, stations=_STATIONS))):
        with atomic_path(out / name) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(out / name)
    return written
