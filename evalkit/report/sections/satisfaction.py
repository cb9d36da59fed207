"""Satisfaction by dimension (figure and table) and by service-user group."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import pandas as pd

from ...figuredata import item_intervals
from .. import figures
from ..format import SUPPRESSED, Fragment, esc, interval_text, table_html, value_text
from . import ITEMS

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Satisfaction by dimension (figure and table) and by service-user group.

    When the survey has no wave for the report's year, the latest earlier wave is shown, with its own
    benchmarks, under a sentence saying so; with no earlier wave either, only that sentence."""
    c, province = report._county, report._province_now
    gap = report._gaps("survey", survey="missing.survey")
    if gap:
        shown = report._gap_info()["survey"][0]
        if shown is None:
            return Fragment(report._heading("satisfaction") + gap)
        c = report._county_all_years[report._county_all_years["year"] == shown]
        province = report._bench[(report._bench["code"] == report.province_code) & (report._bench["year"] == shown)]
    dims = item_intervals({"c_": report._rows(c), "p_": report._rows(province)}, "satisfaction_rate", ITEMS)
    dims.insert(0, "label", [report.t("item." + i) for i in ITEMS])
    fig = figures.interval_dots(dims, label="label", series=[("c_", report.county_name, figures.HIGHLIGHT),
                                                              ("p_", report.province_name, figures.BENCH)],
                                xlabel=report.t("figure.satisfaction_axis"))
    parts = [report._heading("satisfaction"), gap,
             figures.figure_html(fig, alt=report.t("figure.dimensions_alt", county=report.county_name),
                                 caption=report.t("figure.dimensions_caption", confidence=report._conf_text()))]
    rows = []
    for item in ITEMS:
        row = report._row(c, "satisfaction_rate", item)
        idx = report._row(c, "satisfaction_index", item)
        if row is None:
            continue
        excluded = SUPPRESSED if pd.isna(row["n_excluded"]) else f"{int(row['n_excluded']):,}"
        rows.append([f"<td>{esc(report.t('item.' + item))}</td>",
                     f'<td class="num">{esc(value_text(row["value"], "proportion", report.lang))}</td>',
                     f'<td class="num">{esc(interval_text(row["lower"], row["upper"], "proportion", report.lang))}</td>',
                     f'<td class="num">{esc(value_text(idx["value"], "index_0_100", report.lang) if idx is not None else SUPPRESSED)}</td>',
                     f'<td class="num">{esc(report._size_text(row))}</td>',
                     f'<td class="num">{esc(excluded)}</td>',
                     *report._comparisons(row)])
    parts.append(table_html([report.t("table.dimension"), report.t("indicator_short.satisfaction_rate"),
                             report.t("table.interval", confidence=report._conf_text()),
                             report.t("indicator_short.satisfaction_index"), report.t("table.size"),
                             report.t("table.excluded"), *report._bench_headers()], rows, raw=True))
    by_group = c[(c["indicator"] == "satisfaction_rate") & (c["item"] == "q_overall") & (c["group"] != "all")]
    grows = []
    for _, row in by_group.sort_values("group").iterrows():
        grows.append([f"<td>{esc(_groups()[str(row['group'])][report.lang])}</td>",
                      f'<td class="num">{esc(value_text(row["value"], "proportion", report.lang))}</td>',
                      f'<td class="num">{esc(interval_text(row["lower"], row["upper"], "proportion", report.lang))}</td>',
                      f'<td class="num">{esc(report._size_text(row))}</td>', *report._comparisons(row)])
    parts.append(f'<h3 id="satisfaction-groups">{esc(report.t("section.satisfaction_groups"))}</h3>' + gap)
    parts.append(table_html([report.t("table.group"), report.t("indicator_short.satisfaction_rate"),
                             report.t("table.interval", confidence=report._conf_text()), report.t("table.size"),
                             *report._bench_headers()], grows, raw=True))
    parts.append(report._note("note.excluded"))
    rates = [r for (indicator, _, group), r in report._rows(c).items()
             if indicator == "satisfaction_rate" and group == "all"]
    parts.append(report._suppression_note(rates + by_group[["suppressed"]].to_dict("records")))
    return Fragment("".join(parts))


@cache
def _groups() -> dict[str, dict[str, str]]:
    with resources.files("evalkit").joinpath("codes.toml").open("rb") as fh:
        return tomllib.load(fh)["person_group"]
