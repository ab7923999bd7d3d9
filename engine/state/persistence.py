"""The persistence protocol shared by every component (PAMIQ-Core's ``PersistentStateMixin``).

Beyond PAMIQ-Core's ``save_state``/``load_state``, a component may offer
:meth:`PersistentStateMixin.prepare_load`: read a state without changing
anything, and return a commit that installs it and cannot fail. The engine then
reads such components while the system keeps running and installs them in a
short pause, with no rollback copy (a read that fails has changed nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from typing_extensions import override

Commit = Callable[[], None]


class StateError(Exception):
    """A state could not be saved, read, verified or applied (one-line message)."""


class PartlyLoadedError(StateError):
    """A load failed and the system could not be restored: it may be partly loaded.

    Nothing else should be loaded over it as though it were untouched (a
    resume does not fall back to an older state after this).
    """


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

    def prepare_load(self, path: Path) -> Commit | None:
        """Read a state without changing this component; return how to install it.

        Everything that can fail (reading, decoding, checking the state fits this
        component) happens here, possibly while the system runs; the returned
        commit only installs what was read, on a held system, and must not fail.
        The engine calls this only when the class that defines :meth:`load_state`
        defines this method too (see :func:`prepare_component_load`), so a
        subclass that extends ``load_state`` alone is loaded the plain way.

        Order and memory: every part of a state that loads in two steps is read
        before any is installed, so their new contents are in memory together
        with the old; and they are installed after the parts loaded the plain
        way, so a ``load_state`` that reads another component sees that
        component's state from before the load.

        Args:
            path: What :meth:`save_state` wrote.

        Returns:
            The commit, or None (the default) when the component cannot load in
            two steps: it is then loaded with :meth:`load_state` behind a
            rollback copy.
        """
        return None


class Persistent(Protocol):
    """What the engine needs of a component to save and load it."""

    def save_state(self, path: Path) -> None:
        """Write the state under ``path``."""
        ...

    def load_state(self, path: Path) -> None:
        """Read what :meth:`save_state` wrote."""
        ...


class StateGroup(PersistentStateMixin):
    """A component whose state is exactly that of its parts, each in ``path/<name>``.

    The engine loads, backs up and rolls back each part on its own (see
    :mod:`engine.state.loading`); saving and loading the group as a whole does the
    same walk over :meth:`state_parts`.
    """

    def state_parts(self) -> Iterator[tuple[str, Persistent]]:
        """The parts, by name."""
        raise NotImplementedError

    @override
    def save_state(self, path: Path) -> None:
        """Save each part under ``path/<name>``."""
        path.mkdir()
        for name, part in self.state_parts():
            part.save_state(path / name)

    @override
    def load_state(self, path: Path) -> None:
        """Load each part from ``path/<name>``."""
        for name, part in self.state_parts():
            part.load_state(path / name)


def prepare_component_load(component: object, path: Path) -> Commit | None:
    """Prepare a two-step load of ``component`` if its class supports one for its own state.

    Args:
        component: Any component.
        path: What its ``save_state`` wrote.

    Returns:
        The commit from its ``prepare_load``; None when the class that defines its
        ``load_state`` does not also define ``prepare_load`` (that
        ``prepare_load`` would not read what this class's ``load_state`` reads).
    """
    owner = next(
        (k for k in type(component).__mro__ if "load_state" in k.__dict__), None
    )
    if owner is None or "prepare_load" not in owner.__dict__:
        return None
    # The owner defines it, so the attribute exists (possibly overridden below it).
    return component.prepare_load(path)  # type: ignore[attr-defined, no-any-return]
