"""The evaluators' on-site inspections: each rubric item's score by inspected station, and the county against its
prefecture and the province.  Absent (empty) when the folder has no inspections of the county this year."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...figuredata import inspection_comparison
from ..format import SUPPRESSED, Fragment, esc, table_html

if TYPE_CHECKING:
    from ..county import CountyReport


def _points(value: float) -> str:
    return SUPPRESSED if value is None or not np.isfinite(value) else f"{value:.1f}"


def render(report: CountyReport) -> Fragment:
    """Scores of the county's inspected stations by rubric item and township, and the county's mean score of each
    item against its prefecture's and the province's (nothing when the county was not inspected this year)."""
    stations = report.data.inspection_scores(report.year)
    if stations is None:
        return Fragment("")
    mine = stations[stations["county_code"] == report.county_code]
    if mine.empty:
        return Fragment("")
    scores, _ = report._scores()
    names = report._framework_texts(scores)
    items = list(dict.fromkeys(mine["item"]))
    comparison = inspection_comparison(stations, report.county_code)
    comparison = comparison[comparison["item"].isin(items)]
    n_stations = mine["township_code"].nunique()
    twice = mine.loc[mine["inspectors"] > 1, "township_code"].nunique()
    parts = [report._heading("inspections"),
             "<p>" + esc(report.t("inspections.intro", stations=n_stations, year=report.year, twice=twice)) + "</p>"]
    rows = []
    for r in comparison.to_dict("records"):
        rows.append([names.get(r["item"], r["item"]), f"{r['maximum']:g}",
                     _points(r["county"]) + " " + report.t("inspections.stations_n", n=r["county_stations"]),
                     _points(r["prefecture"]) + " " + report.t("inspections.stations_n", n=r["prefecture_stations"]),
                     _points(r["province"]) + " " + report.t("inspections.stations_n", n=r["province_stations"])])
    parts.append(table_html([report.t("inspections.item"), report.t("inspections.maximum"),
                             report.t("inspections.county"), report.t("inspections.prefecture"),
                             report.t("inspections.province")], rows, numeric=(1, 2, 3, 4),
                            caption=report.t("inspections.by_item_caption")))
    towns = {str(code): report._name(row) for code, row in
             report._townships.drop_duplicates("code").set_index("code").iterrows()}
    table = mine.pivot(index="township_code", columns="item", values="score").reindex(columns=items)
    doubled = mine.pivot(index="township_code", columns="item", values="inspectors").reindex(columns=items)
    rows = []
    for town in table.index:
        cells = [towns.get(str(town), str(town))]
        for item in items:
            value = table.loc[town, item]
            mark = "*" if doubled.loc[town, item] > 1 else ""
            cells.append(_points(value) + mark)
        rows.append(cells)
    parts.append(table_html([report.t("inspections.station"), *[names.get(i, i) for i in items]], rows,
                            numeric=tuple(range(1, len(items) + 1)),
                            caption=report.t("inspections.by_station_caption")))
    parts.append(report._note("inspections.note"))
    return Fragment("".join(parts))
