"""Trainers: each condition as have/need with a check mark, why not, runs, loss sparkline."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from engine.telemetry.status import SystemStatus, TrainerStatus

from ..render import human_duration


def _mark(ok: bool) -> tuple[str, str]:
    return ("✓", "bold green") if ok else ("✗", "bold red")


def trainer_text(name: str, trainer: TrainerStatus, charted: str | None = None) -> Text:
    """The text part of a trainer card (``charted``: the metric its sparkline shows)."""
    c = trainer.condition
    text = Text()
    text.append(name, style="bold")
    text.append("  ")
    if c.trainable:
        text.append("✓ trainable", style="bold green")
    else:
        text.append("✗ waiting", style="bold red")
        if c.reason:
            text.append(f": {c.reason}", style="red")
    text.append(
        f"   runs {trainer.runs:,}   last run {human_duration(trainer.last_duration)}"
    )
    text.append("\n")
    if c.data_user is None:
        text.append("  no data condition (always trainable)", style="dim")
    else:
        size_ok = c.buffer_size >= c.min_buffer_size
        new_ok = c.new_data >= c.min_new_data_count
        text.append(f"  buffer {c.data_user}: ")
        text.append(f"{c.buffer_size:,}/{c.min_buffer_size:,} ")
        text.append(*_mark(size_ok))
        if c.min_new_data_count:  # a need of 0 is always met: not worth a mark
            text.append("   new data: ")
            text.append(f"{c.new_data:,}/{c.min_new_data_count:,} ")
            text.append(*_mark(new_ok))
        if c.min_new_episodes:
            text.append("   new episodes: ")
            text.append(f"{c.new_episodes:,}/{c.min_new_episodes:,} ")
            text.append(*_mark(c.new_episodes >= c.min_new_episodes))
    if trainer.custom_condition:
        text.append("   (custom is_trainable: may not be the whole story)", style="dim")
    others = [(k, v) for k, v in trainer.last_metrics.items() if k != charted]
    if others:
        # The other metrics' latest values (the charted one is by its sparkline).
        shown = "   ".join(f"{k} {v:.4g}" for k, v in others[:8])
        text.append(f"\n  {shown}", style="dim")
    return text


def metric_text(metric: str | None, values: Sequence[float]) -> Text:
    """The label next to the sparkline."""
    if metric is None or not values:
        return Text("  no metrics yet", style="dim")
    return Text.assemble(("  " + metric, "bold"), f" {values[-1]:.4g}")


class TrainerCard(Widget):
    """One trainer: its condition text and a sparkline of its loss.

    Args:
        trainer_name: The trainer's name.
    """

    DEFAULT_CSS = """
    TrainerCard { height: auto; }
    """

    def __init__(self, trainer_name: str) -> None:
        super().__init__(classes="trainer-card")
        self.trainer_name = trainer_name
        self._latest: tuple[TrainerStatus, str | None, Sequence[float]] | None = None
        self._shown: object = None
        self._lines = -1

    def compose(self) -> ComposeResult:
        """The text, then the metric label and sparkline."""
        text, label, data = Text(), Text(), []
        if self._latest is not None:
            trainer, metric, values = self._latest
            text = trainer_text(self.trainer_name, trainer, metric)
            label = metric_text(metric, values)
            data = list(values)
        yield Static(text, classes="trainer-text")
        with Horizontal(classes="trainer-metric"):
            yield Static(label, classes="metric-label")
            yield Sparkline(data, classes="loss-sparkline")

    def update_trainer(
        self, trainer: TrainerStatus, metric: str | None, values: Sequence[float]
    ) -> None:
        """Render the trainer's status and metric history (kept until mounted)."""
        self._latest = (trainer, metric, values)
        if not self.children:
            return  # compose() renders it
        shown = (trainer, metric, len(values), values[-1] if values else None)
        if self._shown == shown:
            return
        self._shown = shown
        text = trainer_text(self.trainer_name, trainer, metric)
        lines = text.plain.count("\n")
        # Re-layout only when the card changes height (the metrics line appears).
        self.query_one(".trainer-text", Static).update(
            text, layout=lines != self._lines
        )
        self._lines = lines
        self.query_one(".metric-label", Static).update(
            metric_text(metric, values), layout=False
        )
        sparkline = self.query_one(Sparkline)
        data = list(values)
        if list(sparkline.data or []) != data:
            sparkline.data = data


class TrainersPanel(VerticalScroll):
    """A card per trainer, created as trainers appear in snapshots."""

    def update_status(
        self,
        status: SystemStatus,
        metrics: dict[str, tuple[str | None, Sequence[float]]],
    ) -> None:
        """Render every trainer; ``metrics`` maps a trainer to (metric name, history)."""
        cards = {card.trainer_name: card for card in self.query(TrainerCard)}
        for name in status.trainers:
            if name not in cards:
                card = TrainerCard(name)
                self.mount(card)
                cards[name] = card
        if not status.trainers and not self.query(".no-trainers"):
            self.mount(Static(Text("no trainers", style="dim"), classes="no-trainers"))
        for name, trainer in status.trainers.items():
            metric, values = metrics.get(name, (None, ()))
            cards[name].update_trainer(trainer, metric, values)
