"""The agent's own metrics (episode returns and the like); hidden until it reports one."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Static


class AgentPanel(Static):
    """One line per reporting agent: the latest value of each of its metrics."""

    _lines = -1

    def on_mount(self) -> None:
        """Start hidden (the ``-reported`` class shows it): most agents report nothing."""
        self._shown: object = None

    def update_metrics(self, metrics: Mapping[str, Mapping[str, float]]) -> None:
        """Show ``metrics`` (source to metric name to latest value)."""
        key = [(source, list(values.items())) for source, values in metrics.items()]
        if key == self._shown:
            return
        self._shown = key
        if not metrics:
            return
        text = Text()
        for source, values in metrics.items():
            if text:
                text.append("\n")
            text.append(source, style="bold")
            for name, value in values.items():
                text.append(f"  {name} ", style="dim")
                text.append(f"{value:.4g}")
        layout = (
            not self.has_class("-reported") or text.plain.count("\n") != self._lines
        )
        self._lines = text.plain.count("\n")
        self.add_class("-reported")
        self.update(text, layout=layout)
