"""Generate a realistic, seeded, entirely synthetic province.

The sample province mirrors the scale of the published Hunan "禾计划" case in
``shared/domain.md``: 14 prefectures, 122 counties, 1,933 townships and three
yearly waves.  In the latest wave every township has a station, about 4,000
social workers and 140,000 volunteers work in them, 280 million yuan is spent
and 95% of surveyed service users are satisfied; over the three years the
ledgers hold about 3.2 million person-times, of which 893,600 visitors received,
1,437,000 screenings and 844,500 home visits.

Heterogeneity is built in so that measures and reports have something to find:
three weak prefectures, county random effects, urban-rural gaps, small townships
with a handful of respondents, one county that missed the middle survey wave,
and satisfaction that improves faster in more professional (3.0) stations.

Every table says it is synthetic: the province is called "Sample Province
(synthetic)", ``dataset.json`` carries ``"synthetic": true`` and Parquet files
carry it in their metadata.  Nothing here describes real people or places.

Examples
--------
>>> p = generate(size="small")
>>> sorted(p)
['regions', 'services', 'stations', 'survey']
>>> p["regions"]["county_code"].str.len().unique().tolist()
[6]
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from . import __version__
from .io import write_table
from .schema import TABLES, codes, table_spec

__all__ = ["DEFAULT_SEED", "NATIONAL_SIZES", "NATIONAL_TARGETS", "TARGETS", "YEARS", "generate", "generate_national",
           "national_profile", "write_province", "dataset_meta", "province_meta", "synthesize", "synthesize_national"]

#: Seed of the shipped sample province.
DEFAULT_SEED = 20180501

#: The survey waves (calendar years) generated.
YEARS = (2023, 2024, 2025)

#: Published province figures the full-size province reproduces (shared/domain.md).
TARGETS = {
    "stations_latest": 1933,
    "social_workers_latest": 4000,
    "volunteers_latest": 140_000,
    "budget_yuan_latest": 280_000_000,
    "satisfaction_latest": 0.95,
    "person_times_total": 3_200_000,
    "drop_in_total": 893_600,
    "screening_total": 1_437_000,
    "home_visit_total": 844_500,
}

_SIZES = {
    "full": {"counties": (9, 9, 5, 12, 12, 9, 9, 4, 6, 11, 11, 13, 5, 7), "townships": 1933},
    "small": {"counties": (2, 2), "townships": 40},
}
_WEAK_PREFECTURES = (8, 11, 13)  # 0-based: prefectures 9, 12 and 14 lag behind
#: The national sizes: every province on the Hunan profile, varied (:func:`national_profile`).
NATIONAL_SIZES = ("national", "national-small")
# province code -> county-level units, roughly as published (31 provinces, 2,850 in all); the names are synthetic
_NATIONAL_COUNTIES = {
    "11": 16, "12": 16, "13": 167, "14": 117, "15": 103, "21": 100, "22": 60, "23": 121, "31": 16, "32": 95,
    "33": 90, "34": 104, "35": 84, "36": 100, "37": 136, "41": 157, "42": 103, "43": 122, "44": 122, "45": 111,
    "46": 25, "50": 38, "51": 183, "52": 88, "53": 129, "54": 74, "61": 107, "62": 86, "63": 44, "64": 22, "65": 114,
}
#: Published national figures the national size reproduces (shared/domain.md; townships and county units as
#: published for the country): stations and coverage are those of the first wave (January 2023).
NATIONAL_TARGETS = {"provinces": 31, "counties": 2850, "townships": 38_000, "stations_first_wave": 29_000,
                    "coverage_first_wave": 0.78}
_MODE_TOTALS = {"drop_in": 893_600, "screening": 1_437_000, "home_visit": 844_500,
                "group_activity": 58_000, "case_work": 31_000}
_YEAR_SHARE = np.array([0.27, 0.33, 0.40])
_SAT_TARGET = {0: 0.91, 1: 0.93, 2: 0.95}
_GROUPS = list(codes("person_group"))
_MODES = list(codes("mode"))
_ITEMS = list(codes("service_item"))
_LIKERT_ITEMS = ["q_overall", "q_access", "q_attitude", "q_professional", "q_timely", "q_effect"]

_CHARS = ("山 shan,水 shui,江 jiang,河 he,湖 hu,石 shi,桥 qiao,岭 ling,溪 xi,平 ping,安 an,东 dong,"
          "南 nan,北 bei,新 xin,长 chang,清 qing,阳 yang,云 yun,龙 long,凤 feng,金 jin,花 hua,桃 tao,林 lin,"
          "竹 zhu,松 song,梅 mei,兴 xing,宁 ning,华 hua,和 he,丰 feng,泉 quan,塘 tang,坪 ping,田 tian,沙 sha,"
          "湾 wan,洲 zhou,源 yuan,白 bai,青 qing,红 hong,黄 huang,福 fu,寿 shou,永 yong,乐 le,德 de,仁 ren,"
          "茶 cha,岳 yue,湘 xiang,潭 tan,桂 gui,峰 feng,杨 yang,柳 liu,莲 lian,蓉 rong,霞 xia,明 ming,光 guang,"
          "家 jia,庄 zhuang,铺 pu,口 kou,坡 po,冲 chong,头 tou,马 ma,牛 niu,鹤 he,雁 yan,星 xing,月 yue,"
          "泥 ni,渡 du,滩 tan,岩 yan,观 guan,岗 gang,园 yuan,里 li,营 ying,寨 zhai").split(",")
_COMMENTS = ("社工很耐心，帮了我们家很多。", "希望上门服务能再多一些。", "不太清楚社工站能办什么事。",
             "办事比以前方便了。", "活动很丰富，老人们都喜欢参加。", "孩子的作业辅导很有帮助。",
             "等待时间有点长。", "社工态度很好。", "希望增加心理辅导服务。", "政策讲解很清楚。",
             "交通不方便，去一趟站里要很久。", "服务效果一般。")


def _names(rng: np.random.Generator, n: int, taken: set[str]) -> list[tuple[str, str]]:
    """n distinct two-character place names (Chinese, pinyin)."""
    pairs = [c.split() for c in _CHARS]
    out: list[tuple[str, str]] = []
    while len(out) < n:
        a, b = rng.choice(len(pairs), 2, replace=False)
        zh = pairs[a][0] + pairs[b][0]
        if zh not in taken:
            taken.add(zh)
            out.append((zh, (pairs[a][1] + pairs[b][1]).capitalize()))
    return out


def _split(rng: np.random.Generator, total: int, parts: int, minimum: int, spread: float) -> np.ndarray:
    """Split ``total`` into ``parts`` positive integers, each at least ``minimum``."""
    p = rng.gamma(spread, size=parts)
    return minimum + rng.multinomial(total - minimum * parts, p / p.sum())


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, q * cw[-1])])


def _geography(rng: np.random.Generator, size: str, spec: dict | None = None) -> pd.DataFrame:
    """One row per township with codes, names, type and fixed effects.

    ``spec`` (a national province's profile, :func:`national_profile`) replaces the size's counties and
    townships and brings the province code, weak prefectures and the province's shift of prefecture effects.
    """
    spec = spec or _SIZES[size]
    province_code = spec.get("province_code", "09")
    weak_prefectures = spec.get("weak", _WEAK_PREFECTURES)
    shift = spec.get("shift", 0.0)
    counties_per_pref = np.array(spec["counties"])
    n_counties = counties_per_pref.sum()
    townships_per_county = _split(rng, spec["townships"], n_counties, 6, 3.0)
    taken: set[str] = set()
    pref_names = _names(rng, len(counties_per_pref), taken)
    county_names = _names(rng, n_counties, taken)
    rows = []
    ci = 0
    for p, n_c in enumerate(counties_per_pref):
        pref_code = f"{province_code}{p + 1:02d}"
        pref_eff = (-0.55 if p in weak_prefectures or (size == "small" and p == 1)
                    else rng.normal(0.1 + shift, 0.15))
        n_districts = int(rng.integers(1, 4)) if n_c > 3 else 1
        for k in range(n_c):
            kind = "district" if k < n_districts else ("city" if k == n_districts and n_c > 6 else "county")
            num = {"district": 2 + k, "city": 81, "county": 21 + k - n_districts}[kind]
            county_code = f"{pref_code}{num:02d}"
            c_zh, c_en = county_names[ci]
            county_eff = rng.normal(0, 0.25)
            n_t = townships_per_county[ci]
            share_urban = {"district": 0.65, "city": 0.3, "county": 0.1}[kind]
            n_urban = int(round(n_t * share_urban))
            t_names = _names(rng, n_t, set())
            for j in range(n_t):
                urban = j < n_urban
                t_num = 1 + j if urban else 100 + (j - n_urban) if (j - n_urban) % 3 else 200 + (j - n_urban)
                t_zh, t_en = t_names[j]
                if urban:
                    t_zh, t_en = t_zh + "街道", t_en + " Subdistrict"
                elif t_num >= 200:
                    t_zh, t_en = t_zh + "乡", t_en + " Township"
                else:
                    t_zh, t_en = t_zh + "镇", t_en + " Town"
                rows.append({
                    "prefecture_code": pref_code,
                    "prefecture_name_zh": pref_names[p][0] + "市",
                    "prefecture_name_en": pref_names[p][1] + " City",
                    "county_code": county_code,
                    "county_name_zh": c_zh + {"district": "区", "city": "市", "county": "县"}[kind],
                    "county_name_en": c_en + {"district": " District", "city": " City", "county": " County"}[kind],
                    "township_code": f"{county_code}{t_num:03d}",
                    "township_name_zh": t_zh,
                    "township_name_en": t_en,
                    "urban_rural": "urban" if urban else "rural",
                    "pref_idx": p,
                    "pref_eff": pref_eff,
                    "county_eff": county_eff,
                    "weak": pref_eff < -0.5,
                })
            ci += 1
    geo = pd.DataFrame(rows)
    n = len(geo)
    urban = (geo["urban_rural"] == "urban").to_numpy()
    pop = np.where(urban, rng.lognormal(np.log(52_000), 0.45, n), rng.lognormal(np.log(28_000), 0.55, n))
    small = rng.random(n) < 0.06  # remote small townships: few residents, few respondents
    pop = np.where(small, rng.uniform(2_500, 7_000, n), pop)
    geo["population0"] = np.round(pop).astype(int)
    geo["villages"] = np.where(urban, rng.integers(4, 15, n), rng.integers(8, 31, n))
    geo.loc[small, "villages"] = rng.integers(3, 7, small.sum())
    geo["small"] = small
    # professionalisation propensity drives station level, staffing and satisfaction trends
    geo["prof"] = rng.normal(0, 1, n) + 0.6 * urban + 1.2 * geo["pref_eff"] + geo["county_eff"]
    return geo


def _regions(rng: np.random.Generator, geo: pd.DataFrame,
             province: tuple[str, str, str] = ("09", "Sample Province (synthetic)", "示例省（合成数据）")
             ) -> pd.DataFrame:
    urban = (geo["urban_rural"] == "urban").to_numpy()
    rates = {  # share of residents on each register, rural vs urban
        "reg_dibao": (0.032, 0.016), "reg_tekun": (0.007, 0.002), "reg_left_behind_child": (0.011, 0.002),
        "reg_child_in_difficulty": (0.002, 0.0015), "reg_elderly": (0.016, 0.011), "reg_disabled": (0.022, 0.016),
    }
    base = {k: rng.binomial(geo["population0"], np.where(urban, u, r) * rng.lognormal(0, 0.2, len(geo)))
            for k, (r, u) in rates.items()}
    out = []
    for i, year in enumerate(YEARS):
        d = geo[["prefecture_code", "prefecture_name_en", "prefecture_name_zh", "county_code", "county_name_en",
                 "county_name_zh", "township_code", "township_name_en", "township_name_zh", "urban_rural",
                 "villages"]].copy()
        d.insert(0, "year", year)
        d.insert(1, "province_code", province[0])
        d.insert(2, "province_name_en", province[1])
        d.insert(3, "province_name_zh", province[2])
        drift = np.where(urban, 1.01, 0.992) ** i
        d["population"] = np.round(geo["population0"] * drift).astype(int)
        for k, v in base.items():
            trend = {"reg_left_behind_child": 0.96, "reg_dibao": 0.98}.get(k, 1.0) ** i
            d[k] = np.minimum(np.round(v * trend).astype(int), d["population"])
        out.append(d)
    cols = [c["name"] for c in table_spec("regions")["columns"]]
    return pd.concat(out, ignore_index=True)[cols]


def _stations(rng: np.random.Generator, geo: pd.DataFrame, scale: float, delay: float = 0.0) -> pd.DataFrame:
    n = len(geo)
    # opening: most before the first wave, the rest during it; weak places later (a national province's
    # ``delay`` opens its stations later still: fewer townships covered in the first wave)
    u = rng.random(n) + 0.12 * geo["weak"].to_numpy() + 0.05 * (geo["urban_rural"] == "rural").to_numpy()
    if delay:
        u = u + delay
    start = pd.Timestamp("2018-05-01")
    before = start + pd.to_timedelta(rng.integers(0, (pd.Timestamp("2022-12-31") - start).days, n), unit="D")
    opened = np.where(u < 0.80, before.to_numpy(),
                      np.where(u < 0.95, (pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")),
                               np.where(u < 1.02, pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, n), "D"),
                                        pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"))))
    opened = pd.to_datetime(opened)
    rows = []
    for i, year in enumerate(YEARS):
        exists = opened.year <= year
        d = geo.loc[exists, ["county_code", "township_code", "prof", "weak", "urban_rural", "population0"]].copy()
        d["opened"] = opened[exists]
        d.insert(0, "year", year)
        level_score = d["prof"].to_numpy() + 0.45 * i + rng.normal(0, 0.3, len(d))
        d["service_level"] = np.select([level_score > 2.0, level_score > 0.3], ["3.0", "2.0"], "1.0")
        lvl = d["service_level"].astype(float).to_numpy()
        size = (d["population0"].to_numpy() / 30_000) ** 0.4
        w_staff = size * (0.6 + 0.25 * lvl) * np.where(d["weak"], 0.7, 1.0)
        target_sw = TARGETS["social_workers_latest"] * scale * (0.82, 0.91, 1.0)[i]
        lam = np.maximum(target_sw - len(d), 0) * w_staff / w_staff.sum()
        d["social_workers"] = 1 + rng.poisson(lam)
        d["certified_social_workers"] = rng.binomial(d["social_workers"], np.clip(0.18 + 0.12 * lvl, 0, 0.9))
        w_vol = size * rng.lognormal(0, 0.5, len(d)) * np.where(d["weak"], 0.6, 1.0)
        target_vol = TARGETS["volunteers_latest"] * scale * (0.7, 0.85, 1.0)[i]
        d["volunteers"] = rng.poisson(target_vol * w_vol / w_vol.sum())
        w_budget = (0.7 + 0.3 * lvl) * size ** 0.5 * rng.lognormal(0, 0.15, len(d))
        target_budget = TARGETS["budget_yuan_latest"] * scale * (0.86, 0.93, 1.0)[i]
        d["budget_yuan"] = np.round(target_budget * w_budget / w_budget.sum(), 2)
        d["supervision_hours"] = np.round(rng.gamma(4, 6 + 8 * lvl), 1)
        rows.append(d)
    cols = [c["name"] for c in table_spec("stations")["columns"]]
    return pd.concat(rows, ignore_index=True)[cols]


# mode -> probabilities over person groups (dibao, tekun, left_behind_child, child_in_difficulty, elderly,
# disabled, general)
_MODE_GROUPS = {
    "drop_in": (0.14, 0.04, 0.03, 0.02, 0.10, 0.07, 0.60),
    "screening": (0.52, 0.16, 0.0, 0.02, 0.02, 0.03, 0.25),
    "home_visit": (0.10, 0.12, 0.24, 0.08, 0.28, 0.18, 0.0),
    "group_activity": (0.05, 0.02, 0.25, 0.05, 0.20, 0.05, 0.38),
    "case_work": (0.22, 0.15, 0.14, 0.16, 0.14, 0.17, 0.02),
}
# mode -> item weights (indices into S01..S21)
_MODE_ITEMS = {
    "drop_in": {0: 3, 2: 2, 3: 6, 10: 1, 11: 1, 17: 2, 19: 1, 14: 1},
    "screening": {1: 8, 0: 2},
    "home_visit": {4: 4, 6: 3, 7: 1, 9: 2, 2: 1, 18: 1},
    "group_activity": {5: 3, 8: 3, 12: 3, 13: 2, 15: 1, 18: 2, 16: 1},
    "case_work": {20: 5, 10: 2, 11: 2, 7: 1},
}
_MINUTES = {"drop_in": 20, "screening": 25, "home_visit": 45, "group_activity": 90, "case_work": 60}


def _scramble(x: np.ndarray) -> np.ndarray:
    """A fixed permutation of [0, 10**10): pseudonymous ids that do not reveal their order."""
    m = 10_000_000_019  # prime
    return (x.astype(np.int64) * 2_654_435_761 + 97_531) % m


def _services(rng: np.random.Generator, geo: pd.DataFrame, regions: pd.DataFrame, stations: pd.DataFrame,
              scale: float, person_base: int = 0) -> pd.DataFrame:
    n_t = len(geo)
    t_index = pd.Series(np.arange(n_t), index=geo["township_code"])
    reg_cols = ["reg_dibao", "reg_tekun", "reg_left_behind_child", "reg_child_in_difficulty", "reg_elderly",
                "reg_disabled"]
    pools = regions.groupby("township_code", sort=False)[reg_cols + ["population"]].max().reindex(geo["township_code"])
    pool = np.column_stack([pools[reg_cols].to_numpy(), (pools["population"].to_numpy() // 3)]).clip(min=1)
    offsets = np.concatenate([[0], np.cumsum(pool.ravel())[:-1]]).reshape(pool.shape)
    if person_base:  # a national province's persons: their own range of pseudonyms
        offsets = offsets + person_base

    st = stations.assign(t=stations["township_code"].map(t_index).to_numpy())
    activity = (st["social_workers"] * (0.8 + 0.2 * st["service_level"].astype(float))
                * (geo["population0"].to_numpy()[st["t"]] / 30_000) ** 0.3
                * np.exp(0.4 * geo["pref_eff"].to_numpy()[st["t"]])).to_numpy()
    parts = []
    for yi, year in enumerate(YEARS):
        in_year = (st["year"] == year).to_numpy()
        idx = np.flatnonzero(in_year)
        # a station that opened during the year is active for part of it
        opened = st["opened"].to_numpy()[idx]
        active = np.clip((pd.Timestamp(f"{year}-12-31") - pd.to_datetime(opened)).days.to_numpy() / 365, 0, 1)
        w = activity[idx] * active
        for mode, total in _MODE_TOTALS.items():
            count = rng.multinomial(int(round(total * scale * _YEAR_SHARE[yi])), w / w.sum())
            rows = np.repeat(idx, count)
            parts.append(pd.DataFrame({"row": rows, "year": year, "mode": mode}))
    ledger = pd.concat(parts, ignore_index=True)
    n = len(ledger)
    t = st["t"].to_numpy()[ledger["row"]]
    year = ledger["year"].to_numpy()
    mode = ledger["mode"].to_numpy()

    group = np.empty(n, dtype=np.int64)
    item = np.empty(n, dtype=np.int64)
    minutes = np.empty(n, dtype=np.int64)
    for m in _MODES:
        sel = np.flatnonzero(mode == m)
        p = np.array(_MODE_GROUPS[m])
        group[sel] = rng.choice(len(_GROUPS), size=sel.size, p=p / p.sum())
        items = _MODE_ITEMS[m]
        iw = np.array(list(items.values()), dtype=float)
        item[sel] = np.array(list(items))[rng.choice(len(items), size=sel.size, p=iw / iw.sum())]
        minutes[sel] = np.clip(np.round(rng.lognormal(np.log(_MINUTES[m]), 0.45, sel.size)), 5, 480)
    # home visits: the item follows the person's group
    hv = mode == "home_visit"
    by_group = np.array([2, 4, 6, 7, 4, 9, 12])  # group -> typical item
    item[hv] = np.where(rng.random(hv.sum()) < 0.7, by_group[group[hv]], item[hv])

    # persons: drawn from the township's register pool, some served many times
    size = pool[t, group]
    person = np.minimum((size * rng.random(n) ** 1.6).astype(np.int64), size - 1)
    person_id = "P" + pd.Series(_scramble(offsets[t, group] + person)).astype(str).str.zfill(10)

    opened = st["opened"].to_numpy()[ledger["row"]]
    first = np.maximum(pd.to_datetime(pd.Series(year).astype(str) + "-01-01").to_numpy(), opened)
    last = pd.to_datetime(pd.Series(year).astype(str) + "-12-31").to_numpy()
    span = ((last - first) / np.timedelta64(1, "D")).astype(np.int64) + 1
    date = first + (rng.random(n) * span).astype("timedelta64[D]")

    out = pd.DataFrame({
        "date": pd.to_datetime(date).normalize(),
        "county_code": geo["county_code"].to_numpy()[t],
        "township_code": geo["township_code"].to_numpy()[t],
        "person_id": person_id.to_numpy(),
        "person_group": np.array(_GROUPS)[group],
        "service_item": np.array(_ITEMS)[item],
        "mode": mode,
        "minutes": minutes,
    })
    out = out.sort_values(["date", "township_code"], kind="stable", ignore_index=True)
    out.insert(0, "record_id", "L" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(8))
    return out


def _survey(rng: np.random.Generator, geo: pd.DataFrame, regions: pd.DataFrame, stations: pd.DataFrame
            ) -> pd.DataFrame:
    t_index = pd.Series(np.arange(len(geo)), index=geo["township_code"])
    weakest = geo.loc[geo["weak"], "county_code"]
    missing_county = weakest.iloc[-1] if len(weakest) else geo["county_code"].iloc[-1]
    frames = []
    for yi, year in enumerate(YEARS):
        st = stations[stations["year"] == year]
        if yi == 1:  # one county missed the middle wave
            st = st[st["county_code"] != missing_county]
        t = st["township_code"].map(t_index).to_numpy()
        small = geo["small"].to_numpy()[t]
        n_resp = np.where(small, rng.integers(4, 10, len(t)),
                          np.clip(np.round(rng.lognormal(np.log(18), 0.35, len(t))), 8, 60)).astype(int)
        villages = geo["villages"].to_numpy()[t]
        m = np.minimum(villages, np.where(n_resp < 10, 2, np.where(n_resp < 25, 3, 4)))
        row_t = np.repeat(np.arange(len(t)), n_resp)
        k = np.arange(len(row_t)) - np.repeat(np.cumsum(n_resp) - n_resp, n_resp)  # 0.. within township
        slot = k % m[row_t]
        offset = rng.integers(0, villages)
        village = (offset[row_t] + slot) % villages[row_t] + 1
        tcode = st["township_code"].to_numpy()[row_t]
        psu = pd.Series(tcode).str.cat(pd.Series(village).astype(str).str.zfill(3)).to_numpy()
        # two-stage weight: villages / sampled villages x village users / respondents in village
        pop = regions.loc[regions["year"] == year].set_index("township_code")["population"]
        users = pop.reindex(tcode).to_numpy() * 0.12 / villages[row_t] * rng.lognormal(0, 0.3, len(row_t))
        per_psu = pd.Series(1, index=pd.MultiIndex.from_arrays([row_t, slot])).groupby(level=[0, 1]).transform("sum")
        weight = np.round(villages[row_t] / m[row_t] * users / per_psu.to_numpy(), 4).clip(min=0.5)

        gi = t[row_t]
        g_p = np.array([0.18, 0.06, 0.08, 0.04, 0.18, 0.10, 0.36])
        group = rng.choice(len(_GROUPS), size=len(row_t), p=g_p)
        level = st["service_level"].astype(float).to_numpy()[row_t]
        eff = (geo["pref_eff"].to_numpy()[gi] + geo["county_eff"].to_numpy()[gi]
               + 0.15 * (geo["urban_rural"].to_numpy()[gi] == "urban")
               + 0.35 * (level - 1) + 0.20 * yi * (level - 1.5)
               + np.array([0.1, 0.2, 0.0, -0.1, 0.15, 0.05, -0.15])[group])
        uniq, inv = np.unique(psu, return_inverse=True)
        psu_eff = rng.normal(0, 0.3, len(uniq))[inv]
        person = rng.normal(0, 1.0, len(row_t))
        z_overall = eff + psu_eff + person + rng.logistic(0, 0.6, len(row_t))
        shift = -_weighted_quantile(z_overall, weight, 1 - _SAT_TARGET[yi])
        d = pd.DataFrame({
            "respondent_id": [f"S{year}-{c}-{i + 1:03d}" for c, i in zip(tcode, k)],
            "year": year,
            "county_code": st["county_code"].to_numpy()[row_t],
            "township_code": tcode,
            "psu": psu,
            "weight": weight,
            "group": np.array(_GROUPS)[group],
        })
        day = rng.integers(0, 106, len(row_t))
        d.insert(2, "interview_date", pd.Timestamp(f"{year}-09-01") + pd.to_timedelta(day, unit="D"))
        cuts = np.array([-3.2, -1.9, 0.0, 1.6])
        item_shift = {"q_overall": 0.0, "q_access": -0.35, "q_attitude": 0.45, "q_professional": 0.05,
                      "q_timely": -0.3, "q_effect": -0.1}
        dk = {"q_overall": 0.010, "q_effect": 0.05}
        for name, s in item_shift.items():
            z = z_overall if name == "q_overall" else (eff + psu_eff + person + rng.logistic(0, 0.6, len(row_t)))
            ans = 1 + np.searchsorted(cuts, z + shift + s)
            r = rng.random(len(row_t))
            p_dk = dk.get(name, 0.025)
            ans = np.where(r < p_dk, 8, np.where(r < p_dk + 0.006, 9, ans))
            d[name] = ans
        has_comment = rng.random(len(row_t)) < 0.15
        d["comment"] = np.where(has_comment, np.array(_COMMENTS)[rng.integers(0, len(_COMMENTS), len(row_t))], None)
        pref = pd.Series(d["county_code"].str[:4])
        d["interviewer_id"] = "INT" + pref + "-" + pd.Series(rng.integers(1, 9, len(row_t))).astype(str).str.zfill(2)
        frames.append(d)
    cols = [c["name"] for c in table_spec("survey")["columns"]]
    return pd.concat(frames, ignore_index=True)[cols]


def generate(seed: int = DEFAULT_SEED, size: str = "full") -> dict[str, pd.DataFrame]:
    """Generate the sample province in memory.

    Parameters
    ----------
    seed : int
        Random seed; the same seed always gives the same province.
    size : {"full", "small"}
        ``"full"``: 14 prefectures, 122 counties, 1,933 townships (about 3.3
        million ledger rows).  ``"small"``: 2 prefectures, 4 counties, 40
        townships, with every figure scaled down in proportion (for tests).

    Returns
    -------
    dict of str to pandas.DataFrame
        The four input tables, with the columns documented in ``data/README.md``.
    """
    if size not in _SIZES:
        raise ValueError(f"size must be one of {', '.join(_SIZES)}, not {size!r}.")
    rng = np.random.default_rng(seed)
    geo = _geography(rng, size)
    scale = len(geo) / _SIZES["full"]["townships"]
    regions = _regions(rng, geo)
    stations = _stations(rng, geo, scale)
    services = _services(rng, geo, regions, stations, scale)
    survey = _survey(rng, geo, regions, stations)
    return {"regions": regions, "stations": stations, "services": services, "survey": survey}


def write_province(tables: dict[str, pd.DataFrame], out_dir: str | Path, *, fmt: str = "parquet",
                   meta: dict | None = None) -> list[Path]:
    """Write the four tables and ``dataset.json`` to ``out_dir`` in one format.

    ``fmt`` is ``"parquet"`` (default: small and fast), ``"csv"`` (UTF-8),
    ``"csv-gb18030"`` or ``"xlsx"``.  Existing table files of other formats in
    ``out_dir`` are removed so that the directory holds exactly one file per
    table.  Each file is written atomically.
    """
    out_dir = Path(out_dir)
    suffix, encoding = {"parquet": (".parquet", "utf-8"), "csv": (".csv", "utf-8"),
                        "csv-gb18030": (".csv", "gb18030"), "xlsx": (".xlsx", "utf-8")}[fmt]
    if fmt == "xlsx":
        big = [t for t, d in tables.items() if len(d) > 1_048_575]
        if big:
            raise ValueError(f"Excel sheets hold at most 1,048,575 rows; {', '.join(big)} "
                             "is larger. Use parquet or csv for the full province.")
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    written = []
    for table in TABLES:
        for other in (".csv", ".xlsx", ".parquet"):
            if other != suffix:
                (out_dir / f"{table}{other}").unlink(missing_ok=True)
        written.append(write_table(tables[table], out_dir / f"{table}{suffix}", encoding=encoding,
                                   metadata={"synthetic": str(meta.get("synthetic", False)).lower()}))
    tmp = out_dir / ".dataset.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / "dataset.json")
    written.append(out_dir / "dataset.json")
    return written


def dataset_meta(name: str, seed: int, size: str) -> dict:
    """The ``dataset.json`` of a generated province: its name, synthetic, and how it was generated."""
    return {
        "name": name,
        "synthetic": True,
        "note": "Generated by evalkit.synth. Not real people, places or figures. 本数据为程序生成的合成数据。",
        "generator": f"evalkit {__version__}",
        "seed": seed,
        "size": size,
        "years": list(YEARS),
        "lonely_psu": "fail",
        "generated_for": _dt.date(YEARS[-1], 12, 31).isoformat(),
    }


def synthesize(out_dir: str | Path, *, seed: int = DEFAULT_SEED, size: str = "full",
               fmt: str = "parquet") -> list[Path]:
    """Generate the sample province and write it to ``out_dir`` (what ``evalkit synth`` runs)."""
    tables = generate(seed=seed, size=size)
    written = write_province(tables, out_dir, fmt=fmt, meta=province_meta(seed, size))
    return written + write_evaluators(evaluators(tables, seed), out_dir, fmt=fmt)


def province_meta(seed: int = DEFAULT_SEED, size: str = "full") -> dict:
    """The sample province's ``dataset.json`` (also written beside the raw sample by ``evalkit synth --raw``)."""
    return dataset_meta("Sample Province (synthetic) / 示例省（合成数据）", seed, size)


# --------------------------------------------------------------------------- the evaluators' own work

#: Rubric items of the shipped framework the sample's inspectors score, with their maxima.
_RUBRIC = {"premises": 10, "records": 20, "rules": 10}

#: Sentences of the sample's written findings, (English, Chinese) pairs, by kind of finding.
_FINDINGS = {
    "strengths": [
        ("Every station visited was open at the posted hours, with its signage and service list displayed.",
         "抽查的社工站均按公示时间开放，标识和服务清单张贴规范。"),
        ("Case records of home visits were complete and filed by month.",
         "入户探访个案档案完整，按月归档。"),
        ("The county bureau meets the station social workers every quarter to review difficult cases.",
         "县民政局每季度与驻站社工召开一次疑难个案研讨会。"),
        ("Volunteers from village committees take part in regular visits to elderly people living alone.",
         "村委会志愿者定期参与独居老人探访。"),
    ],
    "problems": [
        ("Supervision records were missing at some stations visited.",
         "部分抽查站点缺少督导记录。"),
        ("Service records of some stations were written after the event and lacked dates.",
         "部分站点服务记录系事后补录，缺少日期。"),
        ("Several stations share premises with other offices and have no private room for counselling.",
         "部分社工站与其他办公场所合用，缺少独立的个案会谈室。"),
        ("Staff turnover was high: many social workers had held their post for less than a year.",
         "社工流动性大，许多社工在岗不足一年。"),
    ],
    "recommendations": [
        ("Hold supervision at every station at least once a month and file its record.",
         "每个社工站每月至少开展一次督导并存档记录。"),
        ("Record each service on the day it is given, in the ledger.",
         "服务当天即在台账中登记。"),
        ("Set aside a private room for counselling at each station.",
         "各站设立独立的个案会谈室。"),
        ("Agree a minimum term of service with the contracted agencies to keep social workers in post.",
         "与承接机构约定社工最短服务期限，稳定社工队伍。"),
    ],
}
_FINDING_HEADINGS = {"en": ("Strengths", "Problems", "Recommendations"), "zh": ("主要成效", "存在问题", "改进建议")}


def evaluators(tables: dict[str, pd.DataFrame], seed: int = DEFAULT_SEED) -> dict:
    """The evaluators' inspections and written findings of a synthetic province, from a random stream of their own.

    The four tables are not changed, and drawing these does not change them (the stream is seeded by
    ``[seed, 21]``, apart from the tables' own).  In the latest year about two counties in three are inspected:
    two to four of their stations (where a station exists), each scored on every rubric item of the shipped
    framework by one inspector, and about one station in three by a second inspector too (the spread between
    the two is the score's uncertainty).  A station's scores follow its professional level.  A few counties get
    written findings, in English and Chinese.

    Returns ``{"inspections": DataFrame, "findings": {file name: text}}``.
    """
    rng = np.random.default_rng([seed, 21])
    stations = tables["stations"]
    year = int(stations["year"].max())
    st = stations[stations["year"] == year].sort_values("township_code").reset_index(drop=True)
    level = pd.to_numeric(st["service_level"].astype(str), errors="coerce").fillna(2.0) - 1.0  # 1.0, 2.0, 3.0 -> 0-2
    st = st.assign(quality=0.55 + 0.12 * level.to_numpy() + rng.normal(0, 0.1, len(st)))
    counties = sorted(st["county_code"].astype(str).unique())
    inspected = [c for c in counties if rng.random() < 0.67]
    inspectors = [f"INSP{k:03d}" for k in range(1, 13)]
    rows = []
    for county in inspected:
        own = st[st["county_code"].astype(str) == county]
        chosen = own.iloc[np.sort(rng.choice(len(own), min(len(own), int(rng.integers(2, 5))), replace=False))]
        for r in chosen.itertuples(index=False):
            pair = rng.choice(len(inspectors), 2, replace=False)
            who = [inspectors[pair[0]]] + ([inspectors[pair[1]]] if rng.random() < 0.33 else [])
            visit = pd.Timestamp(year, 10, 1) + pd.Timedelta(days=int(rng.integers(0, 60)))
            for item, maximum in _RUBRIC.items():
                for inspector in who:
                    points = np.clip(np.round(maximum * (r.quality + rng.normal(0, 0.07)) * 2) / 2, 0, maximum)
                    rows.append({"year": year, "county_code": county, "township_code": str(r.township_code),
                                 "visit_date": visit, "item": item, "inspector_id": inspector,
                                 "score": float(points), "maximum": float(maximum)})
    inspections = pd.DataFrame(rows, columns=["year", "county_code", "township_code", "visit_date", "item",
                                              "inspector_id", "score", "maximum"])
    findings = {}
    written_for = [c for c in inspected if rng.random() < 0.25]
    written_for = sorted(set(written_for) | set(inspected[:1]))  # the first inspected county always has some
    for county in written_for:
        picks = {kind: np.sort(rng.choice(len(options), int(rng.integers(1, 3)), replace=False))
                 for kind, options in _FINDINGS.items()}
        for lang, col in (("en", 0), ("zh", 1)):
            parts = []
            for heading, (kind, chosen) in zip(_FINDING_HEADINGS[lang], picks.items()):
                parts.append(f"## {heading}\n\n" + "".join(f"- {_FINDINGS[kind][k][col]}\n" for k in chosen))
            findings[f"{county}.{lang}.md"] = "\n".join(parts)
    return {"inspections": inspections, "findings": findings}


def write_evaluators(extras: dict, out_dir: str | Path, *, fmt: str = "parquet") -> list[Path]:
    """Write :func:`evaluators`' inspections table (in ``fmt``, like the four tables) and ``findings/`` folder
    (replacing what an earlier run wrote there)."""
    out_dir = Path(out_dir)
    suffix, encoding = {"parquet": (".parquet", "utf-8"), "csv": (".csv", "utf-8"),
                        "csv-gb18030": (".csv", "gb18030"), "xlsx": (".xlsx", "utf-8")}[fmt]
    for other in (".csv", ".xlsx", ".parquet"):
        if other != suffix:
            (out_dir / f"inspections{other}").unlink(missing_ok=True)
    written = [write_table(extras["inspections"], out_dir / f"inspections{suffix}", encoding=encoding,
                           metadata={"synthetic": "true"})]
    folder = out_dir / "findings"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.md"):
        if old.name not in extras["findings"]:
            old.unlink()
    for name, text in sorted(extras["findings"].items()):
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written


# --------------------------------------------------------------------------- the whole country


def national_profile(size: str = "national") -> list[dict]:
    """The provinces of a synthetic country: one dict per province, in code order.

    Each province is the Hunan profile (:func:`generate`) varied: its number of county units is roughly
    the published one (2,850 in all), its townships per county vary around the national mean (38,000
    townships in all), a fifth of its prefectures (at least one) lag behind, its other prefectures'
    effects are shifted up or down, and its stations open later by a province-wide ``delay``, so that
    about 78% of townships have a station in the first wave (29,000 stations) and all do in the latest.
    The shape of the country is fixed (it does not depend on the seed); the seed makes the data.

    ``"national-small"`` is the same country with every province the size of ``"small"`` (two
    prefectures of two counties, 40 townships), for tests.

    Examples
    --------
    >>> p = national_profile()
    >>> len(p), sum(sum(x["counties"]) for x in p), sum(x["townships"] for x in p)
    (31, 2850, 38000)
    >>> p[17]["province_code"], sum(p[17]["counties"])
    ('43', 122)
    """
    if size not in NATIONAL_SIZES:
        raise ValueError(f"size must be one of {', '.join(NATIONAL_SIZES)}, not {size!r}.")
    rng = np.random.default_rng(2850)  # the country's shape: the same for every seed
    codes_ = list(_NATIONAL_COUNTIES)
    n = np.array(list(_NATIONAL_COUNTIES.values()))
    per_county = rng.lognormal(0, 0.2, len(n))
    raw = n * per_county * NATIONAL_TARGETS["townships"] / (n * per_county).sum()
    towns = np.floor(raw).astype(int)
    towns[np.argsort(towns - raw, kind="stable")[: NATIONAL_TARGETS["townships"] - towns.sum()]] += 1
    shifts = rng.normal(0, 0.12, len(n))
    delays = rng.uniform(0.0, 0.2, len(n))
    out = []
    for i, code in enumerate(codes_):
        if size == "national-small":
            counties, townships = (2, 2), 40
        else:
            n_pref = max(1, int(round(n[i] / 8.7)))
            counties = tuple(int(c) for c in 2 + rng.multinomial(n[i] - 2 * n_pref, np.full(n_pref, 1 / n_pref)))
            townships = int(towns[i])
        n_weak = max(1, int(round(0.2 * len(counties)))) if len(counties) > 1 else 0
        weak = tuple(sorted(int(w) for w in rng.choice(len(counties), n_weak, replace=False))) if n_weak else ()
        out.append({"province_code": code, "index": i, "counties": counties, "townships": townships, "weak": weak,
                    "shift": float(shifts[i]), "delay": float(delays[i])})
    return out


# the pinyin of the real provinces: a synthetic province never shares a real one's name (in either language)
_REAL_PROVINCES = {"Beijing", "Tianjin", "Hebei", "Shanxi", "Neimenggu", "Liaoning", "Jilin", "Heilongjiang",
                   "Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi", "Shandong", "Henan", "Hubei",
                   "Hunan", "Guangdong", "Guangxi", "Hainan", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Xizang",
                   "Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang", "Taiwan", "Xianggang", "Aomen"}


def _province_names(seed: int, index: int) -> tuple[str, str]:
    pairs = [c.split() for c in _CHARS]
    rng = np.random.default_rng([seed, 31, index])
    while True:
        a, b = rng.choice(len(pairs), 2, replace=False)
        en = (pairs[a][1] + pairs[b][1]).capitalize()
        if en not in _REAL_PROVINCES:
            return pairs[a][0] + pairs[b][0], en


def generate_national(seed: int = DEFAULT_SEED, size: str = "national", provinces: int | None = None
                      ) -> Iterator[tuple[str, dict[str, pd.DataFrame]]]:
    """Generate a synthetic country province by province: ``(province_code, tables)`` pairs.

    One province is in memory at a time.  Each province has its own random stream, seeded by ``seed``
    and its place in the country, so ``provinces=3`` gives exactly the first three provinces of the
    whole country, and the same seed always gives the same country.  Province names are made up (and
    say the data are synthetic); the codes look like real province codes.  See :func:`national_profile`.
    """
    profile = national_profile(size)
    if provinces is not None:
        if not 1 <= int(provinces) <= len(profile):
            raise ValueError(f"provinces must be between 1 and {len(profile)}, not {provinces!r}.")
        profile = profile[: int(provinces)]
    for spec in profile:
        i = spec["index"]
        rng = np.random.default_rng([seed, i])
        geo = _geography(rng, "national", spec)
        scale = len(geo) / _SIZES["full"]["townships"]
        zh, en = _province_names(seed, i)
        regions = _regions(rng, geo, (spec["province_code"], f"{en} Province (synthetic)", f"{zh}省（合成数据）"))
        stations = _stations(rng, geo, scale, delay=spec["delay"])
        services = _services(rng, geo, regions, stations, scale, person_base=i * 300_000_000)
        survey = _survey(rng, geo, regions, stations)
        yield spec["province_code"], {"regions": regions, "stations": stations, "services": services,
                                      "survey": survey}


def synthesize_national(out_dir: str | Path, *, seed: int = DEFAULT_SEED, size: str = "national",
                        provinces: int | None = None, fmt: str = "parquet") -> list[Path]:
    """Write a synthetic country to ``out_dir``, one sub-folder per province named by its code
    (what ``evalkit synth --size national`` runs); ``provinces`` keeps only the first few.

    Each sub-folder is a province folder as :func:`synthesize` writes one (``evalkit batch`` runs
    the whole folder province by province).  Returns the files written.
    """
    out_dir = Path(out_dir)
    written = []
    for code, tables in generate_national(seed, size, provinces):
        regions = tables["regions"]
        name = f"{regions['province_name_en'].iloc[0]} / {regions['province_name_zh'].iloc[0]}"
        written += write_province(tables, out_dir / code, fmt=fmt, meta=dataset_meta(name, seed, size))
        del tables
    return written
