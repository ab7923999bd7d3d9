"""Learning curves: one metric over the whole run, as a braille line plot.

The points are the run's own (:mod:`engine.services.curves`), downsampled as the run
goes on, so the plot spans the run from its first report whenever the
dashboard was opened. ``c`` shows the next curve.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from engine.services.curves import Curve, Key, key_text

from ..plot import braille_lines, value_range

LABEL_WIDTH = 9
"""Columns of the y-axis labels."""


def _label(value: float) -> str:
    return f"{value:.4g}"[:LABEL_WIDTH].rjust(LABEL_WIDTH)


def curve_text(
    key: Key | None,
    curve: Curve | None,
    width: int,
    height: int,
    position: tuple[int, int] = (0, 0),
) -> Text:
    """The panel's text: a title line, ``height - 2`` plot rows and an x-axis line.

    Args:
        key: The curve shown (None: no metric reported yet).
        curve: Its points (None: not received yet).
        width: Columns available.
        height: Rows available (at least 3).
        position: Its place among the curves and how many there are.
    """
    text = Text(no_wrap=True, overflow="crop")
    if key is None:
        text.append("no metrics reported yet", style="dim")
        return text
    index, total = position
    values = [] if curve is None else curve.values()
    title = Text(key_text(key), style="bold")
    if curve is not None and math.isfinite(curve.last):
        title.append(f"  {curve.last:.4g}")
    if total > 1:
        title.append(f"  ({index + 1}/{total}, c: next)", style="dim")
    # One line whatever the width: the plot's rows are counted.
    title.truncate(width, overflow="ellipsis")
    text.append_text(title)
    rows = max(1, height - 2)
    plot_width = max(1, width - LABEL_WIDTH - 1)
    bounds = value_range(values)
    if bounds is None or curve is None:
        text.append("\n")
        text.append("  waiting for the first value...", style="dim")
        return text
    lo, hi = bounds
    for i, line in enumerate(braille_lines(values, plot_width, rows, bounds)):
        label = _label(hi) if i == 0 else _label(lo) if i == rows - 1 else ""
        text.append("\n")
        text.append(label.rjust(LABEL_WIDTH) + " ", style="dim")
        text.append(line, style="cyan")
    steps = curve.steps()
    if steps is not None:
        per = f", {curve.stride:,} per point" if curve.stride > 1 else ""
        axis = f"steps {steps[0]:,.0f}..{steps[1]:,.0f}  {curve.count:,} reports{per}"
        line = Text(" " * (LABEL_WIDTH + 1) + axis, style="dim")
        line.truncate(width, overflow="ellipsis")
        text.append("\n")
        text.append_text(line)
    return text


class CurvesPanel(Static):
    """The learning curve chosen in the dashboard, drawn to the panel's size."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: object = None
        self._args: tuple[Key | None, Curve | None, tuple[int, int]] = (
            None,
            None,
            (0, 0),
        )

    def show(
        self, key: Key | None, curve: Curve | None, position: tuple[int, int]
    ) -> None:
        """Draw ``curve`` (redrawn only when it or the panel's size changed)."""
        self._args = (key, curve, position)
        self.redraw()

    def redraw(self) -> None:
        """Draw the last curve again (for a new size)."""
        key, curve, position = self._args
        width, height = self.content_size.width, self.content_size.height
        shown = (
            key,
            None if curve is None else (curve.count, len(curve.points), curve.tail),
            position,
            width,
            height,
        )
        if shown == self._shown or width <= 0 or height <= 0:
            return
        self._shown = shown
        self.update(curve_text(key, curve, width, max(3, height), position))

    def on_resize(self) -> None:
        """Fit the plot to the new size."""
        self.redraw()
