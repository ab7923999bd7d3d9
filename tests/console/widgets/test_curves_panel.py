"""The learning-curve panel: marks of loads, resumes and drops, ticks, and the panel's whole width."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from rich.text import Text

from console import config as config_mod
from console.app import ConsoleApp
from console.plot import braille_lines, mark_x
from console.widgets.curves import LABEL_WIDTH, CurvesPanel, curve_text
from engine.services.curves import DROP, LOAD, Curve, Mark
from engine.services.operations import local_run
from tests.console.test_snapshots import NOW, apply_frozen

BLANK = "\u2800"
KEY = ("agent", "episode_return_mean20")


def _curve(marks: list[Mark]) -> Curve:
    values = [min(500.0, 20.0 + 10 * i) for i in range(60)] + [126.0] * 40
    return Curve(
        [(i * 10.0, v) for i, v in enumerate(values)], None, 1, 100, 126.0, marks
    )


def _cells_styled(line: Text, style: str) -> list[int]:
    return sorted(
        i
        for span in line.spans
        if str(span.style) == style
        for i in range(span.start, span.end)
    )


def test_loads_and_drops_are_drawn_where_they_happened_and_named() -> None:
    marks = [Mark(30, LOAD, "resumed from a.state"), Mark(60, DROP, "fell 500 -> 126")]
    width, height = 70, 12
    text = curve_text(KEY, _curve(marks), width, height, (0, 1))
    lines = text.split("\n")
    assert len(lines) == height
    plot = lines[1:-2]  # title, plot rows, x axis, the marks' legend
    plot_width = width - LABEL_WIDTH - 1
    load_cell = LABEL_WIDTH + 1 + mark_x(0.3, plot_width) // 2
    drop_cell = LABEL_WIDTH + 1 + mark_x(0.6, plot_width) // 2
    for row in plot:
        # A dotted line through every row, in the mark's colour.
        assert row.plain[load_cell] != BLANK and row.plain[drop_cell] != BLANK
        assert _cells_styled(row, "bold yellow") == [load_cell]
        assert _cells_styled(row, "bold red") == [drop_cell]
    legend = lines[-1].plain
    assert "resumed from a.state" in legend and "fell 500 -> 126" in legend
    assert legend.index("resumed") < legend.index("fell")  # oldest first


def test_a_short_panel_draws_the_marks_without_a_legend() -> None:
    text = curve_text(KEY, _curve([Mark(30, LOAD, "loaded b.state")]), 50, 5, (0, 1))
    lines = text.split("\n")
    assert len(lines) == 5 and "loaded b.state" not in text.plain
    assert any(_cells_styled(row, "bold yellow") for row in lines[1:-1])


def test_the_y_axis_has_ticks_between_its_ends() -> None:
    text = curve_text(KEY, _curve([]), 60, 20, (0, 1))
    labels = [line.plain[:LABEL_WIDTH].strip() for line in text.split("\n")[1:-1]]
    ticks = [float(label) for label in labels if label]
    assert len(ticks) >= 4
    assert ticks == sorted(ticks, reverse=True)  # top to bottom
    assert ticks[0] == 500 and ticks[-1] == 20


def test_a_curve_of_few_points_is_spread_over_the_whole_plot() -> None:
    for width in (20, 96, 190):
        lines = braille_lines([1.0, 3.0, 2.0], width, 4)
        assert all(len(line) == width for line in lines)
        assert any(line[0] != BLANK for line in lines)
        assert any(line[-1] != BLANK for line in lines)


def test_the_plot_uses_its_panel_s_whole_width_at_200x60(
    config_file: Callable[..., Path],
) -> None:
    system = config_mod.load(config_file()).system  # never started

    async def run() -> tuple[int, list[str]]:
        app = ConsoleApp(local_run(system), live=False, clock=lambda: NOW)
        async with app.run_test(size=(200, 60)) as pilot:
            apply_frozen(pilot.app, "paused", NOW + 5)
            await pilot.pause()
            panel = app.query_one("#curves", CurvesPanel)
            return panel.content_size.width, str(panel.render()).splitlines()

    width, lines = asyncio.run(run())
    assert width > 90  # the panel itself is wide
    rows = lines[1:-1]
    assert all(len(row) == width for row in rows)
    # The curve reaches the last column: the plot is not a narrower box inside it.
    assert any(row[-1] != BLANK for row in rows)
