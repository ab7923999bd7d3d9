"""A red panel that appears when a thread failed (the run stops; the console stays)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

EXCERPT_LINES = 4


def traceback_excerpt(traceback: str, lines: int = EXCERPT_LINES) -> list[str]:
    """The last ``lines`` lines of a traceback worth reading.

    Python marks the failing expression with a line of carets (``^^^^``) or
    tildes under the source line; alone, at the top of an excerpt, such a line
    points at nothing, so those lines are left out.
    """
    kept = [
        line
        for line in traceback.strip().splitlines()
        if line.strip() and set(line.strip()) - set("^~")
    ]
    return kept[-lines:]


class ErrorPanel(Static):
    """Lists the errors that stopped the system; hidden while there are none."""

    def on_mount(self) -> None:
        """Start hidden."""
        self.display = False
        self._shown: tuple[str, ...] = ()

    def show_errors(self, errors: tuple[str, ...], tracebacks: dict[str, str]) -> None:
        """Show ``errors`` (with the last traceback line of each, when known)."""
        if errors == self._shown:
            return
        self._shown = errors
        self.display = bool(errors)
        if not errors:
            return
        text = Text(
            "The run stopped because of an error; press q to leave.\n", style="bold"
        )
        for error in errors:
            text.append(f"• {error}\n", style="bold red")
            for line in traceback_excerpt(tracebacks.get(error, "")):
                text.append(f"    {line}\n", style="red")
        text.rstrip()
        self.update(text)
