"""Disclosure control in what readers get: a hunt through the rendered county reports for any figure that
rests on fewer cases than the threshold (10 respondents, 5 persons), in every table that shows one.

The rendered HTML is parsed as a reader's browser would; the truth about how many cases are behind
each cell comes from the inputs' counts in the indicator table (``n``, ``denominator``), not from
the report code.
"""

from __future__ import annotations

import re

import pandas as pd
from bs4 import BeautifulSoup

from evalkit.indicators import catalogue
from evalkit.report.county import TOWNSHIP
from evalkit.report.data import province_data
from evalkit.report.i18n import t

SUPPRESSED = "—"
MIN_RESPONDENTS, MIN_PERSONS = 10, 5


def _too_few(row: dict) -> bool:
    """Whether a figure of the indicator table rests on fewer cases than the rule allows."""
    if row["kind"] == "survey":
        return not row["n"] >= MIN_RESPONDENTS
    if row["kind"] == "persons":
        return not (row["n"] >= MIN_PERSONS and (pd.isna(row["denominator"]) or row["denominator"] >= MIN_PERSONS))
    return False


def _tables(page):
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for table in soup.find_all("table"):
        head = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")] if table.find("thead") else []
        body = table.find("tbody") or table
        rows = [[c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])] for tr in body.find_all("tr")]
        yield head, [r for r in rows if r and r != head]


def test_no_rendered_figure_rests_on_fewer_cases_than_the_threshold(small_batch, small_province):
    data = province_data(small_province, small_batch.parent / "cache")
    table = data.table[(data.table["confidence"] == 0.95) & (data.table["year"] == 2025)]
    names = catalogue()["en"]
    pages = sorted(small_batch.glob("0*.html"))
    assert len(pages) == 4
    hunted = small_cells = 0
    for page in pages:
        code = page.stem
        mine = table[(table["code"] == code) & (table["group"] == "all")]
        by_name = {}
        for r in mine.to_dict("records"):
            if r["item"] in ("all", "q_overall"):
                by_name.setdefault(names[r["indicator"]], r)
        for head, rows in _tables(page):
            if t("table.size", "en") in head and t("table.indicator", "en") == head[0]:
                # the indicator table: value, interval and size of every indicator
                size = head.index(t("table.size", "en"))
                for cells in rows:
                    row = by_name[cells[0]]
                    hunted += 1
                    base = cells[size]
                    shown = [c for c in cells[2:size] if c != SUPPRESSED]
                    if _too_few(row):
                        small_cells += 1
                        assert shown == [] and base == SUPPRESSED, f"{code} {cells[0]}: {cells}"
                    m = re.fullmatch(r"([\d,]+) respondents", base)
                    if m:  # read from the page alone: never fewer respondents than the rule
                        assert int(m.group(1).replace(",", "")) >= MIN_RESPONDENTS, f"{code}: {cells}"
            if head and head[0] == t("table.township", "en"):
                # reach by township: every township's figures, and the model-based satisfaction
                towns = table[(table["county_code"] == code) & (table["level"] == "township")
                              & (table["group"] == "all")]
                town_names = dict(zip(towns["name_en"], towns["code"]))
                for cells in rows:
                    tcode = town_names[cells[0]]
                    for k, (indicator, item) in enumerate(TOWNSHIP, start=1):
                        match = towns[(towns["code"] == tcode) & (towns["indicator"] == indicator)
                                      & (towns["item"] == item)]
                        if match.empty:
                            assert cells[k] == SUPPRESSED
                            continue
                        hunted += 1
                        if _too_few(match.iloc[0].to_dict()):
                            small_cells += 1
                            assert cells[k] == SUPPRESSED, f"{code} {cells[0]} {indicator}: {cells[k]}"
                    sat = towns[(towns["code"] == tcode) & (towns["indicator"] == "satisfaction_rate")
                                & (towns["item"] == "q_overall")]
                    if sat.empty or _too_few(sat.iloc[0].to_dict()):
                        assert cells[len(TOWNSHIP) + 1] == SUPPRESSED, f"{code} {cells[0]}: model-based {cells}"
    assert hunted > 100
    assert small_cells > 0, "the small province should have cells below the threshold to hunt for"
