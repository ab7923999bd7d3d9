"""Retention policies for saved states (PAMIQ-Core's ``StatesKeeper``).

Give one to ``LaunchConfig(states_keeper=...)``: after every save the system
calls ``append(path)`` with the new state and then ``cleanup()``, which deletes
what :meth:`StatesKeeper.select_removal_states` picks. It works next to the
built-in retention (``LaunchConfig.max_keep_states``): each deletes what its
own policy selects, and a state already gone is skipped.
"""

from __future__ import annotations

import logging
import shutil
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from typing_extensions import override

from ..utils.reflection import get_class_module_path


class StatesKeeper(ABC):
    """Decides which saved states to delete; :meth:`cleanup` deletes them.

    Removals are logged (``logging``, at INFO) under the keeper class's path.
    """

    def __init__(self) -> None:
        super().__init__()
        self.logger = logging.getLogger(get_class_module_path(type(self)))

    def append(self, path: Path) -> None:
        """Called with each newly saved state (the default ignores it)."""

    @abstractmethod
    def select_removal_states(self) -> Iterable[Path]:
        """The state directories to delete now."""

    def cleanup(self) -> list[Path]:
        """Delete the selected states that still exist; return those deleted."""
        removed: list[Path] = []
        for path in self.select_removal_states():
            if path.exists():
                shutil.rmtree(path)
                self.logger.info(f"Removed: '{path}'")
                removed.append(path)
        return removed


class LatestStatesKeeper(StatesKeeper):
    """Keeps the newest ``max_keep`` states and deletes older ones.

    States already in ``states_dir`` when it is created count too, oldest
    (by modification time) first; then each appended state is the newest.

    Args:
        states_dir: Where the states are (created if missing).
        max_keep: How many to keep (0 deletes every state on cleanup).
        state_name_pattern: Glob matching state directories in ``states_dir``.

    Raises:
        ValueError: If ``max_keep`` is negative.
    """

    def __init__(
        self,
        states_dir: str | Path,
        max_keep: int,
        state_name_pattern: str = "*.state",
    ) -> None:
        super().__init__()
        if max_keep < 0:
            raise ValueError(
                f"LatestStatesKeeper: max_keep must be >= 0, got {max_keep}"
            )
        self.max_keep = max_keep
        states_dir = Path(states_dir)
        if not states_dir.exists():
            self.logger.warning(
                f"states directory {states_dir} does not exist: creating it"
            )
            states_dir.mkdir(parents=True, exist_ok=True)
        existing = sorted(
            (p for p in states_dir.glob(state_name_pattern) if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
        )
        self._state_paths: deque[Path] = deque(existing)

    @override
    def append(self, path: Path) -> None:
        self._state_paths.append(Path(path))

    @override
    def select_removal_states(self) -> Iterable[Path]:
        """The oldest states beyond ``max_keep`` (forgotten once selected)."""
        excess = len(self._state_paths) - self.max_keep
        return [self._state_paths.popleft() for _ in range(max(0, excess))]
