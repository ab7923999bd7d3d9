"""A trainer that can never train is a config error, or shown as such (issue 16
item 1), and one whose buffer nothing collects into is shown as never fed (issue
22 item 4)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from console import config as config_mod
from console.app import ConsoleApp
from console.cli import ExitCode, app
from console.render import status_renderable, trainer_text
from console.widgets import TrainersPanel
from engine.services.operations import local_run
from engine.telemetry.status import BufferStatus, TrainerStatus
from engine.telemetry.trainability import TrainabilityReport
from tests.console.helpers import bandit_config, sync, wait_for, wait_until
from tests.console.test_app import text_of

runner = CliRunner()


@pytest.mark.parametrize(
    ("trainer", "key"),
    [
        (
            """
            [trainers.values]
            target = "algorithms.bandit:BanditTrainer"
            min_buffer_size = 1000
            """,
            "trainers.values.min_buffer_size",
        ),
    ],
)
def test_validate_refuses_a_buffer_too_small_for_its_trainer(
    tmp_path: Path, config_file: Callable[..., Path], trainer: str, key: str
) -> None:
    import textwrap

    path = config_file(bandit_config(tmp_path, trainers=textwrap.dedent(trainer)))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip() == (
        f"{path}: {key}: can never be met: buffer 'pulls' holds at most 200 items, "
        "needs 1,000; lower it or raise buffers.pulls.max_size"
    )


def test_a_condition_that_fits_exactly_is_accepted(
    tmp_path: Path, config_file: Callable[..., Path]
) -> None:
    trainers = """
[trainers.values]
target = "algorithms.bandit:BanditTrainer"
min_buffer_size = 200
"""
    path = config_file(bandit_config(tmp_path, trainers=trainers))
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_at_run_time_an_impossible_condition_is_not_shown_as_waiting() -> None:
    report = TrainabilityReport(
        "custom", 500, 1000, 9, 1, False, "buffer 'custom' has 500/1000 items"
    )
    trainer = TrainerStatus(report, 0, None, {}, False)
    full = {"custom": BufferStatus(size=500, capacity=500, collected=900, pending=9)}
    text = trainer_text("t", trainer, buffers=full).plain
    first = text.splitlines()[0]
    assert (
        "can never train: buffer 'custom' holds at most 500 items, needs 1,000" in first
    )
    assert "waiting" not in text
    # A buffer with room left is only waiting.
    roomy = {"custom": BufferStatus(size=500, capacity=2000, collected=900, pending=9)}
    assert (
        "waiting: buffer 'custom' has 500/1000"
        in trainer_text("t", trainer, buffers=roomy).plain
    )


def _unfed_config(config_file: Callable[..., Path], tmp_path: Path) -> Path:
    """The bandit config with its agent collecting into 'other', not 'pulls'."""
    text = config_file().read_text()
    text = text.replace(
        'agent = { target = "algorithms.bandit:BanditAgent", seed = 0 }',
        'agent = { target = "algorithms.bandit:BanditAgent", seed = 0, '
        'collector = "other" }',
    ).replace(
        "[buffers.pulls]",
        '[buffers.other]\ntarget = "engine.data:SequentialBuffer"\nmax_size = 10\n\n'
        "[buffers.pulls]",
    )
    path = tmp_path / "unfed.toml"
    path.write_text(text)
    return path


@sync
async def test_a_trainer_whose_buffer_nothing_collects_into_is_never_fed(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    built = config_mod.load(_unfed_config(config_file, tmp_path))
    system = built.system
    system.start()
    try:
        wait_until(lambda: system.status().steps > 0, what="a step")
        status = system.status()
        assert not status.buffers["pulls"].collector_taken
        assert status.buffers["other"].collector_taken
        app = ConsoleApp(local_run(system))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.status is not None, what="a status")
            await pilot.pause()
            shown = text_of(app.query_one(TrainersPanel))
            first = shown.splitlines()[0]
            assert (
                "✗ never fed: no agent collects into buffer 'pulls', so it can "
                "never train" in first
            )
            assert "waiting" not in first
        # `status` says the same, over the control socket.
        printed = Console(width=200, record=True, file=io.StringIO())
        printed.print(status_renderable(system.status().to_dict()))
        assert "✗ never fed: no agent collects into buffer 'pulls'" in (
            printed.export_text()
        )
    finally:
        system.shutdown("test over")
        assert system.wait(timeout=30)


def test_never_fed_is_red_and_waiting_is_not() -> None:
    report = TrainabilityReport("b", 0, 20, 0, 20, False, "buffer 'b' has 0/20 items")
    trainer = TrainerStatus(report, 0, None, {}, False)
    fed = {"b": BufferStatus(size=0, capacity=100, collected=0, pending=0)}
    unfed = {"b": dataclasses.replace(fed["b"], collector_taken=False)}

    def label(buffers: dict[str, BufferStatus], steps: int) -> tuple[str, str]:
        text = trainer_text("t", trainer, buffers=buffers, steps=steps)
        span = next(s for s in text.spans if s.start == len("t  "))
        return text.plain[span.start : span.end], str(span.style)

    waiting, style = label(fed, 100)
    assert waiting == "waiting" and "red" not in style
    never, style = label(unfed, 100)
    assert never == "✗ never fed" and "red" in style
    # Before the first step, an actors' feed may not have taken it yet.
    assert label(unfed, 0)[0] == "waiting"
    # A trainer that trains anyway (on what a load put in) is not "never".
    trainable = TrainerStatus(
        dataclasses.replace(report, trainable=True, reason=""), 3, None, {}, False
    )
    text = trainer_text("t", trainable, buffers=unfed, steps=100).plain
    assert "✓ trainable" in text
