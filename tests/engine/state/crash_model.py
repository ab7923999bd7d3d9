"""What a power loss can leave of a directory tree: a small model for crash tests.

:class:`CrashRecorder` wraps the system calls that change a tree or make it
durable (``os.open`` with ``O_CREAT``, ``mkdir``, ``rename``, ``replace``,
``unlink``, ``rmdir``, ``ftruncate``, ``fsync``) and, after each, notes the
tree under its root. :meth:`CrashRecorder.images` then builds, for every point
a power loss could strike, the trees it could leave, under the usual model of
a journaling file system that promises no more than POSIX:

* a file's data survives only as of its last ``fsync`` (a file never synced
  is empty, even if its name survived: the issue's 0-byte identity);
* a directory's entries (creates, renames, deletes) survive in order, each
  directory on its own, at least up to its last ``fsync`` and possibly up to
  the moment of the power loss.

Directories and files are told apart by inode, so a directory renamed into
place (a state) keeps the entries it had.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

Listing = tuple[tuple[str, str, int], ...]
"""A directory's entries: (name, "d" or "f", inode), sorted."""


@dataclass(frozen=True)
class Point:
    """The tree just after one recorded call."""

    call: str
    listings: dict[int, Listing]  # directory inode -> its entries now
    synced: dict[int, int]  # directory inode -> index of the point of its last fsync
    data: dict[int, bytes]  # file inode -> its data as of its last fsync


class CrashRecorder:
    """Records what the code under test does to the tree under ``root``.

    Args:
        root: The tree (it need not exist yet).
        monkeypatch: Used to wrap the calls (undone with the test).
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.points: list[Point] = []
        self._data: dict[int, bytes] = {}
        self._synced: dict[int, int] = {}
        self._first_seen: dict[int, int] = {}
        self._lock = threading.RLock()
        self._busy = threading.local()
        for name in ("mkdir", "rename", "replace", "unlink", "rmdir", "ftruncate"):
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))
        real_open, real_fsync = os.open, os.fsync

        def recorded_open(path: Any, flags: int, *args: Any, **kwds: Any) -> int:
            if not flags & os.O_CREAT:
                return real_open(path, flags, *args, **kwds)
            with self._call("open"):
                return real_open(path, flags, *args, **kwds)

        def recorded_fsync(fd: Any) -> None:
            with self._call("fsync"):
                real_fsync(fd)
                self._note_sync(fd if isinstance(fd, int) else fd.fileno())

        monkeypatch.setattr(os, "open", recorded_open)
        monkeypatch.setattr(os, "fsync", recorded_fsync)

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwds: Any) -> Any:
            with self._call(name):
                return real(*args, **kwds)

        return recorded

    @contextlib.contextmanager
    def _call(self, name: str) -> Iterator[None]:
        if getattr(self._busy, "on", False):
            yield
            return
        with self._lock:
            self._busy.on = True
            try:
                yield
            finally:
                try:
                    self._snapshot(name)
                finally:
                    self._busy.on = False

    def _note_sync(self, fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            self._synced[info.st_ino] = len(self.points)  # the point about to be taken
        elif stat.S_ISREG(info.st_mode):
            with open(f"/proc/self/fd/{fd}", "rb") as f:
                self._data[info.st_ino] = f.read()

    def _snapshot(self, call: str) -> None:
        listings = self._walk()
        for ino in listings:
            self._first_seen.setdefault(ino, len(self.points))
        point = Point(
            call,
            listings,
            {ino: self._synced.get(ino, self._first_seen[ino]) for ino in listings},
            dict(self._data),
        )
        if self.points and (
            self.points[-1].listings == point.listings
            and self.points[-1].data == point.data
            and self.points[-1].synced == point.synced
        ):
            return
        self.points.append(point)

    def _walk(self) -> dict[int, Listing]:
        listings: dict[int, Listing] = {}
        try:
            top = os.lstat(self.root)
        except FileNotFoundError:
            return listings
        pending = [(self.root, top.st_ino)]
        while pending:
            path, ino = pending.pop()
            entries = []
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for entry in os.scandir(path):
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    kind = "d" if stat.S_ISDIR(info.st_mode) else "f"
                    entries.append((entry.name, kind, info.st_ino))
                    if kind == "d":
                        pending.append((Path(entry.path), info.st_ino))
            listings[ino] = tuple(sorted(entries))
        return listings

    @property
    def root_inode(self) -> int:
        return os.lstat(self.root).st_ino

    def images(self, limit_per_point: int = 32, seed: int = 0) -> list[CrashImage]:
        """Every distinct tree a power loss at any recorded point could leave."""
        rng = random.Random(seed)
        root = self.root_inode
        seen: set[CrashImage] = set()
        images: list[CrashImage] = []
        for i, point in enumerate(self.points):
            # What each directory's entries may be: any listing since its last sync.
            choices: dict[int, list[Listing]] = {}
            for ino, synced in point.synced.items():
                options: list[Listing] = []
                for j in range(min(synced, i), i + 1):
                    listing = self.points[j].listings.get(ino)
                    if listing is not None and listing not in options:
                        options.append(listing)
                choices[ino] = options or [()]
            inos = sorted(choices)
            combos: list[tuple[Listing, ...]]
            total = 1
            for ino in inos:
                total *= len(choices[ino])
            if total <= limit_per_point:
                combos = list(itertools.product(*(choices[ino] for ino in inos)))
            else:
                combos = [
                    tuple(c[0] for c in (choices[ino] for ino in inos)),
                    tuple(c[-1] for c in (choices[ino] for ino in inos)),
                ]
                combos += [
                    tuple(rng.choice(choices[ino]) for ino in inos)
                    for _ in range(limit_per_point - 2)
                ]
            for combo in combos:
                image = CrashImage.build(
                    root, dict(zip(inos, combo, strict=True)), point.data, i
                )
                if image not in seen:
                    seen.add(image)
                    images.append(image)
        return images


@dataclass(frozen=True)
class CrashImage:
    """One tree a power loss could leave: relative path -> None (a directory) or data."""

    entries: tuple[tuple[str, bytes | None], ...]
    point: int

    def __hash__(self) -> int:
        return hash(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CrashImage) and self.entries == other.entries

    @classmethod
    def build(
        cls,
        root: int,
        listings: dict[int, Listing],
        data: dict[int, bytes],
        point: int,
    ) -> CrashImage:
        entries: list[tuple[str, bytes | None]] = []
        pending = [("", root)]
        visited: set[int] = set()
        while pending:
            prefix, ino = pending.pop()
            if ino in visited:
                continue  # the same directory under two names mid-rename: once
            visited.add(ino)
            for name, kind, child in listings.get(ino, ()):
                rel = f"{prefix}{name}"
                if kind == "d":
                    entries.append((rel, None))
                    pending.append((rel + "/", child))
                else:
                    entries.append((rel, data.get(child, b"")))
        return cls(tuple(sorted(entries)), point)

    def materialize(self, where: Path) -> Path:
        """Write the tree at ``where`` (directories 0700, files 0600)."""
        where.mkdir(mode=0o700, parents=True)
        for rel, content in self.entries:
            if content is None:
                (where / rel).mkdir(mode=0o700, parents=True, exist_ok=True)
        for rel, content in self.entries:
            if content is not None:
                path = where / rel
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                path.write_bytes(content)
                path.chmod(0o600)
        return where

    def describe(self) -> str:
        return ", ".join(
            f"{rel}/" if content is None else f"{rel} ({len(content)} B)"
            for rel, content in self.entries
        )
