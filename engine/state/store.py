"""Writing states: atomic directories of every registered component, and retention.

A state is a directory ``<states_dir>/<timestamp>.state/`` holding one entry per
component plus ``manifest.json`` (:mod:`engine.state.manifest`). It is written under a hidden temporary name
and renamed only once every file and the manifest are on disk, so a crash
leaves either the old states or a complete new one. A directory without a
valid manifest is never treated as a state. States are owner-only (0700
directories, 0600 files). Which states are a directory's own, what "newest"
means and what retention may delete are described in :mod:`engine.state.states_dir`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import shutil
import time as _time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalogue import beyond_newest, list_states, newest_verified_state, remove_state
from .disk_space import (
    MIB,
    block_size,
    bytes_under,
    free_bytes,
    full_disk,
    mib,
    release_writers,
    room_taken,
)
from .manifest import (
    CHECKSUM,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    files_under,
    read_manifest,
    sealed,
    verify_state,
    written_file_checksum,
)
from .persistence import Persistent, PersistentStateMixin, StateError, StateGroup
from .states_dir import (
    StatesLock,
    ensure_identity,
    open_private,
    writer_seq,
)

DEFAULT_NAME_FORMAT = "%Y-%m-%d_%H-%M-%S,%f.state"
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")
_log = logging.getLogger("engine.state")


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class WrittenState:
    """A state just published by :meth:`StateStore.write`.

    Attributes:
        path: Its directory.
        duration: Seconds from the start of the write to its publication.
        paused_for: Seconds spent inside the write's ``still`` context (the
            time the system was held while its components wrote themselves).
    """

    path: Path
    duration: float
    paused_for: float


MetaSource = Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None
"""Manifest fields, or a function returning them (called while the system is still)."""


class PendingState:
    """A state being written under its temporary name.

    Attributes:
        tmp: Where it is written.
        final: The name it will be published under.
        writing: The component writing itself now (None between components).
    """

    def __init__(self, tmp: Path, final: Path) -> None:
        self.tmp = tmp
        self.final = final
        self.writing: str | None = None


class StateStore:
    """Writes and applies states of the registered components.

    A run opens the store (:meth:`open`) for its lifetime: that locks the states
    directory, and reads the list of the directory's own states once; from
    then on the list is kept in memory, so a save never reads other states.
    A store used without :meth:`open` (tests, scripts) reads the list when it
    first needs it and locks nothing.

    Args:
        states_dir: Where states live (created 0700 when first needed).
        state_name_format: ``strftime`` format of state directory names.
        max_keep: Keep only the newest N own states after each save (None: keep all).
        durable: fsync files and directories so states survive power loss.
    """

    def __init__(
        self,
        states_dir: str | Path,
        state_name_format: str = DEFAULT_NAME_FORMAT,
        max_keep: int | None = None,
        durable: bool = True,
    ) -> None:
        if max_keep is not None and max_keep < 1:
            raise ValueError(f"max_keep must be >= 1, got {max_keep}")
        self.states_dir = Path(states_dir)
        self.state_name_format = state_name_format
        self.max_keep = max_keep
        self.durable = durable
        self._components: dict[str, PersistentStateMixin] = {}
        self._optional: set[str] = set()
        # States found not to verify during this run (see beyond_newest).
        self.unusable: set[Path] = set()
        self.protected: set[Path] = set()
        """States retention never deletes during this run (the newest state saved
        before a guard saw non-finite values: :meth:`protect`)."""
        self._lock = StatesLock(self.states_dir)
        self._identity: str | None = None
        # The directory's own states, oldest first, and the next sequence number.
        self._own: list[tuple[int, Path]] | None = None
        self._next_seq = 1
        # Bytes the next state is expected to take (see make_room): the last
        # state's, and after a save failed for a full disk, more than it wrote.
        self._last_room: int | None = None
        self._room_floor = 0
        self.notices: list[str] = []
        """What the store repaired in the states directory (one line each): an
        identity a crash left unreadable, rebuilt from the states. Also logged
        (``engine.state``, WARNING)."""

    def register(
        self, name: str, component: PersistentStateMixin, *, optional: bool = False
    ) -> None:
        """Add a component saved under ``<state>/<name>``.

        Args:
            name: Its name in a state.
            component: What saves and loads it.
            optional: A state without it still verifies and loads (the
                component's own load is told its path all the same, and must
                cope with nothing there): for parts added to the state later,
                such as the run's learning curves, so states saved before
                them, or without them, stay usable.
        """
        if name in self._components:
            raise KeyError(f"component '{name}' is already registered")
        self._components[name] = component
        if optional:
            self._optional.add(name)

    @property
    def components(self) -> list[str]:
        """Registered component names."""
        return list(self._components)

    @property
    def required(self) -> list[str]:
        """The components a state must hold to be loaded (all but the optional ones)."""
        return [name for name in self._components if name not in self._optional]

    def parts(self) -> list[tuple[str, Persistent]]:
        """What loads on its own, by path in a state: components, and each part of a group.

        A :class:`~engine.state.persistence.StateGroup` (the models, data and trainers
        dicts) stands for its parts, so that each part is loaded, backed up and
        rolled back on its own.
        """
        parts: list[tuple[str, Persistent]] = []
        for name, component in self._components.items():
            if isinstance(component, StateGroup):
                parts.extend((f"{name}/{p}", c) for p, c in component.state_parts())
            else:
                parts.append((name, component))
        return parts

    # -- the directory ------------------------------------------------------------

    def open(self) -> None:
        """Claim the states directory for this run: private, locked, catalogued.

        Raises:
            StateError: If another user could have written the directory, another
                run holds it, or it cannot be created or read.
        """
        open_private(self.states_dir)
        self._lock.acquire()
        try:
            self._load_catalogue()
        except BaseException:
            self._lock.release()
            raise

    def close(self) -> None:
        """Release the states directory (after the run's last save)."""
        self._lock.release()

    def _load_catalogue(self) -> None:
        identity = ensure_identity(self.states_dir, self._notice)
        own: list[tuple[int, Path]] = []
        highest = 0
        for info in list_states(self.states_dir):
            writer = info.manifest.get("writer")
            if isinstance(writer, dict) and writer.get("states_dir_id") == identity:
                highest = max(highest, int(writer["seq"]))
            if info.seq is not None:
                own.append((info.seq, info.path))
        self._identity = identity
        self._own = own
        self._next_seq = highest + 1

    def _notice(self, message: str) -> None:
        """Something the store repaired in the directory: logged, and kept in :attr:`notices`."""
        self.notices.append(message)
        _log.warning("%s", message)

    def _catalogue(self) -> list[tuple[int, Path]]:
        if self._own is None:
            open_private(self.states_dir)
            self._load_catalogue()
        assert self._own is not None
        return self._own

    def own_states(self) -> list[Path]:
        """This directory's own states as this store knows them, oldest first."""
        return [path for _, path in self._catalogue()]

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete half-written states left by processes that no longer exist."""
        removed: list[Path] = []
        if not self.states_dir.is_dir():
            return removed
        for path in self.states_dir.iterdir():
            match = _TMP_RE.match(path.name)
            if match is None or not path.is_dir():
                continue
            pid = int(match["pid"])
            if pid == os.getpid() or not pid_alive(pid):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    # -- writing ------------------------------------------------------------------

    def begin(self) -> PendingState:
        """Create the temporary directory of a new state.

        Raises:
            StateError: If the states directory cannot be written.
        """
        self._catalogue()
        try:
            return self._begin()
        except OSError as e:
            full = self._full_disk_error(e, "creating the state's directory failed")
            if full is not None:
                raise full from e
            raise StateError(
                f"{self.states_dir}: cannot create a state here ({e.strerror or e})"
            ) from e

    def _begin(self) -> PendingState:
        name = _dt.datetime.now().strftime(self.state_name_format)
        final = self.states_dir / name
        suffix = 1
        while final.exists():
            final = self.states_dir / f"{name}-{suffix}"
            suffix += 1
        tmp = self.states_dir / f".{final.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(mode=0o700)
        return PendingState(tmp, final)

    def write_components(self, pending: PendingState) -> None:
        """Have every component write itself into the pending state."""
        for name, component in self._components.items():
            pending.writing = name
            try:
                component.save_state(pending.tmp / name)
            except Exception as e:
                raise StateError(
                    f"saving component '{name}' failed: {type(e).__name__}: {e}"
                ) from e
        pending.writing = None

    def discard(self, pending: PendingState) -> None:
        """Throw away a pending state."""
        shutil.rmtree(pending.tmp, ignore_errors=True)

    def finish(self, pending: PendingState, meta: dict[str, Any] | None = None) -> Path:
        """Checksum, write the manifest, and publish the state under its final name.

        The state is made owner-only (components write with the process's
        umask) and recorded as the directory's newest own state.
        """
        own = self._catalogue()
        files: dict[str, dict[str, Any]] = {}
        for file in files_under(pending.tmp):
            if not file.is_symlink():
                file.chmod(0o600)
            if self.durable:
                _fsync_path(file)
            files[file.relative_to(pending.tmp).as_posix()] = {
                "size": file.stat().st_size,
                CHECKSUM: written_file_checksum(file),
            }
        directories = [
            p for p in pending.tmp.rglob("*") if p.is_dir() and not p.is_symlink()
        ]
        for directory in directories:
            directory.chmod(0o700)
        now = _time.time()
        seq = self._next_seq
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.fromtimestamp(now).astimezone().isoformat(),
            "created_unix": now,
            "components": list(self._components),
            # What a load of this state installs, so a verify can tell a part
            # that wrote no file from one that is missing.
            "parts": self.part_names(),
            "files": files,
            **(meta or {}),
            # Orders this directory's states whatever the wall clock did.
            "writer": {
                "states_dir_id": self._identity,
                "seq": seq,
                "state": pending.final.name,
                "pid": os.getpid(),
            },
        }
        manifest_path = pending.tmp / MANIFEST
        fd = os.open(
            manifest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
        )
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(sealed(manifest), indent=1))
        sizes = [meta["size"] for meta in files.values()]
        sizes.append(manifest_path.stat().st_size)
        room = room_taken(sizes, len(directories) + 1, block_size(self.states_dir))
        if self.durable:
            _fsync_path(manifest_path)
            for directory in [*sorted(directories, reverse=True), pending.tmp]:
                _fsync_path(directory, directory=True)
        pending.tmp.rename(pending.final)
        self._next_seq = seq + 1
        own.append((seq, pending.final))
        self._last_room = room
        self._room_floor = 0
        if self.durable:
            _fsync_path(self.states_dir, directory=True)
        return pending.final

    def apply_retention(
        self,
        keep: Path | None = None,
        on_removed: Callable[[Path], None] | None = None,
    ) -> list[Path]:
        """Delete the directory's own states beyond ``max_keep``; return what was deleted.

        Only own states are counted and deleted, oldest by sequence number
        first; states found not to verify are skipped (kept for inspection).
        Nothing is read but the manifest of each state about to be deleted,
        checked to be still the one this store wrote.

        Args:
            keep: A state never to delete (the one just written).
            on_removed: Called after each deletion.
        """
        if self.max_keep is None:
            return []
        return list(self._retire(self.max_keep, keep, on_removed))

    def _retire(
        self,
        keep: int,
        spare: Path | None = None,
        on_removed: Callable[[Path], None] | None = None,
    ) -> Iterator[Path]:
        """Delete the own states that keeping the newest ``keep`` leaves out, oldest
        first, yielding each once deleted (a caller may stop early).

        Which states: :func:`~engine.state.catalogue.beyond_newest` over this
        store's catalogue, less ``spare`` and the :meth:`protect`-ed ones. A state
        that is no longer the one this store wrote is dropped from the catalogue
        but not deleted.
        """
        own = self._catalogue()
        kept = {
            Path(p).resolve() for p in (*tuple(self.protected), spare) if p is not None
        }
        for seq, path in beyond_newest(own, keep, self.unusable):
            if path.resolve() in kept:
                continue
            if not self._still_own(path, seq):
                own.remove((seq, path))  # gone, or not ours to delete
                continue
            remove_state(path)
            if on_removed is not None:
                on_removed(path)
            own.remove((seq, path))
            yield path

    def protect(self, path: str | Path) -> None:
        """Never delete the state at ``path`` by retention while this store lives."""
        self.protected.add(Path(path))

    def _still_own(self, path: Path, seq: int) -> bool:
        """Whether ``path`` still holds the state this directory's runs wrote as ``seq``."""
        try:
            manifest = read_manifest(path)
        except StateError:
            return False  # gone, or replaced by something else: not ours to delete
        return writer_seq(manifest, self._identity, path.name) == seq

    def write(
        self,
        meta: MetaSource = None,
        *,
        still: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> WrittenState:
        """Write and publish a complete state: the one way a state is written.

        Components write themselves (and ``meta`` is read) inside ``still()``
        (a system holds itself paused there); checksums, fsync and the rename
        that publishes the state follow outside it. Retention is the caller's
        next step (:meth:`apply_retention`), once the state is announced.

        Raises:
            StateError: If the state could not be written (nothing partial is left).
        """
        started = _time.perf_counter()
        with still():
            pending = self.begin()
            try:
                self.write_components(pending)
                fields = dict(meta() if callable(meta) else meta or {})
            except Exception as e:
                what = (
                    f"saving component '{pending.writing}' failed"
                    if pending.writing is not None
                    else "writing the state failed"
                )
                full = self._full_disk_error(e, what, pending)
                if full is not None:
                    raise full from e
                raise
            except BaseException:
                self.discard(pending)
                raise
            paused_for = _time.perf_counter() - started
        try:
            path = self.finish(pending, fields)
        except OSError as e:
            what = "writing the state's checksums and manifest failed"
            full = self._full_disk_error(e, what, pending)
            if full is not None:
                raise full from e
            raise StateError(f"{pending.final}: writing the state failed ({e})") from e
        except BaseException:
            self.discard(pending)
            raise
        return WrittenState(path, _time.perf_counter() - started, paused_for)

    def _full_disk_error(
        self, error: BaseException, what: str, pending: PendingState | None = None
    ) -> StateError | None:
        """The one-line error for a save that failed on a full disk, else None.

        Discards ``pending`` either way (after measuring what it had written:
        the next :meth:`make_room` makes more room than that).
        """
        free = free_bytes(self.states_dir)
        written = 0 if pending is None else bytes_under(pending.tmp)
        reason = full_disk(error, free)
        if reason is not None:
            # A writer that failed may hold its file open, and so its blocks
            # even once deleted (torch's does, until it is collected).
            release_writers(error)
        if pending is not None:
            self.discard(pending)
        if reason is None:
            return None
        self._room_floor = max(self._room_floor, written + written // 10 + MIB)
        last = self._expected_room()
        took = "" if last is None else f"; the last state took {mib(last)} MiB"
        free = free_bytes(self.states_dir)
        return StateError(
            f"{reason}: {what} ({mib(free)} MiB free in {self.states_dir}{took})"
        )

    # -- room -------------------------------------------------------------------------

    def _expected_room(self) -> int | None:
        """Bytes the last state this directory's runs wrote takes (None if unknown)."""
        if self._last_room is None:
            own = self._catalogue()
            if own:
                try:
                    manifest = read_manifest(own[-1][1])
                except StateError:
                    return None
                sizes = [meta["size"] for meta in manifest["files"].values()]
                directories = {
                    rel.rsplit("/", 1)[0] for rel in manifest["files"] if "/" in rel
                }
                sizes.append((own[-1][1] / MANIFEST).stat().st_size)
                self._last_room = room_taken(
                    sizes, len(directories) + 1, block_size(self.states_dir)
                )
        return self._last_room

    def make_room(self, on_removed: Callable[[Path], None] | None = None) -> str:
        """Before a save: make room for it by the retention rule, or say it may not fit.

        When the free space is less than the next state is expected to take
        (the last one's room, a tenth more), the directory's own states that
        retention would delete once the next state is written are deleted now,
        oldest first, until it fits. The newest complete state is never
        deleted, nor a state found not to verify, nor a foreign one.

        Args:
            on_removed: Called after each deletion.

        Returns:
            "" if the save is expected to fit, else one line saying why it may
            not (what to do: free space, lower ``keep_last``).
        """
        last = self._expected_room()
        if last is None:
            return ""  # the first state: nothing to go by
        need = max(last + last // 10, self._room_floor)
        free = free_bytes(self.states_dir)
        if free is None or free >= need:
            return ""
        if self.max_keep is not None:
            # What retention deletes after the save, less the newest complete state.
            for _ in self._retire(max(self.max_keep - 1, 1), on_removed=on_removed):
                free = free_bytes(self.states_dir)
                if free is None or free >= need:
                    return ""
        if self.max_keep is None:
            how = "keep_last is not set, so no older state is deleted to make room"
        else:
            how = (
                f"keep_last {self.max_keep} keeps the newest complete state until "
                "the next is written, and no older own state is left to delete"
            )
        return (
            f"the next save may not fit: {mib(free)} MiB free in {self.states_dir}, "
            f"the last state took {mib(last)} MiB; {how} (free some space or "
            "lower keep_last)"
        )

    def save(self, meta: MetaSource = None) -> Path:
        """Make room, write a state (the caller keeps the system still), then apply
        retention (see :meth:`make_room`; its warning goes to the ``engine.state`` log)."""
        warning = self.make_room()
        if warning:
            _log.warning("%s", warning)
        path = self.write(meta).path
        self.apply_retention(keep=path)
        return path

    # -- reading ------------------------------------------------------------------

    def verify(self, path: str | Path) -> dict[str, Any]:
        """Verify a state holds every registered component; return its manifest.

        A state that fails is remembered in :attr:`unusable`.
        """
        try:
            return verify_state(Path(path), self.required, self.part_names())
        except StateError:
            self.unusable.add(Path(path).resolve())
            raise

    def part_names(self) -> list[str]:
        """The paths of :meth:`parts` in a state (what a manifest lists as ``parts``)."""
        return [
            name
            for name, _ in self.parts()
            if name.partition("/")[0] not in self._optional
        ]

    def newest_verified(
        self,
        on_skip: Callable[[Path, str], None] | None = None,
        load: Callable[[Path], None] | None = None,
    ) -> Path | None:
        """:func:`newest_verified_state` of this store; states that fail become unusable.

        Args:
            on_skip: Called with each state passed over, and why.
            load: Loads each state that verified, newest first, until one
                loads (a resume); see :func:`newest_verified_state`.

        Raises:
            StateError: If states exist but none verifies (or loads).
        """

        def skipped(path: Path, problem: str) -> None:
            self.unusable.add(path.resolve())
            if on_skip is not None:
                on_skip(path, problem)

        return newest_verified_state(
            self.states_dir,
            self.required,
            skipped,
            parts=self.part_names(),
            load=load,
        )

    def save_state(self) -> Path:
        """Save every registered component now (PAMIQ-Core's name for :meth:`save`).

        Returns:
            The new state directory.
        """
        return self.save()

    def load_state(self, path: str | Path) -> None:
        """Verify the state at ``path``, then load every registered component from it.

        Raises:
            StateNotFoundError: If there is no state at ``path`` (a
                :class:`FileNotFoundError`, as in PAMIQ-Core).
            StateError: If it does not verify or a component fails to load.
        """
        self.verify(path)
        path = Path(path)
        for name, component in self._components.items():
            try:
                component.load_state(path / name)
            except Exception as e:
                raise StateError(
                    f"{path / name}: loading component '{name}' failed: "
                    f"{type(e).__name__}: {e}"
                ) from e


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
