"""Figures of the county report, drawn with matplotlib and embedded as inline SVG in the HTML.

Every function takes tidy rows already selected (and suppressed) from the indicator table and
returns an HTML ``<figure>`` with alternative text and a caption, so that a report is one
self-contained file.  Text in figures uses the bundled CJK font (:mod:`evalkit.report.fonts`),
so Chinese renders on a machine without Chinese fonts: matplotlib lays the text out with it and
the page embeds it.  The SVG carries no date: the same data gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Sequence

import numpy as np
import pandas as pd

from .format import esc

__all__ = ["figure_html", "interval_dots", "trend_panels", "funnel", "ranked_dots", "histograms"]

HIGHLIGHT = "#c0392b"
PEER = "#2e6fba"
OTHER = "#9aa5b1"
BENCH = "#555555"
DPI = 96


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .fonts import use_in_matplotlib

    use_in_matplotlib()
    plt.rcParams.update({"axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
                         "grid.color": "#e3e3e3", "font.size": 9, "axes.titlesize": 10,
                         "svg.hashsalt": "evalkit", "svg.fonttype": "none", "figure.dpi": DPI})
    return plt


def figure_html(fig, *, alt: str, caption: str) -> str:
    """The figure as inline SVG inside ``<figure>``, and the figure closed.

    SVG keeps text as text (``svg.fonttype = "none"``): the page's embedded CJK font draws it,
    it prints sharply, and it can be searched and read aloud.  Element ids are prefixed with a
    digest of the drawing, so several figures on one page never share an id.
    """
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg"):]
    prefix = "f" + hashlib.sha256(svg.encode()).hexdigest()[:8] + "-"
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = re.sub(r'url\(#', f'url(#{prefix}', svg)
    svg = re.sub(r'href="#', f'href="#{prefix}', svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{esc(alt)}" ', 1)
    return f'<figure class="report-figure">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def interval_dots(rows: pd.DataFrame, *, label: str, series: Sequence[tuple[str, str, str]], xlabel: str,
                  scale: float = 100.0):
    """Points with intervals, one line per ``label`` value, one marker per series.

    ``series`` lists ``(column prefix, legend text, colour)``: the frame has ``<prefix>value``,
    ``<prefix>lower`` and ``<prefix>upper`` columns for each.
    """
    plt = _plt()
    n = len(rows)
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * n + 0.9))
    fig.subplots_adjust(left=0.26, right=0.97, bottom=0.9 / (0.42 * n + 0.9), top=1 - 0.45 / (0.42 * n + 0.9))
    y = np.arange(n)[::-1]
    step = 0.22 if len(series) > 1 else 0
    for k, (prefix, text, colour) in enumerate(series):
        off = (k - (len(series) - 1) / 2) * step
        v = rows[f"{prefix}value"].to_numpy(float) * scale
        lo = rows[f"{prefix}lower"].to_numpy(float) * scale
        hi = rows[f"{prefix}upper"].to_numpy(float) * scale
        ok = ~np.isnan(v)
        err = np.vstack([v - lo, hi - v])[:, ok]
        ax.errorbar(v[ok], y[ok] + off, xerr=np.where(np.isnan(err), 0, err), fmt="o", color=colour,
                    ms=5, capsize=2, lw=1.2, label=text)
    ax.set_yticks(y, rows[label].tolist())
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(series), frameon=False, fontsize=8)
    return fig


def trend_panels(panels: list[tuple[str, pd.DataFrame]], *, years: Sequence[int], county_text: str,
                 province_text: str):
    """Small multiples: one panel per indicator, county and province by year with intervals.

    Each frame has ``year``, ``value``, ``lower``, ``upper``, ``scale`` and a ``who`` column
    (``county`` or ``province``).
    """
    plt = _plt()
    cols = 2
    rows_n = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(6.4, 2.1 * rows_n), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.35 / (2.1 * rows_n), top=1 - 0.3 / (2.1 * rows_n),
                        hspace=0.45, wspace=0.22)
    for ax, (title, frame) in zip(axes.ravel(), panels):
        for who, colour, text in (("province", BENCH, province_text), ("county", HIGHLIGHT, county_text)):
            part = frame[frame["who"] == who].sort_values("year")
            scale = part["scale"].to_numpy(float)
            v, lo, hi = (part[c].to_numpy(float) * scale for c in ("value", "lower", "upper"))
            ax.plot(part["year"], v, marker="o", ms=4, color=colour, lw=1.4, label=text)
            ok = ~(np.isnan(lo) | np.isnan(hi))
            ax.fill_between(part["year"].to_numpy()[ok], lo[ok], hi[ok], color=colour, alpha=0.15, lw=0)
        ax.set_title(title, loc="left")
        ax.set_xticks(list(years), [str(y) for y in years])
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    axes[0, 0].legend(frameon=False, fontsize=8)
    return fig


def funnel(points: pd.DataFrame, limits: pd.DataFrame, *, pooled: float, highlight: str, peers: Sequence[str],
           xlabel: str, ylabel: str, texts: dict[str, str], scale: float = 100.0):
    """A funnel plot: every county's value against its size, with 95% and 99.8% limits.

    ``points`` has ``code``, ``x`` and ``value``; ``limits`` is
    :func:`evalkit.measures.compare.funnel_limits_proportion` output.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.12, top=0.97)
    for conf, style in ((0.95, "--"), (0.998, ":")):
        lim = limits[limits["confidence"] == conf].sort_values("denominator")
        ax.plot(lim["denominator"], lim["lower"] * scale, style, color=BENCH, lw=1, label=texts[f"limit_{conf}"])
        ax.plot(lim["denominator"], lim["upper"] * scale, style, color=BENCH, lw=1)
    ax.axhline(pooled * scale, color=BENCH, lw=1, label=texts["pooled"])
    kind = np.where(points["code"] == highlight, 2, np.where(points["code"].isin(list(peers)), 1, 0))
    for k, colour, size, text in ((0, OTHER, 14, texts["others"]), (1, PEER, 18, texts["peers"]),
                                  (2, HIGHLIGHT, 46, texts["county"])):
        part = points[kind == k]
        ax.scatter(part["x"], part["value"] * scale, s=size, color=colour, zorder=3 + k, label=text,
                   edgecolor="white" if k < 2 else "black", linewidth=0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig


def ranked_dots(rows: pd.DataFrame, *, highlight: str, peers: Sequence[str], label: str, rank_text: str,
                bench: float | None, bench_text: str, scale: float = 100.0):
    """Every county ranked by value with its interval; the county and its prefecture's counties marked."""
    plt = _plt()
    rows = rows.sort_values("value").reset_index(drop=True)
    n = len(rows)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.08, top=0.97)
    x = np.arange(1, n + 1)
    colour = np.where(rows["code"] == highlight, HIGHLIGHT, np.where(rows["code"].isin(list(peers)), PEER, OTHER))
    v, lo, hi = (rows[c].to_numpy(float) * scale for c in ("value", "lower", "upper"))
    ax.vlines(x, lo, hi, colors=colour, lw=1)
    ax.scatter(x, v, s=np.where(colour == HIGHLIGHT, 40, 10), c=colour, zorder=3)
    if bench is not None and not np.isnan(bench):
        ax.axhline(bench * scale, color=BENCH, lw=1, ls="--", label=bench_text)
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_xlim(0, n + 1)
    ax.set_ylabel(label)
    ax.set_xlabel(rank_text)
    ax.set_xticks([])
    ax.grid(axis="x", visible=False)
    return fig


def histograms(panels: list[tuple[str, np.ndarray]], *, ylabel: str):
    """Small multiples of histograms: how one figure spreads over the counties."""
    plt = _plt()
    cols = 2
    rows_n = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(6.4, 2.0 * rows_n), squeeze=False)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.35 / (2.0 * rows_n), top=1 - 0.3 / (2.0 * rows_n),
                        hspace=0.5, wspace=0.22)
    for ax, (title, values) in zip(axes.ravel(), panels):
        ax.hist(values[~np.isnan(values)], bins=20, color=PEER, alpha=0.85)
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    return fig
