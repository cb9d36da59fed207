"""Methods: definitions, interval methods, the comparison test, the suppression rule and the framework."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..format import SUPPRESSED, Fragment, esc, table_html, value_text
from ..rows import headline_item

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Definitions, interval methods, the comparison test, the suppression rule and sample sizes."""
    rows = []
    for indicator in report._cat.index:
        row = report._row(report._county, indicator, headline_item(indicator))
        method = str(row["method"]) if row is not None else ""
        rows.append([report._indicator_name(indicator), report.t("definition." + indicator),
                     report.t("method." + method) if method else SUPPRESSED])
    parts = [report._heading("methods"),
             table_html([report.t("table.indicator"), report.t("table.definition"), report.t("table.method")], rows),
             f"<p>{esc(report.t('methods.survey'))}</p>", f"<p>{esc(report.t('methods.comparison'))}</p>",
             f"<p>{esc(report.t('methods.suppression'))}</p>", f"<p>{esc(report.t('methods.funnel'))}</p>"]
    parts.append(report.data.shared(("methods_framework", report.year, report.lang), lambda: _framework_methods(report)))
    return Fragment("".join(parts))


def _framework_methods(report: CountyReport) -> str:
    """The framework's paragraph and weights table of the methods: the same in every county's report."""
    scores, _ = report._scores()
    fw = scores.framework
    cr = fw.consistency_frame()
    worst_cr = float(cr["cr"].max()) if len(cr) else 0.0
    text = report.t("methods.framework", framework=getattr(fw, report.lang, fw.id), version=fw.version,
                  draws=f"{scores.draws:,}", seed=scores.seed, most=f"{fw.max_missing_weight:.0%}",
                  cr=f"{worst_cr:.3f}")
    weights = fw.indicator_frame()
    return f"<p>{esc(text)}</p>" + table_html(
        [report.t("table.indicator"), report.t("table.tier"), report.t("table.weight"), report.t("table.floor"),
         report.t("table.target"), report.t("table.scoring")],
        [[str(r[report.lang]), report.t("tier." + str(r["tier"])), f"{float(r['weight']):.1%}",
          value_text(r["floor"], str(r["unit"]), report.lang) if not pd.isna(r["floor"]) else SUPPRESSED,
          value_text(r["target"], str(r["unit"]), report.lang), report.t("rule." + str(r["rule"]))]
         for r in weights.to_dict("records")], numeric=(2, 3, 4), labels=(1,)) + (
        f'<p>{esc(report.t("inspections.methods"))}</p>' if (weights["measure"] == "rubric").any() else "")
