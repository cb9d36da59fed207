"""The summary: the grade, the headline figures and what stands out against the benchmarks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..format import Fragment, esc, interval_text, value_text
from . import HEADLINE

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """The few findings that matter: headline figures and what stands out against the benchmarks."""
    items = []
    for indicator, item in HEADLINE:
        row = report._row(report._county, indicator, item)
        if report._not_in_data(indicator, row):
            items.append(f"<li>{esc(report.t('missing.finding', indicator=report._indicator_name(indicator), year=report.year))}</li>")
            continue
        if row is None:
            continue
        unit = report._unit(indicator)
        if row["suppressed"]:
            text = report.t("summary.suppressed", indicator=report._indicator_name(indicator))
        else:
            cmp = row["vs_province"] if "province" in report.benchmarks else row["vs_prefecture"]
            bench = "province" if "province" in report.benchmarks else "prefecture"
            text = report.t("summary.finding", indicator=report._indicator_name(indicator),
                          value=value_text(row["value"], unit, report.lang),
                          interval=interval_text(row["lower"], row["upper"], unit, report.lang),
                          comparison=report.t(f"summary.{cmp}", benchmark=report.t(f"benchmark.{bench}")))
        items.append(f"<li>{esc(text)}</li>")
    worse, better = report._judged("worse"), report._judged("better")
    counts = report.t("summary.counts", better=len(better), worse=len(worse),
                    judged=len(report._judgeable()), benchmark=report.t("benchmark.province"))
    scores, me = report._scores()
    if me is not None and bool(me["graded"]):
        graded = report.t("summary.grade", grade=report._grade_name(scores, str(me["grade"])),
                        probability=f"{float(me['grade_probability']):.0%}", score=f"{float(me['score']):.1f}",
                        rank=int(me["rank"]), rank_lower=int(me["rank_lower"]), rank_upper=int(me["rank_upper"]),
                        n=int(me["n_ranked"]))
    else:
        graded = report.t("summary.not_graded")
    return Fragment(report._heading("summary") + report._gaps("survey", "services", "stations")
                    + f"<p><strong>{esc(graded)}</strong></p>"
                    f"<p>{esc(counts)}</p><ul>{''.join(items)}</ul>"
                    + report._evaluators("strengths", "problems"))
