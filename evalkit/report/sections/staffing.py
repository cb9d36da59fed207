"""Stations, staffing, volunteers and cost against the benchmarks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..format import Fragment, esc, interval_text, table_html, value_text
from . import STAFFING

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Stations, staffing, volunteers and cost against the benchmarks."""
    rows, shown = [], []
    for indicator in STAFFING:
        row = report._row(report._county, indicator)
        if row is None:
            continue
        shown.append(row)
        unit = report._unit(indicator)
        bench_cells = []
        for b in report.benchmarks:
            bench_cells.append(f'<td class="num">{esc(value_text(row[f"{b}_value"], unit, report.lang))}</td>')
        rows.append([f"<td>{esc(report._indicator_name(indicator))}</td>",
                     f'<td class="num">{esc(value_text(row["value"], unit, report.lang))}</td>',
                     f'<td class="num">{esc(interval_text(row["lower"], row["upper"], unit, report.lang))}</td>',
                     *bench_cells, *report._comparisons(row)])
    header = [report.t("table.indicator"), report.t("table.value"),
              report.t("table.interval", confidence=report._conf_text()),
              *[report.t(f"table.{b}_value") for b in report.benchmarks], *report._bench_headers()]
    return Fragment(report._heading("staffing") + report._gaps("stations", "services") + table_html(header, rows, raw=True)
                    + report._note("note.cost") + report._suppression_note(shown))
