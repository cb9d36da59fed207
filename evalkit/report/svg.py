"""A small SVG chart writer for report figures: panels, axes with round ticks, points, intervals, lines.

Report figures are simple (dots with intervals, lines by year, a funnel, bars), and a county batch
draws hundreds of them, so they are written as SVG text directly: about a millisecond a figure
instead of a few hundred with a plotting library, the same bytes for the same data, and text kept as
text, drawn by the page's embedded CJK font (:mod:`evalkit.report.fonts`).  Researchers' own plots
in the notebooks use matplotlib as usual.

>>> fig = Figure(200, 120)
>>> p = fig.panel(40, 10, 150, 80, xlim=(0, 10), ylim=(0, 1))
>>> p.axes(xlabel="x")
>>> p.points([5], [0.5], "#000")
>>> fig.svg("a dot").startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="a dot"')
True
>>> nice_ticks(0.12, 0.97)
[0.2, 0.4, 0.6, 0.8]
"""

from __future__ import annotations

import math
from html import escape
from typing import Iterable, Sequence

__all__ = ["Figure", "Panel", "nice_ticks", "text_width", "FONT"]

FONT = "'Noto Sans CJK SC', sans-serif"
AXIS = "#444444"
GRID = "#e3e3e3"


def _n(v: float) -> str:
    """A coordinate with at most one decimal."""
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s


def text_width(text: str, size: float) -> float:
    """Rough width of ``text`` at ``size`` px: a Chinese character is 1 em wide, a Latin one about 0.56 em."""
    return sum(size * (1.0 if ord(c) >= 0x2E80 else 0.56) for c in text)


def nice_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Round tick values within ``[lo, hi]``: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / most
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _tick_text(v: float, ticks: Sequence[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else (1 if step % 1 else 0)
    return f"{v:,.{decimals}f}"


def _text(x: float, y: float, text: str, *, size: float = 11, anchor: str = "start", colour: str = "#222",
          weight: str | None = None, rotate: bool = False) -> str:
    extra = f' font-weight="{weight}"' if weight else ""
    turn = f' transform="rotate(-90 {_n(x)} {_n(y)})"' if rotate else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" fill="{colour}"'
            f"{extra}{turn}>{escape(text)}</text>")


class Panel:
    """One plotting area of a figure: data limits mapped onto a rectangle."""

    def __init__(self, fig: "Figure", x: float, y: float, w: float, h: float, xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:
        self.fig, self.x, self.y, self.w, self.h = fig, x, y, w, h
        self.xlim, self.ylim = _widen(xlim), _widen(ylim)

    def sx(self, v: float) -> float:
        lo, hi = self.xlim
        return self.x + (min(max(v, lo), hi) - lo) / (hi - lo) * self.w

    def sy(self, v: float) -> float:
        lo, hi = self.ylim
        return self.y + self.h - (min(max(v, lo), hi) - lo) / (hi - lo) * self.h

    def _add(self, s: str) -> None:
        self.fig.parts.append(s)

    def axes(self, *, xlabel: str | None = None, ylabel: str | None = None, xticks: Iterable[float] | None = None,
             yticks: Iterable[float] | None = None, xtick_labels: Sequence[str] | None = None,
             ytick_labels: Sequence[str] | None = None, grid: str = "both", show_x: bool = True) -> None:
        """Frame (left and bottom), ticks with labels, light grid lines, axis labels."""
        xt = list(nice_ticks(*self.xlim) if xticks is None else xticks)
        yt = list(nice_ticks(*self.ylim, most=4) if yticks is None else yticks)
        bottom, left = self.y + self.h, self.x
        out = []
        for i, v in enumerate(yt):
            y = self.sy(v)
            if grid in ("both", "y"):
                out.append(f'<line x1="{_n(left)}" x2="{_n(left + self.w)}" y1="{_n(y)}" y2="{_n(y)}" stroke="{GRID}"/>')
            label = ytick_labels[i] if ytick_labels is not None else _tick_text(v, yt)
            out.append(_text(left - 5, y + 3.5, label, size=10, anchor="end"))
        if show_x:
            for i, v in enumerate(xt):
                x = self.sx(v)
                if grid in ("both", "x"):
                    out.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(self.y)}" y2="{_n(bottom)}" stroke="{GRID}"/>')
                label = xtick_labels[i] if xtick_labels is not None else _tick_text(v, xt)
                out.append(_text(x, bottom + 13, label, size=10, anchor="middle"))
        out.append(f'<path d="M{_n(left)} {_n(self.y)}V{_n(bottom)}H{_n(left + self.w)}" fill="none" '
                   f'stroke="{AXIS}"/>')
        if xlabel:
            out.append(_text(left + self.w / 2, bottom + 30, xlabel, size=11, anchor="middle"))
        if ylabel:
            out.append(_text(left - 36, self.y + self.h / 2, ylabel, size=11, anchor="middle", rotate=True))
        self.fig.parts[:0] = out  # under the data

    def title(self, text: str) -> None:
        self._add(_text(self.x, self.y - 6, text, size=11, weight="bold"))

    def points(self, xs: Iterable[float], ys: Iterable[float], colour: str, *, r: float = 3.2,
               stroke: str | None = None) -> None:
        edge = f' stroke="{stroke}" stroke-width="0.8"' if stroke else ""
        self._add("".join(f'<circle cx="{_n(self.sx(x))}" cy="{_n(self.sy(y))}" r="{_n(r)}" fill="{colour}"{edge}/>'
                          for x, y in zip(xs, ys) if _ok(x, y)))

    def hintervals(self, lows: Iterable[float], highs: Iterable[float], ys: Iterable[float], colour: str) -> None:
        """Horizontal interval lines with small caps."""
        self._add("".join(
            f'<path d="M{_n(self.sx(a))} {_n(self.sy(y))}H{_n(self.sx(b))}M{_n(self.sx(a))} {_n(self.sy(y) - 3)}'
            f'v6M{_n(self.sx(b))} {_n(self.sy(y) - 3)}v6" stroke="{colour}" stroke-width="1.3" fill="none"/>'
            for a, b, y in zip(lows, highs, ys) if _ok(a, b, y)))

    def vintervals(self, xs: Iterable[float], lows: Iterable[float], highs: Iterable[float], colour) -> None:
        """Vertical interval lines; ``colour`` one colour or one per line."""
        colours = [colour] * 10**6 if isinstance(colour, str) else list(colour)
        self._add("".join(
            f'<path d="M{_n(self.sx(x))} {_n(self.sy(a))}V{_n(self.sy(b))}" stroke="{c}" stroke-width="1"/>'
            for x, a, b, c in zip(xs, lows, highs, colours) if _ok(x, a, b)))

    def line(self, xs: Sequence[float], ys: Sequence[float], colour: str, *, width: float = 1.5,
             dash: str | None = None) -> None:
        pts = [(x, y) for x, y in zip(xs, ys) if _ok(x, y)]
        if len(pts) < 2:
            return
        d = "M" + "L".join(f"{_n(self.sx(x))} {_n(self.sy(y))}" for x, y in pts)
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self._add(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{_n(width)}"{dashed}/>')

    def band(self, xs: Sequence[float], lows: Sequence[float], highs: Sequence[float], colour: str,
             opacity: float = 0.15) -> None:
        pts = [(x, a, b) for x, a, b in zip(xs, lows, highs) if _ok(x, a, b)]
        if len(pts) < 2:
            return
        upper = "L".join(f"{_n(self.sx(x))} {_n(self.sy(b))}" for x, _, b in pts)
        lower = "L".join(f"{_n(self.sx(x))} {_n(self.sy(a))}" for x, a, _ in reversed(pts))
        self._add(f'<path d="M{upper}L{lower}Z" fill="{colour}" fill-opacity="{opacity}" stroke="none"/>')

    def hline(self, y: float, colour: str, *, dash: str | None = None) -> None:
        if not _ok(y):
            return
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self._add(f'<path d="M{_n(self.x)} {_n(self.sy(y))}H{_n(self.x + self.w)}" stroke="{colour}"{dashed}/>')

    def bars(self, lefts: Sequence[float], rights: Sequence[float], heights: Sequence[float], colour: str) -> None:
        self._add("".join(
            f'<rect x="{_n(self.sx(a))}" y="{_n(self.sy(h))}" width="{_n(max(self.sx(b) - self.sx(a) - 1, 0.5))}" '
            f'height="{_n(self.sy(0) - self.sy(h))}" fill="{colour}"/>'
            for a, b, h in zip(lefts, rights, heights) if h > 0))


    def hbars(self, values: Sequence[float], ys: Sequence[float], colour: str, *, thickness: float = 0.55) -> None:
        """Horizontal bars from 0 to each value, ``thickness`` in y units."""
        self._add("".join(
            f'<rect x="{_n(self.sx(min(0, v)))}" y="{_n(self.sy(y + thickness / 2))}" '
            f'width="{_n(abs(self.sx(v) - self.sx(0)))}" height="{_n(self.sy(y - thickness / 2) - self.sy(y + thickness / 2))}" '
            f'fill="{colour}" fill-opacity="0.75"/>'
            for v, y in zip(values, ys) if _ok(v, y)))

    def vline(self, x: float, colour: str, *, dash: str | None = None, label: str | None = None) -> None:
        """A vertical line across the panel, with an optional label above it."""
        if not _ok(x):
            return
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self._add(f'<path d="M{_n(self.sx(x))} {_n(self.y)}V{_n(self.y + self.h)}" stroke="{colour}"{dashed}/>')
        if label:
            self._add(_text(self.sx(x), self.y - 3, label, size=9, anchor="middle", colour=colour))


def _ok(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _widen(lim: tuple[float, float]) -> tuple[float, float]:
    lo, hi = float(lim[0]), float(lim[1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if hi <= lo:
        pad = abs(lo) * 0.05 or 1.0
        return lo - pad, hi + pad
    return lo, hi


class Figure:
    """An SVG drawing of ``width`` x ``height`` px holding panels, a legend and text."""

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height
        self.parts: list[str] = []

    def panel(self, x: float, y: float, w: float, h: float, *, xlim: tuple[float, float],
              ylim: tuple[float, float]) -> Panel:
        return Panel(self, x, y, w, h, xlim, ylim)

    def legend(self, items: Sequence[tuple[str, str, str]], x: float, y: float) -> float:
        """Legend entries ``(label, colour, kind)`` (kind ``point``, ``line``, ``dash`` or ``dot``) in rows from
        ``(x, y)``, wrapping before the right edge; returns the baseline of the last row."""
        out, left = [], x
        for label, colour, kind in items:
            width = 30 + text_width(label, 10)
            if x > left and x + width > self.width - 6:
                x, y = left, y + 15
            if kind == "point":
                out.append(f'<circle cx="{_n(x + 5)}" cy="{_n(y - 4)}" r="4" fill="{colour}"/>')
            else:
                dashed = {"dash": ' stroke-dasharray="5 3"', "dot": ' stroke-dasharray="2 2"'}.get(kind, "")
                out.append(f'<path d="M{_n(x)} {_n(y - 4)}h14" stroke="{colour}" stroke-width="1.6"{dashed}/>')
            out.append(_text(x + 18, y, label, size=10))
            x += width
        self.parts.extend(out)
        return y

    def svg(self, alt: str) -> str:
        """The drawing as an inline ``<svg>`` element, scaled to the width of the page."""
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(alt)}" '
                f'viewBox="0 0 {_n(self.width)} {_n(self.height)}" width="{_n(self.width)}" '
                f'height="{_n(self.height)}" style="max-width:100%;height:auto" font-family="{escape(FONT)}">'
                f'<title>{escape(alt)}</title>{"".join(self.parts)}</svg>')
