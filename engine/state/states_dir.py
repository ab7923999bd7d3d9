"""A states directory as a whole: who may use it, its identity, and which states are its own.

Wall clocks step back (NTP, a virtual machine restored from a snapshot) and
states get copied in from other directories and machines, so neither the
creation time in a manifest nor a state's name can say which state is the
newest, or whether a run wrote it. Instead:

* **Identity.** Each states directory has a random id, kept in
  ``.pamiq-states.json`` beside its states (written durably: synced, renamed
  into place, directory synced). Should a crash leave it unreadable anyway,
  the id is rebuilt from the states, which record it (:func:`ensure_identity`).
* **Writer.** Every state a run writes records in its manifest, under
  ``writer``: that id, a sequence number one higher than any state before it
  in the directory, and the state's own directory name.
* **Own states.** A state is the directory's own when all three match. A copy
  under another name, a state from another directory, or one written before
  states were numbered, is *foreign*.
* **Order** ("newest"): foreign states first, by the creation time in their
  manifests, then the own states by sequence number. ``latest`` and
  ``--resume`` take the last state in this order that verifies, so a foreign
  state, however far its clock ran ahead, is picked only in a directory that
  has no state of its own.
* **Retention** counts and deletes own states only, never the one just written.
* **Lock.** A run holds ``.pamiq-states.lock`` (``flock``) for its whole life,
  so two runs never write one states directory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time as _time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..host.owner_only import (
    ForeignPathError,
    check_owned,
    open_owned,
    private_dir,
    write_durably,
)
from .manifest import read_manifest
from .persistence import StateError

IDENTITY = ".pamiq-states.json"
LOCK = ".pamiq-states.lock"
IDENTITY_FORMAT = "pamiq-console/states-dir"
_MAX_IDENTITY_BYTES = 4096
_CLOCK_SLACK = 60.0
"""Seconds a state's creation time may lie ahead of the clock and still count as
when it was written (see :func:`identity_from_states`)."""


def state_dirs(states_dir: Path) -> list[Path]:
    """The ``*.state`` directories in ``states_dir`` (unverified, in no order).

    Symlinks are never states: a state must live inside its states directory;
    names starting with ``.`` are states being written.

    Raises:
        OSError: If ``states_dir`` cannot be listed.
    """
    return [
        path
        for path in states_dir.iterdir()
        if not path.is_symlink()
        and path.is_dir()
        and not path.name.startswith(".")
        and path.name.endswith(".state")
    ]


def read_identity(states_dir: Path) -> str | None:
    """The id of ``states_dir``, or None if it has none (or cannot be read).

    Offline tools use this; a run uses :func:`ensure_identity`. An identity file
    a crash left empty or torn reads as the id its states record (see
    :func:`identity_from_states`), the one :func:`ensure_identity` restores.
    """
    path = Path(states_dir) / IDENTITY
    try:
        data = _read_bytes(path)
    except OSError:
        return None
    identity = _parse_identity(data)
    if identity is None:
        identity = identity_from_states(Path(states_dir)).identity
    return identity


def _read_bytes(path: Path) -> bytes:
    fd = open_owned(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return f.read(_MAX_IDENTITY_BYTES + 1)


def _parse_identity(data: bytes) -> str | None:
    """The id in an identity file's bytes, or None if they are not an identity."""
    try:
        content = json.loads(data) if len(data) <= _MAX_IDENTITY_BYTES else None
    except (ValueError, RecursionError):
        content = None
    if (
        not isinstance(content, dict)
        or content.get("format") != IDENTITY_FORMAT
        or not isinstance(content.get("id"), str)
        or not content["id"]
    ):
        return None
    return str(content["id"])


@dataclass(frozen=True)
class FoundIdentity:
    """What the states of a directory say its identity was.

    Attributes:
        identity: The id, or None if no state records one.
        states: How many states record it (under the name they were written as).
        others: Other ids that states there record (copies from elsewhere).
    """

    identity: str | None
    states: int = 0
    others: tuple[str, ...] = ()


def identity_from_states(states_dir: Path) -> FoundIdentity:
    """The identity the states in ``states_dir`` record as their writer's.

    Every state a run writes records the directory's id under the name it was
    written as, so the id recorded by the states still under their own names
    is the directory's. Should states record several ids (states copied in from
    other directories keep theirs), the one whose newest state was created last
    is taken: the run that wrote in this directory most recently. A state
    dated in the future (a copy from a machine whose clock ran ahead) counts
    as the oldest, not the newest.
    """
    now = _time.time()
    newest: dict[str, tuple[float, int]] = {}
    counts: dict[str, int] = {}
    try:
        entries = state_dirs(Path(states_dir))
    except OSError:
        return FoundIdentity(None)
    for path in entries:
        try:
            manifest = read_manifest(path)
        except StateError:
            continue
        writer = manifest.get("writer")
        if not isinstance(writer, dict) or writer.get("state") != path.name:
            continue
        identity = writer["states_dir_id"]
        if not identity:
            continue
        created = float(manifest.get("created_unix", 0.0))
        key = (created if created <= now + _CLOCK_SLACK else 0.0, int(writer["seq"]))
        newest[identity] = max(newest.get(identity, key), key)
        counts[identity] = counts.get(identity, 0) + 1
    if not newest:
        return FoundIdentity(None)
    chosen = max(newest, key=lambda i: (newest[i], counts[i], i))
    return FoundIdentity(
        chosen, counts[chosen], tuple(sorted(i for i in newest if i != chosen))
    )


def ensure_identity(
    states_dir: Path, on_notice: Callable[[str], None] | None = None
) -> str:
    """The id of ``states_dir``, created if it has none (call it holding the lock).

    An identity file that reads as no identity (what a power loss soon after
    it was first written leaves: empty, or torn) is rebuilt from the states in
    the directory (:func:`identity_from_states`), so they stay its own and
    retention keeps pruning them; ``on_notice`` is told so in one line.

    Raises:
        StateError: If the identity file is not this user's, cannot be read
            at all, or cannot be written.
    """
    states_dir = Path(states_dir)
    path = states_dir / IDENTITY
    try:
        check_owned(path, path.lstat(), "a file")
        data = _read_bytes(path)
    except FileNotFoundError:
        return _record(states_dir, uuid.uuid4().hex)
    except OSError as e:
        what = f"{path}: cannot read the states directory's identity"
        raise _state_error(e, what) from e
    identity = _parse_identity(data)
    if identity is not None:
        return identity
    found = identity_from_states(states_dir)
    identity = _record(states_dir, found.identity or uuid.uuid4().hex)
    what = "empty" if not data else f"{len(data)} bytes, not an identity"
    if found.identity is None:
        message = (
            f"{path}: the states directory's identity was unreadable ({what}, as "
            "a power loss can leave it) and no state here records one: gave the "
            "directory a new identity"
        )
    else:
        message = (
            f"{path}: the states directory's identity was unreadable ({what}, as "
            f"a power loss can leave it); rebuilt it from the {found.states} "
            "state(s) that record it, which stay this directory's own (numbered, "
            "pruned by retention)"
        )
        if found.others:
            message += (
                f"; states recording {len(found.others)} other id(s) stay foreign"
            )
    if on_notice is not None:
        on_notice(message)
    return identity


def _record(states_dir: Path, identity: str) -> str:
    """Write ``identity`` as the directory's, durably (see :func:`write_durably`)."""
    content = json.dumps({"format": IDENTITY_FORMAT, "id": identity})
    try:
        write_durably(states_dir / IDENTITY, content)
    except OSError as e:
        what = f"{states_dir}: cannot record the directory's identity"
        raise _state_error(e, what) from e
    return identity


def _state_error(error: OSError, what: str) -> StateError:
    """``error`` in one line: a :class:`ForeignPathError` in its own words, any
    other as ``what`` with the system's reason."""
    if isinstance(error, ForeignPathError):
        return StateError(str(error))
    return StateError(f"{what} ({error.strerror or error})")


def writer_seq(manifest: dict[str, Any], identity: str | None, name: str) -> int | None:
    """The sequence number of a state if ``identity``'s runs wrote it as ``name``, else None."""
    writer = manifest.get("writer")
    if identity is None or not isinstance(writer, dict):
        return None
    seq = writer.get("seq")
    if (
        writer.get("states_dir_id") != identity
        or writer.get("state") != name
        or type(seq) is not int
    ):
        return None
    return seq


def open_private(states_dir: Path) -> Path:
    """Create the states directory 0700, or check that only this user can write it.

    A link to a directory elsewhere is accepted when the link is this user's.

    Raises:
        StateError: If another user owns it or can write it (they could have
            planted states that a resume would load), or it cannot be made.
    """
    try:
        return private_dir(Path(states_dir), follow=True)
    except (FileExistsError, NotADirectoryError):
        raise StateError(
            f"{states_dir}: not a directory; the states directory must be one"
        ) from None
    except OSError as e:
        what = f"{states_dir}: cannot create the states directory"
        raise _state_error(e, what) from e


class StatesLock:
    """An exclusive lock on a states directory, held for a run's lifetime.

    Args:
        states_dir: The directory to lock (it must exist).
    """

    def __init__(self, states_dir: Path) -> None:
        self.states_dir = Path(states_dir)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(
        self, hint: str = "stop it first or give this run another states_dir"
    ) -> None:
        """Take the lock without waiting.

        Args:
            hint: What to do if another run holds it (ends the error message).

        Raises:
            StateError: If another run holds it (naming its pid) or the lock file
                cannot be opened.
        """
        if self._fd is not None:
            return
        path = self.states_dir / LOCK
        try:
            fd = open_owned(path, os.O_RDWR | os.O_CREAT)
        except OSError as e:
            read_only = e.errno in (errno.EACCES, errno.EROFS) and path.exists()
            if isinstance(e, ForeignPathError) or not read_only:
                what = f"{path}: cannot lock the states directory"
                raise _state_error(e, what) from e
            # A read-only states directory: a run can still load from it.
            fd = open_owned(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"another run (pid {holder})" if holder else "another run"
            raise StateError(
                f"{self.states_dir}: {who} is using this states directory; {hint}"
            ) from None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text.isdigit() else None
    except (OSError, UnicodeDecodeError):
        return None
