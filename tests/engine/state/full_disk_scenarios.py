"""Saves on a real, small tmpfs: run as ``python -m tests.engine.state.full_disk_scenarios
CASE DIR`` as root of its own user and mount namespaces (``unshare -rm``), so the
tmpfs it mounts on DIR goes away with it. Exits 0 when every check held; on a
failed check the traceback says which. See test_full_disk.py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from typing_extensions import override

from engine.state.manifest import verify_state
from engine.state.persistence import PersistentStateMixin, StateError
from engine.telemetry.events import ErrorOccurred, LogMessage, StateRemoved, StateSaved
from tests.engine.tiny import make_system

BLOB = 256 * 1024


class Blob(PersistentStateMixin):
    """A component whose state is ``size`` bytes (random: no filesystem shrinks it)."""

    def __init__(self, size: int = BLOB) -> None:
        self.data = os.urandom(size)

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".bin").write_bytes(self.data)

    @override
    def load_state(self, path: Path) -> None:
        self.data = path.with_suffix(".bin").read_bytes()


def mount(directory: Path, size: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        check=True,
    )


def unmount(directory: Path) -> None:
    subprocess.run(["umount", str(directory)], check=True)


def used(directory: Path) -> int:
    info = os.statvfs(directory)
    return (info.f_blocks - info.f_bfree) * info.f_frsize


def system_on(states: Path, **config):
    system, *_ = make_system(
        states.parent, states_dir=states, console=False, durable_saves=True, **config
    )
    system.store.register("blob", Blob())
    return system


def measure(directory: Path) -> tuple[int, int]:
    """(what a states directory takes before its first state, what a state takes)."""
    mount(directory, 64 << 20)
    system = system_on(directory / "states", save_final_state=False)
    system.store.open()
    system.save_state()
    one = used(directory)
    system.save_state()
    two = used(directory)
    system.store.close()
    unmount(directory)
    return one - (two - one), two - one


def own_states(system) -> list[Path]:
    return system.store.own_states()


def keep_last_on_a_disk_that_holds_exactly_n(directory: Path, n: int) -> dict:
    base, room = measure(directory)
    mount(directory, base + n * room + room // 2)  # n states fit, n + 1 do not
    system = system_on(
        directory / "states", max_keep_states=n, save_state_interval=math.inf
    )
    events = system.events.subscribe(maxsize=10_000)
    system.start()
    saves = 0
    try:
        for _ in range(3 * n):
            newest_before = own_states(system)[-1:] or []
            path = system.save_state()  # raises if it failed
            saves += 1
            verify_state(path)
            kept = own_states(system)
            assert len(kept) <= n, kept
            for old in newest_before:
                assert old in kept, f"{old} (the newest state) was deleted"
    finally:
        system.shutdown()
        assert system.wait(30)
    drained = events.drain()
    errors = [e.message for e in drained if isinstance(e, ErrorOccurred)]
    assert errors == [], errors
    assert system.failures == [], system.failures
    final = system.status().last_save
    assert final is not None
    verify_state(Path(final))
    states = sorted((directory / "states").glob("*.state"))
    assert len(states) == n, states
    warnings = [
        e.message for e in drained if isinstance(e, LogMessage) and e.level == "warning"
    ]
    assert warnings == [], warnings
    return {
        "room": room,
        "saves": saves + 1,
        "removed": len([e for e in drained if isinstance(e, StateRemoved)]),
        "saved": len([e for e in drained if isinstance(e, StateSaved)]),
    }


def keep_last_one_on_a_disk_that_holds_one(directory: Path) -> dict:
    base, room = measure(directory)
    mount(directory, base + room + room // 2)
    system = system_on(directory / "states", max_keep_states=1, save_final_state=False)
    events = system.events.subscribe(maxsize=10_000)
    system.start()
    try:
        kept = system.save_state()
        try:
            system.save_state()
        except StateError as e:
            refused = str(e)
        else:
            raise AssertionError("a second state fitted on a disk for one")
    finally:
        system.shutdown()
        assert system.wait(30)
    verify_state(kept)  # the newest complete state is still there, whole
    assert sorted((directory / "states").glob("*.state")) == [kept]
    assert not [p for p in (directory / "states").iterdir() if ".tmp-" in p.name]
    warnings = [
        e.message
        for e in events.drain()
        if isinstance(e, LogMessage) and e.level == "warning"
    ]
    return {"refused": refused, "warnings": warnings}


class TorchSaved(PersistentStateMixin):
    """Saves with torch.save, as trainers save their optimizers."""

    @override
    def save_state(self, path: Path) -> None:
        import torch

        torch.save({"x": torch.ones(1 << 20)}, path.with_suffix(".pt"))


def torch_components_on_a_full_disk(directory: Path) -> dict:
    import torch

    from engine.state.store import StateStore
    from engine.torch import TorchTrainingModel

    mount(directory, 512 * 1024)
    messages = {}
    for name, component in (
        ("optimizer", TorchSaved()),
        ("model", TorchTrainingModel(torch.nn.Linear(1024, 1024))),
    ):
        store = StateStore(directory / name, durable=False)
        store.register(name, component)
        try:
            store.save()
        except StateError as e:
            messages[name] = str(e)
        leftovers = [p.name for p in (directory / name).iterdir() if p.is_dir()]
        assert leftovers == [], leftovers
    return {"messages": messages, "states": str(directory)}


CASES = {
    "keep_last": lambda d: keep_last_on_a_disk_that_holds_exactly_n(d, 3),
    "keep_one": keep_last_one_on_a_disk_that_holds_one,
    "torch": torch_components_on_a_full_disk,
}

if __name__ == "__main__":
    case, where = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(CASES[case](where)))
