"""A line plot drawn with braille characters: 2x4 dots per terminal cell.

No plotting library: a curve is a few hundred points and a panel a few dozen
cells, so mapping values to dots and joining neighbours with straight lines is
all it takes, and it draws the same in any terminal, in tmux and in SVG
screenshots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

_BASE = 0x2800
# Bit of the dot at (column, row) inside one braille cell (Unicode's numbering).
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def resample(values: Sequence[float], columns: int) -> list[float]:
    """``values`` fitted to ``columns`` points: means of equal runs when there
    are more, the values themselves when there are not."""
    n = len(values)
    if n <= columns:
        return list(values)
    out = []
    for i in range(columns):
        chunk = [
            v
            for v in values[i * n // columns : (i + 1) * n // columns]
            if math.isfinite(v)
        ]
        out.append(sum(chunk) / len(chunk) if chunk else math.nan)
    return out


def value_range(values: Sequence[float]) -> tuple[float, float] | None:
    """The lowest and highest finite value (widened when they are equal); None if none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    if hi == lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def mark_x(fraction: float, width: int) -> int:
    """The dot column of a mark ``fraction`` (0: left edge, 1: right edge) of the way across."""
    return round(min(max(fraction, 0.0), 1.0) * (2 * max(1, width) - 1))


def braille_lines(
    values: Sequence[float],
    width: int,
    height: int,
    bounds: tuple[float, float] | None = None,
    marks: Sequence[float] = (),
) -> list[str]:
    """``values`` as a line plot of ``height`` rows of ``width`` braille cells.

    The first value is at the left edge, the last at the right (fewer values
    than dot columns are spread out); the lowest value is at the bottom, the
    highest at the top (or ``bounds``). Values that are not finite leave a gap.
    Each of ``marks`` (a fraction of the way across, see :func:`mark_x`) is a
    dotted vertical line through the plot's height.
    """
    width, height = max(1, width), max(1, height)
    cells = [[0] * width for _ in range(height)]
    dots_x, dots_y = 2 * width, 4 * height

    def dot(x: int, y: int) -> None:
        if 0 <= x < dots_x and 0 <= y < dots_y:
            cells[y // 4][x // 2] |= _DOTS[x % 2][y % 4]

    for fraction in marks:
        x = mark_x(fraction, width)
        for y in range(0, dots_y, 2):
            dot(x, y)
    points = resample(values, dots_x)
    bounds = bounds or value_range(points)
    if bounds is None or not points:
        return ["".join(chr(_BASE + bits) for bits in row) for row in cells]
    lo, hi = bounds
    span = hi - lo or 1.0

    def position(i: int, v: float) -> tuple[int, int]:
        x = 0 if len(points) == 1 else round(i * (dots_x - 1) / (len(points) - 1))
        y = round((hi - min(max(v, lo), hi)) / span * (dots_y - 1))
        return x, y

    previous: tuple[int, int] | None = None
    for i, v in enumerate(points):
        if not math.isfinite(v):
            previous = None
            continue
        x, y = position(i, v)
        if previous is None:
            dot(x, y)
        else:
            _line(previous, (x, y), dot)
        previous = (x, y)
    return ["".join(chr(_BASE + bits) for bits in row) for row in cells]


def _line(
    a: tuple[int, int], b: tuple[int, int], dot: Callable[[int, int], None]
) -> None:
    """Every dot on the straight line from ``a`` to ``b`` (Bresenham)."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x1 >= x0 else -1), (1 if y1 >= y0 else -1)
    err = dx + dy
    while True:
        dot(x0, y0)
        if (x0, y0) == (x1, y1):
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy
