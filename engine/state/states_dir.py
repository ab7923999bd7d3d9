"""A states directory as a whole: who may use it, its identity, and which states are its own.

Wall clocks step back (NTP, a virtual machine restored from a snapshot) and
states get copied in from other directories and machines, so neither the
creation time in a manifest nor a state's name can say which state is the
newest, or whether a run wrote it. Instead:

* **Identity.** Each states directory has a random id, kept in
  ``.pamiq-states.json`` beside its states.
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
import uuid
from pathlib import Path
from typing import Any

from ..utils.owner_only import ForeignPathError, check_owned, open_owned, private_dir
from .persistence import StateError

IDENTITY = ".pamiq-states.json"
LOCK = ".pamiq-states.lock"
IDENTITY_FORMAT = "pamiq-console/states-dir"
_MAX_IDENTITY_BYTES = 4096


def read_identity(states_dir: Path) -> str | None:
    """The id of ``states_dir``, or None if it has none (or an unreadable one).

    Offline tools use this; a run uses :func:`ensure_identity`, which refuses
    an unreadable identity instead of treating every state as foreign.
    """
    try:
        return _read_identity(Path(states_dir) / IDENTITY)
    except (OSError, StateError):
        return None


def _read_identity(path: Path) -> str:
    with open(path, "rb") as f:
        data = f.read(_MAX_IDENTITY_BYTES + 1)
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
        raise StateError(
            f"{path}: unreadable states directory identity; move it away to give "
            "the directory a new one (its states then count as foreign: kept, "
            "never pruned)"
        )
    return str(content["id"])


def ensure_identity(states_dir: Path) -> str:
    """The id of ``states_dir``, created if it has none (call it holding the lock).

    Raises:
        StateError: If the identity file is unreadable or not this user's.
    """
    path = Path(states_dir) / IDENTITY
    try:
        check_owned(path, path.lstat(), "a file")
    except FileNotFoundError:
        pass
    except ForeignPathError as e:
        raise StateError(str(e)) from None
    else:
        return _read_identity(path)
    identity = uuid.uuid4().hex
    tmp = path.with_name(f".{IDENTITY}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        fd = open_owned(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"format": IDENTITY_FORMAT, "id": identity}, f)
        tmp.replace(path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateError(
            f"{states_dir}: cannot record the directory's identity ({e.strerror or e})"
        ) from e
    return identity


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
    except ForeignPathError as e:
        raise StateError(str(e)) from None
    except (FileExistsError, NotADirectoryError):
        raise StateError(
            f"{states_dir}: not a directory; the states directory must be one"
        ) from None
    except OSError as e:
        raise StateError(
            f"{states_dir}: cannot create the states directory ({e.strerror or e})"
        ) from e


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
        except ForeignPathError as e:
            raise StateError(str(e)) from None
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EROFS) or not path.exists():
                raise StateError(
                    f"{path}: cannot lock the states directory ({e.strerror or e})"
                ) from e
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
