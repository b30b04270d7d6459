"""Charts drawn on the server as SVG: no JavaScript, no dependency, readable without colour.

Each chart scales to its container (viewBox, width 100%); text sizes are set in CSS so a
phone can enlarge them. Series differ by dash pattern and point marker, not only by
colour, and a legend shows each one's name, line, marker and axis. Every chart has a
<title>, a <desc> and role="img", and the page shows its numbers as a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

WIDTH = 560  # the line chart's viewBox: about its size in a desktop card
HEIGHT = 260
NARROW_WIDTH = 340  # the same chart for phones
NARROW_HEIGHT = 220
BAR_WIDTH = 440


@dataclass(frozen=True)
class Series:
    """One line: its name, one value per x position, and which y axis it reads against."""

    name: str
    values: Sequence[float]
    axis: str = "left"  # or "right"
    style: str = "solid"  # solid: line and circles; dashed: dashes and squares
    is_whole: bool = True  # counts: axis steps stay whole numbers


def nice_max(value: float, *, is_whole: bool = False) -> float:
    """Return a round axis top at or above value whose quarter is a round step too
    (1, 2, 2.5 or 5 x 10^n; for counts whole steps only, 1 to 5 when they are small)."""
    if value <= 0:
        return 4.0 if is_whole else 1.0
    quarter = value / 4
    magnitude = 10.0 ** math.floor(math.log10(quarter))
    steps = [s * magnitude for s in (1.0, 2.0, 2.5, 5.0, 10.0)]
    if is_whole:  # counts: 25 is a fine step, 2.5 is not; below 10, any whole step will do
        steps = [1.0, 2.0, 3.0, 4.0, 5.0, 10.0] if magnitude < 10 else steps
    step = next(s for s in steps if quarter <= s + 1e-12)
    if is_whole:
        step = max(1.0, round(step))
    return step * 4


def _fmt(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _marker(style: str, x: float, y: float) -> str:
    if style == "dashed":
        return (
            f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" class="chart__mark"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="chart__mark"/>'


def line_chart(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    max_ticks: int = 6,
    css_class: str = "",
) -> Markup:
    """Draw a daily line chart with up to two y axes (left and right).

    Pages draw it twice, wide and narrow (``width=NARROW_WIDTH``), and CSS shows the one
    that fits: text then keeps a readable size instead of shrinking with the drawing.
    """
    left, right, top, bottom = 48, 40, 30, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(days)
    tops = {
        axis: nice_max(
            max((max(s.values, default=0) for s in series if s.axis == axis), default=0),
            is_whole=all(s.is_whole for s in series if s.axis == axis),
        )
        for axis in ("left", "right")
    }

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if n <= 1 else plot_w * i / (n - 1))

    def y_of(value: float, axis: str) -> float:
        return top + plot_h - (value / tops[axis]) * plot_h

    parts = [
        f'<svg class="chart chart--line {css_class}" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{_attr(title)}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
    ]
    # Grid and y axes: 4 steps, left axis labels on the left, right axis on the right.
    has_right = any(s.axis == "right" for s in series)
    for step in range(5):
        y = top + plot_h - plot_h * step / 4
        parts.append(
            f'<line class="chart__grid" x1="{left}" x2="{width - right}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="chart__tick" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(tops['left'] * step / 4)}</text>"
        )
        if has_right:
            parts.append(
                f'<text class="chart__tick" x="{width - right + 8}" y="{y + 4:.1f}">'
                f"{_fmt(tops['right'] * step / 4)}</text>"
            )
    # X axis: at most 6 day labels, first and last always.
    if n:
        count = min(n, max_ticks)
        picks = sorted({round(i * (n - 1) / max(1, count - 1)) for i in range(count)})
        for i in picks:
            label = f"{days[i].day} {days[i]:%b}"
            anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
            parts.append(
                f'<text class="chart__tick" x="{x_of(i):.1f}" y="{height - bottom + 18}" '
                f'text-anchor="{anchor}">{label}</text>'
            )
    parts.append(
        f'<line class="chart__axis" x1="{left}" x2="{width - right}" '
        f'y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )
    # Legend in the top margin: line sample, marker and axis, so no colour is needed.
    legend_x = left
    for index, s in enumerate(series):
        side = "left" if s.axis == "left" else "right"
        parts.append(
            f'<g class="chart__series chart__series--{index + 1} is-{s.style}">'
            f'<line class="chart__line" x1="{legend_x}" x2="{legend_x + 28}" y1="12" y2="12"/>'
            f"{_marker(s.style, legend_x + 14, 12)}"
            f'<text class="chart__tick" x="{legend_x + 36}" y="17">'
            f"{escape(s.name)} ({side})</text></g>"
        )
        legend_x += 130
    for index, s in enumerate(series):
        points = [(x_of(i), y_of(v, s.axis)) for i, v in enumerate(s.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<g class="chart__series chart__series--{index + 1} is-{s.style}">')
        if len(points) > 1:
            parts.append(f'<polyline class="chart__line" points="{path}"/>')
        if n <= 62:  # markers on every day while they stay apart; lines carry longer ranges
            parts.extend(_marker(s.style, x, y) for x, y in points)
        elif points:
            parts.append(_marker(s.style, *points[-1]))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text in it went through escape()


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, description: str) -> Markup:
    """Draw horizontal bars, each with its label above and its value at its end."""
    row_h, pad = 42, 4
    height = max(1, len(bars)) * row_h + pad
    top_value = max((v for _, v in bars), default=0) or 1.0
    label_w = BAR_WIDTH - 60
    parts = [
        f'<svg class="chart chart--bar" viewBox="0 0 {BAR_WIDTH} {height}" width="100%" '
        f'role="img" aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
    ]
    for i, (label, value) in enumerate(bars):
        y = pad + i * row_h
        width = max(2.0, label_w * value / top_value) if value else 0.0
        short = label if len(label) <= 48 else label[:47] + "…"
        parts.append(
            f'<text class="chart__tick chart__bar-label" x="0" y="{y + 12}">{escape(short)}</text>'
            f'<rect class="chart__bar" x="0" y="{y + 18}" width="{width:.1f}" height="16" rx="2"/>'
            f'<text class="chart__value" x="{width + 6:.1f}" y="{y + 31}">'
            f"{_fmt(value)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text in it went through escape()
