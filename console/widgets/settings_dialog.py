"""The tune dialog (key ``t``): the run's tunable settings, and an input to change one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from engine.tunables import TunableError, format_value, parse_described


class SettingsDialog(ModalScreen[tuple[str, str] | None]):
    """Lists the settings; the highlighted one is changed by typing its new
    value and pressing enter. Answers ``(name, value as typed)`` or None.

    A value of the wrong type or out of bounds is said under the input (the
    run's own words) and nothing is sent.

    Args:
        settings: The run's settings, as its ``settings`` operation lists them.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SettingsDialog {
        align: center middle;
    }
    #settings-title {
        text-style: bold;
        margin-bottom: 1;
    }
    #settings-table {
        height: auto;
        max-height: 16;
    }
    #settings-chosen {
        margin-top: 1;
    }
    #settings-error {
        color: $error;
    }
    """

    def __init__(self, settings: Sequence[dict[str, Any]]) -> None:
        super().__init__()
        self.settings = {str(s["name"]): s for s in settings}
        self.chosen: str | None = next(iter(self.settings), None)

    def compose(self) -> ComposeResult:
        """A title, the table of settings, the input and a hint."""
        with Vertical(id="settings-box", classes="dialog"):
            yield Label(
                "Tune: settings applied from their next step", id="settings-title"
            )
            if not self.settings:
                yield Static(
                    Text(
                        "this run has no tunable settings (its agent and trainers "
                        "declare no tunables())",
                        style="dim",
                    )
                )
            else:
                yield DataTable(
                    id="settings-table", cursor_type="row", zebra_stripes=True
                )
                yield Label("", id="settings-chosen")
                yield Input(placeholder="new value", id="settings-input")
                yield Static("", id="settings-error")
            hint = "up/down: choose   enter: edit, then set   escape: cancel"
            yield Static(Text(hint, style="dim"), id="settings-hint")

    def on_mount(self) -> None:
        """Fill the table and show the first setting."""
        if not self.settings:
            return
        table = self.query_one(DataTable)
        table.add_columns("setting", "value", "takes", "what it changes")
        for name, setting in self.settings.items():
            value = format_value(setting["value"])
            if setting.get("pending") is not None:
                value += f" -> {format_value(setting['pending'])}"
            table.add_row(
                name,
                value,
                str(setting.get("bounds") or setting["type"]),
                str(setting.get("description") or ""),
                key=name,
            )
        self._show_chosen()
        table.focus()

    def _show_chosen(self) -> None:
        if self.chosen is None:
            return
        setting = self.settings[self.chosen]
        takes = setting.get("bounds") or ""
        self.query_one("#settings-chosen", Label).update(
            f"{self.chosen} ({setting['type']}{' ' + takes if takes else ''}):"
        )
        self.query_one("#settings-input", Input).value = format_value(
            setting["pending"]
            if setting.get("pending") is not None
            else setting["value"]
        )
        self.query_one("#settings-error", Static).update("")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Offer the highlighted setting in the input."""
        self.chosen = str(event.row_key.value)
        self._show_chosen()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Edit the chosen setting's value."""
        self.chosen = str(event.row_key.value)
        self.query_one("#settings-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Set the chosen setting to the value typed, if it takes it."""
        if self.chosen is None:
            return
        try:
            parse_described(self.settings[self.chosen], event.value)
        except TunableError as e:
            self.query_one("#settings-error", Static).update(str(e))
            return
        self.dismiss((self.chosen, event.value.strip()))

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
