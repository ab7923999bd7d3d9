"""Room for states: free space, the room a state takes, and telling a full disk.

A save writes a whole new state before retention deletes an old one, so with
``keep_last = N`` it needs room for N+1 states. Before a save the store compares
the room the last state took with the free space and deletes ahead what
retention would delete after the save (:meth:`engine.state.store.StateStore.make_room`).
A save that fails all the same is said to have failed for a full disk in one
line, whatever the component's library made of the error: ``ENOSPC``/``EDQUOT``
anywhere in the exception's chain, the words the Rust and C libraries use for
them, or (torch's ``unexpected pos``, NumPy's ``N requested and 0 written``,
which carry no errno) a write that failed with next to nothing left free.
"""

from __future__ import annotations

import errno
import gc
import os
import traceback
from pathlib import Path

MIB = 1 << 20
NEARLY_FULL = 1 * MIB
"""Free space below which a failed write is taken for a full disk even when the
error does not say so (what torch's writer reports is an ``unexpected pos``)."""

_FULL = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full (quota exceeded)"}
_FULL_WORDS = {
    "no space left on device": "disk full",
    "os error 28": "disk full",
    "disk quota exceeded": "disk full (quota exceeded)",
    "os error 122": "disk full (quota exceeded)",
}


def free_bytes(path: Path) -> int | None:
    """Bytes this user may still write on the filesystem of ``path`` (None if unknown)."""
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


def block_size(path: Path) -> int:
    """The filesystem's allocation unit at ``path`` (4096 if unknown)."""
    try:
        return max(512, os.statvfs(path).f_frsize)
    except OSError:
        return 4096


def room_taken(sizes: list[int], directories: int, block: int) -> int:
    """Bytes files of these sizes and these directories take, in whole blocks."""
    return sum(-(-size // block) * block for size in sizes) + directories * block


def bytes_under(root: Path) -> int:
    """Bytes allocated to the files under ``root`` (0 where nothing can be read)."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except OSError:
                continue
    return total


def full_disk(error: BaseException, free: int | None) -> str | None:
    """``"disk full"`` (or ``"disk full (quota exceeded)"``) if ``error`` is a failed
    write to a full disk, else None.

    Args:
        error: What the write raised.
        free: Free bytes measured right after it failed (before anything was
            deleted), or None if unknown.
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in _FULL:
            return _FULL[cause.errno]
        text = str(cause).lower()
        for words, what in _FULL_WORDS.items():
            if words in text:
                return what
        cause = cause.__cause__ or cause.__context__
    if free is not None and free < NEARLY_FULL:
        return "disk full"
    return None


def release_writers(error: BaseException) -> None:
    """Let go of what the frames of a failed write hold (open files among them).

    A file deleted while open keeps its blocks until it is closed, and a
    library's writer that raised is closed only when nothing refers to it: the
    frames of the exception's traceback do until they are cleared. Their
    locals are dropped (the traceback still prints), then a collection closes
    whatever a reference cycle kept.
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        traceback.clear_frames(cause.__traceback__)
        cause = cause.__cause__ or cause.__context__
    gc.collect()


def mib(size: int | None) -> str:
    """``size`` in MiB for a message ("?" if unknown)."""
    return "?" if size is None else f"{size / MIB:.1f}"
