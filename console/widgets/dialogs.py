"""Modal screens: quit confirmation, the state picker and help."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from engine.state.catalogue import LATEST

from ..render import format_time, human_duration, human_size


class ConfirmQuit(ModalScreen[bool]):
    """Asks before stopping the run (which saves a final state)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, stop"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def compose(self) -> ComposeResult:
        """A question and two buttons."""
        with Vertical(id="confirm-box", classes="dialog"):
            yield Label(
                "Stop the run? A final state will be saved.", id="confirm-question"
            )
            with Horizontal(classes="buttons"):
                yield Button("Stop (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", variant="primary", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button pressed."""
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        """Answer from a key."""
        self.dismiss(answer)


class DetachOrStop(ModalScreen[str | None]):
    """Asks what ``q`` means for a program the console started: leave it running, or stop it.

    Answers ``"detach"``, ``"stop"`` or None (cancel).
    """

    BINDINGS = [
        Binding("d", "answer('detach')", "Detach"),
        Binding("s,y", "answer('stop')", "Stop"),
        Binding("n,escape", "answer(None)", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        """A question and three buttons."""
        with Vertical(id="confirm-box", classes="dialog"):
            yield Label(
                "Detach (the program runs on, its output goes to its run "
                "directory) or stop it (a final state is saved)?",
                id="confirm-question",
            )
            with Horizontal(classes="buttons"):
                yield Button("Detach (d)", variant="primary", id="answer-detach")
                yield Button("Stop (s)", variant="error", id="answer-stop")
                yield Button("Cancel (n)", id="answer-cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button pressed."""
        answers = {"answer-detach": "detach", "answer-stop": "stop"}
        self.dismiss(answers.get(event.button.id or ""))

    def action_answer(self, answer: str | None) -> None:
        """Answer from a key."""
        self.dismiss(answer)


class LoadPicker(ModalScreen[str | None]):
    """Lists saved states with their manifest data; Enter loads, Escape cancels.

    The first row is ``latest``: the newest state that verifies, found when it
    is loaded, as ``load latest`` and ``run --load latest`` find it. The answer
    is ``"latest"`` or the chosen state's path.

    Args:
        states: State summaries (see :func:`engine.services.operations.state_summary`),
            oldest first; shown newest first.
        states_dir: Where they are (for the title).
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, states: Sequence[dict[str, Any]], states_dir: Path) -> None:
        super().__init__()
        self.states = [s for s in reversed(states) if not s.get("problem")]
        self.broken = [s for s in states if s.get("problem")]
        self.states_dir = states_dir

    def compose(self) -> ComposeResult:
        """A title, the table of states and a hint."""
        with Vertical(id="picker-box", classes="dialog"):
            yield Label(f"Load a state from {self.states_dir}", id="picker-title")
            if self.states:
                yield DataTable(
                    id="picker-table", cursor_type="row", zebra_stripes=True
                )
            else:
                yield Static(
                    Text("no saved states yet (press s to save one)", style="dim")
                )
            hint = "enter: load   escape: cancel   (states are verified before loading)"
            if self.broken:
                hint += f"   {len(self.broken)} incomplete state(s) hidden"
            yield Static(Text(hint, style="dim"), id="picker-hint")

    def on_mount(self) -> None:
        """Fill the table."""
        if not self.states:
            return
        table = self.query_one(DataTable)
        table.add_columns("state", "created", "uptime", "steps", "size", "components")
        table.add_row(
            Text(LATEST, style="bold"),
            Text("the newest that verifies", style="dim"),
            "",
            "",
            "",
            "",
            key=LATEST,
        )
        for state in self.states:
            table.add_row(
                state["name"],
                format_time(state.get("created_unix")),
                human_duration(state.get("uptime")),
                "-" if state.get("steps") is None else f"{state['steps']:,}",
                human_size(state.get("size", 0)),
                ",".join(state.get("components", [])),
                key=state["path"],
            )
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Load the chosen state."""
        self.dismiss(event.row_key.value)

    def action_cancel(self) -> None:
        """Close without loading."""
        self.dismiss(None)


HELP = [
    ("p / space", "pause or resume the whole system"),
    ("s", "save the state now"),
    ("l", "load a saved state (picker)"),
    ("t", "tune: change a setting of the agent or a trainer"),
    ("q", "stop the run (asks; saves a final state)"),
    ("ctrl+c", "stop the run at once (saves a final state)"),
    ("c", "plot the next learning curve"),
    ("?", "this help"),
]
ATTACHED_HELP = [
    ("p / space", "pause or resume the whole system"),
    ("s", "save the state now"),
    ("l", "load a saved state (picker)"),
    ("t", "tune: change a setting of the agent or a trainer"),
    ("x", "stop the run (asks; saves a final state)"),
    ("q / ctrl+c", "detach: close the dashboard, the run keeps running"),
    ("c", "plot the next learning curve"),
    ("?", "this help"),
]
PROGRAM_HELP = [
    ("p / space", "pause or resume the whole system"),
    ("s", "save the state now"),
    ("l", "load a saved state (picker)"),
    ("t", "tune: change a setting of the agent or a trainer"),
    ("q", "detach (the program runs on) or stop it (asks)"),
    ("x", "stop the program's run (asks; saves a final state)"),
    ("ctrl+c", "stop the program's run in order (final save)"),
    ("c", "plot the next learning curve"),
    ("?", "this help"),
]
READ_ONLY_HELP = [
    ("q / ctrl+c", "detach: close the dashboard, the run keeps running"),
    ("c", "plot the next learning curve"),
    ("?", "this help"),
]


class HelpScreen(ModalScreen[None]):
    """The key bindings and what the panels show."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, keys: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.key_help = HELP if keys is None else keys

    def compose(self) -> ComposeResult:
        """Keys, then a word on each panel."""
        text = Text()
        text.append("\nKeys\n", style="bold")
        for key, what in self.key_help:
            text.append(f"  {key:<10}", style="bold cyan")
            text.append(f" {what}\n")
        text.append("\nPanels\n", style="bold")
        text.append(
            "  buffers   fill bar (size/capacity), items collected, new since training\n"
            "  trainers  each condition as have/need (✓/✗), why not, runs, loss\n"
            "  models    version (syncs so far), time since last sync, its duration\n"
            "  agent     the agent's metrics (shown once it reports any)\n"
            "  actors    a scaled run's actors: state, steps/s, the policy version\n"
            "            each acts with, its lag, batches queued for the learner,\n"
            "            items dropped while the learner was behind, stale batches\n"
            "  events    what an operator must notice: saves, loads, pauses, errors\n"
            "            (syncs and training runs are rates in their panels), in\n"
            "            green (done), cyan (notice), yellow (warning), red (error)\n"
        )
        text.append("\nFrom another terminal: ", style="dim")
        text.append(
            "pamiq-console status | pause | resume | save | load | shutdown | events"
            " | settings | set;"
            " pamiq-console states list | show | verify | prune",
            style="dim",
        )
        with Vertical(id="help-box", classes="dialog"):
            # First, so that a short terminal still shows how to leave.
            yield Static(
                Text.assemble(("Help", "bold"), ("   escape or ? closes", "dim")),
                id="help-title",
            )
            with VerticalScroll(id="help-text"):
                yield Static(text)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
