"""The states of a states directory: listed, ordered, found, pruned.

"Newest" is the order :mod:`engine.state.states_dir` defines (foreign states
by recorded time, then the directory's own by sequence number), so that a
wall clock stepped back or a state copied in from elsewhere never reorders a
run's own states, and ``latest`` means the last state in that order that
verifies.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .manifest import read_manifest, verify_state
from .persistence import PartlyLoadedError, StateError
from .states_dir import read_identity, state_dirs, writer_seq

LATEST = "latest"
"""Where a state is asked for, the newest state that verifies (``saved_state_path``)."""

LATEST_NAMES = frozenset({LATEST, "newest"})
"""What an operator may type for :data:`LATEST` (``load latest``, ``--load newest``)."""


class NoUsableStateError(StateError):
    """States exist, but none verifies (or loads).

    Attributes:
        skipped: Each state passed over and why, in the order they were
            reported: those whose manifest cannot be read, then the others
            newest first.
        summary: The message without the newest state's problem (for a caller
            that shows :attr:`skipped` itself).
    """

    def __init__(
        self, message: str, summary: str, skipped: tuple[tuple[Path, str], ...]
    ) -> None:
        super().__init__(message)
        self.summary = summary
        self.skipped = skipped


@dataclass(frozen=True)
class StateInfo:
    """What the manifest says about one state directory.

    Attributes:
        path: The state directory.
        manifest: The parsed manifest (empty when it could not be read).
        problem: Why it is not a usable state ("" when the manifest reads fine).
        seq: Its sequence number among the states its directory's runs wrote,
            or None for a foreign state (see :mod:`engine.state.states_dir`).
    """

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    problem: str = ""
    seq: int | None = None

    @property
    def own(self) -> bool:
        """Whether a run in its states directory wrote it there (under this name)."""
        return self.seq is not None

    @property
    def name(self) -> str:
        """Directory name."""
        return self.path.name

    @property
    def created(self) -> float:
        """Creation time (seconds since the epoch), or the directory's mtime."""
        created = self.manifest.get("created_unix")
        return float(created) if created is not None else self.path.stat().st_mtime


def list_states(states_dir: Path) -> list[StateInfo]:
    """Every ``*.state`` directory in ``states_dir``, oldest first (unverified).

    The order is the one :mod:`engine.state.states_dir` defines: foreign states by
    their recorded creation time, then the directory's own states by sequence
    number, so the last one is what ``latest`` means.
    """
    states_dir = Path(states_dir)
    if not states_dir.is_dir():
        return []
    identity = read_identity(states_dir)
    infos = []
    for path in state_dirs(states_dir):
        try:
            manifest = read_manifest(path)
        except StateError as e:
            infos.append(StateInfo(path, {}, str(e)))
            continue
        infos.append(
            StateInfo(path, manifest, seq=writer_seq(manifest, identity, path.name))
        )
    foreign = sorted((i for i in infos if not i.own), key=_created_order)
    own = sorted((i for i in infos if i.own), key=lambda i: (i.seq, i.name))
    return foreign + own


def _created_order(info: StateInfo) -> tuple[float, str]:
    try:
        return info.created, info.name
    except OSError:  # deleted while being listed
        return 0.0, info.name


def newest_verified_state(
    states_dir: Path,
    components: Iterable[str] = (),
    on_skip: Callable[[Path, str], None] | None = None,
    *,
    parts: Iterable[str] = (),
    verify: Callable[[Path], object] | None = None,
    load: Callable[[Path], None] | None = None,
) -> Path | None:
    """The newest state in ``states_dir`` that verifies (and loads); None if there are no states.

    States whose manifest cannot be read have no place in the order (nothing
    says when or by whom they were written); they are skipped wherever they
    are, and ``on_skip`` hears of each.

    Args:
        states_dir: Where to look.
        components: Components a state must hold (see :func:`verify_state`).
        on_skip: Called with each state passed over, and why.
        parts: Parts a state must hold (see :func:`verify_state`).
        verify: Checks one state instead of :func:`verify_state` (raises
            :class:`StateError`).
        load: Verifies and loads a state, in place of ``verify`` (a resume):
            a :class:`StateError` from it passes on to the next newest state,
            except a :class:`~engine.state.persistence.PartlyLoadedError`,
            which is raised.

    Raises:
        NoUsableStateError: If states exist but none verifies (or loads):
            falling back to nothing would silently throw a run's history away.
        PartlyLoadedError: If ``load`` left the system partly loaded.
    """
    components, parts = tuple(components), tuple(parts)
    check = load or verify or (lambda p: verify_state(p, components, parts))
    infos = list_states(states_dir)
    # Said first: such a state has no place in the order to be tried in.
    unplaced = [(i.path, i.problem) for i in infos if i.problem]
    if on_skip is not None:
        for path, problem in unplaced:
            on_skip(path, problem)
    problems: list[tuple[Path, str]] = []
    for info in reversed([i for i in infos if not i.problem]):
        try:
            check(info.path)
        except PartlyLoadedError:
            raise
        except StateError as e:
            if on_skip is not None:
                on_skip(info.path, str(e))
            problems.append((info.path, str(e)))
            continue
        return info.path
    if problems or unplaced:
        what = "verifies and loads" if load is not None else "verifies"
        count = len(problems) + len(unplaced)
        summary = f"none of the {count} state(s) in {states_dir} {what}"
        newest = (problems or unplaced)[0][1]
        raise NoUsableStateError(
            f"{summary} (newest: {newest})", summary, (*unplaced, *problems)
        )
    return None


def remove_state(path: Path) -> None:
    """Delete a state so that it never looks whole while half-deleted."""
    doomed = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.rename(doomed)
    shutil.rmtree(doomed)


OwnState = tuple[int, Path]
"""One of a directory's own states: its sequence number and its path."""


def beyond_newest(
    own: Sequence[OwnState], keep: int, unusable: Collection[Path] = ()
) -> list[OwnState]:
    """Which own states a "keep the newest ``keep``" rule deletes, oldest first.

    The one retention rule: a run's ``keep_last`` after each save, the room a
    save makes ahead of itself on a full disk, and ``states prune``.

    Args:
        own: The directory's own states, oldest first (by sequence number).
        keep: How many of the newest to keep.
        unusable: States known not to verify: neither counted nor deleted, so
            they never push a good state out (and stay for inspection).

    Raises:
        ValueError: If ``keep`` is negative.
    """
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    skip = {Path(p).resolve() for p in tuple(unusable)}  # may grow meanwhile
    counted = [state for state in own if state[1].resolve() not in skip]
    return counted[: max(0, len(counted) - keep)]


def states_beyond(
    states_dir: Path, keep: int, unusable: Collection[Path] = ()
) -> list[Path]:
    """The directory's own states older than its newest ``keep`` (what a prune deletes).

    Foreign states (copied in, or written before states were numbered) are
    neither counted nor returned: nothing can say where they belong in the
    order, so only a person deletes them. The rule is :func:`beyond_newest`.

    Args:
        states_dir: Where the states are.
        keep: How many of the newest to keep.
        unusable: States known not to verify (neither counted nor deleted).
    """
    own = [(i.seq, i.path) for i in list_states(states_dir) if i.seq is not None]
    return [path for _, path in beyond_newest(own, keep, unusable)]
