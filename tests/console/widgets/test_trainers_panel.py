"""A trainer waiting for episodes shows them as have/need, in the dashboard and in status."""

from __future__ import annotations

from rich.console import Console

from console.render import status_renderable, trainer_text
from engine.telemetry.status import SystemStatus, TrainerStatus
from engine.telemetry.trainability import TrainabilityReport

REPORT = TrainabilityReport(
    "episodes",
    120,
    0,
    120,
    0,
    False,
    "3/8 new episodes",
    new_episodes=3,
    min_new_episodes=8,
)


def test_the_trainer_card_shows_new_episodes() -> None:
    trainer = TrainerStatus(REPORT, 4, 0.05, {}, False)
    text = trainer_text("reinforce", trainer).plain
    assert "waiting: 3/8 new episodes" in text
    assert "new episodes: 3/8 ✗" in text


def test_status_shows_new_episodes_next_to_new_data() -> None:
    status = SystemStatus(
        "run",
        "active",
        1.0,
        1.0,
        10,
        10.0,
        0.0,
        trainers={"reinforce": TrainerStatus(REPORT, 4, 0.05, {}, False)},
    )
    console = Console(width=200, record=True)
    console.print(status_renderable(status.to_dict()))
    printed = console.export_text()
    assert "new episodes: 3/8 ✗" in printed
    # The CLI prints the dashboard's own trainer card.
    card = trainer_text("reinforce", status.trainers["reinforce"]).plain
    assert all(line in printed for line in card.splitlines())
