"""Figures of the county report and the overview, as inline SVG (:mod:`evalkit.report.svg`).

Every function takes tidy rows already selected (and suppressed) from the indicator table and
returns a :class:`~evalkit.report.svg.Figure`; :func:`figure_html` wraps it in ``<figure>`` with
its alternative text and caption.  Values are multiplied by ``scale`` for display (100 for
percentages); suppressed or missing values are left out of the drawing.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .format import esc
from .svg import Figure, nice_ticks, text_width

__all__ = ["figure_html", "interval_dots", "score_bars", "trend_panels", "funnel", "ranked_dots", "histograms",
           "HIGHLIGHT", "PEER", "OTHER", "BENCH"]

HIGHLIGHT = "#c0392b"
PEER = "#2e6fba"
OTHER = "#9aa5b1"
BENCH = "#555555"
WIDTH = 640


def figure_html(fig: Figure, *, alt: str, caption: str) -> str:
    """The figure as inline SVG inside ``<figure>`` with a caption."""
    return f'<figure class="report-figure">{fig.svg(alt)}<figcaption>{esc(caption)}</figcaption></figure>'


def _limits(*arrays: np.ndarray, pad: float = 0.04) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    span = (hi - lo) or abs(hi) or 1.0
    return lo - pad * span, hi + pad * span


def interval_dots(rows: pd.DataFrame, *, label: str, series: Sequence[tuple[str, str, str]], xlabel: str,
                  scale: float = 100.0) -> Figure:
    """Points with intervals, one line per ``label`` value, one marker per series.

    ``series`` lists ``(column prefix, legend text, colour)``: the frame has ``<prefix>value``,
    ``<prefix>lower`` and ``<prefix>upper`` columns for each.
    """
    n = len(rows)
    labels = [str(v) for v in rows[label]]
    left = 16 + max((text_width(s, 10) for s in labels), default=40)
    cols = {(p, c): rows[f"{p}{c}"].to_numpy(float) * scale for p, _, _ in series for c in ("value", "lower", "upper")}
    xlim = _limits(*cols.values())
    fig = Figure(WIDTH, 26 * n + 78)
    p = fig.panel(left, 30, WIDTH - left - 16, 26 * n, xlim=xlim, ylim=(-0.5, n - 0.5))
    p.axes(xlabel=xlabel, yticks=range(n), ytick_labels=labels[::-1], grid="x")  # the first row on top
    step = 0.22 if len(series) > 1 else 0.0
    for k, (prefix, _, colour) in enumerate(series):
        off = (k - (len(series) - 1) / 2) * step
        ys = (n - 1 - np.arange(n)) - off
        p.hintervals(cols[(prefix, "lower")], cols[(prefix, "upper")], ys, colour)
        p.points(cols[(prefix, "value")], ys, colour, r=3.6)
    fig.legend([(text, colour, "point") for _, text, colour in series], left, 16)
    return fig


def score_bars(rows: pd.DataFrame, *, xlabel: str, cutoffs: Sequence[tuple[float, str]] = ()) -> Figure:
    """Scores on 0-100 as horizontal bars with their intervals, one line per row (``label``, ``score``,
    ``score_lower``, ``score_upper``), the first on top; ``cutoffs`` are (score, label) lines (grade limits)."""
    n = len(rows)
    labels = [str(v) for v in rows["label"]]
    left = 16 + max((text_width(s, 10) for s in labels), default=40)
    fig = Figure(WIDTH, 26 * n + 84)
    p = fig.panel(left, 36, WIDTH - left - 16, 26 * n, xlim=(0.0, 100.0), ylim=(-0.5, n - 0.5))
    p.axes(xlabel=xlabel, xticks=range(0, 101, 20), yticks=range(n), ytick_labels=labels[::-1], grid="x")
    ys = n - 1 - np.arange(n)
    p.hbars(rows["score"].to_numpy(float), ys, PEER)
    p.hintervals(rows["score_lower"].to_numpy(float), rows["score_upper"].to_numpy(float), ys, "#222222")
    for x, text in cutoffs:
        p.vline(float(x), BENCH, dash="3 3", label=text)
    return fig


def trend_panels(panels: list[tuple[str, pd.DataFrame]], *, years: Sequence[int], county_text: str,
                 province_text: str) -> Figure:
    """Small multiples: one panel per indicator, county and province by year with interval bands.

    Each frame has ``year``, ``value``, ``lower``, ``upper``, ``scale`` and a ``who`` column
    (``county`` or ``province``).
    """
    cols, cell_w, cell_h = 2, WIDTH / 2, 150
    rows_n = (len(panels) + cols - 1) // cols
    fig = Figure(WIDTH, 34 + rows_n * cell_h)
    xlim = (min(years) - 0.25, max(years) + 0.25)
    for i, (title, frame) in enumerate(panels):
        x0, y0 = (i % cols) * cell_w, 34 + (i // cols) * cell_h
        scale, year, who_of = frame["scale"].to_numpy(float), frame["year"].to_numpy(), frame["who"].to_numpy()
        scaled = {c: frame[c].to_numpy(float) * scale for c in ("value", "lower", "upper")}
        p = fig.panel(x0 + 52, y0 + 22, cell_w - 70, cell_h - 62, xlim=xlim, ylim=_limits(*scaled.values()))
        p.axes(xticks=list(years), xtick_labels=[str(y) for y in years], grid="y")
        p.title(title if text_width(title, 11) < cell_w - 60 else title[: int((cell_w - 60) / 11 * 1.6)] + "…")
        for who, colour in (("province", BENCH), ("county", HIGHLIGHT)):
            mask = who_of == who
            order = np.argsort(year[mask])
            xs = year.astype(float)[mask][order]
            v, lo, hi = (scaled[c][mask][order] for c in ("value", "lower", "upper"))
            p.band(xs, lo, hi, colour)
            p.line(xs, v, colour)
            p.points(xs, v, colour, r=3)
    fig.legend([(county_text, HIGHLIGHT, "line"), (province_text, BENCH, "line")], 52, 16)
    return fig


def funnel(points: pd.DataFrame, limits: pd.DataFrame, *, pooled: float, highlight: str, peers: Sequence[str],
           xlabel: str, ylabel: str, texts: dict[str, str], scale: float = 100.0) -> Figure:
    """A funnel plot: every county's value against its size, with 95% and 99.8% limits.

    ``points`` has ``code``, ``x`` and ``value``; ``limits`` is
    :func:`evalkit.measures.compare.funnel_limits_proportion` output.
    """
    x = points["x"].to_numpy(float)
    y = points["value"].to_numpy(float) * scale
    lim = limits.sort_values(["confidence", "denominator"])
    lim = {c: lim[c].to_numpy(float) for c in ("confidence", "denominator", "lower", "upper")}
    fig = Figure(WIDTH, 396)
    # the limits open wide at small sizes: scale the axis to the counties, and the limits where they are
    inner = (lim["confidence"] == np.nanmax(lim["confidence"])) & (lim["denominator"] >= np.nanmin(x) * 0.8)
    p = fig.panel(60, 50, WIDTH - 80, 290, xlim=(0, float(np.nanmax(x)) * 1.05),
                  ylim=_limits(y, lim["lower"][inner] * scale, lim["upper"][inner] * scale))
    p.axes(xlabel=xlabel, ylabel=ylabel)
    for conf, dash in ((0.95, "5 3"), (0.998, "2 2")):
        part = lim["confidence"] == conf
        for col in ("lower", "upper"):
            p.line(lim["denominator"][part], lim[col][part] * scale, BENCH, width=1, dash=dash)
    p.hline(pooled * scale, BENCH)
    codes = points["code"].to_numpy()
    mine = codes == highlight
    peer = np.isin(codes, list(peers)) & ~mine
    rest = ~(mine | peer)
    p.points(x[rest], y[rest], OTHER, r=2.6)
    p.points(x[peer], y[peer], PEER, r=3.2)
    p.points(x[mine], y[mine], HIGHLIGHT, r=5, stroke="#000")
    fig.legend([(texts["county"], HIGHLIGHT, "point"), (texts["peers"], PEER, "point"),
                (texts["others"], OTHER, "point"), (texts["pooled"], BENCH, "line"),
                (texts["limit_0.95"], BENCH, "dash"), (texts["limit_0.998"], BENCH, "dot")], 60, 16)
    return fig


def ranked_dots(rows: pd.DataFrame, *, highlight: str, peers: Sequence[str], label: str, rank_text: str,
                bench: float | None, bench_text: str, scale: float = 100.0) -> Figure:
    """Every county ranked by value with its interval; the county and its prefecture's counties marked."""
    order = np.argsort(rows["value"].to_numpy(float), kind="stable")  # missing values last, as sort_values
    n = len(rows)
    v, lo, hi = (rows[c].to_numpy(float)[order] * scale for c in ("value", "lower", "upper"))
    codes = rows["code"].to_numpy()[order]
    colour = np.where(codes == highlight, HIGHLIGHT, np.where(np.isin(codes, list(peers)), PEER, OTHER))
    fig = Figure(WIDTH, 330)
    p = fig.panel(60, 34, WIDTH - 80, 250, xlim=(0, n + 1), ylim=_limits(v, lo, hi))
    p.axes(xlabel=rank_text, ylabel=label if text_width(label, 11) < 240 else None, show_x=False, grid="y")
    xs = np.arange(1, n + 1)
    p.vintervals(xs, lo, hi, colour)
    if bench is not None and np.isfinite(bench):
        p.hline(bench * scale, BENCH, dash="5 3")
    for c, r in ((OTHER, 2.2), (PEER, 2.8), (HIGHLIGHT, 4.5)):
        m = colour == c
        p.points(xs[m], v[m], c, r=r)
    items = [(bench_text, BENCH, "dash")] if bench is not None else []
    fig.legend(items, 60, 18)
    return fig


def histograms(panels: list[tuple[str, np.ndarray]], *, ylabel: str) -> Figure:
    """Small multiples of histograms: how one figure spreads over the counties."""
    cols, cell_w, cell_h = 2, WIDTH / 2, 150
    rows_n = (len(panels) + cols - 1) // cols
    fig = Figure(WIDTH, 14 + rows_n * cell_h)
    for i, (title, values) in enumerate(panels):
        values = values[np.isfinite(values)]
        x0, y0 = (i % cols) * cell_w, 14 + (i // cols) * cell_h
        counts, edges = np.histogram(values, bins=16) if values.size else (np.zeros(1), np.array([0.0, 1.0]))
        p = fig.panel(x0 + 52, y0 + 22, cell_w - 70, cell_h - 62, xlim=(edges[0], edges[-1]),
                      ylim=(0, max(1, counts.max()) * 1.05))
        p.axes(ylabel=ylabel, yticks=[t for t in nice_ticks(0, max(1, counts.max()), 3) if t == int(t)], grid="y")
        p.title(title if text_width(title, 11) < cell_w - 60 else title[: int((cell_w - 60) / 11 * 1.6)] + "…")
        p.bars(edges[:-1], edges[1:], counts, PEER)
    return fig
