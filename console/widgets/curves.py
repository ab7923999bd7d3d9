"""Learning curves: one metric over the whole run, as a braille line plot.

The points are the run's own (:mod:`engine.services.curves`), downsampled as the run
goes on, so the plot spans the run from its first report whenever the
dashboard was opened, across resumes and loads. Loads and resumes (yellow)
and sharp drops (red) are dotted vertical lines where they happened, the
latest named under the plot. ``c`` shows the next curve.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from engine.services.curves import DROP, Curve, Key, Mark, key_text

from ..plot import braille_lines, mark_x, value_range

LABEL_WIDTH = 9
"""Columns of the y-axis labels."""
TICK_EVERY = 4
"""Plot rows between y-axis labels."""
MARK_STYLES = {DROP: "bold red"}
"""How a mark of each kind is drawn (others: :data:`LOAD_STYLE`)."""
LOAD_STYLE = "bold yellow"
LEGEND_MARKS = 2
"""Marks named under the plot (the latest)."""


def _label(value: float) -> str:
    return f"{value:.4g}"[:LABEL_WIDTH].rjust(LABEL_WIDTH)


def _style(mark: Mark) -> str:
    return MARK_STYLES.get(mark.kind, LOAD_STYLE)


def _plot_row(line: str, marked: dict[int, str]) -> Text:
    """One row of the plot: the curve in cyan, the cells a mark crosses in its colour."""
    row = Text(line, style="cyan")
    for column, style in marked.items():
        row.stylize(style, column, column + 1)
    return row


def _legend(marks: list[Mark], width: int) -> Text:
    legend = Text(" " * (LABEL_WIDTH + 1))
    for mark in marks[-LEGEND_MARKS:]:
        legend.append("┊ ", style=_style(mark))
        legend.append(mark.text + "  ", style=_style(mark))
    legend.truncate(width, overflow="ellipsis")
    return legend


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
    marks = [] if curve is None else curve.marks
    # The latest marks are named on a line of their own when there is room.
    legend = bool(marks) and height >= 7
    rows = max(1, height - 2 - legend)
    plot_width = max(1, width - LABEL_WIDTH - 1)
    bounds = value_range(values)
    if bounds is None or curve is None:
        text.append("\n")
        text.append("  waiting for the first value...", style="dim")
        return text
    lo, hi = bounds
    fractions = [m.at / curve.count if curve.count else 1.0 for m in marks]
    marked: dict[int, str] = {}
    for mark, fraction in zip(marks, fractions, strict=True):
        column = mark_x(fraction, plot_width) // 2
        # A drop outshines a load in the same cell.
        if marked.get(column) != MARK_STYLES[DROP]:
            marked[column] = _style(mark)
    lines = braille_lines(values, plot_width, rows, bounds, fractions)
    for i, line in enumerate(lines):
        text.append("\n")
        text.append(_tick(i, rows, lo, hi) + " ", style="dim")
        text.append_text(_plot_row(line, marked))
    steps = curve.steps()
    if steps is not None:
        per = f", {curve.stride:,} per point" if curve.stride > 1 else ""
        axis = f"steps {steps[0]:,.0f}..{steps[1]:,.0f}  {curve.count:,} reports{per}"
        axis_line = Text(" " * (LABEL_WIDTH + 1) + axis, style="dim")
        axis_line.truncate(width, overflow="ellipsis")
        text.append("\n")
        text.append_text(axis_line)
    if legend:
        text.append("\n")
        text.append_text(_legend(marks, width))
    return text


def _tick(row: int, rows: int, lo: float, hi: float) -> str:
    """The y-axis label of a plot row: the top and bottom values, and every
    :data:`TICK_EVERY` rows between them the value at the row's top dot."""
    if row == 0:
        return _label(hi)
    if row == rows - 1:
        return _label(lo)
    if row % TICK_EVERY or row > rows - 1 - TICK_EVERY // 2:
        return " " * LABEL_WIDTH
    return _label(hi - (hi - lo) * (4 * row) / (4 * rows - 1))


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
            None
            if curve is None
            else (curve.count, len(curve.points), curve.tail, tuple(curve.marks)),
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
