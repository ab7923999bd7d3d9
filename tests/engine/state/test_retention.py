"""Retention and "latest" when clocks step and states come from elsewhere; the states lock.

A states directory orders its own states by a sequence number its runs write
into each manifest (see engine.state.states_dir); these tests make the wall clock
lie and plant states that are not the directory's own.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import stat
import time
import types
from pathlib import Path

import pytest

import engine.state.store
from engine import StateError
from engine.state.catalogue import beyond_newest, list_states
from engine.state.manifest import read_manifest
from engine.telemetry.events import StateLoaded
from tests.engine.tiny import NudgeTrainer, make_system, rewrite_manifest

WAIT = 10.0
DAY = 86_400.0


def stop(system) -> None:
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


def step_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make the state store's wall clock (time and names) jump by ``seconds``."""
    real_time, real_datetime = time.time, _dt.datetime

    class SteppedDatetime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return real_datetime.fromtimestamp(real_time() + seconds, tz)

    monkeypatch.setattr(
        engine.state.store,
        "_time",
        types.SimpleNamespace(
            time=lambda: real_time() + seconds, perf_counter=time.perf_counter
        ),
    )
    monkeypatch.setattr(
        engine.state.store,
        "_dt",
        types.SimpleNamespace(datetime=SteppedDatetime),
    )


def on_disk(states: Path) -> set[Path]:
    return set(states.glob("*.state"))


def future_copy(state: Path, name: str, ahead: float = DAY) -> Path:
    """A copy of ``state`` named ``name`` whose manifest claims a later creation."""
    copy = state.with_name(name)
    shutil.copytree(state, copy)
    rewrite_manifest(copy, lambda m: m.update(created_unix=m["created_unix"] + ahead))
    return copy


def test_the_rule_deletes_the_oldest_beyond_keep_and_skips_unusable(
    tmp_path: Path,
) -> None:
    own = [(seq, tmp_path / f"{seq}.state") for seq in range(1, 6)]
    assert beyond_newest(own, keep=2) == own[:3]
    assert beyond_newest(own, keep=5) == []
    assert beyond_newest(own, keep=0) == own
    # An unusable state neither counts towards keep nor is deleted.
    assert beyond_newest(own, keep=2, unusable=[own[4][1]]) == own[:2]
    assert beyond_newest(own, keep=2, unusable=[own[0][1]]) == own[1:3]
    with pytest.raises(ValueError, match="keep must be >= 0"):
        beyond_newest(own, keep=-1)


def test_a_clock_stepped_back_never_deletes_the_state_just_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system, *_ = make_system(tmp_path, max_keep_states=3, save_final_state=False)
    sub = system.events.subscribe(maxsize=1000)
    system.start()
    try:
        before = [system.save_state() for _ in range(3)]
        step_clock(monkeypatch, -DAY)  # NTP, a restored snapshot...
        after = [system.save_state() for _ in range(2)]
    finally:
        stop(system)
    assert all(path.is_dir() for path in after), "the new saves were pruned"
    assert on_disk(tmp_path / "states") == {before[2], *after}
    removed = [e.path for e in sub.drain() if e.kind == "removed"]
    assert removed == [str(before[0]), str(before[1])]


def test_future_dated_copies_are_neither_counted_nor_deleted_nor_resumed(
    tmp_path: Path,
) -> None:
    # The probe of issue 15: five copies of a state, a day ahead, then a save.
    system, *_ = make_system(tmp_path, max_keep_states=5, save_final_state=False)
    system.start()
    try:
        real = [system.save_state() for _ in range(4)]
        copies = [future_copy(real[0], f"copy{i}.state") for i in range(5)]
        newest = system.save_state()
    finally:
        stop(system)
    assert on_disk(tmp_path / "states") == {*real, newest, *copies}

    second, *_ = make_system(tmp_path, resume=True, save_final_state=False)
    sub = second.events.subscribe()
    second.start()
    try:
        loaded = sub.get(timeout=WAIT)
        while loaded is not None and not isinstance(loaded, StateLoaded):
            loaded = sub.get(timeout=WAIT)
        assert loaded is not None and loaded.path == str(newest)
    finally:
        stop(second)


def test_a_state_from_another_directory_is_foreign_even_under_its_own_name(
    tmp_path: Path,
) -> None:
    other, *_ = make_system(tmp_path / "other")
    elsewhere = other.store.save()
    system, *_ = make_system(tmp_path, max_keep_states=1, save_final_state=False)
    system.start()
    try:
        own = system.save_state()
        planted = tmp_path / "states" / elsewhere.name
        shutil.copytree(elsewhere, planted)
        rewrite_manifest(
            planted, lambda m: m.update(created_unix=m["created_unix"] + DAY)
        )
        newer = system.save_state()
        assert system.newest_verified_state() == newer
    finally:
        stop(system)
    assert on_disk(tmp_path / "states") == {planted, newer}
    assert not own.exists()
    listed = list_states(tmp_path / "states")
    assert [(i.path, i.own) for i in listed] == [(planted, False), (newer, True)]


def test_a_save_reads_no_other_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system, *_ = make_system(tmp_path, max_keep_states=3, save_final_state=False)
    system.start()
    try:
        saved = [system.save_state() for _ in range(3)]
        reads: list[Path] = []
        real = engine.state.store.read_manifest

        def counting(path: Path) -> dict:
            reads.append(Path(path))
            return real(path)

        monkeypatch.setattr(engine.state.store, "read_manifest", counting)
        saved += [system.save_state() for _ in range(5)]
    finally:
        stop(system)
    # Only each state about to be deleted is read (to check it is still ours).
    assert reads == saved[:5]
    assert on_disk(tmp_path / "states") == set(saved[5:])


def test_a_huge_manifest_is_refused_without_being_read(tmp_path: Path) -> None:
    state = tmp_path / "states" / "huge.state"
    state.mkdir(parents=True)
    with open(state / "manifest.json", "wb") as f:
        f.truncate(64 << 20)  # 64 MiB, sparse: no disk used
    started = time.perf_counter()
    with pytest.raises(StateError, match="larger than a manifest may be"):
        read_manifest(state)
    [info] = list_states(tmp_path / "states")
    assert "larger than a manifest may be" in info.problem
    assert time.perf_counter() - started < 0.5


def test_two_runs_cannot_share_a_states_directory(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path)
    second, *_ = make_system(tmp_path, trainer=NudgeTrainer())
    first.start()
    try:
        with pytest.raises(
            StateError,
            match=rf"another run \(pid {os.getpid()}\) is using this states directory",
        ):
            second.start()
        assert not second._started
    finally:
        stop(first)
    # Released with the final save: the next run may use it.
    second.start()
    stop(second)
    names = {read_manifest(p)["writer"]["seq"] for p in on_disk(tmp_path / "states")}
    assert names == {1, 2}


def test_states_are_owner_only(tmp_path: Path) -> None:
    states = tmp_path / "somewhere" / "states"
    system, *_ = make_system(tmp_path, states_dir=states, save_final_state=False)
    system.start()
    try:
        path = system.save_state()
    finally:
        stop(system)
    assert stat.S_IMODE(states.stat().st_mode) == 0o700
    entries = [path, *path.rglob("*")]
    assert len(entries) > 3
    for entry in entries:
        mode = stat.S_IMODE(entry.stat().st_mode)
        assert mode == (0o700 if entry.is_dir() else 0o600), entry


def test_a_states_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    states = tmp_path / "states"
    states.mkdir()
    states.chmod(0o777)
    system, *_ = make_system(tmp_path, save_final_state=False)
    with pytest.raises(StateError, match="other users can write it"):
        system.start()
    assert stat.S_IMODE(states.stat().st_mode) == 0o777  # left for the user to check


def test_a_states_dir_only_we_can_write_is_made_private(tmp_path: Path) -> None:
    states = tmp_path / "states"
    states.mkdir()
    states.chmod(0o755)
    system, *_ = make_system(tmp_path, save_final_state=False)
    system.start()
    stop(system)
    assert stat.S_IMODE(states.stat().st_mode) == 0o700
