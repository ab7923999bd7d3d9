"""``pamiq-console top``: every live run of this user's in one live table.

Like nvitop or k9s for learners: one row per run (and one per actor of a
scaled run), refreshed every :data:`REFRESH` seconds by a worker thread so a
run that does not answer never freezes the table. ``enter`` attaches to the
selected run (``q`` there comes back here), ``p`` pauses or resumes it, ``s``
saves it.
"""

from __future__ import annotations

import threading
import time as _time
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import CellDoesNotExist
from typing_extensions import override

from .control_client import ControlClient, ControlError
from .render import STATE_STYLES, human_duration, human_size
from .top import RunRow, RunsWatch

REFRESH = 1.0
"""Seconds between refreshes."""
OPERATION_TIMEOUT = 60.0
"""Seconds ``p`` and ``s`` wait for the run to answer."""

COLUMNS = (
    "NAME",
    "PID",
    "STATE",
    "UPTIME",
    "STEPS/S",
    "TRAINERS (runs/s)",
    "LAST SAVE",
    "CPU",
    "MEM",
    "ALERTS",
    "STARTED BY",
)


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def trainers_cell(row: RunRow) -> Text:
    """Each trainer's runs/s, green when it can train, dim while it waits."""
    text = Text()
    for i, trainer in enumerate(row.trainers):
        if i:
            text.append("  ")
        if trainer.never:
            style = "bold red"
        elif trainer.trainable:
            style = "green"
        else:
            style = "dim"
        text.append(f"{trainer.name} {_rate(trainer.runs_per_second)}", style=style)
    return text if row.trainers else Text("-", style="dim")


def save_age(row: RunRow, now: float) -> str:
    """How long ago the run last saved (``-`` before its first save)."""
    if row.last_save_time is None:
        return "-" if row.last_save is None else "?"
    return f"{human_duration(max(0.0, now - row.last_save_time))} ago"


def row_cells(row: RunRow, now: float) -> tuple[Any, ...]:
    """The table cells of one run."""
    state_style = STATE_STYLES.get(row.state, "bold red")
    alerts = Text("; ".join(row.alerts), style="bold red") if row.alerts else ""
    return (
        Text(row.name, style="bold"),
        str(row.pid),
        Text(f" {row.state.upper()} ", style=state_style),
        human_duration(row.uptime) if row.uptime is not None else "-",
        _rate(row.steps_per_second),
        trainers_cell(row),
        save_age(row, now),
        f"{row.cpu_percent:.0f}%" if row.cpu_percent is not None else "-",
        human_size(row.rss) if row.rss is not None else "-",
        alerts,
        row.origin,
    )


def actor_cells(row: RunRow, index: int) -> tuple[Any, ...]:
    """The table cells of one actor of a scaled run, under its run."""
    actor = row.actors[index]
    state = "failed" if actor.error else "paused" if actor.paused else "alive"
    if not actor.alive and not actor.error:
        state = "restarting"
    last = index == len(row.actors) - 1
    return (
        Text(f" {'└' if last else '├'} actor {actor.actor}", style="dim"),
        str(actor.pid or "-"),
        state,
        "",
        _rate(actor.steps_per_second),
        f"version {actor.version}",
        "",
        "",
        "",
        Text(actor.error or "", style="bold red"),
        actor.node,
    )


class TopApp(App[RunRow | None]):
    """The live table of every run; returns the run to attach to (None: quit).

    Args:
        watch: Builds the rows (the registry and each run's socket by default).
        refresh_interval: Seconds between refreshes.
        select: The run to select once it is listed (the one attached to last).
    """

    TITLE = "pamiq-console top"
    CSS = """
    #runs { height: 1fr; }
    #summary { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause_resume", "pause/resume"),
        Binding("s", "save", "save"),
        Binding("q", "quit_top", "quit"),
    ]

    def __init__(
        self,
        watch: RunsWatch | None = None,
        refresh_interval: float = REFRESH,
        select: str | None = None,
    ) -> None:
        super().__init__()
        # Not ``self.watch``: that is Textual's method for watching reactives.
        self.runs_watch = watch if watch is not None else RunsWatch()
        self.refresh_interval = refresh_interval
        self.rows: dict[str, RunRow] = {}
        self.refreshes = 0
        self._exit_requested = threading.Event()
        self._select = select

    @override
    def compose(self) -> ComposeResult:
        yield Static("looking for live runs...", id="summary")
        table: DataTable[Any] = DataTable(
            id="runs", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Footer()

    def on_mount(self) -> None:
        """Lay out the columns and start refreshing."""
        table = self.query_one("#runs", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        table.focus()
        self._refresh_loop()

    @work(thread=True, exclusive=True, group="refresh")
    def _refresh_loop(self) -> None:
        while True:
            started = _time.monotonic()
            rows = self.runs_watch.refresh()
            try:
                self.call_from_thread(self.show_rows, rows)
            except RuntimeError:
                return  # the app is closing
            wait = self.refresh_interval - (_time.monotonic() - started)
            if self._exit_requested.wait(max(0.0, wait)):
                return

    def show_rows(self, rows: list[RunRow]) -> None:
        """Put a refresh into the table, keeping the selected run selected."""
        table = self.query_one("#runs", DataTable)
        selected = self.selected_key()
        if self._select is not None and any(r.key == self._select for r in rows):
            selected, self._select = self._select, None
        self.rows = {row.key: row for row in rows}
        now = _time.time()
        table.clear()
        for row in rows:
            table.add_row(*row_cells(row, now), key=row.key)
            for i in range(len(row.actors)):
                table.add_row(*actor_cells(row, i), key=f"{row.key}#actor{i}")
        if selected is not None:
            keys = [r.key for r in rows]
            if selected in keys:
                table.move_cursor(row=table.get_row_index(selected))
        alerts = sum(1 for r in rows if r.alerts)
        summary = f"{len(rows)} live run{'s' if len(rows) != 1 else ''}"
        if alerts:
            summary += f", {alerts} with alerts"
        if not rows:
            summary = (
                "no live runs: start one with 'pamiq-console run CONFIG|PROGRAM.py' "
                "or a program that calls launch()"
            )
        self.query_one("#summary", Static).update(summary)
        self.refreshes += 1

    def selected_key(self) -> str | None:
        """The run directory of the selected run (an actor row selects its run)."""
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # no row under the cursor
            return None
        return key.split("#actor", 1)[0] if key else None

    def selected(self) -> RunRow | None:
        """The selected run's row."""
        key = self.selected_key()
        return self.rows.get(key) if key is not None else None

    def action_attach(self, key: str | None = None) -> None:
        """Leave the table to attach to the run ``key`` (default: the selected one)."""
        if key is not None:
            key = key.split("#actor", 1)[0]
        row = self.rows.get(key) if key is not None else self.selected()
        if row is None:
            self.notify("no run selected", severity="warning")
            return
        if row.state == "unreachable":
            self.notify(f"{row.name} does not answer", severity="warning")
            return
        self._exit_requested.set()
        self.exit(row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click) on a row attaches to its run."""
        self.action_attach(event.row_key.value)

    def action_quit_top(self) -> None:
        """Quit (every run keeps running)."""
        self._exit_requested.set()
        self.exit(None)

    def action_pause_resume(self) -> None:
        """Pause the selected run, or resume it when it is paused."""
        row = self.selected()
        if row is None:
            self.notify("no run selected", severity="warning")
            return
        op = "resume" if row.state in ("paused", "pausing") else "pause"
        self._operate(row, op)

    def action_save(self) -> None:
        """Save the selected run's state now."""
        row = self.selected()
        if row is None:
            self.notify("no run selected", severity="warning")
            return
        self._operate(row, "save")

    @work(thread=True, group="operations")
    def _operate(self, row: RunRow, op: str) -> None:
        self.call_from_thread(self.notify, f"{op} {row.name}...", timeout=2)
        try:
            reply = ControlClient(row.socket, timeout=OPERATION_TIMEOUT).request(op)
        except ControlError as e:
            self.call_from_thread(
                self.notify, f"{op} {row.name} failed: {e}", severity="error", timeout=8
            )
            return
        said = ""
        if isinstance(reply, dict) and reply.get("path"):
            said = f": {reply['path']}"
        self.call_from_thread(self.notify, f"{row.name}: {op} done{said}")

    @override
    async def action_quit(self) -> None:
        self.action_quit_top()
