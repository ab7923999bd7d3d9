"""Trainers: each condition as have/need with a check mark, why not, runs, loss sparkline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from engine.telemetry.status import BufferStatus, SystemStatus, TrainerStatus

from ..activity import Rate
from ..render import trainer_text


def metric_text(metric: str | None, values: Sequence[float]) -> Text:
    """The label next to the sparkline (its value padded, so that the
    sparkline beside it keeps its place as the value changes)."""
    if metric is None or not values:
        return Text("  no metrics yet", style="dim")
    return Text.assemble(("  " + metric, "bold"), f" {values[-1]:<10.4g}")


class TrainerCard(Widget):
    """One trainer: its condition text and a sparkline of its loss.

    The text fits the card's width (see :func:`trainer_text`): it is drawn
    again when the card is resized.

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
        self._view_context: dict[str, Any] = {}
        self._shown: object = None
        self._label_width = -1

    def _text(self) -> Text:
        assert self._latest is not None
        trainer, metric, _ = self._latest
        return trainer_text(
            self.trainer_name,
            trainer,
            metric,
            width=self.size.width or None,
            **self._view_context,
        )

    def compose(self) -> ComposeResult:
        """The text, then the metric label and sparkline."""
        text, label, data = Text(), Text(), []
        if self._latest is not None:
            _, metric, values = self._latest
            text = self._text()
            label = metric_text(metric, values)
            data = list(values)
        yield Static(text, classes="trainer-text")
        with Horizontal(classes="trainer-metric"):
            yield Static(label, classes="metric-label")
            yield Sparkline(data, classes="loss-sparkline")

    def on_resize(self) -> None:
        """Fit the text to the new width."""
        if self._latest is not None and self.children:
            self._show()

    def update_trainer(
        self,
        trainer: TrainerStatus,
        metric: str | None,
        values: Sequence[float],
        *,
        state: str = "active",
        buffers: Mapping[str, BufferStatus] | None = None,
        activity: Rate | None = None,
        steps: int = 0,
    ) -> None:
        """Render the trainer's status and metric history (kept until mounted).

        ``state``, ``buffers`` and ``steps`` are the system's, ``activity`` the
        trainer's runs per second lately (see :func:`trainer_text`).
        """
        self._latest = (trainer, metric, values)
        # Only whether the run has stepped tells (see console.conditions): a
        # count that grows every snapshot would redraw the card every time.
        self._view_context = {
            "state": state,
            "buffers": buffers,
            "activity": activity,
            "steps": min(steps, 1),
        }
        if self.children:  # else compose() renders it
            self._show()

    def _show(self) -> None:
        assert self._latest is not None
        trainer, metric, values = self._latest
        context = self._view_context
        buffers = context["buffers"]
        activity = context["activity"]
        capacities = (
            None
            if buffers is None
            else tuple((k, b.capacity, b.collector_taken) for k, b in buffers.items())
        )
        shown = (
            trainer,
            metric,
            len(values),
            values[-1] if values else None,
            context["state"],
            capacities,
            context["steps"],
            None
            if activity is None
            else (f"{activity.per_second:.3g}", activity.mean_duration),
            self.size.width,
        )
        if self._shown == shown:
            return
        self._shown = shown
        text = self._text()
        width = self.size.width
        lines = len(text.wrap(self.app.console, width)) if width else -1
        static = self.query_one(".trainer-text", Static)
        # Re-layout only when the text changes height (the metrics line
        # appears, an error wraps, a resize laid out the old text).
        static.update(text, layout=lines != static.size.height)
        label = metric_text(metric, values)
        self.query_one(".metric-label", Static).update(
            label, layout=label.cell_len != self._label_width
        )
        self._label_width = label.cell_len
        sparkline = self.query_one(Sparkline)
        data = list(values)
        if list(sparkline.data or []) != data:
            sparkline.data = data


class TrainersPanel(VerticalScroll):
    """A card per trainer, created as trainers appear in snapshots."""

    def update_status(
        self,
        status: SystemStatus,
        metrics: Mapping[str, tuple[str | None, Sequence[float]]],
        activity: Mapping[str, Rate | None] | None = None,
    ) -> None:
        """Render every trainer; ``metrics`` maps a trainer to (metric name, history),
        ``activity`` to its runs per second lately."""
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
            cards[name].update_trainer(
                trainer,
                metric,
                values,
                state=status.state,
                buffers=status.buffers,
                activity=None if activity is None else activity.get(name),
                steps=status.steps,
            )
