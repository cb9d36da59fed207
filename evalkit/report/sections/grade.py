"""The grade: its probability, the composite score and rank with their intervals, the score by tier and the
points each framework indicator earned."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .. import figures
from ..format import SUPPRESSED, Fragment, esc, table_html, value_text

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """The grade with its probability, the composite score and the rank with their intervals, the score by
    tier, and the points each indicator earned."""
    scores, me = report._scores()
    parts = [report._heading("grade")]
    gaps = report._gaps("survey", "services", "stations")
    if gaps:
        parts += [gaps, f"<p>{esc(report.t('missing.grade', year=report.year))}</p>"]
    if me is None or not bool(me["graded"]):
        points = report._points(scores)
        missing = [report._framework_name(scores, i) for i in
                   points.loc[points["missing"] & (points["measure"] != "rubric"), "indicator"]]
        share = float(me["missing_weight"]) if me is not None else 1.0
        parts.append("<p>" + esc(report.t("grade.not_graded", share=f"{share:.0%}",
                                        most=f"{scores.framework.max_missing_weight:.0%}",
                                        missing=("、" if report.lang == "zh" else ", ").join(missing) or SUPPRESSED))
                     + "</p>")
        return Fragment("".join(parts))
    grade = str(me["grade"])
    parts.append("<p>" + esc(report.t(
        "grade.headline", grade=report._grade_name(scores, grade), probability=f"{float(me['grade_probability']):.0%}",
        score=f"{float(me['score']):.1f}", lower=f"{float(me['score_lower']):.1f}",
        upper=f"{float(me['score_upper']):.1f}", rank=int(me["rank"]), rank_lower=int(me["rank_lower"]),
        rank_upper=int(me["rank_upper"]), n=int(me["n_ranked"]), confidence="95%")) + "</p>")
    grades = report.data.shared(("grades", report.year),
                              lambda: scores.framework.grade_frame().to_dict("records"))
    parts.append(table_html(
        [report.t("table.grade"), report.t("table.score_range"), report.t("table.probability")],
        [[str(g[report.lang]), f"{g['min']:g}–{g['below']:g}", f"{float(me['p_' + g['grade']]):.0%}"]
         for g in grades], numeric=(2,)))
    tiers = report._county_rows("tiers", scores.tiers)
    bars = pd.DataFrame({
        "label": [report.t("grade.composite")] + [report.t("grade.tier", tier=report.t("tier." + str(r["tier"])),
                                                           weight=f"{float(r['weight']):.0%}")
                                                for r in tiers.to_dict("records")],
        "score": [float(me["score"]), *tiers["score"].astype(float)],
        "score_lower": [float(me["score_lower"]), *tiers["score_lower"].astype(float)],
        "score_upper": [float(me["score_upper"]), *tiers["score_upper"].astype(float)]})
    cutoffs = [(g["min"], str(g[report.lang])) for g in grades if g["min"] > 0]
    fig = figures.score_bars(bars, xlabel=report.t("grade.axis"), cutoffs=cutoffs)
    parts.append(figures.figure_html(fig, alt=report.t("grade.figure_alt", county=report.county_name),
                                     caption=report.t("grade.figure_caption", confidence="95%")))
    rows = []
    for r in report._points(scores).to_dict("records"):
        unit = str(r["unit"])
        rows.append([report._framework_name(scores, r["indicator"]),
                     report.t("tier." + str(r["tier"])),
                     value_text(r["value"], unit, report.lang),
                     value_text(r["target"], unit, report.lang),
                     SUPPRESSED if r["missing"] else f"{float(r['points']):.0f}",
                     f"{float(r['weight']):.1%}",
                     SUPPRESSED if r["missing"] else f"{float(r['lost']):.1f}"])
    parts.append(table_html([report.t("table.indicator"), report.t("table.tier"), report.t("table.value"),
                             report.t("table.target"), report.t("table.points"), report.t("table.weight"),
                             report.t("table.points_lost")], rows, numeric=(2, 3, 4, 5, 6), labels=(1,)))
    parts.append(report._note("grade.note", draws=f"{scores.draws:,}"))
    if int(me["n_missing"]):
        parts.append(report._note("grade.reweighted", share=f"{float(me['missing_weight']):.0%}"))
    return Fragment("".join(parts))
