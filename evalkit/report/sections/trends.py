"""Headline indicators across the waves, with the change from the first wave and its interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...figuredata import trend_series
from .. import figures
from ..format import SUPPRESSED, Fragment, interval_text, table_html, value_text
from . import HEADLINE

if TYPE_CHECKING:
    from ..county import CountyReport

_SCALE = {"proportion": 100.0, "net": 100.0}
_HEADLINE_PAIRS = frozenset(HEADLINE)


def render(report: CountyReport) -> Fragment:
    """Headline indicators across the waves, with the change from the first wave and its interval."""
    years = [y for y in report.data.years if y <= report.year]
    panels = []
    mine_all = trend_series(report._county_all_years, years, _HEADLINE_PAIRS)
    prov_all = report._shared("trend_province", lambda: trend_series(
        report._bench[report._bench["code"] == report.province_code], years, _HEADLINE_PAIRS))
    for indicator, item in HEADLINE:
        mine = mine_all.get((indicator, item))
        if mine is None:
            continue
        prov = prov_all.get((indicator, item), {c: v[:0] for c, v in mine.items()})
        frame = pd.DataFrame({c: np.concatenate([mine[c], prov[c]])
                              for c in ("year", "value", "lower", "upper")})
        frame["who"] = ["county"] * len(mine["year"]) + ["province"] * len(prov["year"])
        frame["scale"] = _SCALE.get(report._unit(indicator), 1.0)
        panels.append((report._indicator_name(indicator), frame))
    every = report._shared("trend_changes", lambda: report.data.trend_changes(report.confidence, years,
                                                                            _HEADLINE_PAIRS))
    changes = [(i, every[(report.county_code, i)]) for i, _ in HEADLINE if (report.county_code, i) in every]
    parts = [report._heading("trends")]
    if len(years) < 2:
        parts.append(report._note("trends.single_wave"))
        return Fragment("".join(parts))
    fig = figures.trend_panels(panels, years=years, county_text=report.county_name,
                               province_text=report.province_name)
    parts.append(figures.figure_html(fig, alt=report.t("figure.trends_alt", county=report.county_name),
                                     caption=report.t("figure.trends_caption", confidence=report._conf_text())))
    rows = []
    for indicator, ch in changes:
        unit = report._unit(indicator)
        unit_diff = "net" if unit == "proportion" else unit
        # the waves with a figure: one only (none in the other waves, or suppressed there) has no change
        waves = "–".join(str(int(y)) for y in (ch["year_from"], ch["year_to"]) if y is not None and not pd.isna(y))
        rows.append([report._indicator_name(indicator), waves,
                     value_text(ch["value"], unit_diff, report.lang, signed=True),
                     interval_text(ch["lower"], ch["upper"], unit_diff, report.lang),
                     report.t("change." + str(ch["label"])) if isinstance(ch["label"], str) else SUPPRESSED])
    parts.append(table_html([report.t("table.indicator"), report.t("table.waves"), report.t("table.change"),
                             report.t("table.interval", confidence=report._conf_text()), report.t("table.verdict")],
                            rows, numeric=(2, 3)))
    parts.append(report._note("note.trend"))
    return Fragment("".join(parts))

