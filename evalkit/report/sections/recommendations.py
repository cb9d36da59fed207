"""Recommendations: the framework indicators that lost the county the most points, then the indicators
worse than the province."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..format import Fragment, esc, value_text

if TYPE_CHECKING:
    from ..county import CountyReport


def render(report: CountyReport) -> Fragment:
    """Recommendations from the framework indicators that lost the county the most points, then any other
    indicator that is worse than the province."""
    scores, me = report._scores()
    items, covered = [], set()
    if me is not None and bool(me["graded"]):
        points = report._points(scores)
        points = points[~points["missing"] & (points["lost"] >= 0.05)].sort_values("lost", ascending=False)
        for r in points.head(3).to_dict("records"):
            unit = str(r["unit"])
            covered.add(str(r["measure"]))
            items.append("<li>" + esc(report.t(
                "recommend.points_item", indicator=report._framework_name(scores, r["indicator"]),
                value=value_text(r["value"], unit, report.lang), target=value_text(r["target"], unit, report.lang),
                points=f"{float(r['points']):.0f}", lost=f"{float(r['lost']):.1f}"))
                + " " + esc(report.t("inspections.advice" if r["measure"] == "rubric"
                                     else "recommend." + str(r["measure"]))) + "</li>")
    judged = report._judgeable().copy()
    values, n = report._shared("positions", lambda: _values_by_indicator(report))
    # how far down the county sits among all counties (0 = best), honouring polarity
    position = []
    columns = (judged[c].tolist() for c in ("indicator", "item", "value", "polarity"))
    for indicator, item, value, polarity in zip(*columns):
        peers = values.get((indicator, item), np.array([]))
        better = peers < value if polarity == "lower_is_better" else peers > value
        position.append(float(better.mean()) if peers.size else 0.0)
    judged["position"] = position
    worst = judged[(judged["vs_province"] == "worse") & ~judged["indicator"].astype(str).isin(covered)]
    if not items and len(worst) < 3:  # no framework score: the weakest against the province
        rest = judged[~judged.index.isin(worst.index)].sort_values("position", ascending=False)
        worst = pd.concat([worst, rest.head(3 - len(worst))])
    for _, row in worst.sort_values("position", ascending=False).iterrows():
        unit = report._unit(row["indicator"])
        items.append("<li>" + esc(report.t(
            "recommend.item", indicator=report._indicator_name(row["indicator"]),
            value=value_text(row["value"], unit, report.lang),
            province=value_text(row["province_value"], unit, report.lang),
            comparison=report.t("compare." + str(row["vs_province"])),
            rank=int(round(row["position"] * (n - 1))) + 1, n=n))
            + " " + esc(report.t("recommend." + str(row["indicator"]))) + "</li>")
    intro = report.t("recommend.intro") if items else report.t("recommend.none")
    return Fragment(report._heading("recommendations") + f"<p>{esc(intro)}</p><ol>{''.join(items)}</ol>"
                    + report._evaluators("recommendations"))


def _values_by_indicator(report: CountyReport) -> tuple[dict[tuple[str, str], np.ndarray], int]:
    """Every county's values (all groups, not suppressed) by (indicator, item), and the number of counties."""
    c = report._counties
    n = c["code"].nunique()
    c = c[(c["group"] == "all") & ~c["suppressed"]]
    return {key: g["value"].to_numpy() for key, g in c.groupby(["indicator", "item"], observed=True)}, n
