"""Loading a verified state into a live system: read ahead, then install in a short hold.

Parts that can load in two steps (see :meth:`engine.state.persistence.PersistentStateMixin.prepare_load`)
are read by :func:`prepare_state` while the system keeps running; nothing changes
if that fails. :func:`install_state` then runs while the system is held: it backs
up only the other parts, loads them with ``load_state`` (restoring the backup if
one fails), and commits the prepared parts. So the hold costs a rollback copy of
what cannot load in two steps (usually small: clocks, counters, agents, trainers)
rather than of the whole system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .persistence import (
    Commit,
    PartlyLoadedError,
    Persistent,
    StateError,
    prepare_component_load,
)
from .store import StateStore

UNCHANGED = "the running system was left as it was"


@dataclass(frozen=True)
class PreparedState:
    """A state read ahead, ready for :func:`install_state`.

    Attributes:
        path: The state directory.
        commits: Prepared parts by path within the state, in registration order.
        plain: Parts loaded with ``load_state`` behind a rollback copy.
    """

    path: Path
    commits: tuple[tuple[str, Commit], ...]
    plain: tuple[tuple[str, Persistent], ...]


def prepare_state(store: StateStore, path: Path) -> PreparedState:
    """Read every part of a (verified) state that can load in two steps; change nothing.

    Raises:
        StateError: Naming the part that could not be read.
    """
    commits: list[tuple[str, Commit]] = []
    plain: list[tuple[str, Persistent]] = []
    for name, part in store.parts():
        try:
            commit = prepare_component_load(part, path / name)
        except Exception as e:
            raise StateError(f"{_failed(path, name, e)} ({UNCHANGED})") from e
        if commit is None:
            plain.append((name, part))
        else:
            commits.append((name, commit))
    return PreparedState(path, tuple(commits), tuple(plain))


def install_state(store: StateStore, prepared: PreparedState) -> None:
    """Load a prepared state; on failure the system is left as it was (call it held still).

    Raises:
        StateError: If a part failed to load (the message says whether restoring
            the previous state succeeded).
    """
    backup = store.begin()
    try:
        for name, part in prepared.plain:
            target = backup.tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                part.save_state(target)
            except Exception as e:
                raise StateError(
                    f"backing up component '{name}' before the load failed "
                    f"({type(e).__name__}: {e}); nothing was loaded"
                ) from e
        for index, (name, part) in enumerate(prepared.plain):
            try:
                part.load_state(prepared.path / name)
            except Exception as e:
                error = StateError(_failed(prepared.path, name, e))
                _roll_back(backup.tmp, prepared.plain[: index + 1], error)
        for index, (name, commit) in enumerate(prepared.commits):
            try:
                commit()
            except Exception as e:
                # A commit must not fail. If one does, the parts loaded the plain
                # way are restored, but commits that ran cannot be undone.
                error = StateError(_failed(prepared.path, name, e))
                _roll_back(backup.tmp, prepared.plain, error, partly_loaded=index > 0)
    finally:
        store.discard(backup)


def _roll_back(
    backup: Path,
    touched: tuple[tuple[str, Persistent], ...],
    error: StateError,
    partly_loaded: bool = False,
) -> None:
    for name, part in touched:
        try:
            part.load_state(backup / name)
        except Exception as rollback_error:
            raise PartlyLoadedError(
                f"{error}; restoring the previous state also failed "
                f"({type(rollback_error).__name__}: {rollback_error}), "
                "so the system may be partly loaded"
            ) from error
    if partly_loaded:
        raise PartlyLoadedError(
            f"{error}; parts installed before it stay loaded, so the system may be "
            "partly loaded"
        ) from error
    raise StateError(f"{error} ({UNCHANGED})") from error


def _failed(path: Path, name: str, e: Exception) -> str:
    return f"{path / name}: loading component '{name}' failed: {type(e).__name__}: {e}"
