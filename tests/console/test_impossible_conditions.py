"""A trainer that can never train is a config error, or shown as such (issue 16 item 1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import ExitCode, app
from console.render import trainer_text
from engine.telemetry.status import BufferStatus, TrainerStatus
from engine.telemetry.trainability import TrainabilityReport
from tests.console.helpers import bandit_config

runner = CliRunner()


@pytest.mark.parametrize(
    ("trainer", "key"),
    [
        (
            """
            [trainers.values]
            target = "trainers.bandit:BanditTrainer"
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
target = "trainers.bandit:BanditTrainer"
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
        "✗ waiting: buffer 'custom' has 500/1000"
        in trainer_text("t", trainer, buffers=roomy).plain
    )
