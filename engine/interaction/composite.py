"""Interaction components made of named parts (sensors, actuators, wrappers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typing_extensions import override

from ..state.persistence import PersistentStateMixin
from ..thread.thread_events import ThreadEventMixin
from .event_mixin import InteractionEventMixin


class Composite(InteractionEventMixin, PersistentStateMixin, ThreadEventMixin):
    """Forwards setup, teardown, pause, resume, save and load to its parts, in order.

    Each part's state is saved under ``path/<name>``; ``path`` is created as a
    directory even when no part writes anything, so every composite saves the
    same layout.
    """

    def _parts(self) -> Iterator[tuple[str, Any]]:
        """The parts by name, in the order they are set up and saved."""
        raise NotImplementedError

    @override
    def setup(self) -> None:
        super().setup()
        for _, part in self._parts():
            part.setup()

    @override
    def teardown(self) -> None:
        super().teardown()
        for _, part in self._parts():
            part.teardown()

    @override
    def on_paused(self) -> None:
        super().on_paused()
        for _, part in self._parts():
            part.on_paused()

    @override
    def on_resumed(self) -> None:
        super().on_resumed()
        for _, part in self._parts():
            part.on_resumed()

    @override
    def save_state(self, path: Path) -> None:
        super().save_state(path)
        path.mkdir(exist_ok=True)
        for name, part in self._parts():
            part.save_state(path / name)

    @override
    def load_state(self, path: Path) -> None:
        super().load_state(path)
        for name, part in self._parts():
            part.load_state(path / name)
