"""Which saved state a name means, wherever an operator types one.

``run --load``, ``--resume``, ``load`` over the socket, the dashboard's picker and
``states show/verify`` all resolve a state here. ``latest`` (or ``newest``) means
the newest state of the states directory that verifies, in the order of
:mod:`engine.state.catalogue` (foreign states first by creation time, then the
directory's own by sequence number); the engine finds it, so a run that starts
from ``latest`` and a live ``load latest`` pick the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ..state.catalogue import LATEST, LATEST_NAMES, newest_verified_state
from ..state.persistence import StateError
from ..state.requirements import verify_for_run


class StateChoiceError(Exception):
    """The name does not lead to a state that may be used here (one-line message)."""


def is_latest(state: str | Path) -> bool:
    """Whether ``state`` asks for the newest state that verifies."""
    return isinstance(state, str) and state in LATEST_NAMES


def named(state: str | Path, states_dir: Path) -> Path:
    """The state directory a path or a name inside ``states_dir`` names (not ``latest``).

    A path that exists, or an absolute one, is taken as it is; anything else
    is a name inside ``states_dir``.
    """
    local = Path(state)
    if local.is_dir() or local.is_absolute():
        return local.absolute()
    return states_dir / local


def to_start_from(state: str, states_dir: Path) -> str | Path:
    """What a run's ``saved_state_path`` is for ``run --load STATE``.

    ``latest`` stays :data:`~engine.state.catalogue.LATEST`, resolved by the
    engine when it starts (as ``--resume`` is), after it has locked the states
    directory.
    """
    return LATEST if is_latest(state) else named(state, states_dir)


def in_run(state: object, states_dir: Path, newest: Callable[[], Path | None]) -> Path:
    """The state of a live run that ``state`` names (``load`` and the picker).

    Only states directly inside the run's states directory are accepted, after
    resolving links, whatever the name: ``latest`` passes the same check.

    Args:
        state: What the operator gave.
        states_dir: The run's states directory.
        newest: The run's own search for its newest state that verifies.

    Raises:
        StateChoiceError: If it is not a name, lies elsewhere or does not exist.
    """
    if isinstance(state, Path):
        state = str(state)
    if not isinstance(state, str) or not state:
        raise StateChoiceError("'state' must be a state name or path")
    root = states_dir.resolve()
    if is_latest(state):
        try:
            found = newest()
        except StateError as e:
            raise StateChoiceError(str(e)) from None
        if found is None:
            raise StateChoiceError(f"no saved state in {root}")
        candidate = found
    else:
        candidate = Path(state)
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    if resolved.parent != root:
        raise StateChoiceError(
            f"{state}: not a state of this run (states must be in {root})"
        )
    if not resolved.is_dir():
        raise StateChoiceError(f"{state}: no such state in {root}")
    return resolved


def offline(
    state: str,
    states_dir: Path,
    on_skip: Callable[[Path, str], None] | None = None,
    parts: Iterable[str] = (),
) -> Path:
    """The state ``states show`` and ``states verify`` look at.

    Args:
        state: A name, a path or ``latest``.
        states_dir: The states directory.
        on_skip: Called with each state ``latest`` passes over, and why.
        parts: The parts of the run's config, if known: ``latest`` is then
            the newest state that holds them, as for a resume
            (see :func:`~engine.state.requirements.verify_for_run`).

    Raises:
        StateChoiceError: For ``latest`` in a directory with no state that verifies.
    """
    if not is_latest(state):
        return named(state, states_dir)
    parts = tuple(parts)
    try:
        found = newest_verified_state(
            states_dir, on_skip=on_skip, verify=lambda p: verify_for_run(p, parts)
        )
    except StateError as e:
        raise StateChoiceError(f"{state}: {e}") from None
    if found is None:
        raise StateChoiceError(f"{state}: no saved state in {states_dir}")
    return found
