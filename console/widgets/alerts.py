"""A yellow bar under the header while a guard's alert holds (a NaN, a stalled agent...)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class AlertBar(Static):
    """Lists ``SystemStatus.alerts``; hidden while there are none."""

    def on_mount(self) -> None:
        """Start hidden."""
        self.display = False
        self._shown: tuple[str, ...] = ()

    def show_alerts(self, alerts: tuple[str, ...]) -> None:
        """Show ``alerts`` (one line each), or hide the bar when there are none."""
        if alerts == self._shown:
            return
        self._shown = alerts
        self.display = bool(alerts)
        text = Text()
        for i, alert in enumerate(alerts):
            if i:
                text.append("\n")
            text.append("⚠ ", style="bold")
            text.append(alert)
        self.update(text)
