"""Saves on a full disk (issue 23 item 4): keep_last on a disk that holds exactly N
states keeps saving, the newest complete state is always kept, a save that cannot
fit is said so ahead, and a failed save says "disk full" whatever library wrote.

The real cases run on a small tmpfs mounted in a user and mount namespace of
their own (``unshare -rm``, no root needed where user namespaces are allowed);
the simulated ones run everywhere: a disk of fixed capacity, its free space
reported through ``os.statvfs`` and its writes refused with ENOSPC when full.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typing_extensions import override

from engine.state import disk_space
from engine.state.disk_space import bytes_under, full_disk
from engine.state.manifest import verify_state
from engine.state.persistence import PersistentStateMixin, StateError
from engine.state.store import StateStore

ROOT = Path(__file__).resolve().parents[3]


def _can_mount_tmpfs() -> str:
    """Why a tmpfs cannot be mounted in a namespace of our own ("" if it can)."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return probe.stderr.strip() or (f"exit {probe.returncode}" * bool(probe.returncode))


NO_TMPFS = _can_mount_tmpfs()
real_tmpfs = pytest.mark.skipif(
    bool(NO_TMPFS), reason=f"cannot mount a tmpfs here ({NO_TMPFS})"
)


def scenario(case: str, tmp_path: Path) -> dict:
    result = subprocess.run(
        [
            "unshare",
            "-rm",
            sys.executable,
            "-m",
            "tests.engine.state.full_disk_scenarios",
            case,
            str(tmp_path / "disk"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@real_tmpfs
def test_keep_last_on_a_disk_that_holds_exactly_n_states_keeps_saving(
    tmp_path: Path,
) -> None:
    # 9 requested saves and the final one, each whole; the newest complete
    # state never deleted; no warning and no error on the way.
    result = scenario("keep_last", tmp_path)
    assert result["saved"] == result["saves"] == 10
    assert result["removed"] == 10 - 3


@real_tmpfs
def test_a_save_that_cannot_fit_is_said_ahead_and_fails_saying_disk_full(
    tmp_path: Path,
) -> None:
    result = scenario("keep_one", tmp_path)
    [warning] = result["warnings"][:1]
    assert warning.startswith("the next save may not fit: ")
    assert "keep_last 1 keeps the newest complete state" in warning
    assert result["refused"].startswith("disk full: saving component '")
    assert " MiB free in " in result["refused"] and "\n" not in result["refused"]


@real_tmpfs
def test_torch_write_failures_on_a_full_disk_say_disk_full(tmp_path: Path) -> None:
    messages = scenario("torch", tmp_path)["messages"]
    assert set(messages) == {"optimizer", "model"}
    for name, message in messages.items():
        assert message.startswith(f"disk full: saving component '{name}' failed ("), (
            message
        )
        assert "MiB free in" in message and "enforce fail" not in message


# -- a simulated disk (runs everywhere) ------------------------------------------------


class Disk:
    """A disk of ``capacity`` bytes under ``root``: statvfs says what is left, and
    :meth:`write` refuses with ENOSPC what does not fit."""

    def __init__(self, root: Path, capacity: int) -> None:
        self.root = root
        self.capacity = capacity

    def free(self) -> int:
        return max(0, self.capacity - bytes_under(self.root))

    def write(self, path: Path, data: bytes) -> None:
        if len(data) > self.free():
            with open(path, "wb") as f:
                f.write(data[: self.free()])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        path.write_bytes(data)


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Disk:
    disk = Disk(tmp_path / "states", capacity=0)
    real = os.statvfs

    def statvfs(path: os.PathLike[str] | str) -> object:
        if Path(path).resolve().is_relative_to(disk.root.resolve()):
            return SimpleNamespace(f_bavail=disk.free() // 512, f_frsize=512)
        return real(path)

    monkeypatch.setattr(os, "statvfs", statvfs)
    return disk


class Written(PersistentStateMixin):
    def __init__(self, disk: Disk, size: int) -> None:
        self.disk = disk
        self.data = b"x" * size

    @override
    def save_state(self, path: Path) -> None:
        self.disk.write(path.with_suffix(".bin"), self.data)


def test_keep_last_on_a_simulated_disk_that_holds_exactly_n_states(
    disk: Disk, tmp_path: Path
) -> None:
    store = StateStore(disk.root, max_keep=3, durable=False)
    store.register("blob", Written(disk, 100_000))
    disk.capacity = 10**9
    first = store.save()
    room = bytes_under(first) + 4096
    disk.capacity = bytes_under(disk.root) + 2 * room + room // 2  # holds 3
    for _ in range(9):
        newest = store.own_states()[-1]
        path = store.save()
        verify_state(path)
        assert newest.exists() and newest in store.own_states()
    assert len(store.own_states()) == 3


def test_a_failed_write_with_enospc_anywhere_in_its_chain_is_a_full_disk() -> None:
    def chained() -> BaseException:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            try:
                raise RuntimeError("[enforce fail at inline_container.cc:672]")
            except RuntimeError as e:
                return e

    assert full_disk(chained(), free=50 << 20) == "disk full"
    assert full_disk(OSError(errno.EDQUOT, "quota"), 50 << 20) == (
        "disk full (quota exceeded)"
    )
    assert full_disk(RuntimeError("Error while serializing: os error 28"), None)
    # torch's writer says nothing of the disk: next to nothing left free does.
    assert full_disk(RuntimeError("unexpected pos 576 vs 534"), 4096) == "disk full"
    assert full_disk(RuntimeError("unexpected pos 576 vs 534"), 50 << 20) is None
    assert full_disk(ValueError("a bug"), 50 << 20) is None
    assert disk_space.mib(3 << 20) == "3.0"


def test_a_save_that_fails_on_the_simulated_full_disk_says_so(disk: Disk) -> None:
    store = StateStore(disk.root, durable=False)
    store.register("blob", Written(disk, 50_000))
    disk.capacity = 10**9
    kept = store.save()
    disk.capacity = bytes_under(disk.root) + 10_000
    with pytest.raises(StateError) as refused:
        store.save()
    message = str(refused.value)
    assert message.startswith("disk full: saving component 'blob' failed (")
    assert f"MiB free in {disk.root}; the last state took " in message
    assert store.own_states() == [kept] and sorted(disk.root.glob("*.state")) == [kept]
