"""The persistence protocol shared by every component (PAMIQ-Core's ``PersistentStateMixin``)."""

from __future__ import annotations

from pathlib import Path


class PersistentStateMixin:
    """A component whose state can be written to and read from a path.

    The default implementation saves and loads nothing, so components without
    state need not override anything.
    """

    def save_state(self, path: Path) -> None:
        """Write this component's state under ``path``.

        Args:
            path: Where to write; a component decides whether it is a file or a folder.
        """

    def load_state(self, path: Path) -> None:
        """Read this component's state from ``path``.

        Args:
            path: What :meth:`save_state` wrote.
        """
