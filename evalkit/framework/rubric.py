"""The evaluators' inspection scores as rubric items of the framework: checks, county figures, weights.

An inspection (the "双随机" random check of a station) scores each rubric item of the framework file
(``[rubric.<id>]``: tier, weight, maximum, en/zh text) from 0 to its maximum.  The rules, stated once here
and shown in the report's methods:

Station and county score
    A station's item score is the mean over the inspectors who scored it; the county's item score is the
    mean over its inspected stations (stations not inspected are taken to be like the inspected ones), as
    points ``100 * mean / maximum``.

Uncertainty
    Where two (or more) inspectors scored the same station and item, their spread estimates the
    inspectors' measurement error: its variance ``s2`` is pooled over every such station of the province and
    year (for a pair, ``(a - b)**2 / 2``).  A station's score then has variance ``s2 / k`` (``k`` inspectors)
    and the county's mean over ``n`` stations ``s2 * sum(1 / k) / n**2``; its square root, as a share of the
    maximum, is the item's standard error, drawn like any indicator's (a normal truncated to 0-100%).  With no
    station inspected twice for an item, its score is held fixed.

Counties not inspected, and weights
    A rubric item weighs ``weight`` of its tier when the county was inspected for it, and the tier's computed
    indicators share the rest in their own proportions.  A county with no inspection of an item has the item
    left out and the weights renormalised (the tier's indicators weigh what they weigh without rubric); a
    rubric item left out never counts toward ``max_missing_weight``.  Without an inspections table nothing
    changes: the framework scores exactly as it does without a rubric.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import Problem
from .spec import Framework, Indicator

__all__ = ["check_inspections", "rubric_figures", "with_rubric"]

_FILE = "inspections"


def check_inspections(inspections: pd.DataFrame, fw: Framework, *, file: str = _FILE,
                      rows: pd.Series | None = None) -> list[Problem]:
    """Problems of an inspections table against the framework's rubric: unknown item, maximum not the item's.

    Each problem names the file, the row (``rows``: the file's row numbers; default the frame's position + 2,
    a header and 1-based rows), the column, the value and the rule.
    """
    known = {item.id: item for item in fw.rubric}
    problems = []
    for pos, (idx, row) in enumerate(inspections.iterrows()):
        line = int(rows.loc[idx]) if rows is not None and idx in rows.index else pos + 2
        item = str(row["item"])
        if item not in known:
            problems.append(Problem(file, line, "item", item, "unknown_rubric_item",
                                    f"'{item}' is not a rubric item of the framework ({fw.file}); its items are "
                                    f"{', '.join(known) or 'none'}."))
        elif not np.isclose(float(row["maximum"]), known[item].maximum):
            problems.append(Problem(file, line, "maximum", f"{float(row['maximum']):g}", "rubric_maximum",
                                    f"the framework gives rubric item '{item}' a maximum of "
                                    f"{known[item].maximum:g} points."))
        elif not 0 <= float(row["score"]) <= float(row["maximum"]):
            problems.append(Problem(file, line, "score", f"{float(row['score']):g}", "score_range",
                                    f"a score must lie from 0 to the item's maximum ({float(row['maximum']):g})."))
    return problems


def rubric_figures(inspections: pd.DataFrame, fw: Framework, codes: np.ndarray, year: int) -> dict[str, np.ndarray]:
    """Value (share of the maximum) and se of every rubric item, as (units x items) arrays, for ``year``.

    ``codes`` are county codes; a county with no inspection of an item gets NaN (left out).
    """
    ids = [item.id for item in fw.rubric]
    maximum = {item.id: item.maximum for item in fw.rubric}
    value = np.full((len(codes), len(ids)), np.nan)
    se = np.full((len(codes), len(ids)), np.nan)
    sel = inspections[(inspections["year"].astype(int) == int(year)) & inspections["item"].astype(str).isin(ids)]
    if sel.empty:
        return {"value": value, "se": se}
    sel = sel.assign(county_code=sel["county_code"].astype(str), township_code=sel["township_code"].astype(str),
                     item=sel["item"].astype(str), score=sel["score"].astype(float))
    station = sel.groupby(["item", "county_code", "township_code"])["score"].agg(["mean", "count", "var"]).reset_index()
    # pooled within-station (between-inspector) variance per item: sum of squared deviations / degrees of freedom
    twice = station[station["count"] > 1]
    pooled = ((twice["var"] * (twice["count"] - 1)).groupby(twice["item"]).sum()
              / (twice["count"] - 1).groupby(twice["item"]).sum())
    station["inv_k"] = 1.0 / station["count"]
    county = station.groupby(["item", "county_code"]).agg(mean=("mean", "mean"), n=("mean", "size"),
                                                          inv_k=("inv_k", "sum")).reset_index()
    position = {c: k for k, c in enumerate(np.asarray(codes).astype(str))}
    for row in county.itertuples(index=False):
        if row.county_code not in position:
            continue
        u, j = position[row.county_code], ids.index(row.item)
        value[u, j] = row.mean / maximum[row.item]
        if row.item in pooled.index and np.isfinite(pooled[row.item]):
            se[u, j] = np.sqrt(pooled[row.item] * row.inv_k) / row.n / maximum[row.item]
    return {"value": value, "se": se}


def with_rubric(fw: Framework) -> Framework:
    """The framework with its rubric items as indicators (linear, 0 to 100% of the maximum) and the tier's
    computed indicators scaled to ``1 - (rubric weight of the tier)``; used only when inspections are given."""
    rubric_share = {t.id: sum(r.weight for r in fw.rubric if r.tier == t.id) for t in fw.tiers}
    tier_weight = {t.id: t.weight for t in fw.tiers}
    scaled = [replace(i, local_weight=i.local_weight * (1 - rubric_share[i.tier]),
                      weight=i.weight * (1 - rubric_share[i.tier])) for i in fw.indicators]
    added = [Indicator(id=r.id, tier=r.tier, en=r.en, zh=r.zh, measure="rubric", item=r.id, group="all",
                       polarity="higher_is_better", unit="proportion", target=1.0, rule="linear", floor=0.0,
                       steps=(), otherwise=0.0, uncertainty="interval", draw_group="", source="inspection rubric",
                       local_weight=r.weight, weight=r.weight * tier_weight[r.tier]) for r in fw.rubric]
    tier_ids = [t.id for t in fw.tiers]
    inds = tuple(sorted([*scaled, *added], key=lambda i: tier_ids.index(i.tier)))
    ranges = {**fw._unit_ranges, **{r.id: (0.0, 1.0) for r in fw.rubric}}
    return replace(fw, indicators=inds, _unit_ranges=ranges)
