"""Where the county sits among all counties: a funnel plot and a ranked dot plot."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...figuredata import ranked_rows
from .. import figures
from ..format import Fragment

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Where the county sits among all counties: a funnel plot and a ranked dot plot."""
    funnel = report._shared("funnel", lambda: report.data.funnel(
        report.confidence, report.year, report._row(report._province_now, "satisfaction_rate", "q_overall")))
    parts = [report._heading("among_counties"), report._gaps("survey", "services")]
    if funnel is not None:
        sat, limits, pooled = funnel
        texts = {"limit_0.95": report.t("figure.limit", level="95%"),
                 "limit_0.998": report.t("figure.limit", level="99.8%"),
                 "pooled": report.province_name, "others": report.t("figure.other_counties"),
                 "peers": report.t("figure.peers", prefecture=report.prefecture_name), "county": report.county_name}
        fig = figures.funnel(sat, limits, pooled=pooled, highlight=report.county_code, peers=report._peers(),
                             xlabel=report.t("figure.effective_n"), ylabel=report.t("figure.satisfaction_axis"),
                             texts=texts)
        parts.append(figures.figure_html(fig, alt=report.t("figure.funnel_alt", county=report.county_name),
                                         caption=report.t("figure.funnel_caption")))
    cov = report._shared("coverage", lambda: ranked_rows(report._counties, "coverage"))
    if funnel is None and cov.empty:
        parts.append(report._note("among.none"))
        return Fragment("".join(parts))
    if cov.empty:  # the funnel alone: no county has a coverage figure to rank
        return Fragment("".join(parts))
    prov_cov = report._row(report._province_now, "coverage")
    values = cov["value"].to_numpy()
    mine = values[(cov["code"] == report.county_code).to_numpy()]
    mine = mine[~np.isnan(mine)]
    rank = int((values > (mine.max() if mine.size else np.nan)).sum()) + 1
    fig = figures.ranked_dots(cov, highlight=report.county_code,
                              peers=report._peers(), label=report._indicator_name("coverage"),
                              rank_text=report.t("figure.ranked_axis"),
                              bench=float(prov_cov["value"]) if prov_cov is not None
                              and not pd.isna(prov_cov["value"]) else None,
                              bench_text=report.province_name)
    parts.append(figures.figure_html(fig, alt=report.t("figure.ranked_alt", county=report.county_name),
                                     caption=report.t("figure.ranked_caption", rank=rank, n=len(cov),
                                                    confidence=report._conf_text())))
    return Fragment("".join(parts))
