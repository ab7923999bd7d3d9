"""Every sample's dashboard is readable at a laptop's 80x24 and uses the room a
large terminal gives it (issue 22 item 7): nothing scrolls out of sight, the
trainer's line does not wrap, the event log is drawn for the width it has."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from textual.widgets import Sparkline

from console.render import BAR_WIDTH, trainer_text
from console.widgets import (
    BuffersPanel,
    CurvesPanel,
    EventLogPanel,
    StatusHeader,
    TrainerCard,
    TrainersPanel,
)
from engine.telemetry.status import BufferStatus, TrainerStatus
from engine.telemetry.trainability import TrainabilityReport
from tests.console.frozen_samples import SAMPLES, feed, sample_app
from tests.console.helpers import sync


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def waiting(reason: str = "12/64 new items", **metrics: float) -> TrainerStatus:
    return TrainerStatus(
        condition=TrainabilityReport("replay", 750, 500, 12, 64, False, reason),
        runs=1234,
        last_duration=0.0345,
        last_metrics=dict(metrics),
        custom_condition=False,
    )


@pytest.mark.parametrize("width", [40, 50, 60, 70, 80, 100])
def test_a_trainer_line_gives_up_details_rather_than_wrap(width: int) -> None:
    text = trainer_text("autoencoder", waiting(), width=width).plain
    head = text.splitlines()[0]
    assert len(head) <= width
    assert head.startswith("autoencoder  waiting")
    assert "runs 1,234" in head


def test_a_trainer_line_with_room_says_everything() -> None:
    assert (
        trainer_text("dqn", waiting(), width=200).plain
        == trainer_text("dqn", waiting()).plain
    )
    head = trainer_text("dqn", waiting(), width=200).plain.splitlines()[0]
    assert head == "dqn  waiting: 12/64 new items   runs 1,234   last run 34.5 ms"


def test_the_condition_line_still_says_why_it_waits_when_the_reason_gives_way() -> None:
    text = trainer_text("autoencoder", waiting(), width=40).plain
    assert "waiting:" not in text.splitlines()[0]
    assert "new data: 12/64 ✗" in text.splitlines()[1]


def test_metrics_that_do_not_fit_are_counted() -> None:
    metrics = {f"metric_{i}": i + 0.5 for i in range(8)}
    text = trainer_text("t", waiting(**metrics), width=60).plain
    line = text.splitlines()[2]
    assert len(line) <= 60
    shown = line.split("+")[0].split()[::2]
    assert line.endswith(f"+{8 - len(shown)} more")
    assert shown == [f"metric_{i}" for i in range(len(shown))]
    # Without a width (pamiq-console status) the first eight as before.
    assert trainer_text("t", waiting(**metrics)).plain.splitlines()[2] == (
        "  " + "   ".join(f"metric_{i} {i + 0.5:.4g}" for i in range(8))
    )


def test_a_trainer_that_can_never_train_is_never_cut_short() -> None:
    buffers = {"replay": BufferStatus(10, 10, 100, 0)}  # holds fewer than 500
    text = trainer_text("dqn", waiting(), buffers=buffers, width=40).plain
    assert "can never train: buffer 'replay' holds at most 10 items" in " ".join(
        text.split()
    )


@pytest.mark.parametrize("sample", SAMPLES)
@sync
async def test_every_sample_is_readable_at_80x24(sample: str) -> None:
    app = sample_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, sample)
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        # Nothing is pushed off the screen (the Ray sample's was).
        assert screen.max_scroll_y == 0
        assert app.query_one(StatusHeader).region.y == 0
        header = app.query_one(StatusHeader).render_line(0).text
        assert "ACTIVE" in header and "steps" in header
        # The trainer: its line one row, its sparkline in sight.
        trainers = app.query_one(TrainersPanel)
        assert trainers.max_scroll_y == 0
        card = app.query_one(TrainerCard)
        first = card.query_one(".trainer-text").render_line(0).text
        assert "runs 240" in first
        sparkline = card.query_one(Sparkline)
        assert trainers.content_region.contains_region(sparkline.region)
        assert sparkline.region.width >= 40
        # The learning curve and the newest lines of the log.
        assert app.query_one(CurvesPanel).content_region.height >= 5
        log = app.query_one(EventLogPanel)
        assert log.content_region.height >= 5
        assert log.scroll_y == log.max_scroll_y
        assert "sample a batch" in "".join(strip.text for strip in log.lines[-3:])


@pytest.mark.parametrize("sample", SAMPLES)
@sync
async def test_every_sample_uses_the_room_of_200x60(sample: str) -> None:
    app = sample_app(sample)
    async with app.run_test(size=(200, 60)) as pilot:
        feed(app, sample)
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(Sparkline).region.width >= 150
        log = app.query_one(EventLogPanel)
        # Every line of the log in sight, each on a line of its own.
        texts = [strip.text.rstrip() for strip in log.lines]
        assert log.max_scroll_y == 0
        assert sum(not t.startswith(" ") for t in texts) == 8
        bar = app.query_one(BuffersPanel).render_line(1).text
        assert bar.count("█") + bar.count("░") > BAR_WIDTH
        curves = app.query_one(CurvesPanel)
        assert curves.content_region.width > log.content_region.width
        assert curves.content_region.height >= 30


@sync
async def test_the_event_log_is_drawn_again_for_a_new_width() -> None:
    app = sample_app("minimal")
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, "minimal")
        await pilot.pause()
        log = app.query_one(EventLogPanel)
        narrow = [strip.text.rstrip() for strip in log.lines]
        width = log.scrollable_content_region.width
        assert all(len(t) <= width for t in narrow)
        assert any(t.startswith("         ") for t in narrow)  # wrapped, indented

        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await pilot.pause()
        wide = [strip.text.rstrip() for strip in log.lines]
        assert (
            "22:03:20 saved 2023-11-14_22-03-20,000000.state in 276.6 ms "
            "(paused 0.4 ms)"
        ) in wide
        assert len(wide) < len(narrow)

        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert [strip.text.rstrip() for strip in log.lines] == narrow
        assert log.scroll_y == log.max_scroll_y  # the newest line in sight


@sync
async def test_a_dashboard_shrunk_from_200x60_to_80x24_fits_again() -> None:
    """The Ray sample, the tallest: a trainer line laid out at the new width
    before it was shortened for it left a blank row, and the screen scrolled."""
    app = sample_app("minimal_ray")
    async with app.run_test(size=(200, 60)) as pilot:
        feed(app, "minimal_ray")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert app.screen.max_scroll_y == 0
        text = app.query_one(TrainerCard).query_one(".trainer-text")
        assert text.size.height == 3
        assert [text.render_line(y).text.strip() != "" for y in range(3)] == [True] * 3
