"""Saved states on disk: atomic writes, manifests with checksums, verification, retention.

A state is a directory ``<states_dir>/<timestamp>.state/`` holding one entry per
component plus ``manifest.json``. It is written under a hidden temporary name
and renamed only once every file and the manifest are on disk, so a crash
leaves either the old states or a complete new one. A directory without a
valid manifest is never treated as a state. States are owner-only (0700
directories, 0600 files). Which states are a directory's own, what "newest"
means and what retention may delete are described in :mod:`engine.state.states_dir`.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import mmap
import os
import re
import shutil
import stat
import time as _time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from .persistence import Persistent, PersistentStateMixin, StateError, StateGroup
from .states_dir import (
    StatesLock,
    ensure_identity,
    open_private,
    read_identity,
    writer_seq,
)

LATEST = "latest"
"""Where a state is asked for, the newest state that verifies (``saved_state_path``)."""

LATEST_NAMES = frozenset({LATEST, "newest"})
"""What an operator may type for :data:`LATEST` (``load latest``, ``--load newest``)."""

MANIFEST = "manifest.json"
FORMAT = "pamiq-console/state"
FORMAT_VERSION = 1
DEFAULT_NAME_FORMAT = "%Y-%m-%d_%H-%M-%S,%f.state"
MAX_MANIFEST_BYTES = 32 << 20
"""Largest manifest read (one entry per file: about 100k files). A larger one is
refused before it is read, so a stray file cannot make every listing slow."""
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")


class StateNotFoundError(StateError, FileNotFoundError):
    """There is no state at the given path.

    Also a :class:`FileNotFoundError`, which is what PAMIQ-Core raises for a
    missing ``saved_state_path``, so programs that catch that keep working.
    """


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

    @property
    def size_bytes(self) -> int:
        """Total size of the files listed in the manifest."""
        return sum(
            int(f.get("size", 0)) for f in self.manifest.get("files", {}).values()
        )


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


CHECKSUM = "xxh3_128"  # ~7 GB/s: hashing must not dominate saving and loading
_CHUNK = 8 << 20


def file_checksum(path: Path, algorithm: str = CHECKSUM) -> str:
    """Hex digest of a file (``xxh3_128`` by default; ``sha256`` is also read)."""
    if algorithm == "sha256":
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    if algorithm != "xxh3_128":
        raise StateError(f"{path}: unknown checksum algorithm {algorithm!r}")
    digest = xxhash.xxh3_128()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def _written_file_checksum(path: Path) -> str:
    """``xxh3_128`` of a file this process just wrote, hashed from its mapped pages.

    A third faster than :func:`file_checksum` (no copy out of the page cache),
    but only for our own temporary files: a mapped file that another process
    truncates would crash this one (SIGBUS), so states read back are not mapped.
    """
    digest = xxhash.xxh3_128()
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size:
            try:
                mapped = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                return file_checksum(path)  # a filesystem that cannot map files
            with mapped:
                digest.update(mapped)
    return digest.hexdigest()


def _checksum_entry(meta: dict[str, Any]) -> tuple[str, str | None]:
    for algorithm in (CHECKSUM, "sha256"):
        if algorithm in meta:
            return algorithm, meta[algorithm]
    return CHECKSUM, None


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check the manifest of the state at ``path``.

    Raises:
        StateError: If the state or its manifest is missing, unreadable or foreign.
    """
    if not path.is_dir():
        raise StateNotFoundError(f"{path}: no such state directory")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise StateError(f"{manifest_path}: missing (incomplete or foreign state)")
    try:
        manifest = json.loads(_read_bounded(manifest_path))
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise StateError(
                f"{manifest_path}: a symbolic link, not a manifest"
            ) from None
        raise StateError(f"{manifest_path}: unreadable manifest ({e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateError(f"{manifest_path}: unreadable manifest ({e})") from None
    except RecursionError:
        raise StateError(
            f"{manifest_path}: unreadable manifest (nested too deeply)"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StateError(f"{manifest_path}: not a pamiq-console state manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise StateError(
            f"{manifest_path}: format version {version!r} is newer than this "
            f"pamiq-console supports ({FORMAT_VERSION})"
        )
    if not isinstance(manifest.get("files"), dict) or not isinstance(
        manifest.get("components"), list
    ):
        raise StateError(f"{manifest_path}: manifest lacks its file or component list")
    for rel, meta in manifest["files"].items():
        if not isinstance(meta, dict) or type(meta.get("size")) is not int:
            raise StateError(f"{manifest_path}: malformed entry for file {rel!r}")
    for key, kinds in (
        ("steps", (int,)),
        ("uptime", (int, float)),
        ("created_unix", (int, float)),
    ):
        if key in manifest and type(manifest[key]) not in kinds:
            raise StateError(f"{manifest_path}: malformed {key!r}")
    writer = manifest.get("writer")
    if writer is not None and (
        not isinstance(writer, dict)
        or type(writer.get("seq")) is not int
        or not isinstance(writer.get("states_dir_id"), str)
        or not isinstance(writer.get("state"), str)
    ):
        raise StateError(f"{manifest_path}: malformed 'writer'")
    return manifest


def _read_bounded(path: Path) -> bytes:
    """The bytes of a manifest, refused unread if larger than :data:`MAX_MANIFEST_BYTES`."""
    # States never hold links: a linked manifest could stand for any file.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise StateError(f"{path}: not a regular file")
        size = info.st_size
        if size > MAX_MANIFEST_BYTES:
            raise StateError(
                f"{path}: {size:,} bytes, larger than a manifest may be "
                f"({MAX_MANIFEST_BYTES:,}); not a state written by pamiq-console"
            )
        data = f.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:  # it grew while being read
        raise StateError(f"{path}: larger than a manifest may be")
    return data


def verify_state(path: Path, components: Iterable[str] = ()) -> dict[str, Any]:
    """Check every file of a state against its manifest.

    Args:
        path: The state directory.
        components: Components that must be present (those the system will load).

    Returns:
        The manifest.

    Raises:
        StateError: Naming the first missing, truncated, corrupt or foreign file,
            or a missing component.
    """
    path = Path(path)
    manifest = read_manifest(path)
    listed: dict[str, dict[str, Any]] = manifest["files"]
    for rel, meta in listed.items():
        file = path / rel
        if not file.resolve().is_relative_to(path.resolve()):
            raise StateError(
                f"{path / MANIFEST}: lists a file outside the state: {rel}"
            )
        if not file.is_file():
            raise StateError(f"{file}: missing")
        size = file.stat().st_size
        if size != meta.get("size"):
            raise StateError(
                f"{file}: truncated or changed ({size} bytes, manifest says {meta.get('size')})"
            )
        algorithm, expected = _checksum_entry(meta)
        if file_checksum(file, algorithm) != expected:
            raise StateError(f"{file}: corrupt (checksum does not match the manifest)")
    for file in _files_under(path):
        rel = file.relative_to(path).as_posix()
        if rel != MANIFEST and rel not in listed:
            raise StateError(f"{file}: foreign file, not part of the saved state")
    missing = [c for c in components if c not in manifest["components"]]
    if missing:
        raise StateError(
            f"{path / MANIFEST}: state lacks component(s) {', '.join(missing)}"
        )
    return manifest


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
    for path in states_dir.iterdir():
        # Symlinks are never states: a state must live inside its states directory.
        if (
            path.is_symlink()
            or not path.is_dir()
            or path.name.startswith(".")
            or not path.name.endswith(".state")
        ):
            continue
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


def newest_state(states_dir: Path) -> Path | None:
    """The newest state whose manifest reads fine, or None."""
    complete = [i for i in list_states(states_dir) if not i.problem]
    return complete[-1].path if complete else None


def newest_verified_state(
    states_dir: Path,
    components: Iterable[str] = (),
    on_skip: Callable[[Path, str], None] | None = None,
) -> Path | None:
    """The newest state in ``states_dir`` that verifies; None if there are no states.

    Args:
        states_dir: Where to look.
        components: Components a state must hold (see :func:`verify_state`).
        on_skip: Called with each newer state that fails, and why.

    Raises:
        StateError: If states exist but none verifies (falling back to nothing
            would silently throw a run's history away).
    """
    problems: list[str] = []
    for info in reversed(list_states(states_dir)):
        try:
            if info.problem:
                raise StateError(info.problem)
            verify_state(info.path, components)
        except StateError as e:
            if on_skip is not None:
                on_skip(info.path, str(e))
            problems.append(str(e))
            continue
        return info.path
    if problems:
        raise StateError(
            f"none of the {len(problems)} state(s) in {states_dir} verifies "
            f"(newest: {problems[0]})"
        )
    return None


def remove_state(path: Path) -> None:
    """Delete a state so that it never looks whole while half-deleted."""
    doomed = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.rename(doomed)
    shutil.rmtree(doomed)


def states_beyond(
    states_dir: Path, keep: int, unusable: Collection[Path] = ()
) -> list[Path]:
    """The directory's own states older than its newest ``keep`` (what a prune deletes).

    Foreign states (copied in, or written before states were numbered) are
    neither counted nor returned: nothing can say where they belong in the
    order, so only a person deletes them.

    Args:
        states_dir: Where the states are.
        keep: How many of the newest to keep.
        unusable: States known not to verify: neither counted nor deleted, so
            they never push a good state out (and stay for inspection).
    """
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    skip = {Path(p).resolve() for p in tuple(unusable)}  # may grow meanwhile
    own = [
        i.path
        for i in list_states(states_dir)
        if i.own and i.path.resolve() not in skip
    ]
    return own[: max(0, len(own) - keep)]


def prune_states(
    states_dir: Path, keep: int, unusable: Collection[Path] = ()
) -> list[Path]:
    """Delete all but the newest ``keep`` own states; return what was deleted."""
    doomed = states_beyond(states_dir, keep, unusable)
    for path in doomed:
        remove_state(path)
    return doomed


class PendingState:
    """A state being written under its temporary name."""

    def __init__(self, tmp: Path, final: Path) -> None:
        self.tmp = tmp
        self.final = final


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
        # States found not to verify during this run (see states_beyond).
        self.unusable: set[Path] = set()
        self._lock = StatesLock(self.states_dir)
        self._identity: str | None = None
        # The directory's own states, oldest first, and the next sequence number.
        self._own: list[tuple[int, Path]] | None = None
        self._next_seq = 1

    def register(self, name: str, component: PersistentStateMixin) -> None:
        """Add a component saved under ``<state>/<name>``."""
        if name in self._components:
            raise KeyError(f"component '{name}' is already registered")
        self._components[name] = component

    @property
    def components(self) -> list[str]:
        """Registered component names."""
        return list(self._components)

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

    @property
    def is_open(self) -> bool:
        """Whether this store holds the states directory's lock."""
        return self._lock.held

    def _load_catalogue(self) -> None:
        identity = ensure_identity(self.states_dir)
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
        removed = []
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
            try:
                component.save_state(pending.tmp / name)
            except Exception as e:
                raise StateError(
                    f"saving component '{name}' failed: {type(e).__name__}: {e}"
                ) from e

    def discard(self, pending: PendingState) -> None:
        """Throw away a pending state."""
        shutil.rmtree(pending.tmp, ignore_errors=True)

    def finish(self, pending: PendingState, meta: dict[str, Any] | None = None) -> Path:
        """Checksum, write the manifest, and publish the state under its final name.

        The state is made owner-only (components write with the process's
        umask) and recorded as the directory's newest own state.
        """
        own = self._catalogue()
        files = {}
        for file in _files_under(pending.tmp):
            if not file.is_symlink():
                file.chmod(0o600)
            if self.durable:
                _fsync_path(file)
            files[file.relative_to(pending.tmp).as_posix()] = {
                "size": file.stat().st_size,
                CHECKSUM: _written_file_checksum(file),
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
            f.write(json.dumps(manifest, indent=1))
        if self.durable:
            _fsync_path(manifest_path)
            for directory in [*sorted(directories, reverse=True), pending.tmp]:
                _fsync_path(directory, directory=True)
        pending.tmp.rename(pending.final)
        self._next_seq = seq + 1
        own.append((seq, pending.final))
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
        own = self._catalogue()
        skip = {Path(p).resolve() for p in tuple(self.unusable)}
        keep_path = None if keep is None else Path(keep).resolve()
        counted = [(seq, p) for seq, p in own if p.resolve() not in skip]
        doomed = counted[: max(0, len(counted) - self.max_keep)]
        removed: list[Path] = []
        for seq, path in doomed:
            if path.resolve() == keep_path:
                continue
            if self._still_own(path, seq):
                remove_state(path)
                removed.append(path)
                if on_removed is not None:
                    on_removed(path)
            own.remove((seq, path))
        return removed

    def _still_own(self, path: Path, seq: int) -> bool:
        """Whether ``path`` still holds the state this directory's runs wrote as ``seq``."""
        try:
            manifest = read_manifest(path)
        except StateError:
            return False  # gone, or replaced by something else: not ours to delete
        return writer_seq(manifest, self._identity, path.name) == seq

    def save(self, meta: dict[str, Any] | None = None) -> Path:
        """Write a complete state in one go (the caller keeps the system still)."""
        pending = self.begin()
        try:
            self.write_components(pending)
            path = self.finish(pending, meta)
        except BaseException:
            self.discard(pending)
            raise
        self.apply_retention(keep=path)
        return path

    # -- reading ------------------------------------------------------------------

    def verify(self, path: str | Path) -> dict[str, Any]:
        """Verify a state holds every registered component; return its manifest.

        A state that fails is remembered in :attr:`unusable`.
        """
        try:
            return verify_state(Path(path), self._components)
        except StateError:
            self.unusable.add(Path(path).resolve())
            raise

    def newest_verified(
        self, on_skip: Callable[[Path, str], None] | None = None
    ) -> Path | None:
        """:func:`newest_verified_state` of this store; states that fail become unusable.

        Raises:
            StateError: If states exist but none verifies.
        """

        def skipped(path: Path, problem: str) -> None:
            self.unusable.add(path.resolve())
            if on_skip is not None:
                on_skip(path, problem)

        return newest_verified_state(self.states_dir, self._components, skipped)

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
        self.apply(path)

    def apply(self, path: str | Path) -> None:
        """Load every registered component from a (verified) state."""
        path = Path(path)
        for name, component in self._components.items():
            try:
                component.load_state(path / name)
            except Exception as e:
                raise StateError(
                    f"{path / name}: loading component '{name}' failed: {type(e).__name__}: {e}"
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
