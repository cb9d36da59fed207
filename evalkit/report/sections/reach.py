"""Reach and coverage by township, with the spread between townships and the model-based estimates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..format import SUPPRESSED, Fragment, esc, interval_text, table_html, value_text
from ..rows import records
from . import TOWNSHIP

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Reach and coverage by township, with the spread between townships."""
    tw = report._townships
    code_of, indicator_of, item_of, group_of, names_of, value_of, suppressed_of = (
        tw[c].tolist()
        for c in ("code", "indicator", "item", "group", f"name_{report.lang}", "value", "suppressed"))
    names: dict[str, str] = {}
    lookup: dict[tuple[str, str, str], dict] = {}
    for code, indicator, item, group, name, value, suppressed in zip(
            code_of, indicator_of, item_of, group_of, names_of, value_of, suppressed_of):
        names.setdefault(code, name)
        if group == "all":
            lookup[(code, indicator, item)] = {"value": value, "suppressed": suppressed}
    header = [report.t("table.township")] + [report.t("indicator_short." + i) for i, _ in TOWNSHIP]
    header.append(report.t("table.model_based"))
    eb = report.data.shared(("small_area", report.year),
                          lambda: _small_area_by_county(report.data.small_area(report.year)))
    eb = eb.get(report.county_code, {})
    rows = []
    shown = []
    for code in sorted(names):
        cells = [f'<td class="label">{esc(names[code])}</td>']
        for indicator, item in TOWNSHIP:
            row = lookup.get((code, indicator, item))
            if row is None:
                cells.append(f"<td>{SUPPRESSED}</td>")
                continue
            shown.append(row)
            if pd.isna(row["value"]):  # suppressed, or not in the data this year
                text = SUPPRESSED
            elif indicator == "station_coverage":
                text = report.t("table.yes") if row["value"] == 1 else report.t("table.no")
            else:
                text = value_text(row["value"], report._unit(indicator), report.lang)
            cells.append(f'<td class="num">{esc(text)}</td>')
        est = eb.get(code)
        if est is None or bool(est["suppressed"]) or pd.isna(est["value"]):
            cells.append(f'<td class="num">{SUPPRESSED}</td>')
        else:
            cells.append(f'<td class="num model-based">{esc(value_text(est["value"], "proportion", report.lang))}'
                         f' ({esc(interval_text(est["lower"], est["upper"], "proportion", report.lang))})</td>')
        rows.append(cells)
    cov = pd.Series([value for indicator, group, value, suppressed in zip(indicator_of, group_of, value_of,
                                                                            suppressed_of)
                     if indicator == "coverage" and group == "all" and not suppressed], dtype=float).dropna()
    spread = ""
    if len(cov) >= 2:
        hi, lo = cov.max(), cov.min()
        spread = report._note("reach.spread", highest=value_text(hi, "proportion", report.lang),
                            lowest=value_text(lo, "proportion", report.lang), townships=len(cov))
    return Fragment(report._heading("reach") + report._gaps("services", "stations", "survey")
                    + f"<p>{esc(report.t('reach.intro', n=len(names)))}</p>"
                    + table_html(header, rows, raw=True) + spread + report._note("reach.model_based")
                    + report._suppression_note(shown))


def _small_area_by_county(eb: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """The townships' model-based estimates by county code, then township code (the first row of each)."""
    out: dict[str, dict[str, dict]] = {}
    for r in records(eb[["county_code", "code", "suppressed", "value", "lower", "upper"]]):
        out.setdefault(r["county_code"], {}).setdefault(r["code"], r)
    return out
