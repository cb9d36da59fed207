"""Data quality: what was excluded or suppressed for this county, and what validation flagged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..format import Fragment, esc, table_html

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """What was excluded or suppressed for this county, and what validation flagged in the inputs."""
    c = report._county
    excluded = c[(c["indicator"] == "satisfaction_rate") & (c["group"] == "all")]["n_excluded"].fillna(0)
    reasons = c["suppression_reason"].dropna().astype(str).value_counts()
    absent = int(reasons.pop("not_in_data")) if "not_in_data" in reasons.index else 0
    rows = [[report.t("quality.figures"), f"{len(c):,}"]]
    if absent:  # figures of a year an input table has no row for: missing, not suppressed
        rows.append([report.t("missing.quality"), f"{absent:,}"])
    rows.append([report.t("quality.suppressed"), f"{int(c['suppressed'].sum()):,}"])
    rows += [[report.t("quality.reason." + reason), f"{count:,}"] for reason, count in sorted(reasons.items())]
    rows.append([report.t("quality.excluded_answers"), f"{int(excluded.sum()):,}"])
    warnings = report.data.meta.get("warnings", [])
    by_rule = pd.Series([w["rule"] for w in warnings], dtype=str).value_counts()
    parts = [report._heading("data_quality"), report._gaps("survey", "services", "stations"),
             table_html([report.t("table.check"), report.t("table.count")], rows, numeric=(1,))]
    if by_rule.empty:
        parts.append(f"<p>{esc(report.t('quality.no_warnings'))}</p>")
    else:
        parts.append(f"<p>{esc(report.t('quality.warnings'))}</p>")
        parts.append(table_html([report.t("table.rule"), report.t("table.count")],
                                [[rule, f"{n:,}"] for rule, n in by_rule.items()], numeric=(1,)))
    return Fragment("".join(parts))
