"""The indicator table: every indicator with its value, interval, size, target, attainment and the
benchmark comparisons."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..format import SUPPRESSED, Fragment, esc, interval_text, table_html, value_text
from ..rows import catalogue_columns, headline_item

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Every indicator: value, interval, size, target, attainment and the benchmark comparisons."""
    rows, shown = [], []
    for indicator in report._cat.index:
        row = report._row(report._county, indicator, headline_item(indicator))
        if row is None:
            continue
        shown.append(row)
        unit = report._unit(indicator)
        target = catalogue_columns()["target"][indicator] if "target" in catalogue_columns() else np.nan
        has_target = not pd.isna(target)
        attain = (value_text(row["value"] / target, "proportion", report.lang)
                  if has_target and not pd.isna(row["value"]) else SUPPRESSED)
        cells = [f'<td class="name">{esc(report._indicator_name(indicator))}</td>',
                 f'<td class="label">{esc(report.t("tier." + str(row["tier"])))}</td>',
                 f'<td class="num">{esc(value_text(row["value"], unit, report.lang))}</td>',
                 f'<td class="num">{esc(interval_text(row["lower"], row["upper"], unit, report.lang))}</td>',
                 f'<td class="num">{esc(report._size_text(row))}</td>',
                 f'<td class="num">{esc(value_text(target, unit, report.lang) if has_target else report.t("table.no_target"))}</td>',
                 f'<td class="num">{esc(attain)}</td>', *report._comparisons(row)]
        rows.append(cells)
    header = [report.t("table.indicator"), report.t("table.tier"), report.t("table.value"),
              report.t("table.interval", confidence=report._conf_text()), report.t("table.size"),
              report.t("table.target"), report.t("table.attainment"), *report._bench_headers()]
    return Fragment(report._heading("indicators") + report._gaps("survey", "services", "stations")
                    + table_html(header, rows, raw=True)
                    + report._note("note.comparison", confidence=report._conf_text())
                    + report._suppression_note(shown))
