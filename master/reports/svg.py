"""Geometry of the report's inline SVG charts: scales, round tick values, and the plot frame that charts draw into.

A chart is a plain dict of shapes in viewBox units (the template ``charts.html`` lays it out as SVG, autoescaped):
no JavaScript, nothing fetched, printable. Values that are missing are never drawn as 0: a line breaks at a gap.
"""

from __future__ import annotations

import math

PALETTE = ("#2f6fb0", "#d9822b", "#3a9a5b", "#b8403a", "#7d5ba6", "#8c6d3f", "#c25b9c", "#5f7280", "#a5a52a", "#2aa3b8")
"""Series colours, in order; they repeat after ten series (labels and dashes still tell series apart)."""

WIDTH = 640
"""Width of every chart's viewBox; the SVG scales to its box (100% wide)."""


def color(index: int) -> str:
    """The colour of the index-th series."""
    return PALETTE[index % len(PALETTE)]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart); just [lo, hi]
    where round ticks would overflow (values near the float limit)."""
    try:
        lo, hi = float(lo), float(hi)
    except OverflowError:
        return []
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    try:
        raw = (hi - lo) / max(count, 1)
        power = 10.0 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
        value = math.floor(lo / step) * step
        ticks = []
        while value <= hi + step * 1e-9 and len(ticks) < 50:
            ticks.append(round(value, 12))
            value += step
        if ticks[-1] < hi:
            ticks.append(round(value, 12))
    except (OverflowError, ValueError, StopIteration):
        return [lo, hi]
    return ticks if all(math.isfinite(t) for t in ticks) else [lo, hi]


def tick_label(value: float) -> str:
    """A tick value in at most 4 significant digits."""
    if value == 0:
        return "0"
    return f"{value:.4g}"


class Frame:
    """A plot area of ``height`` viewBox units with axes from (x_lo, x_hi) and (y_lo, y_hi) extended to round ticks;
    ``left`` units of margin hold the y tick labels (or, without y ticks, category labels)."""

    def __init__(self, x_range, y_range, height: int = 300, left: int = 64, bottom: int = 44, y_ticks: bool = True):
        self.height, self.left, self.top, self.bottom, self.right = height, left, 12, bottom, 16
        self.x_ticks = nice_ticks(*x_range, count=6)
        self.y_ticks = nice_ticks(*y_range) if y_ticks else []
        self.x_lo, self.x_hi = (self.x_ticks[0], self.x_ticks[-1]) if self.x_ticks else x_range
        self.y_lo, self.y_hi = (self.y_ticks[0], self.y_ticks[-1]) if self.y_ticks else y_range

    def x(self, value: float) -> float:
        """viewBox x of a data value."""
        return round(self.left + _fraction(value, self.x_lo, self.x_hi) * (WIDTH - self.left - self.right), 1)

    def y(self, value: float) -> float:
        """viewBox y of a data value."""
        return round(
            self.top + (1 - _fraction(value, self.y_lo, self.y_hi)) * (self.height - self.top - self.bottom), 1
        )

    def chart(self, chart_id: str, title: str, x_label: str, y_label: str, **shapes) -> dict:
        """The chart dict the template draws: frame, ticks, axis labels and the given shapes."""
        base = {
            "id": chart_id,
            "title": title,
            "width": WIDTH,
            "height": self.height,
            "plot": {"x0": self.left, "x1": WIDTH - self.right, "y0": self.top, "y1": self.height - self.bottom},
            "x_label": x_label,
            "y_label": y_label,
            "x_ticks": [{"pos": self.x(t), "label": tick_label(t)} for t in self.x_ticks],
            "y_ticks": [{"pos": self.y(t), "label": tick_label(t)} for t in self.y_ticks],
            "rects": [],
            "bands": [],
            "lines": [],
            "marks": [],
            "whiskers": [],
            "labels": [],
            "legend": [],
        }
        base.update(shapes)
        return base

    def path(self, points) -> str:
        """An SVG path through (x, y) points, broken where y is None (a gap stays a gap)."""
        parts, pen_down = [], False
        for x, y in points:
            if y is None:
                pen_down = False
                continue
            parts.append(f"{'L' if pen_down else 'M'}{self.x(x)},{self.y(y)}")
            pen_down = True
        return " ".join(parts)

    def band(self, points) -> list[str]:
        """Polygons (SVG points strings) between the low and high values of (x, low, high) points, one per
        unbroken run."""
        runs, current = [], []
        for x, low, high in points:
            if low is None or high is None:
                if current:
                    runs.append(current)
                current = []
            else:
                current.append((x, low, high))
        if current:
            runs.append(current)
        polygons = []
        for run in runs:
            upper = [f"{self.x(x)},{self.y(h)}" for x, _, h in run]
            lower = [f"{self.x(x)},{self.y(lo)}" for x, lo, _ in reversed(run)]
            polygons.append(" ".join(upper + lower))
        return polygons


def _fraction(value: float, lo: float, hi: float) -> float:
    """Where value lies from lo (0) to hi (1); halved first so values near the float limit do not overflow."""
    span = float(hi) / 2 - float(lo) / 2
    return (float(value) / 2 - float(lo) / 2) / span if span else 0.5


def finite(value) -> bool:
    """Whether value is a real number (not a bool, not NaN or infinite)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def extent(values, include_zero: bool = False) -> tuple[float, float] | None:
    """(min, max) of the finite values (with 0 when asked); None when there is none."""
    present = [v for v in values if finite(v)]
    if include_zero:
        present.append(0.0)
    if not present:
        return None
    return min(present), max(present)
