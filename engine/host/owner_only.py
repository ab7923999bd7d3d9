"""Files and directories only this user can change: checked, and opened without following links.

A run keeps its states, metrics and logs in directories it may find already
there. If another local user could write such a directory, they could have
planted a symbolic link (so that our writes land in a file of their choosing)
or files of their own (so that we load their states). These helpers refuse
what another user could have written instead of quietly using it, each with
a one-line :class:`ForeignPathError` saying what to fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from pathlib import Path

_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class ForeignPathError(OSError):
    """A path another user could have written or planted (one-line message)."""


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def others_can_write(info: os.stat_result) -> bool:
    """Whether a user other than this one can change the entry ``info`` describes."""
    return info.st_uid != os.geteuid() or bool(info.st_mode & _OTHERS_WRITE)


def check_owned(path: Path, info: os.stat_result, what: str = "") -> None:
    """Refuse an entry that is a symbolic link or belongs to another user.

    Args:
        path: The entry (for the message).
        info: Its ``lstat``/``fstat``.
        what: What it should be ("a file", "a directory"), checked if given.

    Raises:
        ForeignPathError: Naming the problem and the fix.
    """
    if stat.S_ISLNK(info.st_mode):
        raise ForeignPathError(
            f"{path}: a symbolic link where this run keeps its own data; another "
            "user may have planted it: remove it, or use another directory"
        )
    if info.st_uid != os.geteuid():
        raise ForeignPathError(
            f"{path}: owned by {_owner(info.st_uid)}, not by this user; it may "
            "have been planted: remove it, or use another directory"
        )
    kinds = {"a file": stat.S_ISREG, "a directory": stat.S_ISDIR}
    if what in kinds and not kinds[what](info.st_mode):
        raise ForeignPathError(f"{path}: expected {what}; remove it")


def check_entry(path: Path, what: str = "") -> None:
    """:func:`check_owned` for ``path`` if it exists; directories must also be private.

    Raises:
        ForeignPathError: If it is a link, another user's, of the wrong kind, or
            a directory other users can write.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    check_owned(path, info, what)
    if stat.S_ISDIR(info.st_mode) and others_can_write(info):
        raise ForeignPathError(
            f"{path}: other users can write it (mode {stat.S_IMODE(info.st_mode):04o}), "
            f"so files in it may not be yours: check them, then chmod go-w {path}"
        )


def private_dir(path: Path, follow: bool = False) -> Path:
    """Create ``path`` mode 0700, or check that an existing one is this user's alone.

    An existing directory that only this user can write is made 0700 (nobody
    else could have put anything in it); one that others can write is refused,
    since what is in it may have been planted.

    Args:
        path: The directory.
        follow: Accept a symbolic link to a directory if the link is this
            user's (a states directory on another disk); the directory it
            points to is checked.

    Raises:
        ForeignPathError: If it is another user's, writable by others, or a link.
        OSError: If it cannot be created.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if follow and stat.S_ISLNK(info.st_mode):
        if info.st_uid != os.geteuid():
            check_owned(path, info)  # someone else's link: refused
        info = path.stat()
    check_owned(path, info, "a directory")
    if others_can_write(info):
        raise ForeignPathError(
            f"{path}: other users can write it (mode {stat.S_IMODE(info.st_mode):04o}), "
            f"so files in it may not be yours: check them, then chmod 700 {path} "
            "(or use another directory)"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        # Best effort: a read-only file system keeps its mode, and no one else
        # can write there anyway.
        with contextlib.suppress(OSError):
            path.chmod(0o700)
    return path


def open_owned(path: Path, flags: int, mode: int = 0o600) -> int:
    """``os.open`` without following a symbolic link; refuse a file of another user.

    Args:
        path: The file.
        flags: ``os.O_*`` flags (``O_NOFOLLOW`` and ``O_CLOEXEC`` are added).
        mode: Permissions of a file this call creates.

    Returns:
        The file descriptor of a regular file this user owns.

    Raises:
        ForeignPathError: If ``path`` is a link, not a regular file, or another user's.
        OSError: If it cannot be opened.
    """
    # O_NONBLOCK: a planted FIFO must not block the open; it is refused below.
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            check_owned(path, path.lstat())  # raises: it is a link
        if e.errno == errno.ENXIO:  # a FIFO nobody reads
            raise ForeignPathError(f"{path}: expected a file; remove it") from None
        raise
    try:
        check_owned(path, os.fstat(fd), "a file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_owned(path: Path) -> int:
    """Open ``path`` for appending (created 0600), refusing links and others' files."""
    return open_owned(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def append_whole(fd: int, data: bytes) -> None:
    """Append ``data`` to the file ``fd`` whole, or not at all.

    A write that fails part-way (a full disk) is cut off again, so that the
    file never ends in a torn line or record that the next append would run
    into. The file must be this process's alone to append to.

    Raises:
        OSError: If it could not be written (the file is then as it was).
    """
    end = os.lseek(fd, 0, os.SEEK_END)
    view = memoryview(data)
    try:
        while view:
            written = os.write(fd, view)
            if not written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
        raise


def fsync_directory(path: Path) -> None:
    """Make the entries of directory ``path`` (files created, renamed, deleted) durable.

    A file system that cannot sync a directory (``EINVAL``: some network and
    FUSE file systems) has nothing more to offer, so that is not an error.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def write_durably(path: Path, data: str | bytes) -> None:
    """Replace the file ``path`` with ``data`` so that a crash or power loss never tears it.

    :func:`replace_file` with ``sync``: after a power loss ``path`` holds
    either its old content or all of ``data``, never a prefix of it or
    nothing, and once this returns the new content survives one.

    Raises:
        ForeignPathError: If the temporary file's name is taken by a link or
            another user's file that cannot be removed.
        OSError: If it cannot be written (``ENOSPC`` included).
    """
    replace_file(path, data, sync=True)


def replace_file(path: Path, data: str | bytes, sync: bool = False) -> None:
    """Replace the file ``path`` with ``data`` at once: readers see the old or the new.

    The data is written to a temporary file beside it (this user's, 0600, no
    link followed) and renamed over ``path``; with ``sync``, the file is
    synced before the rename and the directory after it (see
    :func:`write_durably`). On failure the temporary file is removed and
    ``path`` is left as it was.

    Raises:
        ForeignPathError: If the temporary file's name is taken by a link or
            another user's file that cannot be removed.
        OSError: If it cannot be written (``ENOSPC`` included).
    """
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = open_owned(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
                view = view[written:]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync:
        fsync_directory(path.parent)
